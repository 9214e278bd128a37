/*
 * libmsb's side of bench/breaker: acquire + record on one breaker, every 100th call failing
 * (the workload of go/main.go). Usage: bench MODE THREADS OPS, MODE one of
 *   count   the default breaker (count window of 100 calls)
 *   time    a 60 s time window of 60 buckets, real clock
 *   coarse  the same on msb_clock_coarse()
 * Prints the best ns/op of 3 runs (wall time / calls, all threads together).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msb/breaker.h"

typedef struct job {
    msb_breaker_t *b;
    long ops;
} job_t;

/* The measured loop (callgrind counts instructions inside it only). */
__attribute__((noinline)) void bench_loop(msb_breaker_t *b, long ops);

void bench_loop(msb_breaker_t *b, long ops)
{
    for (long i = 0; i < ops; i++) {
        msb_breaker_permit_t p;
        if (msb_breaker_acquire(b, &p) != MSB_OK) {
            continue;
        }
        msb_breaker_record(b, &p, i % 100 == 99 ? MSB_BREAKER_FAILURE : MSB_BREAKER_SUCCESS);
    }
}

static void *worker(void *arg)
{
    job_t *j = arg;
    bench_loop(j->b, j->ops);
    return NULL;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s count|time|coarse THREADS OPS\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    int threads = atoi(argv[2]);
    long ops = atol(argv[3]);
    if (threads < 1 || threads > 64 || ops < threads) {
        fprintf(stderr, "bad THREADS or OPS\n");
        return 2;
    }
    double best = 0;
    for (int run = 0; run < 3; run++) {
        msb_breaker_opts_t o = MSB_BREAKER_OPTS_INIT;
        if (strcmp(mode, "count") != 0) {
            o.window = MSB_BREAKER_WINDOW_TIME;
            o.window_ns = 60 * MSB_SEC;
            o.window_buckets = 60;
            o.clock = strcmp(mode, "coarse") == 0 ? msb_clock_coarse() : msb_clock_real();
        }
        msb_breaker_t *b = NULL;
        msb_error_t err;
        if (msb_breaker_new(&o, &b, &err) != MSB_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        pthread_t th[64];
        job_t job = {b, ops / threads};
        double t0 = now_ns();
        if (threads == 1) {
            bench_loop(b, job.ops);
        } else {
            for (int i = 0; i < threads; i++) {
                pthread_create(&th[i], NULL, worker, &job);
            }
            for (int i = 0; i < threads; i++) {
                pthread_join(th[i], NULL);
            }
        }
        double ns = (now_ns() - t0) / (double)(job.ops * threads);
        if (msb_breaker_state(b) != MSB_BREAKER_CLOSED) {
            fprintf(stderr, "the breaker opened\n");
            return 1;
        }
        msb_breaker_free(b);
        if (run == 0 || ns < best) {
            best = ns;
        }
    }
    printf("%.2f\n", best);
    return 0;
}
