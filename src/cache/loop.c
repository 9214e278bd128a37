/*
 * The cache on an event loop: lookups in L1 complete without I/O, Redis commands go through
 * one pipelined asynchronous connection of the backend. Every callback runs from an event of our
 * own (never inside the call that started it), so a callback may start or free anything.
 */
#include <string.h>

#include "cache/loop.h"
#include "core/alloc.h"
#include "core/error.h"

op_t *msb__cache_op_new(msb_cache_loop_t *l, op_kind_t kind, const void *key, size_t key_len)
{
    bool slot = key_len <= OP_KEY_SLOT;
    op_t *o = NULL;
    if (slot && l->spare != NULL) {
        o = l->spare;
        l->spare = o->next;
        l->nspare--;
    } else {
        o = msb__malloc(sizeof(*o) + (slot ? OP_KEY_SLOT : key_len));
        if (o == NULL) {
            return NULL;
        }
    }
    memset(o, 0, sizeof(*o));
    o->slot = slot;
    o->loop = l;
    o->kind = kind;
    o->key_len = key_len;
    memcpy(o->key, key, key_len);
    o->pnext = l->pending;
    if (l->pending != NULL) {
        l->pending->pprev = o;
    }
    l->pending = o;
    return o;
}

void msb__cache_op_drop(op_t *o)
{
    msb_cache_loop_t *l = o->loop;
    if (o->pprev != NULL) {
        o->pprev->pnext = o->pnext;
    } else {
        l->pending = o->pnext;
    }
    if (o->pnext != NULL) {
        o->pnext->pprev = o->pprev;
    }
    msb_cache_value_release(o->value);
    if (o->slot && l->nspare < OP_SPARE_MAX) {
        o->next = l->spare;
        l->spare = o;
        l->nspare++;
    } else {
        msb__free(o);
    }
}

static void set_status(op_t *o, msb_status_t status)
{
    o->status = status;
    if (status != MSB_OK && status != MSB_ENOTFOUND && o->err.code == MSB_OK) {
        msb__err(&o->err, status, "cache: %s", msb_strerror(status));
    }
}

void msb__cache_op_complete(op_t *o, msb_status_t status)
{
    msb_cache_loop_t *l = o->loop;
    set_status(o, status);
    o->next = NULL;
    if (l->done_tail != NULL) {
        l->done_tail->next = o;
    } else {
        l->done_head = o;
    }
    l->done_tail = o;
    event_active(l->done_ev, EV_TIMEOUT, 0);
}

static void deliver_one(op_t *o)
{
    const msb_error_t *e = o->status == MSB_OK || o->status == MSB_ENOTFOUND ? NULL : &o->err;
    if (o->gcb != NULL) {
        o->gcb(o->status, o->status == MSB_OK ? o->value : NULL, e, o->user);
    } else if (o->dcb != NULL) {
        o->dcb(o->status, e, o->user);
    }
}

static void really_free(msb_cache_loop_t *l)
{
    while (l->spare != NULL) {
        op_t *o = l->spare;
        l->spare = o->next;
        msb__free(o);
    }
    event_free(l->done_ev);
    msb__free(l);
}

static void deliver(msb_cache_loop_t *l)
{
    l->depth++;
    while (l->done_head != NULL) {
        op_t *o = l->done_head;
        l->done_head = o->next;
        if (l->done_head == NULL) {
            l->done_tail = NULL;
        }
        deliver_one(o);
        msb__cache_op_drop(o);
    }
    l->depth--;
    if (l->freeing && l->depth == 0) {
        really_free(l);
    }
}

void msb__cache_op_finish_now(op_t *o, msb_status_t status)
{
    msb_cache_loop_t *l = o->loop;
    set_status(o, status);
    l->depth++;
    deliver_one(o);
    msb__cache_op_drop(o);
    l->depth--;
    if (l->freeing && l->depth == 0) {
        deliver(l); /* what the free queued, then the free itself */
    }
}

static void on_done_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    deliver(arg);
}

msb_status_t msb_cache_loop_new(msb_cache_t *c, struct event_base *base, msb_cache_loop_t **out,
                                msb_error_t *err)
{
    if (c == NULL || base == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "cache: NULL cache, base or out");
    }
    msb_cache_loop_t *l = msb__calloc(1, sizeof(*l));
    if (l == NULL) {
        return msb__err_nomem(err, "a cache loop handle");
    }
    l->cache = c;
    l->base = base;
    l->done_ev = event_new(base, -1, 0, on_done_event, l);
    if (l->done_ev == NULL) {
        msb__free(l);
        return msb__err_nomem(err, "a cache loop event");
    }
    if (c->drv != NULL) {
        msb_status_t rc = c->drv->loop_open(c->backend, base, &l->conn, err);
        if (rc != MSB_OK) {
            event_free(l->done_ev);
            msb__free(l);
            return rc;
        }
    }
    *out = l;
    return MSB_OK;
}

void msb_cache_loop_free(msb_cache_loop_t *l)
{
    if (l == NULL || l->freeing) {
        return;
    }
    l->freeing = true;
    l->depth++;
    if (l->conn != NULL) {
        l->cache->drv->loop_close(l->conn); /* completes the backend's ops (ECANCELED) */
        l->conn = NULL;
    }
    msb__cache_loop_flights_cancel(l);
    l->depth--;
    if (l->depth == 0) {
        deliver(l); /* runs what is queued, then frees */
    }
}

static msb_status_t start(msb_cache_loop_t *l, op_kind_t kind, const void *key, size_t key_len,
                          op_t **out, msb_error_t *err)
{
    *out = NULL;
    if (l == NULL) {
        msb__err(err, MSB_EINVAL, "cache: NULL loop handle");
        return MSB_EINVAL;
    }
    if (l->freeing) {
        msb__err(err, MSB_ECLOSED, "cache: the loop handle is being freed");
        return MSB_ECLOSED;
    }
    msb_status_t rc = msb__cache_check_key(l->cache, key, key_len, err);
    if (rc != MSB_OK) {
        return rc;
    }
    op_t *o = msb__cache_op_new(l, kind, key, key_len);
    if (o == NULL) {
        msb__err_nomem(err, "a cache operation");
        return MSB_ENOMEM;
    }
    o->hash = msb__cache_hash(l->cache, key, key_len);
    *out = o;
    return MSB_OK;
}

void msb__cache_op_bytes(void *user, size_t index, const void *data, size_t len)
{
    (void)index;
    op_t *o = user;
    msb_cache_t *c = o->loop->cache;
    o->state = MSB__L1_MISS;
    if (data == NULL) {
        return;
    }
    if (msb__cache_decode(c, o->hash, o->key, o->key_len, data, len, -1,
                          c->l1 != NULL ? &o->epoch : NULL, &o->state, &o->value) != MSB_OK) {
        o->state = MSB__L1_MISS;
        msb__err(&o->err, MSB_ENOMEM, "cache: out of memory decoding a value");
    }
}

static void get_done(void *user, msb_status_t status, const msb_error_t *err)
{
    op_t *o = user;
    msb_cache_t *c = o->loop->cache;
    o->in_driver = false;
    if (status == MSB_OK && o->err.code != MSB_OK) {
        status = o->err.code;
    } else if (status != MSB_OK && err != NULL) {
        o->err = *err;
    }
    if (status != MSB_OK) {
        MSB__STAT_ADD(c, backend_errors);
    } else if (o->state == MSB__L1_FRESH) {
        MSB__STAT_ADD(c, hits);
        MSB__STAT_ADD(c, l2_hits);
    } else {
        status = MSB_ENOTFOUND;
        if (o->state == MSB__L1_NEGATIVE) {
            MSB__STAT_ADD(c, negative_hits);
        } else {
            MSB__STAT_ADD(c, misses);
        }
    }
    msb__cache_op_finish_now(o, status);
}

msb_status_t msb_cache_loop_get(msb_cache_loop_t *l, const void *key, size_t key_len,
                                msb_cache_get_cb cb, void *user, msb_error_t *err)
{
    op_t *o = NULL;
    msb_status_t rc = start(l, OP_GET, key, key_len, &o, err);
    if (rc != MSB_OK || o == NULL) {
        return rc != MSB_OK ? rc : MSB_EINTERNAL;
    }
    o->gcb = cb;
    o->user = user;
    msb_cache_t *c = l->cache;
    if (c->drv == NULL) {
        rc = msb_cache_get(c, key, key_len, &o->value, &o->err);
        msb__cache_op_complete(o, rc);
        return MSB_OK;
    }
    if (c->l1 != NULL) {
        msb__l1_state_t st = msb__l1_lookup(c->l1, o->hash, key, key_len, true, &o->value);
        if (st == MSB__L1_FRESH || st == MSB__L1_NEGATIVE) {
            if (st == MSB__L1_FRESH) {
                MSB__STAT_ADD(c, hits);
            } else {
                MSB__STAT_ADD(c, negative_hits);
            }
            if (st == MSB__L1_FRESH) {
                MSB__STAT_ADD(c, l1_hits);
            }
            msb__cache_op_complete(o, st == MSB__L1_FRESH ? MSB_OK : MSB_ENOTFOUND);
            return MSB_OK;
        }
        msb_cache_value_release(o->value);
        o->value = NULL;
        o->epoch = msb__l1_epoch(c->l1, o->hash);
    }
    o->in_driver = true;
    rc = c->drv->aget(l->conn, key, key_len, msb__cache_op_bytes, get_done, o, &o->err);
    if (rc != MSB_OK) {
        o->in_driver = false;
        MSB__STAT_ADD(c, backend_errors);
        msb__cache_op_complete(o, rc); /* Redis down: the callback says so */
    }
    return MSB_OK;
}

static void write_done(void *user, msb_status_t status, const msb_error_t *err)
{
    op_t *o = user;
    msb_cache_t *c = o->loop->cache;
    o->in_driver = false;
    if (status != MSB_OK) {
        if (err != NULL) {
            o->err = *err;
        }
        MSB__STAT_ADD(c, backend_errors);
    }
    if (c->l1 != NULL) {
        msb__l1_delete(c->l1, o->hash, o->key, o->key_len);
    }
    if (status == MSB_OK && o->kind == OP_SET) {
        MSB__STAT_ADD(c, sets);
        if (c->l1 != NULL && o->value != NULL &&
            msb__cache_l1_put(c, o->hash, o->key, o->key_len, msb__cache_value_bytes(o->value),
                              o->value->len, 0, &o->ttl, NULL, NULL) != MSB_OK) {
            status = msb__err(&o->err, MSB_ENOMEM, "cache: out of memory storing a value");
        }
    }
    msb_cache_value_release(o->value);
    o->value = NULL;
    msb__cache_op_finish_now(o, status);
}

/* Encode the value and the invalidation message and send the SET. */
static msb_status_t send_set(msb_cache_loop_t *l, op_t *o, const void *value, size_t len,
                             msb_error_t *err)
{
    msb_cache_t *c = l->cache;
    unsigned char *buf = NULL;
    size_t blen = 0;
    msb_status_t rc = msb__cache_encode(c, value, len, 0, &o->ttl, &buf, &blen, err);
    if (rc != MSB_OK) {
        return rc;
    }
    unsigned char msg[9 + 256];
    unsigned char *m = NULL;
    size_t mlen = 0;
    if (c->sub != NULL) {
        m = 9 + o->key_len <= sizeof(msg) ? msg : msb__malloc(9 + o->key_len);
        if (m == NULL) {
            msb__free(buf);
            return msb__err_nomem(err, "an invalidation message");
        }
        memcpy(m, &c->instance, 8);
        m[8] = 'D';
        memcpy(m + 9, o->key, o->key_len);
        mlen = 9 + o->key_len;
    }
    int64_t ns = o->ttl.fresh_ns + o->ttl.stale_ns;
    int64_t px = o->ttl.fresh_ns > 0 ? ns / MSB_MSEC + (ns % MSB_MSEC != 0 ? 1 : 0) : 0;
    o->in_driver = true;
    rc = c->drv->aset(l->conn, o->key, o->key_len, buf, blen, px, m, mlen, write_done, o, &o->err);
    if (rc != MSB_OK) {
        o->in_driver = false;
        MSB__STAT_ADD(c, backend_errors);
        msb__cache_op_complete(o, rc);
    }
    if (m != msg) {
        msb__free(m);
    }
    msb__free(buf);
    return MSB_OK;
}

msb_status_t msb_cache_loop_set(msb_cache_loop_t *l, const void *key, size_t key_len,
                                const void *value, size_t value_len, int64_t ttl_ns,
                                msb_cache_done_cb cb, void *user, msb_error_t *err)
{
    if (l == NULL) {
        msb__err(err, MSB_EINVAL, "cache: NULL loop handle");
        return MSB_EINVAL;
    }
    msb_status_t rc = msb__cache_check_value(l->cache, value, value_len, err);
    msb__cache_ttl_t ttl;
    if (rc == MSB_OK) {
        rc = msb__cache_ttl(l->cache, ttl_ns, false, &ttl, err);
    }
    op_t *o = NULL;
    if (rc == MSB_OK) {
        rc = start(l, OP_SET, key, key_len, &o, err);
    }
    if (rc != MSB_OK || o == NULL) {
        return rc != MSB_OK ? rc : MSB_EINTERNAL;
    }
    o->dcb = cb;
    o->user = user;
    o->ttl = ttl;
    msb_cache_t *c = l->cache;
    if (c->drv == NULL) {
        rc = msb__cache_store(c, o->hash, key, key_len, value, value_len, 0, &ttl, NULL, &o->err);
        msb__cache_op_complete(o, rc);
        return MSB_OK;
    }
    if (c->l1 != NULL) {
        o->value = msb__cache_value_new(NULL, 0, value, value_len); /* for L1 once stored */
        if (o->value == NULL) {
            msb__cache_op_drop(o);
            return msb__err_nomem(err, "a cache value");
        }
    }
    rc = send_set(l, o, value, value_len, err);
    if (rc != MSB_OK) {
        msb__cache_op_drop(o);
    }
    return rc;
}

msb_status_t msb_cache_loop_delete(msb_cache_loop_t *l, const void *key, size_t key_len,
                                   msb_cache_done_cb cb, void *user, msb_error_t *err)
{
    op_t *o = NULL;
    msb_status_t rc = start(l, OP_DEL, key, key_len, &o, err);
    if (rc != MSB_OK || o == NULL) {
        return rc != MSB_OK ? rc : MSB_EINTERNAL;
    }
    o->dcb = cb;
    o->user = user;
    msb_cache_t *c = l->cache;
    if (c->drv == NULL) {
        rc = msb_cache_delete(c, key, key_len, &o->err);
        msb__cache_op_complete(o, rc);
        return MSB_OK;
    }
    MSB__STAT_ADD(c, deletes);
    if (c->l1 != NULL) {
        msb__l1_delete(c->l1, o->hash, key, key_len);
    }
    unsigned char msg[9 + 256];
    unsigned char *m = NULL;
    size_t mlen = 0;
    if (c->sub != NULL) {
        m = 9 + key_len <= sizeof(msg) ? msg : msb__malloc(9 + key_len);
        if (m == NULL) {
            msb__cache_op_drop(o);
            return msb__err_nomem(err, "an invalidation message");
        }
        memcpy(m, &c->instance, 8);
        m[8] = 'D';
        memcpy(m + 9, key, key_len);
        mlen = 9 + key_len;
    }
    o->in_driver = true;
    rc = c->drv->adel(l->conn, key, key_len, m, mlen, write_done, o, &o->err);
    if (rc != MSB_OK) {
        o->in_driver = false;
        MSB__STAT_ADD(c, backend_errors);
        msb__cache_op_complete(o, rc);
    }
    if (m != msg) {
        msb__free(m);
    }
    return MSB_OK;
}

msb_status_t msb_cache_loop_get_or_load(msb_cache_loop_t *l, const void *key, size_t key_len,
                                        msb_cache_async_load_fn load, void *load_user,
                                        msb_cache_get_cb cb, void *user, msb_error_t *err)
{
    if (load == NULL || cb == NULL) {
        return msb__err(err, MSB_EINVAL, "cache: NULL loader or callback");
    }
    op_t *o = NULL;
    msb_status_t rc = start(l, OP_LOAD, key, key_len, &o, err);
    if (rc != MSB_OK || o == NULL) {
        return rc != MSB_OK ? rc : MSB_EINTERNAL;
    }
    o->gcb = cb;
    o->user = user;
    rc = msb__cache_loop_load(l, o, load, load_user, err);
    if (rc != MSB_OK) {
        msb__cache_op_drop(o);
    }
    return rc;
}
