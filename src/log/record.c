/*
 * msb_log_write(): the hot path. In order: the level filter (one relaxed atomic load), sampling,
 * the time, the context hook, key checks and duplicate keys, encoding into a stack buffer (the
 * heap only for records over MSB__LOG_STACK_BUF), and the copy into the queue. Nothing on the
 * path allocates for an ordinary record.
 */
#include <string.h>

#include "core/alloc.h"
#include "log/log_impl.h"

/* ---- the process-wide context hook: a seqlock, so readers never take a lock ---------------- */

static _Atomic unsigned hook_seq;
static _Atomic(msb_log_context_fn) hook_fn;
static _Atomic(void *) hook_user;
static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;
/* Set while this thread runs the hook: a record it logs gets no context (no recursion). */
static _Thread_local bool in_hook;

/*
 * Writer: seq odd, then the pair with release stores (so a reader that sees a new value also sees
 * the odd seq), then seq even. Reader: acquire loads, retried until seq is even and unchanged.
 * No fences (ThreadSanitizer does not model them).
 */
void msb_log_set_context_hook(msb_log_context_fn fn, void *user)
{
    pthread_mutex_lock(&hook_mu);
    unsigned s = atomic_load_explicit(&hook_seq, memory_order_relaxed);
    atomic_store_explicit(&hook_seq, s + 1, memory_order_relaxed);
    atomic_store_explicit(&hook_fn, fn, memory_order_release);
    atomic_store_explicit(&hook_user, user, memory_order_release);
    atomic_store_explicit(&hook_seq, s + 2, memory_order_release);
    pthread_mutex_unlock(&hook_mu);
}

static size_t run_hook(msb_log_field_t *out)
{
    if (atomic_load_explicit(&hook_fn, memory_order_relaxed) == NULL || in_hook) {
        return 0;
    }
    msb_log_context_fn fn;
    void *user;
    for (;;) {
        unsigned s1 = atomic_load_explicit(&hook_seq, memory_order_acquire);
        fn = atomic_load_explicit(&hook_fn, memory_order_acquire);
        user = atomic_load_explicit(&hook_user, memory_order_acquire);
        if ((s1 & 1) == 0 && atomic_load_explicit(&hook_seq, memory_order_relaxed) == s1) {
            break;
        }
    }
    if (fn == NULL) {
        return 0;
    }
    in_hook = true;
    size_t n = fn(out, MSB_LOG_CONTEXT_MAX, user);
    in_hook = false;
    return n > MSB_LOG_CONTEXT_MAX ? MSB_LOG_CONTEXT_MAX : n;
}

/* ---- sampling: first N per (level, message) per tick, then one in M ------------------------- */

bool msb__log_sample(msb__log_core_t *c, msb_log_level_t level, const char *msg, size_t msg_len)
{
    msb__log_sampler_t *s = c->sampler;
    uint64_t h = UINT64_C(14695981039346656037) ^ (uint64_t)level; /* FNV-1a */
    for (size_t i = 0; i < msg_len; i++) {
        h ^= (unsigned char)msg[i];
        h *= UINT64_C(1099511628211);
    }
    msb__log_sample_slot_t *slot = &s->slots[h & (MSB__LOG_SAMPLER_SLOTS - 1)];
    uint64_t now = c->clock->monotonic_ns(c->clock);
    uint64_t reset = atomic_load_explicit(&slot->reset_at, memory_order_acquire);
    if (now >= reset &&
        atomic_compare_exchange_strong_explicit(&slot->reset_at, &reset, now + s->tick_ns,
                                                memory_order_acq_rel, memory_order_acquire)) {
        atomic_store_explicit(&slot->count, 1, memory_order_release);
        return true;
    }
    uint64_t k = atomic_fetch_add_explicit(&slot->count, 1, memory_order_acq_rel) + 1;
    if (k <= s->first) {
        return true;
    }
    return s->thereafter != 0 && (k - s->first) % s->thereafter == 0;
}

/* ---- keys ----------------------------------------------------------------------------------- */

bool msb__log_key_reserved(const char *key, size_t klen)
{
    switch (klen) {
    case 2:
        return memcmp(key, "ts", 2) == 0;
    case 3:
        return memcmp(key, "msg", 3) == 0;
    case 5:
        return memcmp(key, "level", 5) == 0;
    case 7:
        return memcmp(key, "service", 7) == 0;
    default:
        return false;
    }
}

#define SKIP UINT32_MAX

typedef struct item {
    uint32_t klen; /* SKIP: not written */
    uint32_t tag;
} item_t;

typedef struct record {
    const msb_log_t *lg;
    int64_t ts;
    msb_log_level_t level;
    const char *msg;
    size_t msg_len;
    const msb_log_field_t *ctx;
    size_t nctx;
    const msb_log_field_t *fields;
    size_t m; /* nctx + call fields kept */
    item_t items[MSB_LOG_CONTEXT_MAX + MSB_LOG_MAX_FIELDS];
    bool filter_bound; /* some bound field is overridden: write them one by one */
    bool bound_skip[MSB_LOG_MAX_FIELDS];
} record_t;

static const msb_log_field_t *field_at(const record_t *r, size_t i)
{
    return i < r->nctx ? &r->ctx[i] : &r->fields[i - r->nctx];
}

/* Whether a later item (after i) has the same key as item i. */
static bool key_repeats(const record_t *r, size_t i)
{
    const item_t *it = &r->items[i];
    for (size_t j = i + 1; j < r->m; j++) {
        if (r->items[j].tag == it->tag && r->items[j].klen == it->klen &&
            memcmp(field_at(r, i)->key, field_at(r, j)->key, it->klen) == 0) {
            return true;
        }
    }
    return false;
}

/* Mark the bound fields whose key item i overrides. */
static void override_bound(record_t *r, size_t i)
{
    const msb_log_t *lg = r->lg;
    const item_t *it = &r->items[i];
    for (size_t b = 0; b < lg->nbound; b++) {
        if (lg->bound[b].tag == it->tag && lg->bound[b].klen == it->klen &&
            memcmp(lg->bound[b].key, field_at(r, i)->key, it->klen) == 0) {
            if (!r->filter_bound) {
                memset(r->bound_skip, 0, lg->nbound);
                r->filter_bound = true;
            }
            r->bound_skip[b] = true;
        }
    }
}

/*
 * Check keys, apply "the last occurrence wins", find overridden bound fields; count bad keys.
 * Walking backwards with a 64-bit filter of the tags seen, a key is compared with the later ones
 * only when its filter bit is already set: linear time when keys are distinct.
 */
static uint64_t prepare(record_t *r)
{
    uint64_t bad = 0;
    uint64_t seen = 0;
    for (size_t i = r->m; i-- > 0;) {
        const msb_log_field_t *f = field_at(r, i);
        item_t *it = &r->items[i];
        size_t klen = f->key == NULL ? 0 : strlen(f->key);
        it->klen = SKIP;
        it->tag = 0;
        if (klen == 0 || klen >= SKIP || (unsigned)f->type > MSB_LOG_BOOL ||
            msb__log_key_reserved(f->key, klen)) {
            bad++;
            continue;
        }
        it->klen = (uint32_t)klen;
        it->tag = msb__log_key_tag(f->key, klen);
        uint64_t bit = UINT64_C(1) << (it->tag % 64);
        if ((seen & bit) != 0 && key_repeats(r, i)) {
            it->klen = SKIP; /* a later field wins */
            continue;
        }
        seen |= bit;
        if ((r->lg->bloom & bit) != 0) {
            override_bound(r, i);
        }
    }
    return bad;
}

static msb_status_t encode(const record_t *r, msb__buf_t *b)
{
    const msb_log_t *lg = r->lg;
    msb__log_put_head(b, r->ts, r->level, r->msg, r->msg_len);
    if (!r->filter_bound) {
        msb__log_put(b, lg->frag, lg->frag_len);
    } else {
        msb__log_put(b, lg->frag, lg->svc_len);
        for (size_t i = 0; i < lg->nbound; i++) {
            if (!r->bound_skip[i]) {
                msb__log_put(b, lg->frag + lg->bound[i].off, lg->bound[i].len);
            }
        }
    }
    for (size_t i = 0; i < r->m; i++) {
        if (r->items[i].klen != SKIP) {
            msb__log_put_field(b, field_at(r, i), r->items[i].klen);
        }
    }
    msb__log_put(b, "}\n", 2);
    return msb__buf_status(b);
}

static void submit(msb__log_core_t *c, const char *rec, size_t len)
{
    if (c->async) {
        msb__log_queue_push(c, rec, len);
    } else {
        msb__log_sink_write_sync(c, rec, len);
    }
}

void msb_log_write(msb_log_t *lg, msb_log_level_t level, const char *msg,
                   const msb_log_field_t *fields, size_t n)
{
    if (lg == NULL) {
        lg = msb_log_default();
    }
    msb__log_core_t *c = lg->core;
    if ((int)level < atomic_load_explicit(&c->level, memory_order_relaxed) ||
        (unsigned)level >= MSB_LOG_OFF) {
        return;
    }
    record_t r;
    r.lg = lg;
    r.level = level;
    r.msg = msg == NULL ? "" : msg;
    r.msg_len = strlen(r.msg);
    if (c->sampler != NULL && !msb__log_sample(c, level, r.msg, r.msg_len)) {
        atomic_fetch_add_explicit(&c->sampled, 1, memory_order_relaxed);
        return;
    }
    r.ts = c->clock->realtime_ns(c->clock);
    msb_log_field_t ctx[MSB_LOG_CONTEXT_MAX];
    r.nctx = run_hook(ctx);
    r.ctx = ctx;
    r.fields = fields;
    if (fields == NULL) {
        n = 0;
    }
    uint64_t bad = n > MSB_LOG_MAX_FIELDS ? n - MSB_LOG_MAX_FIELDS : 0;
    r.m = r.nctx + (n > MSB_LOG_MAX_FIELDS ? MSB_LOG_MAX_FIELDS : n);
    r.filter_bound = false;
    bad += prepare(&r);
    if (bad != 0) {
        atomic_fetch_add_explicit(&c->bad_fields, bad, memory_order_relaxed);
    }

    char stack[MSB__LOG_STACK_BUF];
    msb__buf_t b = {stack, 0, sizeof(stack), sizeof(stack) - 1, 0};
    if (encode(&r, &b) == MSB_OK) {
        submit(c, b.data, b.len);
        return;
    }
    msb__buf_t heap = MSB__BUF_INIT;
    if (encode(&r, &heap) == MSB_OK) {
        submit(c, heap.data, heap.len);
    } else {
        atomic_fetch_add_explicit(&c->format_failed, 1, memory_order_relaxed);
    }
    msb__buf_free(&heap);
}

bool msb_log_enabled(const msb_log_t *lg, msb_log_level_t level)
{
    if (lg == NULL) {
        lg = msb_log_default();
    }
    return (int)level >= atomic_load_explicit(&lg->core->level, memory_order_relaxed) &&
           (unsigned)level < MSB_LOG_OFF;
}
