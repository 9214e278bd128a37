/*
 * Breaker and throttle under many threads (run under TSan by the tsan preset).
 *
 * 1. Count window, lock-free closed path: threads race on the ring (slot reuse every 64 calls).
 *    Afterwards the packed window counts equal the recount of the slots, and the cumulative
 *    counts equal what the threads recorded.
 * 2. Time window while a clock thread moves time across bucket boundaries: afterwards the
 *    window total equals the sum of its buckets, and window + expired equals what was recorded.
 * 3. Transitions storm on a fast clock: probes per half-open period never exceed the limit,
 *    notices arrive one at a time and chain (each from == the previous to), the counters add up.
 * 4. Throttle: requests counted == acquisitions, accepts == records.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker/breaker_int.h"
#include "msb/breaker.h"
#include "msb/clock.h"

#define THREADS 4

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

typedef struct run {
    msb_breaker_t *b;
    msb_throttle_t *t;
    msb_clock_t *clk;
    int iterations;
    atomic_bool stop;
    atomic_int started;
    /* per-thread results */
    uint64_t records[THREADS], fails[THREADS], ignored[THREADS], rejected[THREADS];
    uint64_t *half_gens[THREADS]; /* generation of each half-open permit granted */
    size_t half_n[THREADS], half_cap[THREADS];
} run_t;

typedef struct arg {
    run_t *r;
    int id;
} arg_t;

static void wait_all(run_t *r)
{
    atomic_fetch_add(&r->started, 1);
    while (atomic_load(&r->started) < THREADS) {
    }
}

/* Tests 1 and 2: alternate failure and success, so the window never holds only failures. */
static void *closed_worker(void *p)
{
    arg_t *a = p;
    run_t *r = a->r;
    wait_all(r);
    for (int i = 0; i < r->iterations; i++) {
        msb_breaker_permit_t permit;
        if (msb_breaker_acquire(r->b, &permit) != MSB_OK) {
            r->rejected[a->id]++;
            continue;
        }
        bool fail = (i & 1) == 0;
        msb_breaker_record(r->b, &permit, fail ? MSB_BREAKER_FAILURE : MSB_BREAKER_SUCCESS);
        r->records[a->id]++;
        r->fails[a->id] += fail;
    }
    return NULL;
}

static void *clock_worker(void *p)
{
    run_t *r = p;
    while (!atomic_load(&r->stop)) {
        msb_clock_manual_advance(r->clk, 333 * 1000); /* a third of a 1 ms bucket */
    }
    return NULL;
}

static void run_threads(run_t *r, void *(*worker)(void *), bool with_clock)
{
    pthread_t th[THREADS], ck;
    arg_t args[THREADS];
    atomic_store(&r->started, 0);
    atomic_store(&r->stop, false);
    if (with_clock) {
        pthread_create(&ck, NULL, clock_worker, r);
    }
    for (int i = 0; i < THREADS; i++) {
        args[i].r = r;
        args[i].id = i;
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    atomic_store(&r->stop, true);
    if (with_clock) {
        pthread_join(ck, NULL);
    }
}

static uint64_t sum(const uint64_t *v)
{
    uint64_t s = 0;
    for (int i = 0; i < THREADS; i++) {
        s += v[i];
    }
    return s;
}

static void test_window(msb_breaker_window_t kind)
{
    run_t r;
    memset(&r, 0, sizeof(r));
    msb_clock_manual_new(1000 * MSB_SEC, 0, &r.clk);
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.clock = r.clk;
    o.window = kind;
    o.window_size = 64;
    o.window_ns = 10 * MSB_MSEC;
    o.window_buckets = 10;
    o.minimum_calls = 1000000; /* a count window caps it at 64; a time window never judges */
    o.failure_rate_threshold = 1.0;
    msb_breaker_new(&o, &r.b, NULL);
    r.iterations = 200000;
    run_threads(&r, closed_worker, kind == MSB_BREAKER_WINDOW_TIME);

    msb_breaker_stats_t s = {.size = sizeof(s)};
    msb_breaker_stats(r.b, &s);
    const char *k = kind == MSB_BREAKER_WINDOW_COUNT ? "count" : "time";
    char what[160];
    snprintf(what, sizeof(what), "%s window: stayed closed (never only failures)", k);
    check(s.state == MSB_BREAKER_CLOSED && sum(r.rejected) == 0, what);
    snprintf(what, sizeof(what), "%s window: counts equal the sum of the buckets", k);
    check(msb__breaker_window_consistent(r.b), what);
    snprintf(what, sizeof(what), "%s window: calls %llu == recorded %llu", k,
             (unsigned long long)s.calls, (unsigned long long)sum(r.records));
    check(s.calls == sum(r.records), what);
    snprintf(what, sizeof(what), "%s window: failures %llu == recorded %llu", k,
             (unsigned long long)s.failures, (unsigned long long)sum(r.fails));
    check(s.failures == sum(r.fails), what);
    if (kind == MSB_BREAKER_WINDOW_COUNT) {
        check(s.window_calls == 64 && s.window_failures <= 64, "count window: holds 64 calls");
    } else {
        check(msb__twin_cumulative(&r.b->twin, 1) == (int64_t)sum(r.fails),
              "time window: window + expired failures == recorded");
    }
    msb_breaker_free(r.b);
    msb_clock_manual_free(r.clk);
}

/* ---- 3: transitions ---- */

static atomic_int cb_depth, cb_bad_chain, cb_nested;
static atomic_uint_fast64_t cb_count;
static int cb_last_to;

static void on_change(msb_breaker_t *b, msb_breaker_state_t from, msb_breaker_state_t to,
                      void *user)
{
    (void)b;
    (void)user;
    if (atomic_fetch_add(&cb_depth, 1) != 0) {
        atomic_fetch_add(&cb_nested, 1);
    }
    if ((int)from != cb_last_to) {
        atomic_fetch_add(&cb_bad_chain, 1);
    }
    cb_last_to = (int)to; /* only one callback runs at a time: TSan checks that too */
    atomic_fetch_add(&cb_count, 1);
    atomic_fetch_sub(&cb_depth, 1);
}

static void note_half(run_t *r, int id, uint64_t gen)
{
    if (r->half_n[id] == r->half_cap[id]) {
        r->half_cap[id] = r->half_cap[id] ? r->half_cap[id] * 2 : 1024;
        r->half_gens[id] = realloc(r->half_gens[id], r->half_cap[id] * sizeof(uint64_t));
    }
    r->half_gens[id][r->half_n[id]++] = gen;
}

static void *storm_worker(void *p)
{
    arg_t *a = p;
    run_t *r = a->r;
    wait_all(r);
    for (int i = 0; i < r->iterations; i++) {
        msb_breaker_permit_t permit;
        if (msb_breaker_acquire(r->b, &permit) != MSB_OK) {
            r->rejected[a->id]++;
            msb_clock_manual_advance(r->clk, 50 * 1000); /* rejections are quick: let time pass */
            continue;
        }
        bool probe = (permit.token & MSB__BRK_STATE_MASK) == MSB_BREAKER_HALF_OPEN;
        if (probe) {
            note_half(r, a->id, permit.token >> MSB__BRK_STATE_BITS);
        }
        int kind = i % 10;
        if (kind == 9 && !probe) { /* probes are never given back: their count is exact */
            msb_breaker_record(r->b, &permit, MSB_BREAKER_IGNORED);
            r->ignored[a->id]++;
            continue;
        }
        bool fail = kind < 6 - a->id; /* threads differ: rates hover around the threshold */
        msb_breaker_record(r->b, &permit, fail ? MSB_BREAKER_FAILURE : MSB_BREAKER_SUCCESS);
        r->records[a->id]++;
        r->fails[a->id] += fail;
    }
    return NULL;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void test_storm(void)
{
    run_t r;
    memset(&r, 0, sizeof(r));
    msb_clock_manual_new(1000 * MSB_SEC, 0, &r.clk);
    msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
    o.clock = r.clk;
    o.window_size = 10;
    o.minimum_calls = 10;
    o.open_wait_ns = MSB_MSEC;
    o.half_open_calls = 3;
    o.on_state_change = on_change;
    cb_last_to = MSB_BREAKER_CLOSED;
    msb_breaker_new(&o, &r.b, NULL);
    r.iterations = 100000;
    run_threads(&r, storm_worker, true);

    msb_breaker_stats_t s = {.size = sizeof(s)};
    msb_breaker_stats(r.b, &s);
    fprintf(stderr, "storm: %llu transitions, state %d, rejected %llu\n",
            (unsigned long long)s.transitions, (int)s.state, (unsigned long long)s.rejected);
    check(s.transitions > 10, "storm: the breaker changed state many times");
    check(atomic_load(&cb_count) == s.transitions, "storm: one notice per transition");
    check(atomic_load(&cb_nested) == 0, "storm: notices never overlap");
    check(atomic_load(&cb_bad_chain) == 0, "storm: each notice starts where the last ended");
    check(s.calls == sum(r.records) && s.failures == sum(r.fails), "storm: calls add up");
    check(s.ignored == sum(r.ignored) && s.rejected == sum(r.rejected), "storm: rest adds up");
    /* Probes per half-open period (one generation) never exceed half_open_calls. */
    size_t total = 0;
    for (int i = 0; i < THREADS; i++) {
        total += r.half_n[i];
    }
    uint64_t *all = malloc((total + 1) * sizeof(uint64_t));
    size_t k = 0;
    for (int i = 0; i < THREADS; i++) {
        if (r.half_n[i] > 0) {
            memcpy(all + k, r.half_gens[i], r.half_n[i] * sizeof(uint64_t));
        }
        k += r.half_n[i];
        free(r.half_gens[i]);
    }
    qsort(all, total, sizeof(uint64_t), cmp_u64);
    size_t worst = 0;
    for (size_t i = 0; i < total;) {
        size_t j = i;
        while (j < total && all[j] == all[i]) {
            j++;
        }
        worst = j - i > worst ? j - i : worst;
        i = j;
    }
    free(all);
    char what[128];
    snprintf(what, sizeof(what), "storm: %zu probes in %llu openings, at most %zu per period",
             total, (unsigned long long)s.opened, worst);
    check(total > 0 && worst <= 3, what);
    msb_breaker_free(r.b);
    msb_clock_manual_free(r.clk);
}

/* ---- 4: throttle ---- */

static void *throttle_worker(void *p)
{
    arg_t *a = p;
    run_t *r = a->r;
    wait_all(r);
    for (int i = 0; i < r->iterations; i++) {
        if (msb_throttle_acquire(r->t) != MSB_OK) {
            r->rejected[a->id]++;
            continue;
        }
        bool ok = i % 3 != 0;
        msb_throttle_record(r->t, ok);
        r->records[a->id] += ok;
    }
    return NULL;
}

static void test_throttle(void)
{
    run_t r;
    memset(&r, 0, sizeof(r));
    msb_clock_manual_new(1000 * MSB_SEC, 0, &r.clk);
    msb_throttle_opts_t o = MSB_THROTTLE_OPTS_INIT;
    o.clock = r.clk;
    o.window_ns = 10 * MSB_MSEC;
    msb_throttle_new(&o, &r.t, NULL);
    r.iterations = 100000;
    run_threads(&r, throttle_worker, true);
    msb_throttle_stats_t s = {.size = sizeof(s)};
    msb_throttle_stats(r.t, &s);
    check(s.requests == (uint64_t)THREADS * (uint64_t)r.iterations, "throttle: requests add up");
    check(s.accepts == sum(r.records), "throttle: accepts add up");
    check(s.rejected == sum(r.rejected), "throttle: rejections add up");
    msb_throttle_free(r.t);
    msb_clock_manual_free(r.clk);
}

int main(void)
{
    test_window(MSB_BREAKER_WINDOW_COUNT);
    test_window(MSB_BREAKER_WINDOW_TIME);
    test_storm();
    test_throttle();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
