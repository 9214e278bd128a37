/*
 * A lock-free sliding time window of buckets (breaker, throttle, retry budget, shedder).
 *
 * The window covers `nbuckets` buckets of `bucket_ns` each; epoch e is the bucket of the times
 * [e * bucket_ns, (e + 1) * bucket_ns). Slot e % nbuckets holds epoch e's counters (up to
 * MSB__TWIN_FIELDS signed 64-bit fields). `total` holds the sum of every slot, so reading the
 * window is O(1).
 *
 * Invariants (each field separately; "in flight" = an add that has done its `total` step but not
 * yet its slot step):
 *   total[f] == sum over slots of slot.v[f] + (in flight for f)        -> total >= sum of slots
 *   total[f] + expired[f] == every delta ever added to f              (once nothing is in flight)
 * How they hold:
 *   - an add does `total += d` then `slot += d` (release). Each add goes to the slot of the
 *     epoch that is current when it loads `cur_epoch`; if the window has moved on meanwhile it
 *     lands in whatever epoch that slot now holds, and is counted there: never lost, never twice.
 *   - expiring a slot is `old = xchg(slot, 0)` (acquire) then `total -= old; expired += old`.
 *     Every add is ordered before or after the xchg in the slot's modification order, so it is
 *     either taken by this expiry or left for the slot's next epoch. Because the adder wrote
 *     `total` before the slot and the xchg acquires that write, the subtraction from `total`
 *     comes after the addition: `total` never dips below the true sum.
 *   - one thread at a time moves the window (the `rotating` flag, held for at most nbuckets
 *     slot expiries). A thread that finds it taken does not wait: it adds to the current bucket,
 *     which is about to become the previous one: the call is counted a moment early.
 * A window made with `no_total` keeps no `total`: an add is one atomic add on its slot, and
 * readers sum the slots (msb__twin_sum); the second invariant then reads
 *   sum of slots[f] + expired[f] == every delta ever added to f      (once nothing is in flight)
 * and holds by the same argument (each add is taken by exactly one expiry, or is still there).
 * Fields of one add are separate atomics: across fields the window is consistent only once the
 * adds in flight have finished (a reader may see a call's failure before its call; callers clamp
 * rates to [0, 1]).
 */
#ifndef MSB_BREAKER_TWIN_H
#define MSB_BREAKER_TWIN_H

#include <stdatomic.h>

#include "core/common.h"

#define MSB__TWIN_FIELDS      3
#define MSB__TWIN_MAX_BUCKETS 3600

typedef struct msb__twin_slot {
    _Atomic int64_t v[MSB__TWIN_FIELDS];
    _Atomic uint64_t epoch; /* the epoch this slot holds (set when it is rotated in) */
} msb__twin_slot_t;

/* Padded on purpose: hot atomics written by different threads sit on separate cache lines. */
// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding)
typedef struct msb__twin {
    uint64_t bucket_ns;
    uint32_t nbuckets;
    uint32_t nfields;
    bool no_total; /* adds go to the slots only; readers sum them (msb__twin_sum) */
    msb__twin_slot_t *slots;
    _Alignas(MSB_CACHELINE) _Atomic uint64_t cur_epoch;
    _Atomic int rotating;
    _Alignas(MSB_CACHELINE) _Atomic int64_t total[MSB__TWIN_FIELDS];
    _Alignas(MSB_CACHELINE) _Atomic int64_t expired[MSB__TWIN_FIELDS];
} msb__twin_t;

/* Set up a window of `window_ns` in `nbuckets` buckets starting at `now`. MSB_ENOMEM or MSB_OK. */
MSB_INTERNAL msb_status_t msb__twin_init(msb__twin_t *w, uint64_t window_ns, uint32_t nbuckets,
                                         uint32_t nfields, uint64_t now);
MSB_INTERNAL void msb__twin_destroy(msb__twin_t *w);

/*
 * Move the window to `now` (expiring buckets that fell out of it) if no other thread is doing
 * so. Returns true if this call expired at least one bucket.
 */
MSB_INTERNAL bool msb__twin_advance(msb__twin_t *w, uint64_t now);

/* Slot of the current epoch after moving the window to `now`; *rotated tells if it moved. */
static inline msb__twin_slot_t *msb__twin_slot_now(msb__twin_t *w, uint64_t now, bool *rotated)
{
    uint64_t e = now / w->bucket_ns;
    uint64_t cur = atomic_load_explicit(&w->cur_epoch, memory_order_acquire);
    *rotated = false;
    if (MSB_UNLIKELY(e > cur)) {
        *rotated = msb__twin_advance(w, now);
        cur = atomic_load_explicit(&w->cur_epoch, memory_order_acquire);
    }
    return &w->slots[cur % w->nbuckets];
}

/* Add `d` to field f: total first, then the slot (see the invariants above). */
static inline void msb__twin_add_to(msb__twin_t *w, msb__twin_slot_t *s, uint32_t f, int64_t d)
{
    atomic_fetch_add_explicit(&w->total[f], d, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->v[f], d, memory_order_release);
}

/* Without totals: add `d` to field f of slot s only; returns the slot's new value. */
static inline int64_t msb__twin_add_slot(msb__twin_slot_t *s, uint32_t f, int64_t d)
{
    return atomic_fetch_add_explicit(&s->v[f], d, memory_order_release) + d;
}

/* Field f of the window summed over its slots (O(buckets)), for windows without totals. Call
 * msb__twin_advance() first to expire old buckets. */
MSB_INTERNAL int64_t msb__twin_sum(const msb__twin_t *w, uint32_t f);

/* Field f of the window (clamped at 0). Call msb__twin_advance() first to expire old buckets. */
static inline int64_t msb__twin_total(const msb__twin_t *w, uint32_t f)
{
    int64_t v = atomic_load_explicit(&w->total[f], memory_order_acquire);
    return v < 0 ? 0 : v;
}

/* Everything ever added to field f: the window plus what expired (exact once quiescent). */
MSB_INTERNAL int64_t msb__twin_cumulative(const msb__twin_t *w, uint32_t f);

/* Expire every bucket (a reset): the window becomes empty; cumulative sums are kept. */
MSB_INTERNAL void msb__twin_clear(msb__twin_t *w);

/*
 * Visit the buckets inside the window at the current epoch, oldest first; `skip_current` leaves
 * out the bucket still filling. fn receives the slot's fields (a snapshot of each).
 */
typedef void (*msb__twin_visit_fn)(const int64_t *fields, void *user);
MSB_INTERNAL void msb__twin_visit(msb__twin_t *w, bool skip_current, msb__twin_visit_fn fn,
                                  void *user);

#endif
