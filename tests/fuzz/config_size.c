/*
 * Fuzz target for byte-size values (msb_config_parse_size and the internal parser).
 * Properties: never crashes; a rejection says why; the canonical form of an accepted value parses
 * back to the same value; the public and internal parsers agree.
 */
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "msb/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[CFG_WHY_MAX];
    uint64_t bytes = 0;
    msb_status_t rc = msb__config_parse_size((const char *)data, size, &bytes, why);
    if (rc != MSB_OK) {
        if (rc != MSB_EINVAL && rc != MSB_ERANGE) {
            abort();
        }
        if (strlen(why) == 0) {
            abort();
        }
        return 0;
    }
    char text[64];
    msb__config_format_size(bytes, text, sizeof(text));
    uint64_t back = 1;
    if (msb__config_parse_size(text, strlen(text), &back, why) != MSB_OK || back != bytes) {
        abort();
    }
    if (memchr(data, '\0', size) == NULL) {
        char *copy = malloc(size + 1);
        memcpy(copy, data, size);
        copy[size] = '\0';
        uint64_t pub = 1;
        if (msb_config_parse_size(copy, &pub, NULL) != MSB_OK || pub != bytes) {
            abort();
        }
        free(copy);
    }
    return 0;
}
