/* Custom collectors: registration, and the writer their callbacks fill at each scrape. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "metrics/scrape.h"

msb_status_t msb_metrics_collector_add(msb_metrics_t *reg, const char *name,
                                       msb_metrics_collect_fn fn, void *user,
                                       msb_metrics_collector_t **out, msb_error_t *err)
{
    if (reg == NULL || fn == NULL || name == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: collector: registry, name and fn are required");
    }
    msb_status_t rc = msb__label_value_check("collector", "collector", name, err);
    if (rc != MSB_OK) {
        return rc;
    }
    msb_metrics_collector_t *c = msb__calloc(1, sizeof(*c));
    char *copy = msb__strdup(name);
    if (c == NULL || copy == NULL) {
        msb__free(c);
        msb__free(copy);
        return msb__err_nomem(err, "a collector");
    }
    c->name = copy;
    c->fn = fn;
    c->user = user;
    pthread_mutex_lock(&reg->lock);
    msb_metrics_collector_t **pp = &reg->collectors;
    while (*pp != NULL) {
        pp = &(*pp)->next;
    }
    *pp = c;
    pthread_mutex_unlock(&reg->lock);
    if (out != NULL) {
        *out = c;
    }
    return MSB_OK;
}

void msb_metrics_collector_remove(msb_metrics_t *reg, msb_metrics_collector_t *c)
{
    if (reg == NULL || c == NULL) {
        return;
    }
    pthread_mutex_lock(&reg->lock);
    for (msb_metrics_collector_t **pp = &reg->collectors; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            if (c->free_user != NULL) {
                c->free_user(c->user);
            }
            msb__free(c->name);
            msb__free(c);
            break;
        }
    }
    pthread_mutex_unlock(&reg->lock);
}

static void sample_free(msb__wsample_t *s)
{
    msb__free((void *)s->values);
    msb__free(s->buckets);
}

void msb__wfamily_free(msb__wfamily_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        sample_free(&f->samples[i]);
    }
    msb__free(f->samples);
    msb__famdesc_free(&f->desc);
    memset(f, 0, sizeof(*f));
}

void msb__writer_truncate(msb_metrics_writer_t *w, size_t n)
{
    while (w->n > n) {
        msb__wfamily_free(&w->fams[--w->n]);
    }
    w->cur = NULL;
}

static msb_status_t collides(msb_metrics_writer_t *w, const msb__famdesc_t *d, msb_error_t *err)
{
    for (msb__family_t *f = w->reg->families; f != NULL; f = f->next) {
        if (msb__famdesc_collide(&f->desc, d)) {
            return msb__err(err, MSB_EEXIST,
                            "metrics: collector family %s collides with a "
                            "registered family",
                            d->name);
        }
    }
    for (size_t i = 0; i < w->n; i++) {
        if (msb__famdesc_collide(&w->fams[i].desc, d)) {
            return msb__err(err, MSB_EEXIST, "metrics: collector family %s was already written",
                            d->name);
        }
    }
    return MSB_OK;
}

msb_status_t msb_metrics_write_family(msb_metrics_writer_t *w, msb_metric_type_t type,
                                      const char *name, const char *help, const char *unit,
                                      const char *const *label_names, size_t label_count)
{
    if (w == NULL || (unsigned)type > MSB_METRIC_UNKNOWN) {
        return MSB_EINVAL;
    }
    w->cur = NULL;
    if (w->n == w->cap) {
        size_t cap = w->cap == 0 ? 8 : w->cap * 2;
        msb__wfamily_t *f = msb__realloc(w->fams, cap * sizeof(*f));
        if (f == NULL) {
            return MSB_ENOMEM;
        }
        w->fams = f;
        w->cap = cap;
    }
    msb__wfamily_t *f = &w->fams[w->n];
    memset(f, 0, sizeof(*f));
    msb_status_t rc = msb__famdesc_init(&f->desc, type, name, help, unit, label_names, label_count,
                                        NULL, 0, NULL);
    if (rc == MSB_OK) {
        rc = collides(w, &f->desc, NULL);
    }
    if (rc != MSB_OK) {
        msb__wfamily_free(f);
        return rc;
    }
    w->n++;
    w->cur = f;
    return MSB_OK;
}

static msb_status_t new_sample(msb_metrics_writer_t *w, const char *const *values,
                               msb__wsample_t **out)
{
    msb__wfamily_t *f = w->cur;
    size_t n = f->desc.nlabels;
    size_t total = 0;
    if (n > 0 && values == NULL) {
        return MSB_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (msb__label_value_check(f->desc.name, f->desc.label_names[i], values[i], NULL) !=
            MSB_OK) {
            return MSB_EINVAL;
        }
        total += strlen(values[i]) + 1;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap == 0 ? 8 : f->cap * 2;
        msb__wsample_t *s = msb__realloc(f->samples, cap * sizeof(*s));
        if (s == NULL) {
            return MSB_ENOMEM;
        }
        f->samples = s;
        f->cap = cap;
    }
    msb__wsample_t *s = &f->samples[f->n];
    memset(s, 0, sizeof(*s));
    char *blk = msb__malloc(n * (sizeof(char *) + sizeof(size_t)) + total + 1);
    if (blk == NULL) {
        return MSB_ENOMEM;
    }
    s->values = (char **)(void *)blk;
    s->lens = (size_t *)(void *)(blk + n * sizeof(char *));
    char *p = blk + n * (sizeof(char *) + sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        s->lens[i] = strlen(values[i]);
        memcpy(p, values[i], s->lens[i] + 1);
        s->values[i] = p;
        p += s->lens[i] + 1;
    }
    *out = s;
    return MSB_OK;
}

msb_status_t msb_metrics_write_sample(msb_metrics_writer_t *w, const char *const *label_values,
                                      double value)
{
    if (w == NULL || w->cur == NULL || w->cur->desc.type == MSB_METRIC_HISTOGRAM) {
        return MSB_EINVAL;
    }
    if (w->cur->desc.type == MSB_METRIC_COUNTER && !(value >= 0)) {
        return MSB_EINVAL;
    }
    msb__wsample_t *s;
    msb_status_t rc = new_sample(w, label_values, &s);
    if (rc == MSB_OK) {
        s->value = value;
        w->cur->n++;
    }
    return rc;
}

static bool same_bounds(const msb__famdesc_t *d, const double *bounds, size_t n)
{
    if (d->nbounds != n) {
        return false;
    }
    return n == 0 || memcmp(d->bounds, bounds, n * sizeof(double)) == 0;
}

msb_status_t msb_metrics_write_histogram(msb_metrics_writer_t *w, const char *const *label_values,
                                         const double *bounds, const uint64_t *counts,
                                         size_t bucket_count, double sum)
{
    if (w == NULL || w->cur == NULL || w->cur->desc.type != MSB_METRIC_HISTOGRAM ||
        counts == NULL || (bucket_count > 0 && bounds == NULL) ||
        bucket_count + 1 > MSB_METRICS_MAX_BUCKETS || isnan(sum)) {
        return MSB_EINVAL;
    }
    msb__famdesc_t *d = &w->cur->desc;
    if (w->cur->n == 0 && d->bounds == NULL) {
        if (bucket_count == 0) {
            d->nbounds = 0;
        } else if (msb__famdesc_bounds(d, bounds, bucket_count, NULL) != MSB_OK ||
                   d->nbounds != bucket_count) {
            msb__free(d->bounds);
            d->bounds = NULL;
            d->nbounds = 0;
            return MSB_EINVAL;
        }
    } else if (!same_bounds(d, bounds, bucket_count)) {
        return MSB_EINVAL; /* every series of a family has the same buckets */
    }
    msb__wsample_t *s;
    msb_status_t rc = new_sample(w, label_values, &s);
    if (rc != MSB_OK) {
        return rc;
    }
    s->buckets = msb__memdup(counts, (bucket_count + 1) * sizeof(uint64_t));
    if (s->buckets == NULL) {
        sample_free(s);
        return MSB_ENOMEM;
    }
    s->sum = sum;
    w->cur->n++;
    return MSB_OK;
}
