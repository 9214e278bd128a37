/* Samplers: always on/off, trace-id ratio (OpenTelemetry's algorithm), custom, parent-based. */
#include <math.h>

#include "core/error.h"
#include "trace/internal.h"

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

msb_trace_decision_t msb_sampler_decide(const msb_sampler_t *s, const msb_trace_ctx_t *parent,
                                        const uint8_t trace_id[16], const char *name,
                                        msb_span_kind_t kind, const msb_attr_t *attrs,
                                        size_t nattrs)
{
    if (s == NULL) {
        return MSB_TRACE_RECORD_AND_SAMPLE;
    }
    switch (s->kind) {
    case MSB_SAMPLER_ALWAYS_ON:
        return MSB_TRACE_RECORD_AND_SAMPLE;
    case MSB_SAMPLER_ALWAYS_OFF:
        return MSB_TRACE_DROP;
    case MSB_SAMPLER_RATIO: {
        double r = s->ratio;
        if (!(r > 0.0)) { /* also NaN */
            return MSB_TRACE_DROP;
        }
        if (r >= 1.0) {
            return MSB_TRACE_RECORD_AND_SAMPLE;
        }
        /* As OpenTelemetry's TraceIdRatioBased: the last 8 bytes, big-endian, shifted right by
         * one, compared with ratio * 2^63. The same trace id gives the same answer in every
         * service that uses the same ratio, whatever its language. */
        uint64_t bound = (uint64_t)(r * 9223372036854775808.0);
        uint64_t x = be64(trace_id + 8) >> 1;
        return x < bound ? MSB_TRACE_RECORD_AND_SAMPLE : MSB_TRACE_DROP;
    }
    case MSB_SAMPLER_CUSTOM:
        if (s->fn == NULL) {
            return MSB_TRACE_DROP;
        }
        return s->fn(s->user, parent, trace_id, name, kind, attrs, nattrs);
    default:
        return MSB_TRACE_DROP;
    }
}

msb_status_t msb__sampler_check(const msb_sampler_t *s, const char *field, msb_error_t *err)
{
    switch (s->kind) {
    case MSB_SAMPLER_ALWAYS_ON:
    case MSB_SAMPLER_ALWAYS_OFF:
        return MSB_OK;
    case MSB_SAMPLER_RATIO:
        if (!(s->ratio >= 0.0 && s->ratio <= 1.0)) {
            return msb__err(err, MSB_EINVAL, "trace: %s.ratio %g is not in [0, 1]", field,
                            s->ratio);
        }
        return MSB_OK;
    case MSB_SAMPLER_CUSTOM:
        if (s->fn == NULL) {
            return msb__err(err, MSB_EINVAL, "trace: %s is custom but fn is NULL", field);
        }
        return MSB_OK;
    default:
        return msb__err(err, MSB_EINVAL, "trace: %s.kind %d is unknown", field, (int)s->kind);
    }
}

msb_trace_decision_t msb__sample(const msb__sampler_set_t *set, const msb_trace_ctx_t *parent,
                                 const uint8_t trace_id[16], const char *name, msb_span_kind_t kind,
                                 const msb_attr_t *attrs, size_t nattrs)
{
    const msb_sampler_t *s = &set->root;
    if (set->parent_based && msb_trace_ctx_valid(parent)) {
        bool sampled = (parent->flags & MSB_TRACE_FLAG_SAMPLED) != 0;
        if (parent->remote) {
            s = sampled ? &set->remote_sampled : &set->remote_not_sampled;
        } else {
            s = sampled ? &set->local_sampled : &set->local_not_sampled;
        }
    }
    return msb_sampler_decide(s, parent, trace_id, name, kind, attrs, nattrs);
}
