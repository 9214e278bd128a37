/*
 * Many threads on one lock-free limiter (run under TSan by the tsan preset).
 *
 * 1. Frozen time: with the manual clock standing still, however many threads ask, exactly the
 *    permits available are granted: `burst` at first, then exactly k more after the clock moves
 *    by k permits' worth. A lost or doubled compare-and-swap breaks the equality.
 * 2. Running time: on the real clocks, the permits granted over the run never exceed
 *    burst + (elapsed ns on the limiter's clock) / T, the GCRA bound (each grant moves the state
 *    by T and the state never runs more than burst * T ahead of the clock).
 * In every case granted + denied = attempts.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "msb/ratelimit.h"

#define THREADS 8

static int passed;
static int failed;

static void check(bool ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAILED: %s\n", what);
    }
}

typedef struct run {
    msb_ratelimit_t *rl;
    int attempts;         /* per thread */
    bool multi;           /* take 1..3 permits at a time */
    _Atomic long granted; /* permits */
    _Atomic long denied;  /* requests */
    _Atomic long calls;
    pthread_barrier_t start;
} run_t;

static void *worker(void *arg)
{
    run_t *r = arg;
    long granted = 0;
    long denied = 0;
    unsigned seed = (unsigned)(uintptr_t)&granted;
    pthread_barrier_wait(&r->start);
    for (int i = 0; i < r->attempts; i++) {
        if (r->multi) {
            seed = seed * 1103515245u + 12345u;
            uint64_t n = 1 + (seed >> 16) % 3;
            msb_ratelimit_result_t res;
            msb_status_t st = msb_ratelimit_take(r->rl, n, &res);
            if (st == MSB_OK) {
                granted += (long)n;
            } else {
                denied++;
            }
        } else if (msb_ratelimit_allow(r->rl)) {
            granted++;
        } else {
            denied++;
        }
    }
    atomic_fetch_add(&r->granted, granted);
    atomic_fetch_add(&r->denied, denied);
    atomic_fetch_add(&r->calls, (long)r->attempts);
    return NULL;
}

/* Run THREADS workers once; returns permits granted and checks granted + denied = attempts. */
static long hammer(run_t *r, int attempts, bool multi)
{
    pthread_t t[THREADS];
    r->attempts = attempts;
    r->multi = multi;
    atomic_store(&r->granted, 0);
    atomic_store(&r->denied, 0);
    atomic_store(&r->calls, 0);
    pthread_barrier_init(&r->start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&t[i], NULL, worker, r);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    pthread_barrier_destroy(&r->start);
    if (!multi) {
        check(atomic_load(&r->granted) + atomic_load(&r->denied) == atomic_load(&r->calls),
              "granted + denied = attempts");
    }
    return atomic_load(&r->granted);
}

static void frozen_time(msb_ratelimit_algorithm_t alg, const char *name)
{
    msb_clock_t *clk;
    msb_clock_manual_new(MSB_SEC, 0, &clk);
    msb_ratelimit_opts_t o = MSB_RATELIMIT_OPTS_INIT;
    o.algorithm = alg;
    o.rate = 1000; /* GCRA: T = 1 ms; token bucket: 1000 tokens a second */
    o.burst = 500;
    o.clock = clk;
    msb_ratelimit_t *rl;
    msb_ratelimit_new(&o, &rl, NULL);
    run_t r = {.rl = rl};
    char what[128];

    long g = hammer(&r, 2000, false);
    snprintf(what, sizeof(what), "%s frozen: exactly the burst (%ld of 500)", name, g);
    check(g == 500, what);
    for (int phase = 1; phase <= 20; phase++) {
        /* GCRA: k permits of 1 ms; token bucket: one period (1000 tokens, capped at 500). */
        long k = alg == MSB_RATELIMIT_GCRA ? 37 * phase % 500 + 1 : 500;
        msb_clock_manual_advance(clk, alg == MSB_RATELIMIT_GCRA ? (uint64_t)k * 1000000u
                                                                : (uint64_t)MSB_SEC);
        g = hammer(&r, 1000, phase % 2 == 0);
        snprintf(what, sizeof(what), "%s frozen phase %d: exactly %ld granted, got %ld", name,
                 phase, k, g);
        if (phase % 2 == 0) {
            /* multi-permit takes: all or nothing, so up to 2 permits may stay unused */
            check(g <= k && g >= k - 2, what);
            msb_ratelimit_reset(rl);
            msb_ratelimit_take(rl, (uint64_t)o.burst, NULL); /* empty again, exactly */
        } else {
            check(g == k, what);
        }
    }
    msb_ratelimit_free(rl);
    msb_clock_manual_free(clk);
}

static void running_time(const msb_clock_t *clock, msb_ratelimit_algorithm_t alg, const char *name)
{
    msb_ratelimit_opts_t o = MSB_RATELIMIT_OPTS_INIT;
    o.algorithm = alg;
    o.rate = 50000; /* GCRA: T = 20 us */
    o.burst = 100;
    o.clock = clock;
    if (alg == MSB_RATELIMIT_TOKEN_BUCKET) {
        o.rate = 50;
        o.period_ns = 1000000; /* 50 tokens every ms */
    }
    uint64_t t0 = msb_clock_monotonic_ns(clock);
    msb_ratelimit_t *rl;
    msb_ratelimit_new(&o, &rl, NULL);
    run_t r = {.rl = rl};
    long g = hammer(&r, 200000, false);
    uint64_t elapsed = msb_clock_monotonic_ns(clock) - t0;
    long bound;
    if (alg == MSB_RATELIMIT_GCRA) {
        bound = 100 + (long)(elapsed / 20000);
    } else {
        bound = 100 + (long)(elapsed / 1000000) * 50;
    }
    char what[160];
    snprintf(what, sizeof(what), "%s: granted %ld <= bound %ld over %.3f s", name, g, bound,
             (double)elapsed / 1e9);
    check(g <= bound, what);
    snprintf(what, sizeof(what), "%s: granted %ld >= burst 100", name, g);
    check(g >= 100, what);
    printf("%s: %ld of %ld granted in %.3f s (bound %ld)\n", name, g, (long)THREADS * 200000,
           (double)elapsed / 1e9, bound);
    msb_ratelimit_free(rl);
}

int main(void)
{
    frozen_time(MSB_RATELIMIT_GCRA, "gcra");
    frozen_time(MSB_RATELIMIT_TOKEN_BUCKET, "token bucket");
    running_time(msb_clock_real(), MSB_RATELIMIT_GCRA, "gcra, precise clock");
    running_time(msb_clock_coarse(), MSB_RATELIMIT_GCRA, "gcra, coarse clock");
    running_time(msb_clock_real(), MSB_RATELIMIT_TOKEN_BUCKET, "token bucket, precise clock");
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
