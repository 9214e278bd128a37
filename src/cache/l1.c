/*
 * The in-process tier: a sharded hash table with a CLOCK ring per shard.
 *
 * Eviction is CLOCK (second chance), the usual approximation of LRU: a hit only sets the
 * entry's `referenced` byte, in the cache line the lookup reads anyway, where a true LRU list
 * would unlink the entry and relink it at the head, writing to two neighbours (two more cache
 * misses on a large cache, and the reason most fast caches do not keep a strict LRU order). When
 * room is needed the hand sweeps the ring: a referenced entry loses its mark and is passed over,
 * the first unmarked one is evicted. New entries go just behind the hand, so they are the last
 * the hand reaches.
 *
 * Each shard has its own mutex, chained buckets (doubled when the load passes 1) and its share of
 * the entry and byte bounds, so the sum over shards never passes the configured bounds. An entry
 * is one allocation holding the value and the key; lookups hand out a reference to it, so a hit
 * copies nothing. Expired entries are dropped when met (lookups, and from the LRU tail when
 * room is needed). Freeing happens outside the lock.
 */
#include <string.h>

#include "cache/internal.h"
#include "core/alloc.h"
#include "core/error.h"

typedef struct shard {
    pthread_mutex_t mu;
    msb_cache_value_t **buckets;
    size_t mask;             /* buckets - 1 */
    msb__cache_link_t lru;   /* the ring's sentinel */
    msb__cache_link_t *hand; /* the next entry the sweep looks at (or the sentinel) */
    size_t entries;
    size_t bytes;
    size_t max_entries;
    size_t max_bytes;
    uint64_t epoch; /* invalidations seen */
    uint64_t hits, misses, sets, evictions, expirations;
} __attribute__((aligned(MSB_CACHELINE))) shard_t;

struct msb__l1 {
    const msb_clock_t *clock;
    unsigned mask;
    shard_t *shards;
    void *raw; /* the unaligned allocation of shards */
};

#define INITIAL_BUCKETS 16

msb_cache_value_t *msb__cache_value_new(const void *key, size_t key_len, const void *value,
                                        size_t len)
{
    msb_cache_value_t *v = msb__malloc(msb__cache_entry_size(key_len, len));
    if (v == NULL) {
        return NULL;
    }
    atomic_init(&v->refs, 1);
    v->key_len = (uint32_t)key_len;
    v->flags = 0;
    v->referenced = 0;
    v->len = (uint32_t)len;
    v->hash = 0;
    v->fresh_until = MSB__CACHE_NEVER;
    v->stale_until = MSB__CACHE_NEVER;
    v->hnext = NULL;
    v->lru.prev = NULL;
    v->lru.next = NULL;
    if (key_len > 0) {
        memcpy(v->bytes, key, key_len);
    }
    if (len > 0) {
        memcpy(v->bytes + key_len, value, len);
    }
    v->bytes[key_len + len] = '\0';
    return v;
}

const void *msb_cache_value_data(const msb_cache_value_t *v)
{
    return v->bytes + v->key_len;
}

size_t msb_cache_value_len(const msb_cache_value_t *v)
{
    return v->len;
}

msb_cache_value_t *msb_cache_value_retain(msb_cache_value_t *v)
{
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
    return v;
}

void msb_cache_value_release(msb_cache_value_t *v)
{
    if (v != NULL && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1) {
        msb__free(v);
    }
}

static void lru_unlink(shard_t *s, msb__cache_link_t *l)
{
    if (s->hand == l) {
        s->hand = l->next;
    }
    l->prev->next = l->next;
    l->next->prev = l->prev;
}

/* Insert just behind the hand: the entry the sweep reaches last. */
static void ring_insert(shard_t *s, msb__cache_link_t *l)
{
    msb__cache_link_t *at = s->hand;
    l->next = at;
    l->prev = at->prev;
    at->prev->next = l;
    at->prev = l;
}

static msb_cache_value_t *entry_of(msb__cache_link_t *l)
{
    return MSB_CONTAINER_OF(l, msb_cache_value_t, lru);
}

uint64_t msb__l1_now(const msb__l1_t *l1)
{
    return l1->clock->monotonic_ns(l1->clock);
}

msb_status_t msb__l1_new(const msb__l1_cfg_t *cfg, msb__l1_t **out, msb_error_t *err)
{
    msb__l1_t *l1 = msb__calloc(1, sizeof(*l1));
    if (l1 == NULL) {
        return msb__err_nomem(err, "a cache");
    }
    unsigned n = cfg->shards;
    l1->clock = cfg->clock;
    l1->mask = n - 1;
    l1->raw = msb__malloc(sizeof(shard_t) * n + MSB_CACHELINE);
    if (l1->raw == NULL) {
        msb__free(l1);
        return msb__err_nomem(err, "the shards of a cache");
    }
    size_t pad = (size_t)(-(uintptr_t)l1->raw) & (MSB_CACHELINE - 1);
    l1->shards = (shard_t *)(void *)((char *)l1->raw + pad);
    for (unsigned i = 0; i < n; i++) {
        shard_t *s = &l1->shards[i];
        memset(s, 0, sizeof(*s));
        s->buckets = msb__calloc(INITIAL_BUCKETS, sizeof(void *));
        if (s->buckets == NULL) {
            for (unsigned j = 0; j < i; j++) {
                pthread_mutex_destroy(&l1->shards[j].mu);
                msb__free(l1->shards[j].buckets);
            }
            msb__free(l1->raw);
            msb__free(l1);
            return msb__err_nomem(err, "the buckets of a cache");
        }
        pthread_mutex_init(&s->mu, NULL);
        s->mask = INITIAL_BUCKETS - 1;
        s->lru.next = &s->lru;
        s->lru.prev = &s->lru;
        s->hand = &s->lru;
        /* Shares of the bounds: the first shards take the remainders. */
        s->max_entries = cfg->max_entries / n + (i < cfg->max_entries % n ? 1 : 0);
        s->max_bytes = cfg->max_bytes / n + (i < cfg->max_bytes % n ? 1 : 0);
    }
    *out = l1;
    return MSB_OK;
}

static void shard_drop_all(shard_t *s)
{
    msb__cache_link_t *l = s->lru.next;
    while (l != &s->lru) {
        msb__cache_link_t *next = l->next;
        msb_cache_value_release(entry_of(l));
        l = next;
    }
    s->lru.next = &s->lru;
    s->lru.prev = &s->lru;
    s->hand = &s->lru;
    memset(s->buckets, 0, (s->mask + 1) * sizeof(void *));
    s->entries = 0;
    s->bytes = 0;
}

void msb__l1_free(msb__l1_t *l1)
{
    if (l1 == NULL) {
        return;
    }
    for (unsigned i = 0; i <= l1->mask; i++) {
        shard_t *s = &l1->shards[i];
        shard_drop_all(s);
        msb__free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    msb__free(l1->raw);
    msb__free(l1);
}

static shard_t *shard_of(msb__l1_t *l1, uint64_t hash)
{
    /* The high bits choose the shard, the low bits the bucket. */
    return &l1->shards[(hash >> 48) & l1->mask];
}

/* Find the slot pointing at the entry of key (or at the chain's NULL end). */
static msb_cache_value_t **find_slot(shard_t *s, uint64_t hash, const void *key, size_t key_len)
{
    msb_cache_value_t **pp = &s->buckets[hash & s->mask];
    while (*pp != NULL) {
        msb_cache_value_t *e = *pp;
        if (e->hash == hash && e->key_len == key_len &&
            memcmp(msb__cache_value_key(e), key, key_len) == 0) {
            break;
        }
        pp = &e->hnext;
    }
    return pp;
}

/* Unlink the entry at *pp from its bucket and the LRU; the caller releases it. */
static msb_cache_value_t *remove_at(shard_t *s, msb_cache_value_t **pp)
{
    msb_cache_value_t *e = *pp;
    *pp = e->hnext;
    e->hnext = NULL;
    lru_unlink(s, &e->lru);
    s->entries--;
    s->bytes -= msb__cache_entry_size(e->key_len, e->len);
    return e;
}

static void remove_entry(shard_t *s, msb_cache_value_t *e)
{
    msb_cache_value_t **pp = find_slot(s, e->hash, msb__cache_value_key(e), e->key_len);
    remove_at(s, pp);
}

msb__l1_state_t msb__l1_lookup(msb__l1_t *l1, uint64_t hash, const void *key, size_t key_len,
                               bool quiet, msb_cache_value_t **out)
{
    shard_t *s = shard_of(l1, hash);
    msb_cache_value_t *dead = NULL;
    msb__l1_state_t st = MSB__L1_MISS;
    pthread_mutex_lock(&s->mu);
    msb_cache_value_t **pp = find_slot(s, hash, key, key_len);
    msb_cache_value_t *e = *pp;
    if (e != NULL) {
        st = MSB__L1_FRESH;
        if (e->fresh_until != MSB__CACHE_NEVER) {
            uint64_t now = msb__l1_now(l1);
            if (now >= e->stale_until) {
                dead = remove_at(s, pp);
                s->expirations++;
                st = MSB__L1_MISS;
            } else if (now >= e->fresh_until) {
                st = MSB__L1_STALE;
            }
        }
        if (st != MSB__L1_MISS && (e->flags & MSB__CACHE_NEGATIVE) != 0) {
            st = st == MSB__L1_FRESH ? MSB__L1_NEGATIVE : MSB__L1_MISS;
        }
        if (st == MSB__L1_FRESH || st == MSB__L1_STALE) {
            atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
            *out = e;
        }
        if (st != MSB__L1_MISS) {
            e->referenced = 1;
        }
    }
    if (!quiet) {
        if (st == MSB__L1_FRESH) {
            s->hits++;
        } else if (st == MSB__L1_MISS) {
            s->misses++;
        }
    }
    pthread_mutex_unlock(&s->mu);
    msb_cache_value_release(dead);
    return st;
}

/* Double the buckets when entries pass them; a failed allocation keeps the old table. */
static void maybe_grow(shard_t *s)
{
    if (s->entries <= s->mask + 1) {
        return;
    }
    size_t n = (s->mask + 1) * 2;
    msb_cache_value_t **nb = msb__calloc(n, sizeof(void *));
    if (nb == NULL) {
        return;
    }
    for (size_t i = 0; i <= s->mask; i++) {
        msb_cache_value_t *e = s->buckets[i];
        while (e != NULL) {
            msb_cache_value_t *next = e->hnext;
            e->hnext = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    msb__free(s->buckets);
    s->buckets = nb;
    s->mask = n - 1;
}

/* The CLOCK hand's next victim: passes over (and unmarks) referenced entries. */
static msb_cache_value_t *next_victim(shard_t *s, uint64_t now)
{
    for (;;) {
        if (s->hand == &s->lru) {
            s->hand = s->lru.next;
            continue;
        }
        msb_cache_value_t *e = entry_of(s->hand);
        bool expired = e->stale_until != MSB__CACHE_NEVER && now >= e->stale_until;
        if (!e->referenced || expired) {
            return e;
        }
        e->referenced = 0;
        s->hand = s->hand->next;
    }
}

/* Evict until `need` more bytes and one more entry fit; victims are chained on *freed through
 * hnext. */
static void make_room(shard_t *s, size_t need, uint64_t now, msb_cache_value_t **freed)
{
    while (s->entries > 0 && (s->entries + 1 > s->max_entries || s->bytes + need > s->max_bytes)) {
        msb_cache_value_t *victim = next_victim(s, now);
        bool expired = victim->stale_until != MSB__CACHE_NEVER && now >= victim->stale_until;
        remove_entry(s, victim);
        if (expired) {
            s->expirations++;
        } else {
            s->evictions++;
        }
        victim->hnext = *freed;
        *freed = victim;
    }
}

bool msb__l1_link(msb__l1_t *l1, msb_cache_value_t *v, const uint64_t *epoch, bool count_set)
{
    shard_t *s = shard_of(l1, v->hash);
    msb_cache_value_t *freed = NULL;
    size_t need = msb__cache_entry_size(v->key_len, v->len);
    bool linked = false;
    uint64_t now = v->stale_until != MSB__CACHE_NEVER ? msb__l1_now(l1) : 0;
    pthread_mutex_lock(&s->mu);
    if (epoch == NULL || *epoch == s->epoch) {
        msb_cache_value_t **pp = find_slot(s, v->hash, msb__cache_value_key(v), v->key_len);
        if (*pp != NULL) {
            msb_cache_value_t *old = remove_at(s, pp);
            old->hnext = freed;
            freed = old;
        }
        make_room(s, need, now, &freed);
        if (s->entries + 1 <= s->max_entries && s->bytes + need <= s->max_bytes) {
            pp = &s->buckets[v->hash & s->mask];
            v->hnext = *pp;
            *pp = v;
            ring_insert(s, &v->lru);
            s->entries++;
            s->bytes += need;
            linked = true;
            s->sets += count_set ? 1 : 0;
            maybe_grow(s);
        }
    }
    pthread_mutex_unlock(&s->mu);
    while (freed != NULL) {
        msb_cache_value_t *next = freed->hnext;
        msb_cache_value_release(freed);
        freed = next;
    }
    if (!linked) {
        msb_cache_value_release(v);
    }
    return linked;
}

bool msb__l1_overwrite(msb__l1_t *l1, uint64_t hash, const void *key, size_t key_len,
                       const void *value, size_t len, uint64_t fresh_until, uint64_t stale_until)
{
    shard_t *s = shard_of(l1, hash);
    bool done = false;
    pthread_mutex_lock(&s->mu);
    msb_cache_value_t *e = *find_slot(s, hash, key, key_len);
    /* Only the table holds it (references are taken under this lock), and it is the same size:
     * write the new value where the old one is. */
    if (e != NULL && e->len == len && e->flags == 0 &&
        atomic_load_explicit(&e->refs, memory_order_acquire) == 1) {
        memcpy(e->bytes + e->key_len, value, len);
        e->fresh_until = fresh_until;
        e->stale_until = stale_until;
        e->referenced = 1;
        s->sets++;
        s->epoch++;
        done = true;
    }
    pthread_mutex_unlock(&s->mu);
    return done;
}

uint64_t msb__l1_epoch(msb__l1_t *l1, uint64_t hash)
{
    shard_t *s = shard_of(l1, hash);
    pthread_mutex_lock(&s->mu);
    uint64_t e = s->epoch;
    pthread_mutex_unlock(&s->mu);
    return e;
}

bool msb__l1_delete(msb__l1_t *l1, uint64_t hash, const void *key, size_t key_len)
{
    shard_t *s = shard_of(l1, hash);
    msb_cache_value_t *dead = NULL;
    pthread_mutex_lock(&s->mu);
    s->epoch++;
    msb_cache_value_t **pp = find_slot(s, hash, key, key_len);
    if (*pp != NULL) {
        dead = remove_at(s, pp);
    }
    pthread_mutex_unlock(&s->mu);
    msb_cache_value_release(dead);
    return dead != NULL;
}

void msb__l1_clear(msb__l1_t *l1)
{
    for (unsigned i = 0; i <= l1->mask; i++) {
        shard_t *s = &l1->shards[i];
        pthread_mutex_lock(&s->mu);
        s->epoch++;
        shard_drop_all(s);
        pthread_mutex_unlock(&s->mu);
    }
}

void msb__l1_stats(msb__l1_t *l1, msb_cache_stats_t *out)
{
    for (unsigned i = 0; i <= l1->mask; i++) {
        shard_t *s = &l1->shards[i];
        pthread_mutex_lock(&s->mu);
        out->hits += s->hits;
        out->l1_hits += s->hits;
        out->misses += s->misses;
        out->sets += s->sets;
        out->evictions += s->evictions;
        out->expirations += s->expirations;
        out->entries += s->entries;
        out->bytes += s->bytes;
        pthread_mutex_unlock(&s->mu);
    }
}
