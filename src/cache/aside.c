/*
 * Cache-aside with single-flight, stale-while-revalidate and negative caching (blocking
 * callers), and write-through.
 */
#include <string.h>

#include "cache/internal.h"
#include "core/alloc.h"
#include "core/error.h"

void msb__cache_fill_init(msb_cache_fill_t *f, msb_cache_t *c)
{
    memset(f, 0, sizeof(*f));
    f->cache = c;
    f->ttl_ns = MSB_CACHE_TTL_DEFAULT;
}

void msb__cache_fill_clear(msb_cache_fill_t *f)
{
    msb__free(f->data);
    f->data = NULL;
    f->len = 0;
    f->has_value = false;
}

msb_status_t msb_cache_fill_value(msb_cache_fill_t *fill, const void *value, size_t len)
{
    if (value == NULL && len > 0) {
        fill->status = MSB_EINVAL;
        return MSB_EINVAL;
    }
    if (len > fill->cache->max_value_len) {
        fill->status = MSB_ETOOBIG;
        return MSB_ETOOBIG;
    }
    void *copy = NULL;
    if (len > 0) {
        copy = msb__memdup(value, len);
        if (copy == NULL) {
            fill->status = MSB_ENOMEM;
            return MSB_ENOMEM;
        }
    }
    msb__cache_fill_clear(fill);
    fill->data = copy;
    fill->len = len;
    fill->has_value = true;
    fill->status = MSB_OK;
    return MSB_OK;
}

void msb_cache_fill_ttl(msb_cache_fill_t *fill, int64_t ttl_ns)
{
    fill->ttl_ns = ttl_ns;
}

msb_status_t msb__cache_fill_commit(msb_cache_t *c, uint64_t hash, const void *key, size_t key_len,
                                    msb_cache_fill_t *f, msb_status_t status,
                                    msb_cache_value_t **out, msb_error_t *err)
{
    if (status == MSB_OK && f->status != MSB_OK) {
        status = f->status;
        return msb__err(err, status, "cache: the loader's value was refused: %s",
                        msb_strerror(status));
    }
    if (status == MSB_OK && !f->has_value) {
        return msb__err(err, MSB_EINVAL,
                        "cache: the loader returned MSB_OK without msb_cache_fill_value()");
    }
    msb__cache_ttl_t ttl;
    bool negative = status == MSB_ENOTFOUND;
    if (negative && c->negative_ttl_ns == 0) {
        return MSB_ENOTFOUND;
    }
    msb_status_t rc = msb__cache_ttl(c, f->ttl_ns, negative, &ttl, err);
    if (rc != MSB_OK) {
        return rc;
    }
    uint8_t flags = negative ? MSB__CACHE_NEGATIVE : 0;
    msb_cache_value_t *v = NULL;
    msb_error_t ignored;
    rc = msb__cache_store(c, hash, key, key_len, f->data, f->len, flags, &ttl, negative ? NULL : &v,
                          &ignored);
    if (negative) {
        return MSB_ENOTFOUND;
    }
    if (rc != MSB_OK && v == NULL) {
        /* The cache could not keep it; the caller still gets what was loaded. */
        v = msb__cache_value_new(NULL, 0, f->data, f->len);
        if (v == NULL) {
            return msb__err_nomem(err, "a cache value");
        }
    }
    *out = v;
    return MSB_OK;
}

/* Run the loader and store its result. */
static msb_status_t run_load(msb_cache_t *c, uint64_t hash, const void *key, size_t key_len,
                             msb_cache_load_fn load, void *user, msb_cache_value_t **out,
                             msb_error_t *err)
{
    msb_cache_fill_t fill;
    msb__cache_fill_init(&fill, c);
    MSB__STAT_ADD(c, loads);
    msb_error_t lerr = MSB_ERROR_INIT;
    msb_status_t st = load(user, key, key_len, &fill, &lerr);
    if (st != MSB_OK && st != MSB_ENOTFOUND) {
        MSB__STAT_ADD(c, load_errors);
        if (lerr.code == MSB_OK) {
            msb__err(&lerr, st, "cache: the loader failed: %s", msb_strerror(st));
        }
        if (err != NULL) {
            *err = lerr;
        }
        msb__cache_fill_clear(&fill);
        return st;
    }
    st = msb__cache_fill_commit(c, hash, key, key_len, &fill, st, out, err);
    if (st != MSB_OK && st != MSB_ENOTFOUND) {
        MSB__STAT_ADD(c, load_errors);
    }
    msb__cache_fill_clear(&fill);
    return st;
}

/* Look in L1 (and count); *out is a new reference on FRESH and STALE. */
static msb__l1_state_t probe_l1(msb_cache_t *c, uint64_t hash, const void *key, size_t key_len,
                                msb_cache_value_t **out)
{
    if (c->l1 == NULL) {
        return MSB__L1_MISS;
    }
    msb__l1_state_t st = msb__l1_lookup(c->l1, hash, key, key_len, c->drv != NULL, out);
    if (st == MSB__L1_FRESH && c->drv != NULL) {
        MSB__STAT_ADD(c, hits);
        MSB__STAT_ADD(c, l1_hits);
    }
    return st;
}

typedef struct refresh_job {
    msb_cache_t *cache;
    msb__flight_t *flight;
    uint64_t hash;
    msb_cache_load_fn load;
    void *user;
    size_t key_len;
    char key[];
} refresh_job_t;

static void refresh(msb_cache_t *c, msb__flight_t *fl, uint64_t hash, const void *key,
                    size_t key_len, msb_cache_load_fn load, void *user, msb_cache_value_t **out)
{
    msb_cache_value_t *v = NULL;
    msb_error_t lerr = MSB_ERROR_INIT;
    msb_status_t st = run_load(c, hash, key, key_len, load, user, &v, &lerr);
    if (st == MSB_ENOTFOUND) {
        /* Gone from the system of record: drop the stale copy. */
        if (c->l1 != NULL && c->negative_ttl_ns == 0) {
            msb__l1_delete(c->l1, hash, key, key_len);
        }
    }
    if (out != NULL && v != NULL) {
        *out = msb_cache_value_retain(v);
    }
    msb__flight_finish(c->flights, fl, st, v, &lerr);
}

static void run_refresh_job(void *arg)
{
    refresh_job_t *j = arg;
    msb_cache_t *c = j->cache;
    refresh(c, j->flight, j->hash, j->key, j->key_len, j->load, j->user, NULL);
    msb__free(j);
    pthread_mutex_lock(&c->jobs_mu);
    if (--c->jobs == 0) {
        pthread_cond_broadcast(&c->jobs_cv);
    }
    pthread_mutex_unlock(&c->jobs_mu);
}

/* A stale hit: one caller refreshes (through the executor when there is one). *out holds the
 * stale value and is replaced by the fresh one when this caller refreshed inline. */
static void serve_stale(msb_cache_t *c, uint64_t hash, const void *key, size_t key_len,
                        msb_cache_load_fn load, void *user, msb_cache_value_t **out)
{
    MSB__STAT_ADD(c, stale_hits);
    msb__flight_t *fl = msb__flight_try_start(c->flights, hash, key, key_len);
    if (fl == NULL) {
        return; /* a refresh runs already, or no memory to start one: serve stale */
    }
    if (c->executor != NULL) {
        refresh_job_t *j = msb__malloc(sizeof(*j) + key_len);
        if (j != NULL) {
            *j = (refresh_job_t){c, fl, hash, load, user, key_len};
            memcpy(j->key, key, key_len);
            pthread_mutex_lock(&c->jobs_mu);
            c->jobs++;
            pthread_mutex_unlock(&c->jobs_mu);
            if (c->executor(run_refresh_job, j, c->executor_user) == 0) {
                return;
            }
            pthread_mutex_lock(&c->jobs_mu);
            c->jobs--;
            pthread_mutex_unlock(&c->jobs_mu);
            msb__free(j);
        }
    }
    msb_cache_value_t *fresh = NULL;
    refresh(c, fl, hash, key, key_len, load, user, &fresh);
    if (fresh != NULL) {
        msb_cache_value_release(*out);
        *out = fresh;
    }
}

/* The leader of a miss: look in Redis, else load; publish to the waiters. */
static msb_status_t lead(msb_cache_t *c, msb__flight_t *fl, uint64_t hash, const void *key,
                         size_t key_len, msb_cache_load_fn load, void *user,
                         msb_cache_value_t **out, msb_error_t *err)
{
    msb_cache_value_t *v = NULL;
    msb_status_t st = MSB_OK;
    /* Someone may have finished the same load between our miss and our flight. */
    msb__l1_state_t s1 =
        c->l1 != NULL ? msb__l1_lookup(c->l1, hash, key, key_len, true, &v) : MSB__L1_MISS;
    if (s1 == MSB__L1_MISS && c->drv != NULL) {
        msb_error_t ignored;
        if (msb__cache_l2_get(c, hash, key, key_len, &s1, &v, &ignored) != MSB_OK) {
            s1 = MSB__L1_MISS; /* Redis is down: the loader is the source of truth */
        }
        if (s1 == MSB__L1_FRESH) {
            MSB__STAT_ADD(c, l2_hits);
        }
    }
    bool front = c->drv != NULL; /* in-process only: the shards counted the first probe */
    if (s1 == MSB__L1_FRESH && front) {
        MSB__STAT_ADD(c, hits);
    } else if (s1 == MSB__L1_NEGATIVE) {
        MSB__STAT_ADD(c, negative_hits);
        st = MSB_ENOTFOUND;
    } else if (s1 != MSB__L1_FRESH) {
        msb_cache_value_t *stale = v;
        v = NULL;
        if (front) {
            MSB__STAT_ADD(c, misses);
        }
        st = run_load(c, hash, key, key_len, load, user, &v, err);
        if (st != MSB_OK && st != MSB_ENOTFOUND && stale != NULL) {
            st = MSB_OK; /* a failed load over a stale value: serve stale */
            v = stale;
            stale = NULL;
            MSB__STAT_ADD(c, stale_hits);
        }
        msb_cache_value_release(stale);
    }
    if (st == MSB_OK) {
        *out = msb_cache_value_retain(v);
    }
    msb__flight_finish(c->flights, fl, st, v, err);
    return st;
}

msb_status_t msb_cache_get_or_load(msb_cache_t *c, const void *key, size_t key_len,
                                   msb_cache_load_fn load, void *user, msb_cache_value_t **out,
                                   msb_error_t *err)
{
    msb_status_t rc = msb__cache_check_key(c, key, key_len, err);
    if (rc != MSB_OK) {
        return rc;
    }
    if (load == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "cache: NULL loader or out");
    }
    uint64_t hash = msb__cache_hash(c, key, key_len);
    msb_cache_value_t *v = NULL;
    msb__l1_state_t st = probe_l1(c, hash, key, key_len, &v);
    if (st == MSB__L1_FRESH) {
        *out = v;
        return MSB_OK;
    }
    if (st == MSB__L1_NEGATIVE) {
        MSB__STAT_ADD(c, negative_hits);
        return MSB_ENOTFOUND;
    }
    if (st == MSB__L1_STALE) {
        serve_stale(c, hash, key, key_len, load, user, &v);
        *out = v;
        return MSB_OK;
    }
    msb__flight_t *fl = NULL;
    bool leader = false;
    rc = msb__flight_join(c->flights, hash, key, key_len, &fl, &leader);
    if (rc != MSB_OK) {
        return msb__err_nomem(err, "a cache load");
    }
    if (leader) {
        return lead(c, fl, hash, key, key_len, load, user, out, err);
    }
    MSB__STAT_ADD(c, coalesced);
    return msb__flight_wait(c->flights, fl, out, err);
}

msb_status_t msb_cache_write_through(msb_cache_t *c, const void *key, size_t key_len,
                                     const void *value, size_t value_len, int64_t ttl_ns,
                                     msb_cache_store_fn store, void *user, msb_error_t *err)
{
    msb_status_t rc = msb__cache_check_key(c, key, key_len, err);
    if (rc == MSB_OK) {
        rc = msb__cache_check_value(c, value, value_len, err);
    }
    msb__cache_ttl_t ttl;
    if (rc == MSB_OK) {
        rc = msb__cache_ttl(c, ttl_ns, false, &ttl, err);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    if (store == NULL) {
        msb__err(err, MSB_EINVAL, "cache: NULL store function");
        return MSB_EINVAL;
    }
    msb_error_t serr = MSB_ERROR_INIT;
    rc = store(user, key, key_len, value, value_len, &serr);
    if (rc != MSB_OK) {
        if (serr.code == MSB_OK) {
            msb__err(&serr, rc, "cache: write-through: the store failed: %s", msb_strerror(rc));
        }
        if (err != NULL) {
            *err = serr;
        }
        return rc;
    }
    uint64_t hash = msb__cache_hash(c, key, key_len);
    rc = msb__cache_store(c, hash, key, key_len, value, value_len, 0, &ttl, NULL, err);
    if (rc != MSB_OK) {
        msb_cache_delete(c, key, key_len, NULL);
    }
    return rc;
}
