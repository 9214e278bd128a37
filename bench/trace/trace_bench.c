/*
 * Our side of bench/trace: span start + end with two attributes, sampled, handed to a processor
 * that drops it (the same set-up as the Go peer). Prints "<case> <ns/op>" per case.
 * Usage: trace_bench [iterations [root|child]]   (bench/trace/run builds and runs it)
 * With a case name, bench_loop runs once with that many iterations and nothing is timed: the
 * mode callgrind counts instructions in (--toggle-collect=bench_loop).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msb/trace.h"

static void drop(void *user, const msb_span_t *span)
{
    (void)user;
    (void)span;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Kept out of line so that callgrind can count exactly these instructions. */
__attribute__((noinline)) void bench_loop(msb_tracer_t *t, long n);

void bench_loop(msb_tracer_t *t, long n)
{
    for (long i = 0; i < n; i++) {
        msb_span_t *s = msb_span_start(t, "GET /users/{id}", NULL);
        msb_span_set_str(s, "http.request.method", "GET");
        msb_span_set_int(s, "http.response.status_code", 200);
        msb_span_end(s);
    }
}

static double run(msb_tracer_t *t, long n)
{
    bench_loop(t, n / 10);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        uint64_t t0 = now_ns();
        bench_loop(t, n);
        double ns = (double)(now_ns() - t0) / (double)n;
        if (best == 0 || ns < best) {
            best = ns;
        }
    }
    return best;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    msb_span_processor_t *proc = NULL;
    if (msb_trace_processor_new(drop, NULL, &proc) != MSB_OK) {
        return 1;
    }
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "bench";
    o.processor = proc;
    msb_tracer_provider_t *p = NULL;
    msb_error_t err;
    if (msb_tracer_provider_new(&o, &p, &err) != MSB_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    msb_tracer_t *t = msb_tracer_provider_tracer(p, "bench", NULL);
    if (argc > 2) {
        msb_span_t *parent = msb_span_start(t, "parent", NULL);
        if (strcmp(argv[2], "child") == 0) {
            msb_span_activate(parent);
        }
        bench_loop(t, n);
        msb_span_end(parent);
        msb_tracer_provider_free(p);
        return 0;
    }
    printf("root %.1f\n", run(t, n));
    msb_span_t *parent = msb_span_start(t, "parent", NULL);
    msb_span_activate(parent);
    printf("child %.1f\n", run(t, n));
    msb_span_end(parent);
    msb_tracer_provider_free(p);
    return 0;
}
