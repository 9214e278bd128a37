/**
 * @file ratelimit.h
 * @brief Rate limiters: GCRA and token bucket, one limit or one per key, with the numbers HTTP's
 * `Retry-After` and `RateLimit` header fields need.
 *
 * A limit is `rate` permits per `period`, with up to `burst` permits at once:
 *
 * - **GCRA** (the generic cell rate algorithm; the default) spaces permits evenly: one every
 *   `period / rate`, with `burst` of them available at once after a quiet spell. It is the
 *   continuous token bucket of golang.org/x/time/rate, kept in one 64-bit word.
 * - **Token bucket** adds `rate` tokens at once at the start of each `period` (the periods are
 *   counted from the limiter's creation), up to `burst`; a permit takes a token. "100 a minute,
 *   renewed each minute" is `rate = 100, period = 60 s`; `rate = 1` with a short period is a
 *   smooth bucket with that granularity.
 *
 * An #msb_ratelimit_t is one limit (a whole service, one upstream). An #msb_ratelimit_keyed_t
 * keeps one limit per key (a client address, a user id) in a fixed amount of memory, sharded so
 * that keys do not contend. The distributed limiter on Redis is in ratelimit_redis.h.
 *
 * Every decision can fill an #msb_ratelimit_result_t: on a denial, how long until the same
 * request can succeed (`Retry-After`); always, the limit, the permits remaining and the time
 * until the limiter is full again (the `RateLimit` and `RateLimit-Policy` fields of
 * draft-ietf-httpapi-ratelimit-headers, formatted by msb_ratelimit_format_headers()).
 *
 * Time comes from the options' clock. msb_clock_coarse() costs a few nanoseconds where the
 * precise clock costs 20–30: it lags real time by at most one kernel tick (1–4 ms), so a limiter
 * on it never grants more than the limit allows and delays a refill by at most one tick. See
 * docs/ratelimit.md.
 *
 * @code
 * msb_ratelimit_opts_t o = MSB_RATELIMIT_OPTS_INIT;
 * o.rate = 100;                 // 100 requests a second,
 * o.burst = 20;                 // at most 20 at once
 * o.clock = msb_clock_coarse();
 * msb_ratelimit_t *rl;
 * if (msb_ratelimit_new(&o, &rl, &err) != MSB_OK) { ... }
 * if (!msb_ratelimit_allow(rl)) { reply 429 }
 * @endcode
 */
#ifndef MSB_RATELIMIT_H
#define MSB_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/clock.h"
#include "msb/error.h"

MSB_BEGIN_DECLS

/** @brief The algorithm of a limiter. @since 0.1 */
typedef enum msb_ratelimit_algorithm {
    MSB_RATELIMIT_GCRA = 0,        /**< evenly spaced permits with a burst tolerance (default) */
    MSB_RATELIMIT_TOKEN_BUCKET = 1 /**< `rate` tokens added at the start of each period */
} msb_ratelimit_algorithm_t;

/** @brief Who made a decision (the distributed limiter may decide without Redis). @since 0.1 */
typedef enum msb_ratelimit_source {
    MSB_RATELIMIT_SOURCE_LOCAL = 0,     /**< an in-process limiter */
    MSB_RATELIMIT_SOURCE_REDIS = 1,     /**< the Redis script */
    MSB_RATELIMIT_SOURCE_FAIL_OPEN = 2, /**< Redis unreachable: allowed by the fail-open policy */
    MSB_RATELIMIT_SOURCE_FAIL_CLOSED =
        3,                            /**< Redis unreachable: denied by the fail-closed policy */
    MSB_RATELIMIT_SOURCE_FALLBACK = 4 /**< Redis unreachable: the local fallback limiter */
} msb_ratelimit_source_t;

/**
 * @brief The outcome of one decision, with what the HTTP rate-limit header fields carry.
 *
 * Durations are nanoseconds. "Full" means `remaining == limit`.
 * @since 0.1
 */
typedef struct msb_ratelimit_result {
    /** Whether the permits were granted. */
    bool allowed;
    /** Who decided. */
    msb_ratelimit_source_t source;
    /** The most permits available at once: the burst (`RateLimit-Policy` `q`). */
    uint64_t limit;
    /** Permits that could be taken right after this decision (`RateLimit` `r`). */
    uint64_t remaining;
    /** Time until the limiter is full again (`RateLimit` `t`); 0 when it is full. */
    int64_t reset_ns;
    /** 0 when allowed; when denied, the time until the same request can succeed (`Retry-After`);
     *  -1 when it never can (more permits asked than the burst). */
    int64_t retry_after_ns;
    /** Time to refill `limit` permits from none (`RateLimit-Policy` `w`). */
    int64_t window_ns;
} msb_ratelimit_result_t;

/**
 * @brief Options of a limit. Initialise with #MSB_RATELIMIT_OPTS_INIT, then set fields.
 *
 * Limits: `rate` ≥ 1; at most one permit per nanosecond (`rate` ≤ `period_ns`); `burst` × the
 * time of one permit under 2^62 ns.
 * @since 0.1
 */
typedef struct msb_ratelimit_opts {
    /** sizeof(msb_ratelimit_opts_t), set by #MSB_RATELIMIT_OPTS_INIT. */
    size_t size;
    /** #MSB_RATELIMIT_GCRA (default) or #MSB_RATELIMIT_TOKEN_BUCKET. */
    msb_ratelimit_algorithm_t algorithm;
    /** Permits per period; required (default 0 is rejected). */
    uint64_t rate;
    /** The period in nanoseconds; default 1 s. */
    int64_t period_ns;
    /** Most permits at once; default 0 means `rate`. */
    uint64_t burst;
    /** Clock; NULL (default) means msb_clock_real(). Borrowed: must outlive the limiter. */
    const msb_clock_t *clock;
} msb_ratelimit_opts_t;

/** Initialiser of #msb_ratelimit_opts_t with every default. */
#define MSB_RATELIMIT_OPTS_INIT                                                                    \
    {                                                                                              \
        sizeof(msb_ratelimit_opts_t), MSB_RATELIMIT_GCRA, 0, MSB_SEC, 0, NULL                      \
    }

/** @brief One limit, shared by every thread. @since 0.1 */
typedef struct msb_ratelimit msb_ratelimit_t;

/**
 * @brief Create a limiter, full (`burst` permits available).
 *
 * @param opts options (copied); NULL is invalid (`rate` is required).
 * @param out receives the limiter.
 * @param err optional detail on failure.
 * @return #MSB_OK; #MSB_EINVAL naming the bad field; #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_ratelimit_free(). Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_ratelimit_new(const msb_ratelimit_opts_t *opts, msb_ratelimit_t **out,
                                       msb_error_t *err);

/**
 * @brief Free a limiter. NULL is a no-op.
 *
 * Thread-safety: no other thread may be using the limiter.
 * @since 0.1
 */
MSB_API void msb_ratelimit_free(msb_ratelimit_t *rl);

/**
 * @brief Take one permit if one is available: the fast path.
 *
 * No lock and no allocation: one clock reading and one compare-and-swap.
 * @param rl the limiter; NULL gives false.
 * @return true when granted.
 * Thread-safety: safe from any thread (lock-free).
 * @since 0.1
 */
MSB_API bool msb_ratelimit_allow(msb_ratelimit_t *rl);

/**
 * @brief Take `n` permits at once, or none, and describe the outcome.
 *
 * `n` = 0 takes nothing and reports the state (a peek).
 * @param rl the limiter.
 * @param n permits wanted.
 * @param res optional: filled with the outcome whatever the status.
 * @return #MSB_OK when granted; #MSB_EREJECTED when denied (`res->retry_after_ns` says when to
 *   retry); #MSB_ERANGE when `n` exceeds the burst and can never be granted; #MSB_EINVAL when
 *   `rl` is NULL.
 * Thread-safety: safe from any thread (lock-free, no allocation).
 * @since 0.1
 */
MSB_API msb_status_t msb_ratelimit_take(msb_ratelimit_t *rl, uint64_t n,
                                        msb_ratelimit_result_t *res);

/**
 * @brief Make the limiter full again (all `burst` permits available).
 *
 * Thread-safety: safe from any thread; a concurrent take may land before or after the reset.
 * @since 0.1
 */
MSB_API void msb_ratelimit_reset(msb_ratelimit_t *rl);

/**
 * @brief Options of a keyed limiter. Initialise with #MSB_RATELIMIT_KEYED_OPTS_INIT.
 *
 * The memory is allocated once at creation: `max_keys` × (`key_max` + 24, rounded up to 8) bytes
 * plus an index of 8 to 16 bytes a key. It never grows, whatever keys the clients send.
 * @since 0.1
 */
typedef struct msb_ratelimit_keyed_opts {
    /** sizeof(msb_ratelimit_keyed_opts_t), set by #MSB_RATELIMIT_KEYED_OPTS_INIT. */
    size_t size;
    /** The limit each key gets (copied at creation); required. */
    const msb_ratelimit_opts_t *limit;
    /** Most keys held at once, 1 … 2^28; default 16384. When a shard is full, a key that is full
     *  again (forgetting it loses nothing) or else the least recently used one (clock
     *  algorithm) makes room. */
    size_t max_keys;
    /** Longest key in bytes, 1 … 4096; default 64. Longer keys are refused with #MSB_ETOOBIG. */
    size_t key_max;
    /** Shards, a power of two ≤ `max_keys`; default 0 picks one from the CPU count and
     *  `max_keys` (at least 16 keys a shard). Keys in different shards never contend. */
    size_t shards;
} msb_ratelimit_keyed_opts_t;

/** Initialiser of #msb_ratelimit_keyed_opts_t with every default. */
#define MSB_RATELIMIT_KEYED_OPTS_INIT                                                              \
    {                                                                                              \
        sizeof(msb_ratelimit_keyed_opts_t), NULL, 16384, 64, 0                                     \
    }

/** @brief Counters of a keyed limiter, for metrics. @since 0.1 */
typedef struct msb_ratelimit_keyed_stats {
    uint64_t keys;             /**< keys held now */
    uint64_t capacity;         /**< most keys it can hold (the sum over the shards) */
    uint64_t evictions;        /**< keys forgotten to make room (all kinds) */
    uint64_t evictions_active; /**< of those, keys that were not full: they got a fresh burst */
} msb_ratelimit_keyed_stats_t;

/** @brief One limit per key (client address, user id), in bounded memory. @since 0.1 */
typedef struct msb_ratelimit_keyed msb_ratelimit_keyed_t;

/**
 * @brief Create a keyed limiter; every key starts full.
 *
 * @param opts options; `opts->limit` is required and copied.
 * @param out receives the limiter.
 * @param err optional detail on failure.
 * @return #MSB_OK; #MSB_EINVAL naming the bad field (`limit.rate`, `max_keys`, …); #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_ratelimit_keyed_free(). Thread-safety: safe from any
 * thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_ratelimit_keyed_new(const msb_ratelimit_keyed_opts_t *opts,
                                             msb_ratelimit_keyed_t **out, msb_error_t *err);

/**
 * @brief Free a keyed limiter. NULL is a no-op.
 *
 * Thread-safety: no other thread may be using it.
 * @since 0.1
 */
MSB_API void msb_ratelimit_keyed_free(msb_ratelimit_keyed_t *kl);

/**
 * @brief Take one permit for `key`.
 *
 * @param kl the limiter.
 * @param key the key's bytes (any bytes: an address, a user id); hashed with a per-process
 *   SipHash key, so clients cannot aim at one shard.
 * @param key_len its length, 1 … `key_max`.
 * @return true when granted; false when denied or the key is empty or longer than `key_max`.
 * Thread-safety: safe from any thread: a short lock on the key's shard, no allocation.
 * @since 0.1
 */
MSB_API bool msb_ratelimit_keyed_allow(msb_ratelimit_keyed_t *kl, const void *key, size_t key_len);

/**
 * @brief Take `n` permits for `key` at once, or none, and describe the outcome.
 *
 * @param kl the limiter.
 * @param key the key's bytes.
 * @param key_len its length.
 * @param n permits wanted; 0 peeks (a key not held is reported full and is not added).
 * @param res optional: filled with the outcome whatever the status.
 * @return #MSB_OK when granted; #MSB_EREJECTED when denied; #MSB_ERANGE when `n` exceeds the
 *   burst; #MSB_ETOOBIG when `key_len` exceeds `key_max`; #MSB_EINVAL when `kl` or `key` is
 *   NULL or `key_len` is 0.
 * Thread-safety: safe from any thread: a short lock on the key's shard, no allocation.
 * @since 0.1
 */
MSB_API msb_status_t msb_ratelimit_keyed_take(msb_ratelimit_keyed_t *kl, const void *key,
                                              size_t key_len, uint64_t n,
                                              msb_ratelimit_result_t *res);

/**
 * @brief Forget `key`: its next request starts full (after a successful login, say).
 *
 * @return #MSB_OK; #MSB_ENOTFOUND when the key was not held; #MSB_EINVAL or #MSB_ETOOBIG for a
 *   bad key.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_ratelimit_keyed_forget(msb_ratelimit_keyed_t *kl, const void *key,
                                                size_t key_len);

/**
 * @brief Read the counters.
 *
 * @param kl the limiter.
 * @param out receives them; each shard is read under its lock, so the sum is a snapshot per
 *   shard.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_ratelimit_keyed_stats(msb_ratelimit_keyed_t *kl, msb_ratelimit_keyed_stats_t *out);

/**
 * @brief Seconds for a `Retry-After` field: the retry delay rounded up, at least 1 on a denial.
 *
 * @param res a decision.
 * @return 0 when it was allowed; -1 when it can never succeed; else whole seconds ≥ 1.
 * Thread-safety: pure function.
 * @since 0.1
 */
MSB_API int64_t msb_ratelimit_retry_after_s(const msb_ratelimit_result_t *res);

/**
 * @brief Format the `RateLimit-Policy` and `RateLimit` field values of
 * draft-ietf-httpapi-ratelimit-headers (-09) for a decision.
 *
 * `policy` becomes `"<name>";q=<limit>;w=<window s>` and `state` becomes
 * `"<name>";r=<remaining>;t=<reset s>` (structured-field lists, RFC 8941; seconds rounded up).
 * @param res a decision.
 * @param name the policy identifier: 1 … 64 printable ASCII characters.
 * @param policy buffer for the `RateLimit-Policy` value, or NULL.
 * @param policy_size its size.
 * @param state buffer for the `RateLimit` value, or NULL.
 * @param state_size its size.
 * @return #MSB_OK; #MSB_EINVAL for a bad name or NULL `res`; #MSB_ETOOBIG when a buffer is too
 *   small (256 bytes are always enough).
 * Thread-safety: pure function.
 * @since 0.1
 */
MSB_API msb_status_t msb_ratelimit_format_headers(const msb_ratelimit_result_t *res,
                                                  const char *name, char *policy,
                                                  size_t policy_size, char *state,
                                                  size_t state_size);

MSB_END_DECLS

#endif /* MSB_RATELIMIT_H */
