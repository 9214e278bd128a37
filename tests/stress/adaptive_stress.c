/*
 * Adaptive limit and load shedder under many threads (TSan).
 *
 * 1. A fixed limit (min = max = 8): never more than 8 holders at once; grants, refusals and
 *    samples add up; nothing is left in flight.
 * 2. Gradient with a moving latency: the limit stays within its bounds; counts add up.
 * 3. Shedder with a CPU that flips over and under the threshold and a moving clock: every call
 *    is admitted or shed exactly once; passes add up; nothing is left in flight.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "msb/adaptive.h"
#include "msb/clock.h"

#define THREADS 4
#define ROUNDS  100000

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

static msb_adaptive_limit_t *lim;
static msb_adaptive_shedder_t *shed;
static msb_clock_t *clk;
static atomic_int holders, most, ready;
static atomic_ullong granted, refused, successes;
static atomic_uint cpu;

static void start(void)
{
    atomic_fetch_add(&ready, 1);
    while (atomic_load(&ready) < THREADS) {
    }
}

static void reset(void)
{
    atomic_store(&holders, 0);
    atomic_store(&most, 0);
    atomic_store(&ready, 0);
    atomic_store(&granted, 0);
    atomic_store(&refused, 0);
    atomic_store(&successes, 0);
}

static void *limit_worker(void *p)
{
    long id = (long)(intptr_t)p;
    start();
    for (int i = 0; i < ROUNDS; i++) {
        if (msb_adaptive_limit_acquire(lim) != MSB_OK) {
            atomic_fetch_add(&refused, 1);
            continue;
        }
        atomic_fetch_add(&granted, 1);
        int h = atomic_fetch_add(&holders, 1) + 1;
        int m = atomic_load(&most);
        while (h > m && !atomic_compare_exchange_weak(&most, &m, h)) {
        }
        atomic_fetch_sub(&holders, 1);
        uint64_t latency = (uint64_t)(1 + (i + id) % 20) * MSB_MSEC * (1 + (uint64_t)(i / 20000));
        msb_adaptive_limit_release(lim, latency,
                                   i % 50 == 0   ? MSB_ADAPTIVE_DROPPED
                                   : i % 77 == 0 ? MSB_ADAPTIVE_IGNORED
                                                 : MSB_ADAPTIVE_SUCCESS);
    }
    return NULL;
}

static void run(void *(*fn)(void *))
{
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++) {
        pthread_create(&th[i], NULL, fn, (void *)(intptr_t)i);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
}

static void test_limit(msb_adaptive_algorithm_t alg, uint32_t min, uint32_t max)
{
    reset();
    msb_adaptive_limit_opts_t o = MSB_ADAPTIVE_LIMIT_OPTS_INIT;
    o.algorithm = alg;
    o.min_limit = min;
    o.max_limit = max;
    o.initial_limit = min;
    msb_adaptive_limit_new(&o, &lim, NULL);
    run(limit_worker);
    msb_adaptive_limit_stats_t s = {.size = sizeof(s)};
    msb_adaptive_limit_stats(lim, &s);
    char what[160];
    const char *name = alg == MSB_ADAPTIVE_AIMD ? "aimd" : "gradient";
    snprintf(what, sizeof(what), "%s: at most %u holders at once (saw %d)", name, max,
             atomic_load(&most));
    check(atomic_load(&most) <= (int)max, what);
    snprintf(what, sizeof(what), "%s: limit %u within [%u, %u]", name, s.limit, min, max);
    check(s.limit >= min && s.limit <= max, what);
    check(s.inflight == 0, "nothing left in flight");
    check(s.accepted == atomic_load(&granted), "grants add up");
    check(s.rejected == atomic_load(&refused), "refusals add up");
    check(s.updates > 0, "the limit was updated");
    msb_adaptive_limit_free(lim);
}

static void *shed_worker(void *p)
{
    long id = (long)(intptr_t)p;
    int held = 0;
    start();
    for (int i = 0; i < ROUNDS; i++) {
        if (id == 0) {
            /* Thread 0 moves time (1 ms a call: about 4000 passes a second, so maxFlight is a
             * few dozen) and flips the CPU over and under the threshold. */
            msb_clock_manual_advance(clk, MSB_MSEC);
            if (i % 1000 == 0) {
                atomic_store(&cpu, (i / 1000) % 2 == 0 ? 950u : 300u);
            }
        }
        if (msb_adaptive_shedder_acquire(shed) != MSB_OK) {
            atomic_fetch_add(&refused, 1);
        } else {
            atomic_fetch_add(&granted, 1);
            held++;
        }
        /* Hold up to 16 calls, then end them all: calls in flight rise and fall. */
        if (i % 16 == 15 || i == ROUNDS - 1) {
            for (; held > 0; held--) {
                bool ok = (i + held) % 3 != 0;
                msb_adaptive_shedder_release(shed, (uint64_t)(1 + i % 10) * MSB_MSEC,
                                             ok ? MSB_ADAPTIVE_SUCCESS : MSB_ADAPTIVE_DROPPED);
                atomic_fetch_add(&successes, ok);
            }
        }
    }
    return NULL;
}

static uint32_t fake_cpu(void *user)
{
    (void)user;
    return atomic_load(&cpu);
}

static void test_shedder(void)
{
    reset();
    msb_clock_manual_new(1000 * MSB_SEC, 0, &clk);
    msb_adaptive_shedder_opts_t o = MSB_ADAPTIVE_SHEDDER_OPTS_INIT;
    o.clock = clk;
    o.cpu = fake_cpu;
    o.window_ns = MSB_SEC;
    o.window_buckets = 10;
    o.cool_off_ns = 10 * MSB_MSEC;
    msb_adaptive_shedder_new(&o, &shed, NULL);
    run(shed_worker);
    msb_adaptive_shedder_stats_t s = {.size = sizeof(s)};
    msb_adaptive_shedder_stats(shed, &s);
    check(s.inflight == 0, "shedder: nothing left in flight");
    check(s.dropped == atomic_load(&refused), "shedder: drops add up");
    check(s.passed == atomic_load(&successes), "shedder: passes add up");
    check(atomic_load(&granted) + atomic_load(&refused) == (uint64_t)THREADS * ROUNDS,
          "shedder: every call admitted or shed");
    check(atomic_load(&refused) > 0 && atomic_load(&granted) > 0,
          "shedder: both shed and admitted calls");
    printf("shedder: %llu admitted, %llu shed\n", (unsigned long long)atomic_load(&granted),
           (unsigned long long)atomic_load(&refused));
    msb_adaptive_shedder_free(shed);
    msb_clock_manual_free(clk);
}

int main(void)
{
    test_limit(MSB_ADAPTIVE_AIMD, 8, 8);
    test_limit(MSB_ADAPTIVE_GRADIENT, 2, 64);
    test_shedder();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
