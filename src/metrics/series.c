/* Series: creation, and the hot paths of counters, gauges and histograms. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "metrics/internal.h"

_Static_assert(offsetof(msb__series_t, block) == offsetof(struct msb__series_head, block) &&
                   offsetof(msb__series_t, off) == offsetof(struct msb__series_head, off) &&
                   offsetof(msb__series_t, nb) == offsetof(struct msb__series_head, nb) &&
                   offsetof(msb__series_t, bounds) == offsetof(struct msb__series_head, bounds),
               "metrics.h's inline fast paths read the head of a series");

/* A public handle is a series (const dropped: reads of a const handle still sum its cells). */
static msb__series_t *S(const void *p)
{
    union {
        const void *c;
        msb__series_t *s;
    } u = {p};
    return u.s;
}

static msb_status_t copy_values(msb__series_t *s, size_t n, const char *const *values,
                                const size_t *lens, msb_error_t *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += lens[i] + 1;
    }
    /* One block: the value pointers, the lengths, then the strings. */
    char *blk = msb__malloc(n * (sizeof(char *) + sizeof(size_t)) + total + 1);
    if (blk == NULL) {
        return msb__err_nomem(err, "label values");
    }
    s->values = (char **)(void *)blk;
    s->lens = (size_t *)(void *)(blk + n * sizeof(char *));
    char *p = blk + n * (sizeof(char *) + sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        memcpy(p, values[i], lens[i]);
        p[lens[i]] = '\0';
        s->values[i] = p;
        s->lens[i] = lens[i];
        p += lens[i] + 1;
    }
    return MSB_OK;
}

msb_status_t msb__series_new(msb__family_t *f, const char *const *values, const size_t *lens,
                             uint64_t hash, msb__series_t **out, msb_error_t *err)
{
    msb__series_t *s = msb__calloc(1, sizeof(*s));
    if (s == NULL) {
        return msb__err_nomem(err, "a series");
    }
    s->fam = f;
    s->hash = hash;
    s->created_ns = msb_clock_realtime_ns(f->reg->clock);
    msb_status_t rc = copy_values(s, f->desc.nlabels, values, lens, err);
    uint32_t ncells = 0;
    if (f->desc.type == MSB_METRIC_COUNTER) {
        ncells = 2;
        s->nex = 1;
    } else if (f->desc.type == MSB_METRIC_HISTOGRAM) {
        s->nb = (uint32_t)f->desc.nbounds + 1;
        s->bounds = f->desc.bounds;
        ncells = s->nb + 1;
        s->nex = s->nb;
    }
    if (rc == MSB_OK && s->nex > 0) {
        s->ex = msb__calloc(s->nex, sizeof(*s->ex));
        rc = s->ex != NULL ? MSB_OK : msb__err_nomem(err, "exemplar slots");
    }
    if (rc == MSB_OK && ncells > 0) {
        rc = msb__cells_alloc(ncells, &s->cell, err);
        s->block = s->cell >> MSB__CELL_BLOCK_SHIFT;
        s->off = s->cell & (MSB__CELL_BLOCK - 1);
    }
    if (rc != MSB_OK) {
        msb__free((void *)s->ex);
        msb__free((void *)s->values);
        msb__free(s);
        return rc;
    }
    *out = s;
    return MSB_OK;
}

void msb__series_free(msb__series_t *s)
{
    if (s == NULL) {
        return;
    }
    uint32_t type = s->fam->desc.type;
    if (type == MSB_METRIC_COUNTER) {
        msb__cells_release(s->cell, 2);
    } else if (type == MSB_METRIC_HISTOGRAM) {
        msb__cells_release(s->cell, s->nb + 1);
    }
    for (size_t i = 0; i < s->nex; i++) {
        msb__free(atomic_load_explicit(&s->ex[i], memory_order_relaxed));
    }
    msb__free((void *)s->ex);
    msb__free((void *)s->values);
    msb__free(s);
}

/* ---- counters ---------------------------------------------------------------------------- */

/* Past the fast path: allocate this thread's block, or fall back to the shared cells. */
__attribute__((noinline, cold)) static void add_u64_slow(msb__series_t *s, uint32_t i, uint64_t n)
{
    msb__cells_add_u64(s->cell + i, s->block, s->off + i, n);
}

/* The fast path: this thread's block exists. A tail call otherwise, so no frame is built. */
static inline void add_u64(msb__series_t *s, uint32_t i, uint64_t n)
{
    msb__cellrec_t *r = msb__cells_tls;
    if (MSB_LIKELY(r != NULL)) {
        msb__cell_t *b = atomic_load_explicit(&r->blocks[s->block], memory_order_relaxed);
        if (MSB_LIKELY(b != NULL)) {
            msb__cell_add_u64_own(b + s->off + i, n);
            return;
        }
    }
    add_u64_slow(s, i, n);
}

void msb__counter_add_slow(msb_counter_t *c, uint64_t n)
{
    msb__cells_add_u64(S(c)->cell, S(c)->block, S(c)->off, n);
}

void msb_counter_inc(msb_counter_t *c)
{
    add_u64(S(c), 0, 1);
}

void msb_counter_add(msb_counter_t *c, uint64_t n)
{
    add_u64(S(c), 0, n);
}

msb_status_t msb_counter_add_double(msb_counter_t *c, double v)
{
    if (!(v >= 0)) {
        return MSB_EINVAL;
    }
    msb__series_t *s = S(c);
    msb__cells_add_f64(s->cell + 1, s->block, s->off + 1, v);
    return MSB_OK;
}

msb_status_t msb_counter_add_exemplar(msb_counter_t *c, double v, const msb_exemplar_t *ex,
                                      msb_error_t *err)
{
    msb__series_t *s = S(c);
    if (!(v >= 0)) {
        return msb__err(err, MSB_EINVAL, "metrics: %s: a counter cannot go down (add %g)",
                        s->fam->desc.name, v);
    }
    msb_status_t rc = msb__exemplar_store(s, 0, v, ex, err);
    if (rc == MSB_OK) {
        msb__cells_add_f64(s->cell + 1, s->block, s->off + 1, v);
    }
    return rc;
}

double msb_counter_value(const msb_counter_t *c)
{
    const msb__series_t *s = S(c);
    uint64_t n;
    double d;
    msb__cells_sum(s->cell, 1, 1, &n, &d);
    return (double)n + d;
}

/* ---- gauges ------------------------------------------------------------------------------ */

void msb_gauge_set(msb_gauge_t *g, double v)
{
    atomic_store_explicit(&S(g)->gauge, msb__f64_bits(v), memory_order_relaxed);
}

void msb_gauge_add(msb_gauge_t *g, double v)
{
    msb__cell_add_f64_atomic(&S(g)->gauge, v);
}

void msb_gauge_inc(msb_gauge_t *g)
{
    msb_gauge_add(g, 1);
}

void msb_gauge_dec(msb_gauge_t *g)
{
    msb_gauge_add(g, -1);
}

void msb_gauge_set_to_current_time(msb_gauge_t *g)
{
    int64_t ns = msb_clock_realtime_ns(S(g)->fam->reg->clock);
    msb_gauge_set(g, (double)ns / 1e9);
}

double msb_gauge_value(const msb_gauge_t *g)
{
    return msb__bits_f64(atomic_load_explicit(&S(g)->gauge, memory_order_relaxed));
}

/* ---- histograms -------------------------------------------------------------------------- */

/* Index of the bucket v falls in: the first bound >= v, else the +Inf bucket. */
static inline uint32_t bucket_of(const msb__series_t *s, double v)
{
    uint32_t n = s->nb - 1;
    const double *b = s->bounds;
    if (MSB_LIKELY(n <= MSB__SMALL_BUCKETS)) {
        /* Branchless lower bound over 16 bounds padded with +Inf (as in metrics.h). */
        uint32_t i = (uint32_t)(v > b[7]) << 3;
        i += (uint32_t)(v > b[i + 3]) << 2;
        i += (uint32_t)(v > b[i + 1]) << 1;
        i += (uint32_t)(v > b[i]);
        return i + (uint32_t)(i == 15 && v > b[15]);
    }
    uint32_t lo = 0;
    uint32_t hi = n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (v > b[mid]) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

__attribute__((noinline, cold)) static void observe_slow(msb__series_t *s, double v, uint32_t i)
{
    msb__cell_t *c = msb__cells_mine(s->block, s->off);
    if (c != NULL) {
        msb__cell_add_u64_own(c + i, 1);
        msb__cell_add_f64_own(c + s->nb, v);
    } else {
        atomic_fetch_add_explicit(msb__cells_shared(s->cell + i), 1, memory_order_relaxed);
        msb__cell_add_f64_atomic(msb__cells_shared(s->cell + s->nb), v);
    }
}

static inline void observe(msb__series_t *s, double v, uint32_t i)
{
    msb__cellrec_t *r = msb__cells_tls;
    if (MSB_LIKELY(r != NULL)) {
        msb__cell_t *b = atomic_load_explicit(&r->blocks[s->block], memory_order_relaxed);
        if (MSB_LIKELY(b != NULL)) {
            msb__cell_t *c = b + s->off;
            msb__cell_add_u64_own(c + i, 1);
            msb__cell_add_f64_own(c + s->nb, v);
            return;
        }
    }
    observe_slow(s, v, i);
}

void msb__histogram_observe_slow(msb_histogram_t *h, double v)
{
    msb__series_t *s = S(h);
    if (isnan(v)) {
        return;
    }
    observe_slow(s, v, bucket_of(s, v));
}

void msb_histogram_observe(msb_histogram_t *h, double v)
{
    msb__series_t *s = S(h);
    if (MSB_UNLIKELY(isnan(v))) {
        return;
    }
    observe(s, v, bucket_of(s, v));
}

msb_status_t msb_histogram_observe_exemplar(msb_histogram_t *h, double v, const msb_exemplar_t *ex,
                                            msb_error_t *err)
{
    msb__series_t *s = S(h);
    if (isnan(v)) {
        return msb__err(err, MSB_EINVAL, "metrics: %s: cannot observe NaN", s->fam->desc.name);
    }
    uint32_t i = bucket_of(s, v);
    msb_status_t rc = msb__exemplar_store(s, i, v, ex, err);
    if (rc == MSB_OK) {
        observe(s, v, i);
    }
    return rc;
}

uint64_t msb_histogram_count(const msb_histogram_t *h)
{
    const msb__series_t *s = S(h);
    uint64_t counts[MSB_METRICS_MAX_BUCKETS];
    double sum;
    msb__cells_sum(s->cell, s->nb, 1, counts, &sum);
    uint64_t total = 0;
    for (uint32_t i = 0; i < s->nb; i++) {
        total += counts[i];
    }
    return total;
}

double msb_histogram_sum(const msb_histogram_t *h)
{
    const msb__series_t *s = S(h);
    uint64_t counts[MSB_METRICS_MAX_BUCKETS];
    double sum;
    msb__cells_sum(s->cell, s->nb, 1, counts, &sum);
    return sum;
}

/* ---- bucket layouts ---------------------------------------------------------------------- */

const double *msb_metrics_default_buckets(size_t *count)
{
    static const double def[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
    if (count != NULL) {
        *count = MSB_ARRAY_LEN(def);
    }
    return def;
}

msb_status_t msb_metrics_buckets_linear(double start, double width, size_t count, double *out)
{
    if (count == 0 || out == NULL || !(width > 0) || !isfinite(start) || !isfinite(width)) {
        return MSB_EINVAL;
    }
    for (size_t i = 0; i < count; i++) {
        out[i] = start + width * (double)i;
        if (!isfinite(out[i])) {
            return MSB_EINVAL;
        }
    }
    return MSB_OK;
}

msb_status_t msb_metrics_buckets_exponential(double start, double factor, size_t count, double *out)
{
    if (count == 0 || out == NULL || !(start > 0) || !(factor > 1) || !isfinite(start) ||
        !isfinite(factor)) {
        return MSB_EINVAL;
    }
    double v = start;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(v)) {
            return MSB_EINVAL;
        }
        out[i] = v;
        v *= factor;
    }
    return MSB_OK;
}
