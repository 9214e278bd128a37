/**
 * @file trace_context.h
 * @brief Span contexts and their wire formats: #msb_trace_ctx_t, W3C `traceparent` and
 * `tracestate` (Trace Context Level 1 and 2), B3, and extraction/injection through any header
 * container (part of the tracing module; include trace.h).
 */
#ifndef MSB_TRACE_CONTEXT_H
#define MSB_TRACE_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/baggage.h"
#include "msb/error.h"

MSB_BEGIN_DECLS

/* ------------------------------------------------------------------------------------------ */
/* Context                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/** Trace flag: the caller may have recorded this trace (W3C `sampled`). @since 0.1 */
#define MSB_TRACE_FLAG_SAMPLED 0x01u
/**
 * Trace flag: at least the right-most 7 bytes of the trace id are random (W3C Trace Context
 * Level 2 `random-trace-id`). Set on every trace id libmsb generates. @since 0.1
 */
#define MSB_TRACE_FLAG_RANDOM 0x02u
/** The flags defined by Trace Context Level 2; other bits are zeroed when parsed. @since 0.1 */
#define MSB_TRACE_FLAGS_KNOWN (MSB_TRACE_FLAG_SAMPLED | MSB_TRACE_FLAG_RANDOM)

/**
 * Largest `tracestate` kept in a context, in bytes: the 512 characters the W3C specification asks
 * every vendor to propagate. A longer header is truncated by whole entries as the specification
 * says (entries longer than 128 characters first, then from the right).
 * @since 0.1
 */
#define MSB_TRACESTATE_MAX 512
/** Most list-members a `tracestate` may hold (W3C). @since 0.1 */
#define MSB_TRACESTATE_MAX_MEMBERS 32

/** Length of a `traceparent` value written by libmsb, without the NUL (version 00). */
#define MSB_TRACEPARENT_LEN 55

/**
 * @brief A span context as a plain value: what crosses process boundaries.
 *
 * Copy it freely; it owns no memory. A context is *valid* when neither id is all zeros
 * (msb_trace_ctx_valid()). `tracestate` holds the normalised W3C list (members joined by
 * commas, optional whitespace removed), not NUL-terminated beyond `tracestate_len`.
 * @since 0.1
 */
typedef struct msb_trace_ctx {
    uint8_t trace_id[16];                /**< trace id, big-endian bytes */
    uint8_t span_id[8];                  /**< span id of the span this context describes */
    uint8_t flags;                       /**< #MSB_TRACE_FLAG_SAMPLED, #MSB_TRACE_FLAG_RANDOM */
    bool remote;                         /**< came from another process (extracted) */
    uint16_t tracestate_len;             /**< bytes used in `tracestate` */
    char tracestate[MSB_TRACESTATE_MAX]; /**< W3C tracestate list, normalised */
} msb_trace_ctx_t;

/** Initialiser for an empty (invalid) context. @since 0.1 */
#define MSB_TRACE_CTX_INIT                                                                         \
    {                                                                                              \
        {0}, {0}, 0, false, 0,                                                                     \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/**
 * @brief Whether a context has a non-zero trace id and span id.
 * @param ctx a context, or NULL (not valid).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API bool msb_trace_ctx_valid(const msb_trace_ctx_t *ctx);

/**
 * @brief Whether a context's sampled flag is set.
 * @param ctx a context, or NULL (false).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API bool msb_trace_ctx_sampled(const msb_trace_ctx_t *ctx);

/**
 * @brief Write a context's trace id as 32 lowercase hex digits and a NUL.
 * @param ctx the context.
 * @param out receives the text; at least 33 bytes.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_trace_ctx_trace_id_hex(const msb_trace_ctx_t *ctx, char out[33]);

/**
 * @brief Write a context's span id as 16 lowercase hex digits and a NUL.
 * @param ctx the context.
 * @param out receives the text; at least 17 bytes.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_trace_ctx_span_id_hex(const msb_trace_ctx_t *ctx, char out[17]);

/* ------------------------------------------------------------------------------------------ */
/* W3C Trace Context, B3                                                                      */
/* ------------------------------------------------------------------------------------------ */

/**
 * @brief Parse a W3C `traceparent` header value (Trace Context Level 1 and 2).
 *
 * Surrounding spaces and tabs are ignored. Version `00` must be exactly
 * `00-<32 hex>-<16 hex>-<2 hex>` in lowercase; a higher version is parsed by the specification's
 * forward-compatibility rules (at least 55 characters; the flags followed by the end or a dash;
 * whatever follows is ignored); version `ff`, all-zero ids, uppercase or other characters are
 * rejected. Flags other than sampled and random are cleared (the specification reserves them and
 * asks vendors to send them as zero). The tracestate of `out` is emptied and `remote` set.
 *
 * @param value the header value (need not be NUL-terminated).
 * @param len its length in bytes.
 * @param out receives the context; untouched on failure.
 * @param err optional detail.
 * @return #MSB_OK, or #MSB_EPROTO naming what is malformed (#MSB_EINVAL when value or out is
 * NULL).
 * Ownership: nothing is retained. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_traceparent_parse(const char *value, size_t len, msb_trace_ctx_t *out,
                                           msb_error_t *err);

/**
 * @brief Format a context as a version-00 `traceparent` value.
 * @param ctx a valid context.
 * @param out receives #MSB_TRACEPARENT_LEN characters and a NUL (56 bytes).
 * @return #MSB_OK, or #MSB_EINVAL when the context is not valid.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_traceparent_format(const msb_trace_ctx_t *ctx,
                                            char out[MSB_TRACEPARENT_LEN + 1]);

/**
 * @brief Parse a W3C `tracestate` value into `ctx->tracestate`.
 *
 * Call it once per received `tracestate` header field, in order: the fields are combined as one
 * list (RFC 9110 field order). Empty and whitespace-only members are allowed and dropped. The
 * whole tracestate is discarded (and #MSB_EPROTO returned) when any member is malformed (key
 * grammar `(lcalpha / DIGIT) 0*255(keychar)`, value grammar `0*255(chr) nblk-chr`), or when the
 * combined list has more than 32 members. A later duplicate of a key is dropped. A list longer than
 * #MSB_TRACESTATE_MAX is truncated by whole entries (longer than 128 characters first, then from
 * the right).
 *
 * @param value a header field value.
 * @param len its length.
 * @param ctx the context to extend (usually filled by msb_traceparent_parse()).
 * @param err optional detail.
 * @return #MSB_OK or #MSB_EPROTO (ctx->tracestate then emptied); #MSB_EINVAL for NULL arguments.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_tracestate_parse(const char *value, size_t len, msb_trace_ctx_t *ctx,
                                          msb_error_t *err);

/**
 * @brief Look up a key in a context's tracestate.
 * @param ctx the context.
 * @param key the key (NUL-terminated).
 * @param value receives a pointer into `ctx->tracestate` (not NUL-terminated).
 * @param value_len receives its length.
 * @return #MSB_OK or #MSB_ENOTFOUND.
 * Ownership: *value is borrowed from ctx. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_tracestate_get(const msb_trace_ctx_t *ctx, const char *key,
                                        const char **value, size_t *value_len);

/**
 * @brief Set (or replace) a tracestate entry; it moves to the left of the list, as the
 * specification requires of an updated or added entry.
 *
 * When the list would exceed 32 members or #MSB_TRACESTATE_MAX bytes, entries are removed from the
 * right.
 * @param ctx the context.
 * @param key a key matching the W3C key grammar.
 * @param value a value matching the W3C value grammar.
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EINVAL (bad key or value, naming it) or #MSB_ETOOBIG (the entry alone does
 * not fit).
 * Thread-safety: one context, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_tracestate_set(msb_trace_ctx_t *ctx, const char *key, const char *value,
                                        msb_error_t *err);

/**
 * @brief Remove a tracestate entry; nothing happens when the key is absent.
 * @param ctx the context.
 * @param key the key.
 * Thread-safety: one context, one thread at a time.
 * @since 0.1
 */
MSB_API void msb_tracestate_remove(msb_trace_ctx_t *ctx, const char *key);

/** B3 sampling state. @since 0.1 */
typedef enum msb_b3_sampling {
    MSB_B3_DEFER = 0,  /**< no sampling state sent */
    MSB_B3_DENY = 1,   /**< `0` */
    MSB_B3_ACCEPT = 2, /**< `1` */
    MSB_B3_DEBUG = 3   /**< `d` (single) or `X-B3-Flags: 1` (multi) */
} msb_b3_sampling_t;

/**
 * @brief Parse a B3 single header (`b3: {TraceId}-{SpanId}-{SamplingState}-{ParentSpanId}`).
 *
 * TraceId is 32 or 16 lowercase hex digits (16 are left-padded with zeros), SpanId and
 * ParentSpanId 16; the sampling state is `0`, `1` or `d`; the last two fields are optional, and a
 * value made of the sampling state alone (`b3: 0`) carries no ids. All-zero ids are rejected.
 *
 * @param value the header value.
 * @param len its length.
 * @param out receives the ids (left invalid for a sampling-only value), `remote`, and the
 * sampled flag for accept or debug.
 * @param sampling receives the sampling state; may be NULL.
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EPROTO naming what is malformed, #MSB_EINVAL for NULL arguments.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_b3_parse_single(const char *value, size_t len, msb_trace_ctx_t *out,
                                         msb_b3_sampling_t *sampling, msb_error_t *err);

/**
 * @brief Parse B3 multiple headers (`X-B3-TraceId`, `X-B3-SpanId`, `X-B3-ParentSpanId`,
 * `X-B3-Sampled`, `X-B3-Flags`). Pass NULL for an absent header.
 *
 * TraceId and SpanId must both be present or both absent (sampling-only). `X-B3-Sampled` is `1` or
 * `0` (`true`/`false` accepted, as the specification allows lenient readers); an empty or
 * nonsense value of a present header is malformed. `X-B3-Flags: 1` means debug; other values are
 * ignored. Each string is NUL-terminated.
 *
 * @return #MSB_OK, #MSB_EPROTO naming the header, #MSB_EINVAL when out is NULL.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_b3_parse_multi(const char *trace_id, const char *span_id,
                                        const char *parent_span_id, const char *sampled,
                                        const char *flags, msb_trace_ctx_t *out,
                                        msb_b3_sampling_t *sampling, msb_error_t *err);

/* ------------------------------------------------------------------------------------------ */
/* Carriers: extract and inject through any header container                                 */
/* ------------------------------------------------------------------------------------------ */

/**
 * @brief Header access for msb_trace_extract() and msb_trace_inject().
 *
 * `get` returns the `index`-th field named `name` (case-insensitive, index from 0) in `*value` /
 * `*len` and true, or false when there is no such field. `set` adds or replaces a field; it
 * returns #MSB_OK or an error status (propagated to the caller). Either may be NULL when only the
 * other direction is used.
 * @since 0.1
 */
typedef struct msb_trace_carrier {
    /** Read the `index`-th field `name`: true and `*value`/`*len`, or false when absent. */
    bool (*get)(void *user, const char *name, size_t index, const char **value, size_t *len);
    /** Add or replace field `name` with the NUL-terminated `value`. */
    msb_status_t (*set)(void *user, const char *name, const char *value);
    void *user; /**< passed to both */
} msb_trace_carrier_t;

/** Propagation formats, a bit set. @since 0.1 */
typedef enum msb_trace_format {
    MSB_TRACE_W3C = 1,     /**< `traceparent` + `tracestate` */
    MSB_TRACE_B3 = 2,      /**< `b3` single header (extract: also `X-B3-*`) */
    MSB_TRACE_B3_MULTI = 4 /**< `X-B3-*` headers (inject only; extract reads both B3 forms) */
} msb_trace_format_t;

/**
 * @brief Read a parent context (and baggage) from incoming headers.
 *
 * W3C is tried first when asked for: a duplicated `traceparent` field is malformed; every
 * `tracestate` field is combined; a malformed tracestate is dropped without affecting the
 * traceparent. If no valid W3C context was found and #MSB_TRACE_B3 is asked for, `b3` is tried,
 * then the `X-B3-*` headers. A B3 sampling decision without ids gives an invalid context whose
 * sampled flag still says the decision (a parent-based sampler ignores invalid parents).
 *
 * @param carrier header access (`get` is used).
 * @param formats a combination of #msb_trace_format_t.
 * @param out receives the context; invalid (MSB_TRACE_CTX_INIT) when none was found.
 * @param baggage NULL, or a baggage to which the `baggage` fields are appended (malformed fields
 * are skipped).
 * @return #MSB_OK when a valid context was found, #MSB_ENOTFOUND when none was sent,
 * #MSB_EPROTO when what was sent is malformed (out is then invalid), #MSB_EINVAL.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_trace_extract(const msb_trace_carrier_t *carrier, unsigned formats,
                                       msb_trace_ctx_t *out, msb_baggage_t *baggage);

/**
 * @brief Write a context (and baggage) into outgoing headers.
 * @param ctx the context to send (usually msb_span_get_ctx() of the client span); nothing is
 * written when it is not valid.
 * @param carrier header access (`set` is used).
 * @param formats a combination of #msb_trace_format_t.
 * @param baggage NULL, or the baggage to send (nothing is written when empty).
 * @return #MSB_OK or the first error returned by `set` (#MSB_ENOMEM for the baggage).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_trace_inject(const msb_trace_ctx_t *ctx,
                                      const msb_trace_carrier_t *carrier, unsigned formats,
                                      const msb_baggage_t *baggage);

MSB_END_DECLS

#endif /* MSB_TRACE_CONTEXT_H */
