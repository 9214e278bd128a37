/*
 * The batch loader's blocking mode. The first thread to queue a key while no window is open
 * waits out the window (or until max_batch keys are queued), then sends every queued key, in
 * batches of max_batch, from its own thread. Other threads wait on the condition variable for
 * their keys' results.
 */
#include <errno.h>
#include <time.h>

#include "cache/internal.h"
#include "core/alloc.h"
#include "core/error.h"
#include "dataloader/internal.h"

/* Send every queued key (lock held on entry and exit; released around each batch call). */
static void run_batches(msb_dataloader_t *dl)
{
    while (dl->queue_head != NULL) {
        msb_dataloader_batch_t *b = msb__dl_take(dl);
        if (b == NULL) {
            msb__dl_fail_pending(dl, MSB_ENOMEM);
            return;
        }
        pthread_mutex_unlock(&dl->mu);
        dl->batch(dl->user, b);
        pthread_mutex_lock(&dl->mu);
    }
}

static struct timespec deadline(int64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t t = (int64_t)ts.tv_nsec + ns % MSB_SEC;
    ts.tv_sec += (time_t)(ns / MSB_SEC + t / MSB_SEC);
    ts.tv_nsec = (long)(t % MSB_SEC);
    return ts;
}

/* A key was queued: send now, open a window, or leave it to the window's owner. */
static void schedule(msb_dataloader_t *dl)
{
    if (dl->queued >= dl->max_batch || dl->window_ns == 0) {
        run_batches(dl);
        return;
    }
    if (dl->window_open) {
        return;
    }
    dl->window_open = true;
    struct timespec until = deadline(dl->window_ns);
    while (dl->queued > 0 && dl->queued < dl->max_batch) {
        if (pthread_cond_timedwait(&dl->cv, &dl->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    dl->window_open = false;
    run_batches(dl);
}

static msb_status_t result(dl_entry_t *e, msb_cache_value_t **out, msb_error_t *err)
{
    if (e->status == MSB_OK) {
        *out = msb_cache_value_retain(e->value);
    } else if (e->status != MSB_ENOTFOUND && err != NULL) {
        *err = e->err;
    }
    return e->status;
}

msb_status_t msb_dataloader_load_wait(msb_dataloader_t *dl, const void *key, size_t key_len,
                                      msb_cache_value_t **out, msb_error_t *err)
{
    if (dl == NULL || dl->base != NULL || key == NULL || key_len == 0 || out == NULL) {
        return msb__err(err, MSB_EINVAL,
                        "dataloader: load_wait needs a blocking-mode loader, a key and out");
    }
    *out = NULL;
    pthread_mutex_lock(&dl->mu);
    bool fresh = false;
    dl_entry_t *e = msb__dl_get(dl, key, key_len, &fresh);
    if (e == NULL) {
        pthread_mutex_unlock(&dl->mu);
        return msb__err_nomem(err, "a dataloader key");
    }
    e->holders++;
    if (fresh) {
        if (dl->queued >= dl->max_batch) {
            pthread_cond_broadcast(&dl->cv); /* the window's owner may send now */
        }
        schedule(dl);
    }
    while (e->state != ST_DONE) {
        pthread_cond_wait(&dl->cv, &dl->mu);
    }
    msb_status_t rc = result(e, out, err);
    e->holders--;
    msb__dl_release(dl, e);
    pthread_mutex_unlock(&dl->mu);
    return rc;
}

msb_status_t msb_dataloader_load_many(msb_dataloader_t *dl, size_t n, const void *const *keys,
                                      const size_t *key_lens, msb_cache_value_t **out,
                                      msb_status_t *statuses, msb_error_t *err)
{
    if (dl == NULL || dl->base != NULL ||
        (n > 0 && (keys == NULL || key_lens == NULL || out == NULL))) {
        return msb__err(err, MSB_EINVAL,
                        "dataloader: load_many needs a blocking-mode loader, keys and out");
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        if (keys[i] == NULL || key_lens[i] == 0) {
            return msb__err(err, MSB_EINVAL, "dataloader: key %zu is empty", i);
        }
    }
    dl_entry_t **es = msb__calloc(n + 1, sizeof(void *));
    if (es == NULL) {
        return msb__err_nomem(err, "a dataloader request");
    }
    msb_status_t rc = MSB_OK;
    pthread_mutex_lock(&dl->mu);
    for (size_t i = 0; i < n; i++) {
        bool fresh = false;
        es[i] = msb__dl_get(dl, keys[i], key_lens[i], &fresh);
        if (es[i] == NULL) {
            rc = msb__err_nomem(err, "a dataloader key");
            break;
        }
        es[i]->holders++;
    }
    run_batches(dl); /* what could be queued is sent, even after an allocation failure */
    for (size_t i = 0; i < n && es[i] != NULL; i++) {
        dl_entry_t *e = es[i];
        while (e->state != ST_DONE) {
            pthread_cond_wait(&dl->cv, &dl->mu);
        }
        msb_status_t st =
            rc != MSB_ENOMEM ? result(e, &out[i], rc == MSB_OK ? err : NULL) : MSB_ECANCELED;
        if (statuses != NULL) {
            statuses[i] = st;
        }
        if (rc == MSB_OK && st != MSB_OK && st != MSB_ENOTFOUND) {
            rc = st;
        }
        e->holders--;
        msb__dl_release(dl, e);
    }
    pthread_mutex_unlock(&dl->mu);
    msb__free(es);
    if (rc != MSB_OK && rc != MSB_ENOMEM) {
        return rc;
    }
    if (rc == MSB_ENOMEM) {
        for (size_t i = 0; i < n; i++) {
            msb_cache_value_release(out[i]);
            out[i] = NULL;
        }
    }
    return rc;
}
