/*
 * Fuzz target for response header lines (msb__client_response_line): the input is split into
 * lines fed one by one, as libcurl hands them over. Properties: never crashes or reads past a
 * line; the status is 0 or 100..999; every field is reachable by index and by name (the first
 * field of a name is found by msb_client_response_header with index 0), and names are tokens.
 */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const msb_client_response_t *r)
{
    int st = msb_client_response_status(r);
    if (st != 0 && (st < 100 || st > 999)) {
        abort();
    }
    size_t n = msb_client_response_header_count(r);
    for (size_t i = 0; i < n; i++) {
        const char *name = NULL;
        const char *value = NULL;
        if (msb_client_response_header_at(r, i, &name, &value) != MSB_OK ||
            !msb__client_token(name, strlen(name), SIZE_MAX) ||
            msb_client_response_header(r, name, 0) == NULL) {
            abort();
        }
    }
    if (msb_client_response_header_at(r, n, NULL, NULL) != MSB_ERANGE) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msb_client_response_t *r = msb__client_response_new();
    if (r == NULL) {
        return 0;
    }
    size_t at = 0;
    while (at < size) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t end = nl != NULL ? (size_t)(nl - data) + 1 : size;
        size_t len = end - at;
        char *line = malloc(len + 1); /* an exact copy: ASan sees any overread */
        memcpy(line, data + at, len);
        bool fin = false;
        (void)msb__client_response_line(r, line, len, &fin);
        free(line);
        check(r);
        at = end;
    }
    msb_client_response_free(r);
    return 0;
}
