/*
 * Fuzz target for duration values (msb_config_parse_duration and the internal parser).
 * Properties: never crashes; a rejection says why; an accepted value is non-negative; its
 * canonical form parses back to the same value; the public and internal parsers agree.
 */
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "msb/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[CFG_WHY_MAX];
    int64_t ns = -1;
    msb_status_t rc = msb__config_parse_duration((const char *)data, size, &ns, why);
    if (rc != MSB_OK) {
        if (rc != MSB_EINVAL && rc != MSB_ERANGE) {
            abort();
        }
        if (strlen(why) == 0) {
            abort();
        }
        return 0;
    }
    if (ns < 0) {
        abort();
    }
    char text[64];
    msb__config_format_duration(ns, text, sizeof(text));
    int64_t back = -1;
    if (msb__config_parse_duration(text, strlen(text), &back, why) != MSB_OK || back != ns) {
        abort();
    }
    if (memchr(data, '\0', size) == NULL) {
        char *copy = malloc(size + 1);
        memcpy(copy, data, size);
        copy[size] = '\0';
        int64_t pub = -1;
        if (msb_config_parse_duration(copy, &pub, NULL) != MSB_OK || pub != ns) {
            abort();
        }
        free(copy);
    }
    return 0;
}
