/**
 * @file ratelimit_redis.h
 * @brief A limit per key shared by every process of a service, kept in Redis.
 *
 * Each decision runs one Lua script in Redis (EVALSHA, falling back to EVAL when the server does
 * not know the script yet), atomically, on the server's clock (`TIME`): the processes sharing a
 * limit need not agree on the time. The script applies the limit's algorithm (GCRA or token
 * bucket, see ratelimit.h; the token bucket's periods are aligned to the Unix epoch) and stores
 * one small string per key, with an expiry at the moment the key would be full again. Redis 3.2
 * or later.
 *
 * When Redis cannot be reached (refused, reset, timed out, or answering LOADING, READONLY …),
 * the limiter's policy decides: fail open (allow), fail closed (deny), or fall back to an
 * in-process keyed limiter (the default). It does not wait on a server that is down: after a
 * failure, calls decide by the policy at once for a backoff delay (growing from
 * `backoff_min_ns` to `backoff_max_ns`), then one call probes the server, and decisions return
 * to Redis as soon as it answers.
 *
 * Two ways to call it:
 * - msb_ratelimit_redis_take() blocks, at most `timeout_ns` (plus `connect_timeout_ns` when it
 *   has to connect), on a small pool of connections: for worker threads, CLIs and tests.
 * - msb_ratelimit_redis_take_async() never blocks: it runs on a libevent loop through hiredis'
 *   libevent adapter and calls back on that loop's thread. Create one
 *   #msb_ratelimit_redis_loop_t per loop (per worker thread) with
 *   msb_ratelimit_redis_loop_new().
 *
 * The code that speaks to Redis is in the plugin libmsb-redis.so, loaded by
 * msb_ratelimit_redis_new(); a program that never calls it never loads hiredis.
 */
#ifndef MSB_RATELIMIT_REDIS_H
#define MSB_RATELIMIT_REDIS_H

#include "msb/ratelimit.h"

MSB_BEGIN_DECLS

struct event_base;

/** @brief What decides while Redis cannot be reached. @since 0.1 */
typedef enum msb_ratelimit_failure {
    /** An in-process keyed limiter with the limit divided by `local_divisor` (default). A
     *  request for more permits than the fallback's burst is denied until Redis returns. */
    MSB_RATELIMIT_FAIL_LOCAL = 0,
    /** Allow every request. */
    MSB_RATELIMIT_FAIL_OPEN = 1,
    /** Deny every request; the retry delay is the time until the next connection attempt. */
    MSB_RATELIMIT_FAIL_CLOSED = 2
} msb_ratelimit_failure_t;

/**
 * @brief Options of a distributed limiter. Initialise with #MSB_RATELIMIT_REDIS_OPTS_INIT.
 * @since 0.1
 */
typedef struct msb_ratelimit_redis_opts {
    /** sizeof(msb_ratelimit_redis_opts_t), set by #MSB_RATELIMIT_REDIS_OPTS_INIT. */
    size_t size;
    /** The limit of each key (copied); required. Its clock times the backoff and the fallback. */
    const msb_ratelimit_opts_t *limit;
    /** `redis://[[user]:password@]host[:port][/db]`; required. Copied. */
    const char *url;
    /** Prepended to every key in Redis, at most 255 bytes; default "msb:rl:". Give each limit its
     *  own prefix: two limits under one prefix would share their keys' state. */
    const char *prefix;
    /** The policy while Redis cannot be reached; default #MSB_RATELIMIT_FAIL_LOCAL. */
    msb_ratelimit_failure_t on_failure;
    /** #MSB_RATELIMIT_FAIL_LOCAL: the number of processes sharing the limit. Each one's fallback
     *  grants rate / local_divisor and burst / local_divisor (at least 1), so that together they
     *  stay near the limit. Default 1. */
    uint64_t local_divisor;
    /** #MSB_RATELIMIT_FAIL_LOCAL: keys the fallback holds (see msb_ratelimit_keyed_opts_t);
     *  default 16384. */
    size_t local_max_keys;
    /** Connections of the blocking call, 1 … 1024; default 4. */
    size_t pool_size;
    /** Connecting, in ns, > 0; default 200 ms. */
    int64_t connect_timeout_ns;
    /** One decision's round trip, in ns, > 0; default 100 ms. */
    int64_t timeout_ns;
    /** First wait after a failure, in ns, > 0; default 100 ms. */
    int64_t backoff_min_ns;
    /** Longest wait between attempts, in ns, >= backoff_min_ns; default 2 s. */
    int64_t backoff_max_ns;
} msb_ratelimit_redis_opts_t;

/** Initialiser of #msb_ratelimit_redis_opts_t with every default. */
#define MSB_RATELIMIT_REDIS_OPTS_INIT                                                              \
    {                                                                                              \
        sizeof(msb_ratelimit_redis_opts_t), NULL, NULL, "msb:rl:", MSB_RATELIMIT_FAIL_LOCAL, 1,    \
            16384, 4, 200 * MSB_MSEC, 100 * MSB_MSEC, 100 * MSB_MSEC, 2 * MSB_SEC                  \
    }

/** @brief Counters of a distributed limiter, for metrics. @since 0.1 */
typedef struct msb_ratelimit_redis_stats {
    uint64_t redis;       /**< decisions made by Redis */
    uint64_t failures;    /**< decisions Redis could not make (the policy made them) */
    uint64_t fail_open;   /**< of those, allowed by #MSB_RATELIMIT_FAIL_OPEN */
    uint64_t fail_closed; /**< denied by #MSB_RATELIMIT_FAIL_CLOSED */
    uint64_t fallback;    /**< made by the local fallback limiter */
} msb_ratelimit_redis_stats_t;

/** @brief A distributed limiter. @since 0.1 */
typedef struct msb_ratelimit_redis msb_ratelimit_redis_t;

/**
 * @brief Create a distributed limiter: load the Redis plugin, check the options. It connects
 * lazily: an unreachable server is not an error here (the policy applies until it answers).
 *
 * @param opts options; `limit` and `url` are required.
 * @param out receives the limiter.
 * @param err optional detail on failure.
 * @return #MSB_OK; #MSB_EINVAL naming the bad field (`url`, `limit.rate`, `timeout_ns`, …);
 *   #MSB_ENOTSUP (`rediss://`, or a build without Redis); #MSB_EUNAVAIL (the plugin
 *   libmsb-redis.so cannot be loaded); #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_ratelimit_redis_free(). Thread-safety: safe from any
 * thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_ratelimit_redis_new(const msb_ratelimit_redis_opts_t *opts,
                                             msb_ratelimit_redis_t **out, msb_error_t *err);

/**
 * @brief Free a distributed limiter. NULL is a no-op.
 *
 * Thread-safety: no other thread may be using it; every #msb_ratelimit_redis_loop_t made from it
 * must have been freed.
 * @since 0.1
 */
MSB_API void msb_ratelimit_redis_free(msb_ratelimit_redis_t *rl);

/**
 * @brief Take `n` permits for `key`, blocking for at most the timeouts.
 *
 * @param rl the limiter.
 * @param key the key's bytes (stored in Redis after the prefix).
 * @param key_len its length, 1 … 1024.
 * @param n permits wanted (0 peeks without changing the state).
 * @param res optional: the outcome; `res->source` tells whether Redis or the policy decided.
 * @return #MSB_OK when granted (by Redis or by the policy); #MSB_EREJECTED when denied;
 *   #MSB_ERANGE when `n` exceeds the burst; #MSB_EINVAL or #MSB_ETOOBIG for a bad key. An
 *   unreachable Redis is not an error: the policy decides (see msb_ratelimit_redis_last_error()).
 * Thread-safety: safe from any thread (a pool of connections; no loop needed).
 * @since 0.1
 */
MSB_API msb_status_t msb_ratelimit_redis_take(msb_ratelimit_redis_t *rl, const void *key,
                                              size_t key_len, uint64_t n,
                                              msb_ratelimit_result_t *res);

/**
 * @brief Whether the last attempt to reach Redis from the blocking pool succeeded (true before
 * the first attempt).
 *
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API bool msb_ratelimit_redis_up(msb_ratelimit_redis_t *rl);

/**
 * @brief The last failure to reach Redis (from any thread or loop), for logs and health checks.
 *
 * @param rl the limiter.
 * @param out receives it; `out->code` is #MSB_OK when Redis has not failed yet.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_ratelimit_redis_last_error(msb_ratelimit_redis_t *rl, msb_error_t *out);

/**
 * @brief Read the counters.
 *
 * Thread-safety: safe from any thread (atomics; each counter exact, the set not a snapshot).
 * @since 0.1
 */
MSB_API void msb_ratelimit_redis_stats(msb_ratelimit_redis_t *rl, msb_ratelimit_redis_stats_t *out);

/** @brief The distributed limiter on one event loop. @since 0.1 */
typedef struct msb_ratelimit_redis_loop msb_ratelimit_redis_loop_t;

/**
 * @brief Completion of msb_ratelimit_redis_take_async().
 *
 * @param status #MSB_OK (granted), #MSB_EREJECTED (denied), or #MSB_ECANCELED (the loop handle
 *   was freed first; `res` then describes a denial).
 * @param res the outcome, borrowed for the duration of the call.
 * @param user the pointer given to msb_ratelimit_redis_take_async().
 * Runs on the thread running the loop, never inside msb_ratelimit_redis_take_async(). It may
 * start new requests and may free the loop handle.
 * @since 0.1
 */
typedef void (*msb_ratelimit_redis_cb)(msb_status_t status, const msb_ratelimit_result_t *res,
                                       void *user);

/**
 * @brief Bind the limiter to a libevent loop: one asynchronous connection to Redis (hiredis'
 * libevent adapter), reconnecting by itself with the limiter's backoff.
 *
 * @param rl the limiter; it must outlive the loop handle.
 * @param base the loop (libevent 2.1 `struct event_base`); it must outlive the loop handle.
 * @param out receives the loop handle.
 * @param err optional detail on failure.
 * @return #MSB_OK, #MSB_EINVAL (NULL argument) or #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_ratelimit_redis_loop_free(). Thread-safety: call it,
 * and use the handle, only on the thread that runs `base` (or before the loop runs).
 * @since 0.1
 */
MSB_API msb_status_t msb_ratelimit_redis_loop_new(msb_ratelimit_redis_t *rl,
                                                  struct event_base *base,
                                                  msb_ratelimit_redis_loop_t **out,
                                                  msb_error_t *err);

/**
 * @brief Free a loop handle. Requests still waiting complete with #MSB_ECANCELED during this
 * call. NULL is a no-op. May be called from a completion callback.
 *
 * Thread-safety: on the loop's thread.
 * @since 0.1
 */
MSB_API void msb_ratelimit_redis_loop_free(msb_ratelimit_redis_loop_t *loop);

/**
 * @brief Take `n` permits for `key` without blocking; `cb` gets the decision on the loop.
 *
 * While Redis cannot be reached, the policy decides, and `cb` still runs from the loop.
 * @param loop the loop handle.
 * @param key the key's bytes (copied).
 * @param key_len its length, 1 … 1024.
 * @param n permits wanted.
 * @param cb the completion; required.
 * @param user passed to `cb`.
 * @return #MSB_OK: `cb` runs exactly once, later. Otherwise `cb` never runs: #MSB_ERANGE (`n`
 *   exceeds the burst), #MSB_EINVAL or #MSB_ETOOBIG (bad key or NULL argument), #MSB_ENOMEM.
 * Thread-safety: on the loop's thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_ratelimit_redis_take_async(msb_ratelimit_redis_loop_t *loop,
                                                    const void *key, size_t key_len, uint64_t n,
                                                    msb_ratelimit_redis_cb cb, void *user);

/**
 * @brief Whether the loop's connection is up (connected, authenticated, database selected).
 *
 * Thread-safety: on the loop's thread.
 * @since 0.1
 */
MSB_API bool msb_ratelimit_redis_loop_up(msb_ratelimit_redis_loop_t *loop);

MSB_END_DECLS

#endif /* MSB_RATELIMIT_REDIS_H */
