/* Dispatch of ended spans, the custom and simple processors, and the custom exporter. */
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "trace/internal.h"

void msb__span_dispatch(msb_span_t *span)
{
    msb_span_processor_t *p = span->provider->processor;
    if (p == NULL) {
        msb__span_release(span);
        return;
    }
    p->on_end(p, span);
}

uint64_t msb__exporter_deadline(msb_span_exporter_t *e, uint64_t deadline)
{
    uint64_t c = atomic_load(&e->cancel_at);
    return c < deadline ? c : deadline;
}

uint64_t msb_span_processor_dropped(const msb_span_processor_t *p)
{
    return p != NULL ? atomic_load(&((msb_span_processor_t *)p)->dropped) : 0;
}

uint64_t msb_span_processor_exported(const msb_span_processor_t *p)
{
    return p != NULL ? atomic_load(&((msb_span_processor_t *)p)->exported) : 0;
}

uint64_t msb_span_processor_failed(const msb_span_processor_t *p)
{
    return p != NULL ? atomic_load(&((msb_span_processor_t *)p)->failed) : 0;
}

msb_status_t msb_span_processor_flush(msb_span_processor_t *p, uint32_t timeout_ms)
{
    return p != NULL ? p->flush(p, timeout_ms) : MSB_OK;
}

void msb_span_processor_free(msb_span_processor_t *p, uint32_t timeout_ms)
{
    if (p != NULL) {
        p->shutdown(p, timeout_ms);
    }
}

void msb_span_exporter_free(msb_span_exporter_t *e)
{
    if (e != NULL) {
        e->destroy(e);
    }
}

/* ---- custom processor --------------------------------------------------------------------- */

typedef struct fn_processor {
    msb_span_processor_t base;
    msb_trace_on_end_fn fn;
    void *user;
} fn_processor_t;

static void fn_on_end(msb_span_processor_t *p, msb_span_t *span)
{
    fn_processor_t *f = (fn_processor_t *)p;
    f->fn(f->user, span);
    msb__span_release(span);
}

static msb_status_t no_flush(msb_span_processor_t *p, uint32_t timeout_ms)
{
    MSB_UNUSED(p);
    MSB_UNUSED(timeout_ms);
    return MSB_OK;
}

static void fn_shutdown(msb_span_processor_t *p, uint32_t timeout_ms)
{
    MSB_UNUSED(timeout_ms);
    msb__free(p);
}

msb_status_t msb_trace_processor_new(msb_trace_on_end_fn fn, void *user, msb_span_processor_t **out)
{
    if (fn == NULL || out == NULL) {
        return MSB_EINVAL;
    }
    fn_processor_t *f = msb__calloc(1, sizeof(*f));
    if (f == NULL) {
        return MSB_ENOMEM;
    }
    f->base.on_end = fn_on_end;
    f->base.flush = no_flush;
    f->base.shutdown = fn_shutdown;
    f->fn = fn;
    f->user = user;
    *out = &f->base;
    return MSB_OK;
}

/* ---- simple processor: export on the ending thread ---------------------------------------- */

typedef struct simple_processor {
    msb_span_processor_t base;
    msb_span_exporter_t *exporter;
    pthread_mutex_t lock;
} simple_processor_t;

static void simple_on_end(msb_span_processor_t *p, msb_span_t *span)
{
    simple_processor_t *sp = (simple_processor_t *)p;
    if ((span->flags & MSB_TRACE_FLAG_SAMPLED) != 0) {
        uint64_t deadline = msb_clock_monotonic_ns(NULL) + 30 * (uint64_t)MSB_SEC;
        pthread_mutex_lock(&sp->lock);
        msb_status_t rc = sp->exporter->export_spans(sp->exporter, &span, 1, deadline, NULL);
        pthread_mutex_unlock(&sp->lock);
        atomic_fetch_add(rc == MSB_OK ? &p->exported : &p->failed, 1);
    }
    msb__span_release(span);
}

static void simple_shutdown(msb_span_processor_t *p, uint32_t timeout_ms)
{
    MSB_UNUSED(timeout_ms);
    simple_processor_t *sp = (simple_processor_t *)p;
    sp->exporter->destroy(sp->exporter);
    pthread_mutex_destroy(&sp->lock);
    msb__free(sp);
}

msb_status_t msb_trace_simple_processor_new(msb_span_exporter_t *exporter,
                                            msb_span_processor_t **out)
{
    if (exporter == NULL || out == NULL) {
        return MSB_EINVAL;
    }
    simple_processor_t *sp = msb__calloc(1, sizeof(*sp));
    if (sp == NULL) {
        return MSB_ENOMEM;
    }
    sp->base.on_end = simple_on_end;
    sp->base.flush = no_flush;
    sp->base.shutdown = simple_shutdown;
    sp->exporter = exporter;
    pthread_mutex_init(&sp->lock, NULL);
    *out = &sp->base;
    return MSB_OK;
}

/* ---- custom exporter: OTLP JSON to a function --------------------------------------------- */

typedef struct fn_exporter {
    msb_span_exporter_t base;
    msb_trace_export_fn fn;
    void *user;
    msb__buf_t buf;
} fn_exporter_t;

static msb_status_t fn_export(msb_span_exporter_t *e, msb_span_t *const *spans, size_t n,
                              uint64_t deadline, msb_error_t *err)
{
    MSB_UNUSED(deadline);
    fn_exporter_t *f = (fn_exporter_t *)e;
    msb__buf_reset(&f->buf);
    msb__otlp_json_request(&f->buf, spans, n);
    if (msb__buf_status(&f->buf) != MSB_OK) {
        return msb__err_nomem(err, "an OTLP request");
    }
    msb_status_t rc = f->fn(f->user, f->buf.data, f->buf.len, (const msb_span_t *const *)spans, n);
    if (rc != MSB_OK) {
        return msb__err(err, rc, "trace: custom exporter failed: %s", msb_strerror(rc));
    }
    return MSB_OK;
}

static void fn_destroy(msb_span_exporter_t *e)
{
    fn_exporter_t *f = (fn_exporter_t *)e;
    msb__buf_free(&f->buf);
    msb__free(f);
}

msb_status_t msb_trace_exporter_new(msb_trace_export_fn fn, void *user, msb_span_exporter_t **out)
{
    if (fn == NULL || out == NULL) {
        return MSB_EINVAL;
    }
    fn_exporter_t *f = msb__calloc(1, sizeof(*f));
    if (f == NULL) {
        return MSB_ENOMEM;
    }
    f->base.export_spans = fn_export;
    f->base.destroy = fn_destroy;
    atomic_init(&f->base.cancel_at, UINT64_MAX);
    f->fn = fn;
    f->user = user;
    msb__buf_init(&f->buf, 0);
    *out = &f->base;
    return MSB_OK;
}
