/**
 * @file trace.h
 * @brief Distributed tracing: tracer providers, spans, W3C Trace Context, W3C Baggage and B3
 * propagation, samplers, a batch span processor and OTLP/HTTP export.
 *
 * The model is OpenTelemetry's. A **tracer provider** (one per service) holds the resource
 * (`service.name`, `service.version`, `telemetry.sdk.*`, anything else), the sampler, the span
 * limits and one span processor. **Tracers** are borrowed from it per instrumentation scope
 * (`"msb.http"`, `"my-app"`). A **span** is one timed operation with a name, a kind, attributes,
 * events, links and a status; it belongs to a trace (16-byte trace id) and has an 8-byte span id.
 *
 * Two ways to find a parent:
 * - **Current span per thread** (process-wide state, see msb_span_activate()): a span started
 *   without an explicit parent becomes the child of the thread's current span. Libraries (HTTP
 *   server, client, database) create children this way without passing handles around.
 * - **Explicit context**: #msb_trace_ctx_t is a plain value (ids, flags, tracestate) that
 *   event-loop code stores per request and passes as `opts.parent` to msb_span_start().
 *
 * Ended spans go to the provider's processor: the batch processor
 * (msb_trace_batch_processor_new()) queues them in a bounded queue and exports batches on its own
 * thread, through the OTLP/HTTP exporter (msb_trace_otlp_exporter_new(), libcurl, loaded as the
 * `libmsb-curl` plugin) or the log exporter (msb_trace_log_exporter_new(), JSON lines). A full
 * queue drops spans and counts them; the caller never blocks.
 *
 * See docs/tracing.md for the guide.
 */
#ifndef MSB_TRACE_H
#define MSB_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/clock.h"
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
    uint8_t trace_id[16];                  /**< trace id, big-endian bytes */
    uint8_t span_id[8];                    /**< span id of the span this context describes */
    uint8_t flags;                         /**< #MSB_TRACE_FLAG_SAMPLED, #MSB_TRACE_FLAG_RANDOM */
    bool remote;                           /**< came from another process (extracted) */
    uint16_t tracestate_len;               /**< bytes used in `tracestate` */
    char tracestate[MSB_TRACESTATE_MAX];   /**< W3C tracestate list, normalised */
} msb_trace_ctx_t;

/** Initialiser for an empty (invalid) context. @since 0.1 */
#define MSB_TRACE_CTX_INIT                                                                         \
    {                                                                                              \
        {0}, {0}, 0, false, 0, { 0 }                                                               \
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
/* W3C Baggage                                                                                */
/* ------------------------------------------------------------------------------------------ */

/**
 * @brief A W3C Baggage set: ordered key/value members with optional properties.
 * @since 0.1
 */
typedef struct msb_baggage msb_baggage_t;

/** Most list-members in a baggage (the specification's ABNF: `list-member 0*179(...)`). */
#define MSB_BAGGAGE_MAX_MEMBERS 180
/** Largest serialised baggage, in bytes (the specification's propagation limit). */
#define MSB_BAGGAGE_MAX_BYTES 8192

/**
 * @brief Create an empty baggage.
 * @param out receives the baggage; free it with msb_baggage_free().
 * @return #MSB_OK or #MSB_ENOMEM.
 * Ownership: *out is new. Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_baggage_new(msb_baggage_t **out);

/**
 * @brief Free a baggage. NULL is a no-op.
 * Thread-safety: no other thread may use it.
 * @since 0.1
 */
MSB_API void msb_baggage_free(msb_baggage_t *bag);

/**
 * @brief Parse one `baggage` header field and append its members.
 *
 * Call once per header field, in order (multiple fields form one list). Keys are RFC 7230 tokens;
 * values are `baggage-octet`s with percent-encoding, decoded here (sequences that are not UTF-8
 * become U+FFFD, as the specification says). Properties are kept as written, without optional
 * whitespace. Malformed input (a bad key, a character outside `baggage-octet`, a `%` not followed
 * by two hex digits, an empty member) rejects the whole field: nothing is appended. Members that
 * would take the combined list past #MSB_BAGGAGE_MAX_MEMBERS or #MSB_BAGGAGE_MAX_BYTES are dropped
 * whole (never partially) and counted in msb_baggage_dropped().
 *
 * @param bag the baggage to extend.
 * @param value the header value.
 * @param len its length.
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EPROTO naming the offending member, #MSB_ENOMEM, #MSB_EINVAL.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_baggage_parse(msb_baggage_t *bag, const char *value, size_t len,
                                       msb_error_t *err);

/**
 * @brief Set a member (replacing every member with that key), appended at the end.
 * @param bag the baggage.
 * @param key an RFC 7230 token.
 * @param value any bytes (UTF-8 expected), percent-encoded on output.
 * @param properties NULL, or properties as written after the value (`k1=v1;k2`), validated.
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EINVAL (bad key or properties), #MSB_ELIMIT (the member would exceed a
 * limit), #MSB_ENOMEM.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_baggage_set(msb_baggage_t *bag, const char *key, const char *value,
                                     const char *properties, msb_error_t *err);

/**
 * @brief Look up the first member with a key.
 * @param bag the baggage.
 * @param key the key.
 * @param value receives the decoded value (NUL-terminated).
 * @return #MSB_OK or #MSB_ENOTFOUND.
 * Ownership: *value is borrowed, valid until the baggage changes or is freed.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_baggage_get(const msb_baggage_t *bag, const char *key,
                                     const char **value);

/**
 * @brief Remove every member with a key; nothing happens when it is absent.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API void msb_baggage_remove(msb_baggage_t *bag, const char *key);

/**
 * @brief Number of members.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API size_t msb_baggage_count(const msb_baggage_t *bag);

/**
 * @brief Read member `i` (0 ≤ i < msb_baggage_count()).
 * @param bag the baggage.
 * @param i the index.
 * @param key receives the key; may be NULL.
 * @param value receives the decoded value; may be NULL.
 * @param properties receives the properties as written ("" when none); may be NULL.
 * @return #MSB_OK or #MSB_ERANGE.
 * Ownership: the strings are borrowed, valid until the baggage changes or is freed.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_baggage_member(const msb_baggage_t *bag, size_t i, const char **key,
                                        const char **value, const char **properties);

/**
 * @brief Members dropped by msb_baggage_parse() because of the limits.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API size_t msb_baggage_dropped(const msb_baggage_t *bag);

/**
 * @brief Serialise as a `baggage` header value (values percent-encoded).
 * @param bag the baggage.
 * @param out receives a NUL-terminated string (empty for an empty baggage); free it with
 * msb_trace_string_free().
 * @param len receives its length; may be NULL.
 * @return #MSB_OK or #MSB_ENOMEM.
 * Ownership: *out is new. Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_baggage_format(const msb_baggage_t *bag, char **out, size_t *len);

/**
 * @brief Free a string returned by this module. NULL is a no-op.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_trace_string_free(char *s);

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

/* ------------------------------------------------------------------------------------------ */
/* Attributes                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/** Attribute value types. @since 0.1 */
typedef enum msb_attr_type {
    MSB_ATTR_STRING = 0,       /**< `v.s` */
    MSB_ATTR_INT = 1,          /**< `v.i` */
    MSB_ATTR_DOUBLE = 2,       /**< `v.d` */
    MSB_ATTR_BOOL = 3,         /**< `v.b` */
    MSB_ATTR_STRING_ARRAY = 4, /**< `v.a.items` is `const char *const *` */
    MSB_ATTR_INT_ARRAY = 5,    /**< `v.a.items` is `const int64_t *` */
    MSB_ATTR_DOUBLE_ARRAY = 6, /**< `v.a.items` is `const double *` */
    MSB_ATTR_BOOL_ARRAY = 7    /**< `v.a.items` is `const bool *` */
} msb_attr_type_t;

/**
 * @brief One attribute, as passed to the functions that take lists of attributes. Strings are
 * NUL-terminated UTF-8 and are copied by the callee.
 * @since 0.1
 */
typedef struct msb_attr {
    const char *key;      /**< attribute name, non-empty */
    msb_attr_type_t type; /**< which member of `v` is set */
    union {
        const char *s; /**< string */
        int64_t i;     /**< integer */
        double d;      /**< double */
        bool b;        /**< boolean */
        struct {
            const void *items; /**< array elements (see #msb_attr_type_t) */
            size_t n;          /**< element count */
        } a;                   /**< array */
    } v;                       /**< the value */
} msb_attr_t;

/** @cond MSB_INTERNAL_MACROS */
#define MSB_ATTR_STR_(k, x)                                                                        \
    {                                                                                              \
        .key = (k), .type = MSB_ATTR_STRING, .v = {.s = (x) }                                      \
    }
#define MSB_ATTR_INT_(k, x)                                                                        \
    {                                                                                              \
        .key = (k), .type = MSB_ATTR_INT, .v = {.i = (x) }                                         \
    }
#define MSB_ATTR_DOUBLE_(k, x)                                                                     \
    {                                                                                              \
        .key = (k), .type = MSB_ATTR_DOUBLE, .v = {.d = (x) }                                      \
    }
#define MSB_ATTR_BOOL_(k, x)                                                                       \
    {                                                                                              \
        .key = (k), .type = MSB_ATTR_BOOL, .v = {.b = (x) }                                        \
    }
/** @endcond */
/** Initialiser of a string #msb_attr_t. @since 0.1 */
#define MSB_ATTR_STR(k, x) MSB_ATTR_STR_(k, x)
/** Initialiser of an integer #msb_attr_t. @since 0.1 */
#define MSB_ATTR_INT(k, x) MSB_ATTR_INT_(k, x)
/** Initialiser of a double #msb_attr_t. @since 0.1 */
#define MSB_ATTR_DOUBLE(k, x) MSB_ATTR_DOUBLE_(k, x)
/** Initialiser of a boolean #msb_attr_t. @since 0.1 */
#define MSB_ATTR_BOOL(k, x) MSB_ATTR_BOOL_(k, x)

/* ------------------------------------------------------------------------------------------ */
/* Samplers                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/** A sampler's decision. @since 0.1 */
typedef enum msb_trace_decision {
    MSB_TRACE_DROP = 0,            /**< not recorded, not sampled (ids still propagate) */
    MSB_TRACE_RECORD_ONLY = 1,     /**< recorded and processed, sampled flag unset */
    MSB_TRACE_RECORD_AND_SAMPLE = 2 /**< recorded, sampled flag set, exported */
} msb_trace_decision_t;

/** Span kinds (OTLP values). @since 0.1 */
typedef enum msb_span_kind {
    MSB_SPAN_INTERNAL = 1, /**< an internal operation (the default) */
    MSB_SPAN_SERVER = 2,   /**< the server side of a synchronous request */
    MSB_SPAN_CLIENT = 3,   /**< the client side of a synchronous request */
    MSB_SPAN_PRODUCER = 4, /**< the sender of an asynchronous message */
    MSB_SPAN_CONSUMER = 5  /**< the receiver of an asynchronous message */
} msb_span_kind_t;

/**
 * @brief A custom sampling function.
 * @param user the sampler's `user`.
 * @param parent the parent context (invalid for a root span).
 * @param trace_id the new span's trace id.
 * @param name the span name.
 * @param kind the span kind.
 * @param attrs the attributes given at start; `nattrs` of them.
 * @param nattrs their count.
 * @return the decision. Called on the thread starting the span; must be thread-safe.
 * @since 0.1
 */
typedef msb_trace_decision_t (*msb_trace_sample_fn)(void *user, const msb_trace_ctx_t *parent,
                                                    const uint8_t trace_id[16], const char *name,
                                                    msb_span_kind_t kind, const msb_attr_t *attrs,
                                                    size_t nattrs);

/** Sampler kinds. @since 0.1 */
typedef enum msb_sampler_kind {
    MSB_SAMPLER_ALWAYS_ON = 0,  /**< sample everything */
    MSB_SAMPLER_ALWAYS_OFF = 1, /**< sample nothing */
    MSB_SAMPLER_RATIO = 2,      /**< trace-id based ratio, like OTel's TraceIdRatioBased */
    MSB_SAMPLER_CUSTOM = 3      /**< call `fn` */
} msb_sampler_kind_t;

/**
 * @brief A sampler, as a value. The ratio sampler samples a trace when the last 8 bytes of its
 * trace id, read big-endian and shifted right by one, are below `ratio * 2^63` — the algorithm of
 * OpenTelemetry's TraceIdRatioBased sampler, so services in several languages agree on the same
 * traces.
 * @since 0.1
 */
typedef struct msb_sampler {
    msb_sampler_kind_t kind; /**< which sampler */
    double ratio;            /**< #MSB_SAMPLER_RATIO: in [0, 1] */
    msb_trace_sample_fn fn;  /**< #MSB_SAMPLER_CUSTOM: the function */
    void *user;              /**< #MSB_SAMPLER_CUSTOM: its argument */
} msb_sampler_t;

/** A sampler that samples everything. @since 0.1 */
#define MSB_SAMPLER_ON                                                                             \
    {                                                                                              \
        MSB_SAMPLER_ALWAYS_ON, 1.0, NULL, NULL                                                     \
    }
/** A sampler that samples nothing. @since 0.1 */
#define MSB_SAMPLER_OFF                                                                            \
    {                                                                                              \
        MSB_SAMPLER_ALWAYS_OFF, 0.0, NULL, NULL                                                    \
    }

/**
 * @brief Apply a sampler to a trace id (no parent logic): what `kind` decides for this id.
 * @return the decision; a ratio outside [0, 1] is clamped.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_trace_decision_t msb_sampler_decide(const msb_sampler_t *sampler,
                                                const msb_trace_ctx_t *parent,
                                                const uint8_t trace_id[16], const char *name,
                                                msb_span_kind_t kind, const msb_attr_t *attrs,
                                                size_t nattrs);

/* ------------------------------------------------------------------------------------------ */
/* Exporters and processors                                                                   */
/* ------------------------------------------------------------------------------------------ */

/** @brief A span, see msb_span_start(). @since 0.1 */
typedef struct msb_span msb_span_t;
/** @brief Receives ended spans; see msb_trace_batch_processor_new(). @since 0.1 */
typedef struct msb_span_processor msb_span_processor_t;
/** @brief Sends batches of spans somewhere; see msb_trace_otlp_exporter_new(). @since 0.1 */
typedef struct msb_span_exporter msb_span_exporter_t;

/**
 * @brief Options of the OTLP/HTTP exporter. Zero fields take their defaults.
 * @since 0.1
 */
typedef struct msb_trace_otlp_opts {
    size_t size;            /**< sizeof(msb_trace_otlp_opts_t) */
    /**
     * Collector base URL (`http://127.0.0.1:4318`); `/v1/traces` is appended unless the URL
     * already ends with it. NULL reads `MSB_TRACE__OTLP__ENDPOINT`, then
     * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is), then `OTEL_EXPORTER_OTLP_ENDPOINT`,
     * then `http://127.0.0.1:4318`.
     */
    const char *endpoint;
    const char *const *headers; /**< NULL, or extra `"Name: value"` lines, NULL-terminated */
    uint32_t timeout_ms;        /**< one HTTP request; default 10000 (OTLP default) */
    uint32_t retry_initial_ms;  /**< first backoff; default 1000 */
    uint32_t retry_max_ms;      /**< backoff cap; default 30000 */
    uint32_t retry_max_elapsed_ms; /**< give up retrying after this; default 60000 */
    bool gzip;                  /**< compress bodies (Content-Encoding: gzip); default false */
} msb_trace_otlp_opts_t;

/** Default options for msb_trace_otlp_exporter_new(). @since 0.1 */
#define MSB_TRACE_OTLP_OPTS_INIT                                                                   \
    {                                                                                              \
        sizeof(msb_trace_otlp_opts_t), NULL, NULL, 10000, 1000, 30000, 60000, false                \
    }

/**
 * @brief Create an exporter that POSTs OTLP/HTTP JSON (`application/json`) to a collector.
 *
 * Retries 429, 502, 503 and 504 and connection failures with exponential backoff and full
 * jitter, honouring `Retry-After` (seconds or an HTTP date) as the OTLP specification asks; other
 * answers are final. Every attempt is bounded by the batch's export deadline. The HTTP client is
 * libcurl in the `libmsb-curl` plugin, loaded on first use.
 *
 * @param opts options, or NULL for the defaults.
 * @param out receives the exporter; give it to a processor (which takes it) or free it with
 * msb_span_exporter_free().
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EINVAL (bad URL or option, named), #MSB_ENOTSUP (built without curl),
 * #MSB_EUNAVAIL (the plugin could not be loaded), #MSB_ENOMEM.
 * Ownership: *out is new. Thread-safety: the exporter is used by one processor thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_trace_otlp_exporter_new(const msb_trace_otlp_opts_t *opts,
                                                 msb_span_exporter_t **out, msb_error_t *err);

/**
 * @brief Create an exporter that writes each span as one JSON line (the OTLP JSON span object
 * with `resource` and `scope` beside it) to a file descriptor: the fallback when no collector is
 * configured.
 * @param fd where to write (for example 2); not closed by the exporter.
 * @param out receives the exporter.
 * @return #MSB_OK, #MSB_EINVAL (negative fd) or #MSB_ENOMEM.
 * Ownership: *out is new. Thread-safety: used by one processor thread; each line is one write().
 * @since 0.1
 */
MSB_API msb_status_t msb_trace_log_exporter_new(int fd, msb_span_exporter_t **out);

/**
 * @brief Export function of a custom exporter.
 * @param user the exporter's `user`.
 * @param json an OTLP/HTTP JSON `ExportTraceServiceRequest` with the batch.
 * @param len its length.
 * @param spans the batch itself, for exporters that read spans with the msb_span_* getters.
 * @param n the number of spans.
 * @return #MSB_OK or an error status (counted as a failed export).
 * @since 0.1
 */
typedef msb_status_t (*msb_trace_export_fn)(void *user, const char *json, size_t len,
                                            const msb_span_t *const *spans, size_t n);

/**
 * @brief Create an exporter calling `fn` with each batch.
 * @param fn the function.
 * @param user its argument.
 * @param out receives the exporter.
 * @return #MSB_OK, #MSB_EINVAL or #MSB_ENOMEM.
 * Ownership: *out is new. Thread-safety: `fn` is called on the processor's thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_trace_exporter_new(msb_trace_export_fn fn, void *user,
                                            msb_span_exporter_t **out);

/**
 * @brief Free an exporter that no processor took. NULL is a no-op.
 * Thread-safety: no other thread may use it.
 * @since 0.1
 */
MSB_API void msb_span_exporter_free(msb_span_exporter_t *exp);

/**
 * @brief Options of the batch span processor; the defaults are OpenTelemetry's.
 * @since 0.1
 */
typedef struct msb_trace_batch_opts {
    size_t size;                /**< sizeof(msb_trace_batch_opts_t) */
    uint32_t max_queue_size;    /**< bounded queue of ended spans; default 2048 */
    uint32_t schedule_delay_ms; /**< export at least this often; default 5000 */
    uint32_t export_timeout_ms; /**< deadline of one batch export, retries included; 30000 */
    uint32_t max_export_batch_size; /**< spans per export, ≤ max_queue_size; default 512 */
} msb_trace_batch_opts_t;

/** Default options for msb_trace_batch_processor_new(). @since 0.1 */
#define MSB_TRACE_BATCH_OPTS_INIT                                                                  \
    {                                                                                              \
        sizeof(msb_trace_batch_opts_t), 2048, 5000, 30000, 512                                     \
    }

/**
 * @brief Create a batch span processor: ended sampled spans enter a bounded lock-free queue and
 * a background thread exports them in batches (when a batch is full, every schedule delay, on
 * flush and at shutdown). A full queue drops the span and counts it (msb_span_processor_dropped());
 * the ending thread never waits.
 * @param opts options, or NULL for the defaults.
 * @param exporter the exporter; taken on success (freed with the processor).
 * @param out receives the processor; give it to a provider (which takes it) or free it with
 * msb_span_processor_free().
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EINVAL (naming the option), #MSB_ENOMEM, #MSB_EIO (thread creation).
 * Ownership: *out is new; `exporter` is taken on success only.
 * Thread-safety: spans may end on any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_trace_batch_processor_new(const msb_trace_batch_opts_t *opts,
                                                   msb_span_exporter_t *exporter,
                                                   msb_span_processor_t **out, msb_error_t *err);

/**
 * @brief Create a processor that exports each sampled span on the thread that ends it (tests,
 * CLIs). Calls to the exporter are serialised with a mutex.
 * @param exporter taken on success.
 * @param out receives the processor.
 * @return #MSB_OK, #MSB_EINVAL or #MSB_ENOMEM.
 * Ownership: *out is new. Thread-safety: spans may end on any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_trace_simple_processor_new(msb_span_exporter_t *exporter,
                                                    msb_span_processor_t **out);

/**
 * @brief Function of a custom processor, called with each ended recording span.
 * The span is borrowed for the duration of the call (read it with the msb_span_* getters).
 * @since 0.1
 */
typedef void (*msb_trace_on_end_fn)(void *user, const msb_span_t *span);

/**
 * @brief Create a processor calling `fn` for every ended recording span, on the ending thread.
 * @param fn the function (must be thread-safe when spans end on several threads).
 * @param user its argument.
 * @param out receives the processor.
 * @return #MSB_OK, #MSB_EINVAL or #MSB_ENOMEM.
 * Ownership: *out is new. Thread-safety: as `fn`.
 * @since 0.1
 */
MSB_API msb_status_t msb_trace_processor_new(msb_trace_on_end_fn fn, void *user,
                                             msb_span_processor_t **out);

/**
 * @brief Export everything queued so far and wait for it, at most `timeout_ms`.
 * @param proc the processor.
 * @param timeout_ms the deadline.
 * @return #MSB_OK, #MSB_ETIMEDOUT, or the last export's failure status.
 * Thread-safety: safe from any thread except the processor's own.
 * @since 0.1
 */
MSB_API msb_status_t msb_span_processor_flush(msb_span_processor_t *proc, uint32_t timeout_ms);

/**
 * @brief Spans dropped because the queue was full (or memory ran out), since creation.
 * Thread-safety: safe from any thread (an atomic read).
 * @since 0.1
 */
MSB_API uint64_t msb_span_processor_dropped(const msb_span_processor_t *proc);

/**
 * @brief Spans exported successfully, since creation.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API uint64_t msb_span_processor_exported(const msb_span_processor_t *proc);

/**
 * @brief Spans whose export failed (after retries), since creation.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API uint64_t msb_span_processor_failed(const msb_span_processor_t *proc);

/**
 * @brief Shut down (flush with `timeout_ms`, stop the thread) and free a processor that no
 * provider took. NULL is a no-op.
 * Thread-safety: no span may still be ending into it.
 * @since 0.1
 */
MSB_API void msb_span_processor_free(msb_span_processor_t *proc, uint32_t timeout_ms);

/* ------------------------------------------------------------------------------------------ */
/* Provider and tracers                                                                       */
/* ------------------------------------------------------------------------------------------ */

/** @brief A tracer provider: one per service. @since 0.1 */
typedef struct msb_tracer_provider msb_tracer_provider_t;
/** @brief A tracer: the provider seen from one instrumentation scope. @since 0.1 */
typedef struct msb_tracer msb_tracer_t;

/**
 * @brief Options of a tracer provider. Zero/NULL fields take their defaults.
 * @since 0.1
 */
typedef struct msb_tracer_provider_opts {
    size_t size;                  /**< sizeof(msb_tracer_provider_opts_t) */
    const char *service_name;     /**< `service.name`; required */
    const char *service_version;  /**< `service.version`; NULL: omitted */
    const msb_attr_t *resource;   /**< more resource attributes; `resource_count` of them */
    size_t resource_count;        /**< number of `resource` entries */
    msb_sampler_t sampler;        /**< root sampler; default always on */
    /**
     * Parent-based sampling (default true): a span with a valid parent follows the parent's
     * sampled flag (the four delegates below), and `sampler` decides only for roots.
     */
    bool parent_based;
    msb_sampler_t remote_parent_sampled;     /**< default always on */
    msb_sampler_t remote_parent_not_sampled; /**< default always off */
    msb_sampler_t local_parent_sampled;      /**< default always on */
    msb_sampler_t local_parent_not_sampled;  /**< default always off */
    /** Processor for ended spans, taken on success; NULL: spans are recorded and discarded. */
    msb_span_processor_t *processor;
    const msb_clock_t *clock; /**< span timestamps; NULL: msb_clock_real() */
    uint32_t max_attributes;  /**< per span, event and link; default 128 (extra ones dropped) */
    uint32_t max_events;      /**< per span; default 128 */
    uint32_t max_links;       /**< per span; default 128 */
    uint32_t max_attr_value_len; /**< longer strings are cut (at a UTF-8 boundary); 0: none */
    /** Install msb_trace_log_context() as the logger's context hook (default true). */
    bool log_hook;
    /** Shutdown flush deadline used by msb_tracer_provider_free(); default 5000 ms. */
    uint32_t shutdown_timeout_ms;
} msb_tracer_provider_opts_t;

/** Default options for msb_tracer_provider_new() (set `service_name`). @since 0.1 */
#define MSB_TRACER_PROVIDER_OPTS_INIT                                                              \
    {                                                                                              \
        sizeof(msb_tracer_provider_opts_t), NULL, NULL, NULL, 0, MSB_SAMPLER_ON, true,             \
            MSB_SAMPLER_ON, MSB_SAMPLER_OFF, MSB_SAMPLER_ON, MSB_SAMPLER_OFF, NULL, NULL, 128,     \
            128, 128, 0, true, 5000                                                                \
    }

/**
 * @brief Create a tracer provider.
 *
 * The resource gets `service.name`, `service.version` (when given), `telemetry.sdk.name`
 * ("libmsb"), `telemetry.sdk.language` ("c"), `telemetry.sdk.version` (msb_version()) and
 * `opts.resource`.
 * @param opts options; `service_name` is required.
 * @param out receives the provider; free it with msb_tracer_provider_free().
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EINVAL (naming the field), #MSB_ENOMEM.
 * Ownership: *out is new; `opts->processor` is taken on success only.
 * Thread-safety: the provider and its tracers are safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_tracer_provider_new(const msb_tracer_provider_opts_t *opts,
                                             msb_tracer_provider_t **out, msb_error_t *err);

/**
 * @brief Shut down and free a provider: flush its processor (at most `shutdown_timeout_ms`), stop
 * it, free the tracers. NULL is a no-op. If it is the global provider, the global is cleared.
 * Thread-safety: every span of the provider must have ended, and no thread may start new ones.
 * @since 0.1
 */
MSB_API void msb_tracer_provider_free(msb_tracer_provider_t *provider);

/**
 * @brief Flush the provider's processor (see msb_span_processor_flush()).
 * @return #MSB_OK, #MSB_ETIMEDOUT, or the last export failure.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_tracer_provider_flush(msb_tracer_provider_t *provider,
                                               uint32_t timeout_ms);

/**
 * @brief The provider's processor, to read its counters.
 * @return the processor or NULL. Ownership: borrowed, valid until the provider is freed.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_span_processor_t *msb_tracer_provider_processor(const msb_tracer_provider_t *provider);

/**
 * @brief Get the tracer of an instrumentation scope, made on first use.
 * @param provider the provider; NULL gives the global provider's tracer (msb_trace_tracer()).
 * @param scope_name scope name (`"msb.http"`); NULL means the service name.
 * @param scope_version scope version or NULL.
 * @return the tracer; never NULL (a no-op tracer when there is no provider or memory ran out).
 * Ownership: borrowed, valid until the provider is freed. Thread-safety: safe from any thread
 * (a short lock; keep the pointer rather than looking it up for every span).
 * @since 0.1
 */
MSB_API msb_tracer_t *msb_tracer_provider_tracer(msb_tracer_provider_t *provider,
                                                 const char *scope_name,
                                                 const char *scope_version);

/**
 * @brief Make a provider the process-wide global (or clear it with NULL), for libraries that
 * trace without being handed a provider.
 *
 * Process-wide state. The provider stays owned by the caller; free it only after clearing the
 * global (msb_tracer_provider_free() clears it itself).
 * Thread-safety: safe from any thread (an atomic store).
 * @since 0.1
 */
MSB_API void msb_trace_set_global_provider(msb_tracer_provider_t *provider);

/**
 * @brief The global provider, or NULL.
 * Ownership: borrowed. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_tracer_provider_t *msb_trace_global_provider(void);

/**
 * @brief Tracer of a scope from the global provider (a no-op tracer when none is set).
 * @return never NULL. Ownership: borrowed, valid until the global provider is freed.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_tracer_t *msb_trace_tracer(const char *scope_name, const char *scope_version);

/* ------------------------------------------------------------------------------------------ */
/* Spans                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/**
 * @brief Options of msb_span_start(). Zero/NULL fields take their defaults.
 * @since 0.1
 */
typedef struct msb_span_opts {
    size_t size;             /**< sizeof(msb_span_opts_t) */
    msb_span_kind_t kind;    /**< default #MSB_SPAN_INTERNAL (0 also means internal) */
    /**
     * Explicit parent (event-loop code, extracted contexts). NULL: the thread's current span.
     * An invalid context starts a new trace.
     */
    const msb_trace_ctx_t *parent;
    bool root;               /**< ignore the current span: start a new trace */
    const msb_attr_t *attrs; /**< attributes known at start (seen by the sampler) */
    size_t nattrs;           /**< their count */
    const msb_trace_ctx_t *links; /**< linked contexts (batch consumers, fan-in) */
    size_t nlinks;           /**< their count */
    int64_t start_ns;        /**< wall-clock start (ns since the epoch); 0: now */
} msb_span_opts_t;

/** Default options for msb_span_start(). @since 0.1 */
#define MSB_SPAN_OPTS_INIT                                                                         \
    {                                                                                              \
        sizeof(msb_span_opts_t), MSB_SPAN_INTERNAL, NULL, false, NULL, 0, NULL, 0, 0               \
    }

/**
 * @brief Start a span.
 *
 * The parent is `opts->parent` when given, else the thread's current span (unless
 * `opts->root`). The child keeps the parent's trace id, tracestate and random flag; a root gets a
 * new random trace id (never all zeros) with #MSB_TRACE_FLAG_RANDOM. The sampler decides whether
 * the span records; a non-recording span still has ids and propagates them, and every setter on
 * it is a cheap no-op. No allocation on the fast path: spans come from a per-thread pool and up
 * to 8 attributes are stored inline.
 *
 * @param tracer the tracer (from msb_tracer_provider_tracer() or msb_trace_tracer()).
 * @param name the span name, copied (NULL: "span").
 * @param opts options or NULL.
 * @return the span; never NULL (when memory runs out, a shared no-op span with an invalid
 * context). End it with msb_span_end().
 * Ownership: the caller owns the span until msb_span_end().
 * Thread-safety: a span is used by one thread at a time; it may end on another thread than the
 * one that started it unless it is active (see msb_span_activate()).
 * @since 0.1
 */
MSB_API msb_span_t *msb_span_start(msb_tracer_t *tracer, const char *name,
                                   const msb_span_opts_t *opts);

/**
 * @brief End a span now: it leaves the thread's current-span stack if it is on it, goes to the
 * processor when recording, and the handle becomes invalid.
 * @param span the span; NULL is a no-op.
 * Ownership: the span is consumed. Thread-safety: see msb_span_start().
 * @since 0.1
 */
MSB_API void msb_span_end(msb_span_t *span);

/**
 * @brief End a span at a given wall-clock time (ns since the epoch).
 * @param span the span; NULL is a no-op.
 * @param end_ns the end time; earlier than the start means the start.
 * Ownership: the span is consumed. Thread-safety: see msb_span_start().
 * @since 0.1
 */
MSB_API void msb_span_end_at(msb_span_t *span, int64_t end_ns);

/**
 * @brief Make a span the current span of the calling thread (pushing the previous one).
 *
 * Process-wide state: every thread has one current-span stack, read by msb_span_start() (parent
 * by default), msb_trace_current() and the log hook. msb_span_deactivate() or msb_span_end() pops
 * it (out-of-order pops are handled). An active span must be ended on the thread where it is
 * active.
 * @param span the span; NULL is a no-op.
 * Thread-safety: affects only the calling thread.
 * @since 0.1
 */
MSB_API void msb_span_activate(msb_span_t *span);

/**
 * @brief Remove a span from the calling thread's current-span stack (it stays open).
 * @param span the span; a span not on the stack is ignored.
 * Thread-safety: affects only the calling thread.
 * @since 0.1
 */
MSB_API void msb_span_deactivate(msb_span_t *span);

/**
 * @brief The calling thread's current span, or NULL.
 * Ownership: borrowed, valid until it ends. Thread-safety: the calling thread only.
 * @since 0.1
 */
MSB_API msb_span_t *msb_trace_current(void);

/**
 * @brief Copy the calling thread's current span context into `out`.
 * @return true when there is a current span (out filled), false otherwise (out made invalid).
 * Thread-safety: the calling thread only.
 * @since 0.1
 */
MSB_API bool msb_trace_current_ctx(msb_trace_ctx_t *out);

/**
 * @brief Whether the span records (attributes, events and status are kept).
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API bool msb_span_is_recording(const msb_span_t *span);

/**
 * @brief Copy a span's context (ids, flags, tracestate) into `out`.
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API void msb_span_get_ctx(const msb_span_t *span, msb_trace_ctx_t *out);

/**
 * @brief Set a string attribute (replacing a previous value of the key). Strings are copied;
 * past `max_attributes` distinct keys the attribute is dropped and counted.
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API void msb_span_set_str(msb_span_t *span, const char *key, const char *value);

/**
 * @brief Set a string attribute from `len` bytes (not necessarily NUL-terminated).
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API void msb_span_set_strn(msb_span_t *span, const char *key, const char *value, size_t len);

/**
 * @brief Set an integer attribute.
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API void msb_span_set_int(msb_span_t *span, const char *key, int64_t value);

/**
 * @brief Set a double attribute.
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API void msb_span_set_double(msb_span_t *span, const char *key, double value);

/**
 * @brief Set a boolean attribute.
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API void msb_span_set_bool(msb_span_t *span, const char *key, bool value);

/**
 * @brief Set attributes of any type, arrays included.
 * @param span the span.
 * @param attrs the attributes; entries with a NULL or empty key or an unknown type are ignored.
 * @param n their count.
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API void msb_span_set_attrs(msb_span_t *span, const msb_attr_t *attrs, size_t n);

/**
 * @brief Add an event (a named, timestamped annotation with attributes).
 * @param span the span.
 * @param name the event name, copied.
 * @param attrs attributes or NULL; `n` of them.
 * @param n their count.
 * @param time_ns wall-clock time of the event; 0 means now.
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API void msb_span_add_event(msb_span_t *span, const char *name, const msb_attr_t *attrs,
                                size_t n, int64_t time_ns);

/**
 * @brief Record an exception as an `exception` event (`exception.type`, `exception.message`)
 * and set the status to error with the message.
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API void msb_span_record_error(msb_span_t *span, const char *type, const char *message);

/**
 * @brief Add a link to another span context (ignored when the context is not valid).
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API void msb_span_add_link(msb_span_t *span, const msb_trace_ctx_t *ctx,
                               const msb_attr_t *attrs, size_t n);

/** Span status codes (OTLP values). @since 0.1 */
typedef enum msb_span_status {
    MSB_SPAN_UNSET = 0, /**< the default */
    MSB_SPAN_OK = 1,    /**< explicitly successful: final, later error statuses are ignored */
    MSB_SPAN_ERROR = 2  /**< failed; the message says why */
} msb_span_status_t;

/**
 * @brief Set the status. The message is kept for #MSB_SPAN_ERROR only; #MSB_SPAN_OK is final
 * (later calls are ignored); #MSB_SPAN_UNSET is ignored — the rules of the OpenTelemetry API.
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API void msb_span_set_status(msb_span_t *span, msb_span_status_t code, const char *message);

/**
 * @brief Rename the span (for example once the route is known).
 * Thread-safety: as the span.
 * @since 0.1
 */
MSB_API void msb_span_update_name(msb_span_t *span, const char *name);

/* Getters, for processors and exporters (and tests). */

/**
 * @brief The span's name. Ownership: borrowed, valid while the span is.
 * @since 0.1
 */
MSB_API const char *msb_span_name(const msb_span_t *span);
/** @brief The span's kind. @since 0.1 */
MSB_API msb_span_kind_t msb_span_kind(const msb_span_t *span);
/** @brief Start time, ns since the epoch. @since 0.1 */
MSB_API int64_t msb_span_start_ns(const msb_span_t *span);
/** @brief End time, ns since the epoch (0 while running). @since 0.1 */
MSB_API int64_t msb_span_end_ns(const msb_span_t *span);
/**
 * @brief The parent's span id; false for a root span.
 * @since 0.1
 */
MSB_API bool msb_span_parent_id(const msb_span_t *span, uint8_t out[8]);
/**
 * @brief Status code, and its message (borrowed, "" when none) in *message when not NULL.
 * @since 0.1
 */
MSB_API msb_span_status_t msb_span_status(const msb_span_t *span, const char **message);
/** @brief Number of attributes kept. @since 0.1 */
MSB_API size_t msb_span_attr_count(const msb_span_t *span);
/**
 * @brief Read attribute `i` as an #msb_attr_t (string and array pointers borrowed from the span).
 * @return #MSB_OK or #MSB_ERANGE.
 * @since 0.1
 */
MSB_API msb_status_t msb_span_attr(const msb_span_t *span, size_t i, msb_attr_t *out);
/** @brief Number of events kept. @since 0.1 */
MSB_API size_t msb_span_event_count(const msb_span_t *span);
/** @brief Number of links kept. @since 0.1 */
MSB_API size_t msb_span_link_count(const msb_span_t *span);
/**
 * @brief Attributes, events and links dropped because of the limits.
 * @since 0.1
 */
MSB_API void msb_span_dropped(const msb_span_t *span, uint32_t *attrs, uint32_t *events,
                              uint32_t *links);

/* ------------------------------------------------------------------------------------------ */
/* Logs joined to traces                                                                      */
/* ------------------------------------------------------------------------------------------ */

struct msb_log_field;

/**
 * @brief The logger's context hook (log.h's `msb_log_context_fn`): fills `trace_id` and `span_id`
 * (lowercase hex strings) from the calling thread's current span.
 * @param out where to write the fields.
 * @param max room in `out`.
 * @param user unused.
 * @return the number of fields written: 2, or 0 when no span is current (or max < 2).
 * Ownership: the strings live in thread-local storage, valid until the next call on the thread.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API size_t msb_trace_log_context(struct msb_log_field *out, size_t max, void *user);

/**
 * @brief Install msb_trace_log_context() as the logger's context hook (providers do it by
 * default, see `log_hook`). Process-wide.
 * @return #MSB_OK, or #MSB_ENOTSUP when this build has no logger.
 * Thread-safety: as msb_log_set_context_hook().
 * @since 0.1
 */
MSB_API msb_status_t msb_trace_install_log_hook(void);

MSB_END_DECLS

#endif /* MSB_TRACE_H */
