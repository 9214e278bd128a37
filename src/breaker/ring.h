/*
 * The count-based sliding window: exactly the last `n` recorded calls, lock-free.
 *
 * Each call takes a ticket `i = head++` and writes its outcome (bit 0 call, bit 1 failure,
 * bit 2 slow) into slot i % n with an atomic exchange, which also returns the outcome it evicts.
 * The window's three counts live packed in one 64-bit word `agg` (21 bits each, at bits 0, 21
 * and 42), and the call adds (new − evicted) to it with one fetch-add, whose result is a
 * consistent snapshot of all three counts at that instant.
 *
 * Invariant: once no record is in flight, agg == BIAS + the sum of the slots' encodings. Each
 * slot's exchanges are totally ordered, so every value written to a slot is evicted exactly once,
 * by the next exchange on that slot, and every change a thread makes to the slot it also makes to
 * agg. Two records whose tickets are n apart may reach the slot in either order; the one that
 * exchanges last stays in the window: the window then holds the last n calls in the order of
 * their exchanges, which is the order in which their outcomes were recorded.
 *
 * While records are in flight a count may lag or lead by the number of them, even below zero
 * (a later exchange's subtraction arriving before an earlier one's addition). Each field is
 * stored with a bias of 2^20 so that such a transient never borrows from the next field; the
 * window size is at most 1000000 < 2^20, so true counts stay within (−2^20, 2^20).
 */
#ifndef MSB_BREAKER_RING_H
#define MSB_BREAKER_RING_H

#include <stdatomic.h>

#include "core/common.h"

#define MSB__RING_MAX   1000000u
#define MSB__RING_BITS  21
#define MSB__RING_MASK  ((UINT64_C(1) << MSB__RING_BITS) - 1)
#define MSB__RING_BIAS  (UINT64_C(1) << 20)
#define MSB__RING_BIAS3 (MSB__RING_BIAS | (MSB__RING_BIAS << 21) | (MSB__RING_BIAS << 42))

#define MSB__OUT_CALL 1u
#define MSB__OUT_FAIL 2u
#define MSB__OUT_SLOW 4u

typedef struct msb__ring {
    /* One line on purpose: a record touches all four (n and slots are only read). */
    _Alignas(MSB_CACHELINE) _Atomic uint64_t head;
    _Atomic uint64_t agg;
    _Atomic uint8_t *slots;
    uint32_t n;
} msb__ring_t;

/* Encoding of a slot value (bits call/fail/slow) in agg: bit k goes to bit 21 * k. */
#define MSB__RING_E(v)                                                                             \
    ((uint64_t)((v)&1u) | ((uint64_t)(((v) >> 1) & 1u) << 21) | ((uint64_t)(((v) >> 2) & 1u) << 42))
static inline uint64_t msb__ring_enc(unsigned v)
{
    static const uint64_t table[8] = {MSB__RING_E(0u), MSB__RING_E(1u), MSB__RING_E(2u),
                                      MSB__RING_E(3u), MSB__RING_E(4u), MSB__RING_E(5u),
                                      MSB__RING_E(6u), MSB__RING_E(7u)};
    return table[v & 7u];
}

/* Decode field f (0 calls, 1 failures, 2 slow) of an agg value; transients below 0 give 0. */
static inline int64_t msb__ring_field(uint64_t agg, unsigned f)
{
    int64_t v = (int64_t)((agg >> (MSB__RING_BITS * f)) & MSB__RING_MASK) - (int64_t)MSB__RING_BIAS;
    return v < 0 ? 0 : v;
}

/* Record outcome bits v; returns agg just after this record and the outcome it evicted. */
static inline uint64_t msb__ring_record(msb__ring_t *r, unsigned v, unsigned *evicted)
{
    uint64_t i = atomic_fetch_add_explicit(&r->head, 1, memory_order_relaxed);
    unsigned old = atomic_exchange_explicit(&r->slots[i % r->n], (uint8_t)v, memory_order_relaxed);
    *evicted = old;
    uint64_t delta = msb__ring_enc(v) - msb__ring_enc(old);
    return atomic_fetch_add_explicit(&r->agg, delta, memory_order_acq_rel) + delta;
}

MSB_INTERNAL msb_status_t msb__ring_init(msb__ring_t *r, uint32_t n);
MSB_INTERNAL void msb__ring_destroy(msb__ring_t *r);
/* Empty the window (slot by slot, with the same exchange discipline: safe against records). */
MSB_INTERNAL void msb__ring_clear(msb__ring_t *r);
/* Sum of the slots' encodings plus the bias: equals agg when nothing is in flight. */
MSB_INTERNAL uint64_t msb__ring_recount(const msb__ring_t *r);

#endif
