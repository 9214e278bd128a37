/**
 * @file bulkhead.h
 * @brief Bulkhead: at most N concurrent calls into one dependency, with an optional bounded
 * wait for a free place.
 *
 * A slow dependency then ties up at most N of a service's threads or connections instead of all
 * of them. Event-loop code uses msb_bulkhead_try_acquire() (never blocks); plain threads may use
 * msb_bulkhead_acquire(), which waits up to a bound for a place to free up.
 * @code
 * if (msb_bulkhead_acquire(bh, deadline_left_ns) != MSB_OK) {
 *     return MSB_EREJECTED;               // full (or still full when the wait ended)
 * }
 * rc = call_dependency();
 * msb_bulkhead_release(bh);
 * @endcode
 * Places are not handed out in FIFO order: a try-acquire can take a place a waiter was woken
 * for (the waiter then waits on, within its bound).
 */
#ifndef MSB_BULKHEAD_H
#define MSB_BULKHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "msb/clock.h"
#include "msb/error.h"

MSB_BEGIN_DECLS

/** @brief A bulkhead (opaque). @since 0.1 */
typedef struct msb_bulkhead msb_bulkhead_t;

/** @brief Bulkhead options. Initialise with #MSB_BULKHEAD_OPTS_INIT. @since 0.1 */
typedef struct msb_bulkhead_opts {
    size_t size;              /**< sizeof(msb_bulkhead_opts_t), set by the initialiser */
    const msb_clock_t *clock; /**< measures waits. NULL: msb_clock_real(). With another clock a
                                   waiter re-reads it every millisecond of real time */
    uint32_t max_concurrent;  /**< places, 1..1000000. Default 25 */
    uint64_t max_wait_ns;     /**< the longest msb_bulkhead_acquire() waits; 0 (the default):
                                   it does not wait */
} msb_bulkhead_opts_t;

/** @brief Defaults of #msb_bulkhead_opts_t. @since 0.1 */
#define MSB_BULKHEAD_OPTS_INIT                                                                     \
    {                                                                                              \
        .size = sizeof(msb_bulkhead_opts_t), .clock = NULL, .max_concurrent = 25, .max_wait_ns = 0 \
    }

/** @brief Bulkhead counters, from msb_bulkhead_stats(). @since 0.1 */
typedef struct msb_bulkhead_stats {
    size_t size;             /**< set by the caller: sizeof(msb_bulkhead_stats_t) */
    uint32_t max_concurrent; /**< places */
    uint32_t in_use;         /**< places taken now */
    uint32_t waiting;        /**< threads waiting in msb_bulkhead_acquire() now */
    uint64_t acquired;       /**< places granted since creation */
    uint64_t rejected;       /**< refusals without waiting since creation */
    uint64_t timeouts;       /**< waits that ended without a place since creation */
} msb_bulkhead_stats_t;

/**
 * @brief Create a bulkhead.
 * @param opts options (NULL: defaults). @param out receives the bulkhead. @param err detail.
 * @return #MSB_OK, #MSB_EINVAL naming the option, #MSB_ENOMEM.
 * Ownership: *out is new, free it with msb_bulkhead_free(). Thread-safety: any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_bulkhead_new(const msb_bulkhead_opts_t *opts, msb_bulkhead_t **out,
                                      msb_error_t *err);

/**
 * @brief Free a bulkhead. NULL is a no-op.
 * Thread-safety: no thread may be using or waiting on it.
 * @since 0.1
 */
MSB_API void msb_bulkhead_free(msb_bulkhead_t *b);

/**
 * @brief Take a place if one is free, without waiting.
 * @return #MSB_OK (call msb_bulkhead_release() when done) or #MSB_EREJECTED.
 * Thread-safety: safe from any thread; lock-free, never blocks.
 * @since 0.1
 */
MSB_API msb_status_t msb_bulkhead_try_acquire(msb_bulkhead_t *b);

/**
 * @brief Take a place, waiting for one up to min(`timeout_ns`, the `max_wait_ns` option).
 * @param b the bulkhead.
 * @param timeout_ns the caller's own bound (e.g. what is left of its deadline); UINT64_MAX for
 * none.
 * @return #MSB_OK (call msb_bulkhead_release() when done); #MSB_EREJECTED if full and the
 * bound is 0; #MSB_ETIMEDOUT if still full when the wait ended.
 * Thread-safety: safe from any thread; blocks the calling thread (never call it on an event
 * loop's thread).
 * @since 0.1
 */
MSB_API msb_status_t msb_bulkhead_acquire(msb_bulkhead_t *b, uint64_t timeout_ns);

/**
 * @brief Give a place back (once per successful acquisition).
 * Thread-safety: safe from any thread (not necessarily the one that acquired); lock-free
 * unless a thread is waiting, then it takes a short lock to wake it.
 * @since 0.1
 */
MSB_API void msb_bulkhead_release(msb_bulkhead_t *b);

/**
 * @brief Read the counters.
 * @param b the bulkhead. @param out filled up to `out->size` bytes.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_bulkhead_stats(const msb_bulkhead_t *b, msb_bulkhead_stats_t *out);

MSB_END_DECLS

#endif /* MSB_BULKHEAD_H */
