/* Circuit breaker with a count window: every transition and threshold edge, on a manual clock. */
#include <criterion/criterion.h>

#include "msb/breaker.h"
#include "msb/clock.h"

static msb_clock_t *clk;

static void setup(void)
{
    cr_assert_eq(msb_clock_manual_new(1000 * MSB_SEC, 0, &clk), MSB_OK);
}

static void teardown(void)
{
    msb_clock_manual_free(clk);
}

TestSuite(breaker_count, .init = setup, .fini = teardown);

static msb_breaker_t *make(msb_breaker_opts_t *o)
{
    msb_breaker_t *b = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    o->clock = clk;
    cr_assert_eq(msb_breaker_new(o, &b, &err), MSB_OK, "%s", err.message);
    return b;
}

/* One call: acquire (must be permitted) and record. */
static void call(msb_breaker_t *b, msb_breaker_outcome_t out)
{
    msb_breaker_permit_t p;
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK, "state %s",
                 msb_breaker_state_name(msb_breaker_state(b)));
    msb_breaker_record(b, &p, out);
}

static void calls(msb_breaker_t *b, int n, msb_breaker_outcome_t out)
{
    for (int i = 0; i < n; i++) {
        call(b, out);
    }
}

static msb_breaker_stats_t stats(msb_breaker_t *b)
{
    msb_breaker_stats_t s = {.size = sizeof(s)};
    msb_breaker_stats(b, &s);
    return s;
}

Test(breaker_count, opens_exactly_at_the_failure_threshold)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 10;
    o.minimum_calls = 10;
    o.failure_rate_threshold = 0.5;
    msb_breaker_t *b = make(&o);
    calls(b, 5, MSB_BREAKER_SUCCESS);
    calls(b, 4, MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED, "9 calls: under the minimum");
    call(b, MSB_BREAKER_FAILURE); /* 5 of 10 = 0.5: at the threshold */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    msb_breaker_free(b);
}

Test(breaker_count, stays_closed_just_under_the_threshold)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 10;
    o.minimum_calls = 10;
    o.failure_rate_threshold = 0.5;
    msb_breaker_t *b = make(&o);
    calls(b, 6, MSB_BREAKER_SUCCESS);
    calls(b, 4, MSB_BREAKER_FAILURE); /* 0.4 */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    msb_breaker_stats_t s = stats(b);
    cr_assert_eq(s.window_calls, 10);
    cr_assert_eq(s.window_failures, 4);
    msb_breaker_free(b);
}

Test(breaker_count, one_call_under_the_minimum_never_opens)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 20;
    o.minimum_calls = 5;
    msb_breaker_t *b = make(&o);
    calls(b, 4, MSB_BREAKER_FAILURE); /* 100% failures, one call short */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    call(b, MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    msb_breaker_free(b);
}

Test(breaker_count, a_success_that_reaches_the_minimum_judges)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 10;
    o.minimum_calls = 4;
    msb_breaker_t *b = make(&o);
    calls(b, 3, MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    call(b, MSB_BREAKER_SUCCESS); /* 3 of 4 failed: 0.75 */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    msb_breaker_free(b);
}

Test(breaker_count, minimum_is_capped_at_the_window_size)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 4;
    o.minimum_calls = 100;
    msb_breaker_t *b = make(&o);
    calls(b, 4, MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    msb_breaker_free(b);
}

Test(breaker_count, window_slides_call_by_call)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 4;
    o.minimum_calls = 4;
    o.failure_rate_threshold = 0.75;
    msb_breaker_t *b = make(&o);
    calls(b, 2, MSB_BREAKER_FAILURE);
    calls(b, 4, MSB_BREAKER_SUCCESS); /* the failures slid out */
    cr_assert_eq(stats(b).window_failures, 0);
    calls(b, 2, MSB_BREAKER_FAILURE); /* window: S S F F = 0.5 */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    cr_assert_eq(stats(b).window_failures, 2);
    call(b, MSB_BREAKER_FAILURE); /* window: S F F F = 0.75 */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    msb_breaker_free(b);
}

Test(breaker_count, ignored_outcomes_count_for_nothing)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 5;
    o.minimum_calls = 5;
    msb_breaker_t *b = make(&o);
    calls(b, 50, MSB_BREAKER_IGNORED);
    calls(b, 4, MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    msb_breaker_stats_t s = stats(b);
    cr_assert_eq(s.ignored, 50);
    cr_assert_eq(s.calls, 4);
    cr_assert_eq(s.window_calls, 4);
    msb_breaker_free(b);
}

Test(breaker_count, open_rejects_until_the_wait_ends_then_half_opens)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 2;
    o.minimum_calls = 2;
    o.open_wait_ns = 5 * MSB_SEC;
    msb_breaker_t *b = make(&o);
    calls(b, 2, MSB_BREAKER_FAILURE);
    msb_breaker_permit_t p;
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_EREJECTED);
    msb_clock_manual_advance(clk, 5 * MSB_SEC - 1);
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_EREJECTED, "1 ns before the end");
    msb_clock_manual_advance(clk, 1);
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_HALF_OPEN);
    cr_assert_eq(stats(b).rejected, 2);
    msb_breaker_record(b, &p, MSB_BREAKER_IGNORED);
    msb_breaker_free(b);
}

static msb_breaker_t *open_breaker(int half_open_calls)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 2;
    o.minimum_calls = 2;
    o.open_wait_ns = MSB_SEC;
    o.half_open_calls = (uint32_t)half_open_calls;
    msb_breaker_t *b = make(&o);
    calls(b, 2, MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    msb_clock_manual_advance(clk, MSB_SEC);
    return b;
}

Test(breaker_count, half_open_permits_exactly_the_probes)
{
    msb_breaker_t *b = open_breaker(3);
    msb_breaker_permit_t p[4];
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(msb_breaker_acquire(b, &p[i]), MSB_OK);
    }
    cr_assert_eq(msb_breaker_acquire(b, &p[3]), MSB_EREJECTED);
    /* An ignored probe gives its permit back. */
    msb_breaker_record(b, &p[0], MSB_BREAKER_IGNORED);
    cr_assert_eq(msb_breaker_acquire(b, &p[0]), MSB_OK);
    for (int i = 0; i < 3; i++) {
        msb_breaker_record(b, &p[i], MSB_BREAKER_SUCCESS);
    }
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    cr_assert_eq(stats(b).window_calls, 0, "closing starts a fresh window");
    msb_breaker_free(b);
}

Test(breaker_count, half_open_reopens_at_the_threshold)
{
    msb_breaker_t *b = open_breaker(4);
    msb_breaker_permit_t p[4];
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(msb_breaker_acquire(b, &p[i]), MSB_OK);
    }
    msb_breaker_record(b, &p[0], MSB_BREAKER_SUCCESS);
    msb_breaker_record(b, &p[1], MSB_BREAKER_SUCCESS);
    msb_breaker_record(b, &p[2], MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_HALF_OPEN, "waits for every probe");
    msb_breaker_record(b, &p[3], MSB_BREAKER_FAILURE); /* 2 of 4 = 0.5 */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    cr_assert_eq(stats(b).opened, 2);
    msb_breaker_free(b);
}

Test(breaker_count, half_open_closes_under_the_threshold)
{
    msb_breaker_t *b = open_breaker(4);
    msb_breaker_permit_t p[4];
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(msb_breaker_acquire(b, &p[i]), MSB_OK);
    }
    msb_breaker_record(b, &p[0], MSB_BREAKER_FAILURE);
    for (int i = 1; i < 4; i++) {
        msb_breaker_record(b, &p[i], MSB_BREAKER_SUCCESS); /* 1 of 4 = 0.25 */
    }
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    msb_breaker_free(b);
}

Test(breaker_count, half_open_max_wait_reopens)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 1;
    o.minimum_calls = 1;
    o.open_wait_ns = MSB_SEC;
    o.half_open_calls = 1;
    o.half_open_max_wait_ns = 2 * MSB_SEC;
    msb_breaker_t *b = make(&o);
    call(b, MSB_BREAKER_FAILURE);
    msb_clock_manual_advance(clk, MSB_SEC);
    msb_breaker_permit_t lost, p;
    cr_assert_eq(msb_breaker_acquire(b, &lost), MSB_OK); /* a probe that never reports */
    msb_clock_manual_advance(clk, 2 * MSB_SEC - 1);
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_EREJECTED);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_HALF_OPEN);
    msb_clock_manual_advance(clk, 1);
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_EREJECTED);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    /* The lost probe reporting late changes nothing. */
    msb_breaker_record(b, &lost, MSB_BREAKER_SUCCESS);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    msb_breaker_free(b);
}

Test(breaker_count, open_wait_grows_exponentially_to_the_cap)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 1;
    o.minimum_calls = 1;
    o.half_open_calls = 1;
    o.open_wait_ns = MSB_SEC;
    o.open_wait_multiplier = 2.0;
    o.open_wait_max_ns = 5 * MSB_SEC;
    msb_breaker_t *b = make(&o);
    call(b, MSB_BREAKER_FAILURE);
    const int64_t expect[] = {1, 2, 4, 5, 5};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
        cr_assert_eq(stats(b).open_wait_ns, (uint64_t)(expect[i] * MSB_SEC), "opening %zu", i);
        msb_breaker_permit_t p;
        msb_clock_manual_advance(clk, (uint64_t)(expect[i] * MSB_SEC) - 1);
        cr_assert_eq(msb_breaker_acquire(b, &p), MSB_EREJECTED);
        msb_clock_manual_advance(clk, 1);
        call(b, MSB_BREAKER_FAILURE); /* the probe fails: open again, longer */
    }
    /* A successful probe closes and resets the streak. */
    msb_clock_manual_advance(clk, 5 * MSB_SEC);
    call(b, MSB_BREAKER_SUCCESS);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    call(b, MSB_BREAKER_FAILURE);
    cr_assert_eq(stats(b).open_wait_ns, (uint64_t)MSB_SEC);
    msb_breaker_free(b);
}

Test(breaker_count, slow_calls_open_at_their_threshold)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 4;
    o.minimum_calls = 4;
    o.slow_call_duration_ns = 100 * MSB_MSEC;
    o.slow_call_rate_threshold = 0.5;
    msb_breaker_t *b = make(&o);
    msb_breaker_permit_t p;
    /* Measured by the breaker from acquire to record on its clock: exactly the duration is slow. */
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK);
    msb_clock_manual_advance(clk, 100 * MSB_MSEC);
    msb_breaker_record(b, &p, MSB_BREAKER_SUCCESS);
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK);
    msb_clock_manual_advance(clk, 100 * MSB_MSEC - 1);
    msb_breaker_record(b, &p, MSB_BREAKER_SUCCESS);
    cr_assert_eq(stats(b).slow, 1);
    /* Given by the caller. */
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK);
    msb_breaker_record_duration(b, &p, MSB_BREAKER_SUCCESS, 1);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK);
    msb_breaker_record_duration(b, &p, MSB_BREAKER_FAILURE, 200 * MSB_MSEC); /* slow: 2 of 4 */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    msb_breaker_stats_t s = stats(b);
    cr_assert_eq(s.slow, 2);
    cr_assert_eq(s.failures, 1);
    msb_breaker_free(b);
}

Test(breaker_count, slow_calls_are_not_tracked_without_a_duration)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 2;
    o.minimum_calls = 2;
    msb_breaker_t *b = make(&o);
    msb_breaker_permit_t p;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK);
        msb_breaker_record_duration(b, &p, MSB_BREAKER_SUCCESS, 3600 * MSB_SEC);
    }
    cr_assert_eq(stats(b).slow, 0);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    msb_breaker_free(b);
}

Test(breaker_count, stale_permits_are_counted_but_not_judged)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 2;
    o.minimum_calls = 2;
    o.open_wait_ns = MSB_SEC;
    o.half_open_calls = 1;
    msb_breaker_t *b = make(&o);
    msb_breaker_permit_t old;
    cr_assert_eq(msb_breaker_acquire(b, &old), MSB_OK);
    calls(b, 2, MSB_BREAKER_FAILURE);
    msb_clock_manual_advance(clk, MSB_SEC);
    call(b, MSB_BREAKER_SUCCESS); /* probe: closes */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    msb_breaker_record(b, &old, MSB_BREAKER_FAILURE); /* from the first closed period */
    msb_breaker_stats_t s = stats(b);
    cr_assert_eq(s.window_calls, 0);
    cr_assert_eq(s.calls, 4);
    cr_assert_eq(s.failures, 3);
    msb_breaker_free(b);
}

Test(breaker_count, forced_open_and_disabled_are_manual)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.window_size = 1;
    o.minimum_calls = 1;
    msb_breaker_t *b = make(&o);
    msb_breaker_permit_t p;
    cr_assert_eq(msb_breaker_transition(b, MSB_BREAKER_FORCED_OPEN, NULL), MSB_OK);
    msb_clock_manual_advance(clk, 3600 * MSB_SEC);
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_EREJECTED);
    cr_assert_eq(msb_breaker_transition(b, MSB_BREAKER_DISABLED, NULL), MSB_OK);
    calls(b, 10, MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_DISABLED);
    cr_assert_eq(stats(b).failures, 10);
    cr_assert_eq(msb_breaker_transition(b, MSB_BREAKER_CLOSED, NULL), MSB_OK);
    call(b, MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    cr_assert_eq(msb_breaker_transition(b, MSB_BREAKER_HALF_OPEN, NULL), MSB_OK);
    cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_breaker_transition(b, (msb_breaker_state_t)9, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "breaker \"breaker\": 9 is not a state");
    cr_assert_eq(stats(b).transitions, 5);
    msb_breaker_record(b, &p, MSB_BREAKER_IGNORED);
    msb_breaker_free(b);
}

Test(breaker_count, state_names)
{
    cr_assert_str_eq(msb_breaker_state_name(MSB_BREAKER_CLOSED), "closed");
    cr_assert_str_eq(msb_breaker_state_name(MSB_BREAKER_OPEN), "open");
    cr_assert_str_eq(msb_breaker_state_name(MSB_BREAKER_HALF_OPEN), "half_open");
    cr_assert_str_eq(msb_breaker_state_name(MSB_BREAKER_FORCED_OPEN), "forced_open");
    cr_assert_str_eq(msb_breaker_state_name(MSB_BREAKER_DISABLED), "disabled");
    cr_assert_str_eq(msb_breaker_state_name((msb_breaker_state_t)42), "unknown");
}
