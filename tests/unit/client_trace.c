/* Trace context: the client span per attempt (OTel HTTP attributes), traceparent injected from
 * the current span or an explicit context, on both paths. */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <string.h>

#include "msb/client.h"
#include "support/fault_server.h"

static fault_server_t srv;
static msb_tracer_provider_t *provider;
static msb_tracer_t *tracer;

/* The ended client spans, copied out. */
typedef struct seen {
    char name[32];
    char trace_id[33];
    char span_id[17];
    char parent_id[17];
    int kind;
    int64_t status_code;
    int64_t resend;
    char url[256];
    char method[16];
    char server[64];
    char error_type[64];
    int span_status;
} seen_t;

static seen_t spans[16];
static int nspans;

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    }
}

static void on_end(void *user, const msb_span_t *span)
{
    (void)user;
    if (msb_span_kind(span) != MSB_SPAN_CLIENT || nspans == 16) {
        return;
    }
    seen_t *s = &spans[nspans++];
    memset(s, 0, sizeof(*s));
    s->resend = -1;
    snprintf(s->name, sizeof(s->name), "%s", msb_span_name(span));
    msb_trace_ctx_t ctx;
    msb_span_get_ctx(span, &ctx);
    msb_trace_ctx_trace_id_hex(&ctx, s->trace_id);
    msb_trace_ctx_span_id_hex(&ctx, s->span_id);
    uint8_t parent[8];
    if (msb_span_parent_id(span, parent)) {
        hex(parent, 8, s->parent_id);
    }
    s->kind = msb_span_kind(span);
    s->span_status = msb_span_status(span, NULL);
    for (size_t i = 0; i < msb_span_attr_count(span); i++) {
        msb_attr_t a;
        cr_assert_eq(msb_span_attr(span, i, &a), MSB_OK);
        if (strcmp(a.key, "http.response.status_code") == 0) {
            s->status_code = a.v.i;
        } else if (strcmp(a.key, "http.request.resend_count") == 0) {
            s->resend = a.v.i;
        } else if (strcmp(a.key, "url.full") == 0) {
            snprintf(s->url, sizeof(s->url), "%s", a.v.s);
        } else if (strcmp(a.key, "http.request.method") == 0) {
            snprintf(s->method, sizeof(s->method), "%s", a.v.s);
        } else if (strcmp(a.key, "server.address") == 0) {
            snprintf(s->server, sizeof(s->server), "%s", a.v.s);
        } else if (strcmp(a.key, "error.type") == 0) {
            snprintf(s->error_type, sizeof(s->error_type), "%s", a.v.s);
        }
    }
}

static void setup(void)
{
    cr_assert_eq(fault_server_start(&srv), 0);
    msb_span_processor_t *proc = NULL;
    cr_assert_eq(msb_trace_processor_new(on_end, NULL, &proc), MSB_OK);
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "client-test";
    o.processor = proc;
    o.log_hook = false;
    cr_assert_eq(msb_tracer_provider_new(&o, &provider, NULL), MSB_OK);
    msb_trace_set_global_provider(provider);
    tracer = msb_tracer_provider_tracer(provider, "test", NULL);
    nspans = 0;
}

static void teardown(void)
{
    msb_tracer_provider_free(provider);
    fault_server_stop(&srv);
}

TestSuite(client_trace, .init = setup, .fini = teardown, .timeout = 60);

static msb_client_upstream_t *upstream(void)
{
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    ro.initial_backoff_ns = MSB_MSEC;
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.base_url = srv.base;
    o.retry = &ro;
    msb_client_upstream_t *u = NULL;
    cr_assert_eq(msb_client_upstream_new(&o, &u, NULL), MSB_OK);
    return u;
}

/* traceparent of the last request the server saw. */
static void sent_traceparent(char *out, size_t size)
{
    char head[8192];
    fault_server_last(&srv, head, sizeof(head));
    fs_header_value(head, "traceparent", out, size);
}

Test(client_trace, the_current_span_is_the_parent)
{
    msb_client_t *cl = NULL;
    cr_assert_eq(msb_client_new(NULL, &cl, NULL), MSB_OK);
    msb_client_upstream_t *u = upstream();
    msb_span_t *parent = msb_span_start(tracer, "handler", NULL);
    msb_span_activate(parent);
    msb_trace_ctx_t pctx;
    msb_span_get_ctx(parent, &pctx);
    char trace_id[33];
    char parent_id[17];
    msb_trace_ctx_trace_id_hex(&pctx, trace_id);
    msb_trace_ctx_span_id_hex(&pctx, parent_id);

    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/ok?q=secret";
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK, "%s", err.message);
    msb_client_response_free(r);
    msb_span_end(parent);

    cr_assert_eq(nspans, 1);
    seen_t *s = &spans[0];
    cr_assert_str_eq(s->name, "GET");
    cr_assert_str_eq(s->trace_id, trace_id, "same trace");
    cr_assert_str_eq(s->parent_id, parent_id, "child of the current span");
    cr_assert_eq(s->status_code, 200);
    cr_assert_str_eq(s->method, "GET");
    cr_assert_str_eq(s->server, "127.0.0.1");
    char url[128];
    snprintf(url, sizeof(url), "%s/ok?q=REDACTED", srv.base);
    cr_assert_str_eq(s->url, url);
    cr_assert_eq(s->resend, -1, "no resend count on a first attempt");
    cr_assert_str_eq(s->error_type, "");

    char tp[128];
    sent_traceparent(tp, sizeof(tp));
    char want[64];
    snprintf(want, sizeof(want), "00-%s-%s-0", trace_id, s->span_id);
    cr_assert_eq(strncmp(tp, want, strlen(want)), 0, "the server sees the client span's ids: %s",
                 tp);
    cr_assert(tp[54] == '1' || tp[54] == '3', "sampled: %s", tp);
    msb_client_upstream_free(u);
    msb_client_free(cl);
}

Test(client_trace, one_span_per_attempt_with_error_type)
{
    msb_client_t *cl = NULL;
    cr_assert_eq(msb_client_new(NULL, &cl, NULL), MSB_OK);
    msb_client_upstream_t *u = upstream();
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/flaky?key=t&fail=1&code=503";
    msb_client_response_t *r = NULL;
    cr_assert_eq(msb_client_do(cl, &req, &r, NULL), MSB_OK);
    msb_client_response_free(r);
    cr_assert_eq(nspans, 2);
    cr_assert_eq(spans[0].status_code, 503);
    cr_assert_str_eq(spans[0].error_type, "503");
    cr_assert_eq(spans[0].span_status, MSB_SPAN_ERROR);
    cr_assert_eq(spans[1].status_code, 200);
    cr_assert_eq(spans[1].resend, 1);
    cr_assert_str_eq(spans[0].parent_id, "", "no current span: each attempt is a root");
    cr_assert_str_eq(spans[1].parent_id, "");
    /* under a parent, the attempts are siblings in its trace */
    msb_span_t *parent = msb_span_start(tracer, "handler", NULL);
    msb_span_activate(parent);
    req.url = "/flaky?key=t2&fail=1&code=503";
    cr_assert_eq(msb_client_do(cl, &req, &r, NULL), MSB_OK);
    msb_client_response_free(r);
    msb_span_end(parent);
    cr_assert_eq(nspans, 4);
    cr_assert_str_eq(spans[2].trace_id, spans[3].trace_id, "one trace for the call");
    cr_assert_str_eq(spans[2].parent_id, spans[3].parent_id);
    cr_assert_neq(spans[2].parent_id[0], '\0');
    req.url = "/reset";
    req.no_retry = true;
    cr_assert_eq(msb_client_do(cl, &req, &r, NULL), MSB_EUNAVAIL);
    cr_assert_str_eq(spans[4].error_type, "connection_closed");
    msb_client_upstream_free(u);
    msb_client_free(cl);
}

static bool loop_done;

static void on_done(msb_status_t st, msb_client_response_t *resp, const msb_error_t *err,
                    void *user)
{
    (void)err;
    cr_assert_eq(st, MSB_OK);
    msb_client_response_free(resp);
    loop_done = true;
    event_base_loopbreak(user);
}

Test(client_trace, an_explicit_parent_on_the_loop)
{
    struct event_base *base = event_base_new();
    msb_client_opts_t co = MSB_CLIENT_OPTS_INIT;
    co.base = base;
    co.tracer = tracer;
    co.trace_formats = MSB_TRACE_W3C | MSB_TRACE_B3;
    msb_client_t *cl = NULL;
    cr_assert_eq(msb_client_new(&co, &cl, NULL), MSB_OK);
    msb_client_upstream_t *u = upstream();
    msb_trace_ctx_t parent = MSB_TRACE_CTX_INIT;
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    cr_assert_eq(msb_traceparent_parse(tp, strlen(tp), &parent, NULL), MSB_OK);
    cr_assert_eq(msb_tracestate_parse("congo=t61rcWkgMzE", 17, &parent, NULL), MSB_OK);
    /* a current span on this thread must not win over the explicit parent */
    msb_span_t *other = msb_span_start(tracer, "other", NULL);
    msb_span_activate(other);
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/echo";
    req.trace_parent = &parent;
    cr_assert_eq(msb_client_send(cl, &req, on_done, base, NULL, NULL), MSB_OK);
    msb_span_end(other);
    event_base_dispatch(base);
    cr_assert(loop_done);
    cr_assert_eq(nspans, 1);
    cr_assert_str_eq(spans[0].trace_id, "0af7651916cd43dd8448eb211c80319c");
    cr_assert_str_eq(spans[0].parent_id, "b7ad6b7169203331");
    char head[8192];
    fault_server_last(&srv, head, sizeof(head));
    char v[128];
    fs_header_value(head, "tracestate", v, sizeof(v));
    cr_assert_str_eq(v, "congo=t61rcWkgMzE");
    fs_header_value(head, "b3", v, sizeof(v));
    char want[128];
    snprintf(want, sizeof(want), "0af7651916cd43dd8448eb211c80319c-%s-1", spans[0].span_id);
    cr_assert_str_eq(v, want);
    msb_client_upstream_free(u);
    msb_client_free(cl);
    event_base_free(base);
}

Test(client_trace, without_a_provider_the_parent_context_still_travels)
{
    msb_trace_set_global_provider(NULL);
    msb_client_t *cl = NULL;
    cr_assert_eq(msb_client_new(NULL, &cl, NULL), MSB_OK);
    msb_client_upstream_t *u = upstream();
    msb_trace_ctx_t parent = MSB_TRACE_CTX_INIT;
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    cr_assert_eq(msb_traceparent_parse(tp, strlen(tp), &parent, NULL), MSB_OK);
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/ok";
    req.trace_parent = &parent;
    msb_client_response_t *r = NULL;
    cr_assert_eq(msb_client_do(cl, &req, &r, NULL), MSB_OK);
    msb_client_response_free(r);
    char v[128];
    sent_traceparent(v, sizeof(v));
    cr_assert_str_eq(v, tp);
    cr_assert_eq(nspans, 0);
    /* and no context at all: no header */
    req.trace_parent = NULL;
    cr_assert_eq(msb_client_do(cl, &req, &r, NULL), MSB_OK);
    msb_client_response_free(r);
    sent_traceparent(v, sizeof(v));
    cr_assert_str_eq(v, "");
    msb_client_upstream_free(u);
    msb_client_free(cl);
}
