/* The registry: creation, families by type, unregistering. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "metrics/internal.h"

msb_status_t msb_metrics_new(const msb_metrics_opts_t *opts, msb_metrics_t **out,
                             msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: out is NULL");
    }
    if (opts != NULL && opts->size < sizeof(size_t)) {
        return msb__err(err, MSB_EINVAL, "metrics: opts.size is not set (use MSB_METRICS_OPTS_INIT)");
    }
    msb_metrics_t *reg = msb__calloc(1, sizeof(*reg));
    if (reg == NULL) {
        return msb__err_nomem(err, "a metrics registry");
    }
    pthread_mutex_init(&reg->lock, NULL);
    reg->clock = MSB_OPT_HAS(opts, clock) && opts->clock != NULL ? opts->clock : msb_clock_real();
    reg->created_samples = MSB_OPT_HAS(opts, created_samples) ? opts->created_samples != 0 : 1;
    const char *labels[] = {"collector"};
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = "msb_metrics_collector_errors_total";
    o.help = "Scrapes whose output from a custom collector was dropped because it failed.";
    o.label_names = labels;
    o.label_count = 1;
    o.max_series = 1000;
    msb_status_t rc = msb__family_register(reg, MSB_METRIC_COUNTER, &o, 1, &reg->collector_errors,
                                           err);
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
    msb__family_t *f;
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: out is NULL");
    }
    msb_status_t rc = msb__family_register(reg, type, opts, 0, &f, err);
    if (rc == MSB_OK) {
        *out = f->list[0];
    }
    return rc;
}

static msb_status_t vec(msb_metrics_t *reg, msb_metric_type_t type, const msb_metric_opts_t *opts,
                        void **out, msb_error_t *err)
{
    msb__family_t *f;
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: out is NULL");
    }
    msb_status_t rc = msb__family_register(reg, type, opts, 1, &f, err);
    if (rc == MSB_OK) {
        *out = f;
    }
    return rc;
}

msb_status_t msb_counter_new(msb_metrics_t *reg, const msb_metric_opts_t *opts,
                             msb_counter_t **out, msb_error_t *err)
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
