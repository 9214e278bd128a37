/* The retry budget: retries <= ratio * requests + floor over a sliding window, lock-free. */
#include "breaker/twin.h"
#include "breaker/versioned.h"
#include "core/alloc.h"
#include "core/error.h"
#include "msb/retry.h"

enum { F_REQUESTS = 0, F_RETRIES = 1 };

/* Padded on purpose: hot atomics written by different threads sit on separate cache lines. */
// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding)
struct msb_retry_budget {
    const msb_clock_t *clock;
    double ratio;
    double floor; /* min_retries_per_sec * window seconds */
    msb__twin_t twin;
    _Alignas(MSB_CACHELINE) _Atomic uint64_t exhausted;
};

static msb_status_t validate(const msb_retry_budget_opts_t *o, msb_error_t *err)
{
    if (!(o->ratio >= 0.0 && o->ratio <= 100.0)) {
        return msb__err(err, MSB_EINVAL, "retry budget: ratio %g not in [0, 100]", o->ratio);
    }
    if (!(o->min_retries_per_sec >= 0.0 && o->min_retries_per_sec <= 1e6)) {
        return msb__err(err, MSB_EINVAL, "retry budget: min_retries_per_sec %g not in [0, 1e6]",
                        o->min_retries_per_sec);
    }
    if (o->window_ns < (uint64_t)MSB_MSEC) {
        return msb__err(err, MSB_EINVAL, "retry budget: window_ns %llu is under 1 ms",
                        (unsigned long long)o->window_ns);
    }
    if (o->window_buckets < 1 || o->window_buckets > MSB__TWIN_MAX_BUCKETS) {
        return msb__err(err, MSB_EINVAL, "retry budget: window_buckets %u not in 1..%u",
                        o->window_buckets, MSB__TWIN_MAX_BUCKETS);
    }
    return MSB_OK;
}

msb_status_t msb_retry_budget_new(const msb_retry_budget_opts_t *opts, msb_retry_budget_t **out,
                                  msb_error_t *err)
{
    msb_status_t rc;
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "retry budget: out is NULL");
    }
    *out = NULL;
    msb_retry_budget_opts_t o = MSB_RETRY_BUDGET_OPTS_INIT;
    if (opts != NULL) {
        msb__versioned_copy(&o, sizeof(o), opts, opts->size);
    }
    if ((rc = validate(&o, err)) != MSB_OK) {
        return rc;
    }
    msb_retry_budget_t *b = msb__calloc(1, sizeof(*b));
    if (b == NULL) {
        return msb__err_nomem(err, "a retry budget");
    }
    b->clock = o.clock != NULL ? o.clock : msb_clock_real();
    b->ratio = o.ratio;
    b->floor = o.min_retries_per_sec * ((double)o.window_ns / (double)MSB_SEC);
    atomic_init(&b->exhausted, 0);
    if (msb__twin_init(&b->twin, o.window_ns, o.window_buckets, 2,
                       b->clock->monotonic_ns(b->clock)) != MSB_OK) {
        msb__free(b);
        return msb__err_nomem(err, "a retry budget's window");
    }
    *out = b;
    return MSB_OK;
}

void msb_retry_budget_free(msb_retry_budget_t *b)
{
    if (b == NULL) {
        return;
    }
    msb__twin_destroy(&b->twin);
    msb__free(b);
}

void msb_retry_budget_deposit(msb_retry_budget_t *b)
{
    bool rotated;
    msb__twin_slot_t *s = msb__twin_slot_now(&b->twin, b->clock->monotonic_ns(b->clock), &rotated);
    msb__twin_add_to(&b->twin, s, F_REQUESTS, 1);
}

static double limit(const msb_retry_budget_t *b)
{
    return b->ratio * (double)msb__twin_total(&b->twin, F_REQUESTS) + b->floor;
}

bool msb_retry_budget_withdraw(msb_retry_budget_t *b)
{
    bool rotated;
    msb__twin_slot_t *s = msb__twin_slot_now(&b->twin, b->clock->monotonic_ns(b->clock), &rotated);
    double max = limit(b);
    /* Take the retry on the window's total with a compare-and-swap, so that concurrent callers
     * never exceed the limit; then file it in the current bucket (the twin's total-then-slot
     * order: see breaker/twin.h). */
    int64_t cur = atomic_load_explicit(&b->twin.total[F_RETRIES], memory_order_acquire);
    for (;;) {
        if ((double)(cur < 0 ? 0 : cur) + 1.0 > max + 1e-9) { /* 1e-9: 0.1 * 30 is 3 */
            atomic_fetch_add_explicit(&b->exhausted, 1, memory_order_relaxed);
            return false;
        }
        if (atomic_compare_exchange_weak_explicit(&b->twin.total[F_RETRIES], &cur, cur + 1,
                                                  memory_order_acq_rel, memory_order_acquire)) {
            break;
        }
    }
    atomic_fetch_add_explicit(&s->v[F_RETRIES], 1, memory_order_release);
    return true;
}

void msb_retry_budget_stats(const msb_retry_budget_t *cb, msb_retry_budget_stats_t *out)
{
    msb_retry_budget_t *b = (msb_retry_budget_t *)cb; /* reading moves the window */
    msb__twin_advance(&b->twin, b->clock->monotonic_ns(b->clock));
    msb_retry_budget_stats_t s = {.size = sizeof(s)};
    s.requests = (uint64_t)msb__twin_cumulative(&b->twin, F_REQUESTS);
    s.retries = (uint64_t)msb__twin_cumulative(&b->twin, F_RETRIES);
    s.exhausted = atomic_load_explicit(&b->exhausted, memory_order_relaxed);
    s.window_requests = (uint64_t)msb__twin_total(&b->twin, F_REQUESTS);
    s.window_retries = (uint64_t)msb__twin_total(&b->twin, F_RETRIES);
    double avail = limit(b) - (double)s.window_retries;
    s.available = avail > 0.0 ? avail : 0.0;
    msb__versioned_copy(out, out->size, &s, sizeof(s));
}
