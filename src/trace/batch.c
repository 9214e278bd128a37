/*
 * The batch span processor.
 *
 * Ending threads put spans in a bounded multi-producer queue (Vyukov's array queue: one CAS per
 * span, no lock); one background thread takes them out in batches and calls the exporter. When
 * the queue holds max_queue_size spans, a new span is dropped and counted: the ending thread never
 * waits for the exporter, whatever the collector does. The mutex is taken by a producer only to
 * wake the thread when a full batch is waiting (once per max_export_batch_size spans).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/error.h"
#include "trace/internal.h"

typedef struct cell {
    _Atomic size_t seq;
    msb_span_t *span;
} cell_t;

/* The three counters sit on their own cache lines (producers and the consumer write them): the
 * padding is the point. */
typedef struct batch { // NOLINT(clang-analyzer-optin.performance.Padding)
    msb_span_processor_t base;
    msb_span_exporter_t *exporter;
    uint32_t max_queue;
    uint32_t batch_size;
    uint64_t delay_ns;
    uint64_t export_timeout_ns;
    cell_t *cells;
    size_t mask;
    _Alignas(MSB_CACHELINE) _Atomic size_t enqueue_pos;
    _Alignas(MSB_CACHELINE) _Atomic size_t dequeue_pos;
    _Alignas(MSB_CACHELINE) _Atomic uint32_t queued;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t done;
    bool wake_flag;
    bool stop;
    uint64_t flush_req;
    uint64_t flush_done;
    uint64_t stop_deadline;
    msb_status_t last_status;
    msb_span_t **scratch;
    pthread_t thread;
} batch_t;

static bool enqueue(batch_t *b, msb_span_t *span)
{
    size_t pos = atomic_load_explicit(&b->enqueue_pos, memory_order_relaxed);
    for (;;) {
        cell_t *c = &b->cells[pos & b->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)pos;
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&b->enqueue_pos, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed)) {
                c->span = span;
                atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
                return true;
            }
        } else if (dif < 0) {
            return false;
        } else {
            pos = atomic_load_explicit(&b->enqueue_pos, memory_order_relaxed);
        }
    }
}

static msb_span_t *dequeue(batch_t *b)
{
    size_t pos = atomic_load_explicit(&b->dequeue_pos, memory_order_relaxed);
    cell_t *c = &b->cells[pos & b->mask];
    size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    if ((intptr_t)seq - (intptr_t)(pos + 1) < 0) {
        return NULL; /* empty (single consumer: no CAS needed) */
    }
    msb_span_t *span = c->span;
    atomic_store_explicit(&b->dequeue_pos, pos + 1, memory_order_relaxed);
    atomic_store_explicit(&c->seq, pos + b->mask + 1, memory_order_release);
    atomic_fetch_sub_explicit(&b->queued, 1, memory_order_relaxed);
    return span;
}

static void batch_on_end(msb_span_processor_t *p, msb_span_t *span)
{
    batch_t *b = (batch_t *)p;
    if ((span->flags & MSB_TRACE_FLAG_SAMPLED) == 0) {
        msb__span_release(span); /* recorded but not sampled: never exported */
        return;
    }
    uint32_t n = atomic_fetch_add_explicit(&b->queued, 1, memory_order_relaxed);
    if (n >= b->max_queue || !enqueue(b, span)) {
        atomic_fetch_sub_explicit(&b->queued, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->dropped, 1, memory_order_relaxed);
        msb__span_release(span);
        return;
    }
    if (n + 1 == b->batch_size) {
        pthread_mutex_lock(&b->lock);
        b->wake_flag = true;
        pthread_cond_signal(&b->wake);
        pthread_mutex_unlock(&b->lock);
    }
}

/* Export everything queued, batch by batch, each within its deadline. */
static void drain(batch_t *b, uint64_t hard_deadline)
{
    for (;;) {
        size_t n = 0;
        while (n < b->batch_size) {
            msb_span_t *s = dequeue(b);
            if (s == NULL) {
                break;
            }
            b->scratch[n++] = s;
        }
        if (n == 0) {
            return;
        }
        uint64_t deadline = msb_clock_monotonic_ns(NULL) + b->export_timeout_ns;
        if (hard_deadline < deadline) {
            deadline = hard_deadline;
        }
        msb_status_t rc = b->exporter->export_spans(b->exporter, b->scratch, n, deadline, NULL);
        atomic_fetch_add(rc == MSB_OK ? &b->base.exported : &b->base.failed, n);
        for (size_t i = 0; i < n; i++) {
            msb__span_release(b->scratch[i]);
        }
        pthread_mutex_lock(&b->lock);
        b->last_status = rc;
        pthread_mutex_unlock(&b->lock);
    }
}

static struct timespec abs_monotonic(uint64_t ns_from_now)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t = (uint64_t)ts.tv_sec * (uint64_t)MSB_SEC + (uint64_t)ts.tv_nsec + ns_from_now;
    ts.tv_sec = (time_t)(t / (uint64_t)MSB_SEC);
    ts.tv_nsec = (long)(t % (uint64_t)MSB_SEC);
    return ts;
}

static void *batch_thread(void *arg)
{
    batch_t *b = arg;
    pthread_mutex_lock(&b->lock);
    while (!b->stop) {
        if (!b->wake_flag && b->flush_req == b->flush_done &&
            atomic_load(&b->queued) < b->batch_size) {
            struct timespec ts = abs_monotonic(b->delay_ns);
            pthread_cond_timedwait(&b->wake, &b->lock, &ts);
        }
        if (b->stop) {
            break;
        }
        b->wake_flag = false;
        uint64_t req = b->flush_req;
        pthread_mutex_unlock(&b->lock);
        drain(b, UINT64_MAX);
        pthread_mutex_lock(&b->lock);
        b->flush_done = req;
        pthread_cond_broadcast(&b->done);
    }
    uint64_t deadline = b->stop_deadline;
    pthread_mutex_unlock(&b->lock);
    drain(b, deadline);
    pthread_mutex_lock(&b->lock);
    b->flush_done = b->flush_req;
    pthread_cond_broadcast(&b->done);
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

static msb_status_t batch_flush(msb_span_processor_t *p, uint32_t timeout_ms)
{
    batch_t *b = (batch_t *)p;
    struct timespec ts = abs_monotonic((uint64_t)timeout_ms * (uint64_t)MSB_MSEC);
    pthread_mutex_lock(&b->lock);
    uint64_t req = ++b->flush_req;
    pthread_cond_signal(&b->wake);
    int rc = 0;
    while (b->flush_done < req && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&b->done, &b->lock, &ts);
    }
    msb_status_t st = b->flush_done >= req ? b->last_status : MSB_ETIMEDOUT;
    pthread_mutex_unlock(&b->lock);
    return st;
}

static void batch_free_mem(batch_t *b)
{
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->wake);
    pthread_cond_destroy(&b->done);
    msb__free(b->cells);
    msb__free(b->scratch);
    msb__free(b);
}

static void batch_shutdown(msb_span_processor_t *p, uint32_t timeout_ms)
{
    batch_t *b = (batch_t *)p;
    uint64_t deadline = msb_clock_monotonic_ns(NULL) + (uint64_t)timeout_ms * (uint64_t)MSB_MSEC;
    pthread_mutex_lock(&b->lock);
    b->stop = true;
    b->stop_deadline = deadline;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->lock);
    /* An export in flight ends by the shutdown deadline too. */
    atomic_store(&b->exporter->cancel_at, deadline);
    pthread_join(b->thread, NULL);
    msb_span_t *s;
    while ((s = dequeue(b)) != NULL) {
        msb__span_release(s); /* only when the deadline cut the last drain short */
    }
    b->exporter->destroy(b->exporter);
    batch_free_mem(b);
}

static msb_status_t read_opts(batch_t *b, const msb_trace_batch_opts_t *o, msb_error_t *err)
{
    b->max_queue = MSB_OPT_HAS(o, max_queue_size) && o->max_queue_size ? o->max_queue_size : 2048;
    uint32_t delay =
        MSB_OPT_HAS(o, schedule_delay_ms) && o->schedule_delay_ms ? o->schedule_delay_ms : 5000;
    uint32_t timeout =
        MSB_OPT_HAS(o, export_timeout_ms) && o->export_timeout_ms ? o->export_timeout_ms : 30000;
    b->batch_size = MSB_OPT_HAS(o, max_export_batch_size) && o->max_export_batch_size
                        ? o->max_export_batch_size
                        : 512;
    if (b->max_queue > (1u << 24)) {
        return msb__err(err, MSB_EINVAL, "trace: max_queue_size %u is larger than 16777216",
                        b->max_queue);
    }
    if (b->batch_size > b->max_queue) {
        if (MSB_OPT_HAS(o, max_export_batch_size) && o->max_export_batch_size) {
            return msb__err(err, MSB_EINVAL,
                            "trace: max_export_batch_size %u is larger than max_queue_size %u",
                            b->batch_size, b->max_queue);
        }
        b->batch_size = b->max_queue;
    }
    b->delay_ns = (uint64_t)delay * (uint64_t)MSB_MSEC;
    b->export_timeout_ns = (uint64_t)timeout * (uint64_t)MSB_MSEC;
    return MSB_OK;
}

msb_status_t msb_trace_batch_processor_new(const msb_trace_batch_opts_t *opts,
                                           msb_span_exporter_t *exporter,
                                           msb_span_processor_t **out, msb_error_t *err)
{
    if (exporter == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "trace: exporter and out must not be NULL");
    }
    batch_t *b = msb__calloc(1, sizeof(*b));
    if (b == NULL) {
        return msb__err_nomem(err, "a batch processor");
    }
    msb_status_t rc = read_opts(b, opts, err);
    if (rc != MSB_OK) {
        msb__free(b);
        return rc;
    }
    size_t cap = 1;
    while (cap < b->max_queue) {
        cap <<= 1;
    }
    b->cells = msb__calloc(cap, sizeof(cell_t));
    b->scratch = msb__calloc(b->batch_size, sizeof(msb_span_t *));
    pthread_mutex_init(&b->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->wake, &ca);
    pthread_cond_init(&b->done, &ca);
    pthread_condattr_destroy(&ca);
    if (b->cells == NULL || b->scratch == NULL) {
        batch_free_mem(b);
        return msb__err_nomem(err, "the span queue");
    }
    b->mask = cap - 1;
    for (size_t i = 0; i < cap; i++) {
        atomic_init(&b->cells[i].seq, i);
    }
    b->exporter = exporter;
    b->base.on_end = batch_on_end;
    b->base.flush = batch_flush;
    b->base.shutdown = batch_shutdown;
    if (pthread_create(&b->thread, NULL, batch_thread, b) != 0) {
        batch_free_mem(b);
        return msb__err(err, MSB_EIO, "trace: cannot start the export thread");
    }
    *out = &b->base;
    return MSB_OK;
}
