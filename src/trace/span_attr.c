/* Span attributes, events and links (setters), and the getters processors and exporters use. */
#include <string.h>

#include "core/alloc.h"
#include "trace/internal.h"

static bool writable(const msb_span_t *s)
{
    return s != NULL && !s->noop && s->recording;
}

/* The slot for `key`: the existing attribute with that key, or a new one; NULL past the limit. */
static msb__attr_t *attr_slot(msb_span_t *s, const char *key, size_t klen)
{
    msb__attr_t *items = s->attrs.items;
    for (uint32_t i = 0; i < s->attrs.n; i++) {
        if (items[i].key.len == klen && memcmp(items[i].key.p, key, klen) == 0) {
            return &items[i];
        }
    }
    if (s->attrs.n >= s->provider->max_attrs) {
        s->attrs.dropped++;
        return NULL;
    }
    if (s->attrs.n == s->attr_cap) {
        uint32_t cap = s->attr_cap * 2;
        msb__attr_t *grown;
        if (items == s->inline_attrs) {
            grown = msb__malloc(cap * sizeof(*grown));
            if (grown != NULL) {
                memcpy(grown, items, s->attrs.n * sizeof(*grown));
            }
        } else {
            grown = msb__realloc(items, cap * sizeof(*grown));
        }
        if (grown == NULL) {
            s->attrs.dropped++;
            return NULL;
        }
        s->attrs.items = grown;
        s->attr_cap = cap;
    }
    msb__attr_t *a = &s->attrs.items[s->attrs.n];
    if (!msb__span_strdup(s, key, klen, &a->key)) {
        s->attrs.dropped++;
        return NULL;
    }
    s->attrs.n++;
    return a;
}

void msb_span_set_strn(msb_span_t *s, const char *key, const char *value, size_t len)
{
    if (!writable(s) || key == NULL || key[0] == '\0') {
        return;
    }
    if (value == NULL) {
        value = "";
        len = 0;
    }
    uint32_t max = s->provider->max_value_len;
    size_t n = max > 0 ? msb__utf8_cut(value, len, max) : len;
    msb__str_t copy;
    if (!msb__span_strdup(s, value, n, &copy)) {
        s->attrs.dropped++;
        return;
    }
    msb__attr_t *a = attr_slot(s, key, strlen(key));
    if (a != NULL) {
        a->type = MSB_ATTR_STRING;
        a->v.s = copy;
    }
}

void msb_span_set_str(msb_span_t *s, const char *key, const char *value)
{
    msb_span_set_strn(s, key, value, value != NULL ? strlen(value) : 0);
}

void msb_span_set_int(msb_span_t *s, const char *key, int64_t value)
{
    if (!writable(s) || key == NULL || key[0] == '\0') {
        return;
    }
    msb__attr_t *a = attr_slot(s, key, strlen(key));
    if (a != NULL) {
        a->type = MSB_ATTR_INT;
        a->v.i = value;
    }
}

void msb_span_set_double(msb_span_t *s, const char *key, double value)
{
    if (!writable(s) || key == NULL || key[0] == '\0') {
        return;
    }
    msb__attr_t *a = attr_slot(s, key, strlen(key));
    if (a != NULL) {
        a->type = MSB_ATTR_DOUBLE;
        a->v.d = value;
    }
}

void msb_span_set_bool(msb_span_t *s, const char *key, bool value)
{
    if (!writable(s) || key == NULL || key[0] == '\0') {
        return;
    }
    msb__attr_t *a = attr_slot(s, key, strlen(key));
    if (a != NULL) {
        a->type = MSB_ATTR_BOOL;
        a->v.b = value;
    }
}

void msb_span_set_attrs(msb_span_t *s, const msb_attr_t *attrs, size_t n)
{
    if (!writable(s) || attrs == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const msb_attr_t *in = &attrs[i];
        if (in->key == NULL || in->key[0] == '\0' || (unsigned)in->type > MSB_ATTR_BOOL_ARRAY) {
            continue;
        }
        msb__attr_t copy;
        if (!msb__span_attr_copy(s, in, &copy)) {
            s->attrs.dropped++;
            continue;
        }
        msb__attr_t *a = attr_slot(s, copy.key.p, copy.key.len);
        if (a != NULL) {
            a->type = copy.type;
            a->v = copy.v;
        }
    }
}

/* Copy up to the limit of attributes into span memory. */
static void copy_attr_list(msb_span_t *s, const msb_attr_t *attrs, size_t n, msb__attr_list_t *out)
{
    out->items = NULL;
    out->n = 0;
    out->dropped = 0;
    if (attrs == NULL || n == 0) {
        return;
    }
    size_t keep = n < s->provider->max_attrs ? n : s->provider->max_attrs;
    out->items = msb__span_mem(s, keep * sizeof(msb__attr_t));
    if (out->items == NULL) {
        out->dropped = (uint32_t)n;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (out->n < keep && msb__span_attr_copy(s, &attrs[i], &out->items[out->n])) {
            out->n++;
        } else {
            out->dropped++;
        }
    }
}

static bool grow(void **items, uint32_t *cap, size_t elem)
{
    uint32_t next = *cap ? *cap * 2 : 4;
    void *g = msb__realloc(*items, next * elem);
    if (g == NULL) {
        return false;
    }
    *items = g;
    *cap = next;
    return true;
}

void msb_span_add_event(msb_span_t *s, const char *name, const msb_attr_t *attrs, size_t n,
                        int64_t time_ns)
{
    if (!writable(s)) {
        return;
    }
    if (s->nevents >= s->provider->max_events ||
        (s->nevents == s->event_cap &&
         !grow((void **)&s->events, &s->event_cap, sizeof(msb__event_t)))) {
        s->dropped_events++;
        return;
    }
    msb__event_t *e = &s->events[s->nevents];
    const char *nm = name != NULL ? name : "";
    if (!msb__span_strdup(s, nm, strlen(nm), &e->name)) {
        s->dropped_events++;
        return;
    }
    msb_tracer_provider_t *p = s->provider;
    e->time_ns = time_ns != 0 ? time_ns : msb__provider_wall(p, p->clock->monotonic_ns(p->clock));
    copy_attr_list(s, attrs, n, &e->attrs);
    s->nevents++;
}

void msb_span_record_error(msb_span_t *s, const char *type, const char *message)
{
    if (!writable(s)) {
        return;
    }
    msb_attr_t attrs[2];
    size_t n = 0;
    if (type != NULL) {
        attrs[n++] = (msb_attr_t)MSB_ATTR_STR("exception.type", type);
    }
    if (message != NULL) {
        attrs[n++] = (msb_attr_t)MSB_ATTR_STR("exception.message", message);
    }
    msb_span_add_event(s, "exception", attrs, n, 0);
    msb_span_set_status(s, MSB_SPAN_ERROR, message);
}

void msb_span_add_link(msb_span_t *s, const msb_trace_ctx_t *ctx, const msb_attr_t *attrs, size_t n)
{
    if (!writable(s) || !msb_trace_ctx_valid(ctx)) {
        return;
    }
    if (s->nlinks >= s->provider->max_links ||
        (s->nlinks == s->link_cap &&
         !grow((void **)&s->links, &s->link_cap, sizeof(msb__link_t)))) {
        s->dropped_links++;
        return;
    }
    msb__link_t *l = &s->links[s->nlinks];
    memcpy(l->trace_id, ctx->trace_id, 16);
    memcpy(l->span_id, ctx->span_id, 8);
    l->flags = ctx->flags;
    l->remote = ctx->remote;
    size_t tl = ctx->tracestate_len <= MSB_TRACESTATE_MAX ? ctx->tracestate_len : 0;
    if (!msb__span_strdup(s, ctx->tracestate, tl, &l->tracestate)) {
        s->dropped_links++;
        return;
    }
    copy_attr_list(s, attrs, n, &l->attrs);
    s->nlinks++;
}

/* ---- getters ------------------------------------------------------------------------------ */

const char *msb_span_name(const msb_span_t *s)
{
    return s != NULL ? s->name.p : "";
}

msb_span_kind_t msb_span_kind(const msb_span_t *s)
{
    return s != NULL && !s->noop ? (msb_span_kind_t)s->kind : MSB_SPAN_INTERNAL;
}

int64_t msb_span_start_ns(const msb_span_t *s)
{
    return s != NULL ? s->start_ns : 0;
}

int64_t msb_span_end_ns(const msb_span_t *s)
{
    return s != NULL ? s->end_ns : 0;
}

bool msb_span_parent_id(const msb_span_t *s, uint8_t out[8])
{
    if (s == NULL || s->noop || !s->has_parent) {
        return false;
    }
    memcpy(out, s->parent_id, 8);
    return true;
}

msb_span_status_t msb_span_status(const msb_span_t *s, const char **message)
{
    if (message != NULL) {
        *message = s != NULL ? s->status_msg.p : "";
    }
    return s != NULL ? (msb_span_status_t)s->status : MSB_SPAN_UNSET;
}

size_t msb_span_attr_count(const msb_span_t *s)
{
    return s != NULL ? s->attrs.n : 0;
}

msb_status_t msb_span_attr(const msb_span_t *s, size_t i, msb_attr_t *out)
{
    if (s == NULL || out == NULL || i >= s->attrs.n) {
        return MSB_ERANGE;
    }
    const msb__attr_t *a = &s->attrs.items[i];
    out->key = a->key.p;
    out->type = a->type;
    switch (a->type) {
    case MSB_ATTR_STRING:
        out->v.s = a->v.s.p;
        break;
    case MSB_ATTR_INT:
        out->v.i = a->v.i;
        break;
    case MSB_ATTR_DOUBLE:
        out->v.d = a->v.d;
        break;
    case MSB_ATTR_BOOL:
        out->v.b = a->v.b;
        break;
    default:
        out->v.a.items = a->v.a.items;
        out->v.a.n = a->v.a.n;
        break;
    }
    return MSB_OK;
}

size_t msb_span_event_count(const msb_span_t *s)
{
    return s != NULL ? s->nevents : 0;
}

size_t msb_span_link_count(const msb_span_t *s)
{
    return s != NULL ? s->nlinks : 0;
}

void msb_span_dropped(const msb_span_t *s, uint32_t *attrs, uint32_t *events, uint32_t *links)
{
    if (attrs != NULL) {
        *attrs = s != NULL ? s->attrs.dropped : 0;
    }
    if (events != NULL) {
        *events = s != NULL ? s->dropped_events : 0;
    }
    if (links != NULL) {
        *links = s != NULL ? s->dropped_links : 0;
    }
}
