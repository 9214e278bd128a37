/* HTTP requests with libcurl for the integration tests that talk HTTP (Prometheus, Jaeger, nginx).
 * Header-only (static inline) so that only the tests that include it link libcurl: such a test
 * says `// msb-test: backends curl`. */
#ifndef MSB_IT_HTTP_H
#define MSB_IT_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** One response: status, body (NUL-terminated, owned), and libcurl's error when the transfer
 *  itself failed (connection refused, timeout). */
typedef struct it_http_resp {
    CURLcode code;
    long status;
    char *body;
    size_t len;
    long connects; /**< new connections this transfer opened (0 when one was reused) */
    char error[CURL_ERROR_SIZE];
} it_http_resp_t;

static inline size_t it_http_collect(char *data, size_t size, size_t n, void *user)
{
    it_http_resp_t *r = user;
    size_t add = size * n;
    char *grown = realloc(r->body, r->len + add + 1);
    if (grown == NULL) {
        return 0;
    }
    memcpy(grown + r->len, data, add);
    r->body = grown;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

/** Performs METHOD url on @p h (a reusable easy handle, or NULL for a fresh one) with an optional
 *  body. Returns true when an HTTP response arrived (any status); false with r->error otherwise.
 *  Free r->body with it_http_resp_free(). */
static inline bool it_http_on(CURL *h, const char *method, const char *url, const char *ctype,
                              const char *body, it_http_resp_t *r)
{
    memset(r, 0, sizeof(*r));
    CURL *c = h != NULL ? h : curl_easy_init();
    if (c == NULL) {
        r->code = CURLE_OUT_OF_MEMORY;
        snprintf(r->error, sizeof(r->error), "curl_easy_init failed");
        return false;
    }
    struct curl_slist *hdrs = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, it_http_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->error);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body != NULL) {
        char ct[256];
        snprintf(ct, sizeof(ct), "Content-Type: %s",
                 ctype != NULL ? ctype : "application/octet-stream");
        hdrs = curl_slist_append(hdrs, ct);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    r->code = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->connects);
    if (r->code != CURLE_OK && r->error[0] == '\0') {
        snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(r->code));
    }
    /* A reused handle must not keep pointers to this call's header list or body. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(hdrs);
    if (h == NULL) {
        curl_easy_cleanup(c);
    }
    return r->code == CURLE_OK;
}

static inline bool it_http(const char *method, const char *url, const char *ctype, const char *body,
                           it_http_resp_t *r)
{
    return it_http_on(NULL, method, url, ctype, body, r);
}

static inline void it_http_resp_free(it_http_resp_t *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

#endif /* MSB_IT_HTTP_H */
