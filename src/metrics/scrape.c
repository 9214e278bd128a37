/*
 * A scrape: run the collectors, then write every family in name order, each family's series in
 * label-value order. Registry series are summed from the threads' cells as they are written:
 * writers never wait. Scrapes of one registry run one at a time (the registry lock).
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "metrics/scrape.h"

typedef struct famref {
    const char *name;
    msb__family_t *reg_family; /* or */
    msb__wfamily_t *wfamily;
} famref_t;

/* Label values of a series, for sorting: registry series and collector samples alike. */
typedef struct valref {
    char **values;
    size_t *lens;
    void *item;
} valref_t;

static int cmp_famref(const void *a, const void *b)
{
    return strcmp(((const famref_t *)a)->name, ((const famref_t *)b)->name);
}

static int cmp_values(const void *a, const void *b, void *arg)
{
    const valref_t *x = a;
    const valref_t *y = b;
    size_t n = *(const size_t *)arg;
    for (size_t i = 0; i < n; i++) {
        size_t m = x->lens[i] < y->lens[i] ? x->lens[i] : y->lens[i];
        int c = memcmp(x->values[i], y->values[i], m);
        if (c != 0) {
            return c;
        }
        if (x->lens[i] != y->lens[i]) {
            return x->lens[i] < y->lens[i] ? -1 : 1;
        }
    }
    return 0;
}

const char *msb_metrics_content_type(msb_metrics_format_t format)
{
    switch (format) {
    case MSB_METRICS_FORMAT_OPENMETRICS:
        return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    case MSB_METRICS_FORMAT_JSON:
        return "application/json";
    default:
        return "text/plain; version=0.0.4; charset=utf-8";
    }
}

void msb_metrics_text_free(char *text)
{
    msb__free(text);
}

typedef struct scratch {
    valref_t *refs;
    size_t cap;
    msb__exemplar_copy_t *ex; /* MSB_METRICS_MAX_BUCKETS of them, allocated on demand */
} scratch_t;

static valref_t *refs_for(scratch_t *sc, size_t n)
{
    if (n > sc->cap) {
        valref_t *r = msb__realloc(sc->refs, n * sizeof(*r));
        if (r == NULL) {
            return NULL;
        }
        sc->refs = r;
        sc->cap = n;
    }
    return sc->refs;
}

static void view_of(msb_metrics_t *reg, const msb__series_t *s, msb__view_t *v, uint64_t *counts,
                    msb__exemplar_copy_t *ex)
{
    memset(v, 0, sizeof(*v));
    v->values = (const char *const *)s->values;
    v->lens = s->lens;
    v->created_ns = reg->created_samples ? s->created_ns : 0;
    msb_metric_type_t t = s->fam->desc.type;
    if (t == MSB_METRIC_INFO) {
        return; /* no cells: its value is always 1 */
    }
    if (t == MSB_METRIC_GAUGE) {
        v->value = msb__bits_f64(atomic_load_explicit(&s->gauge, memory_order_relaxed));
        return;
    }
    if (t == MSB_METRIC_COUNTER) {
        double d;
        msb__cells_sum(s->cell, 1, 1, &v->ivalue, &d);
        v->is_int = d == 0;
        v->value = (double)v->ivalue + d;
    } else {
        msb__cells_sum(s->cell, s->nb, 1, counts, &v->sum);
        v->buckets = counts;
    }
    for (size_t i = 0; ex != NULL && i < s->nex; i++) {
        msb__exemplar_load(s, i, &ex[i]);
    }
    v->ex = ex;
}

static msb_status_t write_registry_family(msb_metrics_t *reg, msb__buf_t *b,
                                          msb_metrics_format_t fmt, msb__family_t *f, scratch_t *sc,
                                          int *first)
{
    msb_status_t rc = MSB_OK;
    pthread_mutex_lock(&f->lock);
    msb__family_reclaim(f);
    valref_t *refs = f->nlist > 0 ? refs_for(sc, f->nlist) : NULL;
    if (f->nlist > 0 && refs == NULL) {
        rc = MSB_ENOMEM;
    }
    if (refs != NULL) {
        for (size_t i = 0; i < f->nlist; i++) {
            refs[i] = (valref_t){f->list[i]->values, f->list[i]->lens, f->list[i]};
        }
        qsort_r(refs, f->nlist, sizeof(*refs), cmp_values, &f->desc.nlabels);
        msb__render_family_begin(b, fmt, &f->desc, *first);
        uint64_t counts[MSB_METRICS_MAX_BUCKETS];
        for (size_t i = 0; i < f->nlist; i++) {
            msb__view_t v;
            view_of(reg, refs[i].item, &v, counts, fmt == MSB_METRICS_FORMAT_TEXT ? NULL : sc->ex);
            msb__render_series(b, fmt, &f->desc, &v, i == 0, reg->created_samples);
        }
        msb__render_family_end(b, fmt);
        *first = 0;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

static msb_status_t write_collector_family(msb__buf_t *b, msb_metrics_format_t fmt,
                                           msb__wfamily_t *f, scratch_t *sc, int *first)
{
    if (f->n == 0) {
        return MSB_OK;
    }
    valref_t *refs = refs_for(sc, f->n);
    if (refs == NULL) {
        return MSB_ENOMEM;
    }
    for (size_t i = 0; i < f->n; i++) {
        refs[i] = (valref_t){f->samples[i].values, f->samples[i].lens, &f->samples[i]};
    }
    qsort_r(refs, f->n, sizeof(*refs), cmp_values, &f->desc.nlabels);
    msb__render_family_begin(b, fmt, &f->desc, *first);
    for (size_t i = 0; i < f->n; i++) {
        const msb__wsample_t *s = refs[i].item;
        msb__view_t v = {.values = (const char *const *)s->values, .lens = s->lens};
        v.value = s->value;
        v.buckets = s->buckets;
        v.sum = s->sum;
        msb__render_series(b, fmt, &f->desc, &v, i == 0, 0);
    }
    msb__render_family_end(b, fmt);
    *first = 0;
    return MSB_OK;
}

void msb__collector_error(msb_metrics_t *reg, const char *name)
{
    msb__series_t *s;
    const char *values[] = {name};
    if (msb__family_get(reg->collector_errors, values, &s, NULL) == MSB_OK) {
        msb_counter_inc((msb_counter_t *)(void *)s);
    }
}

static void run_collectors(msb_metrics_t *reg, msb_metrics_writer_t *w)
{
    for (msb_metrics_collector_t *c = reg->collectors; c != NULL; c = c->next) {
        size_t start = w->n;
        w->cur = NULL;
        if (c->fn(w, c->user) != MSB_OK) {
            msb__writer_truncate(w, start);
            msb__collector_error(reg, c->name);
        }
    }
}

static msb_status_t write_all(msb_metrics_t *reg, msb_metrics_format_t fmt, msb_metrics_writer_t *w,
                              msb__buf_t *b)
{
    famref_t *refs = msb__calloc(reg->nfamilies + w->n + 1, sizeof(*refs));
    scratch_t sc = {NULL, 0, NULL};
    if (fmt != MSB_METRICS_FORMAT_TEXT) {
        sc.ex = msb__malloc(MSB_METRICS_MAX_BUCKETS * sizeof(*sc.ex));
    }
    msb_status_t rc =
        refs == NULL || (fmt != MSB_METRICS_FORMAT_TEXT && sc.ex == NULL) ? MSB_ENOMEM : MSB_OK;
    size_t n = 0;
    for (msb__family_t *f = reg->families; rc == MSB_OK && f != NULL; f = f->next) {
        refs[n++] = (famref_t){f->desc.name, f, NULL};
    }
    for (size_t i = 0; rc == MSB_OK && i < w->n; i++) {
        refs[n++] = (famref_t){w->fams[i].desc.name, NULL, &w->fams[i]};
    }
    if (n > 0) {
        qsort(refs, n, sizeof(*refs), cmp_famref);
    }
    msb__render_begin(b, fmt);
    int first = 1;
    for (size_t i = 0; rc == MSB_OK && i < n; i++) {
        rc = refs[i].reg_family != NULL
                 ? write_registry_family(reg, b, fmt, refs[i].reg_family, &sc, &first)
                 : write_collector_family(b, fmt, refs[i].wfamily, &sc, &first);
    }
    msb__render_end(b, fmt);
    msb__free(refs);
    msb__free(sc.refs);
    msb__free(sc.ex);
    return rc != MSB_OK ? rc : msb__buf_status(b);
}

msb_status_t msb_metrics_render(msb_metrics_t *reg, msb_metrics_format_t format, char **out,
                                size_t *len, msb_error_t *err)
{
    if (reg == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: render: registry and out are required");
    }
    if ((unsigned)format > MSB_METRICS_FORMAT_JSON) {
        return msb__err(err, MSB_EINVAL, "metrics: render: unknown format %d", (int)format);
    }
    msb_metrics_writer_t w = {reg, NULL, 0, 0, NULL};
    msb__buf_t b = MSB__BUF_INIT;
    pthread_mutex_lock(&reg->lock);
    run_collectors(reg, &w);
    msb_status_t rc = write_all(reg, format, &w, &b);
    pthread_mutex_unlock(&reg->lock);
    msb__writer_truncate(&w, 0);
    msb__free(w.fams);
    if (rc != MSB_OK) {
        msb__buf_free(&b);
        return msb__err(err, rc, "metrics: render: out of memory");
    }
    size_t n = 0;
    char *text = msb__buf_steal(&b, &n);
    if (text == NULL) {
        text = msb__strdup("");
        if (text == NULL) {
            return msb__err_nomem(err, "an exposition");
        }
    }
    *out = text;
    if (len != NULL) {
        *len = n;
    }
    return MSB_OK;
}
