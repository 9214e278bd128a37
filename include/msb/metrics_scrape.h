/**
 * @file metrics_scrape.h
 * @brief What a scrape sees: exposition formats and their negotiation, the JSON rendering,
 * custom collectors, the process collector and the build-info metric. Included by metrics.h.
 *
 * A scrape renders the registry's families and every collector's output, sorted by family name
 * and then by label values, in one of three formats:
 * - the Prometheus text format 0.0.4 (`text/plain; version=0.0.4`);
 * - OpenMetrics 1.0 (`application/openmetrics-text; version=1.0.0`): counters as `_total` with
 *   `_created`, `# UNIT`, exemplars, and a final `# EOF`;
 * - JSON, for admin pages such as `/debug/vars`.
 *
 * msb_metrics_negotiate() picks the format from the scraper's `Accept` header.
 */
#ifndef MSB_METRICS_SCRAPE_H
#define MSB_METRICS_SCRAPE_H

#include "msb/metrics.h"

MSB_BEGIN_DECLS

/** @brief Exposition formats. @since 0.1 */
typedef enum msb_metrics_format {
    MSB_METRICS_FORMAT_TEXT = 0,        /**< Prometheus text format 0.0.4 */
    MSB_METRICS_FORMAT_OPENMETRICS = 1, /**< OpenMetrics 1.0 text */
    MSB_METRICS_FORMAT_JSON = 2         /**< JSON document of the whole registry */
} msb_metrics_format_t;

/** @brief Metric types, for custom collectors. @since 0.1 */
typedef enum msb_metric_type {
    MSB_METRIC_COUNTER = 0,   /**< samples `<name>_total` (and `_created`) */
    MSB_METRIC_GAUGE = 1,     /**< samples `<name>` */
    MSB_METRIC_HISTOGRAM = 2, /**< samples `_bucket`, `_count`, `_sum` (and `_created`) */
    MSB_METRIC_INFO = 3,      /**< samples `<name>_info` of value 1 (a gauge in format 0.0.4) */
    MSB_METRIC_UNKNOWN = 4    /**< samples `<name>` (`untyped` in format 0.0.4) */
} msb_metric_type_t;

/**
 * @brief The format an `Accept` header asks for, by content negotiation (RFC 9110, 12.5.1).
 *
 * Media ranges are weighed by their `q` parameter; the most specific range that matches a format
 * gives its weight (`application/openmetrics-text;version=1.0.0` before
 * `application/openmetrics-text` before `application/` + `*` before any type); a `version` that is
 * not ours (OpenMetrics 1.0.0 or 0.0.1, text 0.0.4) or a charset other than UTF-8 does not match.
 * The highest weight wins; on a tie the text format wins. When nothing is acceptable (or the
 * header is NULL or empty) the text format is returned, as Prometheus' own clients do.
 * @param accept the header's value, or NULL.
 * @param content_type optional: receives the `Content-Type` to send (static text).
 * @return #MSB_METRICS_FORMAT_TEXT or #MSB_METRICS_FORMAT_OPENMETRICS.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_metrics_format_t msb_metrics_negotiate(const char *accept, const char **content_type);

/**
 * @brief The `Content-Type` of a format (`text/plain; version=0.0.4; charset=utf-8`, …).
 * @return static text; an unknown format gives the text format's.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const char *msb_metrics_content_type(msb_metrics_format_t format);

/**
 * @brief Render the registry in a format.
 *
 * Writers are never stopped: every series is summed from the threads' cells while they keep
 * writing. A collector that fails is left out of this scrape, and counted in
 * `msb_metrics_collector_errors_total{collector="<name>"}`.
 * @param reg the registry.
 * @param format the format.
 * @param out receives the text, NUL-terminated.
 * @param len optional: receives its length.
 * @param err optional detail on failure.
 * @return #MSB_OK, #MSB_EINVAL (unknown format) or #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_metrics_text_free(). Thread-safety: safe from any
 * thread; scrapes of one registry run one at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_metrics_render(msb_metrics_t *reg, msb_metrics_format_t format, char **out,
                                        size_t *len, msb_error_t *err);

/** @brief Free text from msb_metrics_render(). NULL is a no-op. @since 0.1 */
MSB_API void msb_metrics_text_free(char *text);

/** @brief Output of a custom collector during a scrape. @since 0.1 */
typedef struct msb_metrics_writer msb_metrics_writer_t;
/** @brief A custom collector registered with msb_metrics_collector_add(). @since 0.1 */
typedef struct msb_metrics_collector msb_metrics_collector_t;

/**
 * @brief A collector's callback, called at every scrape with the registry's scrape lock held.
 *
 * It describes its families with msb_metrics_write_family() and their series with
 * msb_metrics_write_sample() or msb_metrics_write_histogram(). It must not call other functions
 * of the same registry. Returning anything but #MSB_OK drops this collector's output from the
 * scrape.
 * @since 0.1
 */
typedef msb_status_t (*msb_metrics_collect_fn)(msb_metrics_writer_t *w, void *user);

/**
 * @brief Register a custom collector, called at each scrape (breakers, pools, queues).
 * @param reg the registry.
 * @param name the collector's name (for the error counter); copied.
 * @param fn the callback.
 * @param user passed to `fn`.
 * @param out optional: receives a handle for msb_metrics_collector_remove().
 * @param err optional detail on failure.
 * @return #MSB_OK, #MSB_EINVAL or #MSB_ENOMEM. If it fails, `fn` is never called.
 * Ownership: *out is borrowed from the registry. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_metrics_collector_add(msb_metrics_t *reg, const char *name,
                                               msb_metrics_collect_fn fn, void *user,
                                               msb_metrics_collector_t **out, msb_error_t *err);

/**
 * @brief Unregister a collector; once this returns its callback is not running and is not called
 * again. NULL is a no-op.
 * Thread-safety: safe from any thread (not from the collector's own callback).
 * @since 0.1
 */
MSB_API void msb_metrics_collector_remove(msb_metrics_t *reg, msb_metrics_collector_t *c);

/**
 * @brief Start a family in a collector's output.
 * @param w the writer given to the callback.
 * @param type the family's type.
 * @param name, help, unit as in #msb_metric_opts_t (help and unit may be NULL).
 * @param label_names the label names of its series, `label_count` of them.
 * @param label_count number of label names.
 * @return #MSB_OK, #MSB_EINVAL (invalid name), #MSB_EEXIST (the name collides with a family
 * of the registry or of this scrape) or #MSB_ENOMEM.
 * Ownership: everything is copied. Thread-safety: only inside the callback.
 * @since 0.1
 */
MSB_API msb_status_t msb_metrics_write_family(msb_metrics_writer_t *w, msb_metric_type_t type,
                                              const char *name, const char *help, const char *unit,
                                              const char *const *label_names, size_t label_count);

/**
 * @brief Add a series to the current family (counter, gauge, info or unknown).
 * @param w the writer.
 * @param label_values one value per label name of the family.
 * @param value the value (a counter's must not be negative or NaN; an info's is ignored).
 * @return #MSB_OK, #MSB_EINVAL (no family started, a histogram family, bad value or label) or
 * #MSB_ENOMEM. Thread-safety: only inside the callback.
 * @since 0.1
 */
MSB_API msb_status_t msb_metrics_write_sample(msb_metrics_writer_t *w,
                                              const char *const *label_values, double value);

/**
 * @brief Add a histogram series to the current (histogram) family.
 * @param w the writer.
 * @param label_values one value per label name.
 * @param bounds upper bounds, strictly increasing (the `+Inf` bucket is implied).
 * @param counts per-bucket (not cumulative) counts, `bucket_count + 1` of them (the last one is
 * the `+Inf` bucket's).
 * @param bucket_count number of bounds.
 * @param sum sum of the observations.
 * @return #MSB_OK, #MSB_EINVAL or #MSB_ENOMEM. Thread-safety: only inside the callback.
 * @since 0.1
 */
MSB_API msb_status_t msb_metrics_write_histogram(msb_metrics_writer_t *w,
                                                 const char *const *label_values,
                                                 const double *bounds, const uint64_t *counts,
                                                 size_t bucket_count, double sum);

/**
 * @brief Options of the process collector. Initialise with #MSB_PROCESS_COLLECTOR_OPTS_INIT.
 * @since 0.1
 */
typedef struct msb_process_collector_opts {
    size_t size; /**< sizeof(msb_process_collector_opts_t), set by the initialiser */
    /** Directories whose file system usage (statvfs) to expose, labelled `path`; copied. */
    const char *const *data_paths;
    size_t data_path_count; /**< number of data paths */
} msb_process_collector_opts_t;

/** Initialiser of #msb_process_collector_opts_t with every default. */
#define MSB_PROCESS_COLLECTOR_OPTS_INIT                                                            \
    {                                                                                              \
        sizeof(msb_process_collector_opts_t), NULL, 0                                              \
    }

/**
 * @brief Register the process collector (Linux `/proc`): `process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
 * `process_virtual_memory_max_bytes`, `process_open_fds`, `process_max_fds`,
 * `process_start_time_seconds`, `process_threads`, and for each data path
 * `msb_data_path_size_bytes`, `msb_data_path_free_bytes`, `msb_data_path_avail_bytes`,
 * `msb_data_path_files` and `msb_data_path_files_free` labelled `path`.
 * @param reg the registry.
 * @param opts options, or NULL.
 * @param err optional detail on failure.
 * @return #MSB_OK, #MSB_EINVAL or #MSB_ENOMEM. A path that cannot be read at a scrape is left
 * out of that scrape. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_metrics_process_collector_add(msb_metrics_t *reg,
                                                       const msb_process_collector_opts_t *opts,
                                                       msb_error_t *err);

/**
 * @brief Register the build-info metric `msb_build_info{version="<libmsb version>",...} 1`
 * (an OpenMetrics `info` family `msb_build`; a gauge in format 0.0.4).
 * @param reg the registry.
 * @param labels further labels (service name, its version, commit…), may be NULL.
 * @param label_count number of further labels.
 * @param err optional detail on failure.
 * @return #MSB_OK, #MSB_EINVAL, #MSB_EEXIST or #MSB_ENOMEM. Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_metrics_build_info_add(msb_metrics_t *reg,
                                                const msb_metric_label_t *labels,
                                                size_t label_count, msb_error_t *err);

MSB_END_DECLS

#endif /* MSB_METRICS_SCRAPE_H */
