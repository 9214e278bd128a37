/*
 * Exemplars: the latest one of a series (or of a histogram bucket), in a slot written under a
 * sequence lock. Writers that find the slot busy drop their exemplar rather than wait; readers
 * retry until they get a consistent copy. Every field is an atomic, so the race is a defined one.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/utf8.h"
#include "metrics/internal.h"

typedef struct raw {
    char bytes[MSB__EXEMPLAR_WORDS * 8];
    size_t len;
    size_t chars;
} raw_t;

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return n;
}

static msb_status_t add_label(const msb__famdesc_t *d, raw_t *r, const char *name,
                              const char *value, msb_error_t *err)
{
    msb_status_t rc = msb__label_name_check(d->name, name, err);
    if (rc == MSB_OK) {
        rc = msb__label_value_check(d->name, name, value, err);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    for (size_t off = 0; off < r->len;) {
        if (strcmp(r->bytes + off, name) == 0) {
            return msb__err(err, MSB_EINVAL, "metrics: %s: exemplar label \"%s\" appears twice",
                            d->name, name);
        }
        off += strlen(r->bytes + off) + 1;
        off += strlen(r->bytes + off) + 1;
    }
    r->chars += utf8_chars(name) + utf8_chars(value);
    size_t nl = strlen(name) + 1;
    size_t vl = strlen(value) + 1;
    if (r->chars > MSB_METRICS_EXEMPLAR_MAX_CHARS || r->len + nl + vl > sizeof(r->bytes)) {
        return msb__err(err, MSB_ETOOBIG,
                        "metrics: %s: exemplar labels exceed %d UTF-8 characters (OpenMetrics' "
                        "limit)",
                        d->name, MSB_METRICS_EXEMPLAR_MAX_CHARS);
    }
    memcpy(r->bytes + r->len, name, nl);
    memcpy(r->bytes + r->len + nl, value, vl);
    r->len += nl + vl;
    return MSB_OK;
}

static msb_status_t encode(const msb__famdesc_t *d, const msb_exemplar_t *ex, raw_t *r,
                           msb_error_t *err)
{
    msb_status_t rc = MSB_OK;
    r->len = 0;
    r->chars = 0;
    if (ex->trace_id != NULL) {
        rc = add_label(d, r, "trace_id", ex->trace_id, err);
    }
    if (rc == MSB_OK && ex->span_id != NULL) {
        rc = add_label(d, r, "span_id", ex->span_id, err);
    }
    if (rc == MSB_OK && ex->label_count > 0 && ex->labels == NULL) {
        return msb__err(err, MSB_EINVAL, "metrics: %s: exemplar label_count without labels",
                        d->name);
    }
    for (size_t i = 0; rc == MSB_OK && i < ex->label_count; i++) {
        rc = add_label(d, r, ex->labels[i].name, ex->labels[i].value, err);
    }
    return rc;
}

static msb__exslot_t *slot_of(msb__series_t *s, size_t i)
{
    msb__exslot_t *slot = atomic_load_explicit(&s->ex[i], memory_order_acquire);
    if (slot != NULL) {
        return slot;
    }
    msb__exslot_t *mine = msb__calloc(1, sizeof(*mine));
    if (mine == NULL) {
        return NULL;
    }
    if (atomic_compare_exchange_strong_explicit(&s->ex[i], &slot, mine, memory_order_acq_rel,
                                                memory_order_acquire)) {
        return mine;
    }
    msb__free(mine);
    return slot;
}

msb_status_t msb__exemplar_store(msb__series_t *s, size_t i, double v, const msb_exemplar_t *ex,
                                 msb_error_t *err)
{
    if (ex == NULL) {
        return MSB_OK;
    }
    raw_t r;
    msb_status_t rc = encode(&s->fam->desc, ex, &r, err);
    if (rc != MSB_OK) {
        return rc;
    }
    int64_t ts =
        ex->timestamp_ns != 0 ? ex->timestamp_ns : msb_clock_realtime_ns(s->fam->reg->clock);
    msb__exslot_t *slot = slot_of(s, i);
    if (slot == NULL) {
        return msb__err_nomem(err, "an exemplar slot");
    }
    uint32_t seq = atomic_load_explicit(&slot->seq, memory_order_relaxed);
    if ((seq & 1) != 0 ||
        !atomic_compare_exchange_strong_explicit(&slot->seq, &seq, seq + 1, memory_order_acquire,
                                                 memory_order_relaxed)) {
        return MSB_OK; /* another writer is storing one: keep theirs */
    }
    atomic_store_explicit(&slot->value_bits, msb__f64_bits(v), memory_order_relaxed);
    atomic_store_explicit(&slot->ts_ns, ts, memory_order_relaxed);
    atomic_store_explicit(&slot->len, (uint32_t)r.len, memory_order_relaxed);
    for (size_t w = 0; w * 8 < r.len; w++) {
        uint64_t word = 0;
        size_t n = r.len - w * 8 < 8 ? r.len - w * 8 : 8;
        memcpy(&word, r.bytes + w * 8, n);
        atomic_store_explicit(&slot->words[w], word, memory_order_relaxed);
    }
    atomic_store_explicit(&slot->seq, seq + 2, memory_order_release);
    return MSB_OK;
}

void msb__exemplar_load(const msb__series_t *s, size_t i, msb__exemplar_copy_t *out)
{
    out->present = 0;
    msb__exslot_t *slot = atomic_load_explicit(&s->ex[i], memory_order_acquire);
    if (slot == NULL) {
        return;
    }
    for (int attempt = 0; attempt < 1000; attempt++) {
        uint32_t s1 = atomic_load_explicit(&slot->seq, memory_order_acquire);
        if (s1 == 0) {
            return; /* allocated, nothing stored yet */
        }
        if ((s1 & 1) != 0) {
            continue;
        }
        out->value = msb__bits_f64(atomic_load_explicit(&slot->value_bits, memory_order_relaxed));
        out->ts_ns = atomic_load_explicit(&slot->ts_ns, memory_order_relaxed);
        uint32_t len = atomic_load_explicit(&slot->len, memory_order_relaxed);
        if (len > sizeof(out->raw)) {
            continue;
        }
        for (size_t w = 0; w * 8 < len; w++) {
            uint64_t word = atomic_load_explicit(&slot->words[w], memory_order_relaxed);
            size_t n = len - w * 8 < 8 ? len - w * 8 : 8;
            memcpy(out->raw + w * 8, &word, n);
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&slot->seq, memory_order_relaxed) == s1) {
            out->len = len;
            out->present = 1;
            return;
        }
    }
}
