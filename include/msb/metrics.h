/**
 * @file metrics.h
 * @brief Prometheus metrics: a registry of counters, gauges and histograms, with labels.
 *
 * A registry (#msb_metrics_t) holds metric families. A family without labels is created and used
 * as a single series (msb_counter_new()); a family with labels is a vector
 * (msb_counter_vec_new()) whose series are found by their label values
 * (msb_counter_vec_get()). What a scrape sees, and how it is written, is in metrics_scrape.h.
 *
 * @code
 * msb_metrics_t *reg;
 * msb_metrics_new(NULL, &reg, NULL);
 * const char *labels[] = {"method", "code"};
 * msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
 * o.name = "http_requests_total";
 * o.help = "HTTP requests served.";
 * o.label_names = labels;
 * o.label_count = 2;
 * msb_counter_vec_t *requests;
 * msb_counter_vec_new(reg, &o, &requests, NULL);
 * msb_counter_t *get_ok; // look up once, keep the handle: the fastest path
 * msb_counter_vec_get(requests, (const char *[]){"GET", "200"}, &get_ok, NULL);
 * msb_counter_inc(get_ok);
 * @endcode
 *
 * **Cost model.** Increments and observations take no lock, execute no locked instruction and
 * allocate nothing: each thread adds into its own cells (a per-thread block of 64-bit cells, as in
 * brpc's bvar), and a scrape sums the cells of every thread. The first write of a thread to a
 * block of 2048 cells allocates that thread's block once; should that allocation fail, the write
 * goes to a shared cell with an atomic add instead, so nothing is lost. A scrape never stops
 * writers. Gauges are a single atomic value (set is not additive). See docs/metrics.md.
 *
 * **Process-wide state.** The per-thread cells are process-wide (one table per thread, shared by
 * every registry); a thread's table is parked for reuse by a later thread when it exits.
 */
#ifndef MSB_METRICS_H
#define MSB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "msb/clock.h"
#include "msb/error.h"

MSB_BEGIN_DECLS

/** @brief A registry of metric families. @since 0.1 */
typedef struct msb_metrics msb_metrics_t;
/** @brief One counter series: a monotonically increasing value. @since 0.1 */
typedef struct msb_counter msb_counter_t;
/** @brief One gauge series: a value that goes up and down. @since 0.1 */
typedef struct msb_gauge msb_gauge_t;
/** @brief One histogram series: observations counted in buckets, with their sum. @since 0.1 */
typedef struct msb_histogram msb_histogram_t;
/** @brief A labelled counter family. @since 0.1 */
typedef struct msb_counter_vec msb_counter_vec_t;
/** @brief A labelled gauge family. @since 0.1 */
typedef struct msb_gauge_vec msb_gauge_vec_t;
/** @brief A labelled histogram family. @since 0.1 */
typedef struct msb_histogram_vec msb_histogram_vec_t;

/** Default bound on the number of series of one labelled family. */
#define MSB_METRICS_DEFAULT_MAX_SERIES 10000
/** Most buckets a histogram may have (the implicit `+Inf` bucket included). */
#define MSB_METRICS_MAX_BUCKETS 512
/** Most labels a family may have (constant labels included). */
#define MSB_METRICS_MAX_LABELS 32
/** OpenMetrics' bound on an exemplar's label set: names and values, in UTF-8 characters. */
#define MSB_METRICS_EXEMPLAR_MAX_CHARS 128

/** @brief A label: name and value, both NUL-terminated UTF-8. @since 0.1 */
typedef struct msb_metric_label {
    const char *name;  /**< label name, `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` */
    const char *value; /**< label value, any valid UTF-8 */
} msb_metric_label_t;

/**
 * @brief Options of a registry. Initialise with #MSB_METRICS_OPTS_INIT.
 * @since 0.1
 */
typedef struct msb_metrics_opts {
    size_t size; /**< sizeof(msb_metrics_opts_t), set by the initialiser */
    /** Clock for `_created` samples and exemplar timestamps; NULL: msb_clock_real(). Borrowed:
     * it must outlive the registry. */
    const msb_clock_t *clock;
    /** Write `_created` samples for counters and histograms in OpenMetrics (default 1). */
    int created_samples;
} msb_metrics_opts_t;

/** Initialiser of #msb_metrics_opts_t with every default. */
#define MSB_METRICS_OPTS_INIT                                                                      \
    {                                                                                              \
        sizeof(msb_metrics_opts_t), NULL, 1                                                        \
    }

/**
 * @brief Options of a metric family. Initialise with #MSB_METRIC_OPTS_INIT.
 *
 * Names follow Prometheus' rules: metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
 * `[a-zA-Z_][a-zA-Z0-9_]*`; names starting with `__` are reserved, and so are the label names
 * `le` and `quantile`. A counter's samples are always named `<family>_total`: the name may be
 * given with or without that suffix. Gauges and histograms may not end in `_total`, `_created`
 * or `_bucket`. A family whose name or sample names (`_bucket`, `_count`, `_sum`, `_created`,
 * `_info`…) collide with another's is refused with #MSB_EEXIST.
 * @since 0.1
 */
typedef struct msb_metric_opts {
    size_t size;      /**< sizeof(msb_metric_opts_t), set by the initialiser */
    const char *name; /**< family name (required); copied */
    const char *help; /**< help text, any UTF-8 (NULL: none); copied */
    const char *unit; /**< OpenMetrics unit (NULL: none), must end the name: `_seconds` */
    const char *const *label_names; /**< label names of a vector family; copied */
    size_t label_count;             /**< number of label names (0 for a single series) */
    /** Labels with a fixed value on every series of the family; copied. */
    const msb_metric_label_t *const_labels;
    size_t const_label_count; /**< number of constant labels */
    /** Bound on the series of a vector family (default #MSB_METRICS_DEFAULT_MAX_SERIES). */
    size_t max_series;
    /** Histogram upper bounds, strictly increasing and finite (a final `+Inf` is allowed and
     * implied anyway); NULL: msb_metrics_default_buckets(). Copied. Histograms only. */
    const double *buckets;
    size_t bucket_count; /**< number of values in `buckets` */
} msb_metric_opts_t;

/** Initialiser of #msb_metric_opts_t with every default. */
#define MSB_METRIC_OPTS_INIT                                                                       \
    {                                                                                              \
        sizeof(msb_metric_opts_t), NULL, NULL, NULL, NULL, 0, NULL, 0,                             \
            MSB_METRICS_DEFAULT_MAX_SERIES, NULL, 0                                                \
    }

/**
 * @brief An exemplar: the trace that led to an increment or an observation (OpenMetrics).
 *
 * Its labels (`trace_id`, `span_id`, then `labels`) may hold at most
 * #MSB_METRICS_EXEMPLAR_MAX_CHARS UTF-8 characters, names and values together.
 * @since 0.1
 */
typedef struct msb_exemplar {
    const char *trace_id;             /**< written as label `trace_id` (NULL: none) */
    const char *span_id;              /**< written as label `span_id` (NULL: none) */
    const msb_metric_label_t *labels; /**< further labels (may be NULL) */
    size_t label_count;               /**< number of further labels */
    /** Wall-clock time of the event in ns since the epoch; 0: now on the registry's clock. */
    int64_t timestamp_ns;
} msb_exemplar_t;

/**
 * @brief Create a registry.
 * @param opts options, or NULL for the defaults.
 * @param out receives the registry.
 * @param err optional detail on failure.
 * @return #MSB_OK, #MSB_EINVAL (bad option) or #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_metrics_free(). Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_metrics_new(const msb_metrics_opts_t *opts, msb_metrics_t **out,
                                     msb_error_t *err);

/**
 * @brief Free a registry with its families, series and collectors. NULL is a no-op.
 *
 * Thread-safety: no other thread may use the registry or any of its handles any more.
 * @since 0.1
 */
MSB_API void msb_metrics_free(msb_metrics_t *reg);

/**
 * @brief Unregister a family of the registry and free it (collectors' families are not
 * registered: remove the collector instead).
 * @param reg the registry.
 * @param name the family's name as registered (a counter also by its `_total` form).
 * @param err optional detail on failure.
 * @return #MSB_OK, or #MSB_ENOTFOUND.
 * Ownership: every handle of that family becomes invalid. Thread-safety: safe from any thread,
 * but no thread may still use the family's handles.
 * @since 0.1
 */
MSB_API msb_status_t msb_metrics_unregister(msb_metrics_t *reg, const char *name, msb_error_t *err);

/**
 * @brief Prometheus' default buckets: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 (seconds).
 * @param count receives the number of bounds (11).
 * @return a static array. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const double *msb_metrics_default_buckets(size_t *count);

/**
 * @brief Fill `out` with `count` bounds `start`, `start + width`, ….
 * @return #MSB_OK, or #MSB_EINVAL when count is 0, width is not positive or a value not finite.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_metrics_buckets_linear(double start, double width, size_t count,
                                                double *out);

/**
 * @brief Fill `out` with `count` bounds `start`, `start * factor`, ….
 * @return #MSB_OK, or #MSB_EINVAL when count is 0, start is not positive, factor is not above 1
 * or a value overflows. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_metrics_buckets_exponential(double start, double factor, size_t count,
                                                     double *out);

/**
 * @brief Register a counter family without labels and return its one series.
 * @param reg the registry.
 * @param opts the family (name required; `label_count` must be 0).
 * @param out receives the series.
 * @param err optional detail: which name or label was wrong, or which family exists.
 * @return #MSB_OK, #MSB_EINVAL (invalid name, label or option), #MSB_EEXIST (a family with that
 * name, or one whose sample names collide, exists), #MSB_ELIMIT (the process' cell space is
 * exhausted) or #MSB_ENOMEM.
 * Ownership: *out is borrowed from the registry, valid until the family is unregistered or the
 * registry freed. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_counter_new(msb_metrics_t *reg, const msb_metric_opts_t *opts,
                                     msb_counter_t **out, msb_error_t *err);

/** @brief Register a gauge family without labels; as msb_counter_new(). @since 0.1 */
MSB_API msb_status_t msb_gauge_new(msb_metrics_t *reg, const msb_metric_opts_t *opts,
                                   msb_gauge_t **out, msb_error_t *err);

/** @brief Register a histogram family without labels; as msb_counter_new(). @since 0.1 */
MSB_API msb_status_t msb_histogram_new(msb_metrics_t *reg, const msb_metric_opts_t *opts,
                                       msb_histogram_t **out, msb_error_t *err);

/**
 * @brief Register a labelled counter family.
 * @param reg the registry.
 * @param opts the family (name and at least one label name required).
 * @param out receives the family.
 * @param err optional detail on failure.
 * @return as msb_counter_new().
 * Ownership: *out is borrowed from the registry. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_counter_vec_new(msb_metrics_t *reg, const msb_metric_opts_t *opts,
                                         msb_counter_vec_t **out, msb_error_t *err);

/** @brief Register a labelled gauge family; as msb_counter_vec_new(). @since 0.1 */
MSB_API msb_status_t msb_gauge_vec_new(msb_metrics_t *reg, const msb_metric_opts_t *opts,
                                       msb_gauge_vec_t **out, msb_error_t *err);

/** @brief Register a labelled histogram family; as msb_counter_vec_new(). @since 0.1 */
MSB_API msb_status_t msb_histogram_vec_new(msb_metrics_t *reg, const msb_metric_opts_t *opts,
                                           msb_histogram_vec_t **out, msb_error_t *err);

/**
 * @brief Find (or create) the series of a family with the given label values.
 *
 * A lookup of an existing series takes no lock (a hash of the values and a lock-free table);
 * creating one takes the family's lock and allocates. Keeping the returned handle and using it
 * directly is the fastest path.
 * @param vec the family.
 * @param values one value per label name, in the order of the names; any valid UTF-8.
 * @param out receives the series.
 * @param err optional detail on failure.
 * @return #MSB_OK, #MSB_EINVAL (NULL or invalid UTF-8 value), #MSB_ELIMIT (the family reached
 * its `max_series`: the message names the family and the bound) or #MSB_ENOMEM.
 * Ownership: *out is borrowed, valid until the series is removed or the family unregistered.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_counter_vec_get(msb_counter_vec_t *vec, const char *const *values,
                                         msb_counter_t **out, msb_error_t *err);

/** @brief Find or create a gauge series; as msb_counter_vec_get(). @since 0.1 */
MSB_API msb_status_t msb_gauge_vec_get(msb_gauge_vec_t *vec, const char *const *values,
                                       msb_gauge_t **out, msb_error_t *err);

/** @brief Find or create a histogram series; as msb_counter_vec_get(). @since 0.1 */
MSB_API msb_status_t msb_histogram_vec_get(msb_histogram_vec_t *vec, const char *const *values,
                                           msb_histogram_t **out, msb_error_t *err);

/**
 * @brief Remove the series with these label values from a family (it disappears from scrapes).
 * @return #MSB_OK or #MSB_ENOTFOUND.
 * Ownership: handles to that series become invalid; its memory is reclaimed once no lookup can
 * still see it. Thread-safety: safe from any thread; no thread may still use its handle.
 * @since 0.1
 */
MSB_API msb_status_t msb_counter_vec_remove(msb_counter_vec_t *vec, const char *const *values);
/** @brief Remove a gauge series; as msb_counter_vec_remove(). @since 0.1 */
MSB_API msb_status_t msb_gauge_vec_remove(msb_gauge_vec_t *vec, const char *const *values);
/** @brief Remove a histogram series; as msb_counter_vec_remove(). @since 0.1 */
MSB_API msb_status_t msb_histogram_vec_remove(msb_histogram_vec_t *vec, const char *const *values);

/**
 * @brief Add 1 to a counter. No lock, no locked instruction, no allocation (see the cost model).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_counter_inc(msb_counter_t *c);

/** @brief Add `n` to a counter; as msb_counter_inc(). @since 0.1 */
MSB_API void msb_counter_add(msb_counter_t *c, uint64_t n);

/**
 * @brief Add a non-negative amount to a counter (seconds, bytes as a double…).
 * @return #MSB_OK, or #MSB_EINVAL when `v` is negative or NaN (the counter is unchanged).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_counter_add_double(msb_counter_t *c, double v);

/**
 * @brief Add `v` to a counter and keep `ex` as the series' exemplar (OpenMetrics).
 *
 * The first exemplar of a series allocates its slot; later ones reuse it.
 * @return #MSB_OK, #MSB_EINVAL (negative `v`, invalid label), #MSB_ETOOBIG (labels over
 * #MSB_METRICS_EXEMPLAR_MAX_CHARS) or #MSB_ENOMEM; the counter is unchanged on failure.
 * Thread-safety: safe from any thread; of two concurrent exemplars of a series one may be dropped.
 * @since 0.1
 */
MSB_API msb_status_t msb_counter_add_exemplar(msb_counter_t *c, double v, const msb_exemplar_t *ex,
                                              msb_error_t *err);

/**
 * @brief A counter's current total (the sum of every thread's cells).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API double msb_counter_value(const msb_counter_t *c);

/** @brief Set a gauge. One atomic store. Thread-safety: any thread. @since 0.1 */
MSB_API void msb_gauge_set(msb_gauge_t *g, double v);
/** @brief Add `v` (may be negative) to a gauge. Atomic. Thread-safety: any thread. @since 0.1 */
MSB_API void msb_gauge_add(msb_gauge_t *g, double v);
/** @brief Add 1 to a gauge. Thread-safety: any thread. @since 0.1 */
MSB_API void msb_gauge_inc(msb_gauge_t *g);
/** @brief Subtract 1 from a gauge. Thread-safety: any thread. @since 0.1 */
MSB_API void msb_gauge_dec(msb_gauge_t *g);
/** @brief Set a gauge to the registry clock's wall time in seconds. @since 0.1 */
MSB_API void msb_gauge_set_to_current_time(msb_gauge_t *g);
/** @brief A gauge's current value. Thread-safety: any thread. @since 0.1 */
MSB_API double msb_gauge_value(const msb_gauge_t *g);

/**
 * @brief Count an observation in its bucket and add it to the sum. NaN is ignored.
 *
 * No lock, no locked instruction, no allocation. At a scrape the buckets, `_count` and the
 * `+Inf` bucket always agree (the count is the buckets' total); `_sum` may miss observations that
 * are still being recorded at that instant, at most one per writing thread.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_histogram_observe(msb_histogram_t *h, double v);

/**
 * @brief Observe `v` and keep `ex` as the exemplar of the bucket `v` falls in.
 * @return as msb_counter_add_exemplar() (NaN gives #MSB_EINVAL).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_histogram_observe_exemplar(msb_histogram_t *h, double v,
                                                    const msb_exemplar_t *ex, msb_error_t *err);

/** @brief Number of observations so far. Thread-safety: any thread. @since 0.1 */
MSB_API uint64_t msb_histogram_count(const msb_histogram_t *h);
/** @brief Sum of the observations so far. Thread-safety: any thread. @since 0.1 */
MSB_API double msb_histogram_sum(const msb_histogram_t *h);

/** @cond MSB_INTERNAL */
/*
 * Inline fast paths (internal ABI, not API). A call into the shared library costs more than the
 * increment itself, so C callers get msb_counter_inc(), msb_counter_add() and
 * msb_histogram_observe() inlined through the macros below; the exported functions of the same
 * names remain (bindings, function pointers, `(msb_counter_inc)(c)`, or -DMSB_METRICS_NO_INLINE).
 * What this reads is frozen for the ABI's life: the first fields of a series (struct
 * msb__series_head) and the calling thread's block directory (msb__metrics_tls).
 */
struct msb__series_head {
    uint32_t block;       /* block of the series' first cell in a thread's directory */
    uint32_t off;         /* offset of that cell in the block */
    uint32_t cell;        /* global cell id */
    uint32_t nb;          /* histogram: buckets, +Inf included */
    const double *bounds; /* histogram: finite bounds, padded with +Inf to 16 */
};

MSB_API extern __thread void *msb__metrics_tls __attribute__((tls_model("initial-exec")));
MSB_API void msb__counter_add_slow(msb_counter_t *c, uint64_t n);
MSB_API void msb__histogram_observe_slow(msb_histogram_t *h, double v);

/*
 * This thread's cells of a series, or NULL (no block yet: take the slow path). Only this thread
 * writes its directory and its cells, so it reads them with plain loads; its stores are atomic
 * because a scrape reads them from another thread.
 */
static inline uint64_t *msb__metrics_own_cells(const struct msb__series_head *s)
{
    /* Never NULL: a thread without cells points at a directory of NULL blocks. */
    uint64_t *const *dir = (uint64_t *const *)msb__metrics_tls;
    uint64_t *b = dir[s->block];
    return __builtin_expect(b != 0, 1) ? b + s->off : 0;
}

static inline void msb__counter_add_inline(msb_counter_t *c, uint64_t n)
{
    uint64_t *cell = msb__metrics_own_cells((const struct msb__series_head *)(const void *)c);
    if (__builtin_expect(cell != 0, 1)) {
        /* Only this thread writes its cell: a plain add, atomic only so that scrapes may read. */
        __atomic_store_n(cell, *cell + n, __ATOMIC_RELAXED);
    } else {
        msb__counter_add_slow(c, n);
    }
}

static inline void msb__histogram_observe_inline(msb_histogram_t *h, double v)
{
    const struct msb__series_head *s = (const struct msb__series_head *)(const void *)h;
    uint64_t *c = msb__metrics_own_cells(s);
    if (__builtin_expect(c == 0 || s->nb > 17 || v != v, 0)) {
        msb__histogram_observe_slow(h, v);
        return;
    }
    /* Branchless lower bound over 16 bounds (padded with +Inf): the bucket of v. */
    const double *b = s->bounds;
    uint32_t i = (uint32_t)(v > b[7]) << 3;
    i += (uint32_t)(v > b[i + 3]) << 2;
    i += (uint32_t)(v > b[i + 1]) << 1;
    i += (uint32_t)(v > b[i]);
    i += (uint32_t)(i == 15 && v > b[15]);
    __atomic_store_n(&c[i], c[i] + 1, __ATOMIC_RELAXED);
    union {
        uint64_t u;
        double d;
    } sum;
    sum.u = c[s->nb];
    sum.d += v;
    __atomic_store_n(&c[s->nb], sum.u, __ATOMIC_RELAXED);
}

#ifndef MSB_METRICS_NO_INLINE
#define msb_counter_inc(c)          msb__counter_add_inline((c), 1)
#define msb_counter_add(c, n)       msb__counter_add_inline((c), (n))
#define msb_histogram_observe(h, v) msb__histogram_observe_inline((h), (v))
#endif
/** @endcond */

MSB_END_DECLS

#include "msb/metrics_scrape.h"

#endif /* MSB_METRICS_H */
