/*
 * Families: registration, and the lock-free lookup of a labelled family's series.
 *
 * The table is open-addressed with linear probing; slots hold series pointers, written only under
 * the family's lock. Lookups read it without a lock inside an EBR read section (cells.h), so a
 * removed series or an outgrown table is freed only once no lookup can still see it.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rand.h"
#include "metrics/internal.h"

/* A removed series' slot: probes go on past it. */
static msb__series_t tombstone;
#define TOMBSTONE (&tombstone)

/*
 * Hash of label values: a keyed multiply-mix hash (the wyhash construction) with a random seed per
 * family. SipHash costs three times as much here; flooding a family needs the seed, cannot be
 * observed from outside, and is bounded anyway by the family's max_series.
 */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* The first and last bytes of a short string, as two words (overlapping reads, no copy). */
static inline void short_words(const char *p, size_t n, uint64_t *a, uint64_t *b)
{
    if (n > 8) {
        *a = load64(p);
        *b = load64(p + n - 8);
    } else if (n >= 4) {
        *a = (load32(p) << 32) | load32(p + n - 4);
        *b = 0;
    } else if (n > 0) {
        *a = ((uint64_t)(unsigned char)p[0] << 16) | ((uint64_t)(unsigned char)p[n >> 1] << 8) |
             (unsigned char)p[n - 1];
        *b = 0;
    } else {
        *a = 0;
        *b = 0;
    }
}

static uint64_t hash_bytes(const char *p, size_t n, uint64_t h)
{
    static const uint64_t k1 = 0xa0761d6478bd642full;
    static const uint64_t k2 = 0xe7037ed1a0b428dbull;
    h ^= n * k2;
    while (n > 16) {
        h = mum(load64(p) ^ k1, load64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    uint64_t a;
    uint64_t b;
    short_words(p, n, &a, &b);
    return mum(a ^ k1, b ^ h ^ k2);
}

/* Checks that none of the n values is NULL, fills lens[0..n), and their hash. */
static bool hash_values(const msb__family_t *f, const char *const *values, size_t n, size_t *lens,
                        uint64_t *hash)
{
    uint64_t h = f->seed;
    for (size_t i = 0; i < n; i++) {
        if (MSB_UNLIKELY(values[i] == NULL)) {
            return false;
        }
        lens[i] = strlen(values[i]);
        h = hash_bytes(values[i], lens[i], h + i);
    }
    *hash = h;
    return true;
}

static inline bool bytes_eq(const char *x, const char *y, size_t n)
{
    if (n > 16) {
        return memcmp(x, y, n) == 0;
    }
    if (n > 8) { /* two overlapping words cover every byte */
        return load64(x) == load64(y) && load64(x + n - 8) == load64(y + n - 8);
    }
    if (n >= 4) {
        return load32(x) == load32(y) && load32(x + n - 4) == load32(y + n - 4);
    }
    /* 1 to 3 bytes: positions 0, n/2 and n-1 are all of them */
    return n == 0 || (x[0] == y[0] && x[n >> 1] == y[n >> 1] && x[n - 1] == y[n - 1]);
}

static bool values_eq(const msb__series_t *s, const char *const *values, const size_t *lens,
                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s->lens[i] != lens[i] || !bytes_eq(s->values[i], values[i], lens[i])) {
            return false;
        }
    }
    return true;
}

/* Slot index of the series with these values, or SIZE_MAX. */
static size_t table_find(msb__table_t *t, uint64_t h, const char *const *values, const size_t *lens,
                         size_t n)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)h & mask;
    for (size_t probes = 0; probes < t->cap; probes++) {
        msb__series_t *s = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (s == NULL) {
            return SIZE_MAX;
        }
        if (s != TOMBSTONE && s->hash == h && values_eq(s, values, lens, n)) {
            return i;
        }
        i = (i + 1) & mask;
    }
    return SIZE_MAX;
}

msb__table_t *msb__table_new(size_t cap)
{
    msb__table_t *t = msb__calloc(1, sizeof(*t) + cap * sizeof(t->slots[0]));
    if (t != NULL) {
        t->cap = cap;
    }
    return t;
}

static void table_put(msb__table_t *t, msb__series_t *s)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)s->hash & mask;
    for (;;) {
        msb__series_t *cur = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (cur == NULL || cur == TOMBSTONE) {
            atomic_store_explicit(&t->slots[i], s, memory_order_release);
            return;
        }
        i = (i + 1) & mask;
    }
}

static void limbo_push(msb__family_t *f, msb__limbo_t *l, void *ptr, int is_table)
{
    l->ptr = ptr;
    l->is_table = is_table;
    l->epoch = msb__ebr_retire_epoch();
    l->next = f->limbo;
    f->limbo = l;
}

/* Make room for one more series (under the family lock). */
static msb_status_t table_reserve(msb__family_t *f, msb_error_t *err)
{
    msb__table_t *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    if ((f->used + 1) * 2 <= t->cap) {
        return MSB_OK;
    }
    size_t cap = MSB__TABLE_MIN;
    while (cap < (f->nlist + 1) * 4) {
        cap *= 2;
    }
    msb__table_t *nt = msb__table_new(cap);
    msb__limbo_t *l = msb__malloc(sizeof(*l));
    if (nt == NULL || l == NULL) {
        msb__free(nt);
        msb__free(l);
        return msb__err_nomem(err, "a metric family's table");
    }
    for (size_t i = 0; i < f->nlist; i++) {
        table_put(nt, f->list[i]);
    }
    atomic_store_explicit(&f->table, nt, memory_order_release);
    f->used = f->nlist;
    limbo_push(f, l, t, 1);
    return MSB_OK;
}

msb_status_t msb__family_append(msb__family_t *f, msb__series_t *s, msb_error_t *err)
{
    if (f->nlist == f->caplist) {
        size_t cap = f->caplist == 0 ? 8 : f->caplist * 2;
        msb__series_t **l = msb__realloc((void *)f->list, cap * sizeof(msb__series_t *));
        if (l == NULL) {
            return msb__err_nomem(err, "a metric family's series list");
        }
        f->list = l;
        f->caplist = cap;
    }
    f->list[f->nlist++] = s;
    return MSB_OK;
}

static msb_status_t insert_locked(msb__family_t *f, const char *const *values, const size_t *lens,
                                  uint64_t h, msb__series_t **out, msb_error_t *err)
{
    const msb__famdesc_t *d = &f->desc;
    for (size_t i = 0; i < d->nlabels; i++) {
        msb_status_t rc = msb__label_value_check(d->name, d->label_names[i], values[i], err);
        if (rc != MSB_OK) {
            return rc;
        }
    }
    if (f->nlist >= f->max_series) {
        char shown[300];
        msb__famdesc_display(d, shown, sizeof(shown));
        return msb__err(err, MSB_ELIMIT,
                        "metrics: family %s reached its bound of %zu series (max_series); "
                        "new label values are refused",
                        shown, f->max_series);
    }
    msb__series_t *s = NULL;
    msb_status_t rc = table_reserve(f, err);
    if (rc == MSB_OK) {
        rc = msb__series_new(f, values, lens, h, &s, err);
    }
    if (rc == MSB_OK) {
        rc = msb__family_append(f, s, err);
    }
    if (rc != MSB_OK) {
        msb__series_free(s);
        return rc;
    }
    msb__table_t *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    size_t mask = t->cap - 1;
    size_t i = (size_t)h & mask;
    while (atomic_load_explicit(&t->slots[i], memory_order_relaxed) != NULL &&
           atomic_load_explicit(&t->slots[i], memory_order_relaxed) != TOMBSTONE) {
        i = (i + 1) & mask;
    }
    if (atomic_load_explicit(&t->slots[i], memory_order_relaxed) == NULL) {
        f->used++;
    }
    atomic_store_explicit(&t->slots[i], s, memory_order_release);
    *out = s;
    return MSB_OK;
}

static msb_status_t bad_values(const msb__family_t *f, const char *const *values, msb_error_t *err)
{
    const msb__famdesc_t *d = &f->desc;
    if (values == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: %s: label values are required (%zu)", d->name,
                        d->nlabels);
    }
    size_t i = 0;
    while (values[i] != NULL) {
        i++;
    }
    return msb__err(err, MSB_EINVAL, "metrics: %s: label \"%s\" has a NULL value", d->name,
                    d->label_names[i]);
}

static inline msb_status_t family_get(msb__family_t *f, const char *const *values,
                                      msb__series_t **out, msb_error_t *err)
{
    size_t n = f->desc.nlabels;
    size_t lens[MSB_METRICS_MAX_LABELS];
    uint64_t h;
    msb_status_t rc = MSB_OK;
    if (MSB_UNLIKELY(values == NULL || !hash_values(f, values, n, lens, &h))) {
        return bad_values(f, values, err);
    }
    msb__cellrec_t *rec = msb__ebr_enter();
    if (MSB_LIKELY(rec != NULL)) {
        msb__table_t *t = atomic_load_explicit(&f->table, memory_order_acquire);
        size_t i = table_find(t, h, values, lens, n);
        msb__series_t *s =
            i != SIZE_MAX ? atomic_load_explicit(&t->slots[i], memory_order_relaxed) : NULL;
        msb__ebr_exit(rec);
        if (s != NULL) {
            *out = s;
            return MSB_OK;
        }
    }
    pthread_mutex_lock(&f->lock);
    msb__table_t *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    size_t i = table_find(t, h, values, lens, n);
    if (i != SIZE_MAX) {
        *out = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
    } else {
        rc = insert_locked(f, values, lens, h, out, err);
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

msb_status_t msb__family_get(msb__family_t *f, const char *const *values, msb__series_t **out,
                             msb_error_t *err)
{
    return family_get(f, values, out, err);
}

/* The public lookups live here, next to the table, so that the lookup inlines into them. */
static msb_status_t vec_get(void *vec, const char *const *values, void **out, msb_error_t *err)
{
    if (MSB_UNLIKELY(vec == NULL || out == NULL)) {
        return msb__err(err, MSB_EINVAL, "metrics: family and out are required");
    }
    return family_get(vec, values, (msb__series_t **)out, err);
}

msb_status_t msb_counter_vec_get(msb_counter_vec_t *v, const char *const *values,
                                 msb_counter_t **out, msb_error_t *err)
{
    return vec_get(v, values, (void **)out, err);
}

msb_status_t msb_gauge_vec_get(msb_gauge_vec_t *v, const char *const *values, msb_gauge_t **out,
                               msb_error_t *err)
{
    return vec_get(v, values, (void **)out, err);
}

msb_status_t msb_histogram_vec_get(msb_histogram_vec_t *v, const char *const *values,
                                   msb_histogram_t **out, msb_error_t *err)
{
    return vec_get(v, values, (void **)out, err);
}

void msb__family_reclaim(msb__family_t *f)
{
    for (msb__limbo_t **pp = &f->limbo; *pp != NULL;) {
        msb__limbo_t *l = *pp;
        if (!msb__ebr_safe(l->epoch)) {
            pp = &l->next;
            continue;
        }
        *pp = l->next;
        if (l->is_table) {
            msb__free(l->ptr);
        } else {
            msb__series_free(l->ptr);
        }
        msb__free(l);
    }
}

msb_status_t msb__family_remove(msb__family_t *f, const char *const *values)
{
    size_t lens[MSB_METRICS_MAX_LABELS];
    uint64_t h;
    size_t n = f->desc.nlabels;
    if (values == NULL || !hash_values(f, values, n, lens, &h)) {
        return MSB_EINVAL;
    }
    msb__limbo_t *l = msb__malloc(sizeof(*l));
    if (l == NULL) {
        return MSB_ENOMEM;
    }
    pthread_mutex_lock(&f->lock);
    msb__table_t *t = atomic_load_explicit(&f->table, memory_order_relaxed);
    size_t i = table_find(t, h, values, lens, n);
    if (i == SIZE_MAX) {
        pthread_mutex_unlock(&f->lock);
        msb__free(l);
        return MSB_ENOTFOUND;
    }
    msb__series_t *s = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
    atomic_store_explicit(&t->slots[i], TOMBSTONE, memory_order_release);
    for (size_t j = 0; j < f->nlist; j++) {
        if (f->list[j] == s) {
            f->list[j] = f->list[--f->nlist];
            break;
        }
    }
    limbo_push(f, l, s, 0);
    msb__family_reclaim(f);
    pthread_mutex_unlock(&f->lock);
    return MSB_OK;
}

void msb__family_free(msb__family_t *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; i < f->nlist; i++) {
        msb__series_free(f->list[i]);
    }
    msb__free((void *)f->list);
    while (f->limbo != NULL) {
        msb__limbo_t *l = f->limbo;
        f->limbo = l->next;
        if (l->is_table) {
            msb__free(l->ptr);
        } else {
            msb__series_free(l->ptr);
        }
        msb__free(l);
    }
    msb__free(atomic_load_explicit(&f->table, memory_order_relaxed));
    pthread_mutex_destroy(&f->lock);
    msb__famdesc_free(&f->desc);
    msb__free(f);
}
