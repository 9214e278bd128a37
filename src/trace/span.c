/* Span lifecycle: start (parent, ids, sampling), attributes, events, links, status, end. */
#include <string.h>

#include "core/alloc.h"
#include "trace/internal.h"

/* Returned when no span could be allocated: every call on it does nothing. */
static msb_span_t noop_span = {.noop = true, .name = {"", 0}, .status_msg = {"", 0}};

static void init_fields(msb_span_t *s, msb_tracer_t *t)
{
    s->tracer = t;
    s->provider = t->provider;
    s->prev_active = NULL;
    s->status = MSB_SPAN_UNSET;
    s->active = false;
    s->noop = false;
    s->end_ns = 0;
    s->name.p = "";
    s->name.len = 0;
    s->status_msg.p = "";
    s->status_msg.len = 0;
    s->tracestate.p = "";
    s->tracestate.len = 0;
    s->attrs.items = s->inline_attrs;
    s->attrs.n = 0;
    s->attrs.dropped = 0;
    s->attr_cap = MSB__SPAN_INLINE_ATTRS;
    s->events = NULL;
    s->nevents = 0;
    s->event_cap = 0;
    s->dropped_events = 0;
    s->links = NULL;
    s->nlinks = 0;
    s->link_cap = 0;
    s->dropped_links = 0;
    s->chunks = NULL;
    s->arena_used = 0;
}

/* Take the identity of an explicit (usually remote) parent context. */
static void inherit_ctx(msb_span_t *s, const msb_trace_ctx_t *pctx, const char **ts, size_t *ts_len)
{
    memcpy(s->trace_id, pctx->trace_id, 16);
    memcpy(s->parent_id, pctx->span_id, 8);
    s->flags = pctx->flags & MSB_TRACE_FLAG_RANDOM;
    s->parent_remote = pctx->remote;
    s->has_parent = true;
    *ts = pctx->tracestate;
    *ts_len = pctx->tracestate_len <= MSB_TRACESTATE_MAX ? pctx->tracestate_len : 0;
}

/* Take the identity of a local parent span. */
static void inherit_span(msb_span_t *s, const msb_span_t *pspan, const char **ts, size_t *ts_len)
{
    memcpy(s->trace_id, pspan->trace_id, 16);
    memcpy(s->parent_id, pspan->span_id, 8);
    s->flags = pspan->flags & MSB_TRACE_FLAG_RANDOM;
    s->parent_remote = false;
    s->has_parent = true;
    *ts = pspan->tracestate.p;
    *ts_len = pspan->tracestate.len;
}

/* The parent as a context, for the sampler (tracestate only when a custom sampler may read it). */
static void parent_ctx(const msb_span_t *pspan, msb_trace_ctx_t *out)
{
    memcpy(out->trace_id, pspan->trace_id, 16);
    memcpy(out->span_id, pspan->span_id, 8);
    out->flags = pspan->flags;
    out->remote = false;
    out->tracestate_len = 0;
}

static void set_start_attrs_links(msb_span_t *s, const msb_span_opts_t *o)
{
    if (MSB_OPT_HAS(o, nattrs) && o->attrs != NULL && o->nattrs > 0) {
        msb_span_set_attrs(s, o->attrs, o->nattrs);
    }
    if (MSB_OPT_HAS(o, nlinks) && o->links != NULL) {
        for (size_t i = 0; i < o->nlinks; i++) {
            msb_span_add_link(s, &o->links[i], NULL, 0);
        }
    }
}

msb_span_t *msb_span_start(msb_tracer_t *tracer, const char *name, const msb_span_opts_t *opts)
{
    if (tracer == NULL || tracer->provider == NULL) {
        return &noop_span;
    }
    msb_span_t *s = msb__span_alloc();
    if (MSB_UNLIKELY(s == NULL)) {
        return &noop_span;
    }
    msb_tracer_provider_t *p = tracer->provider;
    init_fields(s, tracer);
    const msb_span_opts_t *o = opts;
    /* MSB_OPT_HAS takes sizeof of the (pointer) field: intended */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    const msb_trace_ctx_t *pctx = MSB_OPT_HAS(o, parent) ? o->parent : NULL;
    const msb_span_t *pspan = NULL;
    if (pctx == NULL && !(MSB_OPT_HAS(o, root) && o->root)) {
        pspan = *msb__trace_current_slot();
    }
    msb_trace_ctx_t tmp;
    const msb_trace_ctx_t *sample_parent = NULL;
    const char *ts = NULL;
    size_t ts_len = 0;
    if (pctx != NULL && msb_trace_ctx_valid(pctx)) {
        inherit_ctx(s, pctx, &ts, &ts_len);
        sample_parent = pctx;
    } else if (pctx == NULL && pspan != NULL) {
        inherit_span(s, pspan, &ts, &ts_len);
        parent_ctx(pspan, &tmp);
        sample_parent = &tmp;
    } else {
        msb__new_trace_id(s->trace_id);
        s->flags = MSB_TRACE_FLAG_RANDOM;
        s->has_parent = false;
        s->parent_remote = false;
    }
    msb__new_span_id(s->span_id);
    s->kind = (uint8_t)(MSB_OPT_HAS(o, kind) && o->kind >= MSB_SPAN_INTERNAL &&
                                o->kind <= MSB_SPAN_CONSUMER
                            ? o->kind
                            : MSB_SPAN_INTERNAL);
    const msb_attr_t *attrs = MSB_OPT_HAS(o, nattrs) ? o->attrs : NULL;
    size_t nattrs = attrs != NULL ? o->nattrs : 0;
    const char *nm = name != NULL ? name : "span";
    msb_trace_decision_t d = msb__sample(&p->sampler, sample_parent, s->trace_id, nm,
                                         (msb_span_kind_t)s->kind, attrs, nattrs);
    s->recording = d != MSB_TRACE_DROP;
    if (d == MSB_TRACE_RECORD_AND_SAMPLE) {
        s->flags |= MSB_TRACE_FLAG_SAMPLED;
    }
    if (ts_len > 0) {
        msb__span_strdup(s, ts, ts_len, &s->tracestate);
    }
    int64_t start = MSB_OPT_HAS(o, start_ns) ? o->start_ns : 0;
    s->start_mono = start != 0 ? 0 : p->clock->monotonic_ns(p->clock);
    s->start_ns = start != 0 ? start : msb__provider_wall(p, s->start_mono);
    if (s->recording) {
        if (!msb__span_strdup(s, nm, strlen(nm), &s->name)) {
            s->name.p = "";
            s->name.len = 0;
        }
        if (o != NULL) {
            set_start_attrs_links(s, o);
        }
    }
    return s;
}

void msb_span_activate(msb_span_t *s)
{
    if (s == NULL || s->noop || s->active) {
        return;
    }
    msb_span_t **slot = msb__trace_current_slot();
    s->prev_active = *slot;
    *slot = s;
    s->active = true;
}

void msb_span_deactivate(msb_span_t *s)
{
    if (s == NULL || s->noop || !s->active) {
        return;
    }
    msb_span_t **slot = msb__trace_current_slot();
    if (*slot == s) {
        *slot = s->prev_active;
    } else {
        /* Ended out of order: unlink it from the middle of the stack. */
        for (msb_span_t *x = *slot; x != NULL; x = x->prev_active) {
            if (x->prev_active == s) {
                x->prev_active = s->prev_active;
                break;
            }
        }
    }
    s->prev_active = NULL;
    s->active = false;
}

msb_span_t *msb_trace_current(void)
{
    return *msb__trace_current_slot();
}

bool msb_trace_current_ctx(msb_trace_ctx_t *out)
{
    msb_span_t *s = *msb__trace_current_slot();
    if (s == NULL) {
        if (out != NULL) {
            memset(out, 0, offsetof(msb_trace_ctx_t, tracestate));
        }
        return false;
    }
    msb_span_get_ctx(s, out);
    return true;
}

void msb_span_end_at(msb_span_t *s, int64_t end_ns)
{
    if (s == NULL || s->noop) {
        return;
    }
    if (s->active) {
        msb_span_deactivate(s);
    }
    if (!s->recording) {
        msb__span_release(s);
        return;
    }
    s->end_ns = end_ns < s->start_ns ? s->start_ns : end_ns;
    msb__span_dispatch(s);
}

void msb_span_end(msb_span_t *s)
{
    if (s == NULL || s->noop) {
        return;
    }
    if (!s->recording) {
        msb_span_end_at(s, 0); /* not recorded: no need to read the clock */
        return;
    }
    msb_tracer_provider_t *p = s->provider;
    uint64_t mono = p->clock->monotonic_ns(p->clock);
    int64_t end;
    if (s->start_mono != 0 && mono >= s->start_mono) {
        end = s->start_ns + (int64_t)(mono - s->start_mono);
    } else {
        end = msb__provider_wall(p, mono);
    }
    msb_span_end_at(s, end);
}

bool msb_span_is_recording(const msb_span_t *s)
{
    return s != NULL && !s->noop && s->recording;
}

void msb_span_get_ctx(const msb_span_t *s, msb_trace_ctx_t *out)
{
    if (out == NULL) {
        return;
    }
    if (s == NULL || s->noop) {
        memset(out, 0, offsetof(msb_trace_ctx_t, tracestate));
        return;
    }
    memcpy(out->trace_id, s->trace_id, 16);
    memcpy(out->span_id, s->span_id, 8);
    out->flags = s->flags;
    out->remote = false;
    out->tracestate_len = (uint16_t)s->tracestate.len;
    if (s->tracestate.len > 0) {
        memcpy(out->tracestate, s->tracestate.p, s->tracestate.len);
    }
}

void msb_span_update_name(msb_span_t *s, const char *name)
{
    if (s == NULL || s->noop || !s->recording || name == NULL) {
        return;
    }
    msb__str_t copy;
    if (msb__span_strdup(s, name, strlen(name), &copy)) {
        s->name = copy;
    }
}

void msb_span_set_status(msb_span_t *s, msb_span_status_t code, const char *message)
{
    if (s == NULL || s->noop || !s->recording || s->status == MSB_SPAN_OK) {
        return;
    }
    if (code == MSB_SPAN_OK) {
        s->status = MSB_SPAN_OK;
        s->status_msg.p = "";
        s->status_msg.len = 0;
    } else if (code == MSB_SPAN_ERROR) {
        s->status = MSB_SPAN_ERROR;
        const char *m = message != NULL ? message : "";
        msb__str_t copy;
        if (msb__span_strdup(s, m, strlen(m), &copy)) {
            s->status_msg = copy;
        }
    }
}
