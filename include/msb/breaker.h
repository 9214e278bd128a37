/**
 * @file breaker.h
 * @brief Circuit breaker (closed / open / half-open, sliding windows, failure and slow-call
 * rates) and the adaptive client-side throttle of the Google SRE book.
 *
 * **Breaker.** Guard each call to a dependency with msb_breaker_acquire() and report how it went
 * with msb_breaker_record():
 * @code
 * msb_breaker_permit_t p;
 * if (msb_breaker_acquire(b, &p) != MSB_OK) {
 *     return MSB_EREJECTED;                   // open: fail fast
 * }
 * msb_status_t rc = call_dependency();
 * msb_breaker_record(b, &p, rc == MSB_OK ? MSB_BREAKER_SUCCESS
 *                        : rc == MSB_ECANCELED ? MSB_BREAKER_IGNORED : MSB_BREAKER_FAILURE);
 * @endcode
 * In the closed state the breaker keeps a sliding window of outcomes: the last N calls (count
 * window) or the calls of the last T seconds in B buckets (time window; a bucket expires as a
 * whole, the rest stay). Once the window holds at least `minimum_calls` calls, a failure rate or
 * slow-call rate at or above its threshold opens the breaker. Open, it rejects every call for the
 * open wait (fixed, or growing exponentially with each consecutive opening up to a cap), then
 * goes half-open: it lets `half_open_calls` probes through and closes if their rates are under
 * the thresholds, or opens again. Outcomes classified #MSB_BREAKER_IGNORED (cancellations, a
 * client's own bad requests) count for nothing.
 *
 * The closed-state path (acquire + record) takes no lock: it is a handful of atomic operations
 * and reads no clock unless slow calls are tracked or the window is time-based. Transitions take
 * a short internal lock.
 *
 * **Throttle.** msb_throttle_t rejects locally with probability
 * max(0, (requests − K·accepts) / (requests + 1)) over a sliding time window, so that a client
 * stops sending work a struggling backend would refuse anyway (Google SRE book, "Handling
 * Overload").
 */
#ifndef MSB_BREAKER_H
#define MSB_BREAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/clock.h"
#include "msb/error.h"

MSB_BEGIN_DECLS

/** @brief A circuit breaker (opaque). @since 0.1 */
typedef struct msb_breaker msb_breaker_t;

/** @brief Breaker states. Values are stable. @since 0.1 */
typedef enum msb_breaker_state {
    MSB_BREAKER_CLOSED = 0,      /**< calls pass; outcomes fill the sliding window */
    MSB_BREAKER_OPEN = 1,        /**< calls are rejected until the open wait ends */
    MSB_BREAKER_HALF_OPEN = 2,   /**< a limited number of probe calls pass */
    MSB_BREAKER_FORCED_OPEN = 3, /**< set by msb_breaker_transition(): rejects until changed */
    MSB_BREAKER_DISABLED = 4     /**< set by msb_breaker_transition(): permits everything */
} msb_breaker_state_t;

/** @brief Kind of sliding window. @since 0.1 */
typedef enum msb_breaker_window {
    MSB_BREAKER_WINDOW_COUNT = 0, /**< the last `window_size` calls */
    MSB_BREAKER_WINDOW_TIME = 1   /**< the calls of the last `window_ns`, in buckets */
} msb_breaker_window_t;

/** @brief How a call went, as the caller classifies it. @since 0.1 */
typedef enum msb_breaker_outcome {
    MSB_BREAKER_SUCCESS = 0, /**< counts as a call (and as slow if it took too long) */
    MSB_BREAKER_FAILURE = 1, /**< counts as a failed call */
    MSB_BREAKER_IGNORED = 2  /**< counts for nothing (cancelled, the client's own error) */
} msb_breaker_outcome_t;

/**
 * @brief State-change callback.
 *
 * Runs on the thread whose call caused the transition (msb_breaker_acquire(),
 * msb_breaker_record(), msb_breaker_transition()), or on another thread that is already
 * delivering this breaker's notices; never while the breaker holds a lock. The notices of one
 * breaker are delivered one at a time and in the order of the transitions. The callback may call
 * any function of this breaker except msb_breaker_free(); a transition it causes is delivered
 * after it returns. Notices of transitions made while a callback runs wait in a queue that grows
 * as needed (past 65536 undelivered notices, or if it cannot grow, the oldest are dropped).
 * @param b the breaker (borrowed). @param from the old state. @param to the new state.
 * @param user the `user` of the options.
 * @since 0.1
 */
typedef void (*msb_breaker_state_cb)(msb_breaker_t *b, msb_breaker_state_t from,
                                     msb_breaker_state_t to, void *user);

/**
 * @brief Breaker options. Initialise with #MSB_BREAKER_OPTS_INIT, then change fields.
 * @since 0.1
 */
typedef struct msb_breaker_opts {
    size_t size;                     /**< sizeof(msb_breaker_opts_t), set by the initialiser */
    const char *name;                /**< for logs and metrics; copied. Default "breaker" */
    const msb_clock_t *clock;        /**< NULL: msb_clock_real(); msb_clock_coarse() is cheaper */
    msb_breaker_window_t window;     /**< default #MSB_BREAKER_WINDOW_COUNT */
    uint32_t window_size;            /**< count window: calls kept, 1..1000000. Default 100 */
    uint64_t window_ns;              /**< time window: length, >= 1 ms. Default 60 s */
    uint32_t window_buckets;         /**< time window: buckets, 1..3600. Default 60 */
    uint32_t minimum_calls;          /**< calls in the window before it judges, >= 1. Default
                                          100; a count window uses at most `window_size` */
    double failure_rate_threshold;   /**< opens at or above this rate, in (0, 1]. Default 0.5 */
    double slow_call_rate_threshold; /**< opens at or above this rate, in (0, 1]. Default 1 */
    uint64_t slow_call_duration_ns;  /**< a call at least this long is slow; 0 (the default)
                                          tracks no slow calls and reads no clock for them */
    uint64_t open_wait_ns;           /**< wait in the open state, >= 1 ms. Default 60 s */
    double open_wait_multiplier;     /**< each consecutive opening waits this much longer,
                                          in [1, 100]; 1 (the default) keeps the wait fixed */
    uint64_t open_wait_max_ns;       /**< cap of the growing wait, >= open_wait_ns.
                                          Default 10 min */
    uint32_t half_open_calls;        /**< probes permitted in half-open, 1..100000. Default 10 */
    uint64_t half_open_max_wait_ns;  /**< half-open longer than this reopens; 0 (default):
                                          wait for the probes' outcomes however long */
    msb_breaker_state_cb on_state_change; /**< NULL: none. See #msb_breaker_state_cb */
    void *user;                           /**< passed to `on_state_change` */
} msb_breaker_opts_t;

/** @brief Defaults of #msb_breaker_opts_t (the values documented on each field). @since 0.1 */
#define MSB_BREAKER_OPTS_INIT                                                                      \
    {                                                                                              \
        .size = sizeof(msb_breaker_opts_t), .name = NULL, .clock = NULL,                           \
        .window = MSB_BREAKER_WINDOW_COUNT, .window_size = 100, .window_ns = 60 * MSB_SEC,         \
        .window_buckets = 60, .minimum_calls = 100, .failure_rate_threshold = 0.5,                 \
        .slow_call_rate_threshold = 1.0, .slow_call_duration_ns = 0, .open_wait_ns = 60 * MSB_SEC, \
        .open_wait_multiplier = 1.0, .open_wait_max_ns = 600 * MSB_SEC, .half_open_calls = 10,     \
        .half_open_max_wait_ns = 0, .on_state_change = NULL, .user = NULL                          \
    }

/**
 * @brief What msb_breaker_acquire() hands out and msb_breaker_record() takes back.
 *
 * A small value the caller keeps (usually on the stack) between the two calls; its fields are
 * private. A permit from before a state change is recognised: its outcome is counted in the
 * statistics but not judged in the new state.
 * @since 0.1
 */
typedef struct msb_breaker_permit {
    uint64_t token;    /**< private */
    uint64_t start_ns; /**< private */
} msb_breaker_permit_t;

/**
 * @brief Counters for metrics, from msb_breaker_stats(). All counts are since creation.
 * @since 0.1
 */
typedef struct msb_breaker_stats {
    size_t size;               /**< set by the caller: sizeof(msb_breaker_stats_t) */
    msb_breaker_state_t state; /**< current state */
    uint64_t calls;            /**< outcomes recorded as success or failure */
    uint64_t failures;         /**< outcomes recorded as failure */
    uint64_t slow;             /**< calls at least `slow_call_duration_ns` long */
    uint64_t ignored;          /**< outcomes recorded as ignored */
    uint64_t rejected;         /**< acquisitions refused */
    uint64_t transitions;      /**< state changes */
    uint64_t opened;           /**< entries into the open state */
    uint64_t window_calls;     /**< calls in the current closed-state window */
    uint64_t window_failures;  /**< failures in the current closed-state window */
    uint64_t window_slow;      /**< slow calls in the current closed-state window */
    uint64_t open_wait_ns;     /**< the wait of the current or next opening */
} msb_breaker_stats_t;

/**
 * @brief Create a breaker.
 *
 * @param opts options (NULL: all defaults).
 * @param out receives the breaker.
 * @param err optional detail on failure.
 * @return #MSB_OK; #MSB_EINVAL naming the option out of range; #MSB_ENOMEM.
 * Ownership: *out is new, free it with msb_breaker_free(). Nothing is kept of `opts`.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_breaker_new(const msb_breaker_opts_t *opts, msb_breaker_t **out,
                                     msb_error_t *err);

/**
 * @brief Free a breaker. NULL is a no-op.
 *
 * Thread-safety: no other thread may be using the breaker, and no callback may be running.
 * @since 0.1
 */
MSB_API void msb_breaker_free(msb_breaker_t *b);

/**
 * @brief Ask permission for one call.
 *
 * @param b the breaker.
 * @param permit receives the permit to hand to msb_breaker_record().
 * @return #MSB_OK: make the call and record its outcome; #MSB_EREJECTED: the breaker is open
 * (or half-open with every probe taken): do not make the call, and do not record anything.
 * Ownership: nothing allocated. Thread-safety: safe from any thread; lock-free when closed.
 * @since 0.1
 */
MSB_API msb_status_t msb_breaker_acquire(msb_breaker_t *b, msb_breaker_permit_t *permit);

/**
 * @brief Record the outcome of a permitted call; the call's duration is measured from
 * msb_breaker_acquire() when slow calls are tracked.
 *
 * Every permit must be recorded exactly once (use #MSB_BREAKER_IGNORED to give one back).
 * @param b the breaker. @param permit from msb_breaker_acquire(). @param outcome how it went.
 * Thread-safety: safe from any thread; lock-free when closed. May run the state callback.
 * @since 0.1
 */
MSB_API void msb_breaker_record(msb_breaker_t *b, const msb_breaker_permit_t *permit,
                                msb_breaker_outcome_t outcome);

/**
 * @brief Like msb_breaker_record() with a duration measured by the caller (no clock read).
 *
 * @param b the breaker. @param permit from msb_breaker_acquire(). @param outcome how it went.
 * @param duration_ns how long the call took.
 * Thread-safety: safe from any thread; lock-free when closed. May run the state callback.
 * @since 0.1
 */
MSB_API void msb_breaker_record_duration(msb_breaker_t *b, const msb_breaker_permit_t *permit,
                                         msb_breaker_outcome_t outcome, uint64_t duration_ns);

/**
 * @brief Current state (a snapshot: it may change at once).
 *
 * An open breaker whose wait has ended reports #MSB_BREAKER_OPEN until the next acquisition
 * moves it to half-open.
 * Thread-safety: safe from any thread; lock-free.
 * @since 0.1
 */
MSB_API msb_breaker_state_t msb_breaker_state(const msb_breaker_t *b);

/**
 * @brief Move the breaker to a state by hand (an operator's override, or a reset).
 *
 * #MSB_BREAKER_CLOSED clears the window; #MSB_BREAKER_OPEN starts a normal open wait;
 * #MSB_BREAKER_FORCED_OPEN and #MSB_BREAKER_DISABLED stay until the next call of this function.
 * Moving to the current state does nothing and runs no callback.
 * @param b the breaker. @param to the target state. @param err optional detail.
 * @return #MSB_OK, or #MSB_EINVAL for a value that is not a state.
 * Thread-safety: safe from any thread. May run the state callback before it returns.
 * @since 0.1
 */
MSB_API msb_status_t msb_breaker_transition(msb_breaker_t *b, msb_breaker_state_t to,
                                            msb_error_t *err);

/**
 * @brief Read the counters.
 *
 * @param b the breaker.
 * @param out filled up to `out->size` bytes; set `size` to sizeof(msb_breaker_stats_t) first.
 * Thread-safety: safe from any thread; each counter is read atomically, the set is not one
 * instant's snapshot.
 * @since 0.1
 */
MSB_API void msb_breaker_stats(const msb_breaker_t *b, msb_breaker_stats_t *out);

/**
 * @brief The breaker's name.
 * @return borrowed text, valid until msb_breaker_free(). Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const char *msb_breaker_name(const msb_breaker_t *b);

/**
 * @brief Lower-case name of a state ("closed", "open", "half_open", "forced_open", "disabled").
 * @return static text, never NULL ("unknown" for other values). Thread-safety: any thread.
 * @since 0.1
 */
MSB_API const char *msb_breaker_state_name(msb_breaker_state_t state);

/* ---- the adaptive client-side throttle ---------------------------------------------------- */

/** @brief An adaptive client-side throttle (opaque). @since 0.1 */
typedef struct msb_throttle msb_throttle_t;

/**
 * @brief Throttle options. Initialise with #MSB_THROTTLE_OPTS_INIT.
 * @since 0.1
 */
typedef struct msb_throttle_opts {
    size_t size;              /**< sizeof(msb_throttle_opts_t), set by the initialiser */
    const msb_clock_t *clock; /**< NULL: msb_clock_real() */
    double k;                 /**< accepts multiplier K, in [1, 100]. Default 2 (the book's) */
    uint64_t window_ns;       /**< history kept, >= 1 ms. Default 10 s */
    uint32_t window_buckets;  /**< buckets of the window, 1..3600. Default 20 */
    uint32_t min_requests;    /**< no rejection while the window holds fewer requests.
                                   Default 10 */
} msb_throttle_opts_t;

/** @brief Defaults of #msb_throttle_opts_t. @since 0.1 */
#define MSB_THROTTLE_OPTS_INIT                                                                     \
    {                                                                                              \
        .size = sizeof(msb_throttle_opts_t), .clock = NULL, .k = 2.0, .window_ns = 10 * MSB_SEC,   \
        .window_buckets = 20, .min_requests = 10                                                   \
    }

/** @brief Throttle counters, from msb_throttle_stats(). @since 0.1 */
typedef struct msb_throttle_stats {
    size_t size;               /**< set by the caller: sizeof(msb_throttle_stats_t) */
    uint64_t requests;         /**< acquisitions since creation */
    uint64_t accepts;          /**< outcomes recorded as accepted since creation */
    uint64_t rejected;         /**< acquisitions refused locally since creation */
    uint64_t window_requests;  /**< requests in the window */
    uint64_t window_accepts;   /**< accepts in the window */
    double reject_probability; /**< what an acquisition now would use */
} msb_throttle_stats_t;

/**
 * @brief Create a throttle.
 * @param opts options (NULL: defaults). @param out receives the throttle.
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EINVAL naming the option, #MSB_ENOMEM.
 * Ownership: *out is new, free it with msb_throttle_free(). Thread-safety: any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_throttle_new(const msb_throttle_opts_t *opts, msb_throttle_t **out,
                                      msb_error_t *err);

/**
 * @brief Free a throttle. NULL is a no-op.
 * Thread-safety: no other thread may be using it.
 * @since 0.1
 */
MSB_API void msb_throttle_free(msb_throttle_t *t);

/**
 * @brief Count a request and decide whether to send it.
 * @return #MSB_OK: send it and call msb_throttle_record(); #MSB_EREJECTED: rejected locally
 * (the request still counts in the window, as the book prescribes; record nothing).
 * Thread-safety: safe from any thread; lock-free.
 * @since 0.1
 */
MSB_API msb_status_t msb_throttle_acquire(msb_throttle_t *t);

/**
 * @brief Report whether the backend accepted a request that was sent.
 *
 * "Accepted" means the backend handled it, even with an application error; a refusal for
 * overload (429, 503, RESOURCE_EXHAUSTED) or a timeout is not accepted.
 * @param t the throttle. @param accepted whether the backend accepted the request.
 * Thread-safety: safe from any thread; lock-free.
 * @since 0.1
 */
MSB_API void msb_throttle_record(msb_throttle_t *t, bool accepted);

/**
 * @brief Read the counters.
 * @param t the throttle. @param out filled up to `out->size` bytes.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_throttle_stats(const msb_throttle_t *t, msb_throttle_stats_t *out);

MSB_END_DECLS

#endif /* MSB_BREAKER_H */
