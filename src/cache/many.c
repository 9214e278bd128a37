/* Several keys in one round trip: msb_cache_get_many() and msb_cache_set_many(). */
#include <string.h>

#include "cache/internal.h"
#include "core/alloc.h"
#include "core/error.h"

typedef struct many_get {
    msb_cache_t *cache;
    const void **keys;
    size_t *lens;
    uint64_t *hashes;
    uint64_t *epochs;
    size_t *slot; /* index in the caller's arrays */
    msb__l1_state_t *states;
    msb_cache_value_t **values;
    msb_status_t status;
} many_get_t;

static void many_bytes(void *user, size_t i, const void *data, size_t len)
{
    many_get_t *m = user;
    m->states[i] = MSB__L1_MISS;
    if (data == NULL) {
        return;
    }
    msb_status_t rc = msb__cache_decode(m->cache, m->hashes[i], m->keys[i], m->lens[i], data, len,
                                        -1, m->cache->l1 != NULL ? &m->epochs[i] : NULL,
                                        &m->states[i], &m->values[i]);
    if (rc != MSB_OK) {
        m->status = rc;
    }
}

static void release_all(size_t n, msb_cache_value_t **v)
{
    for (size_t i = 0; i < n; i++) {
        msb_cache_value_release(v[i]);
        v[i] = NULL;
    }
}

/* The keys that missed L1, in one pipeline. */
static msb_status_t fetch_misses(msb_cache_t *c, many_get_t *m, size_t k, msb_cache_value_t **out,
                                 msb_error_t *err)
{
    msb_status_t rc =
        c->drv->get(c->backend, k, (const void *const *)m->keys, m->lens, many_bytes, m, err);
    if (rc == MSB_OK && m->status != MSB_OK) {
        rc = msb__err_nomem(err, "cache values");
    }
    if (rc != MSB_OK) {
        MSB__STAT_ADD(c, backend_errors);
        release_all(k, m->values);
        return rc;
    }
    for (size_t j = 0; j < k; j++) {
        if (m->states[j] == MSB__L1_FRESH) {
            out[m->slot[j]] = m->values[j];
            MSB__STAT_ADD(c, hits);
            MSB__STAT_ADD(c, l2_hits);
        } else {
            msb_cache_value_release(m->values[j]);
            MSB__STAT_ADD(c, misses);
        }
        m->values[j] = NULL;
    }
    return MSB_OK;
}

msb_status_t msb_cache_get_many(msb_cache_t *c, size_t n, const void *const *keys,
                                const size_t *key_lens, msb_cache_value_t **out, msb_error_t *err)
{
    if (n > 0 && (keys == NULL || key_lens == NULL || out == NULL)) {
        return msb__err(err, MSB_EINVAL, "cache: NULL keys, lengths or out");
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        msb_status_t rc = msb__cache_check_key(c, keys[i], key_lens[i], err);
        if (rc != MSB_OK) {
            return rc;
        }
    }
    if (c->drv == NULL) {
        for (size_t i = 0; i < n; i++) {
            msb_cache_value_t *v = NULL;
            if (msb_cache_get(c, keys[i], key_lens[i], &v, NULL) == MSB_OK) {
                out[i] = v;
            }
        }
        return MSB_OK;
    }
    size_t each = sizeof(void *) + 2 * sizeof(size_t) + 2 * sizeof(uint64_t) +
                  sizeof(msb__l1_state_t) + sizeof(msb_cache_value_t *);
    char *mem = msb__calloc(n + 1, each);
    if (mem == NULL) {
        return msb__err_nomem(err, "a multi-key lookup");
    }
    many_get_t m = {c, (const void **)mem, NULL, NULL, NULL, NULL, NULL, NULL, MSB_OK};
    m.lens = (size_t *)(mem + n * sizeof(void *));
    m.slot = m.lens + n;
    m.hashes = (uint64_t *)(m.slot + n);
    m.epochs = m.hashes + n;
    m.values = (msb_cache_value_t **)(m.epochs + n);
    m.states = (msb__l1_state_t *)(m.values + n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t hash = msb__cache_hash(c, keys[i], key_lens[i]);
        if (c->l1 != NULL) {
            msb_cache_value_t *v = NULL;
            msb__l1_state_t st = msb__l1_lookup(c->l1, hash, keys[i], key_lens[i], true, &v);
            if (st == MSB__L1_FRESH) {
                out[i] = v;
                MSB__STAT_ADD(c, hits);
                MSB__STAT_ADD(c, l1_hits);
                continue;
            }
            msb_cache_value_release(v);
            if (st == MSB__L1_NEGATIVE) {
                MSB__STAT_ADD(c, negative_hits);
                continue;
            }
            m.epochs[k] = msb__l1_epoch(c->l1, hash);
        }
        m.keys[k] = keys[i];
        m.lens[k] = key_lens[i];
        m.hashes[k] = hash;
        m.slot[k] = i;
        k++;
    }
    msb_status_t rc = k > 0 ? fetch_misses(c, &m, k, out, err) : MSB_OK;
    if (rc != MSB_OK) {
        release_all(n, out);
    }
    msb__free(mem);
    return rc;
}

typedef struct many_set {
    unsigned char **bufs;
    size_t *blens;
    int64_t *px;
    msb__cache_ttl_t *ttls;
    unsigned char **msgs;
    size_t *mlens;
} many_set_t;

static msb_status_t encode_all(msb_cache_t *c, size_t n, const void *const *keys,
                               const size_t *key_lens, const void *const *values,
                               const size_t *value_lens, many_set_t *s, msb_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        msb_status_t rc = msb__cache_encode(c, values[i], value_lens[i], 0, &s->ttls[i],
                                            &s->bufs[i], &s->blens[i], err);
        if (rc != MSB_OK) {
            return rc;
        }
        const msb__cache_ttl_t *t = &s->ttls[i];
        int64_t ns = t->fresh_ns + t->stale_ns;
        s->px[i] = t->fresh_ns > 0 ? ns / MSB_MSEC + (ns % MSB_MSEC != 0 ? 1 : 0) : 0;
        if (c->sub != NULL) {
            s->msgs[i] = msb__malloc(9 + key_lens[i]);
            if (s->msgs[i] == NULL) {
                return msb__err_nomem(err, "an invalidation message");
            }
            memcpy(s->msgs[i], &c->instance, 8);
            s->msgs[i][8] = 'D';
            memcpy(s->msgs[i] + 9, keys[i], key_lens[i]);
            s->mlens[i] = 9 + key_lens[i];
        }
    }
    return MSB_OK;
}

static msb_status_t set_backend(msb_cache_t *c, size_t n, const void *const *keys,
                                const size_t *key_lens, const void *const *values,
                                const size_t *value_lens, many_set_t *s, msb_error_t *err)
{
    msb_status_t rc = encode_all(c, n, keys, key_lens, values, value_lens, s, err);
    if (rc == MSB_OK) {
        rc =
            c->drv->set(c->backend, n, keys, key_lens, (const void *const *)s->bufs, s->blens,
                        s->px, c->sub != NULL ? (const void *const *)s->msgs : NULL, s->mlens, err);
        if (rc != MSB_OK) {
            MSB__STAT_ADD(c, backend_errors);
        }
    }
    for (size_t i = 0; i < n; i++) {
        msb__free(s->bufs[i]);
        msb__free(s->msgs[i]);
    }
    return rc;
}

msb_status_t msb_cache_set_many(msb_cache_t *c, size_t n, const void *const *keys,
                                const size_t *key_lens, const void *const *values,
                                const size_t *value_lens, int64_t ttl_ns, msb_error_t *err)
{
    if (n > 0 && (keys == NULL || key_lens == NULL || values == NULL || value_lens == NULL)) {
        return msb__err(err, MSB_EINVAL, "cache: NULL keys, values or lengths");
    }
    size_t each =
        2 * sizeof(void *) + 2 * sizeof(size_t) + sizeof(int64_t) + sizeof(msb__cache_ttl_t);
    char *mem = msb__calloc(n + 1, each);
    if (mem == NULL) {
        return msb__err_nomem(err, "a multi-key write");
    }
    many_set_t s;
    s.bufs = (unsigned char **)mem;
    s.msgs = s.bufs + n;
    s.blens = (size_t *)(s.msgs + n);
    s.mlens = s.blens + n;
    s.px = (int64_t *)(s.mlens + n);
    s.ttls = (msb__cache_ttl_t *)(s.px + n);
    msb_status_t rc = MSB_OK;
    for (size_t i = 0; i < n && rc == MSB_OK; i++) {
        rc = msb__cache_check_key(c, keys[i], key_lens[i], err);
        if (rc == MSB_OK) {
            rc = msb__cache_check_value(c, values[i], value_lens[i], err);
        }
        if (rc == MSB_OK) {
            rc = msb__cache_ttl(c, ttl_ns, false, &s.ttls[i], err);
        }
    }
    if (rc == MSB_OK && c->drv != NULL && n > 0) {
        rc = set_backend(c, n, keys, key_lens, values, value_lens, &s, err);
        for (size_t i = 0; i < n && rc == MSB_OK; i++) {
            MSB__STAT_ADD(c, sets);
        }
    }
    for (size_t i = 0; i < n && rc == MSB_OK && c->l1 != NULL; i++) {
        uint64_t hash = msb__cache_hash(c, keys[i], key_lens[i]);
        if (msb__cache_l1_put(c, hash, keys[i], key_lens[i], values[i], value_lens[i], 0,
                              &s.ttls[i], NULL, NULL) != MSB_OK) {
            rc = msb__err_nomem(err, "a cache entry");
        }
    }
    msb__free(mem);
    return rc;
}
