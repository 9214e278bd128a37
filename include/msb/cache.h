/**
 * @file cache.h
 * @brief Caches: an in-process LRU with TTLs, Redis, and the two stacked (L1 over L2) with
 * invalidations broadcast to every instance; cache-aside with single-flight, stale-while-
 * revalidate and negative caching; write-through.
 *
 * @code
 * msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
 * o.url = getenv("MSB_REDIS__URL");   // NULL or "memory:": in-process only
 * o.two_tier = true;                  // with Redis: an in-process L1 in front of it
 * o.default_ttl_ns = 60 * MSB_SEC;
 * o.stale_ns = 10 * MSB_SEC;          // serve stale for 10 s while one refresh runs
 * o.negative_ttl_ns = 5 * MSB_SEC;    // remember "not found" for 5 s
 * msb_cache_t *c;
 * if (msb_cache_new(&o, &c, &err) != MSB_OK) { ... }
 *
 * msb_cache_value_t *v;
 * msb_status_t rc = msb_cache_get_or_load(c, "user:42", 7, load_user, db, &v, &err);
 * if (rc == MSB_OK) {
 *     use(msb_cache_value_data(v), msb_cache_value_len(v));
 *     msb_cache_value_release(v);
 * } else if (rc == MSB_ENOTFOUND) { ... }
 * @endcode
 *
 * Keys and values are byte strings (any bytes, a key at least one byte). Values are copied in;
 * reads hand out a reference-counted, immutable #msb_cache_value_t, so a hit costs no copy of
 * the value (msb_cache_get_copy() copies into a caller's buffer instead).
 *
 * The guide `docs/cache.md` explains the tiers, invalidation, single-flight, stale-while-
 * revalidate, negative caching and the wire format in Redis.
 *
 * Thread-safety: an #msb_cache_t is safe from any thread (sharded locks held for a few
 * instructions; Redis calls on a pool of connections). The event-loop API is in cache_loop.h.
 */
#ifndef MSB_CACHE_H
#define MSB_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/clock.h"
#include "msb/error.h"

MSB_BEGIN_DECLS

struct msb_metrics;

/** @brief A cache (opaque): in-process, Redis, or two-tier. @since 0.1 */
typedef struct msb_cache msb_cache_t;

/**
 * @brief An immutable cached value with a reference count (opaque).
 *
 * Read it with msb_cache_value_data() and msb_cache_value_len(); give it back with
 * msb_cache_value_release(). The bytes never change and stay valid until the last reference is
 * released, even after the entry was replaced, deleted or evicted.
 * @since 0.1
 */
typedef struct msb_cache_value msb_cache_value_t;

/** `ttl_ns` value: use the cache's msb_cache_opts_t::default_ttl_ns. */
#define MSB_CACHE_TTL_DEFAULT INT64_C(0)
/** `ttl_ns` value: the entry never expires (it may still be evicted). */
#define MSB_CACHE_TTL_NONE INT64_C(-1)

/**
 * @brief Options of msb_cache_new(). Initialise with #MSB_CACHE_OPTS_INIT.
 * @since 0.1
 */
typedef struct msb_cache_opts {
    size_t size; /**< sizeof(msb_cache_opts_t), set by #MSB_CACHE_OPTS_INIT */
    /** NULL, "" or "memory:": in-process only. "redis://[[user]:password@]host[:port][/db]":
     *  Redis (plugin libmsb-redis). */
    const char *url;
    /** With a Redis URL: an in-process L1 in front of Redis, kept coherent across instances by
     *  invalidations on Redis pub/sub. Default false (Redis only). */
    bool two_tier;
    size_t max_entries;     /**< in-process bound on entries (default 100000) */
    size_t max_bytes;       /**< in-process bound on bytes: keys, values and ~80 bytes of overhead
                                 per entry (default 64 MiB) */
    size_t max_key_len;     /**< longest key accepted (default 1024; at most 65536) */
    size_t max_value_len;   /**< longest value accepted (default 1 MiB) */
    unsigned shards;        /**< in-process shards, rounded up to a power of two (default 0: 64) */
    int64_t default_ttl_ns; /**< TTL of entries set with #MSB_CACHE_TTL_DEFAULT; 0: no expiry
                                 (default 0) */
    /** Each TTL is shortened by a random fraction in [0, ttl_jitter) so that entries written
     *  together do not expire together (0 ≤ x < 1; default 0.1). */
    double ttl_jitter;
    /** Stale-while-revalidate: how long an expired entry may still be served by
     *  msb_cache_get_or_load() while one refresh runs (default 0: never). */
    int64_t stale_ns;
    /** TTL of "not found" results of loaders (#MSB_ENOTFOUND); 0 disables negative caching
     *  (default 0). */
    int64_t negative_ttl_ns;
    /** Time source for TTLs; NULL: msb_clock_coarse() (kernel-tick resolution). */
    const msb_clock_t *clock;
    /** Redis: prefix of every key (default "msb:c:"). */
    const char *prefix;
    /** Redis: the pub/sub channel of invalidations (default: the prefix followed by "inval"). */
    const char *channel;
    size_t pool_size;           /**< Redis: blocking connections at most (default 8) */
    int64_t connect_timeout_ns; /**< Redis: connection timeout (default 1 s) */
    int64_t timeout_ns;         /**< Redis: per-command timeout (default 1 s) */
    /** Two-tier: the longest an entry stays in L1 (default 0: as long as in Redis). A bound on
     *  staleness should an invalidation be lost while the subscriber is reconnecting (L1 is
     *  also flushed when the subscriber reconnects). */
    int64_t l1_ttl_ns;
    /**
     * Optional: where stale-while-revalidate refreshes of blocking callers run. NULL: the caller
     * that finds the entry stale refreshes it itself (others are served stale meanwhile). Else
     * `submit(run, arg, executor_user)` must run `run(arg)` once, on some thread, and return 0,
     * or return non-zero (then the caller refreshes itself).
     */
    int (*executor)(void (*run)(void *arg), void *arg, void *executor_user);
    void *executor_user; /**< passed to `executor` */
    /** Optional: a metrics registry; the cache's counters are exported through a collector
     *  read at each scrape (no cost on the hot path). Must outlive the cache. */
    struct msb_metrics *metrics;
    /** Names of the exported families: `<prefix>_hits_total{tier}`, `<prefix>_misses_total`, …
     *  (default "msb_cache"; give each cache of one registry its own). */
    const char *metrics_prefix;
} msb_cache_opts_t;

/** Default options: in-process, 100000 entries, 64 MiB, 64 shards, TTL jitter 10%. */
#define MSB_CACHE_OPTS_INIT                                                                        \
    {                                                                                              \
        .size = sizeof(msb_cache_opts_t), .url = NULL, .two_tier = false, .max_entries = 100000,   \
        .max_bytes = (size_t)64 << 20, .max_key_len = 1024, .max_value_len = (size_t)1 << 20,      \
        .shards = 0, .default_ttl_ns = 0, .ttl_jitter = 0.1, .stale_ns = 0, .negative_ttl_ns = 0,  \
        .clock = NULL, .prefix = NULL, .channel = NULL, .pool_size = 8,                            \
        .connect_timeout_ns = MSB_SEC, .timeout_ns = MSB_SEC, .l1_ttl_ns = 0, .executor = NULL,    \
        .executor_user = NULL, .metrics = NULL, .metrics_prefix = "msb_cache"                      \
    }

/**
 * @brief Counters of a cache (see msb_cache_stats()). All count since msb_cache_new().
 * @since 0.1
 */
typedef struct msb_cache_stats {
    uint64_t hits;           /**< lookups answered with a fresh value (any tier) */
    uint64_t misses;         /**< lookups that found nothing usable */
    uint64_t stale_hits;     /**< lookups answered with a stale value (stale-while-revalidate) */
    uint64_t negative_hits;  /**< lookups answered by a cached "not found" */
    uint64_t l1_hits;        /**< of `hits`, answered by the in-process tier */
    uint64_t l2_hits;        /**< of `hits`, answered by Redis */
    uint64_t sets;           /**< values stored (set, write-through, loads) */
    uint64_t deletes;        /**< msb_cache_delete() calls */
    uint64_t evictions;      /**< in-process entries dropped to respect max_entries/max_bytes */
    uint64_t expirations;    /**< in-process entries dropped because their time was up */
    uint64_t loads;          /**< loader calls */
    uint64_t load_errors;    /**< loader calls that failed (not counting #MSB_ENOTFOUND) */
    uint64_t coalesced;      /**< callers that waited for another caller's load */
    uint64_t invalidations;  /**< invalidations received from other instances (two-tier) */
    uint64_t backend_errors; /**< Redis commands that failed */
    uint64_t subscriber_connects; /**< times the invalidation subscriber (re)connected; each
                                       connection starts with an empty L1 (two-tier) */
    uint64_t entries;             /**< in-process entries now */
    uint64_t bytes;               /**< in-process bytes now (as counted for max_bytes) */
} msb_cache_stats_t;

/**
 * @brief Create a cache.
 *
 * With a Redis URL, the plugin libmsb-redis is loaded and the connections are made on first use
 * (a Redis that is down does not fail this call; operations fail with #MSB_EUNAVAIL until it is
 * back). A two-tier cache also starts its subscriber thread, which reconnects by itself.
 *
 * @param opts options, or NULL for the defaults.
 * @param out receives the cache.
 * @param err optional detail.
 * @return #MSB_OK; #MSB_EINVAL (an option out of range or a bad URL, naming it); #MSB_ENOTSUP
 *   (unknown scheme, or Redis left out of this build); #MSB_EUNAVAIL (the plugin cannot be
 *   loaded); #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_cache_free(). Strings in opts are copied.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_new(const msb_cache_opts_t *opts, msb_cache_t **out,
                                   msb_error_t *err);

/**
 * @brief Free a cache: stops the subscriber, closes the connections, drops every entry (values
 * still referenced stay valid until released). NULL is a no-op.
 *
 * Thread-safety: no other call may be using the cache, and every #msb_cache_loop_t made from it
 * must have been freed.
 * @since 0.1
 */
MSB_API void msb_cache_free(msb_cache_t *c);

/**
 * @brief Look a key up.
 *
 * Two-tier: L1 first, then Redis (a Redis hit is copied into L1).
 * @param c the cache.
 * @param key the key's bytes (`key_len` ≥ 1).
 * @param key_len its length.
 * @param out receives the value on #MSB_OK.
 * @param err optional detail.
 * @return #MSB_OK; #MSB_ENOTFOUND (absent, expired, or a cached "not found"); #MSB_EINVAL
 *   (empty key or NULL out); #MSB_ETOOBIG (key longer than max_key_len); Redis failures
 *   (#MSB_EUNAVAIL, #MSB_ETIMEDOUT, #MSB_EPROTO); #MSB_ENOMEM.
 * Ownership: *out is a new reference: release it with msb_cache_value_release().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_get(msb_cache_t *c, const void *key, size_t key_len,
                                   msb_cache_value_t **out, msb_error_t *err);

/**
 * @brief Look a key up and copy its value into `buf`.
 *
 * @param c the cache.
 * @param key the key's bytes.
 * @param key_len its length (≥ 1).
 * @param buf where the value is copied (may be NULL when `cap` is 0).
 * @param cap the size of `buf`.
 * @param len receives the value's length on #MSB_OK and on #MSB_ETOOBIG.
 * @param err optional detail.
 * @return as msb_cache_get(), plus #MSB_ETOOBIG when the value is longer than `cap` (nothing is
 *   copied; *len says how much room it needs).
 * Ownership: nothing is retained. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_get_copy(msb_cache_t *c, const void *key, size_t key_len, void *buf,
                                        size_t cap, size_t *len, msb_error_t *err);

/**
 * @brief Look a key up in the in-process tier only; never blocks on the network.
 *
 * Safe on an event loop's thread whatever the cache's kind. A Redis-only cache has no
 * in-process tier: always #MSB_ENOTFOUND.
 * @param c the cache.
 * @param key the key's bytes.
 * @param key_len its length (≥ 1).
 * @param out receives a new reference on #MSB_OK.
 * @param err optional detail.
 * @return #MSB_OK, #MSB_ENOTFOUND, #MSB_EINVAL, #MSB_ETOOBIG.
 * Ownership: *out is a new reference. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_peek(msb_cache_t *c, const void *key, size_t key_len,
                                    msb_cache_value_t **out, msb_error_t *err);

/**
 * @brief Store a value (replacing any entry under the key).
 *
 * Two-tier: written to Redis, then to L1, and every other instance is told to drop its L1 copy.
 * @param c the cache.
 * @param key the key's bytes (`key_len` ≥ 1).
 * @param key_len its length.
 * @param value the bytes to store (copied; may be NULL when `value_len` is 0).
 * @param value_len their number (≤ max_value_len).
 * @param ttl_ns time to live: > 0, #MSB_CACHE_TTL_DEFAULT or #MSB_CACHE_TTL_NONE; jittered.
 * @param err optional detail.
 * @return #MSB_OK; #MSB_EINVAL (empty key, negative TTL other than #MSB_CACHE_TTL_NONE);
 *   #MSB_ETOOBIG (key or value past its bound); Redis failures; #MSB_ENOMEM.
 * Ownership: the bytes are copied. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_set(msb_cache_t *c, const void *key, size_t key_len,
                                   const void *value, size_t value_len, int64_t ttl_ns,
                                   msb_error_t *err);

/**
 * @brief Delete a key (an invalidation): from every tier, and, two-tier, from the L1 of every
 * other instance. Deleting an absent key succeeds.
 *
 * @param c the cache.
 * @param key the key's bytes (`key_len` ≥ 1).
 * @param key_len its length.
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EINVAL, #MSB_ETOOBIG, Redis failures.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_delete(msb_cache_t *c, const void *key, size_t key_len,
                                      msb_error_t *err);

/**
 * @brief Drop every in-process entry (two-tier: on every instance; Redis keeps its entries).
 *
 * @param c the cache.
 * @param err optional detail.
 * @return #MSB_OK, or the Redis failure of the broadcast (the local L1 is cleared anyway).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_clear_local(msb_cache_t *c, msb_error_t *err);

/**
 * @brief Read several keys in one round trip (Redis: one pipeline of GETs).
 *
 * @param c the cache.
 * @param n how many keys.
 * @param keys the keys.
 * @param key_lens their lengths.
 * @param out n slots: each gets a new reference, or NULL for a miss.
 * @param err optional detail.
 * @return #MSB_OK when every lookup ran (misses included), else the first failure, with every
 *   slot NULL.
 * Ownership: each non-NULL out[i] is a new reference. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_get_many(msb_cache_t *c, size_t n, const void *const *keys,
                                        const size_t *key_lens, msb_cache_value_t **out,
                                        msb_error_t *err);

/**
 * @brief Store several values in one round trip (Redis: one pipeline of SETs).
 *
 * @param c the cache.
 * @param n how many entries.
 * @param keys the keys.
 * @param key_lens their lengths.
 * @param values the values (copied).
 * @param value_lens their lengths.
 * @param ttl_ns the TTL of every entry, as in msb_cache_set().
 * @param err optional detail.
 * @return #MSB_OK or the first failure (entries before it may have been stored).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_set_many(msb_cache_t *c, size_t n, const void *const *keys,
                                        const size_t *key_lens, const void *const *values,
                                        const size_t *value_lens, int64_t ttl_ns, msb_error_t *err);

/* ---- values ------------------------------------------------------------------------------ */

/**
 * @brief The bytes of a value (not NUL-terminated unless the value stored one; a NUL always
 * follows the last byte, so text values can be used as C strings).
 * @param v a value (not NULL).
 * @return borrowed pointer, valid while the caller holds its reference.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const void *msb_cache_value_data(const msb_cache_value_t *v);

/**
 * @brief The length of a value.
 * @param v a value (not NULL).
 * @return its number of bytes.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API size_t msb_cache_value_len(const msb_cache_value_t *v);

/**
 * @brief Take one more reference to a value.
 * @param v a value (not NULL).
 * @return `v`. Ownership: the caller now holds one more reference. Thread-safety: atomic.
 * @since 0.1
 */
MSB_API msb_cache_value_t *msb_cache_value_retain(msb_cache_value_t *v);

/**
 * @brief Give back one reference; the last frees the value. NULL is a no-op.
 * Thread-safety: atomic; safe from any thread.
 * @since 0.1
 */
MSB_API void msb_cache_value_release(msb_cache_value_t *v);

/* ---- cache-aside ------------------------------------------------------------------------- */

/**
 * @brief Where a loader puts what it found (opaque); see msb_cache_fill_value().
 * @since 0.1
 */
typedef struct msb_cache_fill msb_cache_fill_t;

/**
 * @brief A loader: fetch the value of `key` from the system of record.
 *
 * Return #MSB_OK after msb_cache_fill_value() (the value is cached and returned);
 * #MSB_ENOTFOUND when the key has no value (cached for negative_ttl_ns when enabled); or any
 * other status on failure (nothing is cached; the status and `err` reach every caller waiting
 * for this load).
 * @param user the loader's user pointer.
 * @param key the key (borrowed for the call).
 * @param key_len its length.
 * @param fill where to put the value.
 * @param err detail to fill on failure.
 * @since 0.1
 */
typedef msb_status_t (*msb_cache_load_fn)(void *user, const void *key, size_t key_len,
                                          msb_cache_fill_t *fill, msb_error_t *err);

/**
 * @brief Give a loader's value (copied). Calling it again replaces the value.
 * @param fill the loader's fill.
 * @param value the bytes (may be NULL when `len` is 0).
 * @param len their number (≤ max_value_len).
 * @return #MSB_OK, #MSB_ETOOBIG, #MSB_ENOMEM (return that status from the loader).
 * Thread-safety: only inside the loader call (or, for asynchronous loaders, before
 * msb_cache_fill_done()).
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_fill_value(msb_cache_fill_t *fill, const void *value, size_t len);

/**
 * @brief Choose the TTL of the loaded value (default: #MSB_CACHE_TTL_DEFAULT).
 * @param fill the loader's fill.
 * @param ttl_ns as in msb_cache_set().
 * @since 0.1
 */
MSB_API void msb_cache_fill_ttl(msb_cache_fill_t *fill, int64_t ttl_ns);

/**
 * @brief Cache-aside with single-flight: return the cached value, or load it once.
 *
 * A fresh hit returns at once. On a miss, exactly one caller per key (across threads) runs
 * `load`; the others wait and share its result, success or failure. A stale entry (expired less
 * than stale_ns ago) is returned at once while one refresh runs (see msb_cache_opts_t::executor).
 * A cached "not found" returns #MSB_ENOTFOUND without calling `load`. Two-tier and Redis caches
 * look in Redis before loading and store what was loaded there too. Failures of Redis itself
 * do not fail the call: the loader is the source of truth (counted in backend_errors).
 *
 * @param c the cache.
 * @param key the key (`key_len` ≥ 1).
 * @param key_len its length.
 * @param load the loader.
 * @param user passed to `load`.
 * @param out receives the value on #MSB_OK.
 * @param err optional detail.
 * @return #MSB_OK; #MSB_ENOTFOUND; the loader's failure; #MSB_EINVAL; #MSB_ETOOBIG; #MSB_ENOMEM.
 * Ownership: *out is a new reference.
 * Thread-safety: safe from any thread. The loader runs on the calling thread (or the executor);
 *   it must not call msb_cache_get_or_load() for the same key.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_get_or_load(msb_cache_t *c, const void *key, size_t key_len,
                                           msb_cache_load_fn load, void *user,
                                           msb_cache_value_t **out, msb_error_t *err);

/**
 * @brief A writer to the system of record, for msb_cache_write_through().
 * @param user the writer's user pointer.
 * @param key the key.
 * @param key_len its length.
 * @param value the new value.
 * @param value_len its length.
 * @param err detail to fill on failure.
 * @return #MSB_OK when stored; anything else aborts the write-through.
 * @since 0.1
 */
typedef msb_status_t (*msb_cache_store_fn)(void *user, const void *key, size_t key_len,
                                           const void *value, size_t value_len, msb_error_t *err);

/**
 * @brief Write-through: store in the system of record with `store`, then in the cache.
 *
 * When `store` fails nothing is cached and its status is returned. When the cache write fails
 * after a successful store, the key is deleted from the cache (so no stale value survives) and
 * the cache's status is returned.
 * @param c the cache.
 * @param key the key (`key_len` ≥ 1).
 * @param key_len its length.
 * @param value the new value.
 * @param value_len its length.
 * @param ttl_ns as in msb_cache_set().
 * @param store the writer.
 * @param user passed to `store`.
 * @param err optional detail.
 * @return #MSB_OK, the writer's failure, or the cache's.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_cache_write_through(msb_cache_t *c, const void *key, size_t key_len,
                                             const void *value, size_t value_len, int64_t ttl_ns,
                                             msb_cache_store_fn store, void *user,
                                             msb_error_t *err);

/**
 * @brief Read the counters.
 * @param c the cache.
 * @param out receives them.
 * Thread-safety: safe from any thread (each shard is read under its lock: the sums are close to,
 * not exactly, one instant).
 * @since 0.1
 */
MSB_API void msb_cache_stats(msb_cache_t *c, msb_cache_stats_t *out);

MSB_END_DECLS

#endif /* MSB_CACHE_H */
