/*
 * Bulkhead under many threads (TSan): 8 threads compete for 3 places with try-acquire and
 * bounded waits. No more than 3 holders at any instant; every grant, refusal and timeout is
 * counted; all places are free at the end; no waiter is left behind.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "msb/bulkhead.h"
#include "msb/clock.h"

#define THREADS 8
#define ROUNDS  20000
#define PLACES  3

static int passed, failed;

static void check(bool ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAILED: %s\n", what);
    }
}

static msb_bulkhead_t *bh;
static atomic_int holders, most;
static atomic_ullong granted, refused, timed_out;
static atomic_int ready;

static void *worker(void *p)
{
    long id = (long)(intptr_t)p;
    atomic_fetch_add(&ready, 1);
    while (atomic_load(&ready) < THREADS) {
    }
    for (int i = 0; i < ROUNDS; i++) {
        msb_status_t rc = (i + id) % 3 == 0 ? msb_bulkhead_try_acquire(bh)
                                            : msb_bulkhead_acquire(bh, (uint64_t)(i % 5) * 20000);
        if (rc != MSB_OK) {
            atomic_fetch_add(rc == MSB_ETIMEDOUT ? &timed_out : &refused, 1);
            continue;
        }
        atomic_fetch_add(&granted, 1);
        int h = atomic_fetch_add(&holders, 1) + 1;
        int m = atomic_load(&most);
        while (h > m && !atomic_compare_exchange_weak(&most, &m, h)) {
        }
        for (volatile int spin = 0; spin < 2000; spin++) {
        }
        atomic_fetch_sub(&holders, 1);
        msb_bulkhead_release(bh);
    }
    return NULL;
}

int main(void)
{
    msb_bulkhead_opts_t o = MSB_BULKHEAD_OPTS_INIT;
    o.max_concurrent = PLACES;
    o.max_wait_ns = 50 * 1000; /* 50 us */
    msb_bulkhead_new(&o, &bh, NULL);
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++) {
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    msb_bulkhead_stats_t s = {.size = sizeof(s)};
    msb_bulkhead_stats(bh, &s);
    char what[128];
    snprintf(what, sizeof(what), "at most %d holders at once (saw %d)", PLACES, atomic_load(&most));
    check(atomic_load(&most) <= PLACES && atomic_load(&most) >= 1, what);
    check(s.acquired == atomic_load(&granted), "grants add up");
    check(s.rejected == atomic_load(&refused), "refusals add up");
    check(s.timeouts == atomic_load(&timed_out), "timeouts add up");
    check(s.acquired + s.rejected + s.timeouts == (uint64_t)THREADS * ROUNDS, "every call ended");
    check(s.in_use == 0 && s.waiting == 0, "all places free, nobody waiting");
    printf("granted %llu, refused %llu, timed out %llu\n", (unsigned long long)s.acquired,
           (unsigned long long)s.rejected, (unsigned long long)s.timeouts);
    msb_bulkhead_free(bh);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
