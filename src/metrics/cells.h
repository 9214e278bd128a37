/*
 * Per-thread cells: the storage behind counters and histograms (the idea of brpc's bvar).
 *
 * Every counter or histogram series owns a range of cell ids. Each thread has its own record: a
 * directory of blocks of MSB__CELL_BLOCK 64-bit cells, allocated the first time the thread writes
 * into that block. A thread adds into its own cell with a plain load and store (relaxed atomics:
 * no locked instruction); a scrape sums the cell over every record. When a thread exits its record
 * is parked and adopted by the next new thread, so the totals never lose what it wrote.
 *
 * The shared record takes writes that cannot use a per-thread cell (the allocation of a block
 * failed, or the thread is past its TLS destructor): atomic adds there. Its blocks are allocated
 * with the cells, so the fallback never allocates.
 *
 * The records also carry the epochs of a small epoch-based reclamation scheme (EBR) that lets
 * labelled-family lookups run without a lock while series are removed.
 *
 * Process-wide state, guarded by one mutex (records list, free ranges, shared blocks).
 */
#ifndef MSB_METRICS_CELLS_H
#define MSB_METRICS_CELLS_H

#include <stdatomic.h>
#include <string.h>

#include "core/common.h"
#include "msb/metrics.h"

#define MSB__CELL_BLOCK_SHIFT 11
#define MSB__CELL_BLOCK       (1u << MSB__CELL_BLOCK_SHIFT)
#define MSB__CELL_MAX_BLOCKS  1024u

typedef _Atomic uint64_t msb__cell_t;

typedef struct msb__cellrec {
    /* First: metrics.h's inline fast paths read it as an array of block pointers. */
    _Atomic(msb__cell_t *) blocks[MSB__CELL_MAX_BLOCKS];
    /* The epoch is written at every labelled lookup: keep it off the cache lines that this or
     * another thread's record reads (records are neighbours on the heap). */
    char pad_before[MSB_CACHELINE];
    _Atomic uint64_t epoch; /* EBR: 0 outside a read section */
    char pad_after[MSB_CACHELINE];
    struct msb__cellrec *next; /* every record, under the cells lock */
    struct msb__cellrec *next_parked;
} msb__cellrec_t;

/* This thread's record, or &msb__no_cells (none yet, or the thread is exiting; never NULL):
 * msb__metrics_tls, declared in msb/metrics.h for its inline fast paths. */
#define msb__cells_tls ((msb__cellrec_t *)msb__metrics_tls)
extern msb__cellrec_t msb__no_cells __attribute__((visibility("hidden")));

/* Slow path: this thread's block `block` (allocating record or block), or NULL: use shared. */
MSB_INTERNAL msb__cell_t *msb__cells_block_slow(uint32_t block);
/* The shared record's cell `cell` (always allocated for allocated cells): atomic RMW only. */
MSB_INTERNAL msb__cell_t *msb__cells_shared(uint32_t cell);

/* This thread's cell for `cell` (block/offset precomputed), or NULL to use the shared one. */
static inline msb__cell_t *msb__cells_mine(uint32_t block, uint32_t off)
{
    msb__cellrec_t *r = msb__cells_tls;
    if (MSB_LIKELY(r != NULL)) {
        msb__cell_t *b = atomic_load_explicit(&r->blocks[block], memory_order_relaxed);
        if (MSB_LIKELY(b != NULL)) {
            return b + off;
        }
    }
    msb__cell_t *b = msb__cells_block_slow(block);
    return b != NULL ? b + off : NULL;
}

static inline double msb__bits_f64(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static inline uint64_t msb__f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

/* Owner-only add (no other thread writes this cell). */
static inline void msb__cell_add_u64_own(msb__cell_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void msb__cell_add_f64_own(msb__cell_t *c, double v)
{
    double d = msb__bits_f64(atomic_load_explicit(c, memory_order_relaxed)) + v;
    atomic_store_explicit(c, msb__f64_bits(d), memory_order_relaxed);
}

/* Shared-cell adds (any thread). */
MSB_INTERNAL void msb__cell_add_f64_atomic(msb__cell_t *c, double v);

static inline void msb__cells_add_u64(uint32_t cell, uint32_t block, uint32_t off, uint64_t n)
{
    msb__cell_t *c = msb__cells_mine(block, off);
    if (MSB_LIKELY(c != NULL)) {
        msb__cell_add_u64_own(c, n);
    } else {
        atomic_fetch_add_explicit(msb__cells_shared(cell), n, memory_order_relaxed);
    }
}

static inline void msb__cells_add_f64(uint32_t cell, uint32_t block, uint32_t off, double v)
{
    msb__cell_t *c = msb__cells_mine(block, off);
    if (MSB_LIKELY(c != NULL)) {
        msb__cell_add_f64_own(c, v);
    } else {
        msb__cell_add_f64_atomic(msb__cells_shared(cell), v);
    }
}

/*
 * Allocate `n` contiguous cells inside one block, zeroed in every record. MSB_ELIMIT when the
 * cell space is exhausted, MSB_ENOMEM, MSB_EINVAL when n is 0 or larger than a block.
 */
MSB_INTERNAL msb_status_t msb__cells_alloc(uint32_t n, uint32_t *first, msb_error_t *err);
/* Give a range back (no writer may still use it). */
MSB_INTERNAL void msb__cells_release(uint32_t first, uint32_t n);
/*
 * Totals of the range: the first `nint` cells summed as integers into ints[], the next `ndbl`
 * as doubles into dbls[]. Takes the cells lock briefly; writers are never stopped.
 */
MSB_INTERNAL void msb__cells_sum(uint32_t first, uint32_t nint, uint32_t ndbl, uint64_t *ints,
                                 double *dbls);

/* EBR. enter returns this thread's record, or NULL when none can be had (then take a lock). */
extern _Atomic uint64_t msb__ebr_epoch __attribute__((visibility("hidden")));
/* 1 once membarrier(PRIVATE_EXPEDITED) is registered: readers then need no fence of their own. */
extern _Atomic int msb__ebr_asym __attribute__((visibility("hidden")));
MSB_INTERNAL msb__cellrec_t *msb__ebr_enter_slow(void);
static inline msb__cellrec_t *msb__ebr_enter(void)
{
    msb__cellrec_t *r = msb__cells_tls;
    if (MSB_UNLIKELY(r == &msb__no_cells)) {
        return msb__ebr_enter_slow();
    }
    uint64_t e = atomic_load_explicit(&msb__ebr_epoch, memory_order_acquire);
    if (MSB_LIKELY(atomic_load_explicit(&msb__ebr_asym, memory_order_relaxed))) {
        /* The reclaimer's membarrier() orders this store before our reads, as a fence would. */
        atomic_store_explicit(&r->epoch, e, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
    } else {
        /* A full barrier (xchg): either msb__ebr_safe() sees our epoch, or we see the unlink. */
        atomic_exchange_explicit(&r->epoch, e, memory_order_seq_cst);
    }
    return r;
}
static inline void msb__ebr_exit(msb__cellrec_t *r)
{
    atomic_store_explicit(&r->epoch, 0, memory_order_release);
}
/* Call after unlinking an object: the epoch to store with it. */
MSB_INTERNAL uint64_t msb__ebr_retire_epoch(void);
/* Whether no reader can still see an object retired at epoch e. */
MSB_INTERNAL bool msb__ebr_safe(uint64_t e);

#endif
