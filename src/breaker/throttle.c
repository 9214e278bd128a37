/* The adaptive client-side throttle of the Google SRE book ("Handling Overload"). */
#include <string.h>

#include "breaker/twin.h"
#include "breaker/versioned.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rand.h"
#include "msb/breaker.h"

enum { F_REQUESTS = 0, F_ACCEPTS = 1 };

/* Padded on purpose: hot atomics written by different threads sit on separate cache lines. */
// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding)
struct msb_throttle {
    const msb_clock_t *clock;
    double k;
    uint32_t min_requests;
    msb__twin_t twin;
    _Alignas(MSB_CACHELINE) _Atomic uint64_t rejected;
};

static void read_opts(const msb_throttle_opts_t *in, msb_throttle_opts_t *o)
{
    const msb_throttle_opts_t def = MSB_THROTTLE_OPTS_INIT;
    *o = def;
    if (in == NULL) {
        return;
    }
    msb__versioned_copy(o, sizeof(*o), in, in->size);
}

static msb_status_t validate(const msb_throttle_opts_t *o, msb_error_t *err)
{
    if (!(o->k >= 1.0 && o->k <= 100.0)) {
        return msb__err(err, MSB_EINVAL, "throttle: k %g not in [1, 100]", o->k);
    }
    if (o->window_ns < (uint64_t)MSB_MSEC) {
        return msb__err(err, MSB_EINVAL, "throttle: window_ns %llu is under 1 ms",
                        (unsigned long long)o->window_ns);
    }
    if (o->window_buckets < 1 || o->window_buckets > MSB__TWIN_MAX_BUCKETS) {
        return msb__err(err, MSB_EINVAL, "throttle: window_buckets %u not in 1..%u",
                        o->window_buckets, MSB__TWIN_MAX_BUCKETS);
    }
    return MSB_OK;
}

msb_status_t msb_throttle_new(const msb_throttle_opts_t *opts, msb_throttle_t **out,
                              msb_error_t *err)
{
    msb_throttle_opts_t o;
    msb_status_t rc;
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "throttle: out is NULL");
    }
    *out = NULL;
    read_opts(opts, &o);
    if ((rc = validate(&o, err)) != MSB_OK) {
        return rc;
    }
    msb_throttle_t *t = msb__calloc(1, sizeof(*t));
    if (t == NULL) {
        return msb__err_nomem(err, "a throttle");
    }
    t->clock = o.clock != NULL ? o.clock : msb_clock_real();
    t->k = o.k;
    t->min_requests = o.min_requests;
    atomic_init(&t->rejected, 0);
    if (msb__twin_init(&t->twin, o.window_ns, o.window_buckets, 2,
                       t->clock->monotonic_ns(t->clock)) != MSB_OK) {
        msb__free(t);
        return msb__err_nomem(err, "a throttle's window");
    }
    *out = t;
    return MSB_OK;
}

void msb_throttle_free(msb_throttle_t *t)
{
    if (t == NULL) {
        return;
    }
    msb__twin_destroy(&t->twin);
    msb__free(t);
}

static double reject_probability(const msb_throttle_t *t)
{
    int64_t req = msb__twin_total(&t->twin, F_REQUESTS);
    int64_t acc = msb__twin_total(&t->twin, F_ACCEPTS);
    if (req < (int64_t)t->min_requests) {
        return 0.0;
    }
    double p = ((double)req - t->k * (double)acc) / ((double)req + 1.0);
    return p > 0.0 ? p : 0.0;
}

msb_status_t msb_throttle_acquire(msb_throttle_t *t)
{
    bool rotated;
    msb__twin_slot_t *s = msb__twin_slot_now(&t->twin, t->clock->monotonic_ns(t->clock), &rotated);
    msb__twin_add_to(&t->twin, s, F_REQUESTS, 1);
    double p = reject_probability(t);
    if (p > 0.0 && msb__rand_double() < p) {
        atomic_fetch_add_explicit(&t->rejected, 1, memory_order_relaxed);
        return MSB_EREJECTED;
    }
    return MSB_OK;
}

void msb_throttle_record(msb_throttle_t *t, bool accepted)
{
    if (!accepted) {
        return;
    }
    bool rotated;
    msb__twin_slot_t *s = msb__twin_slot_now(&t->twin, t->clock->monotonic_ns(t->clock), &rotated);
    msb__twin_add_to(&t->twin, s, F_ACCEPTS, 1);
}

void msb_throttle_stats(const msb_throttle_t *ct, msb_throttle_stats_t *out)
{
    msb_throttle_t *t = (msb_throttle_t *)ct; /* reading moves the window: no visible change */
    msb__twin_advance(&t->twin, t->clock->monotonic_ns(t->clock));
    msb_throttle_stats_t s;
    memset(&s, 0, sizeof(s));
    s.requests = (uint64_t)msb__twin_cumulative(&t->twin, F_REQUESTS);
    s.accepts = (uint64_t)msb__twin_cumulative(&t->twin, F_ACCEPTS);
    s.rejected = atomic_load_explicit(&t->rejected, memory_order_relaxed);
    s.window_requests = (uint64_t)msb__twin_total(&t->twin, F_REQUESTS);
    s.window_accepts = (uint64_t)msb__twin_total(&t->twin, F_ACCEPTS);
    s.reject_probability = reject_probability(t);
    msb__versioned_copy(out, out->size, &s, sizeof(s));
}
