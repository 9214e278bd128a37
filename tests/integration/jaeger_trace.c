/*
 * Spans exported over OTLP/HTTP to the real Jaeger (scripts/infra) and read back through its
 * query API: service name, operation names, parent/child references, attributes (tags), kind and
 * status exactly as sent.
 *
 * Environment (scripts/infra env): MSB_TRACE__OTLP__ENDPOINT (http://127.0.0.1:4318) and
 * MSB_TEST__JAEGER__QUERY_URL (http://127.0.0.1:16686).
 */
// msb-test: backends curl
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "integration/harness.h"
#include "msb/trace.h"

#define HINT "is Jaeger up? (scripts/infra up jaeger; scripts/infra logs jaeger)"

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    char **buf = user;
    size_t old = *buf != NULL ? strlen(*buf) : 0;
    char *g = realloc(*buf, old + size * n + 1);
    cr_assert_not_null(g);
    memcpy(g + old, p, size * n);
    g[old + size * n] = '\0';
    *buf = g;
    return size * n;
}

/* GET url; returns the HTTP status and the body (to free) in *body. */
static long http_get(const char *url, char **body)
{
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    *body = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_easy_cleanup(c);
    cr_assert_eq(cc, CURLE_OK, "GET %s: %s; " HINT, url, curl_easy_strerror(cc));
    return status;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Poll Jaeger for a trace until it has `want` spans, at most 30 s. */
static json_t *fetch_trace(const char *trace_id, size_t want)
{
    const char *q = msb_it_env("MSB_TEST__JAEGER__QUERY_URL", "http://127.0.0.1:16686");
    char url[512];
    snprintf(url, sizeof(url), "%s/api/traces/%s", q, trace_id);
    uint64_t deadline = now_ms() + 30000;
    size_t got = 0;
    for (;;) {
        char *body = NULL;
        long status = http_get(url, &body);
        if (status == 200) {
            json_t *root = json_loads(body, 0, NULL);
            json_t *trace = json_array_get(json_object_get(root, "data"), 0);
            got = json_array_size(json_object_get(trace, "spans"));
            if (got >= want) {
                json_incref(trace);
                json_decref(root);
                free(body);
                return trace;
            }
            json_decref(root);
        }
        free(body);
        cr_assert_lt(now_ms(), deadline,
                     "trace %s has %zu of %zu spans in Jaeger after 30 s; " HINT, trace_id, got,
                     want);
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL); /* polling an external server: there is nothing to wait on */
    }
}

static json_t *span_named(json_t *trace, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(trace, "spans"), i, s)
    {
        if (strcmp(json_string_value(json_object_get(s, "operationName")), name) == 0) {
            return s;
        }
    }
    cr_assert_fail("no span named %s", name);
    return NULL;
}

static json_t *tag(json_t *span, const char *key)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(span, "tags"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "key")), key) == 0) {
            return json_object_get(t, "value");
        }
    }
    return NULL;
}

static const char *span_id_of(json_t *span)
{
    return json_string_value(json_object_get(span, "spanID"));
}

static bool child_of(json_t *child, json_t *parent)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(child, "references"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "refType")), "CHILD_OF") == 0 &&
            strcmp(json_string_value(json_object_get(r, "spanID")), span_id_of(parent)) == 0) {
            return true;
        }
    }
    return false;
}

static msb_tracer_provider_t *jaeger_provider(const char *service)
{
    msb_trace_otlp_opts_t oo = MSB_TRACE_OTLP_OPTS_INIT;
    oo.endpoint = msb_it_env("MSB_TRACE__OTLP__ENDPOINT", "http://127.0.0.1:4318");
    msb_span_exporter_t *exp = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_trace_otlp_exporter_new(&oo, &exp, &err), MSB_OK, "%s", err.message);
    msb_trace_batch_opts_t bo = MSB_TRACE_BATCH_OPTS_INIT;
    bo.export_timeout_ms = 10000;
    msb_span_processor_t *proc = NULL;
    cr_assert_eq(msb_trace_batch_processor_new(&bo, exp, &proc, &err), MSB_OK, "%s", err.message);
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = service;
    o.service_version = "9.8.7";
    o.processor = proc;
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, &err), MSB_OK, "%s", err.message);
    return p;
}

Test(jaeger_trace, spans_read_back_as_sent)
{
    char service[64];
    snprintf(service, sizeof(service), "msb-it-trace-%d-%ld", (int)getpid(), (long)time(NULL));
    msb_tracer_provider_t *p = jaeger_provider(service);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, "msb.it", "1.0");
    msb_span_opts_t so = MSB_SPAN_OPTS_INIT;
    so.kind = MSB_SPAN_SERVER;
    msb_span_t *server = msb_span_start(t, "GET /orders/{id}", &so);
    msb_span_set_str(server, "http.request.method", "GET");
    msb_span_set_int(server, "http.response.status_code", 502);
    msb_span_set_double(server, "load", 0.75);
    msb_span_set_bool(server, "cache.hit", false);
    msb_span_activate(server);
    so.kind = MSB_SPAN_CLIENT;
    msb_span_t *client = msb_span_start(t, "POST payment", &so);
    msb_span_activate(client);
    msb_span_t *inner = msb_span_start(t, "encode", NULL);
    msb_span_add_event(inner, "encoded", NULL, 0, 0);
    msb_span_end(inner);
    msb_span_set_status(client, MSB_SPAN_ERROR, "payment provider timed out");
    msb_span_end(client);
    msb_span_set_status(server, MSB_SPAN_OK, NULL);
    msb_trace_ctx_t ctx;
    msb_span_get_ctx(server, &ctx);
    msb_span_end(server);
    msb_status_t rc = msb_tracer_provider_flush(p, 15000);
    cr_assert_eq(rc, MSB_OK, "export to %s failed: %s; " HINT,
                 msb_it_env("MSB_TRACE__OTLP__ENDPOINT", "http://127.0.0.1:4318"),
                 msb_status_name(rc));
    char tid[33];
    msb_trace_ctx_trace_id_hex(&ctx, tid);
    json_t *trace = fetch_trace(tid, 3);
    json_t *js = span_named(trace, "GET /orders/{id}");
    json_t *jc = span_named(trace, "POST payment");
    json_t *ji = span_named(trace, "encode");
    char sid[17];
    msb_trace_ctx_span_id_hex(&ctx, sid);
    cr_expect_str_eq(span_id_of(js), sid);
    cr_expect_eq(json_array_size(json_object_get(js, "references")), 0, "the root has no parent");
    cr_expect(child_of(jc, js), "client is a child of server");
    cr_expect(child_of(ji, jc), "encode is a child of client");
    cr_expect_str_eq(json_string_value(tag(js, "http.request.method")), "GET");
    cr_expect_eq(json_integer_value(tag(js, "http.response.status_code")), 502);
    cr_expect_eq(json_real_value(tag(js, "load")), 0.75);
    cr_expect(json_is_false(tag(js, "cache.hit")));
    cr_expect_str_eq(json_string_value(tag(js, "span.kind")), "server");
    cr_expect_str_eq(json_string_value(tag(jc, "span.kind")), "client");
    cr_expect_str_eq(json_string_value(tag(jc, "otel.status_code")), "ERROR");
    cr_expect_str_eq(json_string_value(tag(jc, "otel.status_description")),
                     "payment provider timed out");
    cr_expect_str_eq(json_string_value(tag(js, "otel.status_code")), "OK");
    cr_expect_str_eq(json_string_value(tag(ji, "otel.scope.name")), "msb.it");
    cr_expect_eq(json_array_size(json_object_get(ji, "logs")), 1, "the event");
    const char *pid = json_string_value(json_object_get(js, "processID"));
    json_t *proc = json_object_get(json_object_get(trace, "processes"), pid);
    cr_expect_str_eq(json_string_value(json_object_get(proc, "serviceName")), service);
    json_t *ver = NULL;
    size_t i;
    json_t *tg;
    json_array_foreach(json_object_get(proc, "tags"), i, tg)
    {
        if (strcmp(json_string_value(json_object_get(tg, "key")), "service.version") == 0) {
            ver = json_object_get(tg, "value");
        }
    }
    cr_expect_str_eq(json_string_value(ver), "9.8.7");
    json_decref(trace);
    msb_tracer_provider_free(p);
}

Test(jaeger_trace, service_is_listed_and_searchable)
{
    char service[64];
    snprintf(service, sizeof(service), "msb-it-search-%d-%ld", (int)getpid(), (long)time(NULL));
    msb_tracer_provider_t *p = jaeger_provider(service);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    msb_span_t *s = msb_span_start(t, "lonely", NULL);
    msb_trace_ctx_t ctx;
    msb_span_get_ctx(s, &ctx);
    msb_span_end(s);
    cr_assert_eq(msb_tracer_provider_flush(p, 15000), MSB_OK, HINT);
    char tid[33];
    msb_trace_ctx_trace_id_hex(&ctx, tid);
    json_decref(fetch_trace(tid, 1));
    const char *q = msb_it_env("MSB_TEST__JAEGER__QUERY_URL", "http://127.0.0.1:16686");
    char url[512];
    snprintf(url, sizeof(url), "%s/api/traces?service=%s&lookback=1h&limit=5", q, service);
    char *body = NULL;
    cr_assert_eq(http_get(url, &body), 200, "%s", body != NULL ? body : "");
    cr_expect_neq(strstr(body, tid), NULL, "search by service finds the trace");
    free(body);
    msb_tracer_provider_free(p);
}
