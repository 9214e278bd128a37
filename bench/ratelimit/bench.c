/*
 * bench/ratelimit: msb_ratelimit_allow() on the workload of go/main.go — a limit high enough that
 * every call is granted (1e9 a second, burst 1e9), called in a loop by one thread, then by two
 * threads at once on one limiter — once on the coarse clock and once on the precise one.
 * ns/op is wall time over all calls of all threads; each case runs `reps` times and prints its
 * median.
 *
 * Usage: bench [OPS REPS]        prints "ours <clock> <threads> <ns/op> <allowed fraction>"
 *        bench --callgrind CLOCK runs 100000 calls in measured_loop() for callgrind
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msb/ratelimit.h"

typedef struct job {
    msb_ratelimit_t *rl;
    long ops;
    long granted;
    pthread_barrier_t *start;
} job_t;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static msb_ratelimit_t *make(const msb_clock_t *clock)
{
    msb_ratelimit_opts_t o = MSB_RATELIMIT_OPTS_INIT;
    o.rate = 1000000000;
    o.burst = 1000000000;
    o.clock = clock;
    msb_ratelimit_t *rl = NULL;
    msb_error_t err;
    if (msb_ratelimit_new(&o, &rl, &err) != MSB_OK) {
        fprintf(stderr, "msb_ratelimit_new: %s\n", err.message);
        exit(1);
    }
    return rl;
}

/* The measured loop, kept out of line so that callgrind can count exactly its instructions. */
__attribute__((noinline)) long measured_loop(msb_ratelimit_t *rl, long ops);

long measured_loop(msb_ratelimit_t *rl, long ops)
{
    long granted = 0;
    for (long i = 0; i < ops; i++) {
        granted += msb_ratelimit_allow(rl) ? 1 : 0;
    }
    return granted;
}

static void *worker(void *arg)
{
    job_t *j = arg;
    pthread_barrier_wait(j->start);
    j->granted = measured_loop(j->rl, j->ops);
    return NULL;
}

static double run(const msb_clock_t *clock, int threads, long ops, double *allowed)
{
    msb_ratelimit_t *rl = make(clock);
    pthread_t t[2];
    job_t jobs[2];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job_t){rl, ops, 0, &start};
        pthread_create(&t[i], NULL, worker, &jobs[i]);
    }
    pthread_barrier_wait(&start);
    double t0 = now_ns();
    long granted = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        granted += jobs[i].granted;
    }
    double el = now_ns() - t0;
    pthread_barrier_destroy(&start);
    msb_ratelimit_free(rl);
    *allowed = (double)granted / ((double)threads * (double)ops);
    return el / ((double)threads * (double)ops);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--callgrind") == 0) {
        bool coarse = strcmp(argv[2], "coarse") == 0;
        msb_ratelimit_t *rl = make(coarse ? msb_clock_coarse() : msb_clock_real());
        long g = measured_loop(rl, 100000);
        msb_ratelimit_free(rl);
        return g == 100000 ? 0 : 1;
    }
    long ops = argc > 1 ? atol(argv[1]) : 5000000;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (ops <= 0 || reps <= 0 || reps > 99) {
        fprintf(stderr, "usage: bench [OPS REPS]\n");
        return 2;
    }
    const struct {
        const char *name;
        const msb_clock_t *clock;
    } clocks[] = {{"coarse", msb_clock_coarse()}, {"precise", msb_clock_real()}};
    for (int threads = 1; threads <= 2; threads++) {
        for (size_t c = 0; c < 2; c++) {
            double ns[99];
            double allowed = 0;
            for (int r = 0; r < reps; r++) {
                ns[r] = run(clocks[c].clock, threads, ops, &allowed);
            }
            qsort(ns, (size_t)reps, sizeof(double), cmp_double);
            printf("ours %s %d %.2f %.4f\n", clocks[c].name, threads, ns[reps / 2], allowed);
        }
    }
    return 0;
}
