/**
 * @file retry.h
 * @brief Retries: exponential backoff with jitter, attempt and time limits, a retry budget,
 * Retry-After, and a predicate that decides what is worth retrying.
 *
 * A retryer (#msb_retry_t) is an immutable policy for one upstream, shared by every call to it
 * and safe from any thread. Each logical call keeps its own small #msb_retry_call_t.
 *
 * **Event-loop code** asks the policy what to do after each failed attempt and schedules the
 * next one itself:
 * @code
 * msb_retry_call_t call;
 * msb_retry_begin(r, &call);
 * ... attempt fails with status rc (and maybe a Retry-After of ra_ns) ...
 * uint64_t delay;
 * if (msb_retry_next(r, &call, rc, NULL, ra_ns, &delay) == MSB_RETRY_AGAIN) {
 *     schedule_timer(delay);                  // then attempt again
 * } else {
 *     fail_request(rc);                       // the verdict says why not
 * }
 * @endcode
 * **Plain programs** let msb_retry_run() call a function until it succeeds or the policy stops,
 * sleeping between attempts; a #msb_retry_cancel_t interrupts it from another thread.
 *
 * **Retry budget.** Retries multiply load exactly when a dependency is weakest. A budget caps
 * them over a sliding window: retries ≤ ratio × requests + min_retries_per_sec × window
 * (Finagle's RetryBudget; Envoy and gRPC's retry throttling follow the same idea). It is on by
 * default (each retryer gets its own, 20 % plus 10 a second over 10 s); retryers of one upstream
 * should share one with msb_retry_budget_new() and the `budget` option.
 */
#ifndef MSB_RETRY_H
#define MSB_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/clock.h"
#include "msb/error.h"

MSB_BEGIN_DECLS

/* ---- retry budget -------------------------------------------------------------------------- */

/** @brief A retry budget (opaque), shareable by retryers of one upstream. @since 0.1 */
typedef struct msb_retry_budget msb_retry_budget_t;

/** @brief Budget options. Initialise with #MSB_RETRY_BUDGET_OPTS_INIT. @since 0.1 */
typedef struct msb_retry_budget_opts {
    size_t size;                /**< sizeof(msb_retry_budget_opts_t), set by the initialiser */
    const msb_clock_t *clock;   /**< NULL: msb_clock_real() */
    double ratio;               /**< retries allowed per request, in [0, 100]. Default 0.2 */
    double min_retries_per_sec; /**< retries always allowed, per second of window, in [0, 1e6].
                                     Default 10 */
    uint64_t window_ns;         /**< window length, >= 1 ms. Default 10 s */
    uint32_t window_buckets;    /**< buckets of the window, 1..3600. Default 10 */
} msb_retry_budget_opts_t;

/** @brief Defaults of #msb_retry_budget_opts_t. @since 0.1 */
#define MSB_RETRY_BUDGET_OPTS_INIT                                                                 \
    {                                                                                              \
        .size = sizeof(msb_retry_budget_opts_t), .clock = NULL, .ratio = 0.2,                      \
        .min_retries_per_sec = 10.0, .window_ns = 10 * MSB_SEC, .window_buckets = 10               \
    }

/** @brief Budget counters, from msb_retry_budget_stats(). @since 0.1 */
typedef struct msb_retry_budget_stats {
    size_t size;              /**< set by the caller: sizeof(msb_retry_budget_stats_t) */
    uint64_t requests;        /**< deposits (first attempts) since creation */
    uint64_t retries;         /**< retries granted since creation */
    uint64_t exhausted;       /**< retries refused since creation */
    uint64_t window_requests; /**< deposits in the window */
    uint64_t window_retries;  /**< retries granted in the window */
    double available;         /**< retries that could be granted now */
} msb_retry_budget_stats_t;

/**
 * @brief Create a budget.
 * @param opts options (NULL: defaults). @param out receives the budget. @param err detail.
 * @return #MSB_OK, #MSB_EINVAL naming the option, #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_retry_budget_free() after every retryer using it.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_retry_budget_new(const msb_retry_budget_opts_t *opts,
                                          msb_retry_budget_t **out, msb_error_t *err);

/**
 * @brief Free a budget. NULL is a no-op.
 * Thread-safety: nothing may use it any more (including retryers that borrow it).
 * @since 0.1
 */
MSB_API void msb_retry_budget_free(msb_retry_budget_t *b);

/**
 * @brief Count one request (a first attempt). msb_retry_begin() does it for its budget.
 * Thread-safety: safe from any thread; lock-free.
 * @since 0.1
 */
MSB_API void msb_retry_budget_deposit(msb_retry_budget_t *b);

/**
 * @brief Take one retry from the budget if it allows one.
 * @return true if the retry may go ahead (and is counted); false if the budget is exhausted.
 * Thread-safety: safe from any thread; lock-free. Concurrent callers never take more than the
 * budget allows.
 * @since 0.1
 */
MSB_API bool msb_retry_budget_withdraw(msb_retry_budget_t *b);

/**
 * @brief Read the counters.
 * @param b the budget. @param out filled up to `out->size` bytes.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_retry_budget_stats(const msb_retry_budget_t *b, msb_retry_budget_stats_t *out);

/* ---- retry policy -------------------------------------------------------------------------- */

/** @brief A retry policy (opaque). @since 0.1 */
typedef struct msb_retry msb_retry_t;

/** @brief How the backoff is randomised (see the AWS Architecture Blog on jitter). @since 0.1 */
typedef enum msb_retry_jitter {
    MSB_RETRY_JITTER_NONE = 0,        /**< b = min(max, initial × multiplier^n) exactly */
    MSB_RETRY_JITTER_FULL = 1,        /**< uniform in [0, b] */
    MSB_RETRY_JITTER_EQUAL = 2,       /**< b/2 + uniform in [0, b/2] */
    MSB_RETRY_JITTER_DECORRELATED = 3 /**< min(max, uniform in [initial, 3 × previous delay]) */
} msb_retry_jitter_t;

/**
 * @brief Decides whether a failed attempt is worth retrying.
 * @param status the attempt's status (never #MSB_OK).
 * @param detail what the attempt passed to msb_retry_next() (e.g. an HTTP status), or NULL.
 * @param user the `user` of the options.
 * @return true to retry.
 * Called on the thread of msb_retry_next() or msb_retry_run(); must be safe from any thread.
 * @since 0.1
 */
typedef bool (*msb_retry_predicate)(msb_status_t status, const void *detail, void *user);

/**
 * @brief How msb_retry_run() waits between attempts (for tests, or to drive a manual clock).
 * @param ns how long to wait. @param user the `sleep_user` of the options.
 * @since 0.1
 */
typedef void (*msb_retry_sleep_fn)(uint64_t ns, void *user);

/** @brief Retry options. Initialise with #MSB_RETRY_OPTS_INIT. @since 0.1 */
typedef struct msb_retry_opts {
    size_t size;                   /**< sizeof(msb_retry_opts_t), set by the initialiser */
    const msb_clock_t *clock;      /**< NULL: msb_clock_real() */
    uint32_t max_attempts;         /**< attempts in all, the first included, 1..1000. Default 3 */
    uint64_t initial_backoff_ns;   /**< first backoff, >= 1 µs. Default 100 ms */
    uint64_t max_backoff_ns;       /**< cap of a backoff, >= initial. Default 10 s */
    double multiplier;             /**< backoff growth per retry, in [1, 100]. Default 2 */
    msb_retry_jitter_t jitter;     /**< default #MSB_RETRY_JITTER_FULL */
    uint64_t max_elapsed_ns;       /**< no retry would start later than this after
                                        msb_retry_begin(); 0 (default): no limit */
    msb_retry_budget_t *budget;    /**< shared budget, borrowed (must outlive the retryer);
                                        NULL (default): the retryer makes its own */
    bool no_budget;                /**< true: no budget at all. Default false */
    uint64_t max_retry_after_ns;   /**< a Retry-After longer than this stops retrying.
                                        Default 60 s */
    msb_retry_predicate retryable; /**< NULL (default): retry #MSB_ETIMEDOUT, #MSB_EUNAVAIL and
                                        #MSB_EBUSY */
    void *user;                    /**< passed to `retryable` */
    msb_retry_sleep_fn sleep;      /**< NULL (default): a real wait that
                                        msb_retry_cancel() interrupts */
    void *sleep_user;              /**< passed to `sleep` */
} msb_retry_opts_t;

/** @brief Defaults of #msb_retry_opts_t. @since 0.1 */
#define MSB_RETRY_OPTS_INIT                                                                        \
    {                                                                                              \
        .size = sizeof(msb_retry_opts_t), .clock = NULL, .max_attempts = 3,                        \
        .initial_backoff_ns = 100 * MSB_MSEC, .max_backoff_ns = 10 * MSB_SEC, .multiplier = 2.0,   \
        .jitter = MSB_RETRY_JITTER_FULL, .max_elapsed_ns = 0, .budget = NULL, .no_budget = false,  \
        .max_retry_after_ns = 60 * MSB_SEC, .retryable = NULL, .user = NULL, .sleep = NULL,        \
        .sleep_user = NULL                                                                         \
    }

/** @brief What msb_retry_next() decided. Values are stable. @since 0.1 */
typedef enum msb_retry_verdict {
    MSB_RETRY_AGAIN = 0,         /**< retry after the delay returned */
    MSB_RETRY_DONE = 1,          /**< the attempt succeeded */
    MSB_RETRY_NOT_RETRYABLE = 2, /**< the predicate said no */
    MSB_RETRY_NO_ATTEMPTS = 3,   /**< `max_attempts` made */
    MSB_RETRY_NO_TIME = 4,       /**< the delay would pass `max_elapsed_ns` */
    MSB_RETRY_NO_BUDGET = 5,     /**< the retry budget is exhausted */
    MSB_RETRY_RETRY_AFTER = 6,   /**< the server's Retry-After exceeds `max_retry_after_ns` */
    MSB_RETRY_CANCELED = 7       /**< msb_retry_run() was cancelled */
} msb_retry_verdict_t;

/**
 * @brief The state of one logical call, kept by the caller between attempts (on the stack, or
 * in the request's context). Fields other than `attempt` are private.
 * @since 0.1
 */
typedef struct msb_retry_call {
    uint32_t attempt;       /**< attempts started so far (1 after msb_retry_begin()) */
    uint32_t reserved;      /**< private */
    uint64_t start_ns;      /**< private */
    uint64_t prev_delay_ns; /**< private */
} msb_retry_call_t;

/**
 * @brief Create a retry policy.
 * @param opts options (NULL: defaults). @param out receives the policy. @param err detail.
 * @return #MSB_OK, #MSB_EINVAL naming the option, #MSB_ENOMEM.
 * Ownership: *out is new, free it with msb_retry_free(); `opts->budget` is borrowed.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_retry_new(const msb_retry_opts_t *opts, msb_retry_t **out,
                                   msb_error_t *err);

/**
 * @brief Free a policy (and its own budget; a shared one is left alone). NULL is a no-op.
 * Thread-safety: nothing may use it any more.
 * @since 0.1
 */
MSB_API void msb_retry_free(msb_retry_t *r);

/**
 * @brief The budget the policy uses: its own, the shared one, or NULL with `no_budget`.
 * @return borrowed, valid until msb_retry_free() (or the shared budget's own free).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_retry_budget_t *msb_retry_budget(const msb_retry_t *r);

/**
 * @brief Start a logical call: note the time and count a request in the budget.
 * @param r the policy. @param call the call's state, filled here.
 * Thread-safety: safe from any thread (each call has its own state).
 * @since 0.1
 */
MSB_API void msb_retry_begin(msb_retry_t *r, msb_retry_call_t *call);

/**
 * @brief Decide what follows an attempt.
 *
 * Checks, in order: success; the predicate; attempts left; the Retry-After cap; the time
 * limit; the budget (taken last, so a retry that will not happen costs nothing). The delay is
 * the jittered backoff, or the server's Retry-After if that is longer.
 * @param r the policy. @param call the call's state (updated when the verdict is AGAIN).
 * @param status the attempt's status (#MSB_OK for success).
 * @param detail passed to the predicate (may be NULL).
 * @param retry_after_ns the server's Retry-After as a duration, 0 if none.
 * @param delay_ns receives the wait before the next attempt when the verdict is
 * #MSB_RETRY_AGAIN, 0 otherwise.
 * @return the verdict.
 * Thread-safety: safe from any thread; one call's state is used by one thread at a time.
 * @since 0.1
 */
MSB_API msb_retry_verdict_t msb_retry_next(msb_retry_t *r, msb_retry_call_t *call,
                                           msb_status_t status, const void *detail,
                                           uint64_t retry_after_ns, uint64_t *delay_ns);

/**
 * @brief Lower-case name of a verdict ("again", "done", "not_retryable", "no_attempts",
 * "no_time", "no_budget", "retry_after", "canceled").
 * @return static text, never NULL ("unknown" for other values). Thread-safety: any thread.
 * @since 0.1
 */
MSB_API const char *msb_retry_verdict_name(msb_retry_verdict_t v);

/* ---- the blocking helper ------------------------------------------------------------------- */

/** @brief A cancellation token for msb_retry_run() (opaque). @since 0.1 */
typedef struct msb_retry_cancel msb_retry_cancel_t;

/**
 * @brief Create a cancellation token.
 * @param out receives the token. @return #MSB_OK or #MSB_ENOMEM.
 * Ownership: *out is new, free it with msb_retry_cancel_free(). Thread-safety: any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_retry_cancel_new(msb_retry_cancel_t **out);

/**
 * @brief Free a token. NULL is a no-op.
 * Thread-safety: no msb_retry_run() may be using it.
 * @since 0.1
 */
MSB_API void msb_retry_cancel_free(msb_retry_cancel_t *c);

/**
 * @brief Cancel: every msb_retry_run() using the token stops at once if it is waiting, or
 * after its current attempt. The token stays cancelled.
 * Thread-safety: safe from any thread (and from a signal-free context only: it locks a mutex).
 * @since 0.1
 */
MSB_API void msb_retry_cancel(msb_retry_cancel_t *c);

/**
 * @brief Whether the token was cancelled. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API bool msb_retry_cancelled(const msb_retry_cancel_t *c);

/**
 * @brief What an attempt of msb_retry_run() may tell the policy besides its status.
 * @since 0.1
 */
typedef struct msb_retry_feedback {
    const void *detail;      /**< passed to the predicate; NULL by default */
    uint64_t retry_after_ns; /**< the server's Retry-After as a duration; 0 by default */
} msb_retry_feedback_t;

/**
 * @brief One attempt of msb_retry_run().
 * @param attempt 1 for the first attempt, 2 for the first retry, …
 * @param feedback zeroed before each attempt; fill it to pass a detail or a Retry-After.
 * @param user the `user` of msb_retry_run().
 * @return the attempt's status; #MSB_OK ends the run.
 * @since 0.1
 */
typedef msb_status_t (*msb_retry_fn)(uint32_t attempt, msb_retry_feedback_t *feedback, void *user);

/**
 * @brief Call `fn` until it succeeds or the policy stops, waiting the backoff between attempts.
 *
 * @param r the policy. @param fn the attempt. @param user passed to `fn`.
 * @param cancel optional token that interrupts the run (NULL: none).
 * @param verdict optional: receives the final verdict (#MSB_RETRY_DONE on success).
 * @param err optional: on failure, why the run stopped and the last status.
 * @return #MSB_OK when an attempt succeeded; the last attempt's status when the policy stopped;
 * #MSB_ECANCELED when cancelled (before an attempt or while waiting).
 * Thread-safety: safe from any thread; blocks the calling thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_retry_run(msb_retry_t *r, msb_retry_fn fn, void *user,
                                   msb_retry_cancel_t *cancel, msb_retry_verdict_t *verdict,
                                   msb_error_t *err);

MSB_END_DECLS

#endif /* MSB_RETRY_H */
