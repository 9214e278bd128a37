/*
 * One limit shared by every thread, lock-free: the whole state is one 64-bit word (the GCRA's
 * theoretical arrival time, or the token bucket's consumption mark; see internal.h), updated by
 * compare-and-swap. A denial writes nothing, so a limiter under overload costs its callers one
 * shared read.
 */
#include <stdatomic.h>

#include "core/alloc.h"
#include "core/error.h"
#include "ratelimit/internal.h"

struct msb_ratelimit {
    /* The state and the parameters the fast path reads share one cache line: a grant moves the
     * line once, with everything the next caller needs. */
    _Alignas(MSB_CACHELINE) _Atomic uint64_t state;
    msb__rl_params_t p;
};

msb_status_t msb_ratelimit_new(const msb_ratelimit_opts_t *opts, msb_ratelimit_t **out,
                               msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "ratelimit: out is NULL");
    }
    msb__rl_params_t p;
    msb_status_t rc = msb__rl_params_init(opts, "", &p, err);
    if (rc != MSB_OK) {
        return rc;
    }
    /* msb__malloc gives 16-byte alignment; over-allocate to place the struct on a line. */
    void *raw = msb__malloc(sizeof(msb_ratelimit_t) + MSB_CACHELINE + sizeof(void *));
    if (raw == NULL) {
        return msb__err_nomem(err, "a rate limiter");
    }
    msb_ratelimit_t *rl = msb__rl_align_line((char *)raw + sizeof(void *));
    ((void **)rl)[-1] = raw;
    atomic_init(&rl->state, 0);
    rl->p = p;
    *out = rl;
    return MSB_OK;
}

void msb_ratelimit_free(msb_ratelimit_t *rl)
{
    if (rl != NULL) {
        msb__free(((void **)rl)[-1]);
    }
}

bool msb_ratelimit_allow(msb_ratelimit_t *rl)
{
    if (MSB_UNLIKELY(rl == NULL)) {
        return false;
    }
    const msb__rl_params_t *p = &rl->p;
    uint64_t x = msb__rl_x(p, msb__rl_now(p));
    uint64_t s = atomic_load_explicit(&rl->state, memory_order_relaxed);
    for (;;) {
        uint64_t next = (s > x ? s : x) + p->unit;
        if (next - x > p->cap) {
            return false;
        }
        /* Relaxed: the word publishes nothing but itself. On failure s is reloaded; x stays as
         * read, which can only make the decision stricter. */
        if (atomic_compare_exchange_weak_explicit(&rl->state, &s, next, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            return true;
        }
    }
}

msb_status_t msb_ratelimit_take(msb_ratelimit_t *rl, uint64_t n, msb_ratelimit_result_t *res)
{
    if (rl == NULL) {
        return MSB_EINVAL;
    }
    const msb__rl_params_t *p = &rl->p;
    uint64_t now = msb__rl_now(p);
    uint64_t x = msb__rl_x(p, now);
    uint64_t s = atomic_load_explicit(&rl->state, memory_order_relaxed);
    if (n > p->burst) {
        if (res != NULL) {
            msb__rl_fill_never(p, s, now, res);
        }
        return MSB_ERANGE;
    }
    msb__rl_decision_t d;
    for (;;) {
        d = msb__rl_decide(p, s, x, n);
        if (!d.allowed || n == 0) {
            break;
        }
        if (atomic_compare_exchange_weak_explicit(&rl->state, &s, d.next, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            break;
        }
    }
    if (res != NULL) {
        msb__rl_fill(p, &d, now, res);
    }
    return d.allowed ? MSB_OK : MSB_EREJECTED;
}

void msb_ratelimit_reset(msb_ratelimit_t *rl)
{
    if (rl != NULL) {
        atomic_store_explicit(&rl->state, 0, memory_order_relaxed);
    }
}
