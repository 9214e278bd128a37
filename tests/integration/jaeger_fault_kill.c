// msb-test: backends curl
/* Jaeger killed with SIGKILL: exports fail while it is down (connection refused), the same
 * client's exports succeed again once it is back, and the new trace is queryable. Jaeger keeps
 * traces in memory here, so the ones from before the crash are gone. */
#include <criterion/criterion.h>

#include "it_otlp.h"

static void restore(void)
{
    msb_it_infra_restore("jaeger");
}

struct export_wait {
    CURL *h;
    const char *service;
    char trace_id[33];
};

static bool export_once(void *arg)
{
    struct export_wait *w = arg;
    char root[17];
    char child[17];
    it_otlp_random_hex(w->trace_id, 16);
    it_otlp_random_hex(root, 8);
    it_otlp_random_hex(child, 8);
    it_http_resp_t r;
    bool ok = it_otlp_export(w->h, w->service, w->trace_id, root, child, &r);
    it_http_resp_free(&r);
    return ok;
}

static bool stored(void *arg)
{
    struct export_wait *w = arg;
    return it_jaeger_trace_spans(w->h, w->trace_id) == 2;
}

Test(jaeger_fault, exports_resume_after_kill, .fini = restore, .timeout = 180)
{
    CURL *h = curl_easy_init();
    char service[96];
    msb_it_unique(service, sizeof(service), "it-jaeger-fault");
    struct export_wait w = {h, service, ""};
    MSB_IT_REQUIRE("jaeger", export_once(&w), "OTLP export to %s failed", it_otlp_endpoint());

    MSB_IT_INFRA("kill", "jaeger");
    it_http_resp_t r;
    char root[17] = "00f067aa0ba902b7";
    char child[17] = "00f067aa0ba902b8";
    cr_assert_not(it_otlp_export(h, service, w.trace_id, root, child, &r),
                  "an export must fail while Jaeger is down");
    cr_assert_eq(r.code, CURLE_COULDNT_CONNECT, "connection refused expected: %s", r.error);
    it_http_resp_free(&r);

    MSB_IT_INFRA("start", "jaeger");
    cr_assert(msb_it_wait_until(export_once, &w, 30000, 200),
              "exports did not succeed within 30 s of the restart");
    cr_assert(msb_it_wait_until(stored, &w, 15000, 100), "the new trace is not queryable");
    curl_easy_cleanup(h);
}
