/* Adaptive concurrency limit under synthetic latency ramps (deterministic: no clock needed). */
#include <criterion/criterion.h>

#include "msb/adaptive.h"

static msb_adaptive_limit_t *make(msb_adaptive_algorithm_t alg, uint32_t initial)
{
    msb_adaptive_limit_opts_t o = MSB_ADAPTIVE_LIMIT_OPTS_INIT;
    o.algorithm = alg;
    o.initial_limit = initial;
    o.min_limit = 5;
    o.max_limit = 500;
    msb_adaptive_limit_t *l = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_adaptive_limit_new(&o, &l, &err), MSB_OK, "%s", err.message);
    return l;
}

static msb_adaptive_limit_stats_t stats(msb_adaptive_limit_t *l)
{
    msb_adaptive_limit_stats_t s = {.size = sizeof(s)};
    msb_adaptive_limit_stats(l, &s);
    return s;
}

/* A saturating load: calls in flight are kept at the limit; each step completes one call with
 * the latency latency(i) and refills the places the limit allows. Returns the lowest limit seen;
 * *last receives the limit at the end. Every call still in flight is then given back. */
typedef uint64_t (*latency_fn)(int i);

static uint32_t drive(msb_adaptive_limit_t *l, int steps, latency_fn latency,
                      msb_adaptive_outcome_t outcome, uint32_t *last)
{
    uint32_t inflight = 0, lowest = UINT32_MAX;
    while (msb_adaptive_limit_acquire(l) == MSB_OK) {
        inflight++;
    }
    cr_assert_eq(inflight, stats(l).limit, "exactly the limit is admitted");
    for (int i = 0; i < steps; i++) {
        msb_adaptive_limit_release(l, latency(i), outcome);
        inflight--;
        while (msb_adaptive_limit_acquire(l) == MSB_OK) {
            inflight++;
        }
        uint32_t lim = stats(l).limit;
        lowest = lim < lowest ? lim : lowest;
        cr_assert_geq(lim, inflight > 0 ? 1u : 0u);
    }
    *last = stats(l).limit;
    for (; inflight > 0; inflight--) {
        msb_adaptive_limit_release(l, 0, MSB_ADAPTIVE_IGNORED);
    }
    return lowest;
}

static uint64_t ms1(int i)
{
    (void)i;
    return MSB_MSEC;
}

static uint64_t ms10(int i)
{
    (void)i;
    return 10 * MSB_MSEC;
}

/* 10 ms rising to 60 ms over 300 samples, then staying there. */
static uint64_t ramp(int i)
{
    int k = i < 300 ? i : 300;
    return (uint64_t)(10 + k / 6) * MSB_MSEC;
}

Test(adaptive_limit, admits_exactly_the_limit)
{
    msb_adaptive_limit_t *l = make(MSB_ADAPTIVE_GRADIENT, 20);
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(msb_adaptive_limit_acquire(l), MSB_OK);
    }
    cr_assert_eq(msb_adaptive_limit_acquire(l), MSB_EREJECTED);
    msb_adaptive_limit_release(l, 0, MSB_ADAPTIVE_IGNORED);
    cr_assert_eq(msb_adaptive_limit_acquire(l), MSB_OK);
    msb_adaptive_limit_stats_t s = stats(l);
    cr_assert_eq(s.inflight, 20);
    cr_assert_eq(s.accepted, 21);
    cr_assert_eq(s.rejected, 1);
    for (int i = 0; i < 20; i++) {
        msb_adaptive_limit_release(l, 0, MSB_ADAPTIVE_IGNORED);
    }
    msb_adaptive_limit_free(l);
}

Test(adaptive_limit, aimd_grows_under_load_and_backs_off_on_drops)
{
    msb_adaptive_limit_t *l = make(MSB_ADAPTIVE_AIMD, 20);
    uint32_t a;
    drive(l, 100, ms1, MSB_ADAPTIVE_SUCCESS, &a);
    cr_assert_eq(a, 120, "100 busy samples: +1 each");
    /* A window with a drop multiplies by 0.9, once per window. */
    msb_adaptive_limit_stats_t s0 = stats(l);
    for (uint32_t i = 0; i < 10; i++) {
        cr_assert_eq(msb_adaptive_limit_acquire(l), MSB_OK);
    }
    for (int i = 0; i < 10; i++) {
        msb_adaptive_limit_release(l, MSB_MSEC,
                                   i == 3 ? MSB_ADAPTIVE_DROPPED : MSB_ADAPTIVE_SUCCESS);
    }
    msb_adaptive_limit_stats_t s1 = stats(l);
    cr_assert_eq(s1.limit, 108, "120 x 0.9");
    cr_assert_eq(s1.dropped, s0.dropped + 1);
    cr_assert_eq(s1.updates, s0.updates + 1);
    /* A latency over the timeout (5 s by default) is a drop too. */
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(msb_adaptive_limit_acquire(l), MSB_OK);
    }
    for (int i = 0; i < 10; i++) {
        msb_adaptive_limit_release(l, i == 0 ? 6 * MSB_SEC : MSB_MSEC, MSB_ADAPTIVE_SUCCESS);
    }
    cr_assert_eq(stats(l).limit, 97, "108 x 0.9 = 97.2");
    msb_adaptive_limit_free(l);
}

Test(adaptive_limit, aimd_does_not_grow_when_the_load_is_light)
{
    msb_adaptive_limit_t *l = make(MSB_ADAPTIVE_AIMD, 100);
    for (int i = 0; i < 1000; i++) { /* one call at a time: far below half the limit */
        cr_assert_eq(msb_adaptive_limit_acquire(l), MSB_OK);
        msb_adaptive_limit_release(l, MSB_MSEC, MSB_ADAPTIVE_SUCCESS);
    }
    msb_adaptive_limit_stats_t s = stats(l);
    cr_assert_eq(s.limit, 100);
    cr_assert_eq(s.updates, 100);
    msb_adaptive_limit_free(l);
}

Test(adaptive_limit, aimd_stays_within_bounds)
{
    msb_adaptive_limit_t *l = make(MSB_ADAPTIVE_AIMD, 20);
    uint32_t last;
    drive(l, 2000, ms1, MSB_ADAPTIVE_SUCCESS, &last);
    cr_assert_eq(last, 500, "capped at max_limit");
    drive(l, 2000, ms1, MSB_ADAPTIVE_DROPPED, &last);
    cr_assert_eq(last, 5, "floored at min_limit");
    msb_adaptive_limit_free(l);
}

Test(adaptive_limit, gradient_follows_a_latency_ramp)
{
    msb_adaptive_limit_t *l = make(MSB_ADAPTIVE_GRADIENT, 20);
    /* Steady 10 ms, saturated: no queueing, the limit grows by about 0.2 x 4 a sample. */
    uint32_t grown;
    drive(l, 150, ms10, MSB_ADAPTIVE_SUCCESS, &grown);
    cr_assert(grown >= 130 && grown <= 140, "grew to %u", grown);
    msb_adaptive_limit_stats_t s = stats(l);
    cr_assert_float_eq(s.long_rtt_ns, 10e6, 1, "long average %g", s.long_rtt_ns);
    cr_assert_float_eq(s.short_rtt_ns, 10e6, 1);
    /* Latency ramps from 10 ms to 60 ms: once short exceeds 1.5 x long, the limit falls. */
    uint32_t end;
    uint32_t lowest = drive(l, 600, ramp, MSB_ADAPTIVE_SUCCESS, &end);
    cr_assert_lt(lowest, grown / 2, "fell from %u to %u", grown, lowest);
    s = stats(l);
    cr_assert_gt(s.long_rtt_ns, 20e6, "the long average followed: %g", s.long_rtt_ns);
    /* Back to 10 ms: short is below long, gradient 1, the limit grows again. */
    uint32_t recovered;
    drive(l, 300, ms10, MSB_ADAPTIVE_SUCCESS, &recovered);
    cr_assert_gt(recovered, end + 100, "recovered from %u to %u", end, recovered);
    msb_adaptive_limit_free(l);
}

Test(adaptive_limit, gradient_learns_nothing_when_app_limited)
{
    msb_adaptive_limit_t *l = make(MSB_ADAPTIVE_GRADIENT, 50);
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(msb_adaptive_limit_acquire(l), MSB_OK);
        msb_adaptive_limit_release(l, (uint64_t)(1 + i % 7) * MSB_MSEC, MSB_ADAPTIVE_SUCCESS);
    }
    cr_assert_eq(stats(l).limit, 50);
    msb_adaptive_limit_free(l);
}

Test(adaptive_limit, gradient_never_drops_more_than_a_tenth_per_sample)
{
    msb_adaptive_limit_t *l = make(MSB_ADAPTIVE_GRADIENT, 400);
    uint32_t before;
    drive(l, 10, ms1, MSB_ADAPTIVE_SUCCESS, &before);
    /* One window of 10 busy samples 1000x slower: the gradient clamps at 0.5, so each sample
     * keeps at least (1 - 0.2) + 0.2 x 0.5 = 0.9 of the limit, plus 0.2 x queue_size. */
    uint32_t n = 0;
    while (msb_adaptive_limit_acquire(l) == MSB_OK) {
        n++;
    }
    for (int i = 0; i < 10; i++) {
        msb_adaptive_limit_release(l, MSB_SEC, MSB_ADAPTIVE_SUCCESS);
    }
    uint32_t after = stats(l).limit;
    double v = before;
    for (int i = 0; i < 10; i++) {
        v = 0.9 * v + 0.2 * 4;
    }
    cr_assert(after + 1 >= (uint32_t)v && after < before, "limit %u -> %u (floor %.1f)", before,
              after, v);
    for (uint32_t i = 10; i < n; i++) {
        msb_adaptive_limit_release(l, 0, MSB_ADAPTIVE_IGNORED);
    }
    msb_adaptive_limit_free(l);
}

static uint64_t step_latency;

static uint64_t current_step(int i)
{
    (void)i;
    return step_latency;
}

/* Windows of at least one second on a manual clock, under a latency ramp of one step a second. */
Test(adaptive_limit, timed_windows_follow_a_ramp_on_the_manual_clock)
{
    msb_clock_t *clk = NULL;
    cr_assert_eq(msb_clock_manual_new(1000 * MSB_SEC, 0, &clk), MSB_OK);
    msb_adaptive_limit_opts_t o = MSB_ADAPTIVE_LIMIT_OPTS_INIT;
    o.clock = clk;
    o.window_min_ns = MSB_SEC;
    o.initial_limit = 50;
    o.max_limit = 5000;
    msb_adaptive_limit_t *l = NULL;
    cr_assert_eq(msb_adaptive_limit_new(&o, &l, NULL), MSB_OK);
    /* Within one second nothing is folded in, however many samples arrive. */
    uint32_t last;
    drive(l, 1000, ms10, MSB_ADAPTIVE_SUCCESS, &last);
    cr_assert_eq(stats(l).updates, 0);
    cr_assert_eq(last, 50);
    /* A second later, the next full window folds every sample of that second at once. */
    msb_clock_manual_advance(clk, MSB_SEC);
    drive(l, 10, ms10, MSB_ADAPTIVE_SUCCESS, &last);
    msb_adaptive_limit_stats_t s = stats(l);
    cr_assert_eq(s.updates, 1);
    cr_assert_gt(last, 500, "1000 busy samples of growth at once: %u", last);
    /* Ramp: the latency doubles each second, 200 saturated samples a second (a third of the
     * long window, so the long average trails by about a second). A window closes at the first
     * multiple of 10 samples after its second is over: the limit falls as latency queues up. */
    uint32_t top = last, low = last;
    for (int sec = 1; sec <= 8; sec++) {
        msb_clock_manual_advance(clk, MSB_SEC);
        step_latency = ((uint64_t)10 << sec) * MSB_MSEC;
        drive(l, 200, current_step, MSB_ADAPTIVE_SUCCESS, &last);
        low = last < low ? last : low;
    }
    cr_assert_eq(stats(l).updates, 9, "one update a second");
    cr_assert_lt(low, top / 2, "fell from %u to %u", top, low);
    msb_adaptive_limit_free(l);
    msb_clock_manual_free(clk);
}
