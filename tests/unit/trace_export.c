/* The exporters' output against the OTLP schema (opentelemetry-proto trace/v1, JSON mapping):
 * every object's keys, every value's JSON type, ids as hex, 64-bit integers as strings; the
 * grouping by resource and scope; the log exporter's JSON lines. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "msb/trace.h"

static char captured[65536];
static size_t captured_len;

static msb_status_t capture(void *user, const char *json, size_t len,
                            const msb_span_t *const *spans, size_t n)
{
    (void)user;
    (void)spans;
    (void)n;
    cr_assert_lt(len, sizeof(captured));
    memcpy(captured, json, len);
    captured[len] = '\0';
    captured_len = len;
    return MSB_OK;
}

/* Keys allowed in an object (a schema's field list); fails on anything else. */
static void only_keys(json_t *obj, const char *const *allowed, const char *what)
{
    cr_assert(json_is_object(obj), "%s is not an object", what);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL; i++) {
            ok = ok || strcmp(allowed[i], key) == 0;
        }
        cr_expect(ok, "%s has unknown field \"%s\"", what, key);
    }
}

static void is_hex(json_t *v, size_t len, const char *what)
{
    cr_assert(json_is_string(v), "%s is not a string", what);
    const char *s = json_string_value(v);
    cr_expect_eq(strlen(s), len, "%s: %s", what, s);
    cr_expect_eq(strspn(s, "0123456789abcdef"), len, "%s: %s", what, s);
}

static void is_uint64_string(json_t *v, const char *what)
{
    cr_assert(json_is_string(v), "%s must be a string (uint64 in JSON)", what);
    const char *s = json_string_value(v);
    cr_expect(strlen(s) > 0 && strspn(s, "0123456789") == strlen(s), "%s: %s", what, s);
}

static void check_any_value(json_t *v)
{
    static const char *const keys[] = {"stringValue", "intValue",    "doubleValue", "boolValue",
                                       "arrayValue",  "kvlistValue", "bytesValue",  NULL};
    only_keys(v, keys, "AnyValue");
    cr_expect_eq(json_object_size(v), 1, "AnyValue is a oneof");
    json_t *x;
    if ((x = json_object_get(v, "stringValue")) != NULL) {
        cr_expect(json_is_string(x));
    } else if ((x = json_object_get(v, "intValue")) != NULL) {
        cr_expect(json_is_string(x), "intValue is int64: a string");
    } else if ((x = json_object_get(v, "doubleValue")) != NULL) {
        cr_expect(json_is_number(x) || json_is_string(x));
    } else if ((x = json_object_get(v, "boolValue")) != NULL) {
        cr_expect(json_is_boolean(x));
    } else if ((x = json_object_get(v, "arrayValue")) != NULL) {
        static const char *const akeys[] = {"values", NULL};
        only_keys(x, akeys, "ArrayValue");
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(x, "values"), i, e)
        {
            check_any_value(e);
        }
    }
}

static void check_attrs(json_t *attrs)
{
    cr_assert(json_is_array(attrs), "attributes must be an array");
    static const char *const keys[] = {"key", "value", NULL};
    size_t i;
    json_t *kv;
    json_array_foreach(attrs, i, kv)
    {
        only_keys(kv, keys, "KeyValue");
        cr_expect(json_is_string(json_object_get(kv, "key")));
        check_any_value(json_object_get(kv, "value"));
    }
}

static json_t *attr(json_t *attrs, const char *key)
{
    size_t i;
    json_t *kv;
    json_array_foreach(attrs, i, kv)
    {
        if (strcmp(json_string_value(json_object_get(kv, "key")), key) == 0) {
            return json_object_get(kv, "value");
        }
    }
    return NULL;
}

static void check_span(json_t *s)
{
    static const char *const keys[] = {"traceId",
                                       "spanId",
                                       "traceState",
                                       "parentSpanId",
                                       "flags",
                                       "name",
                                       "kind",
                                       "startTimeUnixNano",
                                       "endTimeUnixNano",
                                       "attributes",
                                       "droppedAttributesCount",
                                       "events",
                                       "droppedEventsCount",
                                       "links",
                                       "droppedLinksCount",
                                       "status",
                                       NULL};
    only_keys(s, keys, "Span");
    is_hex(json_object_get(s, "traceId"), 32, "traceId");
    is_hex(json_object_get(s, "spanId"), 16, "spanId");
    if (json_object_get(s, "parentSpanId") != NULL) {
        is_hex(json_object_get(s, "parentSpanId"), 16, "parentSpanId");
    }
    cr_expect(json_is_string(json_object_get(s, "name")));
    cr_expect(json_is_integer(json_object_get(s, "kind")), "enums are integers");
    cr_expect(json_is_integer(json_object_get(s, "flags")));
    is_uint64_string(json_object_get(s, "startTimeUnixNano"), "startTimeUnixNano");
    is_uint64_string(json_object_get(s, "endTimeUnixNano"), "endTimeUnixNano");
    check_attrs(json_object_get(s, "attributes"));
    static const char *const ekeys[] = {"timeUnixNano", "name", "attributes",
                                        "droppedAttributesCount", NULL};
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(s, "events"), i, e)
    {
        only_keys(e, ekeys, "Event");
        is_uint64_string(json_object_get(e, "timeUnixNano"), "timeUnixNano");
        check_attrs(json_object_get(e, "attributes"));
    }
    static const char *const lkeys[] = {
        "traceId", "spanId", "traceState", "attributes", "droppedAttributesCount", "flags", NULL};
    json_array_foreach(json_object_get(s, "links"), i, e)
    {
        only_keys(e, lkeys, "Link");
        is_hex(json_object_get(e, "traceId"), 32, "link traceId");
        is_hex(json_object_get(e, "spanId"), 16, "link spanId");
        check_attrs(json_object_get(e, "attributes"));
    }
    static const char *const skeys[] = {"code", "message", NULL};
    only_keys(json_object_get(s, "status"), skeys, "Status");
}

static json_t *check_request(const char *text)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    cr_assert_not_null(root, "not JSON: %s at %d: %.200s", jerr.text, jerr.position, text);
    static const char *const rkeys[] = {"resourceSpans", NULL};
    only_keys(root, rkeys, "ExportTraceServiceRequest");
    size_t i, j, k;
    json_t *rs, *ss, *sp;
    json_array_foreach(json_object_get(root, "resourceSpans"), i, rs)
    {
        static const char *const keys[] = {"resource", "scopeSpans", "schemaUrl", NULL};
        only_keys(rs, keys, "ResourceSpans");
        static const char *const reskeys[] = {"attributes", "droppedAttributesCount", NULL};
        only_keys(json_object_get(rs, "resource"), reskeys, "Resource");
        check_attrs(json_object_get(json_object_get(rs, "resource"), "attributes"));
        json_array_foreach(json_object_get(rs, "scopeSpans"), j, ss)
        {
            static const char *const sskeys[] = {"scope", "spans", "schemaUrl", NULL};
            only_keys(ss, sskeys, "ScopeSpans");
            static const char *const scopekeys[] = {"name", "version", "attributes", NULL};
            only_keys(json_object_get(ss, "scope"), scopekeys, "InstrumentationScope");
            json_array_foreach(json_object_get(ss, "spans"), k, sp)
            {
                check_span(sp);
            }
        }
    }
    return root;
}

static msb_tracer_provider_t *provider(const char *service)
{
    msb_span_exporter_t *exp = NULL;
    cr_assert_eq(msb_trace_exporter_new(capture, NULL, &exp), MSB_OK);
    msb_span_processor_t *proc = NULL;
    cr_assert_eq(msb_trace_simple_processor_new(exp, &proc), MSB_OK);
    msb_attr_t res[] = {MSB_ATTR_STR("deployment.environment", "test"),
                        MSB_ATTR_INT("host.cpus", 2)};
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = service;
    o.service_version = "2.0.1";
    o.resource = res;
    o.resource_count = 2;
    o.processor = proc;
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    return p;
}

Test(trace_export, otlp_json_request_matches_the_schema)
{
    msb_tracer_provider_t *p = provider("checkout");
    msb_tracer_t *t = msb_tracer_provider_tracer(p, "msb.http", "0.1");
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    msb_trace_ctx_t remote;
    cr_assert_eq(msb_traceparent_parse(tp, strlen(tp), &remote, NULL), MSB_OK);
    cr_assert_eq(msb_tracestate_parse("congo=t61rcWkgMzE", 17, &remote, NULL), MSB_OK);
    msb_span_opts_t so = MSB_SPAN_OPTS_INIT;
    so.kind = MSB_SPAN_SERVER;
    so.parent = &remote;
    so.links = &remote;
    so.nlinks = 1;
    msb_span_t *s = msb_span_start(t, "GET /users/{id}", &so);
    msb_span_set_str(s, "http.request.method", "GET");
    msb_span_set_str(s, "quote", "say \"hi\"\n\x01");
    msb_span_set_int(s, "http.response.status_code", -404);
    msb_span_set_double(s, "ratio", 0.5);
    msb_span_set_double(s, "nan", 0.0 / 0.0);
    msb_span_set_bool(s, "cache.hit", false);
    int64_t ints[] = {INT64_MIN, 7};
    const char *strs[] = {"a", "b\"c"};
    msb_attr_t arr[] = {{.key = "ints", .type = MSB_ATTR_INT_ARRAY, .v.a = {ints, 2}},
                        {.key = "strs", .type = MSB_ATTR_STRING_ARRAY, .v.a = {strs, 2}}};
    msb_span_set_attrs(s, arr, 2);
    msb_attr_t ea = MSB_ATTR_STR("k", "v");
    msb_span_add_event(s, "cache miss", &ea, 1, 1234);
    msb_span_set_status(s, MSB_SPAN_ERROR, "upstream failed");
    msb_span_end(s);
    json_t *root = check_request(captured);
    json_t *rs = json_array_get(json_object_get(root, "resourceSpans"), 0);
    json_t *res = json_object_get(json_object_get(rs, "resource"), "attributes");
    cr_expect_str_eq(json_string_value(json_object_get(attr(res, "service.name"), "stringValue")),
                     "checkout");
    cr_expect_str_eq(
        json_string_value(json_object_get(attr(res, "service.version"), "stringValue")), "2.0.1");
    cr_expect_str_eq(
        json_string_value(json_object_get(attr(res, "telemetry.sdk.language"), "stringValue")),
        "c");
    cr_expect_str_eq(json_string_value(json_object_get(attr(res, "host.cpus"), "intValue")), "2");
    json_t *ss = json_array_get(json_object_get(rs, "scopeSpans"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(ss, "scope"), "name")),
                     "msb.http");
    json_t *sp = json_array_get(json_object_get(ss, "spans"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(sp, "traceId")),
                     "4bf92f3577b34da6a3ce929d0e0e4736");
    cr_expect_str_eq(json_string_value(json_object_get(sp, "parentSpanId")), "00f067aa0ba902b7");
    cr_expect_str_eq(json_string_value(json_object_get(sp, "traceState")), "congo=t61rcWkgMzE");
    cr_expect_eq(json_integer_value(json_object_get(sp, "kind")), 2);
    cr_expect_eq(json_integer_value(json_object_get(sp, "flags")), 0x301, "sampled, remote parent");
    json_t *a = json_object_get(sp, "attributes");
    cr_expect_str_eq(json_string_value(json_object_get(attr(a, "quote"), "stringValue")),
                     "say \"hi\"\n\x01");
    cr_expect_str_eq(
        json_string_value(json_object_get(attr(a, "http.response.status_code"), "intValue")),
        "-404");
    cr_expect_str_eq(json_string_value(json_object_get(attr(a, "nan"), "doubleValue")), "NaN");
    cr_expect(json_is_false(json_object_get(attr(a, "cache.hit"), "boolValue")));
    json_t *iv = json_object_get(json_object_get(attr(a, "ints"), "arrayValue"), "values");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(iv, 0), "intValue")),
                     "-9223372036854775808");
    json_t *ev = json_array_get(json_object_get(sp, "events"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(ev, "timeUnixNano")), "1234");
    cr_expect_str_eq(json_string_value(json_object_get(ev, "name")), "cache miss");
    json_t *st = json_object_get(sp, "status");
    cr_expect_eq(json_integer_value(json_object_get(st, "code")), 2);
    cr_expect_str_eq(json_string_value(json_object_get(st, "message")), "upstream failed");
    cr_expect_eq(json_array_size(json_object_get(sp, "links")), 1);
    json_decref(root);
    msb_tracer_provider_free(p);
}

static size_t nbatch;

static msb_status_t keep(void *user, const char *json, size_t len, const msb_span_t *const *spans,
                         size_t n)
{
    capture(user, json, len, spans, n);
    nbatch = n;
    return MSB_OK;
}

Test(trace_export, batches_group_by_resource_and_scope)
{
    /* Two providers and two scopes in one batch: a batch processor exporting on flush. */
    msb_span_exporter_t *exp = NULL;
    cr_assert_eq(msb_trace_exporter_new(keep, NULL, &exp), MSB_OK);
    msb_span_processor_t *proc = NULL;
    msb_trace_batch_opts_t bo = MSB_TRACE_BATCH_OPTS_INIT;
    bo.schedule_delay_ms = 60000;
    cr_assert_eq(msb_trace_batch_processor_new(&bo, exp, &proc, NULL), MSB_OK);
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "a";
    o.processor = proc;
    msb_tracer_provider_t *pa = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &pa, NULL), MSB_OK);
    o.service_name = "b";
    o.processor = NULL;
    msb_tracer_provider_t *pb = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &pb, NULL), MSB_OK);
    /* A processor belongs to one provider: pb's span is discarded; pa's two scopes make two
     * scopeSpans in one resourceSpans. */
    msb_span_end(msb_span_start(msb_tracer_provider_tracer(pa, "s1", NULL), "x1", NULL));
    msb_span_end(msb_span_start(msb_tracer_provider_tracer(pa, "s2", NULL), "x2", NULL));
    msb_span_end(msb_span_start(msb_tracer_provider_tracer(pa, "s1", NULL), "x3", NULL));
    msb_span_end(msb_span_start(msb_tracer_provider_tracer(pb, "s1", NULL), "y", NULL));
    cr_assert_eq(msb_tracer_provider_flush(pa, 5000), MSB_OK);
    cr_expect_eq(nbatch, 3);
    json_t *root = check_request(captured);
    json_t *rss = json_object_get(root, "resourceSpans");
    cr_assert_eq(json_array_size(rss), 1);
    json_t *sss = json_object_get(json_array_get(rss, 0), "scopeSpans");
    cr_assert_eq(json_array_size(sss), 2);
    cr_expect_eq(json_array_size(json_object_get(json_array_get(sss, 0), "spans")), 2);
    cr_expect_eq(msb_span_processor_exported(proc), 3);
    json_decref(root);
    msb_tracer_provider_free(pb);
    msb_tracer_provider_free(pa);
}

Test(trace_export, log_exporter_writes_one_json_line_per_span)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    msb_span_exporter_t *exp = NULL;
    cr_assert_eq(msb_trace_log_exporter_new(fds[1], &exp), MSB_OK);
    msb_span_processor_t *proc = NULL;
    cr_assert_eq(msb_trace_simple_processor_new(exp, &proc), MSB_OK);
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "logsvc";
    o.processor = proc;
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, "lib", "1");
    msb_span_t *parent = msb_span_start(t, "one", NULL);
    msb_span_activate(parent);
    msb_span_t *child = msb_span_start(t, "two", NULL);
    msb_span_set_str(child, "k", "line\nbreak");
    msb_span_end(child);
    msb_span_end(parent);
    msb_tracer_provider_free(p);
    close(fds[1]);
    char buf[8192];
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    char *save = NULL;
    int lines = 0;
    for (char *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        cr_assert_not_null(j, "line %d: %s", lines, jerr.text);
        json_t *scope = json_object_get(j, "scope");
        cr_expect_str_eq(json_string_value(json_object_get(scope, "name")), "lib");
        json_t *res = json_object_get(json_object_get(j, "resource"), "attributes");
        cr_expect_str_eq(
            json_string_value(json_object_get(attr(res, "service.name"), "stringValue")), "logsvc");
        json_object_del(j, "scope");
        json_object_del(j, "resource");
        check_span(j);
        cr_expect_str_eq(json_string_value(json_object_get(j, "name")), lines == 0 ? "two" : "one");
        json_decref(j);
        lines++;
    }
    cr_expect_eq(lines, 2);
    cr_expect_eq(msb_trace_log_exporter_new(-1, &exp), MSB_EINVAL);
}
