/*
 * Many threads on one keyed limiter (run under TSan by the tsan preset).
 *
 * 1. Room for every key, frozen time: each key grants exactly its burst, whichever threads ask;
 *    then exactly k more per key after the clock moves by k permits' worth.
 * 2. Running time: per key, granted <= burst + elapsed / T.
 * 3. Far more keys than room, frozen time: a key starts a new life (with a fresh burst) each
 *    time it is added, so the permits granted never exceed burst x (keys held + evictions +
 *    forgets), and the keys held never exceed max_keys.
 * In every case granted + denied = attempts.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "msb/ratelimit.h"

#define THREADS 8
#define NKEYS   64

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
    msb_ratelimit_keyed_t *kl;
    int keys;     /* keys are "key-0" .. "key-<keys-1>" */
    int attempts; /* per thread */
    bool forget;  /* also forget keys now and then */
    _Atomic long granted[NKEYS];
    _Atomic long total_granted;
    _Atomic long total_denied;
    _Atomic long forgets;
    pthread_barrier_t start;
} run_t;

static void *worker(void *arg)
{
    run_t *r = arg;
    unsigned seed = (unsigned)(uintptr_t)&seed;
    long granted = 0;
    long denied = 0;
    char key[32];
    pthread_barrier_wait(&r->start);
    for (int i = 0; i < r->attempts; i++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % (unsigned)r->keys);
        int n = snprintf(key, sizeof(key), "key-%d", k);
        if (r->forget && (seed >> 4) % 64 == 0) {
            if (msb_ratelimit_keyed_forget(r->kl, key, (size_t)n) == MSB_OK) {
                atomic_fetch_add(&r->forgets, 1);
            }
            continue;
        }
        if (msb_ratelimit_keyed_allow(r->kl, key, (size_t)n)) {
            granted++;
            if (k < NKEYS) {
                atomic_fetch_add_explicit(&r->granted[k], 1, memory_order_relaxed);
            }
        } else {
            denied++;
        }
    }
    atomic_fetch_add(&r->total_granted, granted);
    atomic_fetch_add(&r->total_denied, denied);
    return NULL;
}

static void hammer(run_t *r, int attempts)
{
    pthread_t t[THREADS];
    r->attempts = attempts;
    for (int k = 0; k < NKEYS; k++) {
        atomic_store(&r->granted[k], 0);
    }
    atomic_store(&r->total_granted, 0);
    atomic_store(&r->total_denied, 0);
    atomic_store(&r->forgets, 0);
    pthread_barrier_init(&r->start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&t[i], NULL, worker, r);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    pthread_barrier_destroy(&r->start);
    if (!r->forget) {
        check(atomic_load(&r->total_granted) + atomic_load(&r->total_denied) ==
                  (long)THREADS * attempts,
              "granted + denied = attempts");
    }
}

static msb_ratelimit_keyed_t *make(const msb_clock_t *clock, uint64_t rate, uint64_t burst,
                                   size_t max_keys)
{
    msb_ratelimit_opts_t lim = MSB_RATELIMIT_OPTS_INIT;
    lim.rate = rate;
    lim.burst = burst;
    lim.clock = clock;
    msb_ratelimit_keyed_opts_t o = MSB_RATELIMIT_KEYED_OPTS_INIT;
    o.limit = &lim;
    o.max_keys = max_keys;
    msb_ratelimit_keyed_t *kl = NULL;
    msb_ratelimit_keyed_new(&o, &kl, NULL);
    return kl;
}

static void frozen_room_for_all(void)
{
    msb_clock_t *clk;
    msb_clock_manual_new(MSB_SEC, 0, &clk);
    static run_t r;
    r.kl = make(clk, 1000, 40, 4096); /* T = 1 ms, 40 at once; far more room than keys */
    r.keys = NKEYS;
    r.forget = false;
    char what[128];
    for (int phase = 0; phase < 10; phase++) {
        long want = phase == 0 ? 40 : 3 * phase + 1;
        if (phase > 0) {
            msb_clock_manual_advance(clk, (uint64_t)want * 1000000u);
        }
        hammer(&r, 4000);
        for (int k = 0; k < NKEYS; k++) {
            long g = atomic_load(&r.granted[k]);
            snprintf(what, sizeof(what), "phase %d key %d: granted %ld, want exactly %ld", phase, k,
                     g, want);
            check(g == want, what);
        }
    }
    msb_ratelimit_keyed_stats_t s;
    msb_ratelimit_keyed_stats(r.kl, &s);
    check(s.evictions == 0 && s.keys == NKEYS, "no eviction with room for every key");
    msb_ratelimit_keyed_free(r.kl);
    msb_clock_manual_free(clk);
}

static void running_time(const msb_clock_t *clock, const char *name)
{
    static run_t r;
    uint64_t t0 = msb_clock_monotonic_ns(clock);
    r.kl = make(clock, 100000, 20, 4096); /* T = 10 us */
    r.keys = NKEYS;
    r.forget = false;
    hammer(&r, 100000);
    uint64_t elapsed = msb_clock_monotonic_ns(clock) - t0;
    long bound = 20 + (long)(elapsed / 10000);
    long worst = 0;
    for (int k = 0; k < NKEYS; k++) {
        long g = atomic_load(&r.granted[k]);
        worst = g > worst ? g : worst;
    }
    char what[160];
    snprintf(what, sizeof(what), "%s: busiest key granted %ld <= bound %ld", name, worst, bound);
    check(worst <= bound, what);
    printf("%s: busiest key %ld granted in %.3f s (bound %ld)\n", name, worst,
           (double)elapsed / 1e9, bound);
    msb_ratelimit_keyed_free(r.kl);
}

static void frozen_overflow(void)
{
    msb_clock_t *clk;
    msb_clock_manual_new(MSB_SEC, 0, &clk);
    static run_t r;
    r.kl = make(clk, 10, 3, 32);
    r.keys = 1000;
    r.forget = true;
    hammer(&r, 20000);
    msb_ratelimit_keyed_stats_t s;
    msb_ratelimit_keyed_stats(r.kl, &s);
    long lives = (long)(s.keys + s.evictions) + atomic_load(&r.forgets);
    long granted = atomic_load(&r.total_granted);
    char what[160];
    snprintf(what, sizeof(what), "overflow: granted %ld <= 3 x %ld lives", granted, lives);
    check(granted <= 3 * lives, what);
    snprintf(what, sizeof(what), "overflow: %llu keys held <= 32", (unsigned long long)s.keys);
    check(s.keys <= 32 && s.capacity == 32, what);
    check(s.evictions > 0, "overflow: keys were evicted");
    printf("overflow: %ld granted, %llu evictions (%llu active), %ld forgets\n", granted,
           (unsigned long long)s.evictions, (unsigned long long)s.evictions_active,
           atomic_load(&r.forgets));
    msb_ratelimit_keyed_free(r.kl);
    msb_clock_manual_free(clk);
}

int main(void)
{
    frozen_room_for_all();
    running_time(msb_clock_real(), "precise clock");
    running_time(msb_clock_coarse(), "coarse clock");
    frozen_overflow();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
