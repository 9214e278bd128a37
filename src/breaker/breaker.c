/* Circuit breaker: creation, the permit/record paths and the statistics. */
#include <string.h>

#include "breaker/breaker_int.h"
#include "breaker/versioned.h"
#include "core/alloc.h"
#include "core/error.h"

static msb_status_t check_rate(const char *field, double v, msb_error_t *err)
{
    if (!(v > 0.0 && v <= 1.0)) {
        return msb__err(err, MSB_EINVAL, "breaker: %s %g not in (0, 1]", field, v);
    }
    return MSB_OK;
}

static msb_status_t validate(const msb_breaker_opts_t *o, msb_error_t *err)
{
    msb_status_t rc;
    if (o->window != MSB_BREAKER_WINDOW_COUNT && o->window != MSB_BREAKER_WINDOW_TIME) {
        return msb__err(err, MSB_EINVAL, "breaker: window %d is not a window kind", (int)o->window);
    }
    if (o->window_size < 1 || o->window_size > MSB__RING_MAX) {
        return msb__err(err, MSB_EINVAL, "breaker: window_size %u not in 1..%u", o->window_size,
                        MSB__RING_MAX);
    }
    if (o->window_ns < (uint64_t)MSB_MSEC) {
        return msb__err(err, MSB_EINVAL, "breaker: window_ns %llu is under 1 ms",
                        (unsigned long long)o->window_ns);
    }
    if (o->window_buckets < 1 || o->window_buckets > MSB__TWIN_MAX_BUCKETS) {
        return msb__err(err, MSB_EINVAL, "breaker: window_buckets %u not in 1..%u",
                        o->window_buckets, MSB__TWIN_MAX_BUCKETS);
    }
    if (o->minimum_calls < 1) {
        return msb__err(err, MSB_EINVAL, "breaker: minimum_calls must be at least 1");
    }
    if ((rc = check_rate("failure_rate_threshold", o->failure_rate_threshold, err)) != MSB_OK) {
        return rc;
    }
    if ((rc = check_rate("slow_call_rate_threshold", o->slow_call_rate_threshold, err)) != MSB_OK) {
        return rc;
    }
    if (o->open_wait_ns < (uint64_t)MSB_MSEC) {
        return msb__err(err, MSB_EINVAL, "breaker: open_wait_ns %llu is under 1 ms",
                        (unsigned long long)o->open_wait_ns);
    }
    if (!(o->open_wait_multiplier >= 1.0 && o->open_wait_multiplier <= 100.0)) {
        return msb__err(err, MSB_EINVAL, "breaker: open_wait_multiplier %g not in [1, 100]",
                        o->open_wait_multiplier);
    }
    if (o->open_wait_max_ns < o->open_wait_ns) {
        return msb__err(
            err, MSB_EINVAL, "breaker: open_wait_max_ns %llu is below open_wait_ns %llu",
            (unsigned long long)o->open_wait_max_ns, (unsigned long long)o->open_wait_ns);
    }
    if (o->half_open_calls < 1 || o->half_open_calls > 100000) {
        return msb__err(err, MSB_EINVAL, "breaker: half_open_calls %u not in 1..100000",
                        o->half_open_calls);
    }
    return MSB_OK;
}

/* Copy the fields the caller's struct has over the defaults. */
static void read_opts(const msb_breaker_opts_t *in, msb_breaker_opts_t *o)
{
    const msb_breaker_opts_t def = MSB_BREAKER_OPTS_INIT;
    *o = def;
    if (in == NULL) {
        return;
    }
    msb__versioned_copy(o, sizeof(*o), in, in->size);
}

static void init_atomics(msb_breaker_t *b)
{
    atomic_init(&b->state, (uint64_t)MSB_BREAKER_CLOSED);
    atomic_init(&b->open_until, 0);
    atomic_init(&b->half_issued, 0);
    atomic_init(&b->calls_other, 0);
    atomic_init(&b->failures, 0);
    atomic_init(&b->slow, 0);
    atomic_init(&b->ignored, 0);
    atomic_init(&b->rejected, 0);
    atomic_init(&b->transitions, 0);
    atomic_init(&b->opened, 0);
    atomic_init(&b->cur_wait, b->open_wait_ns);
    atomic_init(&b->warm, false);
}

static void set_config(msb_breaker_t *b, const msb_breaker_opts_t *o)
{
    b->clock = o->clock != NULL ? o->clock : msb_clock_real();
    b->window = o->window;
    b->minimum_calls = o->minimum_calls;
    if (o->window == MSB_BREAKER_WINDOW_COUNT && b->minimum_calls > o->window_size) {
        b->minimum_calls = o->window_size;
    }
    b->half_open_calls = o->half_open_calls;
    b->failure_rate = o->failure_rate_threshold;
    b->slow_rate = o->slow_call_rate_threshold;
    b->slow_ns = o->slow_call_duration_ns;
    b->open_wait_ns = o->open_wait_ns;
    b->open_wait_mult = o->open_wait_multiplier;
    b->open_wait_max_ns = o->open_wait_max_ns;
    b->half_max_wait_ns = o->half_open_max_wait_ns;
    b->cb = o->on_state_change;
    b->user = o->user;
}

msb_status_t msb_breaker_new(const msb_breaker_opts_t *opts, msb_breaker_t **out, msb_error_t *err)
{
    msb_breaker_opts_t o;
    msb_status_t rc;
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "breaker: out is NULL");
    }
    *out = NULL;
    read_opts(opts, &o);
    if ((rc = validate(&o, err)) != MSB_OK) {
        return rc;
    }
    msb_breaker_t *b = msb__calloc(1, sizeof(*b));
    if (b == NULL) {
        return msb__err_nomem(err, "a breaker");
    }
    set_config(b, &o);
    init_atomics(b);
    b->name = msb__strdup(o.name != NULL ? o.name : "breaker");
    if (b->name == NULL) {
        goto nomem;
    }
    if (o.window == MSB_BREAKER_WINDOW_COUNT) {
        if (msb__ring_init(&b->ring, o.window_size) != MSB_OK) {
            goto nomem;
        }
    } else {
        if (msb__twin_init(&b->twin, o.window_ns, o.window_buckets, 3, msb__brk_now(b)) != MSB_OK) {
            goto nomem;
        }
        b->twin.no_total = true;
    }
    if (b->cb != NULL) {
        b->ev_cap = MSB__BRK_EVENTS;
        b->events = msb__calloc(b->ev_cap, sizeof(*b->events));
        if (b->events == NULL) {
            goto nomem;
        }
    }
    if (pthread_mutex_init(&b->mu, NULL) != 0) {
        msb_breaker_free(b);
        return msb__err(err, MSB_ENOMEM, "breaker: cannot create its mutex");
    }
    *out = b;
    return MSB_OK;
nomem:
    msb__free(b->events);
    msb__ring_destroy(&b->ring);
    msb__twin_destroy(&b->twin);
    msb__free(b->name);
    msb__free(b);
    return msb__err_nomem(err, "a breaker's window or notice queue");
}

void msb_breaker_free(msb_breaker_t *b)
{
    if (b == NULL) {
        return;
    }
    pthread_mutex_destroy(&b->mu);
    msb__free(b->events);
    msb__ring_destroy(&b->ring);
    msb__twin_destroy(&b->twin);
    msb__free(b->name);
    msb__free(b);
}

/* Open, forced open, half-open and disabled: the rare paths of acquire (kept out of line so
 * that the closed path stays a few instructions). */
__attribute__((noinline, cold)) static msb_status_t
acquire_slow(msb_breaker_t *b, msb_breaker_permit_t *p, uint64_t s)
{
    for (;;) {
        unsigned st = (unsigned)(s & MSB__BRK_STATE_MASK);
        if (st == MSB_BREAKER_CLOSED || st == MSB_BREAKER_DISABLED) {
            p->token = s;
            p->start_ns = b->slow_ns != 0 ? msb__brk_now(b) : 0;
            return MSB_OK;
        }
        if (st == MSB_BREAKER_FORCED_OPEN) {
            break;
        }
        uint64_t now = msb__brk_now(b);
        if (st == MSB_BREAKER_OPEN) {
            if (now < atomic_load_explicit(&b->open_until, memory_order_acquire)) {
                break;
            }
            msb__breaker_move(b, s, MSB_BREAKER_HALF_OPEN, now);
            s = atomic_load_explicit(&b->state, memory_order_acquire);
            continue;
        }
        /* Half-open: one of the probe permits, if any is left. */
        if (msb__breaker_half_acquire(b, s, now) == MSB_OK) {
            p->token = s;
            p->start_ns = now;
            return MSB_OK;
        }
        uint64_t s2 = atomic_load_explicit(&b->state, memory_order_acquire);
        if (s2 != s) {
            s = s2; /* moved on meanwhile: look again */
            continue;
        }
        break;
    }
    atomic_fetch_add_explicit(&b->rejected, 1, memory_order_relaxed);
    return MSB_EREJECTED;
}

msb_status_t msb_breaker_acquire(msb_breaker_t *b, msb_breaker_permit_t *permit)
{
    uint64_t s = atomic_load_explicit(&b->state, memory_order_acquire);
    if (MSB_LIKELY((s & MSB__BRK_STATE_MASK) == MSB_BREAKER_CLOSED)) {
        permit->token = s;
        permit->start_ns = b->slow_ns != 0 ? msb__brk_now(b) : 0;
        return MSB_OK;
    }
    return acquire_slow(b, permit, s);
}

/* Statistics for an outcome that the windows do not count. */
__attribute__((noinline, cold)) static void count_other(msb_breaker_t *b, unsigned v)
{
    atomic_fetch_add_explicit(&b->calls_other, 1, memory_order_relaxed);
    if (v & MSB__OUT_FAIL) {
        atomic_fetch_add_explicit(&b->failures, 1, memory_order_relaxed);
    }
    if (v & MSB__OUT_SLOW) {
        atomic_fetch_add_explicit(&b->slow, 1, memory_order_relaxed);
    }
}

/* A failure, a slow call or the call completing the minimum: count it and judge the window. */
__attribute__((noinline)) static void judge_count(msb_breaker_t *b, uint64_t token, unsigned v,
                                                  uint64_t agg, uint64_t now)
{
    if (v & MSB__OUT_FAIL) {
        atomic_fetch_add_explicit(&b->failures, 1, memory_order_relaxed);
    }
    if (v & MSB__OUT_SLOW) {
        atomic_fetch_add_explicit(&b->slow, 1, memory_order_relaxed);
    }
    if (msb__breaker_over(b, msb__ring_field(agg, 0), msb__ring_field(agg, 1),
                          msb__ring_field(agg, 2))) {
        msb__breaker_move(b, token, MSB_BREAKER_OPEN, now != 0 ? now : msb__brk_now(b));
    }
}

static inline void record_closed_count(msb_breaker_t *b, uint64_t token, unsigned v, uint64_t now)
{
    unsigned evicted;
    uint64_t agg = msb__ring_record(&b->ring, v, &evicted);
    /* A fast success lowers both rates or leaves them; it can only trip the breaker by being
     * the call that brings the window up to the minimum. */
    if (MSB_LIKELY(v == MSB__OUT_CALL &&
                   (evicted != 0 || msb__ring_field(agg, 0) != (int64_t)b->minimum_calls))) {
        return;
    }
    judge_count(b, token, v, agg, now);
}

/* Sum the time window and judge it (a failure or slow call, a slid window, or a window that
 * has not yet held the minimum). Notes whether the window holds the minimum now. */
__attribute__((noinline)) static void judge_time(msb_breaker_t *b, uint64_t token, uint64_t now)
{
    int64_t calls = msb__twin_sum(&b->twin, 0);
    atomic_store_explicit(&b->warm, calls >= (int64_t)b->minimum_calls, memory_order_relaxed);
    if (msb__breaker_over(b, calls, msb__twin_sum(&b->twin, 1), msb__twin_sum(&b->twin, 2))) {
        msb__breaker_move(b, token, MSB_BREAKER_OPEN, now);
    }
}

/* The time window keeps no running totals: a fast success is one atomic add on its bucket.
 * Only a failure, a slow call, a slide of the window or a window still short of the minimum
 * sums the buckets to judge. */
static inline void record_closed_time(msb_breaker_t *b, uint64_t token, unsigned v, uint64_t now)
{
    if (now == 0) {
        now = msb__brk_now(b);
    }
    bool rotated;
    msb__twin_slot_t *s = msb__twin_slot_now(&b->twin, now, &rotated);
    if (MSB_UNLIKELY(v & MSB__OUT_FAIL)) {
        atomic_fetch_add_explicit(&b->failures, 1, memory_order_relaxed);
        msb__twin_add_slot(s, 1, 1);
    }
    if (MSB_UNLIKELY(v & MSB__OUT_SLOW)) {
        atomic_fetch_add_explicit(&b->slow, 1, memory_order_relaxed);
        msb__twin_add_slot(s, 2, 1);
    }
    msb__twin_add_slot(s, 0, 1);
    if (MSB_LIKELY(v == MSB__OUT_CALL && !rotated &&
                   atomic_load_explicit(&b->warm, memory_order_relaxed))) {
        return;
    }
    judge_time(b, token, now);
}

__attribute__((noinline, cold)) static void record_ignored(msb_breaker_t *b,
                                                           const msb_breaker_permit_t *p)
{
    atomic_fetch_add_explicit(&b->ignored, 1, memory_order_relaxed);
    if ((p->token & MSB__BRK_STATE_MASK) == MSB_BREAKER_HALF_OPEN) {
        msb__breaker_half_release(b, p->token); /* the probe permit goes back */
    }
}

static inline __attribute__((always_inline)) void record(msb_breaker_t *b,
                                                         const msb_breaker_permit_t *p,
                                                         msb_breaker_outcome_t outcome,
                                                         uint64_t duration_ns, uint64_t now)
{
    if (MSB_UNLIKELY(outcome == MSB_BREAKER_IGNORED || (unsigned)outcome > 2)) {
        record_ignored(b, p);
        return;
    }
    unsigned v = MSB__OUT_CALL | (outcome == MSB_BREAKER_FAILURE ? MSB__OUT_FAIL : 0u);
    if (b->slow_ns != 0 && duration_ns >= b->slow_ns) {
        v |= MSB__OUT_SLOW;
    }
    uint64_t s = atomic_load_explicit(&b->state, memory_order_acquire);
    if (MSB_UNLIKELY(s != p->token)) {
        count_other(b, v); /* a permit from before a transition: statistics only */
        return;
    }
    unsigned st = (unsigned)(s & MSB__BRK_STATE_MASK);
    if (MSB_LIKELY(st == MSB_BREAKER_CLOSED)) {
        if (b->window == MSB_BREAKER_WINDOW_COUNT) {
            record_closed_count(b, s, v, now);
        } else {
            record_closed_time(b, s, v, now);
        }
    } else if (st == MSB_BREAKER_HALF_OPEN) {
        count_other(b, v);
        msb__breaker_half_record(b, s, v, now);
    } else {
        count_other(b, v);
    }
}

void msb_breaker_record(msb_breaker_t *b, const msb_breaker_permit_t *permit,
                        msb_breaker_outcome_t outcome)
{
    uint64_t now = 0;
    uint64_t duration = 0;
    if (b->slow_ns != 0) {
        now = msb__brk_now(b);
        duration = now - permit->start_ns;
    }
    record(b, permit, outcome, duration, now);
}

void msb_breaker_record_duration(msb_breaker_t *b, const msb_breaker_permit_t *permit,
                                 msb_breaker_outcome_t outcome, uint64_t duration_ns)
{
    record(b, permit, outcome, duration_ns, 0);
}

msb_breaker_state_t msb_breaker_state(const msb_breaker_t *b)
{
    uint64_t s = atomic_load_explicit(&b->state, memory_order_acquire);
    return (msb_breaker_state_t)(s & MSB__BRK_STATE_MASK);
}

const char *msb_breaker_name(const msb_breaker_t *b)
{
    return b->name;
}
