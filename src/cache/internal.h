/*
 * The cache's internals shared by its files: values (which are also the in-process entries), the
 * sharded in-process LRU (l1.c), single-flight (flight.c), the TTL arithmetic and the Redis
 * value header (ttl.c), and the cache handle (cache.c, tiers.c, aside.c, loop*.c).
 */
#ifndef MSB_CACHE_INTERNAL_H
#define MSB_CACHE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "cache/driver.h"
#include "core/common.h"
#include "msb/cache_loop.h"

#define MSB__CACHE_NEVER UINT64_MAX

/* Entry flags. */
#define MSB__CACHE_NEGATIVE 1u /* a cached "not found": no value */

/* Doubly linked list links (the LRU order of a shard). */
typedef struct msb__cache_link {
    struct msb__cache_link *prev;
    struct msb__cache_link *next;
} msb__cache_link_t;

/*
 * A value, and when linked into a shard, the entry that holds it. One allocation: the struct,
 * the value's bytes, a NUL, then the key's bytes. `refs` counts the shard's reference (while
 * linked) and every handle given out; the last release frees it.
 */
struct msb_cache_value {
    struct msb_cache_value *hnext; /* bucket chain */
    uint64_t hash;                 /* of the key */
    atomic_uint refs;
    uint32_t key_len;
    uint32_t len; /* value bytes */
    uint8_t flags;
    uint8_t referenced;    /* CLOCK: used since the hand last passed */
    uint64_t fresh_until;  /* clock ns; MSB__CACHE_NEVER: no expiry */
    uint64_t stale_until;  /* >= fresh_until: dropped after this */
    msb__cache_link_t lru; /* the shard's CLOCK ring */
    char bytes[];          /* key, value, NUL: the header and the key share cache lines */
};

MSB_INTERNAL msb_cache_value_t *msb__cache_value_new(const void *key, size_t key_len,
                                                     const void *value, size_t len);
static inline const char *msb__cache_value_key(const msb_cache_value_t *v)
{
    return v->bytes;
}
static inline char *msb__cache_value_bytes(msb_cache_value_t *v)
{
    return v->bytes + v->key_len;
}
/* Bytes an entry counts against max_bytes. */
static inline size_t msb__cache_entry_size(size_t key_len, size_t value_len)
{
    return sizeof(struct msb_cache_value) + key_len + value_len + 1;
}

/* ---- the in-process tier ------------------------------------------------------------------ */

typedef struct msb__l1 msb__l1_t;

typedef struct msb__l1_cfg {
    size_t max_entries;
    size_t max_bytes;
    unsigned shards; /* a power of two */
    const msb_clock_t *clock;
} msb__l1_cfg_t;

typedef enum msb__l1_state {
    MSB__L1_MISS = 0,
    MSB__L1_FRESH,
    MSB__L1_STALE,   /* past fresh_until, before stale_until */
    MSB__L1_NEGATIVE /* a fresh cached "not found" */
} msb__l1_state_t;

MSB_INTERNAL msb_status_t msb__l1_new(const msb__l1_cfg_t *cfg, msb__l1_t **out, msb_error_t *err);
MSB_INTERNAL void msb__l1_free(msb__l1_t *l1);
/* Look up; on FRESH and STALE *out is a new reference. Counts hits/misses unless `quiet`. */
MSB_INTERNAL msb__l1_state_t msb__l1_lookup(msb__l1_t *l1, uint64_t hash, const void *key,
                                            size_t key_len, bool quiet, msb_cache_value_t **out);
/* Link `v` (a new value with its key, refs 1, taken by the call) under its key, replacing any
 * entry, evicting from the LRU tail to respect the bounds. With `epoch` != NULL the value is
 * linked only if no invalidation hit its shard since msb__l1_epoch() returned *epoch (else it is
 * released and false returned). */
MSB_INTERNAL bool msb__l1_link(msb__l1_t *l1, msb_cache_value_t *v, const uint64_t *epoch,
                               bool count_set);
MSB_INTERNAL uint64_t msb__l1_epoch(msb__l1_t *l1, uint64_t hash);
/* Replace the value of an existing entry of the same size in place, when no handle to it is out:
 * no allocation. False when that is not possible (then link a new value). Counts a set. */
MSB_INTERNAL bool msb__l1_overwrite(msb__l1_t *l1, uint64_t hash, const void *key, size_t key_len,
                                    const void *value, size_t len, uint64_t fresh_until,
                                    uint64_t stale_until);
/* Drop the key; returns whether there was an entry. Bumps the shard's epoch either way. */
MSB_INTERNAL bool msb__l1_delete(msb__l1_t *l1, uint64_t hash, const void *key, size_t key_len);
MSB_INTERNAL void msb__l1_clear(msb__l1_t *l1);
/* Adds the L1 counters (hits, misses, sets, evictions, expirations, entries, bytes) to *out.
 * `count_set` of msb__l1_link says whether a link counts as a set. */
MSB_INTERNAL void msb__l1_stats(msb__l1_t *l1, msb_cache_stats_t *out);
MSB_INTERNAL uint64_t msb__l1_now(const msb__l1_t *l1);

/* ---- single-flight ---------------------------------------------------------------------- */

typedef struct msb__flights msb__flights_t;
typedef struct msb__flight msb__flight_t;

MSB_INTERNAL msb_status_t msb__flights_new(unsigned shards, msb__flights_t **out, msb_error_t *err);
MSB_INTERNAL void msb__flights_free(msb__flights_t *f);
/*
 * Join the load of `key`: *leader is true when the caller started it (then it must call
 * msb__flight_finish). Otherwise the caller holds a reference to the flight and must call
 * msb__flight_wait. `stale` (optional): set when a refresh was joined (see msb__flight_refresh).
 */
MSB_INTERNAL msb_status_t msb__flight_join(msb__flights_t *f, uint64_t hash, const void *key,
                                           size_t key_len, msb__flight_t **out, bool *leader);
/* Start a refresh unless one runs: returns the flight to finish, or NULL (someone else has it). */
MSB_INTERNAL msb__flight_t *msb__flight_try_start(msb__flights_t *f, uint64_t hash, const void *key,
                                                  size_t key_len);
/* Publish the result (value: a reference taken by the flight, or NULL) and wake the waiters. */
MSB_INTERNAL void msb__flight_finish(msb__flights_t *f, msb__flight_t *fl, msb_status_t status,
                                     msb_cache_value_t *value, const msb_error_t *err);
/* Wait for the leader; returns its status, *out a new reference on MSB_OK, and its error. */
MSB_INTERNAL msb_status_t msb__flight_wait(msb__flights_t *f, msb__flight_t *fl,
                                           msb_cache_value_t **out, msb_error_t *err);

/* ---- TTLs and the Redis value header ------------------------------------------------------ */

/* The header of a value stored in Redis: tag byte 0xC1 (never valid UTF-8), a flags byte, the
 * wall-clock millisecond the value stops being fresh (big-endian; 0: never). */
#define MSB__CACHE_HDR_LEN 10
#define MSB__CACHE_HDR_TAG 0xC1u

typedef struct msb__cache_ttl {
    int64_t fresh_ns; /* 0: forever */
    int64_t stale_ns; /* grace after fresh_ns (0 when fresh_ns is 0) */
} msb__cache_ttl_t;

MSB_INTERNAL void msb__cache_hdr_put(unsigned char *hdr, uint8_t flags, int64_t fresh_until_ms);
/* Parse a stored value: false when it has no header (a foreign writer's plain value). */
MSB_INTERNAL bool msb__cache_hdr_get(const unsigned char *p, size_t len, uint8_t *flags,
                                     int64_t *fresh_until_ms);

/* ---- the cache handle --------------------------------------------------------------------- */

struct msb_cache {
    msb__l1_t *l1; /* NULL for a Redis-only cache */
    msb__flights_t *flights;
    const msb__cache_driver_t *drv; /* NULL: in-process only */
    void *backend;
    void *sub; /* the invalidation subscriber (two-tier) */
    const msb_clock_t *clock;
    uint64_t seed[2];  /* of the key hash */
    uint64_t instance; /* random id: this instance's own invalidations are not applied twice */
    size_t max_key_len;
    size_t max_value_len;
    int64_t default_ttl_ns;
    double ttl_jitter;
    int64_t stale_ns;
    int64_t negative_ttl_ns;
    int64_t l1_ttl_ns;
    int (*executor)(void (*run)(void *arg), void *arg, void *executor_user);
    void *executor_user;
    struct msb_metrics *metrics; /* the registry of our collector, or NULL */
    struct msb_metrics_collector *collector;
    char metrics_prefix[64];
    pthread_mutex_t jobs_mu; /* refreshes handed to the executor and not finished */
    pthread_cond_t jobs_cv;
    unsigned jobs;
    bool jobs_init;
    /* counters not kept by the shards, on their own cache lines */
    char pad[MSB_CACHELINE];
    _Atomic uint64_t hits, misses, stale_hits, negative_hits, l1_hits, l2_hits, sets, deletes;
    _Atomic uint64_t loads, load_errors, coalesced, invalidations, backend_errors;
    _Atomic uint64_t subscriber_connects;
};

#define MSB__STAT_ADD(c, field) atomic_fetch_add_explicit(&(c)->field, 1, memory_order_relaxed)

MSB_INTERNAL msb_status_t msb__cache_check_key(const msb_cache_t *c, const void *key,
                                               size_t key_len, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__cache_check_value(const msb_cache_t *c, const void *value,
                                                 size_t len, msb_error_t *err);
/* The TTL of an entry set with `ttl_ns` (default, none or explicit), jittered. */
MSB_INTERNAL msb_status_t msb__cache_ttl(const msb_cache_t *c, int64_t ttl_ns, bool negative,
                                         msb__cache_ttl_t *out, msb_error_t *err);
MSB_INTERNAL uint64_t msb__cache_hash(const msb_cache_t *c, const void *key, size_t key_len);

/* Put a value into L1 with the given TTL (no-op without L1). `epoch`: see msb__l1_link. */
MSB_INTERNAL msb_status_t msb__cache_l1_put(msb_cache_t *c, uint64_t hash, const void *key,
                                            size_t key_len, const void *value, size_t len,
                                            uint8_t flags, const msb__cache_ttl_t *ttl,
                                            const uint64_t *epoch, msb_cache_value_t **out);
/* Encode a value with its header for Redis: returns a new buffer of len + MSB__CACHE_HDR_LEN. */
MSB_INTERNAL msb_status_t msb__cache_encode(const msb_cache_t *c, const void *value, size_t len,
                                            uint8_t flags, const msb__cache_ttl_t *ttl,
                                            unsigned char **out, size_t *out_len, msb_error_t *err);
/* Decode a Redis value into a cache value (and L1 when two-tier). `st` receives FRESH, STALE or
 * NEGATIVE (MISS when it is past its stale window). */
MSB_INTERNAL msb_status_t msb__cache_decode(msb_cache_t *c, uint64_t hash, const void *key,
                                            size_t key_len, const unsigned char *p, size_t len,
                                            int64_t pttl_ms, const uint64_t *epoch,
                                            msb__l1_state_t *st, msb_cache_value_t **out);

/* Redis operations of the handle (tiers.c); each counts backend_errors on failure. */
MSB_INTERNAL msb_status_t msb__cache_l2_get(msb_cache_t *c, uint64_t hash, const void *key,
                                            size_t key_len, msb__l1_state_t *st,
                                            msb_cache_value_t **out, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__cache_l2_set(msb_cache_t *c, const void *key, size_t key_len,
                                            const void *value, size_t len, uint8_t flags,
                                            const msb__cache_ttl_t *ttl, msb_error_t *err);
/* Store (value, flags, ttl) in every tier, invalidating other instances' L1 (two-tier). */
MSB_INTERNAL msb_status_t msb__cache_store(msb_cache_t *c, uint64_t hash, const void *key,
                                           size_t key_len, const void *value, size_t len,
                                           uint8_t flags, const msb__cache_ttl_t *ttl,
                                           msb_cache_value_t **out, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__cache_sub_start(msb_cache_t *c, msb_error_t *err);
/* Register the cache's collector with a metrics registry (metrics.c); stop removes it. */
MSB_INTERNAL msb_status_t msb__cache_metrics_start(msb_cache_t *c, struct msb_metrics *reg,
                                                   const char *prefix, msb_error_t *err);
MSB_INTERNAL void msb__cache_metrics_stop(msb_cache_t *c);

/* The fill a loader writes into. */
struct msb_cache_fill {
    msb_cache_t *cache;
    void *data;
    size_t len;
    bool has_value;
    int64_t ttl_ns;
    msb_status_t status; /* of fill_value (ETOOBIG, ENOMEM) */
    void *async;         /* loop*.c: the asynchronous load this fill belongs to */
};

MSB_INTERNAL void msb__cache_fill_init(msb_cache_fill_t *f, msb_cache_t *c);
MSB_INTERNAL void msb__cache_fill_clear(msb_cache_fill_t *f);
/* Store a load's outcome (status MSB_OK or MSB_ENOTFOUND) and return the value for callers:
 * *out is a new reference on MSB_OK. */
MSB_INTERNAL msb_status_t msb__cache_fill_commit(msb_cache_t *c, uint64_t hash, const void *key,
                                                 size_t key_len, msb_cache_fill_t *f,
                                                 msb_status_t status, msb_cache_value_t **out,
                                                 msb_error_t *err);

#endif
