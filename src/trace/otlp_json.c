/*
 * OTLP/HTTP JSON encoding of spans (opentelemetry-proto, ExportTraceServiceRequest), following the
 * protobuf JSON mapping as OTLP amends it: field names in lowerCamelCase, trace and span ids as
 * lowercase hex (not base64), enums as integers, 64-bit integers (timestamps, intValue) as decimal
 * strings.
 */
#include <math.h>
#include <string.h>

#include "trace/internal.h"

static void put_key(msb__buf_t *b, const char *key)
{
    msb__buf_putc(b, '"');
    msb__buf_puts(b, key);
    msb__buf_puts(b, "\":");
}

static void put_str(msb__buf_t *b, msb__str_t s)
{
    msb__buf_put_json_str(b, s.p, s.len);
}

static void put_hex(msb__buf_t *b, const uint8_t *id, size_t n)
{
    char hex[33];
    msb__hex_encode(id, n, hex);
    msb__buf_putc(b, '"');
    msb__buf_append(b, hex, 2 * n);
    msb__buf_putc(b, '"');
}

static void put_u64_str(msb__buf_t *b, uint64_t v)
{
    msb__buf_putc(b, '"');
    msb__buf_put_u64(b, v);
    msb__buf_putc(b, '"');
}

static void put_double(msb__buf_t *b, double d)
{
    /* The protobuf JSON mapping spells the non-finite values as strings. */
    if (isnan(d)) {
        msb__buf_puts(b, "\"NaN\"");
    } else if (isinf(d)) {
        msb__buf_puts(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    } else {
        msb__buf_put_double_json(b, d);
    }
}

static void put_any_scalar(msb__buf_t *b, msb_attr_type_t type, const void *items, size_t i)
{
    switch (type) {
    case MSB_ATTR_STRING_ARRAY: {
        const char *s = ((const char *const *)items)[i];
        msb__buf_puts(b, "{\"stringValue\":");
        msb__buf_put_json_str(b, s, strlen(s));
        break;
    }
    case MSB_ATTR_INT_ARRAY:
        msb__buf_puts(b, "{\"intValue\":\"");
        msb__buf_put_i64(b, ((const int64_t *)items)[i]);
        msb__buf_putc(b, '"');
        break;
    case MSB_ATTR_DOUBLE_ARRAY:
        msb__buf_puts(b, "{\"doubleValue\":");
        put_double(b, ((const double *)items)[i]);
        break;
    default:
        msb__buf_puts(b, "{\"boolValue\":");
        msb__buf_puts(b, ((const bool *)items)[i] ? "true" : "false");
        break;
    }
    msb__buf_putc(b, '}');
}

static void put_value(msb__buf_t *b, const msb__attr_t *a)
{
    switch (a->type) {
    case MSB_ATTR_STRING:
        msb__buf_puts(b, "{\"stringValue\":");
        put_str(b, a->v.s);
        msb__buf_putc(b, '}');
        return;
    case MSB_ATTR_INT:
        msb__buf_puts(b, "{\"intValue\":\"");
        msb__buf_put_i64(b, a->v.i);
        msb__buf_puts(b, "\"}");
        return;
    case MSB_ATTR_DOUBLE:
        msb__buf_puts(b, "{\"doubleValue\":");
        put_double(b, a->v.d);
        msb__buf_putc(b, '}');
        return;
    case MSB_ATTR_BOOL:
        msb__buf_puts(b, a->v.b ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
        return;
    default:
        msb__buf_puts(b, "{\"arrayValue\":{\"values\":[");
        for (size_t i = 0; i < a->v.a.n; i++) {
            if (i > 0) {
                msb__buf_putc(b, ',');
            }
            put_any_scalar(b, a->type, a->v.a.items, i);
        }
        msb__buf_puts(b, "]}}");
        return;
    }
}

static void put_attrs(msb__buf_t *b, const msb__attr_t *attrs, size_t n, uint32_t dropped)
{
    put_key(b, "attributes");
    msb__buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            msb__buf_putc(b, ',');
        }
        msb__buf_puts(b, "{\"key\":");
        put_str(b, attrs[i].key);
        msb__buf_puts(b, ",\"value\":");
        put_value(b, &attrs[i]);
        msb__buf_putc(b, '}');
    }
    msb__buf_putc(b, ']');
    if (dropped > 0) {
        msb__buf_puts(b, ",\"droppedAttributesCount\":");
        msb__buf_put_u64(b, dropped);
    }
}

static void put_resource(msb__buf_t *b, const msb_tracer_provider_t *p)
{
    msb__buf_putc(b, '{');
    put_attrs(b, p->resource, p->resource_count, 0);
    msb__buf_putc(b, '}');
}

static void put_scope(msb__buf_t *b, const msb_tracer_t *t)
{
    const char *name = t->scope_name != NULL ? t->scope_name : "";
    msb__buf_puts(b, "{\"name\":");
    msb__buf_put_json_str(b, name, strlen(name));
    if (t->scope_version != NULL) {
        msb__buf_puts(b, ",\"version\":");
        msb__buf_put_json_str(b, t->scope_version, strlen(t->scope_version));
    }
    msb__buf_putc(b, '}');
}

static void put_events(msb__buf_t *b, const msb_span_t *s)
{
    msb__buf_puts(b, ",\"events\":[");
    for (uint32_t i = 0; i < s->nevents; i++) {
        const msb__event_t *e = &s->events[i];
        msb__buf_puts(b, i > 0 ? ",{\"timeUnixNano\":" : "{\"timeUnixNano\":");
        put_u64_str(b, (uint64_t)e->time_ns);
        msb__buf_puts(b, ",\"name\":");
        put_str(b, e->name);
        msb__buf_putc(b, ',');
        put_attrs(b, e->attrs.items, e->attrs.n, e->attrs.dropped);
        msb__buf_putc(b, '}');
    }
    msb__buf_putc(b, ']');
    if (s->dropped_events > 0) {
        msb__buf_puts(b, ",\"droppedEventsCount\":");
        msb__buf_put_u64(b, s->dropped_events);
    }
}

/* Span.flags / Link.flags: trace flags in bits 0-7, bit 8 "is_remote known", bit 9 is_remote. */
static uint32_t otlp_flags(uint8_t trace_flags, bool remote)
{
    return (uint32_t)trace_flags | 0x100u | (remote ? 0x200u : 0u);
}

static void put_links(msb__buf_t *b, const msb_span_t *s)
{
    msb__buf_puts(b, ",\"links\":[");
    for (uint32_t i = 0; i < s->nlinks; i++) {
        const msb__link_t *l = &s->links[i];
        msb__buf_puts(b, i > 0 ? ",{\"traceId\":" : "{\"traceId\":");
        put_hex(b, l->trace_id, 16);
        msb__buf_puts(b, ",\"spanId\":");
        put_hex(b, l->span_id, 8);
        if (l->tracestate.len > 0) {
            msb__buf_puts(b, ",\"traceState\":");
            put_str(b, l->tracestate);
        }
        msb__buf_putc(b, ',');
        put_attrs(b, l->attrs.items, l->attrs.n, l->attrs.dropped);
        msb__buf_puts(b, ",\"flags\":");
        msb__buf_put_u64(b, otlp_flags(l->flags, l->remote));
        msb__buf_putc(b, '}');
    }
    msb__buf_putc(b, ']');
    if (s->dropped_links > 0) {
        msb__buf_puts(b, ",\"droppedLinksCount\":");
        msb__buf_put_u64(b, s->dropped_links);
    }
}

/* The fields of an OTLP Span object, without the braces. */
static void put_span_fields(msb__buf_t *b, const msb_span_t *s)
{
    msb__buf_puts(b, "\"traceId\":");
    put_hex(b, s->trace_id, 16);
    msb__buf_puts(b, ",\"spanId\":");
    put_hex(b, s->span_id, 8);
    if (s->tracestate.len > 0) {
        msb__buf_puts(b, ",\"traceState\":");
        put_str(b, s->tracestate);
    }
    if (s->has_parent) {
        msb__buf_puts(b, ",\"parentSpanId\":");
        put_hex(b, s->parent_id, 8);
    }
    msb__buf_puts(b, ",\"flags\":");
    msb__buf_put_u64(b, otlp_flags(s->flags, s->has_parent && s->parent_remote));
    msb__buf_puts(b, ",\"name\":");
    put_str(b, s->name);
    msb__buf_puts(b, ",\"kind\":");
    msb__buf_put_u64(b, s->kind);
    msb__buf_puts(b, ",\"startTimeUnixNano\":");
    put_u64_str(b, (uint64_t)s->start_ns);
    msb__buf_puts(b, ",\"endTimeUnixNano\":");
    put_u64_str(b, (uint64_t)s->end_ns);
    msb__buf_putc(b, ',');
    put_attrs(b, s->attrs.items, s->attrs.n, s->attrs.dropped);
    put_events(b, s);
    put_links(b, s);
    msb__buf_puts(b, ",\"status\":{");
    if (s->status != MSB_SPAN_UNSET) {
        msb__buf_puts(b, "\"code\":");
        msb__buf_put_u64(b, s->status);
        if (s->status_msg.len > 0) {
            msb__buf_puts(b, ",\"message\":");
            put_str(b, s->status_msg);
        }
    }
    msb__buf_putc(b, '}');
}

static bool seen_provider(msb_span_t *const *spans, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (spans[j]->provider == spans[i]->provider) {
            return true;
        }
    }
    return false;
}

static bool seen_tracer(msb_span_t *const *spans, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (spans[j]->tracer == spans[i]->tracer) {
            return true;
        }
    }
    return false;
}

static void put_scope_spans(msb__buf_t *b, msb_span_t *const *spans, size_t n, size_t first)
{
    const msb_tracer_t *t = spans[first]->tracer;
    msb__buf_puts(b, "{\"scope\":");
    put_scope(b, t);
    msb__buf_puts(b, ",\"spans\":[");
    bool any = false;
    for (size_t i = first; i < n; i++) {
        if (spans[i]->tracer == t) {
            msb__buf_puts(b, any ? ",{" : "{");
            put_span_fields(b, spans[i]);
            msb__buf_putc(b, '}');
            any = true;
        }
    }
    msb__buf_puts(b, "]}");
}

void msb__otlp_json_request(msb__buf_t *b, msb_span_t *const *spans, size_t n)
{
    msb__buf_puts(b, "{\"resourceSpans\":[");
    bool any_rs = false;
    for (size_t i = 0; i < n; i++) {
        if (seen_provider(spans, i)) {
            continue;
        }
        const msb_tracer_provider_t *p = spans[i]->provider;
        msb__buf_puts(b, any_rs ? ",{\"resource\":" : "{\"resource\":");
        any_rs = true;
        put_resource(b, p);
        msb__buf_puts(b, ",\"scopeSpans\":[");
        bool any_ss = false;
        for (size_t j = i; j < n; j++) {
            if (spans[j]->provider != p || seen_tracer(spans, j)) {
                continue;
            }
            if (any_ss) {
                msb__buf_putc(b, ',');
            }
            any_ss = true;
            put_scope_spans(b, spans, n, j);
        }
        msb__buf_puts(b, "]}");
    }
    msb__buf_puts(b, "]}");
}

void msb__otlp_json_line(msb__buf_t *b, const msb_span_t *s)
{
    msb__buf_puts(b, "{\"resource\":");
    put_resource(b, s->provider);
    msb__buf_puts(b, ",\"scope\":");
    put_scope(b, s->tracer);
    msb__buf_putc(b, ',');
    put_span_fields(b, s);
    msb__buf_puts(b, "}\n");
}
