/* Extract and inject through a carrier: W3C traceparent/tracestate, B3, W3C baggage. */
#include <string.h>

#include "core/alloc.h"
#include "trace/internal.h"

#define FIELD_MAX 256 /* longest B3 value copied to a C string (valid ones are <= 68) */

static bool get(const msb_trace_carrier_t *c, const char *name, size_t i, const char **v, size_t *n)
{
    *v = NULL;
    *n = 0;
    return c->get(c->user, name, i, v, n) && *v != NULL;
}

static msb_status_t extract_w3c(const msb_trace_carrier_t *c, msb_trace_ctx_t *out)
{
    const char *v;
    size_t n;
    if (!get(c, "traceparent", 0, &v, &n)) {
        return MSB_ENOTFOUND;
    }
    const char *v2;
    size_t n2;
    if (get(c, "traceparent", 1, &v2, &n2)) {
        return MSB_EPROTO; /* duplicated traceparent: ambiguous, so invalid */
    }
    msb_trace_ctx_t ctx;
    if (msb_traceparent_parse(v, n, &ctx, NULL) != MSB_OK) {
        return MSB_EPROTO;
    }
    /* "failure to parse tracestate MUST NOT affect the parsing of traceparent" */
    for (size_t i = 0; get(c, "tracestate", i, &v, &n); i++) {
        if (msb_tracestate_parse(v, n, &ctx, NULL) != MSB_OK) {
            ctx.tracestate_len = 0;
            break;
        }
    }
    *out = ctx;
    return MSB_OK;
}

/* Copy a header value into a C string; false when absent. */
static bool get_cstr(const msb_trace_carrier_t *c, const char *name, char *buf, bool *present)
{
    const char *v;
    size_t n;
    *present = get(c, name, 0, &v, &n);
    if (!*present) {
        return false;
    }
    if (n >= FIELD_MAX) {
        n = FIELD_MAX - 1; /* too long to be valid: the parser rejects the truncated copy too */
    }
    memcpy(buf, v, n);
    buf[n] = '\0';
    return true;
}

static msb_status_t extract_b3(const msb_trace_carrier_t *c, msb_trace_ctx_t *out)
{
    const char *v;
    size_t n;
    if (get(c, "b3", 0, &v, &n)) {
        return msb_b3_parse_single(v, n, out, NULL, NULL) == MSB_OK ? MSB_OK : MSB_EPROTO;
    }
    char tid[FIELD_MAX], sid[FIELD_MAX], pid[FIELD_MAX], smp[FIELD_MAX], flg[FIELD_MAX];
    bool has_t, has_s, has_p, has_smp, has_f;
    get_cstr(c, "x-b3-traceid", tid, &has_t);
    get_cstr(c, "x-b3-spanid", sid, &has_s);
    get_cstr(c, "x-b3-parentspanid", pid, &has_p);
    get_cstr(c, "x-b3-sampled", smp, &has_smp);
    get_cstr(c, "x-b3-flags", flg, &has_f);
    msb_status_t rc = msb_b3_parse_multi(has_t ? tid : NULL, has_s ? sid : NULL, has_p ? pid : NULL,
                                         has_smp ? smp : NULL, has_f ? flg : NULL, out, NULL, NULL);
    return rc == MSB_OK || rc == MSB_ENOTFOUND ? rc : MSB_EPROTO;
}

msb_status_t msb_trace_extract(const msb_trace_carrier_t *carrier, unsigned formats,
                               msb_trace_ctx_t *out, msb_baggage_t *baggage)
{
    if (carrier == NULL || carrier->get == NULL || out == NULL) {
        return MSB_EINVAL;
    }
    memset(out, 0, offsetof(msb_trace_ctx_t, tracestate));
    msb_status_t rc = MSB_ENOTFOUND;
    if (formats & MSB_TRACE_W3C) {
        rc = extract_w3c(carrier, out);
    }
    if (rc != MSB_OK && (formats & (MSB_TRACE_B3 | MSB_TRACE_B3_MULTI))) {
        msb_trace_ctx_t b3 = MSB_TRACE_CTX_INIT;
        msb_status_t brc = extract_b3(carrier, &b3);
        if (brc != MSB_ENOTFOUND) {
            rc = brc;
        }
        if (brc == MSB_OK) {
            memcpy(out, &b3, offsetof(msb_trace_ctx_t, tracestate));
            if (!msb_trace_ctx_valid(out)) {
                rc = MSB_ENOTFOUND; /* a sampling decision alone: no parent, flag kept */
            }
        }
    }
    if (rc != MSB_OK && rc != MSB_ENOTFOUND) {
        memset(out, 0, offsetof(msb_trace_ctx_t, tracestate));
    }
    if (baggage != NULL) {
        const char *v;
        size_t n;
        for (size_t i = 0; get(carrier, "baggage", i, &v, &n); i++) {
            (void)msb_baggage_parse(baggage, v, n, NULL);
        }
    }
    return rc;
}

static msb_status_t inject_b3(const msb_trace_ctx_t *ctx, const msb_trace_carrier_t *c,
                              unsigned formats)
{
    char tid[33];
    char sid[17];
    msb__hex_encode(ctx->trace_id, 16, tid);
    msb__hex_encode(ctx->span_id, 8, sid);
    const char *sampled = (ctx->flags & MSB_TRACE_FLAG_SAMPLED) ? "1" : "0";
    msb_status_t rc = MSB_OK;
    if (formats & MSB_TRACE_B3) {
        char single[33 + 1 + 16 + 2 + 1];
        memcpy(single, tid, 32);
        single[32] = '-';
        memcpy(single + 33, sid, 16);
        single[49] = '-';
        single[50] = sampled[0];
        single[51] = '\0';
        rc = c->set(c->user, "b3", single);
    }
    if (rc == MSB_OK && (formats & MSB_TRACE_B3_MULTI)) {
        rc = c->set(c->user, "X-B3-TraceId", tid);
        if (rc == MSB_OK) {
            rc = c->set(c->user, "X-B3-SpanId", sid);
        }
        if (rc == MSB_OK) {
            rc = c->set(c->user, "X-B3-Sampled", sampled);
        }
    }
    return rc;
}

msb_status_t msb_trace_inject(const msb_trace_ctx_t *ctx, const msb_trace_carrier_t *carrier,
                              unsigned formats, const msb_baggage_t *baggage)
{
    if (carrier == NULL || carrier->set == NULL) {
        return MSB_EINVAL;
    }
    msb_status_t rc = MSB_OK;
    if (msb_trace_ctx_valid(ctx)) {
        if (formats & MSB_TRACE_W3C) {
            char tp[MSB_TRACEPARENT_LEN + 1];
            msb_traceparent_format(ctx, tp);
            rc = carrier->set(carrier->user, "traceparent", tp);
            size_t tl = ctx->tracestate_len;
            if (rc == MSB_OK && tl > 0 && tl <= MSB_TRACESTATE_MAX) {
                char ts[MSB_TRACESTATE_MAX + 1];
                memcpy(ts, ctx->tracestate, tl);
                ts[tl] = '\0';
                rc = carrier->set(carrier->user, "tracestate", ts);
            }
        }
        if (rc == MSB_OK && (formats & (MSB_TRACE_B3 | MSB_TRACE_B3_MULTI))) {
            rc = inject_b3(ctx, carrier, formats);
        }
    }
    if (rc == MSB_OK && baggage != NULL && msb_baggage_count(baggage) > 0) {
        char *s = NULL;
        rc = msb_baggage_format(baggage, &s, NULL);
        if (rc == MSB_OK) {
            rc = carrier->set(carrier->user, "baggage", s);
            msb__free(s);
        }
    }
    return rc;
}
