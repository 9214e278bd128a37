/*
 * An allocator for tests that fails the Nth allocation (and counts live blocks), to check that
 * every allocation failure on a path returns MSB_ENOMEM without a leak.
 *
 *   MSB_FAILING_ALLOC_LOOP(n) {           // n = 0, 1, 2, ... until the operation succeeds
 *       msb_status_t rc = operation();   // runs with allocation number n failing
 *       ... check rc == MSB_OK or MSB_ENOMEM, clean up ...
 *       if (rc == MSB_OK) break;
 *   }
 *   failing_alloc_live() == 0 afterwards: nothing leaked.
 *
 * Header-only; include it in one test file per program. Not thread-safe beyond atomics.
 */
#ifndef MSB_TEST_FAILING_ALLOC_H
#define MSB_TEST_FAILING_ALLOC_H

#include <stdatomic.h>
#include <stdlib.h>

#include "msb/core.h"

static atomic_long failing_alloc_countdown = -1; /* allocations before the failure; -1: never */
static atomic_long failing_alloc_live_blocks;
static atomic_long failing_alloc_calls;

static void *failing_alloc_malloc(size_t size, void *user)
{
    (void)user;
    atomic_fetch_add(&failing_alloc_calls, 1);
    if (atomic_load(&failing_alloc_countdown) >= 0 &&
        atomic_fetch_sub(&failing_alloc_countdown, 1) == 0) {
        return NULL;
    }
    void *p = malloc(size);
    if (p != NULL) {
        atomic_fetch_add(&failing_alloc_live_blocks, 1);
    }
    return p;
}

static void *failing_alloc_realloc(void *ptr, size_t size, void *user)
{
    (void)user;
    atomic_fetch_add(&failing_alloc_calls, 1);
    if (atomic_load(&failing_alloc_countdown) >= 0 &&
        atomic_fetch_sub(&failing_alloc_countdown, 1) == 0) {
        return NULL;
    }
    void *p = realloc(ptr, size);
    if (p != NULL && ptr == NULL) {
        atomic_fetch_add(&failing_alloc_live_blocks, 1);
    }
    return p;
}

static void failing_alloc_free(void *ptr, void *user)
{
    (void)user;
    if (ptr != NULL) {
        atomic_fetch_sub(&failing_alloc_live_blocks, 1);
        free(ptr);
    }
}

/* Install the allocator; allocation number `fail_at` (0-based) fails; -1 never fails. */
static inline void failing_alloc_install(long fail_at)
{
    static const msb_allocator_t a = {failing_alloc_malloc, failing_alloc_realloc,
                                      failing_alloc_free, NULL};
    atomic_store(&failing_alloc_countdown, fail_at);
    atomic_store(&failing_alloc_calls, 0);
    msb_set_allocator(&a);
}

/* Restore the default allocator. */
static inline void failing_alloc_remove(void)
{
    msb_set_allocator(NULL);
}

/* Blocks allocated through the failing allocator and not yet freed. */
static inline long failing_alloc_live(void)
{
    return atomic_load(&failing_alloc_live_blocks);
}

/* Whether the failure armed by failing_alloc_install() has happened. */
static inline int failing_alloc_fired(void)
{
    return atomic_load(&failing_alloc_countdown) < 0;
}

#define MSB_FAILING_ALLOC_LOOP(n) for (long n = 0; n < 100000; n++)

#endif
