/*
 * TSan stress: many threads create spans (children of active spans, attributes, events) while the
 * batch processor's thread exports them and another thread flushes; spans are also ended on other
 * threads than the one that started them (the pools move spans between threads). The totals must
 * add up exactly: every sampled span is exported or counted as dropped.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "msb/trace.h"

#define THREADS     6
#define PER_THREAD  20000
#define HANDOFF_CAP 64

static _Atomic uint64_t exported_spans;
static _Atomic int stop_flush;
static int passed;
static int failed;

static void check(bool ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAILED: %s\n", what);
    }
}

static msb_status_t count(void *user, const char *json, size_t len, const msb_span_t *const *spans,
                          size_t n)
{
    (void)user;
    (void)spans;
    if (len == 0 || json[0] != '{') {
        return MSB_EPROTO;
    }
    atomic_fetch_add(&exported_spans, n);
    return MSB_OK;
}

typedef struct handoff {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    msb_span_t *items[HANDOFF_CAP];
    int n;
    bool done;
} handoff_t;

static handoff_t hand = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, false};

static void give(msb_span_t *s)
{
    pthread_mutex_lock(&hand.lock);
    while (hand.n == HANDOFF_CAP) {
        pthread_cond_wait(&hand.cond, &hand.lock);
    }
    hand.items[hand.n++] = s;
    pthread_cond_broadcast(&hand.cond);
    pthread_mutex_unlock(&hand.lock);
}

static void *ender(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&hand.lock);
        while (hand.n == 0 && !hand.done) {
            pthread_cond_wait(&hand.cond, &hand.lock);
        }
        if (hand.n == 0 && hand.done) {
            pthread_mutex_unlock(&hand.lock);
            return NULL;
        }
        msb_span_t *s = hand.items[--hand.n];
        pthread_cond_broadcast(&hand.cond);
        pthread_mutex_unlock(&hand.lock);
        msb_span_set_str(s, "ended.by", "another thread");
        msb_span_end(s);
    }
}

static void *worker(void *arg)
{
    msb_tracer_t *t = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        msb_span_t *root = msb_span_start(t, "request", NULL);
        msb_span_activate(root);
        msb_span_t *child = msb_span_start(t, "db.query", NULL);
        msb_span_set_str(child, "db.system", "postgresql");
        msb_span_set_int(child, "row", i);
        msb_span_add_event(child, "fetched", NULL, 0, 0);
        if (i % 50 == 0) {
            give(child); /* ended on the ender thread */
        } else {
            msb_span_end(child);
        }
        msb_span_end(root);
        if (msb_trace_current() != NULL) {
            fprintf(stderr, "current span left behind\n");
        }
    }
    return NULL;
}

static void *flusher(void *arg)
{
    msb_tracer_provider_t *p = arg;
    while (!atomic_load(&stop_flush)) {
        (void)msb_tracer_provider_flush(p, 50);
    }
    return NULL;
}

int main(void)
{
    msb_span_exporter_t *exp = NULL;
    check(msb_trace_exporter_new(count, NULL, &exp) == MSB_OK, "exporter");
    msb_trace_batch_opts_t bo = MSB_TRACE_BATCH_OPTS_INIT;
    bo.max_queue_size = 256;
    bo.max_export_batch_size = 64;
    bo.schedule_delay_ms = 5;
    msb_span_processor_t *proc = NULL;
    check(msb_trace_batch_processor_new(&bo, exp, &proc, NULL) == MSB_OK, "processor");
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "stress";
    o.processor = proc;
    msb_tracer_provider_t *p = NULL;
    check(msb_tracer_provider_new(&o, &p, NULL) == MSB_OK, "provider");
    msb_tracer_t *t = msb_tracer_provider_tracer(p, "stress", NULL);
    pthread_t w[THREADS];
    pthread_t e;
    pthread_t f;
    pthread_create(&e, NULL, ender, NULL);
    pthread_create(&f, NULL, flusher, p);
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&w[i], NULL, worker, t);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(w[i], NULL);
    }
    pthread_mutex_lock(&hand.lock);
    hand.done = true;
    pthread_cond_broadcast(&hand.cond);
    pthread_mutex_unlock(&hand.lock);
    pthread_join(e, NULL);
    atomic_store(&stop_flush, 1);
    pthread_join(f, NULL);
    check(msb_tracer_provider_flush(p, 10000) == MSB_OK, "final flush");
    uint64_t total = (uint64_t)THREADS * PER_THREAD * 2;
    uint64_t exported = msb_span_processor_exported(proc);
    uint64_t dropped = msb_span_processor_dropped(proc);
    uint64_t fails = msb_span_processor_failed(proc);
    printf("spans %llu: exported %llu, dropped %llu, failed %llu\n", (unsigned long long)total,
           (unsigned long long)exported, (unsigned long long)dropped, (unsigned long long)fails);
    check(exported + dropped == total, "exported + dropped == spans ended");
    check(fails == 0, "no export failed");
    check(atomic_load(&exported_spans) == exported, "the exporter saw every exported span");
    check(exported > 0, "something was exported");
    msb_tracer_provider_free(p);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
