/* The lock-free limiter: GCRA and token bucket against tables computed by hand, boundaries,
 * options and their errors. Time comes from the manual clock. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "msb/core.h"
#include "msb/ratelimit.h"

#define MS INT64_C(1000000)

static msb_clock_t *clk;

static void setup(void)
{
    /* An arbitrary origin: the limiter must only use differences. */
    cr_assert_eq(msb_clock_manual_new(UINT64_C(777) * MSB_SEC, 0, &clk), MSB_OK);
}

static void teardown(void)
{
    msb_clock_manual_free(clk);
}

TestSuite(ratelimit_local, .init = setup, .fini = teardown);

static msb_ratelimit_t *make(msb_ratelimit_algorithm_t alg, uint64_t rate, int64_t period,
                             uint64_t burst)
{
    msb_ratelimit_opts_t o = MSB_RATELIMIT_OPTS_INIT;
    o.algorithm = alg;
    o.rate = rate;
    o.period_ns = period;
    o.burst = burst;
    o.clock = clk;
    msb_ratelimit_t *rl = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_ratelimit_new(&o, &rl, &err), MSB_OK, "%s", err.message);
    return rl;
}

/* One row: at time `at` (ns since the start) ask for `n`; expect status and the numbers. */
typedef struct row {
    int64_t at;
    uint64_t n;
    msb_status_t status;
    uint64_t remaining;
    int64_t retry_after;
    int64_t reset;
} row_t;

static void run_table(msb_ratelimit_t *rl, const row_t *rows, size_t count)
{
    uint64_t start = msb_clock_monotonic_ns(clk);
    for (size_t i = 0; i < count; i++) {
        const row_t *r = &rows[i];
        msb_clock_manual_set(clk, start + (uint64_t)r->at, 0);
        msb_ratelimit_result_t res;
        msb_status_t st = msb_ratelimit_take(rl, r->n, &res);
        cr_assert_eq(st, r->status, "row %zu: status %s, want %s", i, msb_status_name(st),
                     msb_status_name(r->status));
        cr_assert_eq(res.allowed, r->status == MSB_OK, "row %zu", i);
        cr_assert_eq(res.remaining, r->remaining, "row %zu: remaining %llu, want %llu", i,
                     (unsigned long long)res.remaining, (unsigned long long)r->remaining);
        cr_assert_eq(res.retry_after_ns, r->retry_after, "row %zu: retry_after %lld, want %lld", i,
                     (long long)res.retry_after_ns, (long long)r->retry_after);
        cr_assert_eq(res.reset_ns, r->reset, "row %zu: reset %lld, want %lld", i,
                     (long long)res.reset_ns, (long long)r->reset);
        cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_LOCAL);
    }
}

/*
 * GCRA, 10 a second with a burst of 3: T = 100 ms, tolerance 300 ms. TAT is the theoretical
 * arrival time; a request is granted when max(TAT, now) + n*T - now <= 300 ms.
 */
Test(ratelimit_local, gcra_reference_table)
{
    msb_ratelimit_t *rl = make(MSB_RATELIMIT_GCRA, 10, MSB_SEC, 3);
    const row_t rows[] = {
        /* at       n  status          rem retry    reset */
        {0, 0, MSB_OK, 3, 0, 0},                      /* peek: full */
        {0, 1, MSB_OK, 2, 0, 100 * MS},               /* TAT 100 */
        {0, 1, MSB_OK, 1, 0, 200 * MS},               /* TAT 200 */
        {0, 1, MSB_OK, 0, 0, 300 * MS},               /* TAT 300: burst spent */
        {0, 1, MSB_EREJECTED, 0, 100 * MS, 300 * MS}, /* 400 - 0 > 300 by 100 */
        {50 * MS, 1, MSB_EREJECTED, 0, 50 * MS, 250 * MS},
        {100 * MS - 1, 1, MSB_EREJECTED, 0, 1, 200 * MS + 1}, /* one ns early */
        {100 * MS, 1, MSB_OK, 0, 0, 300 * MS},                /* exactly on time: TAT 400 */
        {150 * MS, 1, MSB_EREJECTED, 0, 50 * MS, 250 * MS},
        {250 * MS, 1, MSB_OK, 0, 0, 250 * MS}, /* TAT 500; 0.5 permit is not one */
        {260 * MS, 1, MSB_EREJECTED, 0, 40 * MS, 240 * MS},
        {350 * MS, 0, MSB_OK, 1, 0, 150 * MS},  /* peek: one permit back */
        {1000 * MS, 1, MSB_OK, 2, 0, 100 * MS}, /* idle: TAT 1100 (no credit beyond 3) */
        {1000 * MS, 3, MSB_EREJECTED, 2, 100 * MS, 100 * MS}, /* 1400 - 1000 > 300 */
        {1000 * MS, 2, MSB_OK, 0, 0, 300 * MS},               /* all or nothing: TAT 1300 */
        {1000 * MS, 4, MSB_ERANGE, 0, -1, 300 * MS},          /* more than the burst: never */
    };
    run_table(rl, rows, sizeof(rows) / sizeof(rows[0]));
    msb_ratelimit_free(rl);
}

/*
 * Token bucket, 2 tokens every 1000 ms, capacity 3, periods counted from creation. Tokens at t:
 * min(3, tokens left + 2 per boundary crossed).
 */
Test(ratelimit_local, token_bucket_reference_table)
{
    msb_ratelimit_t *rl = make(MSB_RATELIMIT_TOKEN_BUCKET, 2, 1000 * MS, 3);
    const row_t rows[] = {
        /* at        n  status         rem retry     reset */
        {0, 1, MSB_OK, 2, 0, 1000 * MS}, /* 3 -> 2; one boundary refills it */
        {0, 1, MSB_OK, 1, 0, 1000 * MS}, /* 2 -> 1; +2 at 1000 */
        {0, 1, MSB_OK, 0, 0, 2000 * MS}, /* 1 -> 0; needs two boundaries */
        {0, 1, MSB_EREJECTED, 0, 1000 * MS, 2000 * MS},
        {999 * MS, 1, MSB_EREJECTED, 0, 1 * MS, 1001 * MS}, /* just before the boundary */
        {1000 * MS - 1, 1, MSB_EREJECTED, 0, 1, 1000 * MS + 1},
        {1000 * MS, 1, MSB_OK, 1, 0, 1000 * MS}, /* boundary: 0 + 2 = 2 -> 1 */
        {1000 * MS, 1, MSB_OK, 0, 0, 2000 * MS}, /* 1 -> 0 */
        {1500 * MS, 1, MSB_EREJECTED, 0, 500 * MS, 1500 * MS},
        {5000 * MS, 0, MSB_OK, 3, 0, 0}, /* idle: capped at 3, not 8 */
        {5000 * MS, 1, MSB_OK, 2, 0, 1000 * MS},
        {5000 * MS, 3, MSB_EREJECTED, 2, 1000 * MS, 1000 * MS},
        {5000 * MS, 2, MSB_OK, 0, 0, 2000 * MS},
        {5500 * MS, 1, MSB_EREJECTED, 0, 500 * MS, 1500 * MS},
        {6000 * MS, 2, MSB_OK, 0, 0, 2000 * MS}, /* the boundary's 2 tokens at once */
        {6000 * MS, 4, MSB_ERANGE, 0, -1, 2000 * MS},
    };
    run_table(rl, rows, sizeof(rows) / sizeof(rows[0]));
    msb_ratelimit_free(rl);
}

Test(ratelimit_local, gcra_rounds_the_interval_up)
{
    /* 3 a second: T = ceil(1e9 / 3) = 333333334 ns, so three permits never fit in 1 s - 1 ns. */
    msb_ratelimit_t *rl = make(MSB_RATELIMIT_GCRA, 3, MSB_SEC, 1);
    cr_assert(msb_ratelimit_allow(rl));
    cr_assert_not(msb_ratelimit_allow(rl));
    msb_clock_manual_advance(clk, 333333333);
    cr_assert_not(msb_ratelimit_allow(rl));
    msb_clock_manual_advance(clk, 1);
    cr_assert(msb_ratelimit_allow(rl));
    msb_ratelimit_free(rl);
}

Test(ratelimit_local, allow_matches_take)
{
    msb_ratelimit_t *rl = make(MSB_RATELIMIT_GCRA, 5, MSB_SEC, 5);
    int granted = 0;
    for (int i = 0; i < 20; i++) {
        granted += msb_ratelimit_allow(rl) ? 1 : 0;
    }
    cr_assert_eq(granted, 5);
    msb_clock_manual_advance(clk, 200 * MS);
    cr_assert(msb_ratelimit_allow(rl));
    cr_assert_not(msb_ratelimit_allow(rl));
    /* Over a long run with one attempt every 10 ms: exactly one permit per 200 ms. */
    granted = 0;
    for (int i = 0; i < 1000; i++) {
        msb_clock_manual_advance(clk, 10 * MS);
        granted += msb_ratelimit_allow(rl) ? 1 : 0;
    }
    cr_assert_eq(granted, 50);
    msb_ratelimit_free(rl);
}

Test(ratelimit_local, reset_makes_it_full)
{
    msb_ratelimit_t *rl = make(MSB_RATELIMIT_TOKEN_BUCKET, 1, MSB_SEC, 2);
    cr_assert(msb_ratelimit_allow(rl));
    cr_assert(msb_ratelimit_allow(rl));
    cr_assert_not(msb_ratelimit_allow(rl));
    msb_ratelimit_reset(rl);
    msb_ratelimit_result_t res;
    cr_assert_eq(msb_ratelimit_take(rl, 0, &res), MSB_OK);
    cr_assert_eq(res.remaining, 2);
    cr_assert_eq(res.reset_ns, 0);
    msb_ratelimit_reset(NULL);
    msb_ratelimit_free(rl);
}

Test(ratelimit_local, window_and_limit)
{
    msb_ratelimit_result_t res;
    msb_ratelimit_t *g = make(MSB_RATELIMIT_GCRA, 100, 60 * MSB_SEC, 20);
    cr_assert_eq(msb_ratelimit_take(g, 1, &res), MSB_OK);
    cr_assert_eq(res.limit, 20);
    cr_assert_eq(res.window_ns, 20 * 600 * MS); /* 20 permits of 600 ms */
    msb_ratelimit_free(g);
    msb_ratelimit_t *t = make(MSB_RATELIMIT_TOKEN_BUCKET, 10, MSB_SEC, 25);
    cr_assert_eq(msb_ratelimit_take(t, 1, &res), MSB_OK);
    cr_assert_eq(res.window_ns, 3 * MSB_SEC); /* 25 tokens need three refills of 10 */
    msb_ratelimit_free(t);
}

Test(ratelimit_local, default_burst_is_rate)
{
    msb_ratelimit_t *rl = make(MSB_RATELIMIT_GCRA, 4, MSB_SEC, 0);
    msb_ratelimit_result_t res;
    msb_ratelimit_take(rl, 0, &res);
    cr_assert_eq(res.limit, 4);
    msb_ratelimit_free(rl);
}

Test(ratelimit_local, null_arguments)
{
    cr_assert_not(msb_ratelimit_allow(NULL));
    cr_assert_eq(msb_ratelimit_take(NULL, 1, NULL), MSB_EINVAL);
    msb_ratelimit_free(NULL);
    msb_ratelimit_opts_t o = MSB_RATELIMIT_OPTS_INIT;
    o.rate = 1;
    cr_assert_eq(msb_ratelimit_new(&o, NULL, NULL), MSB_EINVAL);
    /* no result wanted */
    msb_ratelimit_t *rl = make(MSB_RATELIMIT_GCRA, 1, MSB_SEC, 1);
    cr_assert_eq(msb_ratelimit_take(rl, 1, NULL), MSB_OK);
    cr_assert_eq(msb_ratelimit_take(rl, 1, NULL), MSB_EREJECTED);
    cr_assert_eq(msb_ratelimit_take(rl, 2, NULL), MSB_ERANGE);
    msb_ratelimit_free(rl);
}

Test(ratelimit_local, default_clock_is_real)
{
    msb_ratelimit_opts_t o = MSB_RATELIMIT_OPTS_INIT;
    o.rate = 1;
    o.period_ns = 3600 * MSB_SEC;
    msb_ratelimit_t *rl = NULL;
    cr_assert_eq(msb_ratelimit_new(&o, &rl, NULL), MSB_OK);
    cr_assert(msb_ratelimit_allow(rl));
    cr_assert_not(msb_ratelimit_allow(rl));
    msb_ratelimit_free(rl);
}

/* A program built against an older, shorter options struct: the fields past its size are not
 * read, whatever the memory after them holds. */
Test(ratelimit_local, older_options_struct)
{
    msb_ratelimit_opts_t o;
    memset(&o, 0xff, sizeof(o));
    o.size = offsetof(msb_ratelimit_opts_t, period_ns);
    o.algorithm = MSB_RATELIMIT_GCRA;
    o.rate = 2;
    msb_ratelimit_t *rl = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_ratelimit_new(&o, &rl, &err), MSB_OK, "%s", err.message);
    msb_ratelimit_result_t res;
    msb_ratelimit_take(rl, 0, &res);
    cr_assert_eq(res.limit, 2);           /* burst defaulted to rate */
    cr_assert_eq(res.window_ns, MSB_SEC); /* period defaulted to 1 s */
    msb_ratelimit_free(rl);
}

static void expect_einval(const msb_ratelimit_opts_t *o, const char *field)
{
    msb_ratelimit_t *rl = (msb_ratelimit_t *)0x1;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_ratelimit_new(o, &rl, &err), MSB_EINVAL, "%s", field);
    cr_assert_eq(err.code, MSB_EINVAL);
    cr_assert_not_null(strstr(err.message, field), "message \"%s\" should name %s", err.message,
                       field);
    cr_assert_eq(rl, (msb_ratelimit_t *)0x1, "out untouched on failure");
}

Test(ratelimit_local, every_option_error)
{
    expect_einval(NULL, "rate");
    msb_ratelimit_opts_t o = MSB_RATELIMIT_OPTS_INIT;
    o.size = 2;
    expect_einval(&o, "MSB_RATELIMIT_OPTS_INIT");

    o = (msb_ratelimit_opts_t)MSB_RATELIMIT_OPTS_INIT;
    expect_einval(&o, "rate"); /* rate has no default */

    o.rate = 1;
    o.algorithm = (msb_ratelimit_algorithm_t)7;
    expect_einval(&o, "algorithm");

    o.algorithm = MSB_RATELIMIT_TOKEN_BUCKET;
    o.period_ns = 0;
    expect_einval(&o, "period_ns");
    o.period_ns = -5;
    expect_einval(&o, "period_ns");

    o.period_ns = 1000;
    o.rate = 1001; /* more than one a nanosecond */
    expect_einval(&o, "rate");

    o.rate = 1000; /* exactly one a nanosecond is fine */
    msb_ratelimit_t *rl = NULL;
    cr_assert_eq(msb_ratelimit_new(&o, &rl, NULL), MSB_OK);
    msb_ratelimit_free(rl);

    o.algorithm = MSB_RATELIMIT_GCRA;
    o.rate = 1;
    o.period_ns = MSB_SEC;
    o.burst = UINT64_C(1) << 40; /* 2^40 permits of 1 s: far beyond 2^62 ns */
    expect_einval(&o, "burst");
}

static int fail_at;
static int calls;

static void *fail_malloc(size_t n, void *u)
{
    (void)u;
    return ++calls == fail_at ? NULL : malloc(n);
}

static void *fail_realloc(void *p, size_t n, void *u)
{
    (void)u;
    return ++calls == fail_at ? NULL : realloc(p, n);
}

static void plain_free(void *p, void *u)
{
    (void)u;
    free(p);
}

Test(ratelimit_local, out_of_memory)
{
    msb_allocator_t a = {fail_malloc, fail_realloc, plain_free, NULL};
    cr_assert_eq(msb_set_allocator(&a), MSB_OK);
    msb_ratelimit_opts_t o = MSB_RATELIMIT_OPTS_INIT;
    o.rate = 1;
    o.clock = clk;
    for (fail_at = 1;; fail_at++) {
        calls = 0;
        msb_ratelimit_t *rl = NULL;
        msb_error_t err = MSB_ERROR_INIT;
        msb_status_t st = msb_ratelimit_new(&o, &rl, &err);
        if (st == MSB_OK) {
            msb_ratelimit_free(rl);
            break;
        }
        cr_assert_eq(st, MSB_ENOMEM);
        cr_assert_not_null(strstr(err.message, "rate limiter"));
    }
    cr_assert_gt(fail_at, 1, "the constructor allocates");
    msb_set_allocator(NULL);
}
