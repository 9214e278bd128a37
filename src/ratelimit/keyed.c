/*
 * One limit per key in a fixed amount of memory.
 *
 * Keys are hashed with msb__hash (SipHash, per-process key: clients choose the keys and must not
 * be able to aim at one shard or one probe chain). The low bits of the hash pick a shard; each
 * shard has its own lock, a fixed array of entries (key bytes inline, allocated at creation) and
 * an open-addressing index at most half full. A key's state is one word, updated under the
 * shard's lock with the same rule as the lock-free limiter.
 *
 * Making room: when a shard is full, a clock hand sweeps its entries. An entry whose limiter is
 * full again is taken at once: forgetting it loses nothing, since a key not held starts full. Any
 * other entry gets a second chance if it was used since the hand last passed, and is taken
 * otherwise (an approximation of least recently used). Taking an entry that was not full gives
 * that key a fresh burst: `evictions_active` counts those, so an operator can size max_keys.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "ratelimit/keyed_internal.h"

#define KEYED_MAX_KEYS    (UINT64_C(1) << 28)
#define KEYED_KEY_MAX     4096
#define AUTO_SHARDS_MAX   256
#define MIN_KEYS_PER_SHRD 16

static size_t next_pow2(size_t v)
{
    size_t p = 1;
    while (p < v) {
        p <<= 1;
    }
    return p;
}

static size_t auto_shards(size_t max_keys)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = next_pow2((size_t)(cpus > 0 ? cpus : 1) * 4);
    if (want < 16) {
        want = 16;
    }
    if (want > AUTO_SHARDS_MAX) {
        want = AUTO_SHARDS_MAX;
    }
    while (want > 1 && max_keys / want < MIN_KEYS_PER_SHRD) {
        want >>= 1;
    }
    return want;
}

static msb_status_t check_opts(const msb_ratelimit_keyed_opts_t *o, size_t *max_keys,
                               size_t *key_max, size_t *shards, msb_error_t *err)
{
    *max_keys = MSB_OPT_HAS(o, max_keys) ? o->max_keys : 16384;
    *key_max = MSB_OPT_HAS(o, key_max) ? o->key_max : 64;
    *shards = MSB_OPT_HAS(o, shards) ? o->shards : 0;
    if (*max_keys == 0 || *max_keys > KEYED_MAX_KEYS) {
        return msb__err(err, MSB_EINVAL, "ratelimit: max_keys %zu is not in 1 .. %llu", *max_keys,
                        (unsigned long long)KEYED_MAX_KEYS);
    }
    if (*key_max == 0 || *key_max > KEYED_KEY_MAX) {
        return msb__err(err, MSB_EINVAL, "ratelimit: key_max %zu is not in 1 .. %d", *key_max,
                        KEYED_KEY_MAX);
    }
    if (*shards == 0) {
        *shards = auto_shards(*max_keys);
    } else if ((*shards & (*shards - 1)) != 0 || *shards > *max_keys) {
        return msb__err(err, MSB_EINVAL,
                        "ratelimit: shards %zu must be a power of two no larger than max_keys %zu",
                        *shards, *max_keys);
    }
    return MSB_OK;
}

/* Lay out the shards over the entry and index blocks: max_keys split as evenly as possible,
 * each index a power of two at least twice its shard's capacity. */
static size_t layout(msb_ratelimit_keyed_t *kl, size_t max_keys, bool assign)
{
    size_t slots = 0;
    size_t entry = 0;
    for (size_t i = 0; i < kl->nshards; i++) {
        size_t cap = max_keys / kl->nshards + (i < max_keys % kl->nshards ? 1 : 0);
        size_t tsize = next_pow2(cap * 2);
        if (assign) {
            msb__kl_shard_t *sh = &kl->shards[i];
            sh->cap = (uint32_t)cap;
            sh->mask = (uint32_t)(tsize - 1);
            sh->slots = kl->slot_block + slots;
            sh->entries = kl->entry_block + entry * kl->stride;
        }
        slots += tsize;
        entry += cap;
    }
    return slots;
}

static void destroy(msb_ratelimit_keyed_t *kl, size_t locks)
{
    for (size_t i = 0; i < locks; i++) {
        pthread_mutex_destroy(&kl->shards[i].lock);
    }
    msb__free(kl->slot_block);
    msb__free(kl->entry_block);
    msb__free(kl->shard_block);
    msb__free(kl);
}

msb_status_t msb_ratelimit_keyed_new(const msb_ratelimit_keyed_opts_t *opts,
                                     msb_ratelimit_keyed_t **out, msb_error_t *err)
{
    if (opts == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "ratelimit: keyed options and out are required");
    }
    // NOLINTNEXTLINE(bugprone-sizeof-expression): sizeof of the pointer field itself
    const msb_ratelimit_opts_t *limit = MSB_OPT_HAS(opts, limit) ? opts->limit : NULL;
    if (limit == NULL) {
        return msb__err(err, MSB_EINVAL, "ratelimit: limit is required (the limit of each key)");
    }
    size_t max_keys;
    size_t key_max;
    size_t nshards;
    msb_status_t rc = check_opts(opts, &max_keys, &key_max, &nshards, err);
    if (rc != MSB_OK) {
        return rc;
    }
    msb_ratelimit_keyed_t *kl = msb__calloc(1, sizeof(*kl));
    if (kl == NULL) {
        return msb__err_nomem(err, "a keyed rate limiter");
    }
    rc = msb__rl_params_init(limit, "limit.", &kl->p, err);
    if (rc != MSB_OK) {
        msb__free(kl);
        return rc;
    }
    kl->nshards = nshards;
    kl->key_max = key_max;
    kl->stride = (offsetof(msb__kl_entry_t, key) + key_max + 7) & ~(size_t)7;
    kl->shard_block = msb__calloc(nshards + 1, sizeof(msb__kl_shard_t));
    kl->entry_block = msb__calloc(max_keys, kl->stride);
    size_t nslots = layout(kl, max_keys, false);
    kl->slot_block = msb__calloc(nslots, sizeof(uint32_t));
    if (kl->shard_block == NULL || kl->entry_block == NULL || kl->slot_block == NULL) {
        destroy(kl, 0);
        return msb__err_nomem(err, "the keys of a keyed rate limiter");
    }
    /* Align the shards to cache lines (one spare shard's worth of room was allocated). */
    kl->shards = msb__rl_align_line(kl->shard_block);
    layout(kl, max_keys, true);
    for (size_t i = 0; i < nshards; i++) {
        if (pthread_mutex_init(&kl->shards[i].lock, NULL) != 0) {
            destroy(kl, i);
            return msb__err(err, MSB_ENOMEM, "ratelimit: cannot create a shard lock");
        }
    }
    *out = kl;
    return MSB_OK;
}

void msb_ratelimit_keyed_free(msb_ratelimit_keyed_t *kl)
{
    if (kl != NULL) {
        destroy(kl, kl->nshards);
    }
}

msb_status_t msb_ratelimit_keyed_take(msb_ratelimit_keyed_t *kl, const void *key, size_t key_len,
                                      uint64_t n, msb_ratelimit_result_t *res)
{
    if (kl == NULL || key == NULL || key_len == 0) {
        return MSB_EINVAL;
    }
    if (key_len > kl->key_max) {
        return MSB_ETOOBIG;
    }
    const msb__rl_params_t *p = &kl->p;
    uint64_t hash = msb__hash(key, key_len);
    msb__kl_shard_t *sh = &kl->shards[hash & (kl->nshards - 1)];
    uint64_t now = msb__rl_now(p);
    uint64_t x = msb__rl_x(p, now);

    pthread_mutex_lock(&sh->lock);
    msb__kl_entry_t *e = msb__kl_find(kl, sh, hash, key, key_len);
    uint64_t s = e != NULL ? e->state : 0; /* a key not held is full: state 0 <= x */
    bool never = n > p->burst;
    msb__rl_decision_t d = msb__rl_decide(p, s, x, never ? 0 : n);
    /* Only a grant changes a state; a peek or a denial leaves an absent key absent. */
    if (!never && n > 0 && d.allowed) {
        if (e == NULL) {
            e = msb__kl_insert(kl, sh, hash, key, key_len, x);
        }
        e->state = d.next;
    }
    if (e != NULL) {
        e->ref = 1;
    }
    pthread_mutex_unlock(&sh->lock);

    if (never) {
        if (res != NULL) {
            msb__rl_fill_never(p, s, now, res);
        }
        return MSB_ERANGE;
    }
    if (res != NULL) {
        msb__rl_fill(p, &d, now, res);
    }
    return d.allowed ? MSB_OK : MSB_EREJECTED;
}

bool msb_ratelimit_keyed_allow(msb_ratelimit_keyed_t *kl, const void *key, size_t key_len)
{
    return msb_ratelimit_keyed_take(kl, key, key_len, 1, NULL) == MSB_OK;
}

msb_status_t msb_ratelimit_keyed_forget(msb_ratelimit_keyed_t *kl, const void *key, size_t key_len)
{
    if (kl == NULL || key == NULL || key_len == 0) {
        return MSB_EINVAL;
    }
    if (key_len > kl->key_max) {
        return MSB_ETOOBIG;
    }
    uint64_t hash = msb__hash(key, key_len);
    msb__kl_shard_t *sh = &kl->shards[hash & (kl->nshards - 1)];
    pthread_mutex_lock(&sh->lock);
    msb__kl_entry_t *e = msb__kl_find(kl, sh, hash, key, key_len);
    if (e != NULL) {
        msb__kl_remove(kl, sh, e);
    }
    pthread_mutex_unlock(&sh->lock);
    return e != NULL ? MSB_OK : MSB_ENOTFOUND;
}

void msb_ratelimit_keyed_stats(msb_ratelimit_keyed_t *kl, msb_ratelimit_keyed_stats_t *out)
{
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof(*out));
    if (kl == NULL) {
        return;
    }
    for (size_t i = 0; i < kl->nshards; i++) {
        msb__kl_shard_t *sh = &kl->shards[i];
        pthread_mutex_lock(&sh->lock);
        out->keys += sh->count;
        out->capacity += sh->cap;
        out->evictions += sh->evictions;
        out->evictions_active += sh->evictions_active;
        pthread_mutex_unlock(&sh->lock);
    }
}
