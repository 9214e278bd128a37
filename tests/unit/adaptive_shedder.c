/* Load shedder on a manual clock with a synthetic CPU and a synthetic latency ramp. */
#include <criterion/criterion.h>

#include "msb/adaptive.h"
#include "msb/clock.h"

static msb_clock_t *clk;
static uint32_t cpu_now;

static uint32_t fake_cpu(void *user)
{
    (void)user;
    return cpu_now;
}

static void setup(void)
{
    cr_assert_eq(msb_clock_manual_new(1000 * MSB_SEC, 0, &clk), MSB_OK);
    cpu_now = 100;
}

static void teardown(void)
{
    msb_clock_manual_free(clk);
}

TestSuite(adaptive_shedder, .init = setup, .fini = teardown);

/* 5 s window in 50 buckets of 100 ms: 10 buckets a second. */
static msb_adaptive_shedder_t *make(void)
{
    msb_adaptive_shedder_opts_t o = MSB_ADAPTIVE_SHEDDER_OPTS_INIT;
    o.clock = clk;
    o.cpu = fake_cpu;
    msb_adaptive_shedder_t *s = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_adaptive_shedder_new(&o, &s, &err), MSB_OK, "%s", err.message);
    return s;
}

static msb_adaptive_shedder_stats_t stats(msb_adaptive_shedder_t *s)
{
    msb_adaptive_shedder_stats_t st = {.size = sizeof(st)};
    msb_adaptive_shedder_stats(s, &st);
    return st;
}

/* n calls, one after another, each taking `latency`, all in the current bucket. */
static void passes(msb_adaptive_shedder_t *s, int n, uint64_t latency)
{
    for (int i = 0; i < n; i++) {
        cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_OK);
        msb_adaptive_shedder_release(s, latency, MSB_ADAPTIVE_SUCCESS);
    }
}

/* History: 10 buckets with 100 passes of 10 ms each: maxFlight = 100 x 10/s x 0.01 s = 10. */
static void fill_history(msb_adaptive_shedder_t *s)
{
    for (int b = 0; b < 10; b++) {
        passes(s, 100, 10 * MSB_MSEC);
        msb_clock_manual_advance(clk, 100 * MSB_MSEC);
    }
    cr_assert_float_eq(stats(s).max_flight, 10.0, 1e-9);
}

/* Hold n calls in flight and let the average of calls in flight settle near n. */
static void hold(msb_adaptive_shedder_t *s, int n)
{
    for (int i = 0; i < n; i++) {
        cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_OK);
    }
    for (int i = 0; i < 200; i++) {
        msb_adaptive_shedder_release(s, 0, MSB_ADAPTIVE_IGNORED);
        cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_OK);
    }
}

static void unhold(msb_adaptive_shedder_t *s, int n)
{
    for (int i = 0; i < n; i++) {
        msb_adaptive_shedder_release(s, 0, MSB_ADAPTIVE_IGNORED);
    }
}

Test(adaptive_shedder, never_sheds_while_the_cpu_is_under_the_threshold)
{
    msb_adaptive_shedder_t *s = make();
    fill_history(s);
    cpu_now = 900; /* at the threshold is not over it */
    hold(s, 500);
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_OK);
    msb_adaptive_shedder_stats_t st = stats(s);
    cr_assert_eq(st.dropped, 0);
    cr_assert_eq(st.inflight, 501);
    cr_assert_eq(st.source, MSB_ADAPTIVE_CPU_CALLBACK);
    unhold(s, 501);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_shedder, sheds_over_the_threshold_above_max_flight)
{
    msb_adaptive_shedder_t *s = make();
    fill_history(s);
    hold(s, 20);
    cpu_now = 901;
    /* factor (1000 - 901) / (1000 - 900) = 0.99: the limit is 9.9 */
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_EREJECTED);
    cr_assert_eq(stats(s).dropped, 1);
    /* Fewer in flight than the limit: admitted even though the average is still high. */
    unhold(s, 11);
    cr_assert_gt(stats(s).avg_inflight, 9.9);
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_OK, "9 in flight, under 9.9");
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_EREJECTED, "10 in flight");
    unhold(s, 10);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_shedder, a_hotter_cpu_lowers_the_limit_to_a_tenth)
{
    msb_adaptive_shedder_t *s = make();
    fill_history(s);
    hold(s, 7);    /* the average, taken after each release, settles near 6 */
    cpu_now = 950; /* factor 0.5: limit 5 */
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_EREJECTED);
    unhold(s, 3);
    cpu_now = 1000; /* factor 0, raised to 0.1: limit 1 */
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_EREJECTED, "4 in flight > 1");
    unhold(s, 3);
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_OK, "1 in flight is not over 1");
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_EREJECTED, "2 in flight, average high");
    unhold(s, 2);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_shedder, keeps_shedding_through_the_cool_off)
{
    msb_adaptive_shedder_t *s = make();
    fill_history(s);
    hold(s, 20);
    cpu_now = 990;
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_EREJECTED);
    cpu_now = 100; /* the CPU calms down, but it was just over: 1 s of cool-off */
    msb_clock_manual_advance(clk, MSB_SEC - 1);
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_EREJECTED, "1 ns before the cool-off ends");
    msb_clock_manual_advance(clk, 1);
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_OK);
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_OK, "no longer hot");
    unhold(s, 22);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_shedder, max_flight_follows_a_latency_ramp)
{
    msb_adaptive_shedder_t *s = make();
    cr_assert_float_eq(stats(s).max_flight, 10.0, 1e-9, "no history: 1 pass x 10/s x 1 s");
    /* Latency ramps from 10 ms to 109 ms over 100 buckets, 100 passes a bucket. maxFlight uses
     * the best (lowest) latency still inside the window, which is the oldest bucket's. */
    for (int b = 0; b < 100; b++) {
        passes(s, 100, (uint64_t)(10 + b) * MSB_MSEC);
        msb_clock_manual_advance(clk, 100 * MSB_MSEC);
        /* Buckets b-48 .. b are complete and inside (the one filling is skipped). */
        int oldest = b - 48 > 0 ? b - 48 : 0;
        double expect = 100 * 10 * (double)(10 + oldest) / 1000;
        cr_assert_float_eq(stats(s).max_flight, expect, 1e-6, "bucket %d", b);
    }
    /* Higher latency at the same throughput: more calls may be in flight before shedding.
     * minRt is now 61 ms: maxFlight 61, and at 95 % CPU the limit is 30.5 (it was 5 at 10 ms). */
    cr_assert_float_eq(stats(s).max_flight, 61.0, 1e-6);
    hold(s, 33); /* average near 32 */
    cpu_now = 950;
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_EREJECTED, "33 in flight > 30.5");
    unhold(s, 3);
    cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_OK, "30 in flight <= 30.5");
    unhold(s, 31);
    msb_adaptive_shedder_free(s);
}

Test(adaptive_shedder, only_successes_count_as_passes)
{
    msb_adaptive_shedder_t *s = make();
    for (int i = 0; i < 30; i++) {
        cr_assert_eq(msb_adaptive_shedder_acquire(s), MSB_OK);
        msb_adaptive_shedder_release(s, MSB_MSEC,
                                     i % 3 == 0   ? MSB_ADAPTIVE_SUCCESS
                                     : i % 3 == 1 ? MSB_ADAPTIVE_DROPPED
                                                  : MSB_ADAPTIVE_IGNORED);
    }
    msb_adaptive_shedder_stats_t st = stats(s);
    cr_assert_eq(st.passed, 10);
    cr_assert_eq(st.inflight, 0);
    msb_adaptive_shedder_free(s);
}
