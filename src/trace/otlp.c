/*
 * The OTLP/HTTP exporter: JSON bodies POSTed to <endpoint>/v1/traces through the HTTP driver
 * (libcurl plugin), with the retry rules of the OTLP specification: 429, 502, 503 and 504 and
 * unreachable servers are retried with exponential backoff and full jitter, a Retry-After header
 * sets the delay, everything happens before the batch's deadline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/driver.h"
#include "core/error.h"
#include "core/rand.h"
#include "msb/version.h"
#include "trace/driver.h"
#include "trace/internal.h"

#define MAX_HEADERS 32

typedef struct otlp {
    msb_span_exporter_t base;
    const msb__trace_http_driver_t *drv;
    void *client;
    char *url;
    char *headers[MAX_HEADERS + 4]; /* ours, the caller's, NULL */
    uint64_t timeout_ms;
    uint64_t retry_initial_ms;
    uint64_t retry_max_ms;
    uint64_t retry_max_elapsed_ms;
    bool gzip;
    msb__buf_t body;
    msb__buf_t zbody;
} otlp_t;

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static char *resolve_url(const char *endpoint)
{
    bool as_is = false;
    const char *e = endpoint;
    if (e == NULL || e[0] == '\0') {
        e = getenv("MSB_TRACE__OTLP__ENDPOINT");
    }
    if (e == NULL || e[0] == '\0') {
        e = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        as_is = e != NULL && e[0] != '\0';
    }
    if (e == NULL || e[0] == '\0') {
        e = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    }
    if (e == NULL || e[0] == '\0') {
        e = "http://127.0.0.1:4318";
    }
    if (as_is || ends_with(e, "/v1/traces")) {
        return msb__strdup(e);
    }
    msb__buf_t b = MSB__BUF_INIT;
    msb__buf_puts(&b, e);
    while (b.len > 0 && b.data[b.len - 1] == '/') {
        b.data[--b.len] = '\0';
    }
    msb__buf_puts(&b, "/v1/traces");
    if (msb__buf_status(&b) != MSB_OK) {
        msb__buf_free(&b);
        return NULL;
    }
    return msb__buf_steal(&b, NULL);
}

static void otlp_destroy(msb_span_exporter_t *e)
{
    otlp_t *o = (otlp_t *)e;
    if (o->client != NULL) {
        o->drv->client_free(o->client);
    }
    msb__free(o->url);
    for (size_t i = 0; o->headers[i] != NULL; i++) {
        msb__free(o->headers[i]);
    }
    msb__buf_free(&o->body);
    msb__buf_free(&o->zbody);
    msb__free(o);
}

static msb_status_t gzip_body(otlp_t *o)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return MSB_ENOMEM;
    }
    msb__buf_reset(&o->zbody);
    size_t bound = deflateBound(&z, (uLong)o->body.len);
    if (msb__buf_reserve(&o->zbody, bound) != MSB_OK) {
        deflateEnd(&z);
        return MSB_ENOMEM;
    }
    z.next_in = (Bytef *)o->body.data;
    z.avail_in = (uInt)o->body.len;
    z.next_out = (Bytef *)o->zbody.data;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    o->zbody.len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? MSB_OK : MSB_EINTERNAL;
}

static bool retryable(long status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}

/* Sleep until `until` (monotonic ns), waking early if the exporter is cancelled. */
static void sleep_until(otlp_t *o, uint64_t until)
{
    for (;;) {
        uint64_t now = msb_clock_monotonic_ns(NULL);
        uint64_t end = msb__exporter_deadline(&o->base, until);
        if (now >= end) {
            return;
        }
        uint64_t step = end - now;
        if (step > 20 * (uint64_t)MSB_MSEC) {
            step = 20 * (uint64_t)MSB_MSEC;
        }
        struct timespec ts = {(time_t)(step / (uint64_t)MSB_SEC), (long)(step % (uint64_t)MSB_SEC)};
        nanosleep(&ts, NULL);
    }
}

static uint64_t backoff_ms(const otlp_t *o, unsigned attempt)
{
    uint64_t cap = o->retry_initial_ms;
    for (unsigned i = 0; i < attempt && cap < o->retry_max_ms; i++) {
        cap *= 2;
    }
    if (cap > o->retry_max_ms) {
        cap = o->retry_max_ms;
    }
    return cap / 2 + msb__rand_below(cap / 2 + 1); /* jitter in [cap/2, cap] */
}

static msb_status_t otlp_send(otlp_t *o, const void *body, size_t len, uint64_t deadline,
                              msb_error_t *err)
{
    uint64_t first = msb_clock_monotonic_ns(NULL);
    for (unsigned attempt = 0;; attempt++) {
        uint64_t now = msb_clock_monotonic_ns(NULL);
        uint64_t end = msb__exporter_deadline(&o->base, deadline);
        if (now >= end) {
            return msb__err(err, MSB_ETIMEDOUT, "trace: export to %s missed its deadline", o->url);
        }
        uint64_t left_ms = (end - now) / (uint64_t)MSB_MSEC + 1;
        uint64_t timeout = left_ms < o->timeout_ms ? left_ms : o->timeout_ms;
        msb__trace_http_result_t res;
        msb_status_t rc = o->drv->post(o->client, o->url, (const char *const *)o->headers, body,
                                       len, timeout, &o->base.cancel_at, &res, err);
        if (rc == MSB_OK && res.status >= 200 && res.status < 300) {
            return MSB_OK;
        }
        bool again =
            (rc == MSB_OK && retryable(res.status)) || rc == MSB_EUNAVAIL || rc == MSB_ETIMEDOUT;
        if (rc == MSB_OK && !again) {
            return msb__err(err, MSB_EPROTO, "trace: %s answered %ld: %.120s", o->url, res.status,
                            res.excerpt);
        }
        if (!again) {
            return rc;
        }
        uint64_t wait_ms = rc == MSB_OK && res.retry_after_ms >= 0 ? (uint64_t)res.retry_after_ms
                                                                   : backoff_ms(o, attempt);
        uint64_t wake = msb_clock_monotonic_ns(NULL) + wait_ms * (uint64_t)MSB_MSEC;
        if ((wake - first) / (uint64_t)MSB_MSEC > o->retry_max_elapsed_ms ||
            wake >= msb__exporter_deadline(&o->base, deadline)) {
            if (rc == MSB_OK) {
                return msb__err(err, MSB_EUNAVAIL, "trace: %s answered %ld, no time left to retry",
                                o->url, res.status);
            }
            return rc;
        }
        sleep_until(o, wake);
    }
}

static msb_status_t otlp_export(msb_span_exporter_t *e, msb_span_t *const *spans, size_t n,
                                uint64_t deadline, msb_error_t *err)
{
    otlp_t *o = (otlp_t *)e;
    msb__buf_reset(&o->body);
    msb__otlp_json_request(&o->body, spans, n);
    if (msb__buf_status(&o->body) != MSB_OK) {
        return msb__err_nomem(err, "an OTLP request");
    }
    if (o->gzip) {
        msb_status_t rc = gzip_body(o);
        if (rc != MSB_OK) {
            return msb__err(err, rc, "trace: gzip of the OTLP request failed");
        }
        return otlp_send(o, o->zbody.data, o->zbody.len, deadline, err);
    }
    return otlp_send(o, o->body.data, o->body.len, deadline, err);
}

static msb_status_t add_header(otlp_t *o, size_t *n, const char *h, msb_error_t *err)
{
    if (*n >= MAX_HEADERS + 3) {
        return msb__err(err, MSB_EINVAL, "trace: more than %d headers", MAX_HEADERS);
    }
    o->headers[*n] = msb__strdup(h);
    if (o->headers[*n] == NULL) {
        return msb__err_nomem(err, "a header");
    }
    (*n)++;
    return MSB_OK;
}

static msb_status_t read_opts(otlp_t *o, const msb_trace_otlp_opts_t *opts, msb_error_t *err)
{
    const char *endpoint = MSB_OPT_HAS(opts, endpoint) ? opts->endpoint : NULL;
    o->url = resolve_url(endpoint);
    if (o->url == NULL) {
        return msb__err_nomem(err, "the endpoint");
    }
    if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0) {
        return msb__err(err, MSB_EINVAL, "trace: OTLP endpoint \"%.100s\" is not an http(s) URL",
                        o->url);
    }
    o->timeout_ms = MSB_OPT_HAS(opts, timeout_ms) && opts->timeout_ms ? opts->timeout_ms : 10000;
    o->retry_initial_ms = MSB_OPT_HAS(opts, retry_initial_ms) && opts->retry_initial_ms
                              ? opts->retry_initial_ms
                              : 1000;
    o->retry_max_ms =
        MSB_OPT_HAS(opts, retry_max_ms) && opts->retry_max_ms ? opts->retry_max_ms : 30000;
    o->retry_max_elapsed_ms = MSB_OPT_HAS(opts, retry_max_elapsed_ms) && opts->retry_max_elapsed_ms
                                  ? opts->retry_max_elapsed_ms
                                  : 60000;
    o->gzip = MSB_OPT_HAS(opts, gzip) && opts->gzip;
    size_t n = 0;
    msb_status_t rc = add_header(o, &n, "Content-Type: application/json", err);
    if (rc == MSB_OK) {
        char ua[64];
        snprintf(ua, sizeof(ua), "User-Agent: libmsb-otlp-exporter/%s", msb_version());
        rc = add_header(o, &n, ua, err);
    }
    if (rc == MSB_OK && o->gzip) {
        rc = add_header(o, &n, "Content-Encoding: gzip", err);
    }
    const char *const *h = MSB_OPT_HAS(opts, headers) ? opts->headers : NULL;
    for (size_t i = 0; rc == MSB_OK && h != NULL && h[i] != NULL; i++) {
        if (strchr(h[i], ':') == NULL || strpbrk(h[i], "\r\n") != NULL) {
            return msb__err(err, MSB_EINVAL, "trace: header %zu is not one \"Name: value\" line",
                            i);
        }
        rc = add_header(o, &n, h[i], err);
    }
    return rc;
}

msb_status_t msb_trace_otlp_exporter_new(const msb_trace_otlp_opts_t *opts,
                                         msb_span_exporter_t **out, msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "trace: out must not be NULL");
    }
    const void *drv = NULL;
    msb_status_t rc = msb__driver_get("trace", "curl", &drv, err);
    if (rc != MSB_OK) {
        return rc;
    }
    otlp_t *o = msb__calloc(1, sizeof(*o));
    if (o == NULL) {
        return msb__err_nomem(err, "an OTLP exporter");
    }
    o->drv = drv;
    o->base.export_spans = otlp_export;
    o->base.destroy = otlp_destroy;
    atomic_init(&o->base.cancel_at, UINT64_MAX);
    msb__buf_init(&o->body, 0);
    msb__buf_init(&o->zbody, 0);
    if (o->drv->abi != MSB__TRACE_DRIVER_ABI) {
        otlp_destroy(&o->base);
        return msb__err(err, MSB_ENOTSUP, "trace: the curl plugin has driver ABI %u, expected %d",
                        ((const msb__trace_http_driver_t *)drv)->abi, MSB__TRACE_DRIVER_ABI);
    }
    rc = read_opts(o, opts, err);
    if (rc == MSB_OK) {
        rc = o->drv->client_new(&o->client, err);
    }
    if (rc != MSB_OK) {
        otlp_destroy(&o->base);
        return rc;
    }
    *out = &o->base;
    return MSB_OK;
}
