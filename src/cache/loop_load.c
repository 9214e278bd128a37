/*
 * Cache-aside on an event loop: single-flight per loop handle (the first request for a key
 * starts the load, later ones wait on the flight), stale-while-revalidate (a stale entry answers
 * at once and one refresh starts), negative caching. The loader is asynchronous: it calls
 * msb_cache_fill_done() when it has the value, now or later, on the loop's thread. Writing what
 * was loaded to Redis does not delay the callers: the SET is sent and its outcome only counted.
 */
#include <string.h>

#include "cache/loop.h"
#include "core/alloc.h"
#include "core/error.h"

static lflight_t **bucket(msb_cache_loop_t *l, uint64_t hash)
{
    return &l->flights[hash % LFLIGHT_BUCKETS];
}

static lflight_t *find(msb_cache_loop_t *l, uint64_t hash, const void *key, size_t key_len)
{
    for (lflight_t *f = *bucket(l, hash); f != NULL; f = f->next) {
        if (f->hash == hash && f->key_len == key_len && memcmp(f->key, key, key_len) == 0) {
            return f;
        }
    }
    return NULL;
}

static void unlink_flight(msb_cache_loop_t *l, lflight_t *f)
{
    lflight_t **pp = bucket(l, f->hash);
    while (*pp != NULL && *pp != f) {
        pp = &(*pp)->next;
    }
    if (*pp == f) {
        *pp = f->next;
    }
}

static void free_flight(lflight_t *f)
{
    msb_cache_value_release(f->stale);
    msb__cache_fill_clear(&f->fill);
    msb__free(f);
}

/* Hand the outcome to every waiter, then forget the flight. */
static void finish(lflight_t *f, msb_status_t status, msb_cache_value_t *v, const msb_error_t *e)
{
    op_t *o = f->waiters;
    f->waiters = NULL;
    while (o != NULL) {
        op_t *next = o->next;
        if (status == MSB_OK) {
            o->value = msb_cache_value_retain(v);
        } else if (e != NULL && status != MSB_ENOTFOUND) {
            o->err = *e;
        }
        msb__cache_op_complete(o, status);
        o = next;
    }
    if (f->loop != NULL) {
        unlink_flight(f->loop, f);
    }
    free_flight(f);
}

static void count_write(void *user, msb_status_t status, const msb_error_t *err)
{
    (void)err;
    if (status != MSB_OK) {
        MSB__STAT_ADD((msb_cache_t *)user, backend_errors);
    }
}

/* Store a loaded outcome: L1 now, Redis by an asynchronous SET; *out: the value (MSB_OK). */
static msb_status_t store_async(msb_cache_loop_t *l, lflight_t *f, msb_status_t status,
                                msb_cache_value_t **out, msb_error_t *err)
{
    msb_cache_t *c = l->cache;
    msb_cache_fill_t *fill = &f->fill;
    bool negative = status == MSB_ENOTFOUND;
    msb__cache_ttl_t ttl;
    if ((negative && c->negative_ttl_ns == 0) ||
        msb__cache_ttl(c, fill->ttl_ns, negative, &ttl, err) != MSB_OK) {
        return negative ? MSB_ENOTFOUND : err->code;
    }
    uint8_t flags = negative ? MSB__CACHE_NEGATIVE : 0;
    if (c->drv != NULL && l->conn != NULL) {
        unsigned char *buf = NULL;
        size_t blen = 0;
        if (msb__cache_encode(c, fill->data, fill->len, flags, &ttl, &buf, &blen, err) == MSB_OK) {
            int64_t ns = ttl.fresh_ns + ttl.stale_ns;
            int64_t px = ttl.fresh_ns > 0 ? ns / MSB_MSEC + (ns % MSB_MSEC != 0 ? 1 : 0) : 0;
            if (c->drv->aset(l->conn, f->key, f->key_len, buf, blen, px, NULL, 0, count_write, c,
                             NULL) != MSB_OK) {
                MSB__STAT_ADD(c, backend_errors);
            }
            msb__free(buf);
        }
    }
    msb_status_t rc = MSB_OK;
    if (c->l1 != NULL) {
        rc = msb__cache_l1_put(c, f->hash, f->key, f->key_len, fill->data, fill->len, flags, &ttl,
                               NULL, negative ? NULL : out);
    } else if (!negative) {
        *out = msb__cache_value_new(NULL, 0, fill->data, fill->len);
        rc = *out != NULL ? MSB_OK : MSB_ENOMEM;
    }
    if (negative) {
        return MSB_ENOTFOUND;
    }
    return rc == MSB_OK ? MSB_OK : msb__err_nomem(err, "a cache value");
}

void msb_cache_fill_done(msb_cache_fill_t *fill, msb_status_t status, const msb_error_t *err)
{
    lflight_t *f = fill != NULL ? fill->async : NULL;
    if (f == NULL || !f->loading) {
        return; /* not an asynchronous fill, or done twice */
    }
    f->loading = false;
    msb_cache_loop_t *l = f->loop;
    if (l == NULL) {
        free_flight(f); /* the loop handle is gone */
        return;
    }
    msb_cache_t *c = l->cache;
    msb_error_t e = MSB_ERROR_INIT;
    if (status == MSB_OK && fill->status != MSB_OK) {
        status = msb__err(&e, fill->status, "cache: the loader's value was refused: %s",
                          msb_strerror(fill->status));
    } else if (status == MSB_OK && !fill->has_value) {
        status = msb__err(&e, MSB_EINVAL,
                          "cache: the loader finished with MSB_OK without msb_cache_fill_value()");
    } else if (status != MSB_OK && status != MSB_ENOTFOUND) {
        if (err != NULL && err->code != MSB_OK) {
            e = *err;
        } else {
            msb__err(&e, status, "cache: the loader failed: %s", msb_strerror(status));
        }
    }
    msb_cache_value_t *v = NULL;
    if (status == MSB_OK || status == MSB_ENOTFOUND) {
        status = store_async(l, f, status, &v, &e);
    }
    if (status != MSB_OK && status != MSB_ENOTFOUND) {
        MSB__STAT_ADD(c, load_errors);
        if (f->stale != NULL) {
            status = MSB_OK; /* a failed refresh: keep serving stale */
            v = msb_cache_value_retain(f->stale);
        }
    }
    finish(f, status, v, &e);
    msb_cache_value_release(v);
}

static void begin_load(lflight_t *f)
{
    msb_cache_t *c = f->loop->cache;
    MSB__STAT_ADD(c, loads);
    msb__cache_fill_init(&f->fill, c);
    f->fill.async = f;
    f->loading = true;
    f->load(f->load_user, f->key, f->key_len, &f->fill); /* f may be gone after this */
}

static void l2_done(void *user, msb_status_t status, const msb_error_t *err)
{
    op_t *probe = user; /* a private op carrying the Redis read; not in the pending list */
    lflight_t *f = (lflight_t *)probe->user;
    msb_cache_t *c = f->loop->cache;
    (void)err;
    msb__l1_state_t st =
        status == MSB_OK && probe->err.code == MSB_OK ? probe->state : MSB__L1_MISS;
    msb_cache_value_t *v = probe->value;
    msb__free(probe);
    if (status != MSB_OK) {
        MSB__STAT_ADD(c, backend_errors);
    }
    if (f->loop->freeing) {
        msb_cache_value_release(v);
        msb_error_t e = MSB_ERROR_INIT;
        msb__err(&e, MSB_ECANCELED, "cache: the loop handle was freed");
        finish(f, MSB_ECANCELED, NULL, &e);
        return;
    }
    if (st == MSB__L1_FRESH || st == MSB__L1_NEGATIVE) {
        if (st == MSB__L1_FRESH) {
            MSB__STAT_ADD(c, hits);
        } else {
            MSB__STAT_ADD(c, negative_hits);
        }
        if (st == MSB__L1_FRESH) {
            MSB__STAT_ADD(c, l2_hits);
        }
        finish(f, st == MSB__L1_FRESH ? MSB_OK : MSB_ENOTFOUND, v, NULL);
        msb_cache_value_release(v);
        return;
    }
    MSB__STAT_ADD(c, misses);
    f->stale = v; /* a stale Redis value (or NULL) */
    begin_load(f);
}

static lflight_t *new_flight(msb_cache_loop_t *l, op_t *o, msb_cache_async_load_fn load,
                             void *load_user)
{
    lflight_t *f = msb__calloc(1, sizeof(*f) + o->key_len);
    if (f == NULL) {
        return NULL;
    }
    f->loop = l;
    f->hash = o->hash;
    f->load = load;
    f->load_user = load_user;
    f->key_len = o->key_len;
    memcpy(f->key, o->key, o->key_len);
    lflight_t **b = bucket(l, o->hash);
    f->next = *b;
    *b = f;
    return f;
}

/* Look in Redis for the flight's key, then load. */
static msb_status_t start_l2(msb_cache_loop_t *l, lflight_t *f)
{
    msb_cache_t *c = l->cache;
    op_t *probe = msb__malloc(sizeof(op_t) + f->key_len);
    if (probe == NULL) {
        return MSB_ENOMEM;
    }
    memset(probe, 0, sizeof(*probe));
    probe->loop = l;
    probe->user = f;
    probe->hash = f->hash;
    probe->key_len = f->key_len;
    memcpy(probe->key, f->key, f->key_len);
    if (c->l1 != NULL) {
        probe->epoch = msb__l1_epoch(c->l1, f->hash);
    }
    if (c->drv->aget(l->conn, f->key, f->key_len, msb__cache_op_bytes, l2_done, probe, NULL) !=
        MSB_OK) {
        msb__free(probe);
        MSB__STAT_ADD(c, backend_errors);
        MSB__STAT_ADD(c, misses);
        begin_load(f); /* Redis down: the loader is the source of truth */
    }
    return MSB_OK;
}

/* A fresh, negative or stale entry in L1 answers at once; true when it did. */
static bool answer_from_l1(msb_cache_loop_t *l, op_t *o, msb_cache_async_load_fn load,
                           void *load_user)
{
    msb_cache_t *c = l->cache;
    if (c->l1 == NULL) {
        return false;
    }
    msb__l1_state_t st =
        msb__l1_lookup(c->l1, o->hash, o->key, o->key_len, c->drv != NULL, &o->value);
    if (st == MSB__L1_MISS) {
        return false;
    }
    if (st == MSB__L1_FRESH && c->drv != NULL) {
        MSB__STAT_ADD(c, hits);
        MSB__STAT_ADD(c, l1_hits);
    } else if (st == MSB__L1_NEGATIVE) {
        MSB__STAT_ADD(c, negative_hits);
    } else if (st == MSB__L1_STALE) {
        MSB__STAT_ADD(c, stale_hits);
        if (find(l, o->hash, o->key, o->key_len) == NULL) {
            lflight_t *f = new_flight(l, o, load, load_user);
            if (f != NULL) {
                f->stale = msb_cache_value_retain(o->value);
                msb__cache_op_complete(o, MSB_OK);
                begin_load(f);
                return true;
            }
        }
    }
    msb__cache_op_complete(o, st == MSB__L1_NEGATIVE ? MSB_ENOTFOUND : MSB_OK);
    return true;
}

msb_status_t msb__cache_loop_load(msb_cache_loop_t *l, op_t *o, msb_cache_async_load_fn load,
                                  void *load_user, msb_error_t *err)
{
    msb_cache_t *c = l->cache;
    if (answer_from_l1(l, o, load, load_user)) {
        return MSB_OK;
    }
    lflight_t *f = find(l, o->hash, o->key, o->key_len);
    if (f != NULL) {
        MSB__STAT_ADD(c, coalesced);
        o->next = f->waiters;
        f->waiters = o;
        return MSB_OK;
    }
    f = new_flight(l, o, load, load_user);
    if (f == NULL) {
        return msb__err_nomem(err, "a cache load");
    }
    f->waiters = o;
    o->next = NULL;
    if (c->drv != NULL && l->conn != NULL) {
        if (start_l2(l, f) != MSB_OK) {
            f->waiters = NULL;
            unlink_flight(l, f);
            free_flight(f);
            return msb__err_nomem(err, "a cache load");
        }
        return MSB_OK;
    }
    begin_load(f);
    return MSB_OK;
}

void msb__cache_loop_flights_cancel(msb_cache_loop_t *l)
{
    msb_error_t e = MSB_ERROR_INIT;
    msb__err(&e, MSB_ECANCELED, "cache: the loop handle was freed");
    for (size_t i = 0; i < LFLIGHT_BUCKETS; i++) {
        lflight_t *f = l->flights[i];
        l->flights[i] = NULL;
        while (f != NULL) {
            lflight_t *next = f->next;
            op_t *o = f->waiters;
            f->waiters = NULL;
            while (o != NULL) {
                op_t *on = o->next;
                o->err = e;
                msb__cache_op_complete(o, MSB_ECANCELED);
                o = on;
            }
            f->loop = NULL;
            if (!f->loading) {
                free_flight(f);
            }
            f = next;
        }
    }
}
