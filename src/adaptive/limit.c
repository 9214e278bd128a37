/* Adaptive concurrency limit: AIMD and the latency gradient of Netflix's Gradient2. */
#include <math.h>
#include <stdatomic.h>

#include "breaker/versioned.h"
#include "core/alloc.h"
#include "core/error.h"
#include "msb/adaptive.h"

/* The current window, packed: samples | busy samples << 24 | drops << 48. */
#define W_BUSY   (UINT64_C(1) << 24)
#define W_DROP   (UINT64_C(1) << 48)
#define W_MASK24 ((UINT64_C(1) << 24) - 1)
/* A window this full closes whatever its age (the drop field is 16 bits). */
#define W_FORCE 32768u
/* Samples averaged plainly before the long average becomes exponential. */
#define WARMUP    10
#define MAX_LIMIT 1000000u

/* Padded on purpose: hot atomics written by different threads sit on separate cache lines. */
// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding)
struct msb_adaptive_limit {
    /* acquire reads both; limit changes once per window */
    _Alignas(MSB_CACHELINE) _Atomic uint32_t inflight;
    _Atomic uint32_t limit;
    _Alignas(MSB_CACHELINE) _Atomic uint64_t win;
    _Atomic uint64_t win_rtt; /* sum of the window's latencies, ns */
    _Atomic int updating;
    _Atomic uint64_t win_start; /* when the window opened (with window_min_ns) */
    _Alignas(MSB_CACHELINE) _Atomic uint64_t rejected;
    _Atomic uint64_t ignored;
    _Atomic uint64_t samples; /* folded into the limit */
    _Atomic uint64_t dropped;
    _Atomic uint64_t updates;
    _Atomic uint64_t short_bits, long_bits; /* doubles, for the statistics */
    /* options */
    msb_adaptive_algorithm_t algorithm;
    uint32_t min_limit, max_limit, window_samples, queue_size;
    double backoff, tolerance, smoothing, long_alpha;
    uint64_t timeout_ns;
    const msb_clock_t *clock;
    uint64_t window_min_ns;
    /* the updater's own state (under `updating`) */
    double limit_f, long_rtt;
    uint64_t long_n;
};

static msb_status_t validate(const msb_adaptive_limit_opts_t *o, msb_error_t *err)
{
    if ((unsigned)o->algorithm > MSB_ADAPTIVE_AIMD) {
        return msb__err(err, MSB_EINVAL, "adaptive limit: algorithm %d is not an algorithm",
                        (int)o->algorithm);
    }
    if (o->min_limit < 1 || o->max_limit > MAX_LIMIT || o->min_limit > o->max_limit) {
        return msb__err(err, MSB_EINVAL,
                        "adaptive limit: min_limit %u and max_limit %u must satisfy "
                        "1 <= min_limit <= max_limit <= %u",
                        o->min_limit, o->max_limit, MAX_LIMIT);
    }
    if (o->initial_limit < o->min_limit || o->initial_limit > o->max_limit) {
        return msb__err(err, MSB_EINVAL, "adaptive limit: initial_limit %u not in [%u, %u]",
                        o->initial_limit, o->min_limit, o->max_limit);
    }
    if (o->window_samples < 1 || o->window_samples > 10000) {
        return msb__err(err, MSB_EINVAL, "adaptive limit: window_samples %u not in 1..10000",
                        o->window_samples);
    }
    if (!(o->backoff_ratio >= 0.5 && o->backoff_ratio < 1.0)) {
        return msb__err(err, MSB_EINVAL, "adaptive limit: backoff_ratio %g not in [0.5, 1)",
                        o->backoff_ratio);
    }
    if (!(o->rtt_tolerance >= 1.0 && o->rtt_tolerance <= 10.0)) {
        return msb__err(err, MSB_EINVAL, "adaptive limit: rtt_tolerance %g not in [1, 10]",
                        o->rtt_tolerance);
    }
    if (!(o->smoothing > 0.0 && o->smoothing <= 1.0)) {
        return msb__err(err, MSB_EINVAL, "adaptive limit: smoothing %g not in (0, 1]",
                        o->smoothing);
    }
    if (o->long_window < 10) {
        return msb__err(err, MSB_EINVAL, "adaptive limit: long_window %u is under 10",
                        o->long_window);
    }
    if (o->queue_size > 1000) {
        return msb__err(err, MSB_EINVAL, "adaptive limit: queue_size %u is over 1000",
                        o->queue_size);
    }
    return MSB_OK;
}

static uint64_t dbits(double d)
{
    union {
        double d;
        uint64_t u;
    } v = {.d = d};
    return v.u;
}

static double bitsd(uint64_t u)
{
    union {
        uint64_t u;
        double d;
    } v = {.u = u};
    return v.d;
}

msb_status_t msb_adaptive_limit_new(const msb_adaptive_limit_opts_t *opts,
                                    msb_adaptive_limit_t **out, msb_error_t *err)
{
    msb_status_t rc;
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "adaptive limit: out is NULL");
    }
    *out = NULL;
    msb_adaptive_limit_opts_t o = MSB_ADAPTIVE_LIMIT_OPTS_INIT;
    if (opts != NULL) {
        msb__versioned_copy(&o, sizeof(o), opts, opts->size);
    }
    if ((rc = validate(&o, err)) != MSB_OK) {
        return rc;
    }
    msb_adaptive_limit_t *l = msb__calloc(1, sizeof(*l));
    if (l == NULL) {
        return msb__err_nomem(err, "an adaptive limit");
    }
    l->algorithm = o.algorithm;
    l->min_limit = o.min_limit;
    l->max_limit = o.max_limit;
    l->window_samples = o.window_samples;
    l->queue_size = o.queue_size;
    l->backoff = o.backoff_ratio;
    l->tolerance = o.rtt_tolerance;
    l->smoothing = o.smoothing;
    l->long_alpha = 2.0 / ((double)o.long_window + 1.0);
    l->timeout_ns = o.timeout_ns;
    l->clock = o.clock != NULL ? o.clock : msb_clock_real();
    l->window_min_ns = o.window_min_ns;
    if (l->window_min_ns != 0) {
        atomic_init(&l->win_start, l->clock->monotonic_ns(l->clock));
    }
    l->limit_f = (double)o.initial_limit;
    atomic_init(&l->limit, o.initial_limit);
    *out = l;
    return MSB_OK;
}

void msb_adaptive_limit_free(msb_adaptive_limit_t *l)
{
    msb__free(l);
}

msb_status_t msb_adaptive_limit_acquire(msb_adaptive_limit_t *l)
{
    uint32_t n = atomic_load_explicit(&l->inflight, memory_order_relaxed);
    uint32_t lim = atomic_load_explicit(&l->limit, memory_order_relaxed);
    while (n < lim) {
        if (atomic_compare_exchange_weak_explicit(&l->inflight, &n, n + 1, memory_order_acquire,
                                                  memory_order_relaxed)) {
            return MSB_OK;
        }
    }
    atomic_fetch_add_explicit(&l->rejected, 1, memory_order_relaxed);
    return MSB_EREJECTED;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Gradient2, applied once for each of the window's `busy` samples in closed form. */
static void update_gradient(msb_adaptive_limit_t *l, double short_rtt, uint32_t n, uint32_t busy)
{
    if (short_rtt < 1.0) {
        short_rtt = 1.0;
    }
    if (l->long_n < WARMUP) {
        l->long_rtt = (l->long_rtt * (double)l->long_n + short_rtt * n) / (double)(l->long_n + n);
    } else {
        double a = 1.0 - pow(1.0 - l->long_alpha, (double)n);
        l->long_rtt += a * (short_rtt - l->long_rtt);
    }
    l->long_n += n;
    /* After a long spell of high latency, let the long average come back down faster. */
    if (l->long_rtt / short_rtt > 2.0) {
        l->long_rtt *= 0.95;
    }
    atomic_store_explicit(&l->short_bits, dbits(short_rtt), memory_order_relaxed);
    atomic_store_explicit(&l->long_bits, dbits(l->long_rtt), memory_order_relaxed);
    if (busy == 0) {
        return; /* the application, not the limit, held the concurrency down: learn nothing */
    }
    double g = clamp(l->tolerance * l->long_rtt / short_rtt, 0.5, 1.0);
    double a = 1.0 - l->smoothing + l->smoothing * g; /* limit' = a * limit + b, per sample */
    double b = l->smoothing * (double)l->queue_size;
    double an = pow(a, (double)busy);
    if (fabs(1.0 - a) < 1e-12) {
        l->limit_f += b * busy;
    } else {
        l->limit_f = an * l->limit_f + b * (1.0 - an) / (1.0 - a);
    }
}

static void update(msb_adaptive_limit_t *l, bool force)
{
    int expected = 0;
    uint64_t now = 0;
    if (l->window_min_ns != 0) {
        now = l->clock->monotonic_ns(l->clock);
        if (!force &&
            now - atomic_load_explicit(&l->win_start, memory_order_relaxed) < l->window_min_ns) {
            return; /* not long enough yet: keep gathering */
        }
    }
    if (!atomic_compare_exchange_strong_explicit(&l->updating, &expected, 1, memory_order_acquire,
                                                 memory_order_relaxed)) {
        return; /* another thread is folding a window in: this one goes into the next */
    }
    if (l->window_min_ns != 0) {
        atomic_store_explicit(&l->win_start, now, memory_order_relaxed);
    }
    uint64_t w = atomic_exchange_explicit(&l->win, 0, memory_order_acq_rel);
    uint64_t sum = atomic_exchange_explicit(&l->win_rtt, 0, memory_order_acq_rel);
    uint32_t n = (uint32_t)(w & W_MASK24);
    if (n > 0) {
        uint32_t busy = (uint32_t)((w >> 24) & W_MASK24);
        uint32_t drops = (uint32_t)(w >> 48);
        if (l->algorithm == MSB_ADAPTIVE_AIMD) {
            l->limit_f = drops > 0 ? l->limit_f * l->backoff : l->limit_f + busy;
        } else {
            update_gradient(l, (double)sum / (double)n, n, busy);
        }
        l->limit_f = clamp(l->limit_f, (double)l->min_limit, (double)l->max_limit);
        atomic_store_explicit(&l->limit, (uint32_t)l->limit_f, memory_order_relaxed);
        atomic_fetch_add_explicit(&l->samples, n, memory_order_relaxed);
        atomic_fetch_add_explicit(&l->dropped, drops, memory_order_relaxed);
        atomic_fetch_add_explicit(&l->updates, 1, memory_order_relaxed);
    }
    atomic_store_explicit(&l->updating, 0, memory_order_release);
}

void msb_adaptive_limit_release(msb_adaptive_limit_t *l, uint64_t latency_ns,
                                msb_adaptive_outcome_t outcome)
{
    uint32_t before = atomic_fetch_sub_explicit(&l->inflight, 1, memory_order_release);
    if (MSB_UNLIKELY(outcome != MSB_ADAPTIVE_SUCCESS && outcome != MSB_ADAPTIVE_DROPPED)) {
        atomic_fetch_add_explicit(&l->ignored, 1, memory_order_relaxed);
        return;
    }
    uint32_t lim = atomic_load_explicit(&l->limit, memory_order_relaxed);
    bool drop =
        outcome == MSB_ADAPTIVE_DROPPED ||
        (l->algorithm == MSB_ADAPTIVE_AIMD && l->timeout_ns != 0 && latency_ns > l->timeout_ns);
    uint64_t inc = 1 | ((uint64_t)before * 2 >= lim ? W_BUSY : 0) | (drop ? W_DROP : 0);
    atomic_fetch_add_explicit(&l->win_rtt, latency_ns, memory_order_relaxed);
    uint64_t w = atomic_fetch_add_explicit(&l->win, inc, memory_order_acq_rel) + inc;
    uint64_t n = w & W_MASK24;
    /* A full window closes; with a minimum duration, its age is checked only at every multiple
     * of window_samples, so that a full but young window costs one clock read per that many. */
    if (MSB_UNLIKELY(n >= l->window_samples) &&
        (l->window_min_ns == 0 || n % l->window_samples == 0 || n >= W_FORCE)) {
        update(l, n >= W_FORCE);
    }
}

void msb_adaptive_limit_stats(const msb_adaptive_limit_t *l, msb_adaptive_limit_stats_t *out)
{
    msb_adaptive_limit_stats_t s = {.size = sizeof(s)};
    s.limit = atomic_load_explicit(&l->limit, memory_order_relaxed);
    s.inflight = atomic_load_explicit(&l->inflight, memory_order_relaxed);
    uint64_t pending = atomic_load_explicit(&l->win, memory_order_relaxed) & W_MASK24;
    s.accepted = atomic_load_explicit(&l->samples, memory_order_relaxed) + pending +
                 atomic_load_explicit(&l->ignored, memory_order_relaxed) + s.inflight;
    s.rejected = atomic_load_explicit(&l->rejected, memory_order_relaxed);
    s.dropped = atomic_load_explicit(&l->dropped, memory_order_relaxed);
    s.updates = atomic_load_explicit(&l->updates, memory_order_relaxed);
    s.short_rtt_ns = bitsd(atomic_load_explicit(&l->short_bits, memory_order_relaxed));
    s.long_rtt_ns = bitsd(atomic_load_explicit(&l->long_bits, memory_order_relaxed));
    msb__versioned_copy(out, out->size, &s, sizeof(s));
}
