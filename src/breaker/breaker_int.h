/*
 * Inside a circuit breaker (shared by breaker.c and state.c).
 *
 * `state` is one atomic word: (generation << 3) | state. Every transition increments the
 * generation, so a permit (which carries the word it was issued under) tells whether the
 * breaker has changed state since: outcomes of such stale permits are counted in the statistics
 * but judged nowhere. Transitions take `mu`; the closed-state path never does.
 */
#ifndef MSB_BREAKER_INT_H
#define MSB_BREAKER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "breaker/ring.h"
#include "breaker/twin.h"
#include "msb/breaker.h"

#define MSB__BRK_STATE_BITS 3
#define MSB__BRK_STATE_MASK 7u
#define MSB__BRK_EVENTS     16     /* notices queued before the queue grows */
#define MSB__BRK_EVENTS_MAX 65536u /* beyond this many undelivered notices, the oldest drop */

typedef struct msb__brk_event {
    uint8_t from, to;
} msb__brk_event_t;

/* Padded on purpose: hot atomics written by different threads sit on separate cache lines. */
// NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding)
struct msb_breaker {
    /* Read on every call; written only on transitions. */
    _Alignas(MSB_CACHELINE) _Atomic uint64_t state;
    _Atomic uint64_t open_until; /* monotonic ns at which an open wait ends */
    const msb_clock_t *clock;
    msb_breaker_window_t window;
    uint32_t minimum_calls;
    uint32_t half_open_calls;
    double failure_rate;
    double slow_rate;
    uint64_t slow_ns;
    uint64_t open_wait_ns;
    double open_wait_mult;
    uint64_t open_wait_max_ns;
    uint64_t half_max_wait_ns;
    msb_breaker_state_cb cb;
    void *user;
    char *name;

    msb__ring_t ring;  /* count window */
    msb__twin_t twin;  /* time window (no totals): fields calls, failures, slow */
    _Atomic bool warm; /* time window: held at least minimum_calls when last summed */

    /* Statistics (the closed-state calls live in the windows: ring.head, twin cumulative). */
    _Alignas(MSB_CACHELINE) _Atomic uint64_t calls_other;
    _Atomic uint64_t failures;
    _Atomic uint64_t slow;
    _Atomic uint64_t ignored;
    _Atomic uint64_t rejected;
    _Atomic uint64_t transitions;
    _Atomic uint64_t opened;
    _Atomic uint64_t cur_wait;

    /* Under mu. Half-open is a short, bounded phase: its probes are counted under the lock
     * (half_issued is also read without it, as a hint). */
    pthread_mutex_t mu;
    _Atomic uint32_t half_issued;
    uint32_t half_done, half_fails, half_slow;
    uint64_t half_since;
    uint32_t open_streak;     /* consecutive openings without closing */
    msb__brk_event_t *events; /* ring of ev_cap undelivered notices (NULL without callback) */
    uint32_t ev_head, ev_len, ev_cap;
    bool delivering;
    uint64_t ev_dropped;
};

static inline uint64_t msb__brk_now(const msb_breaker_t *b)
{
    return b->clock->monotonic_ns(b->clock);
}

/*
 * Move to `to` if the state word is still `expect` (any state when `expect` is UINT64_MAX), then
 * deliver pending notices. Returns true if this call made the transition. Call without `mu`.
 */
MSB_INTERNAL bool msb__breaker_move(msb_breaker_t *b, uint64_t expect, msb_breaker_state_t to,
                                    uint64_t now);
/* The same with `mu` held; the caller unlocks, then calls msb__breaker_deliver(). */
MSB_INTERNAL bool msb__breaker_move_locked(msb_breaker_t *b, uint64_t expect,
                                           msb_breaker_state_t to, uint64_t now);
/* Run the callback for pending notices, unless another thread is already doing so. */
MSB_INTERNAL void msb__breaker_deliver(msb_breaker_t *b);
/* Half-open: take a probe permit (MSB_OK) or not (MSB_EREJECTED), and record a probe. */
MSB_INTERNAL msb_status_t msb__breaker_half_acquire(msb_breaker_t *b, uint64_t s, uint64_t now);
MSB_INTERNAL void msb__breaker_half_record(msb_breaker_t *b, uint64_t token, unsigned v,
                                           uint64_t now);
MSB_INTERNAL void msb__breaker_half_release(msb_breaker_t *b, uint64_t token);

/* The open wait for the `streak`-th consecutive opening (0-based). */
MSB_INTERNAL uint64_t msb__breaker_wait_for(const msb_breaker_t *b, uint32_t streak);

/* Whether counts (calls, failures, slow) cross a threshold. */
static inline bool msb__breaker_over(const msb_breaker_t *b, int64_t calls, int64_t fails,
                                     int64_t slow)
{
    if (calls < (int64_t)b->minimum_calls || calls <= 0) {
        return false;
    }
    if ((double)fails / (double)calls >= b->failure_rate) {
        return true;
    }
    return b->slow_ns != 0 && (double)slow / (double)calls >= b->slow_rate;
}

/* For the stress tests: true if the closed-state window's counts equal the sum of its buckets
 * (call only when no thread is recording). */
MSB_INTERNAL bool msb__breaker_window_consistent(msb_breaker_t *b);

#endif
