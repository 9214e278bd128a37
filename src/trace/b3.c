/* B3 propagation (openzipkin/b3-propagation): the single `b3` header and the `X-B3-*` headers. */
#include <string.h>

#include "core/error.h"
#include "trace/internal.h"

/* TraceId: 32 or 16 lower-hex characters; 16 are left-padded to 128 bits. */
static bool parse_trace_id(const char *p, size_t n, uint8_t out[16])
{
    if (n == 32) {
        return msb__hex_decode_lc(p, 16, out) && !msb__all_zero(out, 16);
    }
    if (n == 16) {
        memset(out, 0, 8);
        return msb__hex_decode_lc(p, 8, out + 8) && !msb__all_zero(out, 16);
    }
    return false;
}

static bool parse_span_id(const char *p, size_t n, uint8_t out[8])
{
    return n == 16 && msb__hex_decode_lc(p, 8, out) && !msb__all_zero(out, 8);
}

static bool parse_sampling_char(char c, msb_b3_sampling_t *s)
{
    switch (c) {
    case '0':
        *s = MSB_B3_DENY;
        return true;
    case '1':
        *s = MSB_B3_ACCEPT;
        return true;
    case 'd':
        *s = MSB_B3_DEBUG;
        return true;
    default:
        return false;
    }
}

static void finish(msb_trace_ctx_t *out, const uint8_t tid[16], const uint8_t sid[8],
                   msb_b3_sampling_t s, msb_b3_sampling_t *sampling)
{
    memcpy(out->trace_id, tid, 16);
    memcpy(out->span_id, sid, 8);
    out->flags = (s == MSB_B3_ACCEPT || s == MSB_B3_DEBUG) ? MSB_TRACE_FLAG_SAMPLED : 0;
    out->remote = true;
    out->tracestate_len = 0;
    if (sampling != NULL) {
        *sampling = s;
    }
}

msb_status_t msb_b3_parse_single(const char *value, size_t len, msb_trace_ctx_t *out,
                                 msb_b3_sampling_t *sampling, msb_error_t *err)
{
    if (value == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "b3: value and out must not be NULL");
    }
    while (len > 0 && (value[0] == ' ' || value[0] == '\t')) {
        value++;
        len--;
    }
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t')) {
        len--;
    }
    uint8_t zero_tid[16] = {0};
    uint8_t zero_sid[8] = {0};
    msb_b3_sampling_t s = MSB_B3_DEFER;
    if (len == 1) {
        if (!parse_sampling_char(value[0], &s)) {
            return msb__err(err, MSB_EPROTO, "b3: sampling state must be 0, 1 or d");
        }
        finish(out, zero_tid, zero_sid, s, sampling);
        return MSB_OK;
    }
    const char *dash = memchr(value, '-', len);
    if (dash == NULL) {
        return msb__err(err, MSB_EPROTO,
                        "b3: expected {TraceId}-{SpanId}[-{SamplingState}"
                        "[-{ParentSpanId}]]");
    }
    uint8_t tid[16];
    uint8_t sid[8];
    uint8_t pid[8];
    size_t tlen = (size_t)(dash - value);
    if (!parse_trace_id(value, tlen, tid)) {
        return msb__err(err, MSB_EPROTO,
                        "b3: TraceId must be 16 or 32 lower-hex digits, not "
                        "all zeros");
    }
    const char *p = dash + 1;
    size_t rest = len - tlen - 1;
    if (rest < 16 || !parse_span_id(p, 16, sid)) {
        return msb__err(err, MSB_EPROTO, "b3: SpanId must be 16 lower-hex digits, not all zeros");
    }
    p += 16;
    rest -= 16;
    if (rest > 0) {
        if (rest < 2 || p[0] != '-' || !parse_sampling_char(p[1], &s)) {
            return msb__err(err, MSB_EPROTO, "b3: sampling state after SpanId must be 0, 1 or d");
        }
        p += 2;
        rest -= 2;
        if (rest > 0 && (rest != 17 || p[0] != '-' || !parse_span_id(p + 1, 16, pid))) {
            return msb__err(err, MSB_EPROTO,
                            "b3: ParentSpanId must be 16 lower-hex digits, not all zeros");
        }
    }
    finish(out, tid, sid, s, sampling);
    return MSB_OK;
}

static bool str_is(const char *s, const char *lit)
{
    return strcmp(s, lit) == 0;
}

msb_status_t msb_b3_parse_multi(const char *trace_id, const char *span_id,
                                const char *parent_span_id, const char *sampled, const char *flags,
                                msb_trace_ctx_t *out, msb_b3_sampling_t *sampling, msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "b3: out must not be NULL");
    }
    msb_b3_sampling_t s = MSB_B3_DEFER;
    if (sampled != NULL) {
        if (str_is(sampled, "1") || str_is(sampled, "true")) {
            s = MSB_B3_ACCEPT;
        } else if (str_is(sampled, "0") || str_is(sampled, "false")) {
            s = MSB_B3_DENY;
        } else {
            return msb__err(err, MSB_EPROTO, "X-B3-Sampled: expected 1 or 0");
        }
    }
    /* "Debug is encoded as X-B3-Flags: 1. Absent or any other value can be ignored." */
    if (flags != NULL && str_is(flags, "1")) {
        s = MSB_B3_DEBUG;
    }
    uint8_t tid[16] = {0};
    uint8_t sid[8] = {0};
    uint8_t pid[8];
    if (trace_id == NULL && span_id == NULL) {
        if (parent_span_id != NULL) {
            return msb__err(err, MSB_EPROTO, "X-B3-ParentSpanId: sent without X-B3-TraceId");
        }
        if (sampled == NULL && flags == NULL) {
            return msb__err(err, MSB_ENOTFOUND, "b3: no X-B3-* headers");
        }
        finish(out, tid, sid, s, sampling);
        return MSB_OK;
    }
    if (trace_id == NULL || span_id == NULL) {
        return msb__err(err, MSB_EPROTO, "b3: X-B3-TraceId and X-B3-SpanId go together");
    }
    if (!parse_trace_id(trace_id, strlen(trace_id), tid)) {
        return msb__err(err, MSB_EPROTO,
                        "X-B3-TraceId: expected 16 or 32 lower-hex digits, not "
                        "all zeros");
    }
    if (!parse_span_id(span_id, strlen(span_id), sid)) {
        return msb__err(err, MSB_EPROTO,
                        "X-B3-SpanId: expected 16 lower-hex digits, not all "
                        "zeros");
    }
    if (parent_span_id != NULL && !parse_span_id(parent_span_id, strlen(parent_span_id), pid)) {
        return msb__err(err, MSB_EPROTO,
                        "X-B3-ParentSpanId: expected 16 lower-hex digits, not "
                        "all zeros");
    }
    finish(out, tid, sid, s, sampling);
    return MSB_OK;
}
