/* Extract and inject through a carrier: the W3C test-suite behaviours that involve several
 * header fields (duplicates, multiple tracestate fields, tracestate failure isolation), B3
 * fallback, baggage. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "msb/trace.h"

typedef struct headers {
    int n;
    char name[16][32];
    char value[16][600];
} headers_t;

static bool h_get(void *user, const char *name, size_t index, const char **value, size_t *len)
{
    headers_t *h = user;
    size_t seen = 0;
    for (int i = 0; i < h->n; i++) {
        if (strcasecmp(h->name[i], name) == 0 && seen++ == index) {
            *value = h->value[i];
            *len = strlen(h->value[i]);
            return true;
        }
    }
    return false;
}

static msb_status_t h_set(void *user, const char *name, const char *value)
{
    headers_t *h = user;
    if (h->n == 16) {
        return MSB_ELIMIT;
    }
    snprintf(h->name[h->n], sizeof(h->name[0]), "%s", name);
    snprintf(h->value[h->n], sizeof(h->value[0]), "%s", value);
    h->n++;
    return MSB_OK;
}

static void add(headers_t *h, const char *name, const char *value)
{
    h_set(h, name, value);
}

static const char *find(headers_t *h, const char *name)
{
    const char *v;
    size_t n;
    return h_get(h, name, 0, &v, &n) ? v : NULL;
}

#define TP "00-12345678901234567890123456789012-1234567890123456-01"

Test(trace_propagate, w3c_extract)
{
    headers_t h = {0};
    msb_trace_carrier_t c = {h_get, h_set, &h};
    msb_trace_ctx_t ctx;
    cr_expect_eq(msb_trace_extract(&c, MSB_TRACE_W3C, &ctx, NULL), MSB_ENOTFOUND);
    add(&h, "TrAcEpArEnT", TP);
    add(&h, "tracestate", "foo=1,bar=2");
    add(&h, "TRACESTATE", "rojo=1");
    cr_assert_eq(msb_trace_extract(&c, MSB_TRACE_W3C, &ctx, NULL), MSB_OK);
    cr_expect(ctx.remote);
    cr_expect_eq(memcmp(ctx.tracestate, "foo=1,bar=2,rojo=1", ctx.tracestate_len), 0);
}

Test(trace_propagate, duplicated_traceparent_is_invalid)
{
    headers_t h = {0};
    msb_trace_carrier_t c = {h_get, h_set, &h};
    add(&h, "traceparent", "00-12345678901234567890123456789011-1234567890123456-01");
    add(&h, "traceparent", TP);
    msb_trace_ctx_t ctx;
    cr_expect_eq(msb_trace_extract(&c, MSB_TRACE_W3C, &ctx, NULL), MSB_EPROTO);
    cr_expect(!msb_trace_ctx_valid(&ctx));
}

Test(trace_propagate, bad_tracestate_keeps_traceparent)
{
    headers_t h = {0};
    msb_trace_carrier_t c = {h_get, h_set, &h};
    add(&h, "traceparent", TP);
    add(&h, "tracestate", "foo=1");
    add(&h, "tracestate", "FOO=2");
    msb_trace_ctx_t ctx;
    cr_assert_eq(msb_trace_extract(&c, MSB_TRACE_W3C, &ctx, NULL), MSB_OK);
    cr_expect(msb_trace_ctx_valid(&ctx));
    cr_expect_eq(ctx.tracestate_len, 0);
}

Test(trace_propagate, tracestate_without_traceparent_is_ignored)
{
    headers_t h = {0};
    msb_trace_carrier_t c = {h_get, h_set, &h};
    add(&h, "tracestate", "foo=1");
    add(&h, "traceparent", "ff-12345678901234567890123456789012-1234567890123456-01");
    msb_trace_ctx_t ctx;
    cr_expect_eq(msb_trace_extract(&c, MSB_TRACE_W3C, &ctx, NULL), MSB_EPROTO);
    cr_expect_eq(ctx.tracestate_len, 0);
}

Test(trace_propagate, b3_fallback_single_and_multi)
{
    headers_t h = {0};
    msb_trace_carrier_t c = {h_get, h_set, &h};
    add(&h, "X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124");
    add(&h, "X-B3-SpanId", "a2fb4a1d1a96d312");
    add(&h, "X-B3-Sampled", "1");
    msb_trace_ctx_t ctx;
    cr_expect_eq(msb_trace_extract(&c, MSB_TRACE_W3C, &ctx, NULL), MSB_ENOTFOUND);
    cr_assert_eq(msb_trace_extract(&c, MSB_TRACE_W3C | MSB_TRACE_B3, &ctx, NULL), MSB_OK);
    char tid[33];
    msb_trace_ctx_trace_id_hex(&ctx, tid);
    cr_expect_str_eq(tid, "463ac35c9f6413ad48485a3953bb6124");
    cr_expect(msb_trace_ctx_sampled(&ctx));
    add(&h, "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0");
    cr_assert_eq(msb_trace_extract(&c, MSB_TRACE_B3, &ctx, NULL), MSB_OK);
    msb_trace_ctx_trace_id_hex(&ctx, tid);
    cr_expect_str_eq(tid, "80f198ee56343ba864fe8b2a57d3eff7", "b3 takes precedence");
    cr_expect(!msb_trace_ctx_sampled(&ctx));
    add(&h, "traceparent", TP);
    cr_assert_eq(msb_trace_extract(&c, MSB_TRACE_W3C | MSB_TRACE_B3, &ctx, NULL), MSB_OK);
    msb_trace_ctx_trace_id_hex(&ctx, tid);
    cr_expect_str_eq(tid, "12345678901234567890123456789012", "W3C first");
    headers_t bad = {0};
    msb_trace_carrier_t cb = {h_get, h_set, &bad};
    add(&bad, "b3", "garbage");
    cr_expect_eq(msb_trace_extract(&cb, MSB_TRACE_B3, &ctx, NULL), MSB_EPROTO);
    headers_t deny = {0};
    msb_trace_carrier_t cd = {h_get, h_set, &deny};
    add(&deny, "b3", "1");
    cr_expect_eq(msb_trace_extract(&cd, MSB_TRACE_B3, &ctx, NULL), MSB_ENOTFOUND);
    cr_expect(msb_trace_ctx_sampled(&ctx), "the decision is kept without ids");
}

Test(trace_propagate, inject_all_formats_and_round_trip)
{
    headers_t in = {0};
    msb_trace_carrier_t ci = {h_get, h_set, &in};
    add(&in, "traceparent", TP);
    add(&in, "tracestate", "congo=t61rcWkgMzE");
    add(&in, "baggage", "userId=alice,serverNode=DF%2028");
    msb_baggage_t *bag = NULL;
    cr_assert_eq(msb_baggage_new(&bag), MSB_OK);
    msb_trace_ctx_t ctx;
    cr_assert_eq(msb_trace_extract(&ci, MSB_TRACE_W3C, &ctx, bag), MSB_OK);
    cr_expect_eq(msb_baggage_count(bag), 2);
    headers_t out = {0};
    msb_trace_carrier_t co = {h_get, h_set, &out};
    cr_assert_eq(
        msb_trace_inject(&ctx, &co, MSB_TRACE_W3C | MSB_TRACE_B3 | MSB_TRACE_B3_MULTI, bag),
        MSB_OK);
    cr_expect_str_eq(find(&out, "traceparent"), TP);
    cr_expect_str_eq(find(&out, "tracestate"), "congo=t61rcWkgMzE");
    cr_expect_str_eq(find(&out, "b3"), "12345678901234567890123456789012-1234567890123456-1");
    cr_expect_str_eq(find(&out, "X-B3-TraceId"), "12345678901234567890123456789012");
    cr_expect_str_eq(find(&out, "X-B3-SpanId"), "1234567890123456");
    cr_expect_str_eq(find(&out, "X-B3-Sampled"), "1");
    cr_expect_str_eq(find(&out, "baggage"), "userId=alice,serverNode=DF%2028");
    msb_baggage_free(bag);
    headers_t none = {0};
    msb_trace_carrier_t cn = {h_get, h_set, &none};
    msb_trace_ctx_t invalid = MSB_TRACE_CTX_INIT;
    cr_expect_eq(msb_trace_inject(&invalid, &cn, MSB_TRACE_W3C, NULL), MSB_OK);
    cr_expect_eq(none.n, 0);
    headers_t full = {.n = 16};
    msb_trace_carrier_t cf = {h_get, h_set, &full};
    cr_expect_eq(msb_trace_inject(&ctx, &cf, MSB_TRACE_W3C, NULL), MSB_ELIMIT,
                 "the carrier's error is returned");
    cr_expect_eq(msb_trace_inject(&ctx, NULL, MSB_TRACE_W3C, NULL), MSB_EINVAL);
    cr_expect_eq(msb_trace_extract(NULL, MSB_TRACE_W3C, &ctx, NULL), MSB_EINVAL);
}

Test(trace_propagate, a_server_span_continues_the_incoming_trace)
{
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "svc";
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    headers_t in = {0};
    msb_trace_carrier_t ci = {h_get, h_set, &in};
    add(&in, "traceparent", "00-12345678901234567890123456789012-1234567890123456-02");
    msb_trace_ctx_t parent;
    cr_assert_eq(msb_trace_extract(&ci, MSB_TRACE_W3C, &parent, NULL), MSB_OK);
    msb_span_opts_t so = MSB_SPAN_OPTS_INIT;
    so.parent = &parent;
    msb_span_t *s = msb_span_start(t, "server", &so);
    msb_trace_ctx_t ctx;
    msb_span_get_ctx(s, &ctx);
    headers_t out = {0};
    msb_trace_carrier_t co = {h_get, h_set, &out};
    cr_assert_eq(msb_trace_inject(&ctx, &co, MSB_TRACE_W3C, NULL), MSB_OK);
    const char *tp = find(&out, "traceparent");
    cr_assert_not_null(tp);
    cr_expect_eq(strncmp(tp, "00-12345678901234567890123456789012-", 36), 0, "same trace");
    cr_expect_neq(strncmp(tp + 36, "1234567890123456", 16), 0, "new parent-id");
    /* Level 2: the random flag of the incoming trace is propagated; the span was not sampled
     * (the parent was not), so the sampled bit is 0 */
    cr_expect_str_eq(tp + 53, "02");
    msb_span_end(s);
    msb_tracer_provider_free(p);
}
