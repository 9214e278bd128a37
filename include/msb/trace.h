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
 * The module's declarations are spread over four headers, all included by this one:
 * trace_context.h (contexts, W3C and B3 formats, carriers), baggage.h (W3C Baggage), trace_sdk.h
 * (attributes, samplers, processors, exporters) and this file (providers, tracers, spans, log
 * correlation). See docs/tracing.md for the guide.
 */
#ifndef MSB_TRACE_H
#define MSB_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/baggage.h"
#include "msb/clock.h"
#include "msb/error.h"
#include "msb/trace_context.h"
#include "msb/trace_sdk.h"

MSB_BEGIN_DECLS

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
    size_t size;                 /**< sizeof(msb_tracer_provider_opts_t) */
    const char *service_name;    /**< `service.name`; required */
    const char *service_version; /**< `service.version`; NULL: omitted */
    const msb_attr_t *resource;  /**< more resource attributes; `resource_count` of them */
    size_t resource_count;       /**< number of `resource` entries */
    msb_sampler_t sampler;       /**< root sampler; default always on */
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
    const msb_clock_t *clock;    /**< span timestamps; NULL: msb_clock_real() */
    uint32_t max_attributes;     /**< per span, event and link; default 128 (extra ones dropped) */
    uint32_t max_events;         /**< per span; default 128 */
    uint32_t max_links;          /**< per span; default 128 */
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
                                                 const char *scope_name, const char *scope_version);

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
    size_t size;          /**< sizeof(msb_span_opts_t) */
    msb_span_kind_t kind; /**< default #MSB_SPAN_INTERNAL (0 also means internal) */
    /**
     * Explicit parent (event-loop code, extracted contexts). NULL: the thread's current span.
     * An invalid context starts a new trace.
     */
    const msb_trace_ctx_t *parent;
    bool root;                    /**< ignore the current span: start a new trace */
    const msb_attr_t *attrs;      /**< attributes known at start (seen by the sampler) */
    size_t nattrs;                /**< their count */
    const msb_trace_ctx_t *links; /**< linked contexts (batch consumers, fan-in) */
    size_t nlinks;                /**< their count */
    int64_t start_ns;             /**< wall-clock start (ns since the epoch); 0: now */
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
 * @return #MSB_OK.
 * Thread-safety: as msb_log_set_context_hook().
 * @since 0.1
 */
MSB_API msb_status_t msb_trace_install_log_hook(void);

MSB_END_DECLS

#endif /* MSB_TRACE_H */
