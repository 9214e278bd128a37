/*
 * Fuzz target for msb_metrics_negotiate, the Accept-header parser every /metrics endpoint runs
 * on what scrapers send. Properties: the answer is one of the two exposition formats with its
 * own Content-Type, the same answer twice, and text whenever the header cannot name OpenMetrics
 * (no "openmetrics", "application/" or "*" anywhere in it).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msb/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int mentions(const char *s, const char *what)
{
    size_t n = strlen(what);
    for (; *s != '\0'; s++) {
        if (strncasecmp(s, what, n) == 0) {
            return 1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    const char *ct = NULL;
    msb_metrics_format_t f = msb_metrics_negotiate(s, &ct);
    if (f != MSB_METRICS_FORMAT_TEXT && f != MSB_METRICS_FORMAT_OPENMETRICS) {
        abort();
    }
    if (ct == NULL || strcmp(ct, msb_metrics_content_type(f)) != 0) {
        abort();
    }
    if (msb_metrics_negotiate(s, NULL) != f) {
        abort();
    }
    if (f == MSB_METRICS_FORMAT_OPENMETRICS &&
        !(mentions(s, "openmetrics") || mentions(s, "application/") || strchr(s, '*') != NULL)) {
        abort();
    }
    free(s);
    return 0;
}
