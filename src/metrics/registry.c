/* The registry: creation, registration of families (checks, collisions), unregistering. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rand.h"
#include "metrics/internal.h"

static msb_status_t check_opts(msb_metric_type_t type, const msb_metric_opts_t *o, int is_vec,
                               msb_error_t *err)
{
    if (o == NULL || o->size < offsetof(msb_metric_opts_t, unit)) {
        return msb__err(err, MSB_EINVAL, "metrics: options with a name are required");
    }
    size_t nlabels = MSB_OPT_HAS(o, label_count) ? o->label_count : 0;
    if (is_vec && nlabels == 0) {
        return msb__err(err, MSB_EINVAL,
                        "metrics: %s: a labelled family needs label names (or use the single "
                        "series constructor)",
                        o->name != NULL ? o->name : "?");
    }
    if (!is_vec && nlabels > 0) {
        return msb__err(err, MSB_EINVAL,
                        "metrics: %s: a single series has no label names (use the _vec_new "
                        "constructor)",
                        o->name != NULL ? o->name : "?");
    }
    if (MSB_OPT_HAS(o, max_series) && o->max_series == 0) {
        return msb__err(err, MSB_EINVAL, "metrics: %s: max_series must be at least 1",
                        o->name != NULL ? o->name : "?");
    }
    if (type != MSB_METRIC_HISTOGRAM && MSB_OPT_HAS(o, buckets) && o->buckets != NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: %s: buckets are for histograms only",
                        o->name != NULL ? o->name : "?");
    }
    return MSB_OK;
}

static msb_status_t family_init(msb__family_t *f, msb_metric_type_t type,
                                const msb_metric_opts_t *o, msb_error_t *err)
{
    msb_status_t rc =
        msb__famdesc_init(&f->desc, type, o->name, o->help, MSB_OPT_HAS(o, unit) ? o->unit : NULL,
                          MSB_OPT_HAS(o, label_names) ? o->label_names : NULL,
                          MSB_OPT_HAS(o, label_count) ? o->label_count : 0,
                          MSB_OPT_HAS(o, const_label_count) ? o->const_labels : NULL,
                          MSB_OPT_HAS(o, const_label_count) ? o->const_label_count : 0, err);
    if (rc == MSB_OK && type == MSB_METRIC_HISTOGRAM) {
        rc = msb__famdesc_bounds(&f->desc, MSB_OPT_HAS(o, buckets) ? o->buckets : NULL,
                                 MSB_OPT_HAS(o, bucket_count) ? o->bucket_count : 0, err);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    f->max_series = MSB_OPT_HAS(o, max_series) ? o->max_series : MSB_METRICS_DEFAULT_MAX_SERIES;
    msb__table_t *t = msb__table_new(MSB__TABLE_MIN);
    if (t == NULL) {
        return msb__err_nomem(err, "a metric family's table");
    }
    atomic_init(&f->table, t);
    return MSB_OK;
}

static msb_status_t link_family(msb_metrics_t *reg, msb__family_t *f, msb_error_t *err)
{
    for (msb__family_t *o = reg->families; o != NULL; o = o->next) {
        if (msb__famdesc_collide(&o->desc, &f->desc)) {
            char a[300];
            char b[300];
            msb__famdesc_display(&f->desc, a, sizeof(a));
            msb__famdesc_display(&o->desc, b, sizeof(b));
            return msb__err(err, MSB_EEXIST,
                            "metrics: %s is already registered (it collides with family %s)", a, b);
        }
    }
    f->next = reg->families;
    reg->families = f;
    reg->nfamilies++;
    return MSB_OK;
}

msb_status_t msb__family_register(msb_metrics_t *reg, msb_metric_type_t type,
                                  const msb_metric_opts_t *opts, int is_vec, msb__family_t **out,
                                  msb_error_t *err)
{
    if (reg == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: registry is NULL");
    }
    msb_status_t rc = check_opts(type, opts, is_vec, err);
    if (rc != MSB_OK) {
        return rc;
    }
    msb__family_t *f = msb__calloc(1, sizeof(*f));
    if (f == NULL) {
        return msb__err_nomem(err, "a metric family");
    }
    pthread_mutex_init(&f->lock, NULL);
    f->reg = reg;
    f->seed = msb__rand_u64();
    f->is_vec = is_vec;
    rc = family_init(f, type, opts, err);
    msb__series_t *s = NULL;
    if (rc == MSB_OK && !is_vec) {
        rc = msb__series_new(f, NULL, NULL, 0, &s, err);
        if (rc == MSB_OK) {
            rc = msb__family_append(f, s, err);
        }
        if (rc != MSB_OK) {
            msb__series_free(s);
        }
    }
    if (rc == MSB_OK) {
        pthread_mutex_lock(&reg->lock);
        rc = link_family(reg, f, err);
        pthread_mutex_unlock(&reg->lock);
    }
    if (rc != MSB_OK) {
        msb__family_free(f);
        return rc;
    }
    *out = f;
    return MSB_OK;
}

msb_status_t msb_metrics_new(const msb_metrics_opts_t *opts, msb_metrics_t **out, msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: out is NULL");
    }
    if (opts != NULL && opts->size < sizeof(size_t)) {
        return msb__err(err, MSB_EINVAL,
                        "metrics: opts.size is not set (use MSB_METRICS_OPTS_INIT)");
    }
    msb_metrics_t *reg = msb__calloc(1, sizeof(*reg));
    if (reg == NULL) {
        return msb__err_nomem(err, "a metrics registry");
    }
    pthread_mutex_init(&reg->lock, NULL);
    /* (MSB_OPT_HAS on a pointer-to-struct field trips clang-tidy's sizeof check) */
    bool has_clock =
        opts != NULL && opts->size >= offsetof(msb_metrics_opts_t, clock) + sizeof(void *);
    reg->clock = has_clock && opts->clock != NULL ? opts->clock : msb_clock_real();
    reg->created_samples = MSB_OPT_HAS(opts, created_samples) ? opts->created_samples != 0 : 1;
    const char *labels[] = {"collector"};
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = "msb_metrics_collector_errors_total";
    o.help = "Scrapes whose output from a custom collector was dropped because it failed.";
    o.label_names = labels;
    o.label_count = 1;
    o.max_series = 1000;
    msb_status_t rc =
        msb__family_register(reg, MSB_METRIC_COUNTER, &o, 1, &reg->collector_errors, err);
    if (rc != MSB_OK) {
        msb_metrics_free(reg);
        return rc;
    }
    *out = reg;
    return MSB_OK;
}

void msb_metrics_free(msb_metrics_t *reg)
{
    if (reg == NULL) {
        return;
    }
    while (reg->families != NULL) {
        msb__family_t *f = reg->families;
        reg->families = f->next;
        msb__family_free(f);
    }
    while (reg->collectors != NULL) {
        msb_metrics_collector_t *c = reg->collectors;
        reg->collectors = c->next;
        if (c->free_user != NULL) {
            c->free_user(c->user);
        }
        msb__free(c->name);
        msb__free(c);
    }
    pthread_mutex_destroy(&reg->lock);
    msb__free(reg);
}

msb_status_t msb_metrics_unregister(msb_metrics_t *reg, const char *name, msb_error_t *err)
{
    if (reg == NULL || name == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: unregister: registry and name are required");
    }
    msb__family_t *found = NULL;
    pthread_mutex_lock(&reg->lock);
    for (msb__family_t **pp = &reg->families; *pp != NULL; pp = &(*pp)->next) {
        char shown[300];
        msb__famdesc_display(&(*pp)->desc, shown, sizeof(shown));
        if (*pp != reg->collector_errors &&
            (strcmp((*pp)->desc.name, name) == 0 || strcmp(shown, name) == 0)) {
            found = *pp;
            *pp = found->next;
            reg->nfamilies--;
            break;
        }
    }
    pthread_mutex_unlock(&reg->lock);
    if (found == NULL) {
        return msb__err(err, MSB_ENOTFOUND, "metrics: no family named %.200s", name);
    }
    msb__family_free(found);
    return MSB_OK;
}

/* The single series of a family without labels. */
static msb_status_t single(msb_metrics_t *reg, msb_metric_type_t type,
                           const msb_metric_opts_t *opts, void **out, msb_error_t *err)
{
    msb__family_t *f = NULL;
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: out is NULL");
    }
    msb_status_t rc = msb__family_register(reg, type, opts, 0, &f, err);
    if (rc == MSB_OK && f != NULL) {
        *out = f->list[0];
    }
    return rc;
}

static msb_status_t vec(msb_metrics_t *reg, msb_metric_type_t type, const msb_metric_opts_t *opts,
                        void **out, msb_error_t *err)
{
    msb__family_t *f = NULL;
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: out is NULL");
    }
    msb_status_t rc = msb__family_register(reg, type, opts, 1, &f, err);
    if (rc == MSB_OK && f != NULL) {
        *out = f;
    }
    return rc;
}

msb_status_t msb_counter_new(msb_metrics_t *reg, const msb_metric_opts_t *opts, msb_counter_t **out,
                             msb_error_t *err)
{
    return single(reg, MSB_METRIC_COUNTER, opts, (void **)out, err);
}

msb_status_t msb_gauge_new(msb_metrics_t *reg, const msb_metric_opts_t *opts, msb_gauge_t **out,
                           msb_error_t *err)
{
    return single(reg, MSB_METRIC_GAUGE, opts, (void **)out, err);
}

msb_status_t msb_histogram_new(msb_metrics_t *reg, const msb_metric_opts_t *opts,
                               msb_histogram_t **out, msb_error_t *err)
{
    return single(reg, MSB_METRIC_HISTOGRAM, opts, (void **)out, err);
}

msb_status_t msb_counter_vec_new(msb_metrics_t *reg, const msb_metric_opts_t *opts,
                                 msb_counter_vec_t **out, msb_error_t *err)
{
    return vec(reg, MSB_METRIC_COUNTER, opts, (void **)out, err);
}

msb_status_t msb_gauge_vec_new(msb_metrics_t *reg, const msb_metric_opts_t *opts,
                               msb_gauge_vec_t **out, msb_error_t *err)
{
    return vec(reg, MSB_METRIC_GAUGE, opts, (void **)out, err);
}

msb_status_t msb_histogram_vec_new(msb_metrics_t *reg, const msb_metric_opts_t *opts,
                                   msb_histogram_vec_t **out, msb_error_t *err)
{
    return vec(reg, MSB_METRIC_HISTOGRAM, opts, (void **)out, err);
}

msb_status_t msb_counter_vec_remove(msb_counter_vec_t *v, const char *const *values)
{
    return v != NULL ? msb__family_remove((msb__family_t *)(void *)v, values) : MSB_EINVAL;
}

msb_status_t msb_gauge_vec_remove(msb_gauge_vec_t *v, const char *const *values)
{
    return v != NULL ? msb__family_remove((msb__family_t *)(void *)v, values) : MSB_EINVAL;
}

msb_status_t msb_histogram_vec_remove(msb_histogram_vec_t *v, const char *const *values)
{
    return v != NULL ? msb__family_remove((msb__family_t *)(void *)v, values) : MSB_EINVAL;
}
