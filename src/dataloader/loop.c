/*
 * The batch loader's loop mode. The first key queued arms a zero-delay timer: it fires in the
 * next loop iteration, after every callback of the current one had the chance to request its
 * keys, and sends them. Results reach requesters from an event of our own, never inside
 * msb_dataloader_load() or the batch function.
 */
#include <event2/event.h>

#include "cache/internal.h"
#include "core/alloc.h"
#include "core/error.h"
#include "dataloader/internal.h"

void msb__dl_loop_ready(msb_dataloader_t *dl, dl_entry_t *e)
{
    if (e->on_ready) {
        return;
    }
    e->on_ready = true;
    e->qnext = dl->ready;
    dl->ready = e;
    event_active(dl->deliver_ev, EV_TIMEOUT, 0);
}

static void deliver_entry(msb_dataloader_t *dl, dl_entry_t *e)
{
    waiter_t *w = e->waiters;
    e->waiters = NULL;
    e->on_ready = false;
    e->qnext = NULL;
    /* The entry stays alive while its callbacks run: a callback may clear it. */
    e->holders++;
    while (w != NULL) {
        waiter_t *next = w->next;
        const msb_error_t *err = e->status == MSB_OK || e->status == MSB_ENOTFOUND ? NULL : &e->err;
        w->cb(e->status, e->status == MSB_OK ? e->value : NULL, err, w->user);
        msb__free(w);
        w = next;
    }
    e->holders--;
    msb__dl_release(dl, e);
}

static void on_deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    msb_dataloader_t *dl = arg;
    while (dl->ready != NULL) {
        dl_entry_t *e = dl->ready;
        dl->ready = e->qnext;
        deliver_entry(dl, e);
    }
}

static void on_dispatch(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    msb_dataloader_dispatch(arg);
}

msb_status_t msb__dl_loop_init(msb_dataloader_t *dl, msb_error_t *err)
{
    dl->dispatch_ev = evtimer_new(dl->base, on_dispatch, dl);
    dl->deliver_ev = event_new(dl->base, -1, 0, on_deliver, dl);
    if (dl->dispatch_ev == NULL || dl->deliver_ev == NULL) {
        msb__dl_loop_fini(dl);
        return msb__err_nomem(err, "dataloader events");
    }
    return MSB_OK;
}

void msb__dl_loop_fini(msb_dataloader_t *dl)
{
    msb_error_t e = MSB_ERROR_INIT;
    msb__err(&e, MSB_ECANCELED, "dataloader: freed before the key was loaded");
    for (size_t i = 0; i <= dl->mask && dl->buckets != NULL; i++) {
        for (dl_entry_t *x = dl->buckets[i]; x != NULL; x = x->hnext) {
            waiter_t *w = x->waiters;
            x->waiters = NULL;
            while (w != NULL) {
                waiter_t *next = w->next;
                bool done = x->state == ST_DONE;
                w->cb(done ? x->status : MSB_ECANCELED,
                      done && x->status == MSB_OK ? x->value : NULL,
                      done ? (x->status == MSB_OK || x->status == MSB_ENOTFOUND ? NULL : &x->err)
                           : &e,
                      w->user);
                msb__free(w);
                w = next;
            }
        }
    }
    if (dl->dispatch_ev != NULL) {
        event_free(dl->dispatch_ev);
        dl->dispatch_ev = NULL;
    }
    if (dl->deliver_ev != NULL) {
        event_free(dl->deliver_ev);
        dl->deliver_ev = NULL;
    }
}

msb_status_t msb_dataloader_load(msb_dataloader_t *dl, const void *key, size_t key_len,
                                 msb_dataloader_cb cb, void *user, msb_error_t *err)
{
    if (dl == NULL || dl->base == NULL || key == NULL || key_len == 0 || cb == NULL) {
        return msb__err(err, MSB_EINVAL,
                        "dataloader: load needs a loop-mode loader, a key and a callback");
    }
    waiter_t *w = msb__malloc(sizeof(*w));
    if (w == NULL) {
        return msb__err_nomem(err, "a dataloader request");
    }
    w->cb = cb;
    w->user = user;
    pthread_mutex_lock(&dl->mu);
    bool fresh = false;
    dl_entry_t *e = msb__dl_get(dl, key, key_len, &fresh);
    if (e == NULL) {
        pthread_mutex_unlock(&dl->mu);
        msb__free(w);
        return msb__err_nomem(err, "a dataloader key");
    }
    w->next = e->waiters;
    e->waiters = w;
    if (e->state == ST_DONE) {
        msb__dl_loop_ready(dl, e);
    } else if (fresh && !evtimer_pending(dl->dispatch_ev, NULL)) {
        struct timeval now = {0, 0};
        evtimer_add(dl->dispatch_ev, &now);
    }
    pthread_mutex_unlock(&dl->mu);
    return MSB_OK;
}

void msb_dataloader_dispatch(msb_dataloader_t *dl)
{
    pthread_mutex_lock(&dl->mu);
    while (dl->queue_head != NULL) {
        msb_dataloader_batch_t *b = msb__dl_take(dl);
        if (b == NULL) {
            msb__dl_fail_pending(dl, MSB_ENOMEM);
            break;
        }
        pthread_mutex_unlock(&dl->mu);
        dl->batch(dl->user, b);
        pthread_mutex_lock(&dl->mu);
    }
    pthread_mutex_unlock(&dl->mu);
}
