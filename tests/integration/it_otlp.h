/* OTLP/HTTP (JSON) exports and Jaeger query API reads for the Jaeger integration tests
 * (header-only; a test that includes it says `// msb-test: backends curl`). */
#ifndef MSB_IT_OTLP_H
#define MSB_IT_OTLP_H

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "harness.h"
#include "it_http.h"

static inline const char *it_otlp_endpoint(void)
{
    return msb_it_env("MSB_TRACE__OTLP__ENDPOINT", "http://127.0.0.1:4318");
}

static inline const char *it_jaeger_query(void)
{
    return msb_it_env("MSB_TEST__JAEGER__QUERY_URL", "http://127.0.0.1:16686");
}

/** @p bytes random bytes as lowercase hex into @p out (2 * bytes + 1). */
static inline void it_otlp_random_hex(char *out, size_t bytes)
{
    unsigned char b[32];
    if (bytes > sizeof(b) || getrandom(b, bytes, 0) != (ssize_t)bytes) {
        cr_assert_fail("getrandom failed");
    }
    for (size_t i = 0; i < bytes; i++) {
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    }
}

/** Exports one trace of two spans (a server span and its child) for @p service over
 *  OTLP/HTTP JSON. Returns true on HTTP 200; the response goes into @p r (free it). */
static inline bool it_otlp_export(CURL *h, const char *service, const char *trace_id,
                                  const char *root_id, const char *child_id, it_http_resp_t *r)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long start = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
             "\"value\":{\"stringValue\":\"%s\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":"
             "\"msb-integration\"},\"spans\":["
             "{\"traceId\":\"%s\",\"spanId\":\"%s\",\"name\":\"GET /smoke\",\"kind\":2,"
             "\"startTimeUnixNano\":\"%lld\",\"endTimeUnixNano\":\"%lld\",\"attributes\":["
             "{\"key\":\"http.status_code\",\"value\":{\"intValue\":\"200\"}}]},"
             "{\"traceId\":\"%s\",\"spanId\":\"%s\",\"parentSpanId\":\"%s\",\"name\":\"db query\","
             "\"kind\":3,\"startTimeUnixNano\":\"%lld\",\"endTimeUnixNano\":\"%lld\"}"
             "]}]}]}",
             service, trace_id, root_id, start, start + 5000000, trace_id, child_id, root_id,
             start + 1000000, start + 4000000);
    char url[1024];
    snprintf(url, sizeof(url), "%s/v1/traces", it_otlp_endpoint());
    return it_http_on(h, "POST", url, "application/json", body, r) && r->status == 200;
}

/** GET <query><path> as JSON; NULL when the request failed or the answer is not JSON. */
static inline json_t *it_jaeger_get(CURL *h, const char *path)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", it_jaeger_query(), path);
    it_http_resp_t r;
    json_t *j = NULL;
    if (it_http_on(h, "GET", url, NULL, NULL, &r) && r.status == 200) {
        j = json_loads(r.body, 0, NULL);
    }
    it_http_resp_free(&r);
    return j;
}

/** The number of spans Jaeger holds for trace @p trace_id (0 when it does not know it). */
static inline size_t it_jaeger_trace_spans(CURL *h, const char *trace_id)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/traces/%s", trace_id);
    json_t *j = it_jaeger_get(h, path);
    size_t n =
        json_array_size(json_object_get(json_array_get(json_object_get(j, "data"), 0), "spans"));
    json_decref(j);
    return n;
}

#endif /* MSB_IT_OTLP_H */
