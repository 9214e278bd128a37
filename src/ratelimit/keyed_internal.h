/* The keyed limiter's table: shards of fixed entries with an open-addressing index. */
#ifndef MSB_RATELIMIT_KEYED_INTERNAL_H
#define MSB_RATELIMIT_KEYED_INTERNAL_H

#include <pthread.h>

#include "ratelimit/internal.h"

/* One key. Entries are `stride` bytes apart; the key bytes follow the header. */
typedef struct msb__kl_entry {
    uint64_t hash;
    uint64_t state;      /* the limiter word; on the free list, the next free index + 1 */
    uint32_t key_len;    /* 0: not in use */
    uint32_t ref;        /* used since the clock hand last passed */
    unsigned char key[]; /* key_max bytes */
} msb__kl_entry_t;

typedef struct msb__kl_shard {
    _Alignas(MSB_CACHELINE) pthread_mutex_t lock;
    uint32_t cap;       /* entries in this shard */
    uint32_t used;      /* entries ever handed out: [0, used) have been used */
    uint32_t count;     /* entries holding a key */
    uint32_t hand;      /* the clock hand */
    uint32_t free_head; /* index + 1 of a freed entry, 0 when none */
    uint32_t mask;      /* index size - 1 */
    uint32_t *slots;    /* index: entry index + 1, 0 when empty */
    unsigned char *entries;
    uint64_t evictions;
    uint64_t evictions_active;
} msb__kl_shard_t;

struct msb_ratelimit_keyed {
    msb__rl_params_t p;
    size_t nshards; /* a power of two */
    size_t key_max;
    size_t stride;
    msb__kl_shard_t *shards; /* aligned inside shard_block */
    void *shard_block;
    unsigned char *entry_block;
    uint32_t *slot_block;
};

/* All under the shard's lock. */
MSB_INTERNAL msb__kl_entry_t *msb__kl_find(const msb_ratelimit_keyed_t *kl, msb__kl_shard_t *sh,
                                           uint64_t hash, const void *key, size_t len);
/* Add a key that is not held, making room if the shard is full; never fails. `x` is the
 * current position on the limit's axis (to tell full entries). */
MSB_INTERNAL msb__kl_entry_t *msb__kl_insert(const msb_ratelimit_keyed_t *kl, msb__kl_shard_t *sh,
                                             uint64_t hash, const void *key, size_t len,
                                             uint64_t x);
MSB_INTERNAL void msb__kl_remove(const msb_ratelimit_keyed_t *kl, msb__kl_shard_t *sh,
                                 msb__kl_entry_t *e);

#endif
