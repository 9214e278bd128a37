/*
 * Fuzz target for the exposition writers: arbitrary help text, label value and exemplar label
 * value (split from the input at NUL bytes) on a counter, rendered in the three formats.
 * Properties: registration and rendering either succeed or refuse the input with MSB_EINVAL or
 * MSB_ETOOBIG; what is rendered has exactly the lines the format prescribes (escaping never lets
 * a newline through), OpenMetrics ends with "# EOF", and the JSON parses.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "msb/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        n += *s == '\n';
    }
    return n;
}

static void check(msb_metrics_t *reg, msb_metrics_format_t f, size_t want_lines)
{
    char *text = NULL;
    size_t len = 0;
    if (msb_metrics_render(reg, f, &text, &len, NULL) != MSB_OK || strlen(text) != len) {
        abort();
    }
    if (f == MSB_METRICS_FORMAT_JSON) {
        json_error_t je;
        json_t *j = json_loadb(text, len, 0, &je);
        if (j == NULL) {
            abort();
        }
        json_decref(j);
    } else if (lines(text) != want_lines || (f == MSB_METRICS_FORMAT_OPENMETRICS &&
                                             (len < 6 || strcmp(text + len - 6, "# EOF\n") != 0))) {
        abort();
    }
    msb_metrics_text_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 3);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    const char *help = buf;
    const char *value = help + strlen(help) + 1;
    const char *exval = value + strlen(value) + 1;
    if (exval > buf + size + 2) {
        exval = buf + size + 2;
    }
    msb_metrics_t *reg;
    if (msb_metrics_new(NULL, &reg, NULL) != MSB_OK) {
        abort();
    }
    const char *names[] = {"l"};
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = "fuzz_total";
    o.help = help;
    o.label_names = names;
    o.label_count = 1;
    msb_counter_vec_t *v;
    msb_counter_t *c;
    msb_status_t rc = msb_counter_vec_new(reg, &o, &v, NULL);
    if (rc == MSB_OK) {
        rc = msb_counter_vec_get(v, (const char *[]){value}, &c, NULL);
        if (rc == MSB_OK) {
            msb_exemplar_t ex = {.trace_id = exval};
            msb_status_t xr = msb_counter_add_exemplar(c, 1, &ex, NULL);
            if (xr != MSB_OK && xr != MSB_EINVAL && xr != MSB_ETOOBIG) {
                abort();
            }
            size_t head = help[0] != '\0' ? 2 : 1;
            check(reg, MSB_METRICS_FORMAT_TEXT, head + 1);
            check(reg, MSB_METRICS_FORMAT_OPENMETRICS, head + 3);
            check(reg, MSB_METRICS_FORMAT_JSON, 0);
        }
    }
    if (rc != MSB_OK && rc != MSB_EINVAL) {
        abort();
    }
    msb_metrics_free(reg);
    free(buf);
    return 0;
}
