/* libcurl implementation of the OTLP exporter's HTTP driver (plugin libmsb-curl). */
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "core/error.h"
#include "core/str.h"
#include "msb/clock.h"
#include "trace/driver.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct post_state {
    msb__trace_http_result_t *res;
    size_t excerpt_len;
    const _Atomic uint64_t *cancel_at;
} post_state_t;

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    post_state_t *st = user;
    size_t len = size * n;
    size_t room = sizeof(st->res->excerpt) - 1 - st->excerpt_len;
    size_t take = len < room ? len : room;
    memcpy(st->res->excerpt + st->excerpt_len, p, take);
    st->excerpt_len += take;
    st->res->excerpt[st->excerpt_len] = '\0';
    return len;
}

/* Retry-After: delay-seconds / HTTP-date (RFC 9110 10.2.3). */
static void parse_retry_after(const char *v, size_t n, msb__trace_http_result_t *res)
{
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) {
        n--;
    }
    while (n > 0 && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        n--;
    }
    uint64_t secs;
    if (msb__parse_u64(v, n, &secs) == MSB_OK) {
        res->retry_after_ms = secs > 86400 ? 86400000 : (int64_t)secs * 1000;
        return;
    }
    char date[64];
    if (n == 0 || n >= sizeof(date)) {
        return;
    }
    memcpy(date, v, n);
    date[n] = '\0';
    time_t when = curl_getdate(date, NULL);
    if (when != -1) {
        int64_t delta = ((int64_t)when - (int64_t)time(NULL)) * 1000;
        res->retry_after_ms = delta > 0 ? delta : 0;
    }
}

static size_t on_header(char *p, size_t size, size_t n, void *user)
{
    post_state_t *st = user;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) - 1 && msb__ascii_ieq(p, sizeof(name) - 1, name)) {
        parse_retry_after(p + sizeof(name) - 1, len - (sizeof(name) - 1), st->res);
    }
    return len;
}

static int on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    MSB_UNUSED(dt);
    MSB_UNUSED(dn);
    MSB_UNUSED(ut);
    MSB_UNUSED(un);
    post_state_t *st = user;
    return msb_clock_monotonic_ns(NULL) >= atomic_load(st->cancel_at) ? 1 : 0;
}

static msb_status_t client_new(void **out, msb_error_t *err)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        return msb__err(err, MSB_EINTERNAL, "curl_global_init: %s", curl_easy_strerror(global_rc));
    }
    CURL *c = curl_easy_init();
    if (c == NULL) {
        return msb__err_nomem(err, "a curl handle");
    }
    *out = c;
    return MSB_OK;
}

static void client_free(void *client)
{
    curl_easy_cleanup(client);
}

static msb_status_t map_error(CURLcode cc, const char *url, const char *detail, msb_error_t *err)
{
    const char *why = detail[0] != '\0' ? detail : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return msb__err(err, MSB_ETIMEDOUT, "POST %s: %s", url, why);
    case CURLE_ABORTED_BY_CALLBACK:
        return msb__err(err, MSB_ECANCELED, "POST %s: cancelled by shutdown", url);
    case CURLE_OUT_OF_MEMORY:
        return msb__err_nomem(err, "a curl request");
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return msb__err(err, MSB_EINVAL, "POST %s: %s", url, why);
    default:
        return msb__err(err, MSB_EUNAVAIL, "POST %s: %s", url, why);
    }
}

static msb_status_t post(void *client, const char *url, const char *const *headers,
                         const void *body, size_t len, uint64_t timeout_ms,
                         const _Atomic uint64_t *cancel_at, msb__trace_http_result_t *res,
                         msb_error_t *err)
{
    CURL *c = client;
    res->status = 0;
    res->retry_after_ms = -1;
    res->excerpt[0] = '\0';
    post_state_t st = {res, 0, cancel_at};
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        struct curl_slist *next = curl_slist_append(list, headers[i]);
        if (next == NULL) {
            curl_slist_free_all(list);
            return msb__err_nomem(err, "request headers");
        }
        list = next;
    }
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 1));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &st);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(list);
    if (cc != CURLE_OK) {
        return map_error(cc, url, detail, err);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
    return MSB_OK;
}

static const msb__trace_http_driver_t driver = {
    MSB__TRACE_DRIVER_ABI,
    client_new,
    client_free,
    post,
};

MSB_INTERNAL const void *msb__trace_curl_driver(void);

const void *msb__trace_curl_driver(void)
{
    return &driver;
}
