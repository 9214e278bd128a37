/* Span lifecycle: ids, parents (current span and explicit context), attributes and limits,
 * events, links, status rules, timestamps, the no-op paths, and allocation failure. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msb/core.h"
#include "msb/trace.h"
#include "trace/internal.h"

typedef struct seen {
    int n;
    char names[16][64];
    msb_trace_ctx_t ctx[16];
    uint8_t parent[16][8];
    bool has_parent[16];
    int64_t start[16], end[16];
    size_t nattrs[16];
} seen_t;

static void collect(void *user, const msb_span_t *s)
{
    seen_t *seen = user;
    if (seen->n >= 16) {
        return;
    }
    int i = seen->n++;
    snprintf(seen->names[i], sizeof(seen->names[i]), "%s", msb_span_name(s));
    msb_span_get_ctx(s, &seen->ctx[i]);
    seen->has_parent[i] = msb_span_parent_id(s, seen->parent[i]);
    seen->start[i] = msb_span_start_ns(s);
    seen->end[i] = msb_span_end_ns(s);
    seen->nattrs[i] = msb_span_attr_count(s);
}

static msb_tracer_provider_t *provider(seen_t *seen, const msb_clock_t *clock, uint32_t max_attrs)
{
    msb_span_processor_t *proc = NULL;
    cr_assert_eq(msb_trace_processor_new(collect, seen, &proc), MSB_OK);
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "svc";
    o.service_version = "1.2.3";
    o.processor = proc;
    o.clock = clock;
    o.max_attributes = max_attrs;
    msb_tracer_provider_t *p = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, &err), MSB_OK, "%s", err.message);
    return p;
}

Test(trace_span, root_and_children_through_the_current_span)
{
    seen_t seen = {0};
    msb_tracer_provider_t *p = provider(&seen, NULL, 0);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, "test", "1");
    cr_expect_eq(msb_tracer_provider_tracer(p, "test", "1"), t, "tracers are cached by scope");
    cr_expect_neq(msb_tracer_provider_tracer(p, "test", "2"), t);
    msb_span_t *root = msb_span_start(t, "root", NULL);
    cr_expect_eq(msb_trace_current(), NULL);
    msb_span_activate(root);
    cr_expect_eq(msb_trace_current(), root);
    msb_span_t *child = msb_span_start(t, "child", NULL);
    msb_span_activate(child);
    msb_span_t *grandchild = msb_span_start(t, "grandchild", NULL);
    msb_span_end(grandchild);
    msb_span_end(child);
    cr_expect_eq(msb_trace_current(), root, "ending the current span pops it");
    msb_span_end(root);
    cr_expect_eq(msb_trace_current(), NULL);
    cr_assert_eq(seen.n, 3);
    cr_expect_str_eq(seen.names[0], "grandchild");
    cr_expect_str_eq(seen.names[2], "root");
    cr_expect(!seen.has_parent[2]);
    cr_expect(seen.has_parent[1] && seen.has_parent[0]);
    cr_expect_eq(memcmp(seen.parent[1], seen.ctx[2].span_id, 8), 0, "child -> root");
    cr_expect_eq(memcmp(seen.parent[0], seen.ctx[1].span_id, 8), 0, "grandchild -> child");
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(memcmp(seen.ctx[i].trace_id, seen.ctx[2].trace_id, 16), 0);
        cr_expect(msb_trace_ctx_valid(&seen.ctx[i]));
        cr_expect_eq(seen.ctx[i].flags, MSB_TRACE_FLAG_SAMPLED | MSB_TRACE_FLAG_RANDOM);
        cr_expect_geq(seen.end[i], seen.start[i]);
    }
    cr_expect_neq(memcmp(seen.ctx[0].span_id, seen.ctx[1].span_id, 8), 0);
    msb_tracer_provider_free(p);
}

Test(trace_span, out_of_order_end_and_deactivate)
{
    seen_t seen = {0};
    msb_tracer_provider_t *p = provider(&seen, NULL, 0);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    msb_span_t *a = msb_span_start(t, "a", NULL);
    msb_span_activate(a);
    msb_span_t *b = msb_span_start(t, "b", NULL);
    msb_span_activate(b);
    msb_span_t *c = msb_span_start(t, "c", NULL);
    msb_span_activate(c);
    msb_span_end(b); /* from the middle of the stack */
    cr_expect_eq(msb_trace_current(), c);
    msb_span_deactivate(c);
    cr_expect_eq(msb_trace_current(), a, "b was unlinked");
    msb_span_deactivate(c); /* not on the stack: ignored */
    msb_span_end(c);
    msb_span_end(a);
    cr_expect_eq(msb_trace_current(), NULL);
    msb_trace_ctx_t ctx;
    cr_expect(!msb_trace_current_ctx(&ctx));
    cr_expect(!msb_trace_ctx_valid(&ctx));
    msb_tracer_provider_free(p);
}

Test(trace_span, explicit_context_and_root_option)
{
    seen_t seen = {0};
    msb_tracer_provider_t *p = provider(&seen, NULL, 0);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const char *ts = "congo=t61rcWkgMzE";
    msb_trace_ctx_t remote;
    cr_assert_eq(msb_traceparent_parse(tp, strlen(tp), &remote, NULL), MSB_OK);
    cr_assert_eq(msb_tracestate_parse(ts, strlen(ts), &remote, NULL), MSB_OK);
    msb_span_t *active = msb_span_start(t, "unrelated", NULL);
    msb_span_activate(active);
    msb_span_opts_t o = MSB_SPAN_OPTS_INIT;
    o.parent = &remote;
    o.kind = MSB_SPAN_SERVER;
    msb_span_t *s = msb_span_start(t, "server", &o);
    cr_expect_eq(msb_span_kind(s), MSB_SPAN_SERVER);
    msb_trace_ctx_t c;
    msb_span_get_ctx(s, &c);
    cr_expect_eq(memcmp(c.trace_id, remote.trace_id, 16), 0, "explicit parent wins");
    cr_expect(!c.remote);
    cr_expect_eq(c.flags, MSB_TRACE_FLAG_SAMPLED, "no random flag: the parent had none");
    cr_expect_eq(c.tracestate_len, strlen(ts), "tracestate is inherited");
    msb_span_opts_t r = MSB_SPAN_OPTS_INIT;
    r.root = true;
    msb_span_t *root = msb_span_start(t, "root", &r);
    uint8_t pid[8];
    cr_expect(!msb_span_parent_id(root, pid), "root ignores the current span");
    msb_span_end(root);
    msb_span_end(s);
    msb_span_end(active);
    cr_expect_eq(memcmp(seen.parent[1], remote.span_id, 8), 0);
    /* an invalid explicit parent starts a new trace */
    msb_trace_ctx_t invalid = MSB_TRACE_CTX_INIT;
    o.parent = &invalid;
    s = msb_span_start(t, "new", &o);
    cr_expect(!msb_span_parent_id(s, pid));
    msb_span_end(s);
    msb_tracer_provider_free(p);
}

Test(trace_span, attributes_overwrite_and_limits)
{
    seen_t seen = {0};
    msb_tracer_provider_t *p = provider(&seen, NULL, 10);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    msb_span_t *s = msb_span_start(t, "s", NULL);
    msb_span_set_str(s, "k", "v1");
    msb_span_set_str(s, "k", "v2");
    msb_span_set_int(s, "i", -5);
    msb_span_set_double(s, "d", 0.25);
    msb_span_set_bool(s, "b", true);
    msb_span_set_strn(s, "n", "abcdef", 3);
    msb_span_set_str(s, NULL, "ignored");
    msb_span_set_str(s, "", "ignored");
    const char *strs[] = {"x", "y"};
    int64_t ints[] = {1, 2, 3};
    double dbl[] = {1.5};
    bool bools[] = {true, false};
    msb_attr_t arr[] = {
        {.key = "sa", .type = MSB_ATTR_STRING_ARRAY, .v.a = {strs, 2}},
        {.key = "ia", .type = MSB_ATTR_INT_ARRAY, .v.a = {ints, 3}},
        {.key = "da", .type = MSB_ATTR_DOUBLE_ARRAY, .v.a = {dbl, 1}},
        {.key = "ba", .type = MSB_ATTR_BOOL_ARRAY, .v.a = {bools, 2}},
        {.key = "bad", .type = (msb_attr_type_t)99},
    };
    msb_span_set_attrs(s, arr, 5);
    cr_expect_eq(msb_span_attr_count(s), 9);
    msb_attr_t a;
    cr_assert_eq(msb_span_attr(s, 0, &a), MSB_OK);
    cr_expect_str_eq(a.key, "k");
    cr_expect_str_eq(a.v.s, "v2");
    cr_assert_eq(msb_span_attr(s, 4, &a), MSB_OK);
    cr_expect_str_eq(a.v.s, "abc");
    cr_assert_eq(msb_span_attr(s, 5, &a), MSB_OK);
    cr_expect_eq(a.type, MSB_ATTR_STRING_ARRAY);
    cr_expect_str_eq(((const char *const *)a.v.a.items)[1], "y");
    cr_assert_eq(msb_span_attr(s, 6, &a), MSB_OK);
    cr_expect_eq(((const int64_t *)a.v.a.items)[2], 3);
    cr_expect_eq(msb_span_attr(s, 99, &a), MSB_ERANGE);
    msb_span_set_int(s, "tenth", 10);
    msb_span_set_int(s, "eleventh", 11);
    msb_span_set_int(s, "twelfth", 12);
    msb_span_set_int(s, "k", 1); /* existing key: still replaced at the limit */
    cr_expect_eq(msb_span_attr_count(s), 10);
    uint32_t da, de, dl;
    msb_span_dropped(s, &da, &de, &dl);
    cr_expect_eq(da, 2);
    cr_assert_eq(msb_span_attr(s, 0, &a), MSB_OK);
    cr_expect_eq(a.type, MSB_ATTR_INT);
    msb_span_end(s);
    msb_tracer_provider_free(p);
}

Test(trace_span, many_attributes_spill_to_the_heap_and_long_strings_are_cut)
{
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "svc";
    o.max_attr_value_len = 4;
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    msb_span_t *s = msb_span_start(t, "s", NULL);
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        msb_span_set_str(s, key, "a long value that goes past the arena");
    }
    cr_expect_eq(msb_span_attr_count(s), 100);
    msb_attr_t a;
    cr_assert_eq(msb_span_attr(s, 99, &a), MSB_OK);
    cr_expect_str_eq(a.key, "key99");
    cr_expect_str_eq(a.v.s, "a lo");
    msb_span_set_str(s, "utf8", "h\xC3\xA9llo"); /* cut at 4 bytes must not split é */
    cr_assert_eq(msb_span_attr(s, 100, &a), MSB_OK);
    cr_expect_str_eq(a.v.s, "h\xC3\xA9l");
    msb_span_set_str(s, "utf8", "ab\xC3\xA9");
    cr_assert_eq(msb_span_attr(s, 100, &a), MSB_OK);
    cr_expect_str_eq(a.v.s, "ab\xC3\xA9");
    msb_span_set_str(s, "utf8", "abc\xC3\xA9");
    cr_assert_eq(msb_span_attr(s, 100, &a), MSB_OK);
    cr_expect_str_eq(a.v.s, "abc");
    msb_span_end(s);
    msb_tracer_provider_free(p);
}

Test(trace_span, events_links_status_and_name)
{
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "svc";
    o.max_events = 2;
    o.max_links = 1;
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    msb_trace_ctx_t link;
    cr_assert_eq(msb_traceparent_parse(tp, strlen(tp), &link, NULL), MSB_OK);
    msb_span_opts_t so = MSB_SPAN_OPTS_INIT;
    so.links = &link;
    so.nlinks = 1;
    msb_span_t *s = msb_span_start(t, "before", &so);
    cr_expect_eq(msb_span_link_count(s), 1);
    msb_attr_t ea = MSB_ATTR_INT("retry", 2);
    msb_span_add_event(s, "retrying", &ea, 1, 0);
    msb_span_add_link(s, &link, NULL, 0); /* past max_links */
    msb_trace_ctx_t invalid = MSB_TRACE_CTX_INIT;
    msb_span_add_link(s, &invalid, NULL, 0); /* ignored, not counted */
    msb_span_record_error(s, "io", "disk full");
    msb_span_add_event(s, "third", NULL, 0, 42); /* past max_events */
    uint32_t da, de, dl;
    msb_span_dropped(s, &da, &de, &dl);
    cr_expect_eq(de, 1);
    cr_expect_eq(dl, 1);
    cr_expect_eq(msb_span_event_count(s), 2);
    const char *msg;
    cr_expect_eq(msb_span_status(s, &msg), MSB_SPAN_ERROR);
    cr_expect_str_eq(msg, "disk full");
    msb_span_set_status(s, MSB_SPAN_UNSET, NULL);
    cr_expect_eq(msb_span_status(s, NULL), MSB_SPAN_ERROR, "unset is ignored");
    msb_span_set_status(s, MSB_SPAN_OK, "ignored message");
    cr_expect_eq(msb_span_status(s, &msg), MSB_SPAN_OK);
    cr_expect_str_eq(msg, "");
    msb_span_set_status(s, MSB_SPAN_ERROR, "late");
    cr_expect_eq(msb_span_status(s, NULL), MSB_SPAN_OK, "ok is final");
    msb_span_update_name(s, "after");
    cr_expect_str_eq(msb_span_name(s), "after");
    msb_span_end(s);
    msb_tracer_provider_free(p);
}

Test(trace_span, timestamps_follow_the_clock)
{
    seen_t seen = {0};
    msb_clock_t *clock = NULL;
    cr_assert_eq(msb_clock_manual_new(1000, INT64_C(1700000000000000000), &clock), MSB_OK);
    msb_tracer_provider_t *p = provider(&seen, clock, 0);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    msb_span_t *s = msb_span_start(t, "timed", NULL);
    msb_clock_manual_advance(clock, 2500);
    msb_span_end(s);
    cr_assert_eq(seen.n, 1);
    cr_expect_eq(seen.start[0], INT64_C(1700000000000000000));
    cr_expect_eq(seen.end[0] - seen.start[0], 2500);
    msb_span_opts_t o = MSB_SPAN_OPTS_INIT;
    o.start_ns = 5000;
    s = msb_span_start(t, "explicit", &o);
    msb_span_end_at(s, 4000); /* before the start: clamped */
    cr_expect_eq(seen.start[1], 5000);
    cr_expect_eq(seen.end[1], 5000);
    msb_tracer_provider_free(p);
    msb_clock_manual_free(clock);
}

Test(trace_span, unsampled_spans_propagate_but_record_nothing)
{
    seen_t seen = {0};
    msb_span_processor_t *proc = NULL;
    cr_assert_eq(msb_trace_processor_new(collect, &seen, &proc), MSB_OK);
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "svc";
    o.sampler = (msb_sampler_t)MSB_SAMPLER_OFF;
    o.processor = proc;
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    msb_span_t *s = msb_span_start(t, "dropped", NULL);
    msb_span_set_str(s, "k", "v");
    msb_span_add_event(s, "e", NULL, 0, 0);
    cr_expect_eq(msb_span_attr_count(s), 0);
    msb_trace_ctx_t c;
    msb_span_get_ctx(s, &c);
    cr_expect(msb_trace_ctx_valid(&c));
    cr_expect(!msb_trace_ctx_sampled(&c));
    msb_span_activate(s);
    msb_span_t *child = msb_span_start(t, "child", NULL);
    msb_trace_ctx_t cc;
    msb_span_get_ctx(child, &cc);
    cr_expect_eq(memcmp(cc.trace_id, c.trace_id, 16), 0);
    msb_span_end(child);
    msb_span_end(s);
    cr_expect_eq(seen.n, 0, "a processor never sees dropped spans");
    msb_tracer_provider_free(p);
}

Test(trace_span, noop_tracer_and_global_provider)
{
    msb_trace_set_global_provider(NULL);
    msb_tracer_t *t = msb_trace_tracer("lib", NULL);
    msb_span_t *s = msb_span_start(t, "noop", NULL);
    cr_expect_not_null(s);
    cr_expect(!msb_span_is_recording(s));
    msb_span_set_str(s, "k", "v");
    msb_span_activate(s);
    cr_expect_eq(msb_trace_current(), NULL, "the no-op span is never current");
    msb_trace_ctx_t c;
    msb_span_get_ctx(s, &c);
    cr_expect(!msb_trace_ctx_valid(&c));
    msb_span_end(s);
    msb_span_end(NULL);
    seen_t seen = {0};
    msb_tracer_provider_t *p = provider(&seen, NULL, 0);
    msb_trace_set_global_provider(p);
    cr_expect_eq(msb_trace_global_provider(), p);
    t = msb_trace_tracer("lib", "0.1");
    s = msb_span_start(t, "global", NULL);
    cr_expect(msb_span_is_recording(s));
    msb_span_end(s);
    cr_expect_eq(seen.n, 1);
    msb_tracer_provider_free(p);
    cr_expect_eq(msb_trace_global_provider(), NULL, "freeing the global clears it");
}

Test(trace_span, provider_options_are_checked)
{
    msb_tracer_provider_t *p = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    cr_expect_eq(msb_tracer_provider_new(&o, &p, &err), MSB_EINVAL);
    cr_expect_neq(strstr(err.message, "service_name"), NULL);
    cr_expect_eq(msb_tracer_provider_new(NULL, &p, &err), MSB_EINVAL);
    o.service_name = "svc";
    msb_attr_t bad = {.key = NULL};
    o.resource = &bad;
    o.resource_count = 1;
    cr_expect_eq(msb_tracer_provider_new(&o, &p, &err), MSB_EINVAL);
    cr_expect_neq(strstr(err.message, "resource[0]"), NULL, "%s", err.message);
    msb_tracer_provider_free(NULL);
}

/* ---- allocation failure ------------------------------------------------------------------ */

static int fail_after = -1;
static int allocs;

static void *fail_malloc(size_t n, void *u)
{
    (void)u;
    if (fail_after >= 0 && allocs++ >= fail_after) {
        return NULL;
    }
    return malloc(n);
}

static void *fail_realloc(void *p, size_t n, void *u)
{
    (void)u;
    if (fail_after >= 0 && allocs++ >= fail_after) {
        return NULL;
    }
    return realloc(p, n);
}

static void plain_free(void *p, void *u)
{
    (void)u;
    free(p);
}

Test(trace_span, every_allocation_failure_is_survived)
{
    msb_allocator_t a = {fail_malloc, fail_realloc, plain_free, NULL};
    cr_assert_eq(msb_set_allocator(&a), MSB_OK);
    bool completed = false;
    for (int n = 0; n < 200 && !completed; n++) {
        msb__trace_pool_drain();
        fail_after = n;
        allocs = 0;
        msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
        o.service_name = "svc";
        o.service_version = "1";
        msb_tracer_provider_t *p = NULL;
        msb_status_t rc = msb_tracer_provider_new(&o, &p, NULL);
        if (rc != MSB_OK) {
            cr_expect_eq(rc, MSB_ENOMEM, "step %d", n);
            continue;
        }
        msb_tracer_t *t = msb_tracer_provider_tracer(p, "scope", "v");
        msb_span_t *s = msb_span_start(t, "span", NULL);
        for (int i = 0; i < 20; i++) {
            char key[32];
            snprintf(key, sizeof(key), "attribute-%d", i);
            msb_span_set_str(s, key, "a value long enough to fill the inline arena quickly");
        }
        msb_span_add_event(s, "event", NULL, 0, 0);
        msb_baggage_t *bag = NULL;
        if (msb_baggage_new(&bag) == MSB_OK) {
            msb_status_t brc = msb_baggage_parse(bag, "a=1,b=2;p", 9, NULL);
            cr_expect(brc == MSB_OK || brc == MSB_ENOMEM, "step %d: %d", n, brc);
            msb_baggage_free(bag);
        }
        completed = msb_span_is_recording(s) && msb_span_attr_count(s) == 20 &&
                    msb_span_event_count(s) == 1;
        msb_span_end(s);
        msb_tracer_provider_free(p);
    }
    fail_after = -1;
    msb__trace_pool_drain();
    msb_set_allocator(NULL);
    cr_expect(completed, "never got through without a failure");
}
