#include "breaker/ring.h"
#include "core/alloc.h"

msb_status_t msb__ring_init(msb__ring_t *r, uint32_t n)
{
    r->n = n;
    r->slots = msb__calloc(n, sizeof(*r->slots));
    if (r->slots == NULL) {
        return MSB_ENOMEM;
    }
    atomic_init(&r->head, 0);
    atomic_init(&r->agg, MSB__RING_BIAS3);
    return MSB_OK;
}

void msb__ring_destroy(msb__ring_t *r)
{
    msb__free((void *)r->slots);
    r->slots = NULL;
}

void msb__ring_clear(msb__ring_t *r)
{
    for (uint32_t i = 0; i < r->n; i++) {
        unsigned old = atomic_exchange_explicit(&r->slots[i], 0, memory_order_relaxed);
        if (old != 0) {
            atomic_fetch_sub_explicit(&r->agg, msb__ring_enc(old), memory_order_acq_rel);
        }
    }
}

uint64_t msb__ring_recount(const msb__ring_t *r)
{
    uint64_t sum = MSB__RING_BIAS3;
    for (uint32_t i = 0; i < r->n; i++) {
        sum += msb__ring_enc(atomic_load_explicit(&r->slots[i], memory_order_relaxed));
    }
    return sum;
}
