/*
 * The batch loader: a table of entries (one per distinct key) and a queue of pending keys.
 * A batch takes up to max_batch pending entries; the batch function answers them; waiters are
 * woken (blocking mode: a condition variable) or called back (loop mode: loop.c).
 */
#include <string.h>
#include <time.h>

#include "cache/internal.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/hash.h"
#include "dataloader/internal.h"

#define INITIAL_BUCKETS 64

dl_entry_t *msb__dl_find(msb_dataloader_t *dl, uint64_t hash, const void *key, size_t key_len)
{
    for (dl_entry_t *e = dl->buckets[hash & dl->mask]; e != NULL; e = e->hnext) {
        if (e->hash == hash && e->key_len == key_len && memcmp(e->key, key, key_len) == 0) {
            return e;
        }
    }
    return NULL;
}

static void grow(msb_dataloader_t *dl)
{
    size_t n = (dl->mask + 1) * 2;
    dl_entry_t **nb = msb__calloc(n, sizeof(void *));
    if (nb == NULL) {
        return; /* longer chains, still correct */
    }
    for (size_t i = 0; i <= dl->mask; i++) {
        dl_entry_t *e = dl->buckets[i];
        while (e != NULL) {
            dl_entry_t *next = e->hnext;
            e->hnext = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    msb__free(dl->buckets);
    dl->buckets = nb;
    dl->mask = n - 1;
}

dl_entry_t *msb__dl_get(msb_dataloader_t *dl, const void *key, size_t key_len, bool *fresh)
{
    uint64_t hash = msb__hash(key, key_len);
    dl->stats.loads++;
    dl_entry_t *e = msb__dl_find(dl, hash, key, key_len);
    if (e != NULL) {
        *fresh = false;
        dl->stats.deduped++;
        return e;
    }
    e = msb__calloc(1, sizeof(*e) + key_len + 1);
    if (e == NULL) {
        dl->stats.loads--;
        return NULL;
    }
    e->hash = hash;
    e->key_len = key_len;
    memcpy(e->key, key, key_len);
    e->state = ST_PENDING;
    e->hnext = dl->buckets[hash & dl->mask];
    dl->buckets[hash & dl->mask] = e;
    dl->count++;
    if (dl->count > dl->mask + 1) {
        grow(dl);
    }
    if (dl->queue_tail != NULL) {
        dl->queue_tail->qnext = e;
    } else {
        dl->queue_head = e;
    }
    dl->queue_tail = e;
    dl->queued++;
    *fresh = true;
    return e;
}

void msb__dl_entry_free(dl_entry_t *e)
{
    msb_cache_value_release(e->value);
    msb__free(e);
}

void msb__dl_remove(msb_dataloader_t *dl, dl_entry_t *e)
{
    dl_entry_t **pp = &dl->buckets[e->hash & dl->mask];
    while (*pp != NULL && *pp != e) {
        pp = &(*pp)->hnext;
    }
    if (*pp == e) {
        *pp = e->hnext;
        dl->count--;
    }
    msb__dl_entry_free(e);
}

void msb__dl_release(msb_dataloader_t *dl, dl_entry_t *e)
{
    if (e->state == ST_DONE && e->holders == 0 && e->waiters == NULL && !dl->cache) {
        msb__dl_remove(dl, e);
    }
}

msb_dataloader_batch_t *msb__dl_take(msb_dataloader_t *dl)
{
    if (dl->queue_head == NULL) {
        return NULL;
    }
    size_t n = dl->queued < dl->max_batch ? dl->queued : dl->max_batch;
    msb_dataloader_batch_t *b = msb__malloc(sizeof(*b) + n * sizeof(void *));
    if (b == NULL) {
        return NULL;
    }
    b->dl = dl;
    b->n = n;
    for (size_t i = 0; i < n; i++) {
        dl_entry_t *e = dl->queue_head;
        dl->queue_head = e->qnext;
        e->qnext = NULL;
        e->state = ST_INFLIGHT;
        b->entries[i] = e;
    }
    if (dl->queue_head == NULL) {
        dl->queue_tail = NULL;
    }
    dl->queued -= n;
    dl->inflight++;
    dl->stats.batches++;
    dl->stats.keys += n;
    return b;
}

msb_status_t msb_dataloader_new(const msb_dataloader_opts_t *opts, msb_dataloader_t **out,
                                msb_error_t *err)
{
    msb_dataloader_opts_t o = MSB_DATALOADER_OPTS_INIT;
    if (opts != NULL) {
#define TAKE(f)                                                                                    \
    if (MSB_OPT_HAS(opts, f)) {                                                                    \
        o.f = opts->f;                                                                             \
    }
        TAKE(batch)
        TAKE(user)
        TAKE(max_batch)
        TAKE(cache)
        // NOLINTNEXTLINE(bugprone-sizeof-expression): the pointer field's own size
        TAKE(base)
        TAKE(window_ns)
#undef TAKE
    }
    if (out == NULL || o.batch == NULL) {
        return msb__err(err, MSB_EINVAL, "dataloader: a batch function and out are required");
    }
    if (o.max_batch == 0 || o.window_ns < 0) {
        return msb__err(err, MSB_EINVAL,
                        "dataloader: max_batch must be at least 1 and window_ns not negative");
    }
    msb_dataloader_t *dl = msb__calloc(1, sizeof(*dl));
    if (dl == NULL) {
        return msb__err_nomem(err, "a dataloader");
    }
    dl->buckets = msb__calloc(INITIAL_BUCKETS, sizeof(void *));
    if (dl->buckets == NULL) {
        msb__free(dl);
        return msb__err_nomem(err, "a dataloader");
    }
    dl->mask = INITIAL_BUCKETS - 1;
    dl->batch = o.batch;
    dl->user = o.user;
    dl->max_batch = o.max_batch;
    dl->cache = o.cache;
    dl->window_ns = o.window_ns;
    dl->base = o.base;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&dl->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        msb__free(dl->buckets);
        msb__free(dl);
        return msb__err_nomem(err, "a dataloader");
    }
    pthread_mutex_init(&dl->mu, NULL);
    if (dl->base != NULL) {
        msb_status_t st = msb__dl_loop_init(dl, err);
        if (st != MSB_OK) {
            pthread_cond_destroy(&dl->cv);
            pthread_mutex_destroy(&dl->mu);
            msb__free(dl->buckets);
            msb__free(dl);
            return st;
        }
    }
    *out = dl;
    return MSB_OK;
}

void msb_dataloader_free(msb_dataloader_t *dl)
{
    if (dl == NULL) {
        return;
    }
    if (dl->base != NULL) {
        msb__dl_loop_fini(dl);
    }
    for (size_t i = 0; i <= dl->mask; i++) {
        dl_entry_t *e = dl->buckets[i];
        while (e != NULL) {
            dl_entry_t *next = e->hnext;
            msb__dl_entry_free(e);
            e = next;
        }
    }
    msb__free(dl->buckets);
    pthread_cond_destroy(&dl->cv);
    pthread_mutex_destroy(&dl->mu);
    msb__free(dl);
}

/* ---- the batch function's side ------------------------------------------------------------ */

size_t msb_dataloader_batch_size(const msb_dataloader_batch_t *b)
{
    return b->n;
}

const void *msb_dataloader_batch_key(const msb_dataloader_batch_t *b, size_t i, size_t *len)
{
    if (i >= b->n) {
        if (len != NULL) {
            *len = 0;
        }
        return NULL;
    }
    if (len != NULL) {
        *len = b->entries[i]->key_len;
    }
    return b->entries[i]->key;
}

msb_status_t msb_dataloader_batch_set(msb_dataloader_batch_t *b, size_t i, const void *value,
                                      size_t len)
{
    if (i >= b->n || (value == NULL && len > 0)) {
        return MSB_EINVAL;
    }
    msb_cache_value_t *v = msb__cache_value_new(NULL, 0, value, len);
    if (v == NULL) {
        return MSB_ENOMEM;
    }
    dl_entry_t *e = b->entries[i];
    msb_cache_value_release(e->value);
    e->value = v;
    e->status = MSB_OK;
    e->answered = true;
    return MSB_OK;
}

msb_status_t msb_dataloader_batch_fail(msb_dataloader_batch_t *b, size_t i, msb_status_t status,
                                       const msb_error_t *err)
{
    if (i >= b->n || status == MSB_OK) {
        return MSB_EINVAL;
    }
    dl_entry_t *e = b->entries[i];
    msb_cache_value_release(e->value);
    e->value = NULL;
    e->status = status;
    e->answered = true;
    if (err != NULL && err->code != MSB_OK) {
        e->err = *err;
    } else {
        msb__err(&e->err, status, "dataloader: key failed: %s", msb_strerror(status));
    }
    return MSB_OK;
}

void msb_dataloader_batch_done(msb_dataloader_batch_t *b, msb_status_t status,
                               const msb_error_t *err)
{
    msb_dataloader_t *dl = b->dl;
    pthread_mutex_lock(&dl->mu);
    for (size_t i = 0; i < b->n; i++) {
        dl_entry_t *e = b->entries[i];
        if (!e->answered && status != MSB_OK) {
            e->status = status;
            if (err != NULL && err->code != MSB_OK) {
                e->err = *err;
            } else {
                msb__err(&e->err, status, "dataloader: batch failed: %s", msb_strerror(status));
            }
        } else if (!e->answered) {
            e->status = MSB_ENOTFOUND;
        }
        e->state = ST_DONE;
        if (dl->base != NULL) {
            msb__dl_loop_ready(dl, e);
        }
    }
    dl->inflight--;
    pthread_cond_broadcast(&dl->cv);
    if (dl->base == NULL) {
        for (size_t i = 0; i < b->n; i++) {
            msb__dl_release(dl, b->entries[i]);
        }
    }
    pthread_mutex_unlock(&dl->mu);
    msb__free(b);
}

/* ---- remembered results --------------------------------------------------------------------- */

void msb_dataloader_clear(msb_dataloader_t *dl, const void *key, size_t key_len)
{
    if (key == NULL || key_len == 0) {
        return;
    }
    pthread_mutex_lock(&dl->mu);
    dl_entry_t *e = msb__dl_find(dl, msb__hash(key, key_len), key, key_len);
    if (e != NULL && e->state == ST_DONE && e->holders == 0 && e->waiters == NULL) {
        msb__dl_remove(dl, e);
    }
    pthread_mutex_unlock(&dl->mu);
}

void msb_dataloader_clear_all(msb_dataloader_t *dl)
{
    pthread_mutex_lock(&dl->mu);
    for (size_t i = 0; i <= dl->mask; i++) {
        dl_entry_t **pp = &dl->buckets[i];
        while (*pp != NULL) {
            dl_entry_t *e = *pp;
            if (e->state == ST_DONE && e->holders == 0 && e->waiters == NULL) {
                *pp = e->hnext;
                dl->count--;
                msb__dl_entry_free(e);
            } else {
                pp = &e->hnext;
            }
        }
    }
    pthread_mutex_unlock(&dl->mu);
}

msb_status_t msb_dataloader_prime(msb_dataloader_t *dl, const void *key, size_t key_len,
                                  const void *value, size_t len)
{
    if (key == NULL || key_len == 0 || (value == NULL && len > 0)) {
        return MSB_EINVAL;
    }
    if (!dl->cache) {
        return MSB_OK;
    }
    msb_cache_value_t *v = msb__cache_value_new(NULL, 0, value, len);
    if (v == NULL) {
        return MSB_ENOMEM;
    }
    msb_status_t rc = MSB_OK;
    pthread_mutex_lock(&dl->mu);
    uint64_t hash = msb__hash(key, key_len);
    if (msb__dl_find(dl, hash, key, key_len) == NULL) {
        dl_entry_t *e = msb__calloc(1, sizeof(*e) + key_len + 1);
        if (e == NULL) {
            rc = MSB_ENOMEM;
        } else {
            e->hash = hash;
            e->key_len = key_len;
            memcpy(e->key, key, key_len);
            e->state = ST_DONE;
            e->status = MSB_OK;
            e->value = v;
            v = NULL;
            e->hnext = dl->buckets[hash & dl->mask];
            dl->buckets[hash & dl->mask] = e;
            dl->count++;
        }
    }
    pthread_mutex_unlock(&dl->mu);
    msb_cache_value_release(v);
    return rc;
}

void msb_dataloader_stats(msb_dataloader_t *dl, msb_dataloader_stats_t *out)
{
    pthread_mutex_lock(&dl->mu);
    *out = dl->stats;
    pthread_mutex_unlock(&dl->mu);
}

void msb__dl_fail_pending(msb_dataloader_t *dl, msb_status_t status)
{
    while (dl->queue_head != NULL) {
        dl_entry_t *e = dl->queue_head;
        dl->queue_head = e->qnext;
        e->qnext = NULL;
        e->state = ST_DONE;
        e->status = status;
        msb__err(&e->err, status, "dataloader: out of memory making a batch");
        if (dl->base != NULL) {
            msb__dl_loop_ready(dl, e);
        }
    }
    dl->queue_tail = NULL;
    dl->queued = 0;
    pthread_cond_broadcast(&dl->cv);
}
