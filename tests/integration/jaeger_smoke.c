// msb-test: backends curl
/* Jaeger through libcurl: a trace exported over OTLP/HTTP (JSON) comes back through the query
 * API: the service is listed, the trace has both spans with their parent link, and a search by
 * service finds it. */
#include <criterion/criterion.h>

#include "it_otlp.h"

struct trace_wait {
    CURL *h;
    const char *trace_id;
};

static bool trace_stored(void *arg)
{
    struct trace_wait *w = arg;
    return it_jaeger_trace_spans(w->h, w->trace_id) == 2;
}

Test(jaeger_smoke, otlp_export_is_queryable, .timeout = 60)
{
    CURL *h = curl_easy_init();
    char service[96];
    char trace_id[33];
    char root[17];
    char child[17];
    msb_it_unique(service, sizeof(service), "it-jaeger");
    it_otlp_random_hex(trace_id, 16);
    it_otlp_random_hex(root, 8);
    it_otlp_random_hex(child, 8);

    it_http_resp_t r;
    bool ok = it_otlp_export(h, service, trace_id, root, child, &r);
    MSB_IT_REQUIRE("jaeger", r.code == CURLE_OK, "POST %s/v1/traces: %s", it_otlp_endpoint(),
                   r.error);
    cr_assert(ok, "OTLP export: HTTP %ld: %s", r.status, r.body != NULL ? r.body : "");
    it_http_resp_free(&r);

    struct trace_wait w = {h, trace_id};
    MSB_IT_REQUIRE("jaeger", msb_it_wait_until(trace_stored, &w, 15000, 100),
                   "trace %s not readable from %s within 15 s", trace_id, it_jaeger_query());

    json_t *services = it_jaeger_get(h, "/api/services");
    bool listed = false;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(services, "data"), i, v)
    {
        listed = listed || strcmp(json_string_value(v), service) == 0;
    }
    json_decref(services);
    cr_assert(listed, "service %s not in /api/services", service);

    char path[256];
    snprintf(path, sizeof(path), "/api/traces/%s", trace_id);
    json_t *root_json = it_jaeger_get(h, path);
    json_t *trace = json_array_get(json_object_get(root_json, "data"), 0);
    cr_assert_not_null(trace);
    json_t *span;
    int children = 0;
    json_array_foreach(json_object_get(trace, "spans"), i, span)
    {
        json_t *refs = json_object_get(span, "references");
        if (json_array_size(refs) == 1) {
            json_t *ref = json_array_get(refs, 0);
            cr_assert_str_eq(json_string_value(json_object_get(ref, "refType")), "CHILD_OF");
            cr_assert_str_eq(json_string_value(json_object_get(ref, "spanID")), root);
            cr_assert_str_eq(json_string_value(json_object_get(span, "spanID")), child);
            cr_assert_str_eq(json_string_value(json_object_get(span, "operationName")), "db query");
            children++;
        }
    }
    cr_assert_eq(children, 1, "one child span referencing the root");
    json_decref(root_json);

    snprintf(path, sizeof(path), "/api/traces?service=%s&limit=5", service);
    json_t *found = it_jaeger_get(h, path);
    cr_assert_eq(json_array_size(json_object_get(found, "data")), 1, "search by service");
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(found, "data"), 0), "traceID")),
                     trace_id);
    json_decref(found);
    curl_easy_cleanup(h);
}
