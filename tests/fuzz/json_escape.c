/*
 * Fuzz target for msb__buf_put_json_str, the JSON string writer every module uses (logs,
 * expositions, problem+json). Properties: the output is one JSON string that jansson accepts; its
 * content is valid UTF-8; valid UTF-8 input comes back unchanged.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msb__buf_t b = MSB__BUF_INIT;
    msb__buf_put_json_str(&b, (const char *)data, size);
    if (msb__buf_status(&b) != MSB_OK) {
        abort();
    }
    json_error_t jerr;
    json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (j == NULL || !json_is_string(j)) {
        abort();
    }
    const char *s = json_string_value(j);
    size_t n = json_string_length(j);
    if (!msb__utf8_valid(s, n)) {
        abort();
    }
    if (msb__utf8_valid((const char *)data, size) && (n != size || memcmp(s, data, n) != 0)) {
        abort();
    }
    json_decref(j);
    msb__buf_free(&b);
    return 0;
}
