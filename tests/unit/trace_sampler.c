/* Samplers: the ratio sampler agrees with OpenTelemetry Go's TraceIdRatioBased on the same trace
 * ids (golden decisions produced by go.opentelemetry.io/otel/sdk v1.47.0), parent-based rules. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "msb/trace.h"

typedef struct golden {
    double ratio;
    const char *trace_id;
    bool sampled;
} golden_t;

static const golden_t go_sdk[] = {
    {0.25, "4bf92f3577b34da6a3ce929d0e0e4736", false},
    {0.25, "0af7651916cd43dd8448eb211c80319c", false},
    {0.25, "00000000000000000000000000000001", true},
    {0.25, "ffffffffffffffffffffffffffffffff", false},
    {0.25, "12345678901234561fffffffffffffff", true},
    {0.25, "12345678901234562000000000000000", true},
    {0.25, "1234567890123456200000000000001e", true},
    {0.25, "12345678901234564000000000000000", false},
    {0.25, "abcdefabcdefabcd7fffffffffffffff", false},
    {0.25, "abcdefabcdefabcd8000000000000000", false},
    {0.25, "0123456789abcdef0123456789abcdef", true},
    {0.25, "fedcba9876543210fedcba9876543210", false},
    {0.5, "4bf92f3577b34da6a3ce929d0e0e4736", false},
    {0.5, "12345678901234564000000000000000", true},
    {0.5, "abcdefabcdefabcd7fffffffffffffff", true},
    {0.5, "abcdefabcdefabcd8000000000000000", false},
    {0.5, "0123456789abcdef0123456789abcdef", true},
    {0.001, "00000000000000000000000000000001", true},
    {0.001, "12345678901234561fffffffffffffff", false},
    {0.001, "0123456789abcdef0123456789abcdef", false},
};

static void parse_id(const char *hex, uint8_t out[16])
{
    char tp[64];
    snprintf(tp, sizeof(tp), "00-%s-0000000000000001-00", hex);
    msb_trace_ctx_t c;
    cr_assert_eq(msb_traceparent_parse(tp, strlen(tp), &c, NULL), MSB_OK);
    memcpy(out, c.trace_id, 16);
}

Test(trace_sampler, ratio_matches_opentelemetry_go)
{
    for (size_t i = 0; i < sizeof(go_sdk) / sizeof(go_sdk[0]); i++) {
        msb_sampler_t s = {MSB_SAMPLER_RATIO, go_sdk[i].ratio, NULL, NULL};
        uint8_t id[16];
        parse_id(go_sdk[i].trace_id, id);
        msb_trace_decision_t d = msb_sampler_decide(&s, NULL, id, "x", MSB_SPAN_INTERNAL, NULL, 0);
        cr_expect_eq(d == MSB_TRACE_RECORD_AND_SAMPLE, go_sdk[i].sampled, "%g %s", go_sdk[i].ratio,
                     go_sdk[i].trace_id);
    }
}

Test(trace_sampler, ratio_is_consistent_and_proportional)
{
    /* The same id gives the same decision at the same ratio; a higher ratio samples a superset. */
    msb_sampler_t lo = {MSB_SAMPLER_RATIO, 0.1, NULL, NULL};
    msb_sampler_t hi = {MSB_SAMPLER_RATIO, 0.3, NULL, NULL};
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "t";
    o.sampler = lo;
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    int n_lo = 0;
    int n = 20000;
    for (int i = 0; i < n; i++) {
        msb_span_t *s = msb_span_start(t, "x", NULL);
        msb_trace_ctx_t c;
        msb_span_get_ctx(s, &c);
        bool sampled = msb_trace_ctx_sampled(&c);
        cr_assert_eq(sampled, msb_sampler_decide(&lo, NULL, c.trace_id, "x", 1, NULL, 0) != 0);
        if (sampled) {
            n_lo++;
            cr_assert_neq(msb_sampler_decide(&hi, NULL, c.trace_id, "x", 1, NULL, 0),
                          MSB_TRACE_DROP);
        }
        msb_span_end(s);
    }
    /* 10% of 20000 = 2000, sd ~42: 6 sd either side */
    cr_expect(n_lo > 1750 && n_lo < 2250, "sampled %d of %d", n_lo, n);
    msb_tracer_provider_free(p);
}

Test(trace_sampler, edges_and_custom)
{
    uint8_t id[16];
    parse_id("ffffffffffffffffffffffffffffffff", id);
    msb_sampler_t one = {MSB_SAMPLER_RATIO, 1.0, NULL, NULL};
    msb_sampler_t zero = {MSB_SAMPLER_RATIO, 0.0, NULL, NULL};
    msb_sampler_t on = MSB_SAMPLER_ON;
    msb_sampler_t off = MSB_SAMPLER_OFF;
    cr_expect_eq(msb_sampler_decide(&one, NULL, id, "x", 1, NULL, 0), MSB_TRACE_RECORD_AND_SAMPLE);
    cr_expect_eq(msb_sampler_decide(&zero, NULL, id, "x", 1, NULL, 0), MSB_TRACE_DROP);
    cr_expect_eq(msb_sampler_decide(&on, NULL, id, "x", 1, NULL, 0), MSB_TRACE_RECORD_AND_SAMPLE);
    cr_expect_eq(msb_sampler_decide(&off, NULL, id, "x", 1, NULL, 0), MSB_TRACE_DROP);
}

static msb_trace_decision_t by_name(void *user, const msb_trace_ctx_t *parent,
                                    const uint8_t trace_id[16], const char *name,
                                    msb_span_kind_t kind, const msb_attr_t *attrs, size_t nattrs)
{
    (void)parent;
    (void)trace_id;
    (*(int *)user)++;
    if (strcmp(name, "health") == 0) {
        return MSB_TRACE_DROP;
    }
    if (kind == MSB_SPAN_CLIENT) {
        return MSB_TRACE_RECORD_ONLY;
    }
    return nattrs > 0 && strcmp(attrs[0].key, "keep") == 0 ? MSB_TRACE_RECORD_AND_SAMPLE
                                                           : MSB_TRACE_DROP;
}

Test(trace_sampler, custom_sampler_sees_name_kind_and_start_attributes)
{
    int calls = 0;
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "t";
    o.sampler = (msb_sampler_t){MSB_SAMPLER_CUSTOM, 0, by_name, &calls};
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    msb_span_t *s = msb_span_start(t, "health", NULL);
    cr_expect(!msb_span_is_recording(s));
    msb_span_end(s);
    msb_span_opts_t so = MSB_SPAN_OPTS_INIT;
    so.kind = MSB_SPAN_CLIENT;
    s = msb_span_start(t, "call", &so);
    msb_trace_ctx_t c;
    msb_span_get_ctx(s, &c);
    cr_expect(msb_span_is_recording(s));
    cr_expect(!msb_trace_ctx_sampled(&c), "record-only: not sampled");
    msb_span_end(s);
    msb_attr_t keep = MSB_ATTR_BOOL("keep", true);
    so.kind = MSB_SPAN_SERVER;
    so.attrs = &keep;
    so.nattrs = 1;
    s = msb_span_start(t, "req", &so);
    msb_span_get_ctx(s, &c);
    cr_expect(msb_trace_ctx_sampled(&c));
    cr_expect_eq(msb_span_attr_count(s), 1);
    msb_span_end(s);
    cr_expect_eq(calls, 3);
    msb_tracer_provider_free(p);
}

Test(trace_sampler, parent_based_follows_the_parent)
{
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "t";
    o.sampler = (msb_sampler_t)MSB_SAMPLER_OFF; /* roots are never sampled */
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    const char *sampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const char *unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    msb_trace_ctx_t remote;
    cr_assert_eq(msb_traceparent_parse(sampled, strlen(sampled), &remote, NULL), MSB_OK);
    msb_span_opts_t so = MSB_SPAN_OPTS_INIT;
    so.parent = &remote;
    msb_span_t *s = msb_span_start(t, "child", &so);
    cr_expect(msb_span_is_recording(s), "remote sampled parent: sampled");
    msb_span_activate(s);
    msb_span_t *local = msb_span_start(t, "grandchild", NULL);
    cr_expect(msb_span_is_recording(local), "local sampled parent: sampled");
    msb_span_end(local);
    msb_span_end(s);
    cr_assert_eq(msb_traceparent_parse(unsampled, strlen(unsampled), &remote, NULL), MSB_OK);
    s = msb_span_start(t, "child", &so);
    cr_expect(!msb_span_is_recording(s), "remote unsampled parent: dropped");
    msb_trace_ctx_t c;
    msb_span_get_ctx(s, &c);
    cr_expect(msb_trace_ctx_valid(&c), "a dropped span still has ids to propagate");
    msb_span_end(s);
    s = msb_span_start(t, "root", NULL);
    cr_expect(!msb_span_is_recording(s), "root: the root sampler");
    msb_span_end(s);
    msb_tracer_provider_free(p);
    /* without parent_based, the root sampler decides for children too */
    o.parent_based = false;
    o.sampler = (msb_sampler_t)MSB_SAMPLER_ON;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    t = msb_tracer_provider_tracer(p, NULL, NULL);
    s = msb_span_start(t, "child", &so);
    cr_expect(msb_span_is_recording(s));
    msb_span_end(s);
    msb_tracer_provider_free(p);
}

Test(trace_sampler, invalid_options_are_named)
{
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "t";
    msb_tracer_provider_t *p = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    o.sampler = (msb_sampler_t){MSB_SAMPLER_RATIO, 1.5, NULL, NULL};
    cr_expect_eq(msb_tracer_provider_new(&o, &p, &err), MSB_EINVAL);
    cr_expect_neq(strstr(err.message, "sampler.ratio"), NULL, "%s", err.message);
    o.sampler = (msb_sampler_t)MSB_SAMPLER_ON;
    o.local_parent_sampled = (msb_sampler_t){MSB_SAMPLER_CUSTOM, 0, NULL, NULL};
    cr_expect_eq(msb_tracer_provider_new(&o, &p, &err), MSB_EINVAL);
    cr_expect_neq(strstr(err.message, "local_parent_sampled"), NULL, "%s", err.message);
    o.local_parent_sampled = (msb_sampler_t)MSB_SAMPLER_ON;
    o.remote_parent_sampled = (msb_sampler_t){(msb_sampler_kind_t)42, 0, NULL, NULL};
    cr_expect_eq(msb_tracer_provider_new(&o, &p, &err), MSB_EINVAL);
    cr_expect_neq(strstr(err.message, "remote_parent_sampled"), NULL, "%s", err.message);
    cr_expect_eq(p, NULL);
}
