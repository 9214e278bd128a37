/* Circuit breaker: transitions, half-open probes, state-change notices, statistics. */
#include <math.h>
#include <string.h>

#include "breaker/breaker_int.h"
#include "breaker/versioned.h"
#include "core/alloc.h"
#include "core/error.h"

uint64_t msb__breaker_wait_for(const msb_breaker_t *b, uint32_t streak)
{
    if (b->open_wait_mult <= 1.0 || streak == 0) {
        return b->open_wait_ns;
    }
    double w = (double)b->open_wait_ns * pow(b->open_wait_mult, (double)streak);
    if (!(w < (double)b->open_wait_max_ns)) {
        return b->open_wait_max_ns;
    }
    return (uint64_t)w;
}

/* Double the notice queue (a callback slower than the transitions). False if it cannot. */
static bool grow_events(msb_breaker_t *b)
{
    if (b->ev_cap >= MSB__BRK_EVENTS_MAX) {
        return false;
    }
    uint32_t cap = b->ev_cap != 0 ? b->ev_cap * 2u : MSB__BRK_EVENTS;
    msb__brk_event_t *n = msb__calloc(cap, sizeof(*n));
    if (n == NULL) {
        return false;
    }
    for (uint32_t i = 0; i < b->ev_len; i++) {
        n[i] = b->events[(b->ev_head + i) % b->ev_cap];
    }
    msb__free(b->events);
    b->events = n;
    b->ev_head = 0;
    b->ev_cap = cap;
    return true;
}

static void push_event(msb_breaker_t *b, unsigned from, unsigned to)
{
    if (b->cb == NULL) {
        return;
    }
    if (b->ev_len == b->ev_cap && !grow_events(b)) {
        /* The callback is far behind and the queue cannot grow: drop the oldest notice. */
        b->ev_head = (b->ev_head + 1) % b->ev_cap;
        b->ev_len--;
        b->ev_dropped++;
    }
    msb__brk_event_t *e = &b->events[(b->ev_head + b->ev_len) % b->ev_cap];
    e->from = (uint8_t)from;
    e->to = (uint8_t)to;
    b->ev_len++;
}

bool msb__breaker_move_locked(msb_breaker_t *b, uint64_t expect, msb_breaker_state_t to,
                              uint64_t now)
{
    uint64_t s = atomic_load_explicit(&b->state, memory_order_acquire);
    unsigned from = (unsigned)(s & MSB__BRK_STATE_MASK);
    if ((expect != UINT64_MAX && s != expect) || from == (unsigned)to) {
        return false;
    }
    switch (to) {
    case MSB_BREAKER_CLOSED:
        /* A fresh window; records of the old closed state carry an old generation. */
        if (b->window == MSB_BREAKER_WINDOW_COUNT) {
            msb__ring_clear(&b->ring);
        } else {
            msb__twin_clear(&b->twin);
            atomic_store_explicit(&b->warm, false, memory_order_relaxed);
        }
        b->open_streak = 0;
        atomic_store_explicit(&b->cur_wait, b->open_wait_ns, memory_order_relaxed);
        break;
    case MSB_BREAKER_OPEN: {
        uint64_t wait = msb__breaker_wait_for(b, b->open_streak);
        if (b->open_streak < UINT32_MAX) {
            b->open_streak++;
        }
        atomic_store_explicit(&b->open_until, now + wait, memory_order_release);
        atomic_store_explicit(&b->cur_wait, wait, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->opened, 1, memory_order_relaxed);
        break;
    }
    case MSB_BREAKER_HALF_OPEN:
        atomic_store_explicit(&b->half_issued, 0, memory_order_relaxed);
        b->half_done = 0;
        b->half_fails = 0;
        b->half_slow = 0;
        b->half_since = now;
        break;
    default:
        break;
    }
    uint64_t gen = (s >> MSB__BRK_STATE_BITS) + 1;
    atomic_store_explicit(&b->state, (gen << MSB__BRK_STATE_BITS) | (uint64_t)to,
                          memory_order_release);
    atomic_fetch_add_explicit(&b->transitions, 1, memory_order_relaxed);
    push_event(b, from, (unsigned)to);
    return true;
}

void msb__breaker_deliver(msb_breaker_t *b)
{
    if (b->cb == NULL) {
        return;
    }
    pthread_mutex_lock(&b->mu);
    if (b->delivering) {
        pthread_mutex_unlock(&b->mu); /* that thread will deliver ours too, in order */
        return;
    }
    b->delivering = true;
    while (b->ev_len > 0) {
        msb__brk_event_t e = b->events[b->ev_head];
        b->ev_head = (b->ev_head + 1) % b->ev_cap;
        b->ev_len--;
        pthread_mutex_unlock(&b->mu);
        b->cb(b, (msb_breaker_state_t)e.from, (msb_breaker_state_t)e.to, b->user);
        pthread_mutex_lock(&b->mu);
    }
    b->delivering = false;
    pthread_mutex_unlock(&b->mu);
}

bool msb__breaker_move(msb_breaker_t *b, uint64_t expect, msb_breaker_state_t to, uint64_t now)
{
    pthread_mutex_lock(&b->mu);
    bool moved = msb__breaker_move_locked(b, expect, to, now);
    pthread_mutex_unlock(&b->mu);
    if (moved) {
        msb__breaker_deliver(b);
    }
    return moved;
}

msb_status_t msb__breaker_half_acquire(msb_breaker_t *b, uint64_t s, uint64_t now)
{
    if (atomic_load_explicit(&b->half_issued, memory_order_relaxed) >= b->half_open_calls &&
        b->half_max_wait_ns == 0) {
        return MSB_EREJECTED; /* every probe is out: no need for the lock */
    }
    msb_status_t rc = MSB_EREJECTED;
    bool moved = false;
    pthread_mutex_lock(&b->mu);
    if (atomic_load_explicit(&b->state, memory_order_relaxed) == s) {
        uint32_t n = atomic_load_explicit(&b->half_issued, memory_order_relaxed);
        if (n < b->half_open_calls) {
            atomic_store_explicit(&b->half_issued, n + 1, memory_order_relaxed);
            rc = MSB_OK;
        } else if (b->half_max_wait_ns != 0 && now - b->half_since >= b->half_max_wait_ns) {
            moved = msb__breaker_move_locked(b, s, MSB_BREAKER_OPEN, now); /* probes too slow */
        }
    }
    pthread_mutex_unlock(&b->mu);
    if (moved) {
        msb__breaker_deliver(b);
    }
    return rc;
}

void msb__breaker_half_record(msb_breaker_t *b, uint64_t token, unsigned v, uint64_t now)
{
    bool moved = false;
    pthread_mutex_lock(&b->mu);
    if (atomic_load_explicit(&b->state, memory_order_relaxed) == token) {
        b->half_done++;
        b->half_fails += (v & MSB__OUT_FAIL) ? 1u : 0u;
        b->half_slow += (v & MSB__OUT_SLOW) ? 1u : 0u;
        if (b->half_done >= b->half_open_calls) {
            /* Every probe reported: judge them (the minimum number of calls does not apply). */
            double n = (double)b->half_done;
            bool bad = (double)b->half_fails / n >= b->failure_rate ||
                       (b->slow_ns != 0 && (double)b->half_slow / n >= b->slow_rate);
            if (now == 0) {
                now = msb__brk_now(b);
            }
            moved = msb__breaker_move_locked(b, token, bad ? MSB_BREAKER_OPEN : MSB_BREAKER_CLOSED,
                                             now);
        }
    }
    pthread_mutex_unlock(&b->mu);
    if (moved) {
        msb__breaker_deliver(b);
    }
}

void msb__breaker_half_release(msb_breaker_t *b, uint64_t token)
{
    pthread_mutex_lock(&b->mu);
    uint32_t n = atomic_load_explicit(&b->half_issued, memory_order_relaxed);
    if (atomic_load_explicit(&b->state, memory_order_relaxed) == token && n > 0) {
        atomic_store_explicit(&b->half_issued, n - 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&b->mu);
}

msb_status_t msb_breaker_transition(msb_breaker_t *b, msb_breaker_state_t to, msb_error_t *err)
{
    if ((unsigned)to > MSB_BREAKER_DISABLED) {
        return msb__err(err, MSB_EINVAL, "breaker \"%s\": %d is not a state", b->name, (int)to);
    }
    msb__breaker_move(b, UINT64_MAX, to, msb__brk_now(b));
    return MSB_OK;
}

const char *msb_breaker_state_name(msb_breaker_state_t state)
{
    static const char *const names[] = {"closed", "open", "half_open", "forced_open", "disabled"};
    if ((unsigned)state < MSB_ARRAY_LEN(names)) {
        return names[state];
    }
    return "unknown";
}

static void window_counts(msb_breaker_t *b, uint64_t *calls, uint64_t *fails, uint64_t *slow,
                          uint64_t *cumulative)
{
    if (b->window == MSB_BREAKER_WINDOW_COUNT) {
        uint64_t agg = atomic_load_explicit(&b->ring.agg, memory_order_acquire);
        *calls = (uint64_t)msb__ring_field(agg, 0);
        *fails = (uint64_t)msb__ring_field(agg, 1);
        *slow = (uint64_t)msb__ring_field(agg, 2);
        *cumulative = atomic_load_explicit(&b->ring.head, memory_order_relaxed);
        return;
    }
    if (msb__twin_advance(&b->twin, msb__brk_now(b))) {
        /* Buckets left the window here, where nothing judges: the next record sums it. */
        atomic_store_explicit(&b->warm, false, memory_order_relaxed);
    }
    *calls = (uint64_t)msb__twin_sum(&b->twin, 0);
    *fails = (uint64_t)msb__twin_sum(&b->twin, 1);
    *slow = (uint64_t)msb__twin_sum(&b->twin, 2);
    *cumulative = (uint64_t)msb__twin_cumulative(&b->twin, 0);
}

void msb_breaker_stats(const msb_breaker_t *cb, msb_breaker_stats_t *out)
{
    msb_breaker_t *b = (msb_breaker_t *)cb; /* reading a time window moves it: no visible change */
    msb_breaker_stats_t s;
    memset(&s, 0, sizeof(s));
    s.size = sizeof(s);
    s.state = msb_breaker_state(b);
    uint64_t closed_calls;
    window_counts(b, &s.window_calls, &s.window_failures, &s.window_slow, &closed_calls);
    s.calls = closed_calls + atomic_load_explicit(&b->calls_other, memory_order_relaxed);
    s.failures = atomic_load_explicit(&b->failures, memory_order_relaxed);
    s.slow = atomic_load_explicit(&b->slow, memory_order_relaxed);
    s.ignored = atomic_load_explicit(&b->ignored, memory_order_relaxed);
    s.rejected = atomic_load_explicit(&b->rejected, memory_order_relaxed);
    s.transitions = atomic_load_explicit(&b->transitions, memory_order_relaxed);
    s.opened = atomic_load_explicit(&b->opened, memory_order_relaxed);
    s.open_wait_ns = atomic_load_explicit(&b->cur_wait, memory_order_relaxed);
    msb__versioned_copy(out, out->size, &s, sizeof(s));
}

bool msb__breaker_window_consistent(msb_breaker_t *b)
{
    if (b->window == MSB_BREAKER_WINDOW_COUNT) {
        return msb__ring_recount(&b->ring) == atomic_load(&b->ring.agg);
    }
    /* Buckets only ever gain counts or are emptied whole: none can be negative. */
    for (uint32_t i = 0; i < b->twin.nbuckets; i++) {
        for (uint32_t f = 0; f < 3; f++) {
            if (atomic_load(&b->twin.slots[i].v[f]) < 0) {
                return false;
            }
        }
    }
    return true;
}
