/* Bulkhead: a lock-free counter of places, and a condition variable for bounded waits. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "breaker/versioned.h"
#include "core/alloc.h"
#include "core/error.h"
#include "msb/bulkhead.h"

#define MAX_PLACES 1000000u

struct msb_bulkhead {
    _Alignas(MSB_CACHELINE) _Atomic uint32_t in_use;
    _Atomic uint32_t waiting;
    uint32_t max;
    uint64_t max_wait_ns;
    const msb_clock_t *clock;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    _Alignas(MSB_CACHELINE) _Atomic uint64_t acquired;
    _Atomic uint64_t rejected;
    _Atomic uint64_t timeouts;
};

msb_status_t msb_bulkhead_new(const msb_bulkhead_opts_t *opts, msb_bulkhead_t **out,
                              msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "bulkhead: out is NULL");
    }
    *out = NULL;
    msb_bulkhead_opts_t o = MSB_BULKHEAD_OPTS_INIT;
    if (opts != NULL) {
        msb__versioned_copy(&o, sizeof(o), opts, opts->size);
    }
    if (o.max_concurrent < 1 || o.max_concurrent > MAX_PLACES) {
        return msb__err(err, MSB_EINVAL, "bulkhead: max_concurrent %u not in 1..%u",
                        o.max_concurrent, MAX_PLACES);
    }
    msb_bulkhead_t *b = msb__calloc(1, sizeof(*b));
    if (b == NULL) {
        return msb__err_nomem(err, "a bulkhead");
    }
    b->max = o.max_concurrent;
    b->max_wait_ns = o.max_wait_ns;
    b->clock = o.clock != NULL ? o.clock : msb_clock_real();
    atomic_init(&b->in_use, 0);
    atomic_init(&b->waiting, 0);
    atomic_init(&b->acquired, 0);
    atomic_init(&b->rejected, 0);
    atomic_init(&b->timeouts, 0);
    pthread_condattr_t a;
    int rc = pthread_condattr_init(&a);
    if (rc == 0) {
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        rc = pthread_cond_init(&b->cv, &a);
        pthread_condattr_destroy(&a);
    }
    if (rc == 0 && pthread_mutex_init(&b->mu, NULL) != 0) {
        pthread_cond_destroy(&b->cv);
        rc = -1;
    }
    if (rc != 0) {
        msb__free(b);
        return msb__err(err, MSB_ENOMEM, "bulkhead: cannot create its mutex or condition");
    }
    *out = b;
    return MSB_OK;
}

void msb_bulkhead_free(msb_bulkhead_t *b)
{
    if (b == NULL) {
        return;
    }
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    msb__free(b);
}

static bool take(msb_bulkhead_t *b)
{
    uint32_t n = atomic_load_explicit(&b->in_use, memory_order_relaxed);
    while (n < b->max) {
        if (atomic_compare_exchange_weak_explicit(&b->in_use, &n, n + 1, memory_order_seq_cst,
                                                  memory_order_relaxed)) {
            atomic_fetch_add_explicit(&b->acquired, 1, memory_order_relaxed);
            return true;
        }
    }
    return false;
}

msb_status_t msb_bulkhead_try_acquire(msb_bulkhead_t *b)
{
    if (take(b)) {
        return MSB_OK;
    }
    atomic_fetch_add_explicit(&b->rejected, 1, memory_order_relaxed);
    return MSB_EREJECTED;
}

static struct timespec real_deadline(uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t = (uint64_t)ts.tv_nsec + ns % (uint64_t)MSB_SEC;
    ts.tv_sec += (time_t)(ns / (uint64_t)MSB_SEC + t / (uint64_t)MSB_SEC);
    ts.tv_nsec = (long)(t % (uint64_t)MSB_SEC);
    return ts;
}

/*
 * The wait. `waiting` is raised under the lock before each attempt to take a place, and a
 * releaser reads it after freeing one (both sequentially consistent): either the waiter's
 * attempt sees the freed place, or the releaser sees the waiter and signals under the lock,
 * which the waiter only gives up inside pthread_cond_timedwait: no wake-up is lost.
 */
static msb_status_t wait_for_place(msb_bulkhead_t *b, uint64_t bound)
{
    const bool real = b->clock == msb_clock_real();
    uint64_t start = b->clock->monotonic_ns(b->clock);
    uint64_t deadline = bound > UINT64_MAX - start ? UINT64_MAX : start + bound;
    msb_status_t rc = MSB_ETIMEDOUT;
    pthread_mutex_lock(&b->mu);
    atomic_fetch_add_explicit(&b->waiting, 1, memory_order_seq_cst);
    for (;;) {
        if (take(b)) {
            rc = MSB_OK;
            break;
        }
        uint64_t now = b->clock->monotonic_ns(b->clock);
        if (now >= deadline) {
            break;
        }
        /* With the real clock, sleep until the deadline; with any other clock, re-read it
         * every millisecond (a test's manual clock moves only when the test moves it). */
        uint64_t left = deadline - now;
        if (!real && left > (uint64_t)MSB_MSEC) {
            left = (uint64_t)MSB_MSEC;
        }
        struct timespec until = real_deadline(left);
        int w = pthread_cond_timedwait(&b->cv, &b->mu, &until);
        if (w != 0 && w != ETIMEDOUT && w != EINTR) {
            break;
        }
    }
    atomic_fetch_sub_explicit(&b->waiting, 1, memory_order_seq_cst);
    pthread_mutex_unlock(&b->mu);
    if (rc != MSB_OK) {
        atomic_fetch_add_explicit(&b->timeouts, 1, memory_order_relaxed);
    }
    return rc;
}

msb_status_t msb_bulkhead_acquire(msb_bulkhead_t *b, uint64_t timeout_ns)
{
    if (take(b)) {
        return MSB_OK;
    }
    uint64_t bound = timeout_ns < b->max_wait_ns ? timeout_ns : b->max_wait_ns;
    if (bound == 0) {
        atomic_fetch_add_explicit(&b->rejected, 1, memory_order_relaxed);
        return MSB_EREJECTED;
    }
    return wait_for_place(b, bound);
}

void msb_bulkhead_release(msb_bulkhead_t *b)
{
    atomic_fetch_sub_explicit(&b->in_use, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&b->waiting, memory_order_seq_cst) != 0) {
        pthread_mutex_lock(&b->mu);
        pthread_cond_signal(&b->cv);
        pthread_mutex_unlock(&b->mu);
    }
}

void msb_bulkhead_stats(const msb_bulkhead_t *b, msb_bulkhead_stats_t *out)
{
    msb_bulkhead_stats_t s = {.size = sizeof(s)};
    s.max_concurrent = b->max;
    s.in_use = atomic_load_explicit(&b->in_use, memory_order_relaxed);
    s.waiting = atomic_load_explicit(&b->waiting, memory_order_relaxed);
    s.acquired = atomic_load_explicit(&b->acquired, memory_order_relaxed);
    s.rejected = atomic_load_explicit(&b->rejected, memory_order_relaxed);
    s.timeouts = atomic_load_explicit(&b->timeouts, memory_order_relaxed);
    msb__versioned_copy(out, out->size, &s, sizeof(s));
}
