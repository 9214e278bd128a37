/*
 * The tiers: putting values into L1 with their TTLs, the value header in Redis, storing through
 * every tier, deletes and invalidation messages, and the subscriber's side of two-tier caches.
 *
 * An invalidation message is the sender's 8-byte instance id, an operation byte ('D': drop the
 * key that follows; 'C': drop everything) and the key. A cache ignores its own messages: it
 * already updated its L1 before publishing.
 */
#include <string.h>

#include "cache/internal.h"
#include "core/alloc.h"
#include "core/error.h"

#define MSG_HEAD  9
#define MSG_STACK 256

void msb__cache_hdr_put(unsigned char *hdr, uint8_t flags, int64_t fresh_until_ms)
{
    uint64_t u = (uint64_t)fresh_until_ms;
    hdr[0] = (unsigned char)MSB__CACHE_HDR_TAG;
    hdr[1] = flags;
    for (int i = 0; i < 8; i++) {
        hdr[2 + i] = (unsigned char)(u >> (56 - 8 * i));
    }
}

bool msb__cache_hdr_get(const unsigned char *p, size_t len, uint8_t *flags, int64_t *fresh_until_ms)
{
    if (len < MSB__CACHE_HDR_LEN || p[0] != MSB__CACHE_HDR_TAG) {
        return false;
    }
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) {
        u = (u << 8) | p[2 + i];
    }
    *flags = p[1];
    *fresh_until_ms = (int64_t)u;
    return true;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > MSB__CACHE_NEVER - b ? MSB__CACHE_NEVER - 1 : a + b;
}

msb_status_t msb__cache_l1_put(msb_cache_t *c, uint64_t hash, const void *key, size_t key_len,
                               const void *value, size_t len, uint8_t flags,
                               const msb__cache_ttl_t *ttl, const uint64_t *epoch,
                               msb_cache_value_t **out)
{
    uint64_t now = 0;
    uint64_t fresh_until = MSB__CACHE_NEVER;
    uint64_t stale_until = MSB__CACHE_NEVER;
    if (ttl->fresh_ns > 0 || (c->drv != NULL && c->l1_ttl_ns > 0)) {
        now = c->clock->monotonic_ns(c->clock);
    }
    if (ttl->fresh_ns > 0) {
        fresh_until = add_sat(now, (uint64_t)ttl->fresh_ns);
        stale_until = add_sat(fresh_until, (uint64_t)ttl->stale_ns);
    }
    if (c->drv != NULL && c->l1_ttl_ns > 0) {
        uint64_t cap = add_sat(now, (uint64_t)c->l1_ttl_ns);
        stale_until = stale_until < cap ? stale_until : cap;
        fresh_until = fresh_until < stale_until ? fresh_until : stale_until;
    }
    if (c->drv == NULL && out == NULL && epoch == NULL && flags == 0 &&
        msb__l1_overwrite(c->l1, hash, key, key_len, value, len, fresh_until, stale_until)) {
        return MSB_OK;
    }
    msb_cache_value_t *v = msb__cache_value_new(key, key_len, value, len);
    if (v == NULL) {
        return MSB_ENOMEM;
    }
    v->hash = hash;
    v->flags = flags;
    v->fresh_until = fresh_until;
    v->stale_until = stale_until;
    if (out != NULL) {
        *out = msb_cache_value_retain(v);
    }
    if (c->l1 != NULL) {
        msb__l1_link(c->l1, v, epoch, c->drv == NULL);
    } else {
        msb_cache_value_release(v);
    }
    return MSB_OK;
}

static int64_t wall_ms(const msb_cache_t *c)
{
    return c->clock->realtime_ns(c->clock) / MSB_MSEC;
}

static int64_t ceil_ms(int64_t ns)
{
    return ns / MSB_MSEC + (ns % MSB_MSEC != 0 ? 1 : 0);
}

msb_status_t msb__cache_encode(const msb_cache_t *c, const void *value, size_t len, uint8_t flags,
                               const msb__cache_ttl_t *ttl, unsigned char **out, size_t *out_len,
                               msb_error_t *err)
{
    unsigned char *p = msb__malloc(len + MSB__CACHE_HDR_LEN);
    if (p == NULL) {
        return msb__err_nomem(err, "a cache value");
    }
    int64_t until = ttl->fresh_ns > 0 ? wall_ms(c) + ceil_ms(ttl->fresh_ns) : 0;
    msb__cache_hdr_put(p, flags, until);
    if (len > 0) {
        memcpy(p + MSB__CACHE_HDR_LEN, value, len);
    }
    *out = p;
    *out_len = len + MSB__CACHE_HDR_LEN;
    return MSB_OK;
}

msb_status_t msb__cache_decode(msb_cache_t *c, uint64_t hash, const void *key, size_t key_len,
                               const unsigned char *p, size_t len, int64_t pttl_ms,
                               const uint64_t *epoch, msb__l1_state_t *st, msb_cache_value_t **out)
{
    (void)pttl_ms;
    uint8_t flags = 0;
    int64_t until = 0;
    msb__cache_ttl_t ttl = {0, 0};
    *st = MSB__L1_FRESH;
    if (msb__cache_hdr_get(p, len, &flags, &until)) {
        p += MSB__CACHE_HDR_LEN;
        len -= MSB__CACHE_HDR_LEN;
        if (until > 0) {
            int64_t left_ms = until - wall_ms(c);
            int64_t stale_ms = (flags & MSB__CACHE_NEGATIVE) != 0 ? 0 : c->stale_ns / MSB_MSEC;
            if (left_ms > 0) {
                ttl.fresh_ns = left_ms * MSB_MSEC;
                ttl.stale_ns = stale_ms * MSB_MSEC;
            } else if (-left_ms < stale_ms) {
                *st = MSB__L1_STALE;
                ttl.fresh_ns = 1;
                ttl.stale_ns = (stale_ms + left_ms) * MSB_MSEC;
            } else {
                *st = MSB__L1_MISS;
                return MSB_OK;
            }
        }
    } else if (c->default_ttl_ns > 0) {
        ttl.fresh_ns = c->default_ttl_ns; /* a plain value from another writer */
    }
    if ((flags & MSB__CACHE_NEGATIVE) != 0) {
        *st = *st == MSB__L1_FRESH ? MSB__L1_NEGATIVE : MSB__L1_MISS;
        if (*st == MSB__L1_NEGATIVE && c->l1 != NULL) {
            return msb__cache_l1_put(c, hash, key, key_len, NULL, 0, MSB__CACHE_NEGATIVE, &ttl,
                                     epoch, NULL);
        }
        return MSB_OK;
    }
    if (*st == MSB__L1_STALE && c->l1 == NULL) {
        /* Redis-only: a stale value is returned without a tier to keep it in. */
        msb_cache_value_t *v = msb__cache_value_new(NULL, 0, p, len);
        *out = v;
        return v != NULL ? MSB_OK : MSB_ENOMEM;
    }
    return msb__cache_l1_put(c, hash, key, key_len, p, len, 0, &ttl, epoch, out);
}

/* ---- Redis reads -------------------------------------------------------------------------- */

typedef struct get_ctx {
    msb_cache_t *cache;
    const void *const *keys;
    const size_t *lens;
    const uint64_t *hashes;
    const uint64_t *epochs;
    msb__l1_state_t *states;
    msb_cache_value_t **values;
    msb_status_t status;
} get_ctx_t;

static void on_bytes(void *user, size_t i, const void *data, size_t len)
{
    get_ctx_t *g = user;
    if (data == NULL) {
        g->states[i] = MSB__L1_MISS;
        return;
    }
    msb_status_t rc =
        msb__cache_decode(g->cache, g->hashes[i], g->keys[i], g->lens[i], data, len, -1,
                          g->epochs != NULL ? &g->epochs[i] : NULL, &g->states[i], &g->values[i]);
    if (rc != MSB_OK) {
        g->status = rc;
    }
}

msb_status_t msb__cache_l2_get(msb_cache_t *c, uint64_t hash, const void *key, size_t key_len,
                               msb__l1_state_t *st, msb_cache_value_t **out, msb_error_t *err)
{
    uint64_t epoch = c->l1 != NULL ? msb__l1_epoch(c->l1, hash) : 0;
    msb_cache_value_t *v = NULL;
    get_ctx_t g = {c, &key, &key_len, &hash, c->l1 != NULL ? &epoch : NULL, st, &v, MSB_OK};
    *st = MSB__L1_MISS;
    msb_status_t rc = c->drv->get(c->backend, 1, &key, &key_len, on_bytes, &g, err);
    if (rc == MSB_OK && g.status != MSB_OK) {
        rc = msb__err_nomem(err, "a cache value");
    }
    if (rc != MSB_OK) {
        MSB__STAT_ADD(c, backend_errors);
        msb_cache_value_release(v);
        return rc;
    }
    *out = v;
    return MSB_OK;
}

/* ---- writes ------------------------------------------------------------------------------- */

static int64_t px_of(const msb__cache_ttl_t *ttl)
{
    return ttl->fresh_ns > 0 ? ceil_ms(ttl->fresh_ns + ttl->stale_ns) : 0;
}

/* The invalidation message for `key` (op 'D') in buf (stack or heap, see msg_free). */
static unsigned char *msg_make(const msb_cache_t *c, char op, const void *key, size_t key_len,
                               unsigned char *stack, size_t *len)
{
    unsigned char *m = MSG_HEAD + key_len <= MSG_STACK ? stack : msb__malloc(MSG_HEAD + key_len);
    if (m == NULL) {
        return NULL;
    }
    memcpy(m, &c->instance, 8);
    m[8] = (unsigned char)op;
    if (key_len > 0) {
        memcpy(m + MSG_HEAD, key, key_len);
    }
    *len = MSG_HEAD + key_len;
    return m;
}

static void msg_free(unsigned char *m, const unsigned char *stack)
{
    if (m != stack) {
        msb__free(m);
    }
}

msb_status_t msb__cache_l2_set(msb_cache_t *c, const void *key, size_t key_len, const void *value,
                               size_t len, uint8_t flags, const msb__cache_ttl_t *ttl,
                               msb_error_t *err)
{
    unsigned char *buf = NULL;
    size_t blen = 0;
    msb_status_t rc = msb__cache_encode(c, value, len, flags, ttl, &buf, &blen, err);
    if (rc != MSB_OK) {
        return rc;
    }
    unsigned char stack[MSG_STACK];
    size_t mlen = 0;
    unsigned char *msg = NULL;
    if (c->sub != NULL) {
        msg = msg_make(c, 'D', key, key_len, stack, &mlen);
        if (msg == NULL) {
            msb__free(buf);
            return msb__err_nomem(err, "an invalidation message");
        }
    }
    int64_t px = px_of(ttl);
    const void *v = buf;
    const void *m = msg;
    rc = c->drv->set(c->backend, 1, &key, &key_len, &v, &blen, &px, msg != NULL ? &m : NULL, &mlen,
                     err);
    if (rc != MSB_OK) {
        MSB__STAT_ADD(c, backend_errors);
    }
    msg_free(msg, stack);
    msb__free(buf);
    return rc;
}

msb_status_t msb__cache_store(msb_cache_t *c, uint64_t hash, const void *key, size_t key_len,
                              const void *value, size_t len, uint8_t flags,
                              const msb__cache_ttl_t *ttl, msb_cache_value_t **out,
                              msb_error_t *err)
{
    if (c->drv != NULL) {
        msb_status_t rc = msb__cache_l2_set(c, key, key_len, value, len, flags, ttl, err);
        if (rc != MSB_OK) {
            if (c->l1 != NULL) {
                msb__l1_delete(c->l1, hash, key, key_len);
            }
            return rc;
        }
        MSB__STAT_ADD(c, sets);
        if (c->l1 == NULL && out == NULL) {
            return MSB_OK;
        }
        if (c->l1 == NULL) {
            msb_cache_value_t *v = msb__cache_value_new(NULL, 0, value, len);
            *out = v;
            return v != NULL ? MSB_OK : msb__err_nomem(err, "a cache value");
        }
    }
    msb_status_t rc = msb__cache_l1_put(c, hash, key, key_len, value, len, flags, ttl, NULL, out);
    if (rc != MSB_OK) {
        return msb__err_nomem(err, "a cache entry");
    }
    return MSB_OK;
}

msb_status_t msb_cache_delete(msb_cache_t *c, const void *key, size_t key_len, msb_error_t *err)
{
    msb_status_t rc = msb__cache_check_key(c, key, key_len, err);
    if (rc != MSB_OK) {
        return rc;
    }
    uint64_t hash = msb__cache_hash(c, key, key_len);
    MSB__STAT_ADD(c, deletes);
    if (c->drv != NULL) {
        unsigned char stack[MSG_STACK];
        size_t mlen = 0;
        unsigned char *msg = NULL;
        if (c->sub != NULL) {
            msg = msg_make(c, 'D', key, key_len, stack, &mlen);
            if (msg == NULL) {
                rc = msb__err_nomem(err, "an invalidation message");
            }
        }
        if (rc == MSB_OK) {
            rc = c->drv->del(c->backend, key, key_len, msg, mlen, err);
            if (rc != MSB_OK) {
                MSB__STAT_ADD(c, backend_errors);
            }
        }
        msg_free(msg, stack);
    }
    if (c->l1 != NULL) {
        msb__l1_delete(c->l1, hash, key, key_len);
    }
    return rc;
}

msb_status_t msb_cache_clear_local(msb_cache_t *c, msb_error_t *err)
{
    if (c->l1 != NULL) {
        msb__l1_clear(c->l1);
    }
    if (c->sub == NULL) {
        return MSB_OK;
    }
    unsigned char m[MSG_HEAD];
    size_t mlen = 0;
    msg_make(c, 'C', NULL, 0, m, &mlen);
    msb_status_t rc = c->drv->publish(c->backend, m, mlen, err);
    if (rc != MSB_OK) {
        MSB__STAT_ADD(c, backend_errors);
    }
    return rc;
}

/* ---- the subscriber ---------------------------------------------------------------------- */

static void on_message(void *user, const void *msg, size_t len)
{
    msb_cache_t *c = user;
    const unsigned char *m = msg;
    uint64_t from;
    if (len < MSG_HEAD) {
        return;
    }
    memcpy(&from, m, 8);
    if (from == c->instance) {
        return;
    }
    if (m[8] == 'D' && len > MSG_HEAD) {
        const void *key = m + MSG_HEAD;
        size_t key_len = len - MSG_HEAD;
        msb__l1_delete(c->l1, msb__cache_hash(c, key, key_len), key, key_len);
        MSB__STAT_ADD(c, invalidations);
    } else if (m[8] == 'C') {
        msb__l1_clear(c->l1);
        MSB__STAT_ADD(c, invalidations);
    }
}

/* Invalidations may have been missed while the subscriber was away: start L1 afresh. */
static void on_state(void *user, bool up)
{
    msb_cache_t *c = user;
    if (up) {
        msb__l1_clear(c->l1);
        MSB__STAT_ADD(c, subscriber_connects);
    }
}

msb_status_t msb__cache_sub_start(msb_cache_t *c, msb_error_t *err)
{
    return c->drv->subscribe(c->backend, on_message, on_state, c, &c->sub, err);
}
