/* The cache on an event loop: shared by loop.c (handle, get/set/delete) and loop_load.c. */
#ifndef MSB_CACHE_LOOP_INTERNAL_H
#define MSB_CACHE_LOOP_INTERNAL_H

#include <event2/event.h>

#include "cache/internal.h"

typedef struct lflight lflight_t;

typedef enum op_kind { OP_GET, OP_SET, OP_DEL, OP_LOAD } op_kind_t;

/* One asynchronous operation, from its call to its callback. */
typedef struct op {
    struct op *next;  /* the done queue, or a flight's waiters */
    struct op *pprev; /* the pending list */
    struct op *pnext;
    msb_cache_loop_t *loop;
    op_kind_t kind;
    msb_cache_get_cb gcb;
    msb_cache_done_cb dcb;
    void *user;
    msb_status_t status;
    msb_error_t err;
    msb_cache_value_t *value;
    msb__l1_state_t state;
    uint64_t hash;
    uint64_t epoch;
    msb__cache_ttl_t ttl;
    bool in_driver; /* the backend owes a completion */
    bool slot;      /* allocated with room for OP_KEY_SLOT key bytes: reusable */
    size_t key_len;
    char key[];
} op_t;

#define LFLIGHT_BUCKETS 64
#define OP_KEY_SLOT     48 /* keys up to this long use recycled operations */
#define OP_SPARE_MAX    1024

struct msb_cache_loop {
    msb_cache_t *cache;
    struct event_base *base;
    void *conn; /* the backend's connection on this loop, or NULL */
    struct event *done_ev;
    op_t *done_head;
    op_t *done_tail;
    op_t *pending; /* every op not yet delivered */
    op_t *spare;   /* finished operations kept for reuse (linked by next) */
    unsigned nspare;
    lflight_t *flights[LFLIGHT_BUCKETS];
    int depth;
    bool freeing;
};

/* A load in flight on one loop: its waiters and the fill its loader completes. */
struct lflight {
    lflight_t *next;
    msb_cache_loop_t *loop; /* NULL once the loop is gone (the loader still owes fill_done) */
    uint64_t hash;
    uint64_t epoch;
    op_t *waiters;
    msb_cache_async_load_fn load;
    void *load_user;
    msb_cache_value_t *stale; /* served if the load fails */
    msb_cache_fill_t fill;
    bool loading; /* the loader was called and has not called fill_done */
    size_t key_len;
    char key[];
};

MSB_INTERNAL op_t *msb__cache_op_new(msb_cache_loop_t *l, op_kind_t kind, const void *key,
                                     size_t key_len);
/* Queue the op's callback (status/value/err already set) to run from the loop. */
MSB_INTERNAL void msb__cache_op_complete(op_t *o, msb_status_t status);
MSB_INTERNAL void msb__cache_op_drop(op_t *o);
/* Run the op's callback now: for completions that come from the loop (a backend's reply),
 * never from inside the call that started the op. */
MSB_INTERNAL void msb__cache_op_finish_now(op_t *o, msb_status_t status);
/* Start a get_or_load (loop_load.c). */
MSB_INTERNAL msb_status_t msb__cache_loop_load(msb_cache_loop_t *l, op_t *o,
                                               msb_cache_async_load_fn load, void *load_user,
                                               msb_error_t *err);
/* The loop handle is going: waiters complete with MSB_ECANCELED, flights forget the loop. */
MSB_INTERNAL void msb__cache_loop_flights_cancel(msb_cache_loop_t *l);
/* The backend's read into an op (decode into value/state). */
MSB_INTERNAL void msb__cache_op_bytes(void *user, size_t index, const void *data, size_t len);

#endif
