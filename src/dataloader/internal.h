/* The batch loader's internals: entries (one per key), batches, and the loader. */
#ifndef MSB_DATALOADER_INTERNAL_H
#define MSB_DATALOADER_INTERNAL_H

#include <pthread.h>

#include "core/common.h"
#include "msb/dataloader.h"

typedef enum entry_state { ST_PENDING, ST_INFLIGHT, ST_DONE } entry_state_t;

/* A loop-mode requester waiting for an entry. */
typedef struct waiter {
    struct waiter *next;
    msb_dataloader_cb cb;
    void *user;
} waiter_t;

typedef struct dl_entry {
    struct dl_entry *hnext; /* the table */
    struct dl_entry *qnext; /* the pending queue */
    uint64_t hash;
    entry_state_t state;
    msb_status_t status;
    msb_cache_value_t *value;
    msb_error_t err;
    bool answered;    /* set or failed by the batch */
    bool on_ready;    /* loop mode: on the ready list */
    unsigned holders; /* blocking callers waiting on it, and the loop's ready list */
    waiter_t *waiters;
    size_t key_len;
    char key[];
} dl_entry_t;

struct msb_dataloader_batch {
    msb_dataloader_t *dl;
    size_t n;
    dl_entry_t *entries[];
};

struct msb_dataloader {
    msb_dataloader_batch_fn batch;
    void *user;
    size_t max_batch;
    bool cache;
    int64_t window_ns;
    struct event_base *base;
    struct event *dispatch_ev; /* loop mode: next iteration */
    struct event *deliver_ev;  /* loop mode: run callbacks */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    dl_entry_t **buckets;
    size_t mask;
    size_t count;
    dl_entry_t *queue_head; /* pending keys */
    dl_entry_t *queue_tail;
    size_t queued;
    bool window_open;  /* blocking mode: a thread is waiting out the window */
    dl_entry_t *ready; /* loop mode: entries done, callbacks to run (linked by qnext) */
    unsigned inflight; /* batches handed out and not done */
    msb_dataloader_stats_t stats;
};

MSB_INTERNAL dl_entry_t *msb__dl_find(msb_dataloader_t *dl, uint64_t hash, const void *key,
                                      size_t key_len);
/* Find or create (queued as pending); *fresh tells which. NULL: out of memory. */
MSB_INTERNAL dl_entry_t *msb__dl_get(msb_dataloader_t *dl, const void *key, size_t key_len,
                                     bool *fresh);
MSB_INTERNAL void msb__dl_remove(msb_dataloader_t *dl, dl_entry_t *e);
MSB_INTERNAL void msb__dl_entry_free(dl_entry_t *e);
/* Take up to max_batch pending entries as a batch (under the lock); NULL when none or no
 * memory (the entries stay pending). */
MSB_INTERNAL msb_dataloader_batch_t *msb__dl_take(msb_dataloader_t *dl);
/* The loop-mode half (loop.c): a batch finished, its entries are done. */
MSB_INTERNAL void msb__dl_loop_ready(msb_dataloader_t *dl, dl_entry_t *e);
MSB_INTERNAL msb_status_t msb__dl_loop_init(msb_dataloader_t *dl, msb_error_t *err);
MSB_INTERNAL void msb__dl_loop_fini(msb_dataloader_t *dl);
/* Answer every pending key with `status` (a batch could not be allocated). Under the lock. */
MSB_INTERNAL void msb__dl_fail_pending(msb_dataloader_t *dl, msb_status_t status);
/* An entry is no longer needed by anyone: drop it unless results are remembered. */
MSB_INTERNAL void msb__dl_release(msb_dataloader_t *dl, dl_entry_t *e);

#endif
