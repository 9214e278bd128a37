/*
 * The keyed limiter's table (see keyed.c): linear probing over an index at most half full, with
 * backward-shift deletion (no tombstones, so probe chains never rot), and the clock sweep that
 * makes room in a full shard.
 */
#include <string.h>

#include "ratelimit/keyed_internal.h"

/* The shard is chosen by the hash's low bits; the index uses the high ones. */
static uint32_t home_slot(const msb__kl_shard_t *sh, uint64_t hash)
{
    return (uint32_t)(hash >> 32) & sh->mask;
}

static msb__kl_entry_t *entry_at(const msb_ratelimit_keyed_t *kl, const msb__kl_shard_t *sh,
                                 uint32_t index)
{
    return (msb__kl_entry_t *)(void *)(sh->entries + (size_t)index * kl->stride);
}

static uint32_t index_of(const msb_ratelimit_keyed_t *kl, const msb__kl_shard_t *sh,
                         const msb__kl_entry_t *e)
{
    return (uint32_t)(((const unsigned char *)e - sh->entries) / kl->stride);
}

msb__kl_entry_t *msb__kl_find(const msb_ratelimit_keyed_t *kl, msb__kl_shard_t *sh, uint64_t hash,
                              const void *key, size_t len)
{
    for (uint32_t i = home_slot(sh, hash);; i = (i + 1) & sh->mask) {
        uint32_t v = sh->slots[i];
        if (v == 0) {
            return NULL;
        }
        msb__kl_entry_t *e = entry_at(kl, sh, v - 1);
        if (e->hash == hash && e->key_len == len && memcmp(e->key, key, len) == 0) {
            return e;
        }
    }
}

/* Whether slot k lies cyclically in (i, j]. */
static bool cyclic_between(uint32_t i, uint32_t k, uint32_t j)
{
    if (i <= j) {
        return i < k && k <= j;
    }
    return i < k || k <= j;
}

static void unlink_slot(const msb_ratelimit_keyed_t *kl, msb__kl_shard_t *sh, uint32_t hole)
{
    sh->slots[hole] = 0;
    for (uint32_t j = (hole + 1) & sh->mask;; j = (j + 1) & sh->mask) {
        uint32_t v = sh->slots[j];
        if (v == 0) {
            return;
        }
        uint32_t k = home_slot(sh, entry_at(kl, sh, v - 1)->hash);
        /* An entry may move back into the hole unless its home lies after the hole. */
        if (!cyclic_between(hole, k, j)) {
            sh->slots[hole] = v;
            sh->slots[j] = 0;
            hole = j;
        }
    }
}

static void drop(const msb_ratelimit_keyed_t *kl, msb__kl_shard_t *sh, msb__kl_entry_t *e)
{
    uint32_t want = index_of(kl, sh, e) + 1;
    uint32_t i = home_slot(sh, e->hash);
    while (sh->slots[i] != want) {
        i = (i + 1) & sh->mask;
    }
    unlink_slot(kl, sh, i);
    e->key_len = 0;
    e->ref = 0;
    sh->count--;
}

void msb__kl_remove(const msb_ratelimit_keyed_t *kl, msb__kl_shard_t *sh, msb__kl_entry_t *e)
{
    drop(kl, sh, e);
    e->state = sh->free_head;
    sh->free_head = index_of(kl, sh, e) + 1;
}

/* The clock sweep, called when every entry of the shard holds a key: a full entry at once, else
 * the first one not used since the hand last passed. It ends within two turns (the first turn
 * clears every mark). */
static msb__kl_entry_t *evict(const msb_ratelimit_keyed_t *kl, msb__kl_shard_t *sh, uint64_t x)
{
    for (;;) {
        msb__kl_entry_t *e = entry_at(kl, sh, sh->hand);
        sh->hand = sh->hand + 1 == sh->cap ? 0 : sh->hand + 1;
        if (e->key_len == 0) {
            continue;
        }
        bool full = e->state <= x;
        if (!full && e->ref != 0) {
            e->ref = 0;
            continue;
        }
        sh->evictions++;
        if (!full) {
            sh->evictions_active++;
        }
        drop(kl, sh, e);
        return e;
    }
}

msb__kl_entry_t *msb__kl_insert(const msb_ratelimit_keyed_t *kl, msb__kl_shard_t *sh, uint64_t hash,
                                const void *key, size_t len, uint64_t x)
{
    msb__kl_entry_t *e;
    if (sh->free_head != 0) {
        e = entry_at(kl, sh, sh->free_head - 1);
        sh->free_head = (uint32_t)e->state;
    } else if (sh->used < sh->cap) {
        e = entry_at(kl, sh, sh->used++);
    } else {
        e = evict(kl, sh, x);
    }
    e->hash = hash;
    e->state = 0;
    e->key_len = (uint32_t)len;
    e->ref = 1;
    memcpy(e->key, key, len);
    uint32_t i = home_slot(sh, hash);
    while (sh->slots[i] != 0) {
        i = (i + 1) & sh->mask;
    }
    sh->slots[i] = index_of(kl, sh, e) + 1;
    sh->count++;
    return e;
}
