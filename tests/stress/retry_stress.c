/*
 * Retry budget and policies under many threads (TSan).
 *
 * 1. A frozen clock: threads deposit and withdraw in a mixed order; the retries granted never
 *    exceed ratio * requests + floor, however the threads interleave, and are not fewer than
 *    the budget allowed (the last withdrawals are refused only once it is spent).
 * 2. A moving clock and four retryers sharing one budget: every count adds up.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "msb/clock.h"
#include "msb/retry.h"

#define THREADS 4
#define ROUNDS  50000

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

typedef struct shared {
    msb_retry_budget_t *budget;
    msb_retry_t *policy;
    msb_clock_t *clk;
    atomic_bool stop;
    atomic_int ready;
    uint64_t granted[THREADS], refused[THREADS], deposits[THREADS];
} shared_t;

typedef struct arg {
    shared_t *s;
    int id;
} arg_t;

static void go(shared_t *s)
{
    atomic_fetch_add(&s->ready, 1);
    while (atomic_load(&s->ready) < THREADS) {
    }
}

static void *budget_worker(void *p)
{
    arg_t *a = p;
    shared_t *s = a->s;
    go(s);
    for (int i = 0; i < ROUNDS; i++) {
        if (i % 4 == 0) {
            msb_retry_budget_deposit(s->budget);
            s->deposits[a->id]++;
        }
        if (msb_retry_budget_withdraw(s->budget)) {
            s->granted[a->id]++;
        } else {
            s->refused[a->id]++;
        }
    }
    return NULL;
}

static void *policy_worker(void *p)
{
    arg_t *a = p;
    shared_t *s = a->s;
    go(s);
    for (int i = 0; i < ROUNDS / 4; i++) {
        msb_retry_call_t c;
        msb_retry_begin(s->policy, &c);
        s->deposits[a->id]++;
        uint64_t d;
        msb_retry_verdict_t v;
        while ((v = msb_retry_next(s->policy, &c, MSB_ETIMEDOUT, NULL, 0, &d)) == MSB_RETRY_AGAIN) {
            s->granted[a->id]++;
        }
        if (v == MSB_RETRY_NO_BUDGET) {
            s->refused[a->id]++;
        }
    }
    return NULL;
}

static void *clock_worker(void *p)
{
    shared_t *s = p;
    while (!atomic_load(&s->stop)) {
        msb_clock_manual_advance(s->clk, 100 * 1000); /* 0.1 ms: a tenth of a bucket */
    }
    return NULL;
}

static uint64_t sum(const uint64_t *v)
{
    uint64_t t = 0;
    for (int i = 0; i < THREADS; i++) {
        t += v[i];
    }
    return t;
}

static void run(shared_t *s, void *(*fn)(void *), bool clock)
{
    pthread_t th[THREADS], ck;
    arg_t args[THREADS];
    if (clock) {
        pthread_create(&ck, NULL, clock_worker, s);
    }
    for (int i = 0; i < THREADS; i++) {
        args[i].s = s;
        args[i].id = i;
        pthread_create(&th[i], NULL, fn, &args[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    atomic_store(&s->stop, true);
    if (clock) {
        pthread_join(ck, NULL);
    }
}

static void test_frozen(void)
{
    shared_t s = {0};
    msb_clock_manual_new(1000 * MSB_SEC, 0, &s.clk);
    msb_retry_budget_opts_t o = MSB_RETRY_BUDGET_OPTS_INIT;
    o.clock = s.clk;
    o.ratio = 0.2;
    o.min_retries_per_sec = 10; /* floor 100 over the default 10 s */
    msb_retry_budget_new(&o, &s.budget, NULL);
    run(&s, budget_worker, false);
    double limit = floor(0.2 * (double)sum(s.deposits) + 100.0 + 1e-9);
    char what[160];
    snprintf(what, sizeof(what), "frozen: granted %llu <= limit %.0f",
             (unsigned long long)sum(s.granted), limit);
    check((double)sum(s.granted) <= limit, what);
    /* The final withdrawals all came after the last deposit of their thread, and the last
     * deposit overall raised the limit to its final value: the budget is spent exactly. */
    snprintf(what, sizeof(what), "frozen: granted %llu == limit %.0f (nothing left unused)",
             (unsigned long long)sum(s.granted), limit);
    check((double)sum(s.granted) == limit, what);
    msb_retry_budget_stats_t st = {.size = sizeof(st)};
    msb_retry_budget_stats(s.budget, &st);
    check(st.retries == sum(s.granted) && st.exhausted == sum(s.refused) &&
              st.requests == sum(s.deposits),
          "frozen: stats add up");
    msb_retry_budget_free(s.budget);
    msb_clock_manual_free(s.clk);
}

static void test_moving(void)
{
    shared_t s = {0};
    msb_clock_manual_new(1000 * MSB_SEC, 0, &s.clk);
    msb_retry_budget_opts_t bo = MSB_RETRY_BUDGET_OPTS_INIT;
    bo.clock = s.clk;
    bo.window_ns = 10 * MSB_MSEC;
    bo.min_retries_per_sec = 1000;
    msb_retry_budget_new(&bo, &s.budget, NULL);
    msb_retry_opts_t o = MSB_RETRY_OPTS_INIT;
    o.clock = s.clk;
    o.budget = s.budget;
    o.max_attempts = 4;
    msb_retry_new(&o, &s.policy, NULL);
    run(&s, policy_worker, true);
    msb_retry_budget_stats_t st = {.size = sizeof(st)};
    msb_retry_budget_stats(s.budget, &st);
    check(st.requests == sum(s.deposits), "moving: requests add up");
    check(st.retries == sum(s.granted), "moving: retries add up");
    check(st.exhausted == sum(s.refused), "moving: refusals add up");
    check(sum(s.granted) > 0 && sum(s.refused) > 0, "moving: the budget both gave and refused");
    msb_retry_free(s.policy);
    msb_retry_budget_free(s.budget);
    msb_clock_manual_free(s.clk);
}

int main(void)
{
    test_frozen();
    test_moving();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
