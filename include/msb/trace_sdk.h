/**
 * @file trace_sdk.h
 * @brief The parts of the tracing module around spans: attributes, samplers, span processors
 * (batch, simple, custom) and exporters (OTLP/HTTP, log, custom) (include trace.h).
 */
#ifndef MSB_TRACE_SDK_H
#define MSB_TRACE_SDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/error.h"
#include "msb/trace_context.h"

MSB_BEGIN_DECLS

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
    MSB_TRACE_DROP = 0,             /**< not recorded, not sampled (ids still propagate) */
    MSB_TRACE_RECORD_ONLY = 1,      /**< recorded and processed, sampled flag unset */
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
    size_t size; /**< sizeof(msb_trace_otlp_opts_t) */
    /**
     * Collector base URL (`http://127.0.0.1:4318`); `/v1/traces` is appended unless the URL
     * already ends with it. NULL reads `MSB_TRACE__OTLP__ENDPOINT`, then
     * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is), then `OTEL_EXPORTER_OTLP_ENDPOINT`,
     * then `http://127.0.0.1:4318`.
     */
    const char *endpoint;
    const char *const *headers;    /**< NULL, or extra `"Name: value"` lines, NULL-terminated */
    uint32_t timeout_ms;           /**< one HTTP request; default 10000 (OTLP default) */
    uint32_t retry_initial_ms;     /**< first backoff; default 1000 */
    uint32_t retry_max_ms;         /**< backoff cap; default 30000 */
    uint32_t retry_max_elapsed_ms; /**< give up retrying after this; default 60000 */
    bool gzip;                     /**< compress bodies (Content-Encoding: gzip); default false */
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
    size_t size;                    /**< sizeof(msb_trace_batch_opts_t) */
    uint32_t max_queue_size;        /**< bounded queue of ended spans; default 2048 */
    uint32_t schedule_delay_ms;     /**< export at least this often; default 5000 */
    uint32_t export_timeout_ms;     /**< deadline of one batch export, retries included; 30000 */
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

MSB_END_DECLS

#endif /* MSB_TRACE_SDK_H */
