/*
 * Internals of the tracing module, shared by the src/trace files (never installed).
 *
 * Memory of a span: the struct comes from a per-thread pool (span_pool.c); its strings (name,
 * attribute keys and string values) go to an inline arena and, past it, to heap chunks freed
 * when the span returns to the pool. Up to MSB__SPAN_INLINE_ATTRS attributes are stored in the
 * struct, so a span with a few attributes costs no allocation.
 */
#ifndef MSB_TRACE_INTERNAL_H
#define MSB_TRACE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/buf.h"
#include "core/common.h"
#include "msb/trace.h"

#define MSB__SPAN_INLINE_ATTRS 8
#define MSB__SPAN_ARENA        320
#define MSB__TRACER_MAX        64

typedef struct msb__str {
    const char *p;
    size_t len;
} msb__str_t;

typedef struct msb__attr {
    msb__str_t key;
    msb_attr_type_t type;
    union {
        msb__str_t s;
        int64_t i;
        double d;
        bool b;
        struct {
            void *items; /* const char *[] (NUL-terminated copies), int64_t[], double[], bool[] */
            size_t n;
        } a;
    } v;
} msb__attr_t;

typedef struct msb__attr_list {
    msb__attr_t *items;
    uint32_t n;
    uint32_t dropped;
} msb__attr_list_t;

typedef struct msb__event {
    msb__str_t name;
    int64_t time_ns;
    msb__attr_list_t attrs;
} msb__event_t;

typedef struct msb__link {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags;
    bool remote;
    msb__str_t tracestate;
    msb__attr_list_t attrs;
} msb__link_t;

/* A heap block for span strings and arrays that do not fit the inline arena. */
typedef struct msb__chunk {
    struct msb__chunk *next;
    size_t used;
    size_t cap;
    max_align_t data[];
} msb__chunk_t;

typedef struct msb__sampler_set {
    msb_sampler_t root;
    bool parent_based;
    msb_sampler_t remote_sampled;
    msb_sampler_t remote_not_sampled;
    msb_sampler_t local_sampled;
    msb_sampler_t local_not_sampled;
} msb__sampler_set_t;

struct msb_tracer {
    msb_tracer_provider_t *provider; /* NULL: the no-op tracer */
    char *scope_name;
    char *scope_version;
};

struct msb_tracer_provider {
    msb__sampler_set_t sampler;
    msb_span_processor_t *processor;
    const msb_clock_t *clock;
    bool offset_clock; /* real or coarse clock: wall time = monotonic + offset */
    _Atomic int64_t wall_offset;
    _Atomic uint64_t offset_taken_at;
    uint32_t max_attrs;
    uint32_t max_events;
    uint32_t max_links;
    uint32_t max_value_len;
    uint32_t shutdown_timeout_ms;
    char *service_name;
    /* Resource attributes, owned, with their strings in `resource_mem`. */
    msb__attr_t *resource;
    size_t resource_count;
    msb__chunk_t *resource_mem;
    pthread_mutex_t lock; /* guards tracers */
    msb_tracer_t *tracers[MSB__TRACER_MAX];
    size_t ntracers;
    msb_tracer_t fallback; /* returned when the table is full or memory ran out */
};

struct msb_span {
    struct msb_span *next;        /* pool free list */
    struct msb_span *prev_active; /* the current span below this one, while active */
    msb_tracer_t *tracer;
    msb_tracer_provider_t *provider;
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_id[8];
    uint8_t flags;
    uint8_t kind;
    uint8_t status;
    bool has_parent;
    bool parent_remote;
    bool recording;
    bool active;
    bool noop; /* the shared span returned when memory ran out */
    int64_t start_ns;
    int64_t end_ns;
    uint64_t start_mono;
    msb__str_t name;
    msb__str_t status_msg;
    msb__str_t tracestate;
    msb__attr_list_t attrs;
    uint32_t attr_cap;
    msb__event_t *events;
    uint32_t nevents;
    uint32_t event_cap;
    uint32_t dropped_events;
    msb__link_t *links;
    uint32_t nlinks;
    uint32_t link_cap;
    uint32_t dropped_links;
    msb__chunk_t *chunks;
    uint32_t arena_used;
    msb__attr_t inline_attrs[MSB__SPAN_INLINE_ATTRS];
    max_align_t arena[MSB__SPAN_ARENA / sizeof(max_align_t)];
};

/* ---- processors and exporters ---------------------------------------------------------- */

struct msb_span_processor {
    /* Takes the (recording) span: must call msb__span_release() on it, now or later. */
    void (*on_end)(msb_span_processor_t *p, msb_span_t *span);
    msb_status_t (*flush)(msb_span_processor_t *p, uint32_t timeout_ms);
    /* Flush, stop and free everything. */
    void (*shutdown)(msb_span_processor_t *p, uint32_t timeout_ms);
    _Atomic uint64_t dropped;
    _Atomic uint64_t exported;
    _Atomic uint64_t failed;
};

struct msb_span_exporter {
    /* Export n sampled, ended spans before deadline (monotonic ns of msb_clock_real()), or before
     * `cancel_at` if the processor lowers it while the export runs (shutdown). */
    msb_status_t (*export_spans)(msb_span_exporter_t *e, msb_span_t *const *spans, size_t n,
                                 uint64_t deadline_ns, msb_error_t *err);
    void (*destroy)(msb_span_exporter_t *e);
    _Atomic uint64_t cancel_at; /* UINT64_MAX unless a shutdown deadline applies */
};

/* The earlier of deadline and the exporter's cancel_at. */
MSB_INTERNAL uint64_t msb__exporter_deadline(msb_span_exporter_t *e, uint64_t deadline);

/* ---- span_pool.c ------------------------------------------------------------------------ */
MSB_INTERNAL msb_span_t *msb__span_alloc(void);
/* Free the span's chunks and event/link arrays and return it to the pool. */
MSB_INTERNAL void msb__span_release(msb_span_t *span);
/* Free every cached span (this thread's and the shared pool's); for tests and shutdown. */
MSB_INTERNAL void msb__trace_pool_drain(void);
/* The calling thread's current span slot. */
MSB_INTERNAL msb_span_t **msb__trace_current_slot(void);
/* Thread-local scratch for the log hook: trace id and span id hex. */
MSB_INTERNAL char *msb__trace_tls_hex(size_t which);

/* ---- span_mem.c ------------------------------------------------------------------------- */
/* Allocate n bytes of span memory (arena, then chunks); NULL when out of memory. */
MSB_INTERNAL void *msb__span_mem(msb_span_t *s, size_t n);
/* Copy a string into span memory (NUL-terminated); false when out of memory. */
MSB_INTERNAL bool msb__span_strdup(msb_span_t *s, const char *p, size_t n, msb__str_t *out);
/* Copy a public attribute into `out` using span memory; false when out of memory or invalid. */
MSB_INTERNAL bool msb__span_attr_copy(msb_span_t *s, const msb_attr_t *in, msb__attr_t *out);
/* Same with a chunk list (resource attributes). */
MSB_INTERNAL void *msb__chunk_alloc(msb__chunk_t **chunks, size_t n);
MSB_INTERNAL void msb__chunks_free(msb__chunk_t *chunks);
MSB_INTERNAL bool msb__attr_copy_chunks(msb__chunk_t **chunks, const msb_attr_t *in,
                                        msb__attr_t *out, uint32_t max_value_len);
/* Cut a string at max bytes without splitting a UTF-8 character. */
MSB_INTERNAL size_t msb__utf8_cut(const char *p, size_t n, size_t max);

/* ---- sampler.c -------------------------------------------------------------------------- */
MSB_INTERNAL msb_status_t msb__sampler_check(const msb_sampler_t *s, const char *field,
                                             msb_error_t *err);
MSB_INTERNAL msb_trace_decision_t msb__sample(const msb__sampler_set_t *set,
                                              const msb_trace_ctx_t *parent,
                                              const uint8_t trace_id[16], const char *name,
                                              msb_span_kind_t kind, const msb_attr_t *attrs,
                                              size_t nattrs);

/* ---- ctx.c ------------------------------------------------------------------------------ */
MSB_INTERNAL void msb__hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode 2n lowercase hex digits; false on any other character. */
MSB_INTERNAL bool msb__hex_decode_lc(const char *in, size_t n, uint8_t *out);
MSB_INTERNAL bool msb__all_zero(const uint8_t *p, size_t n);
/* Fill a fresh trace id (never zero) or span id (never zero). */
MSB_INTERNAL void msb__new_trace_id(uint8_t out[16]);
MSB_INTERNAL void msb__new_span_id(uint8_t out[8]);

/* ---- provider.c ------------------------------------------------------------------------- */
MSB_INTERNAL int64_t msb__provider_wall(msb_tracer_provider_t *p, uint64_t mono);

/* ---- otlp_json.c ------------------------------------------------------------------------ */
/* An OTLP/HTTP JSON ExportTraceServiceRequest with the spans (grouped by provider and scope). */
MSB_INTERNAL void msb__otlp_json_request(msb__buf_t *b, msb_span_t *const *spans, size_t n);
/* One span as a JSON line: the OTLP span object plus "resource" and "scope". */
MSB_INTERNAL void msb__otlp_json_line(msb__buf_t *b, const msb_span_t *span);

/* ---- baggage_codec.c ------------------------------------------------------------------- */
/* %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E */
MSB_INTERNAL bool msb__baggage_octet(unsigned char c);
/* A raw value: baggage-octets, every '%' starting a two-hex-digit escape. */
MSB_INTERNAL bool msb__baggage_value_valid(const char *p, size_t n);
/* Append the decoded value (valid per msb__baggage_value_valid) to b. */
MSB_INTERNAL void msb__baggage_decode(msb__buf_t *b, const char *p, size_t n);
MSB_INTERNAL size_t msb__baggage_encoded_len(const char *v, size_t n);
MSB_INTERNAL void msb__baggage_encode(msb__buf_t *b, const char *v, size_t n);

/* ---- processor.c ------------------------------------------------------------------------ */
/* Hand an ended recording span to the provider's processor (or release it). */
MSB_INTERNAL void msb__span_dispatch(msb_span_t *span);

#endif
