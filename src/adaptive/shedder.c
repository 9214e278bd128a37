/* CPU-aware load shedder after go-zero's adaptive shedder (see adaptive.h). */
#include <math.h>
#include <string.h>

#include "adaptive/cpu.h"
#include "breaker/twin.h"
#include "breaker/versioned.h"
#include "core/alloc.h"
#include "core/error.h"

enum { F_PASS = 0, F_RT = 1 };

#define FLYING_BETA     0.9 /* weight of the old average of calls in flight */
#define MIN_FACTOR      0.1 /* at 100 % CPU still admit a tenth of maxFlight */
#define DEFAULT_MIN_RT  1e9 /* minRt (ns) before any bucket has a pass */
#define DEFAULT_MAXPASS 1.0

struct msb_adaptive_shedder {
    _Alignas(MSB_CACHELINE) _Atomic uint32_t inflight;
    _Atomic uint64_t avg_bits;   /* double: moving average of inflight */
    _Atomic bool hot;            /* dropped recently */
    _Atomic uint64_t overloaded; /* when the CPU was last over the threshold */
    _Alignas(MSB_CACHELINE) _Atomic uint64_t dropped;
    const msb_clock_t *clock;
    uint32_t threshold;
    uint64_t cool_off_ns;
    double buckets_per_sec;
    msb__twin_t win;
    msb__cpu_t cpu;
};

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static msb_status_t validate(const msb_adaptive_shedder_opts_t *o, msb_error_t *err)
{
    if (o->cpu_threshold < 1 || o->cpu_threshold > 999) {
        return msb__err(err, MSB_EINVAL, "adaptive shedder: cpu_threshold %u not in 1..999",
                        o->cpu_threshold);
    }
    if (o->window_ns < 10 * (uint64_t)MSB_MSEC) {
        return msb__err(err, MSB_EINVAL, "adaptive shedder: window_ns %llu is under 10 ms",
                        (unsigned long long)o->window_ns);
    }
    if (o->window_buckets < 2 || o->window_buckets > MSB__TWIN_MAX_BUCKETS) {
        return msb__err(err, MSB_EINVAL, "adaptive shedder: window_buckets %u not in 2..%u",
                        o->window_buckets, MSB__TWIN_MAX_BUCKETS);
    }
    if (o->cpu_interval_ns < (uint64_t)MSB_MSEC) {
        return msb__err(err, MSB_EINVAL, "adaptive shedder: cpu_interval_ns %llu is under 1 ms",
                        (unsigned long long)o->cpu_interval_ns);
    }
    return MSB_OK;
}

msb_status_t msb_adaptive_shedder_new(const msb_adaptive_shedder_opts_t *opts,
                                      msb_adaptive_shedder_t **out, msb_error_t *err)
{
    msb_status_t rc;
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "adaptive shedder: out is NULL");
    }
    *out = NULL;
    msb_adaptive_shedder_opts_t o = MSB_ADAPTIVE_SHEDDER_OPTS_INIT;
    if (opts != NULL) {
        msb__versioned_copy(&o, sizeof(o), opts, opts->size);
    }
    if ((rc = validate(&o, err)) != MSB_OK) {
        return rc;
    }
    msb_adaptive_shedder_t *s = msb__calloc(1, sizeof(*s));
    if (s == NULL) {
        return msb__err_nomem(err, "a load shedder");
    }
    s->clock = o.clock != NULL ? o.clock : msb_clock_real();
    s->threshold = o.cpu_threshold;
    s->cool_off_ns = o.cool_off_ns;
    atomic_init(&s->avg_bits, dbits(0.0));
    uint64_t now = s->clock->monotonic_ns(s->clock);
    if (msb__twin_init(&s->win, o.window_ns, o.window_buckets, 2, now) != MSB_OK) {
        msb__free(s);
        return msb__err_nomem(err, "a load shedder's window");
    }
    s->buckets_per_sec = (double)MSB_SEC / (double)s->win.bucket_ns;
    if (msb__cpu_init(&s->cpu, o.cgroup_root != NULL ? o.cgroup_root : "/sys/fs/cgroup",
                      o.proc_root != NULL ? o.proc_root : "/proc", o.cpu, o.cpu_user,
                      o.cpu_interval_ns, now) != MSB_OK) {
        msb__cpu_destroy(&s->cpu);
        msb__twin_destroy(&s->win);
        msb__free(s);
        return msb__err_nomem(err, "a load shedder's CPU reader");
    }
    *out = s;
    return MSB_OK;
}

void msb_adaptive_shedder_free(msb_adaptive_shedder_t *s)
{
    if (s == NULL) {
        return;
    }
    msb__cpu_destroy(&s->cpu);
    msb__twin_destroy(&s->win);
    msb__free(s);
}

typedef struct reduce {
    double max_pass, min_rt;
} reduce_t;

static void visit(const int64_t *f, void *user)
{
    reduce_t *r = user;
    if (f[F_PASS] <= 0) {
        return;
    }
    double pass = (double)f[F_PASS];
    double rt = (double)f[F_RT] / pass;
    r->max_pass = pass > r->max_pass ? pass : r->max_pass;
    r->min_rt = rt < r->min_rt ? rt : r->min_rt;
}

/* maxPass x buckets-per-second x minRt (s): the concurrency the best of the window sustained. */
static double max_flight(msb_adaptive_shedder_t *s, uint64_t now)
{
    msb__twin_advance(&s->win, now);
    reduce_t r = {DEFAULT_MAXPASS, DEFAULT_MIN_RT};
    msb__twin_visit(&s->win, true, visit, &r);
    double f = r.max_pass * s->buckets_per_sec * (r.min_rt / (double)MSB_SEC);
    return f < 1.0 ? 1.0 : f;
}

static bool high_throughput(msb_adaptive_shedder_t *s, uint32_t cpu, uint64_t now)
{
    double factor = (1000.0 - (double)cpu) / (1000.0 - (double)s->threshold);
    factor = factor < MIN_FACTOR ? MIN_FACTOR : factor > 1.0 ? 1.0 : factor;
    double limit = max_flight(s, now) * factor;
    double avg = bitsd(atomic_load_explicit(&s->avg_bits, memory_order_relaxed));
    return avg > limit && (double)atomic_load_explicit(&s->inflight, memory_order_relaxed) > limit;
}

/* Over the threshold now, or shed recently and within the cool-off since the CPU last was. */
__attribute__((noinline)) static bool should_drop(msb_adaptive_shedder_t *s, uint32_t cpu)
{
    uint64_t now = s->clock->monotonic_ns(s->clock);
    if (cpu > s->threshold) {
        atomic_store_explicit(&s->overloaded, now, memory_order_relaxed);
    } else if (now - atomic_load_explicit(&s->overloaded, memory_order_relaxed) >= s->cool_off_ns) {
        atomic_store_explicit(&s->hot, false, memory_order_relaxed);
        return false;
    }
    return high_throughput(s, cpu, now);
}

msb_status_t msb_adaptive_shedder_acquire(msb_adaptive_shedder_t *s)
{
    uint32_t cpu = msb__cpu_permille(&s->cpu);
    if (MSB_UNLIKELY(cpu > s->threshold || atomic_load_explicit(&s->hot, memory_order_relaxed)) &&
        should_drop(s, cpu)) {
        atomic_store_explicit(&s->hot, true, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
        return MSB_EREJECTED;
    }
    atomic_fetch_add_explicit(&s->inflight, 1, memory_order_acquire);
    return MSB_OK;
}

void msb_adaptive_shedder_release(msb_adaptive_shedder_t *s, uint64_t latency_ns,
                                  msb_adaptive_outcome_t outcome)
{
    uint32_t flying = atomic_fetch_sub_explicit(&s->inflight, 1, memory_order_release) - 1;
    /* A lossy moving average: concurrent updates may overwrite each other, which only skips
     * a sample (go-zero takes a lock here). */
    double avg = bitsd(atomic_load_explicit(&s->avg_bits, memory_order_relaxed));
    avg = avg * FLYING_BETA + (double)flying * (1.0 - FLYING_BETA);
    atomic_store_explicit(&s->avg_bits, dbits(avg), memory_order_relaxed);
    uint64_t now = s->clock->monotonic_ns(s->clock);
    if (outcome == MSB_ADAPTIVE_SUCCESS) {
        bool rotated;
        msb__twin_slot_t *slot = msb__twin_slot_now(&s->win, now, &rotated);
        msb__twin_add_to(&s->win, slot, F_PASS, 1);
        atomic_fetch_add_explicit(&slot->v[F_RT], (int64_t)latency_ns, memory_order_relaxed);
    }
    msb__cpu_maybe_sample(&s->cpu, now);
}

void msb_adaptive_shedder_stats(msb_adaptive_shedder_t *s, msb_adaptive_shedder_stats_t *out)
{
    uint64_t now = s->clock->monotonic_ns(s->clock);
    msb__cpu_maybe_sample(&s->cpu, now);
    msb_adaptive_shedder_stats_t st = {.size = sizeof(st)};
    st.source = s->cpu.source;
    st.cpu_limit_cores = s->cpu.limit_cores;
    st.cpu_permille = msb__cpu_permille(&s->cpu);
    st.inflight = atomic_load_explicit(&s->inflight, memory_order_relaxed);
    st.avg_inflight = bitsd(atomic_load_explicit(&s->avg_bits, memory_order_relaxed));
    st.max_flight = max_flight(s, now);
    st.passed = (uint64_t)msb__twin_cumulative(&s->win, F_PASS);
    st.dropped = atomic_load_explicit(&s->dropped, memory_order_relaxed);
    msb__versioned_copy(out, out->size, &st, sizeof(st));
}
