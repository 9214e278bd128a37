/*
 * Fuzz target for the client's URL check and redaction (msb__client_url_parse,
 * msb__client_url_redact). Properties: never crashes or reads past the input; on success the
 * host is non-empty and inside the input, the port is 1..65535 and the path offset inside the
 * input; the redacted form of a valid URL is itself valid, names the same host and port, holds
 * no userinfo, and redacting it again changes nothing; an invalid URL redacts to "<invalid URL>".
 */
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"
#include "core/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *redact(const char *url)
{
    msb__buf_t b = MSB__BUF_INIT;
    msb__client_url_redact(url, &b);
    msb__buf_putc(&b, '\0');
    if (msb__buf_status(&b) != MSB_OK) {
        abort();
    }
    return msb__buf_steal(&b, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) {
        return 0;
    }
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    size_t len = strlen(s);
    msb__url_t u;
    msb_error_t err = MSB_ERROR_INIT;
    msb_status_t rc = msb__client_url_parse(s, &u, &err);
    char *r = redact(s);
    if (rc != MSB_OK) {
        if (err.message[0] == '\0' || rc != MSB_EINVAL || strcmp(r, "<invalid URL>") != 0) {
            abort();
        }
    } else {
        if (u.host_len == 0 || u.host < s || u.host + u.host_len > s + len || u.port == 0 ||
            u.rest > len) {
            abort();
        }
        msb__url_t v;
        if (msb__client_url_parse(r, &v, NULL) != MSB_OK || v.port != u.port ||
            v.https != u.https || v.host_len != u.host_len ||
            memcmp(v.host, u.host, u.host_len) != 0) {
            abort();
        }
        const char *auth = strstr(r, "://") + 3;
        size_t alen = strcspn(auth, "/?#");
        if (memchr(auth, '@', alen) != NULL) {
            abort();
        }
        char *again = redact(r);
        if (strcmp(again, r) != 0) {
            abort();
        }
        msb__free(again);
    }
    msb__free(r);
    free(s);
    return 0;
}
