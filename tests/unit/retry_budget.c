/* Retry budget: exhaustion at ratio * requests + floor, the window, sharing between retryers. */
#include <criterion/criterion.h>

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

TestSuite(retry_budget, .init = setup, .fini = teardown);

static msb_retry_budget_t *budget(double ratio, double per_sec)
{
    msb_retry_budget_opts_t o = MSB_RETRY_BUDGET_OPTS_INIT;
    o.clock = clk;
    o.ratio = ratio;
    o.min_retries_per_sec = per_sec;
    o.window_ns = 10 * MSB_SEC;
    o.window_buckets = 10;
    msb_retry_budget_t *b = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_retry_budget_new(&o, &b, &err), MSB_OK, "%s", err.message);
    return b;
}

static int withdraw_all(msb_retry_budget_t *b)
{
    int n = 0;
    while (msb_retry_budget_withdraw(b)) {
        n++;
        cr_assert_lt(n, 1000000);
    }
    return n;
}

Test(retry_budget, exhausts_at_ratio_times_requests_plus_floor)
{
    msb_retry_budget_t *b = budget(0.2, 0.5); /* floor: 0.5/s over 10 s = 5 */
    cr_assert_eq(withdraw_all(b), 5, "the floor alone");
    for (int i = 0; i < 100; i++) {
        msb_retry_budget_deposit(b);
    }
    cr_assert_eq(withdraw_all(b), 20, "0.2 x 100 more");
    msb_retry_budget_stats_t s = {.size = sizeof(s)};
    msb_retry_budget_stats(b, &s);
    cr_assert_eq(s.requests, 100);
    cr_assert_eq(s.retries, 25);
    cr_assert_eq(s.exhausted, 2);
    cr_assert_eq(s.window_retries, 25);
    cr_assert_float_eq(s.available, 0.0, 1e-9);
    msb_retry_budget_free(b);
}

Test(retry_budget, fractional_limits_round_down)
{
    msb_retry_budget_t *b = budget(0.1, 0);
    for (int i = 0; i < 29; i++) {
        msb_retry_budget_deposit(b);
    }
    cr_assert_eq(withdraw_all(b), 2, "0.1 x 29 = 2.9");
    msb_retry_budget_deposit(b);
    cr_assert_eq(withdraw_all(b), 1, "0.1 x 30 = 3 exactly");
    msb_retry_budget_free(b);
}

Test(retry_budget, the_window_forgets_retries_and_requests)
{
    msb_retry_budget_t *b = budget(1.0, 0);
    for (int i = 0; i < 10; i++) {
        msb_retry_budget_deposit(b);
    }
    cr_assert_eq(withdraw_all(b), 10);
    msb_clock_manual_advance(clk, 5 * MSB_SEC);
    for (int i = 0; i < 4; i++) {
        msb_retry_budget_deposit(b);
    }
    cr_assert_eq(withdraw_all(b), 4);
    msb_clock_manual_advance(clk, 5 * MSB_SEC); /* the first 10 and 10 leave together */
    msb_retry_budget_stats_t s = {.size = sizeof(s)};
    msb_retry_budget_stats(b, &s);
    cr_assert_eq(s.window_requests, 4);
    cr_assert_eq(s.window_retries, 4);
    cr_assert_eq(withdraw_all(b), 0);
    msb_clock_manual_advance(clk, 5 * MSB_SEC);
    msb_retry_budget_stats(b, &s);
    cr_assert_eq(s.window_requests, 0);
    cr_assert_eq(s.requests, 14);
    msb_retry_budget_free(b);
}

Test(retry_budget, retryers_share_one_budget)
{
    msb_retry_budget_t *b = budget(0.5, 0);
    msb_retry_opts_t o = MSB_RETRY_OPTS_INIT;
    o.clock = clk;
    o.budget = b;
    o.max_attempts = 100;
    msb_retry_t *r1 = NULL, *r2 = NULL;
    cr_assert_eq(msb_retry_new(&o, &r1, NULL), MSB_OK);
    cr_assert_eq(msb_retry_new(&o, &r2, NULL), MSB_OK);
    cr_assert_eq(msb_retry_budget(r1), b);
    msb_retry_call_t c1, c2;
    uint64_t d;
    msb_retry_begin(r1, &c1); /* two requests: one retry between them */
    msb_retry_begin(r2, &c2);
    cr_assert_eq(msb_retry_next(r1, &c1, MSB_ETIMEDOUT, NULL, 0, &d), MSB_RETRY_AGAIN);
    cr_assert_eq(msb_retry_next(r2, &c2, MSB_ETIMEDOUT, NULL, 0, &d), MSB_RETRY_NO_BUDGET);
    /* A retry that stops for another reason takes nothing from the budget. */
    msb_retry_budget_deposit(b);
    msb_retry_budget_deposit(b);
    cr_assert_eq(msb_retry_next(r2, &c2, MSB_EINVAL, NULL, 0, &d), MSB_RETRY_NOT_RETRYABLE);
    cr_assert_eq(msb_retry_next(r2, &c2, MSB_ETIMEDOUT, NULL, 0, &d), MSB_RETRY_AGAIN);
    msb_retry_free(r1);
    msb_retry_free(r2);
    msb_retry_budget_free(b);
}

Test(retry_budget, on_by_default)
{
    msb_retry_opts_t o = MSB_RETRY_OPTS_INIT;
    o.clock = clk;
    o.max_attempts = 1000;
    o.jitter = MSB_RETRY_JITTER_NONE;
    o.initial_backoff_ns = 1000;
    o.max_backoff_ns = 1000;
    msb_retry_t *r = NULL;
    cr_assert_eq(msb_retry_new(&o, &r, NULL), MSB_OK);
    cr_assert_not_null(msb_retry_budget(r));
    msb_retry_call_t c;
    uint64_t d;
    msb_retry_begin(r, &c);
    int retries = 0;
    while (msb_retry_next(r, &c, MSB_ETIMEDOUT, NULL, 0, &d) == MSB_RETRY_AGAIN) {
        retries++;
    }
    /* 10 retries a second over 10 s, plus 0.2 of the one request. */
    cr_assert_eq(retries, 100);
    msb_retry_free(r);
}
