/* Prometheus metrics of outbound calls: durations by final status, attempts, rejections,
 * calls in flight, exemplars. */
#include <criterion/criterion.h>
#include <string.h>

#include "msb/client.h"
#include "msb/metrics_scrape.h"
#include "support/fault_server.h"

static fault_server_t srv;
static msb_client_t *cl;
static msb_metrics_t *reg;
static msb_client_metrics_t *cm;

static void setup(void)
{
    cr_assert_eq(fault_server_start(&srv), 0);
    cr_assert_eq(msb_client_new(NULL, &cl, NULL), MSB_OK);
    cr_assert_eq(msb_metrics_new(NULL, &reg, NULL), MSB_OK);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_metrics_new(reg, &cm, &err), MSB_OK, "%s", err.message);
}

static void teardown(void)
{
    msb_client_metrics_free(cm);
    msb_metrics_free(reg);
    msb_client_free(cl);
    fault_server_stop(&srv);
}

TestSuite(client_metrics, .init = setup, .fini = teardown, .timeout = 60);

static char *scrape(msb_metrics_format_t f)
{
    char *text = NULL;
    size_t len = 0;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_metrics_render(reg, f, &text, &len, &err), MSB_OK, "%s", err.message);
    return text;
}

#define assert_line(text, line)                                                                    \
    cr_assert_not_null(strstr((text), (line)), "no \"%s\" in:\n%s", (line), (text))

static msb_status_t get(msb_client_upstream_t *u, const char *path)
{
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = path;
    msb_client_response_t *r = NULL;
    msb_status_t rc = msb_client_do(cl, &req, &r, NULL);
    msb_client_response_free(r);
    return rc;
}

Test(client_metrics, calls_attempts_and_rejections)
{
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    ro.initial_backoff_ns = MSB_MSEC;
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.name = "users";
    o.base_url = srv.base;
    o.retry = &ro;
    o.metrics = cm;
    msb_client_upstream_t *u = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_upstream_new(&o, &u, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(get(u, "/ok"), MSB_OK);
    cr_assert_eq(get(u, "/ok"), MSB_OK);
    cr_assert_eq(get(u, "/status?code=404"), MSB_OK);
    cr_assert_eq(get(u, "/flaky?key=m&fail=1&code=503"), MSB_OK);
    cr_assert_eq(get(u, "/reset"), MSB_EUNAVAIL);
    msb_breaker_transition(msb_client_upstream_breaker(u), MSB_BREAKER_FORCED_OPEN, NULL);
    cr_assert_eq(get(u, "/ok"), MSB_EREJECTED);

    char *t = scrape(MSB_METRICS_FORMAT_TEXT);
    assert_line(t, "http_client_request_duration_seconds_count{upstream=\"users\",method=\"GET\","
                   "status=\"200\"} 3\n");
    assert_line(t, "http_client_request_duration_seconds_count{upstream=\"users\",method=\"GET\","
                   "status=\"404\"} 1\n");
    assert_line(t, "http_client_request_duration_seconds_count{upstream=\"users\",method=\"GET\","
                   "status=\"unavailable\"} 1\n");
    assert_line(t, "http_client_request_duration_seconds_count{upstream=\"users\",method=\"GET\","
                   "status=\"rejected\"} 1\n");
    assert_line(t, "http_client_attempts_total{upstream=\"users\",method=\"GET\",status=\"200\"} "
                   "3\n");
    assert_line(t, "http_client_attempts_total{upstream=\"users\",method=\"GET\",status=\"503\"} "
                   "1\n");
    assert_line(t, "http_client_attempts_total{upstream=\"users\",method=\"GET\","
                   "status=\"connection_closed\"} 3\n");
    assert_line(t, "http_client_rejected_total{upstream=\"users\",reason=\"breaker\"} 1\n");
    assert_line(t, "http_client_rejected_total{upstream=\"users\",reason=\"bulkhead\"} 0\n");
    assert_line(t, "http_client_requests_in_flight{upstream=\"users\"} 0\n");
    msb_metrics_text_free(t);
    msb_client_upstream_free(u);
}

Test(client_metrics, exemplars_carry_the_trace)
{
    msb_tracer_provider_opts_t po = MSB_TRACER_PROVIDER_OPTS_INIT;
    po.service_name = "metrics-test";
    po.log_hook = false;
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&po, &p, NULL), MSB_OK);
    msb_trace_set_global_provider(p);
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.name = "orders";
    o.base_url = srv.base;
    o.metrics = cm;
    msb_client_upstream_t *u = NULL;
    cr_assert_eq(msb_client_upstream_new(&o, &u, NULL), MSB_OK);
    msb_span_t *parent = msb_span_start(msb_trace_tracer("t", NULL), "handler", NULL);
    msb_span_activate(parent);
    cr_assert_eq(get(u, "/ok"), MSB_OK);
    msb_trace_ctx_t ctx;
    msb_span_get_ctx(parent, &ctx);
    char trace_id[33];
    msb_trace_ctx_trace_id_hex(&ctx, trace_id);
    msb_span_end(parent);
    char *t = scrape(MSB_METRICS_FORMAT_OPENMETRICS);
    char want[96];
    snprintf(want, sizeof(want), "# {trace_id=\"%s\",span_id=\"", trace_id);
    assert_line(t, want);
    msb_metrics_text_free(t);
    msb_client_upstream_free(u);
    msb_tracer_provider_free(p);
}

Test(client_metrics, one_set_of_families_per_registry)
{
    msb_client_metrics_t *again = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_metrics_new(reg, &again, &err), MSB_EEXIST);
    cr_assert_not_null(strstr(err.message, "client: metrics: "), "%s", err.message);
    cr_assert_eq(msb_client_metrics_new(NULL, &again, &err), MSB_EINVAL);
    msb_client_metrics_free(NULL);
    /* freeing unregisters: a new set can be made */
    msb_client_metrics_free(cm);
    cr_assert_eq(msb_client_metrics_new(reg, &cm, &err), MSB_OK, "%s", err.message);
}
