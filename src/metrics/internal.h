/* Internal structures of the metrics module, shared by its files. */
#ifndef MSB_METRICS_INTERNAL_H
#define MSB_METRICS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

/* The library defines the functions that the header's macros map to its inline fast paths. */
#define MSB_METRICS_NO_INLINE
#include "core/buf.h"
#include "msb/metrics.h"
#include "metrics/cells.h"

/* Histograms with at most this many bounds search them branchlessly (padded with +Inf). */
#define MSB__SMALL_BUCKETS 16

/* Raw exemplar labels ("name\0value\0…"): OpenMetrics' 128 characters fit in 512 bytes. */
#define MSB__EXEMPLAR_WORDS 64

/* The latest exemplar of a series or bucket, written under a sequence lock. */
typedef struct msb__exslot {
    _Atomic uint32_t seq; /* odd while a writer is inside */
    _Atomic uint64_t value_bits;
    _Atomic int64_t ts_ns;
    _Atomic uint32_t len; /* bytes used in words */
    _Atomic uint64_t words[MSB__EXEMPLAR_WORDS];
} msb__exslot_t;

/* A consistent copy of an exemplar, for rendering. */
typedef struct msb__exemplar_copy {
    int present;
    double value;
    int64_t ts_ns;
    uint32_t len;
    char raw[MSB__EXEMPLAR_WORDS * 8];
} msb__exemplar_copy_t;

/* What describes a family, for registry families and collectors' families alike. */
typedef struct msb__famdesc {
    msb_metric_type_t type;
    char *name; /* family name: a counter's without _total, an info's without _info */
    char *help; /* NULL: none */
    char *unit; /* NULL: none */
    size_t nlabels;
    char **label_names;
    size_t nconst;
    char **const_names;
    char **const_values;
    size_t nbounds; /* histograms: finite upper bounds */
    double *bounds; /* at least MSB__SMALL_BUCKETS, padded with +Inf */
} msb__famdesc_t;

typedef struct msb__family msb__family_t;

/*
 * One series. Counter: cells [int, double]; histogram: [bucket 0..nb-1, sum]; gauge: `gauge`.
 * It starts with struct msb__series_head (metrics.h), which the inline fast paths read.
 */
typedef struct msb__series {
    uint32_t block; /* first cell's block and offset: the hot path needs nothing else */
    uint32_t off;
    uint32_t cell;
    uint32_t nb;          /* histogram buckets, +Inf included */
    const double *bounds; /* histogram: nb - 1 finite bounds, padded with +Inf to 16 */
    _Atomic uint64_t gauge;
    msb__family_t *fam;
    uint64_t hash;
    int64_t created_ns;
    char **values; /* label values (fam->desc.nlabels of them) */
    size_t *lens;
    _Atomic(msb__exslot_t *) *ex; /* exemplar slots: 1 (counter) or nb (histogram) */
    size_t nex;
} msb__series_t;

/* The lock-free lookup table of a labelled family (open addressing, linear probing). */
typedef struct msb__table {
    size_t cap; /* power of two */
    _Atomic(msb__series_t *) slots[];
} msb__table_t;

/* Something unlinked that lookups may still see, freed once msb__ebr_safe(epoch). */
typedef struct msb__limbo {
    void *ptr;
    int is_table;
    uint64_t epoch;
    struct msb__limbo *next;
} msb__limbo_t;

struct msb__family {
    msb_metrics_t *reg;
    msb__famdesc_t desc;
    int is_vec;
    uint64_t seed; /* of the label-value hash */
    size_t max_series;
    pthread_mutex_t lock; /* series list, table writes, limbo */
    _Atomic(msb__table_t *) table;
    size_t used; /* live + tombstones in table */
    msb__series_t **list;
    size_t nlist;
    size_t caplist;
    msb__limbo_t *limbo;
    msb__family_t *next;
};

struct msb_metrics_collector {
    char *name;
    msb_metrics_collect_fn fn;
    void *user;
    void (*free_user)(void *user); /* internal collectors own their user data */
    msb_metrics_collector_t *next;
};

struct msb_metrics {
    pthread_mutex_t lock; /* families, collectors, and one scrape at a time */
    const msb_clock_t *clock;
    int created_samples;
    msb__family_t *families;
    size_t nfamilies;
    msb_metrics_collector_t *collectors;
    msb__family_t *collector_errors; /* msb_metrics_collector_errors_total{collector} */
};

#define MSB__TABLE_MIN 16 /* slots of a new family's table */

/* names.c */
MSB_INTERNAL msb_status_t msb__metric_name_check(const char *what, const char *name,
                                                 msb_error_t *err);
MSB_INTERNAL msb_status_t msb__label_name_check(const char *family, const char *name,
                                                msb_error_t *err);
MSB_INTERNAL msb_status_t msb__label_value_check(const char *family, const char *label,
                                                 const char *value, msb_error_t *err);
/* Validate and fill a descriptor (names copied). Frees nothing on failure: call desc_free. */
MSB_INTERNAL msb_status_t msb__famdesc_init(msb__famdesc_t *d, msb_metric_type_t type,
                                            const char *name, const char *help, const char *unit,
                                            const char *const *label_names, size_t nlabels,
                                            const msb_metric_label_t *consts, size_t nconst,
                                            msb_error_t *err);
MSB_INTERNAL msb_status_t msb__famdesc_bounds(msb__famdesc_t *d, const double *b, size_t n,
                                              msb_error_t *err);
MSB_INTERNAL void msb__famdesc_free(msb__famdesc_t *d);
/* Whether two families would write a sample name in common. */
MSB_INTERNAL bool msb__famdesc_collide(const msb__famdesc_t *a, const msb__famdesc_t *b);
/* The name the user knows: a counter's with _total, an info's with _info. */
MSB_INTERNAL void msb__famdesc_display(const msb__famdesc_t *d, char *out, size_t size);

/* family.c */
MSB_INTERNAL msb_status_t msb__family_register(msb_metrics_t *reg, msb_metric_type_t type,
                                               const msb_metric_opts_t *opts, int is_vec,
                                               msb__family_t **out, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__family_get(msb__family_t *f, const char *const *values,
                                          msb__series_t **out, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__family_remove(msb__family_t *f, const char *const *values);
MSB_INTERNAL void msb__family_free(msb__family_t *f);
MSB_INTERNAL msb__table_t *msb__table_new(size_t cap);
/* Add a series to the family's list (under its lock, or before it is published). */
MSB_INTERNAL msb_status_t msb__family_append(msb__family_t *f, msb__series_t *s, msb_error_t *err);
MSB_INTERNAL void msb__family_reclaim(msb__family_t *f);

/* series.c */
MSB_INTERNAL msb_status_t msb__series_new(msb__family_t *f, const char *const *values,
                                          const size_t *lens, uint64_t hash, msb__series_t **out,
                                          msb_error_t *err);
MSB_INTERNAL void msb__series_free(msb__series_t *s);

/* exemplar.c */
MSB_INTERNAL msb_status_t msb__exemplar_store(msb__series_t *s, size_t slot, double v,
                                              const msb_exemplar_t *ex, msb_error_t *err);
MSB_INTERNAL void msb__exemplar_load(const msb__series_t *s, size_t slot,
                                     msb__exemplar_copy_t *out);

/* render.c: one family at a time. */
typedef struct msb__view {
    const char *const *values; /* label values */
    const size_t *lens;
    int is_int;
    uint64_t ivalue;
    double value;
    const uint64_t *buckets; /* histogram: per-bucket counts, nbounds + 1 */
    double sum;
    int64_t created_ns;             /* 0: none */
    const msb__exemplar_copy_t *ex; /* 1 (counter) or nbounds + 1, or NULL */
} msb__view_t;

MSB_INTERNAL void msb__render_family_begin(msb__buf_t *b, msb_metrics_format_t fmt,
                                           const msb__famdesc_t *d, int first);
MSB_INTERNAL void msb__render_series(msb__buf_t *b, msb_metrics_format_t fmt,
                                     const msb__famdesc_t *d, const msb__view_t *v, int first,
                                     int created);
MSB_INTERNAL void msb__render_family_end(msb__buf_t *b, msb_metrics_format_t fmt);
MSB_INTERNAL void msb__render_begin(msb__buf_t *b, msb_metrics_format_t fmt);
MSB_INTERNAL void msb__render_end(msb__buf_t *b, msb_metrics_format_t fmt);

/* scrape.c */
MSB_INTERNAL void msb__collector_error(msb_metrics_t *reg, const char *name);

#endif
