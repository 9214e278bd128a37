/* Circuit breaker with a time window: buckets expire as the window slides. */
#include <criterion/criterion.h>

#include "msb/breaker.h"
#include "msb/clock.h"

static msb_clock_t *clk;

static void setup(void)
{
    /* Start on a bucket boundary so that the arithmetic below reads plainly. */
    cr_assert_eq(msb_clock_manual_new(1000 * MSB_SEC, 0, &clk), MSB_OK);
}

static void teardown(void)
{
    msb_clock_manual_free(clk);
}

TestSuite(breaker_time, .init = setup, .fini = teardown);

/* A 10 s window in 10 buckets of 1 s. */
static msb_breaker_t *make(uint32_t minimum, double rate)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.clock = clk;
    o.window = MSB_BREAKER_WINDOW_TIME;
    o.window_ns = 10 * MSB_SEC;
    o.window_buckets = 10;
    o.minimum_calls = minimum;
    o.failure_rate_threshold = rate;
    msb_breaker_t *b = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_breaker_new(&o, &b, &err), MSB_OK, "%s", err.message);
    return b;
}

static void calls(msb_breaker_t *b, int n, msb_breaker_outcome_t out)
{
    for (int i = 0; i < n; i++) {
        msb_breaker_permit_t p;
        cr_assert_eq(msb_breaker_acquire(b, &p), MSB_OK);
        msb_breaker_record(b, &p, out);
    }
}

static msb_breaker_stats_t stats(msb_breaker_t *b)
{
    msb_breaker_stats_t s = {.size = sizeof(s)};
    msb_breaker_stats(b, &s);
    return s;
}

Test(breaker_time, a_bucket_expires_whole_when_the_window_passes_it)
{
    msb_breaker_t *b = make(1000, 0.5);
    calls(b, 3, MSB_BREAKER_FAILURE); /* bucket 0 */
    msb_clock_manual_advance(clk, MSB_SEC);
    calls(b, 2, MSB_BREAKER_SUCCESS); /* bucket 1 */
    msb_clock_manual_advance(clk, 9 * MSB_SEC - 1);
    cr_assert_eq(stats(b).window_calls, 5, "bucket 0 is still inside 1 ns before its end");
    msb_clock_manual_advance(clk, 1);
    msb_breaker_stats_t s = stats(b);
    cr_assert_eq(s.window_calls, 2, "bucket 0 left the window");
    cr_assert_eq(s.window_failures, 0);
    msb_clock_manual_advance(clk, MSB_SEC);
    cr_assert_eq(stats(b).window_calls, 0);
    cr_assert_eq(stats(b).calls, 5, "cumulative counts survive expiry");
    msb_breaker_free(b);
}

Test(breaker_time, opens_at_the_threshold_across_buckets)
{
    msb_breaker_t *b = make(10, 0.5);
    for (int i = 0; i < 5; i++) {
        calls(b, 1, MSB_BREAKER_SUCCESS);
        msb_clock_manual_advance(clk, MSB_SEC);
    }
    calls(b, 4, MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED, "9 calls: one under the minimum");
    calls(b, 1, MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    msb_breaker_free(b);
}

Test(breaker_time, expired_successes_raise_the_rate)
{
    msb_breaker_t *b = make(4, 0.6);
    calls(b, 3, MSB_BREAKER_SUCCESS); /* at t = 0 */
    msb_clock_manual_advance(clk, 5 * MSB_SEC);
    calls(b, 3, MSB_BREAKER_FAILURE); /* 3 of 6 = 0.5 */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    msb_clock_manual_advance(clk, 5 * MSB_SEC); /* the successes expire */
    calls(b, 1, MSB_BREAKER_SUCCESS);           /* 3 of 4 = 0.75: judged after the slide */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    msb_breaker_free(b);
}

Test(breaker_time, a_gap_longer_than_the_window_empties_it)
{
    msb_breaker_t *b = make(1000, 0.5);
    for (int i = 0; i < 10; i++) {
        calls(b, 2, MSB_BREAKER_FAILURE);
        msb_clock_manual_advance(clk, MSB_SEC);
    }
    cr_assert_eq(stats(b).window_calls, 18, "the first bucket has just expired");
    msb_clock_manual_advance(clk, 3600 * MSB_SEC);
    calls(b, 1, MSB_BREAKER_SUCCESS);
    msb_breaker_stats_t s = stats(b);
    cr_assert_eq(s.window_calls, 1);
    cr_assert_eq(s.window_failures, 0);
    cr_assert_eq(s.calls, 21);
    msb_breaker_free(b);
}

Test(breaker_time, sliding_one_bucket_at_a_time)
{
    msb_breaker_t *b = make(1000, 0.5);
    for (int i = 1; i <= 10; i++) {
        calls(b, i, MSB_BREAKER_SUCCESS); /* bucket i-1 holds i calls */
        msb_clock_manual_advance(clk, MSB_SEC);
    }
    /* Now at bucket 10: buckets 1..9 (2..10 calls) are inside, bucket 0 has gone. */
    cr_assert_eq(stats(b).window_calls, 54);
    for (int k = 1; k <= 9; k++) {
        msb_clock_manual_advance(clk, MSB_SEC);
        int expect = 0;
        for (int j = k + 1; j <= 9; j++) {
            expect += j + 1;
        }
        cr_assert_eq(stats(b).window_calls, (uint64_t)expect, "after %d more seconds", k);
    }
    msb_breaker_free(b);
}

Test(breaker_time, closing_clears_the_window)
{
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.clock = clk;
    o.window = MSB_BREAKER_WINDOW_TIME;
    o.window_ns = 10 * MSB_SEC;
    o.window_buckets = 5;
    o.minimum_calls = 2;
    o.open_wait_ns = MSB_SEC;
    o.half_open_calls = 1;
    msb_breaker_t *b = NULL;
    cr_assert_eq(msb_breaker_new(&o, &b, NULL), MSB_OK);
    calls(b, 2, MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    msb_clock_manual_advance(clk, MSB_SEC);
    calls(b, 1, MSB_BREAKER_SUCCESS);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    cr_assert_eq(stats(b).window_calls, 0);
    calls(b, 1, MSB_BREAKER_FAILURE);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED, "old failures do not count");
    msb_breaker_free(b);
}

Test(breaker_time, a_slide_seen_first_by_stats_is_still_judged)
{
    msb_breaker_t *b = make(4, 0.6);
    calls(b, 3, MSB_BREAKER_SUCCESS);
    msb_clock_manual_advance(clk, 5 * MSB_SEC);
    calls(b, 3, MSB_BREAKER_FAILURE); /* 0.5: closed, and the window holds the minimum */
    msb_clock_manual_advance(clk, 5 * MSB_SEC);
    cr_assert_eq(stats(b).window_calls, 3, "stats moved the window: the successes left");
    calls(b, 1, MSB_BREAKER_SUCCESS); /* 3 of 4 = 0.75, though this record moved nothing */
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    msb_breaker_free(b);
}
