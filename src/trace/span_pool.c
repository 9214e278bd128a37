/*
 * Where spans live: a free list per thread, refilled from and spilled to one shared pool.
 *
 * A thread that starts and ends spans itself (the common case, and the case of spans that are
 * dropped or not sampled) recycles them through its own list without a lock or an allocation.
 * Spans exported by the batch processor are released on its thread; they spill to the shared
 * pool in groups, from which producing threads refill in groups, so the lock is taken once per
 * MSB__POOL_BATCH spans at most. A thread's list goes back to the shared pool when it exits.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "trace/internal.h"

#define MSB__POOL_BATCH      32
#define MSB__POOL_LOCAL_MAX  128
#define MSB__POOL_SHARED_MAX 8192

typedef struct trace_tls {
    msb_span_t *current;
    msb_span_t *free;
    uint32_t nfree;
    bool registered;
    char hex[2][33];
} trace_tls_t;

static _Thread_local trace_tls_t tls;

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static msb_span_t *shared_free;
static size_t shared_count;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static bool exit_key_ok;

static void spill(msb_span_t *list, uint32_t n);

static void on_thread_exit(void *arg)
{
    trace_tls_t *t = arg;
    msb_span_t *list = t->free;
    uint32_t n = t->nfree;
    t->free = NULL;
    t->nfree = 0;
    spill(list, n);
}

static void make_exit_key(void)
{
    exit_key_ok = pthread_key_create(&exit_key, on_thread_exit) == 0;
}

/* Give n spans (a list) to the shared pool; beyond its cap they are freed. */
static void spill(msb_span_t *list, uint32_t n)
{
    if (list == NULL) {
        return;
    }
    pthread_mutex_lock(&shared_lock);
    while (list != NULL && shared_count < MSB__POOL_SHARED_MAX) {
        msb_span_t *next = list->next;
        list->next = shared_free;
        shared_free = list;
        shared_count++;
        list = next;
    }
    pthread_mutex_unlock(&shared_lock);
    MSB_UNUSED(n);
    while (list != NULL) {
        msb_span_t *next = list->next;
        msb__free(list);
        list = next;
    }
}

static void register_tls(void)
{
    if (!tls.registered) {
        pthread_once(&exit_once, make_exit_key);
        if (exit_key_ok) {
            pthread_setspecific(exit_key, &tls);
        }
        tls.registered = true;
    }
}

static void refill(void)
{
    register_tls();
    pthread_mutex_lock(&shared_lock);
    while (shared_free != NULL && tls.nfree < MSB__POOL_BATCH) {
        msb_span_t *s = shared_free;
        shared_free = s->next;
        shared_count--;
        s->next = tls.free;
        tls.free = s;
        tls.nfree++;
    }
    pthread_mutex_unlock(&shared_lock);
}

msb_span_t *msb__span_alloc(void)
{
    if (MSB_UNLIKELY(tls.free == NULL)) {
        refill();
        if (tls.free == NULL) {
            return msb__malloc(sizeof(msb_span_t));
        }
    }
    msb_span_t *s = tls.free;
    tls.free = s->next;
    tls.nfree--;
    return s;
}

static void span_clear_heap(msb_span_t *s)
{
    if (s->chunks != NULL) {
        msb__chunks_free(s->chunks);
    }
    if (s->attrs.items != s->inline_attrs) {
        msb__free(s->attrs.items);
    }
    msb__free(s->events);
    msb__free(s->links);
}

void msb__span_release(msb_span_t *s)
{
    if (s == NULL || s->noop) {
        return;
    }
    span_clear_heap(s);
    if (MSB_UNLIKELY(!tls.registered)) {
        register_tls(); /* a thread that only releases (an exporter) returns its list at exit */
    }
    s->next = tls.free;
    tls.free = s;
    tls.nfree++;
    if (MSB_UNLIKELY(tls.nfree > MSB__POOL_LOCAL_MAX)) {
        /* Keep half; hand the rest to the shared pool for the threads that start spans. */
        msb_span_t *keep = tls.free;
        for (uint32_t i = 1; i < MSB__POOL_LOCAL_MAX / 2; i++) {
            keep = keep->next;
        }
        msb_span_t *rest = keep->next;
        keep->next = NULL;
        uint32_t n = tls.nfree - MSB__POOL_LOCAL_MAX / 2;
        tls.nfree = MSB__POOL_LOCAL_MAX / 2;
        spill(rest, n);
    }
}

void msb__trace_pool_drain(void)
{
    msb_span_t *list = tls.free;
    tls.free = NULL;
    tls.nfree = 0;
    while (list != NULL) {
        msb_span_t *next = list->next;
        msb__free(list);
        list = next;
    }
    pthread_mutex_lock(&shared_lock);
    list = shared_free;
    shared_free = NULL;
    shared_count = 0;
    pthread_mutex_unlock(&shared_lock);
    while (list != NULL) {
        msb_span_t *next = list->next;
        msb__free(list);
        list = next;
    }
}

msb_span_t **msb__trace_current_slot(void)
{
    return &tls.current;
}

char *msb__trace_tls_hex(size_t which)
{
    return tls.hex[which & 1];
}
