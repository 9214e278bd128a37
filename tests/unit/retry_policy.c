/* Retry policy: backoff and jitter bounds, the order of the verdicts, Retry-After, time limit. */
#include <criterion/criterion.h>
#include <math.h>

#include "msb/clock.h"
#include "msb/retry.h"

static msb_clock_t *clk;

static void setup(void)
{
    cr_assert_eq(msb_clock_manual_new(1000 * MSB_SEC, 0, &clk), MSB_OK);
}

static void teardown(void)
{
    msb_clock_manual_free(clk);
}

TestSuite(retry_policy, .init = setup, .fini = teardown);

static msb_retry_t *policy(msb_retry_jitter_t jitter, uint32_t attempts)
{
    msb_retry_opts_t o = MSB_RETRY_OPTS_INIT;
    o.clock = clk;
    o.jitter = jitter;
    o.max_attempts = attempts;
    o.initial_backoff_ns = 100 * MSB_MSEC;
    o.max_backoff_ns = 1000 * MSB_MSEC;
    o.no_budget = true;
    msb_retry_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_retry_new(&o, &r, &err), MSB_OK, "%s", err.message);
    return r;
}

/* The delay before retry number k+1 (k = 0: the first retry) of a fresh call. */
static uint64_t delay_of_retry(msb_retry_t *r, int k)
{
    msb_retry_call_t c;
    msb_retry_begin(r, &c);
    uint64_t d = 0;
    for (int i = 0; i <= k; i++) {
        cr_assert_eq(msb_retry_next(r, &c, MSB_ETIMEDOUT, NULL, 0, &d), MSB_RETRY_AGAIN);
    }
    return d;
}

Test(retry_policy, no_jitter_grows_exponentially_to_the_cap)
{
    msb_retry_t *r = policy(MSB_RETRY_JITTER_NONE, 10);
    const uint64_t expect[] = {100, 200, 400, 800, 1000, 1000};
    msb_retry_call_t c;
    msb_retry_begin(r, &c);
    cr_assert_eq(c.attempt, 1);
    for (size_t i = 0; i < 6; i++) {
        uint64_t d;
        cr_assert_eq(msb_retry_next(r, &c, MSB_EUNAVAIL, NULL, 0, &d), MSB_RETRY_AGAIN);
        cr_assert_eq(d, expect[i] * (uint64_t)MSB_MSEC, "retry %zu", i + 1);
        cr_assert_eq(c.attempt, i + 2);
    }
    msb_retry_free(r);
}

/* Samples of a jittered delay: all inside [lo, hi], mean within 6 standard errors of the
 * uniform's mean, and both ends of the range reached (fixed bounds, never flaky). */
static void check_uniform(msb_retry_t *r, int k, double lo, double hi)
{
    const int n = 20000;
    double sum = 0, min = INFINITY, max = 0;
    for (int i = 0; i < n; i++) {
        double d = (double)delay_of_retry(r, k) / (double)MSB_MSEC;
        cr_assert(d >= lo && d <= hi, "retry %d: %g ms outside [%g, %g]", k + 1, d, lo, hi);
        sum += d;
        min = d < min ? d : min;
        max = d > max ? d : max;
    }
    double mean = sum / n, expect = (lo + hi) / 2, se = (hi - lo) / sqrt(12.0 * n);
    cr_assert(fabs(mean - expect) < 6 * se, "mean %g, expected %g +- %g", mean, expect, 6 * se);
    cr_assert(min < lo + (hi - lo) * 0.01 && max > hi - (hi - lo) * 0.01, "range [%g, %g]", min,
              max);
}

Test(retry_policy, full_jitter_is_uniform_below_the_backoff)
{
    msb_retry_t *r = policy(MSB_RETRY_JITTER_FULL, 10);
    check_uniform(r, 0, 0, 100);
    check_uniform(r, 2, 0, 400);
    check_uniform(r, 6, 0, 1000); /* capped */
    msb_retry_free(r);
}

Test(retry_policy, equal_jitter_keeps_half_the_backoff)
{
    msb_retry_t *r = policy(MSB_RETRY_JITTER_EQUAL, 10);
    check_uniform(r, 0, 50, 100);
    check_uniform(r, 3, 400, 800);
    check_uniform(r, 8, 500, 1000);
    msb_retry_free(r);
}

Test(retry_policy, decorrelated_jitter_stays_between_initial_and_three_times_the_last)
{
    msb_retry_t *r = policy(MSB_RETRY_JITTER_DECORRELATED, 1000);
    check_uniform(r, 0, 100, 300); /* the previous delay counts as the initial backoff */
    for (int i = 0; i < 2000; i++) {
        msb_retry_call_t c;
        msb_retry_begin(r, &c);
        uint64_t prev = 100 * MSB_MSEC, d;
        for (int k = 0; k < 8; k++) {
            cr_assert_eq(msb_retry_next(r, &c, MSB_ETIMEDOUT, NULL, 0, &d), MSB_RETRY_AGAIN);
            uint64_t hi = prev * 3 < 1000 * MSB_MSEC ? prev * 3 : 1000 * MSB_MSEC;
            cr_assert(d >= 100 * MSB_MSEC && d <= hi, "delay %llu, previous %llu",
                      (unsigned long long)d, (unsigned long long)prev);
            prev = d;
        }
    }
    msb_retry_free(r);
}

Test(retry_policy, verdicts)
{
    msb_retry_t *r = policy(MSB_RETRY_JITTER_NONE, 2);
    msb_retry_call_t c;
    uint64_t d = 99;
    msb_retry_begin(r, &c);
    cr_assert_eq(msb_retry_next(r, &c, MSB_OK, NULL, 0, &d), MSB_RETRY_DONE);
    cr_assert_eq(d, 0);
    cr_assert_eq(msb_retry_next(r, &c, MSB_EINVAL, NULL, 0, &d), MSB_RETRY_NOT_RETRYABLE);
    cr_assert_eq(msb_retry_next(r, &c, MSB_EREJECTED, NULL, 0, &d), MSB_RETRY_NOT_RETRYABLE);
    cr_assert_eq(msb_retry_next(r, &c, MSB_EBUSY, NULL, 0, &d), MSB_RETRY_AGAIN);
    cr_assert_eq(msb_retry_next(r, &c, MSB_EBUSY, NULL, 0, &d), MSB_RETRY_NO_ATTEMPTS);
    cr_assert_eq(c.attempt, 2);
    cr_assert_str_eq(msb_retry_verdict_name(MSB_RETRY_NO_ATTEMPTS), "no_attempts");
    cr_assert_str_eq(msb_retry_verdict_name(MSB_RETRY_CANCELED), "canceled");
    cr_assert_str_eq(msb_retry_verdict_name((msb_retry_verdict_t)99), "unknown");
    msb_retry_free(r);
}

Test(retry_policy, one_attempt_means_no_retry)
{
    msb_retry_t *r = policy(MSB_RETRY_JITTER_NONE, 1);
    msb_retry_call_t c;
    uint64_t d;
    msb_retry_begin(r, &c);
    cr_assert_eq(msb_retry_next(r, &c, MSB_ETIMEDOUT, NULL, 0, &d), MSB_RETRY_NO_ATTEMPTS);
    msb_retry_free(r);
}

Test(retry_policy, retry_after_is_honoured_and_capped)
{
    msb_retry_t *r = policy(MSB_RETRY_JITTER_NONE, 10);
    msb_retry_call_t c;
    uint64_t d;
    msb_retry_begin(r, &c);
    cr_assert_eq(msb_retry_next(r, &c, MSB_EUNAVAIL, NULL, 5 * MSB_SEC, &d), MSB_RETRY_AGAIN);
    cr_assert_eq(d, 5 * MSB_SEC, "longer than the backoff: the server wins");
    cr_assert_eq(msb_retry_next(r, &c, MSB_EUNAVAIL, NULL, 1, &d), MSB_RETRY_AGAIN);
    cr_assert_eq(d, 200 * MSB_MSEC, "shorter than the backoff: the backoff wins");
    cr_assert_eq(msb_retry_next(r, &c, MSB_EUNAVAIL, NULL, 60 * MSB_SEC, &d), MSB_RETRY_AGAIN,
                 "exactly the cap is honoured");
    cr_assert_eq(msb_retry_next(r, &c, MSB_EUNAVAIL, NULL, 60 * MSB_SEC + 1, &d),
                 MSB_RETRY_RETRY_AFTER);
    msb_retry_free(r);
}

Test(retry_policy, max_elapsed_stops_a_retry_that_would_start_too_late)
{
    msb_retry_opts_t o = MSB_RETRY_OPTS_INIT;
    o.clock = clk;
    o.jitter = MSB_RETRY_JITTER_NONE;
    o.max_attempts = 100;
    o.initial_backoff_ns = MSB_SEC;
    o.max_backoff_ns = MSB_SEC;
    o.max_elapsed_ns = 10 * MSB_SEC;
    o.no_budget = true;
    msb_retry_t *r = NULL;
    cr_assert_eq(msb_retry_new(&o, &r, NULL), MSB_OK);
    msb_retry_call_t c;
    uint64_t d;
    msb_retry_begin(r, &c);
    msb_clock_manual_advance(clk, 9 * MSB_SEC);
    cr_assert_eq(msb_retry_next(r, &c, MSB_ETIMEDOUT, NULL, 0, &d), MSB_RETRY_AGAIN,
                 "starts exactly at the limit");
    msb_clock_manual_advance(clk, 1);
    cr_assert_eq(msb_retry_next(r, &c, MSB_ETIMEDOUT, NULL, 0, &d), MSB_RETRY_NO_TIME);
    msb_retry_free(r);
}

static bool only_503(msb_status_t status, const void *detail, void *user)
{
    (void)status;
    ++*(int *)user;
    return detail != NULL && *(const int *)detail == 503;
}

Test(retry_policy, the_predicate_sees_status_and_detail)
{
    int calls = 0;
    msb_retry_opts_t o = MSB_RETRY_OPTS_INIT;
    o.clock = clk;
    o.retryable = only_503;
    o.user = &calls;
    o.no_budget = true;
    msb_retry_t *r = NULL;
    cr_assert_eq(msb_retry_new(&o, &r, NULL), MSB_OK);
    msb_retry_call_t c;
    uint64_t d;
    int s503 = 503, s400 = 400;
    msb_retry_begin(r, &c);
    cr_assert_eq(msb_retry_next(r, &c, MSB_EPROTO, &s400, 0, &d), MSB_RETRY_NOT_RETRYABLE);
    cr_assert_eq(msb_retry_next(r, &c, MSB_EPROTO, &s503, 0, &d), MSB_RETRY_AGAIN);
    cr_assert_eq(calls, 2);
    cr_assert_null(msb_retry_budget(r));
    msb_retry_free(r);
}
