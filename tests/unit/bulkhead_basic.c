/* Bulkhead: places, try-acquire, bounded waits (woken by a release, or timing out). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>

#include "msb/bulkhead.h"
#include "msb/clock.h"
#include "support/failing_alloc.h"

static msb_bulkhead_t *make(uint32_t max, uint64_t max_wait, const msb_clock_t *clock)
{
    msb_bulkhead_opts_t o = MSB_BULKHEAD_OPTS_INIT;
    o.max_concurrent = max;
    o.max_wait_ns = max_wait;
    o.clock = clock;
    msb_bulkhead_t *b = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_bulkhead_new(&o, &b, &err), MSB_OK, "%s", err.message);
    return b;
}

static msb_bulkhead_stats_t stats(msb_bulkhead_t *b)
{
    msb_bulkhead_stats_t s = {.size = sizeof(s)};
    msb_bulkhead_stats(b, &s);
    return s;
}

Test(bulkhead_basic, try_acquire_grants_exactly_the_places)
{
    msb_bulkhead_t *b = make(3, 0, NULL);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(msb_bulkhead_try_acquire(b), MSB_OK);
    }
    cr_assert_eq(msb_bulkhead_try_acquire(b), MSB_EREJECTED);
    cr_assert_eq(msb_bulkhead_acquire(b, UINT64_MAX), MSB_EREJECTED, "max_wait 0: no wait");
    msb_bulkhead_release(b);
    cr_assert_eq(msb_bulkhead_acquire(b, 0), MSB_OK);
    msb_bulkhead_stats_t s = stats(b);
    cr_assert_eq(s.max_concurrent, 3);
    cr_assert_eq(s.in_use, 3);
    cr_assert_eq(s.acquired, 4);
    cr_assert_eq(s.rejected, 2);
    cr_assert_eq(s.timeouts, 0);
    msb_bulkhead_free(b);
}

Test(bulkhead_basic, defaults_and_validation)
{
    msb_bulkhead_t *b = NULL;
    cr_assert_eq(msb_bulkhead_new(NULL, &b, NULL), MSB_OK);
    cr_assert_eq(stats(b).max_concurrent, 25);
    msb_bulkhead_free(b);
    msb_bulkhead_free(NULL);
    msb_error_t err = MSB_ERROR_INIT;
    msb_bulkhead_opts_t o = MSB_BULKHEAD_OPTS_INIT;
    o.max_concurrent = 0;
    cr_assert_eq(msb_bulkhead_new(&o, &b, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "bulkhead: max_concurrent 0 not in 1..1000000");
    o.max_concurrent = 1000001;
    cr_assert_eq(msb_bulkhead_new(&o, &b, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "bulkhead: max_concurrent 1000001 not in 1..1000000");
    cr_assert_eq(msb_bulkhead_new(NULL, NULL, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "bulkhead: out is NULL");
}

Test(bulkhead_basic, allocation_failure_is_enomem)
{
    MSB_FAILING_ALLOC_LOOP(n)
    {
        failing_alloc_install(n);
        msb_bulkhead_t *b = NULL;
        msb_status_t rc = msb_bulkhead_new(NULL, &b, NULL);
        msb_bulkhead_free(b);
        failing_alloc_remove();
        cr_assert(rc == MSB_OK || rc == MSB_ENOMEM);
        cr_assert_eq(failing_alloc_live(), 0);
        if (rc == MSB_OK) {
            break;
        }
    }
}

typedef struct waiter {
    msb_bulkhead_t *b;
    uint64_t timeout;
    msb_status_t rc;
} waiter_t;

static void *wait_thread(void *p)
{
    waiter_t *w = p;
    w->rc = msb_bulkhead_acquire(w->b, w->timeout);
    return NULL;
}

static void await_waiters(msb_bulkhead_t *b, uint32_t n)
{
    while (stats(b).waiting != n) {
        sched_yield();
    }
}

Test(bulkhead_basic, a_release_wakes_a_waiter)
{
    msb_bulkhead_t *b = make(1, 3600 * MSB_SEC, NULL);
    cr_assert_eq(msb_bulkhead_try_acquire(b), MSB_OK);
    waiter_t w = {b, UINT64_MAX, MSB_EINTERNAL};
    pthread_t th;
    pthread_create(&th, NULL, wait_thread, &w);
    await_waiters(b, 1);
    msb_bulkhead_release(b);
    pthread_join(th, NULL);
    cr_assert_eq(w.rc, MSB_OK);
    cr_assert_eq(stats(b).in_use, 1);
    cr_assert_eq(stats(b).waiting, 0);
    msb_bulkhead_release(b);
    msb_bulkhead_free(b);
}

Test(bulkhead_basic, a_wait_times_out_on_its_clock)
{
    msb_clock_t *clk = NULL;
    cr_assert_eq(msb_clock_manual_new(1000 * MSB_SEC, 0, &clk), MSB_OK);
    msb_bulkhead_t *b = make(1, 10 * MSB_SEC, clk);
    cr_assert_eq(msb_bulkhead_try_acquire(b), MSB_OK);
    waiter_t w = {b, 5 * MSB_SEC, MSB_EINTERNAL}; /* the caller's bound is the smaller */
    pthread_t th;
    pthread_create(&th, NULL, wait_thread, &w);
    await_waiters(b, 1);
    msb_clock_manual_advance(clk, 5 * MSB_SEC);
    pthread_join(th, NULL);
    cr_assert_eq(w.rc, MSB_ETIMEDOUT);
    msb_bulkhead_stats_t s = stats(b);
    cr_assert_eq(s.timeouts, 1);
    cr_assert_eq(s.waiting, 0);
    cr_assert_eq(s.in_use, 1);
    msb_bulkhead_free(b);
    msb_clock_manual_free(clk);
}

Test(bulkhead_basic, a_real_short_wait_times_out)
{
    msb_bulkhead_t *b = make(1, 2 * MSB_MSEC, NULL);
    cr_assert_eq(msb_bulkhead_try_acquire(b), MSB_OK);
    uint64_t t0 = msb_clock_monotonic_ns(NULL);
    cr_assert_eq(msb_bulkhead_acquire(b, UINT64_MAX), MSB_ETIMEDOUT);
    cr_assert_geq(msb_clock_monotonic_ns(NULL) - t0, 2 * MSB_MSEC);
    msb_bulkhead_free(b);
}
