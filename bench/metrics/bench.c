/*
 * libmsb side of ./bench/run metrics. Usage: bench ROW THREADS ITERS [REPEATS]
 * Prints the best of REPEATS (5) runs in CPU ns per operation per thread (each thread does ITERS
 * operations at the same time; the thread's CPU clock, so that time spent descheduled by other
 * load on the machine is not counted), the same definition as go/main.go.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msb/metrics.h"

typedef struct job {
    const char *row;
    long iters;
    msb_counter_t *counter;
    msb_counter_vec_t *vec;
    msb_histogram_t *hist;
    pthread_barrier_t *barrier;
    double ns;
} job_t;

static double obs[128];

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *run(void *arg)
{
    job_t *j = arg;
    msb_counter_t *child;
    const char *values[] = {"GET", "200"};
    msb_counter_vec_get(j->vec, values, &child, NULL);
    pthread_barrier_wait(j->barrier);
    double t0 = now_ns();
    if (strcmp(j->row, "counter_inc") == 0) {
        for (long i = 0; i < j->iters; i++) {
            msb_counter_inc(j->counter);
        }
    } else if (strcmp(j->row, "labelled_cached") == 0) {
        for (long i = 0; i < j->iters; i++) {
            msb_counter_inc(child);
        }
    } else if (strcmp(j->row, "labelled_lookup") == 0) {
        for (long i = 0; i < j->iters; i++) {
            msb_counter_t *c;
            msb_counter_vec_get(j->vec, values, &c, NULL);
            msb_counter_inc(c);
        }
    } else if (strcmp(j->row, "histogram_observe") == 0) {
        for (long i = 0; i < j->iters; i++) {
            msb_histogram_observe(j->hist, obs[i & 127]);
        }
    }
    j->ns = (now_ns() - t0) / (double)j->iters;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: bench ROW THREADS ITERS [REPEATS]\n");
        return 2;
    }
    int threads = atoi(argv[2]);
    long iters = atol(argv[3]);
    int repeats = argc == 5 ? atoi(argv[4]) : 5;
    if (threads < 1 || threads > 16 || iters < 1 || repeats < 1) {
        fprintf(stderr, "bench: THREADS in 1..16, ITERS and REPEATS positive\n");
        return 2;
    }
    for (int i = 0; i < 128; i++) {
        obs[i] = (double)((i * 37) % 128) / 100.0; /* 0 .. 1.27 s, over the default buckets */
    }
    msb_metrics_t *reg;
    msb_metrics_new(NULL, &reg, NULL);
    msb_metric_opts_t o = MSB_METRIC_OPTS_INIT;
    o.name = "bench_total";
    o.help = "b";
    msb_counter_t *counter;
    msb_counter_new(reg, &o, &counter, NULL);
    const char *labels[] = {"method", "code"};
    o.name = "requests_total";
    o.label_names = labels;
    o.label_count = 2;
    msb_counter_vec_t *vec;
    msb_counter_vec_new(reg, &o, &vec, NULL);
    msb_metric_opts_t h = MSB_METRIC_OPTS_INIT;
    h.name = "latency_seconds";
    h.help = "l";
    msb_histogram_t *hist;
    msb_histogram_new(reg, &h, &hist, NULL);
    double best = 1e300;
    for (int r = 0; r < repeats; r++) {
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, (unsigned)threads);
        job_t jobs[16];
        pthread_t t[16];
        for (int i = 0; i < threads; i++) {
            jobs[i] = (job_t){argv[1], iters, counter, vec, hist, &barrier, 0};
            pthread_create(&t[i], NULL, run, &jobs[i]);
        }
        double worst = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(t[i], NULL);
            worst = jobs[i].ns > worst ? jobs[i].ns : worst;
        }
        pthread_barrier_destroy(&barrier);
        best = worst < best ? worst : best;
    }
    printf("%.2f\n", best);
    msb_metrics_free(reg);
    return 0;
}
