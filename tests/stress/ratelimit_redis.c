/*
 * Many threads on one distributed limiter while Redis cannot be reached (run under TSan by the
 * tsan preset; no server needed):
 * 1. refused connections, local fallback: per key, the fallback grants at most its burst (plus
 *    what the rate adds over the run); every call is counted once as a failure and a fallback.
 * 2. a server that accepts and never answers: the threads share one pool that probes the server
 *    one caller at a time, spaced by the backoff, so the connection attempts stay few while every
 *    call is decided by the policy at once (without waiting on the server).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msb/ratelimit_redis.h"

#define THREADS 8
#define KEYS    16

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

static int loopback_port(bool listening, int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    if (listening) {
        listen(fd, 128);
        *fd_out = fd;
    } else {
        close(fd);
    }
    return ntohs(a.sin_port);
}

typedef struct run {
    msb_ratelimit_redis_t *rl;
    int calls;         /* per thread; or, when until_ns is set, as many as fit */
    uint64_t until_ns; /* CLOCK_MONOTONIC deadline, 0 for none */
    _Atomic long made;
    _Atomic long granted[KEYS];
    _Atomic long denied;
    _Atomic long foreign; /* decisions by someone other than the expected source */
    msb_ratelimit_source_t expect;
    pthread_barrier_t start;
} run_t;

static void *worker(void *arg)
{
    run_t *r = arg;
    char key[16];
    unsigned seed = (unsigned)(uintptr_t)&seed;
    pthread_barrier_wait(&r->start);
    for (int i = 0; r->until_ns != 0 || i < r->calls; i++) {
        if (r->until_ns != 0 && msb_clock_monotonic_ns(NULL) >= r->until_ns) {
            break;
        }
        atomic_fetch_add(&r->made, 1);
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % KEYS);
        int n = snprintf(key, sizeof(key), "key-%d", k);
        msb_ratelimit_result_t res;
        if (msb_ratelimit_redis_take(r->rl, key, (size_t)n, 1, &res) == MSB_OK) {
            atomic_fetch_add(&r->granted[k], 1);
        } else {
            atomic_fetch_add(&r->denied, 1);
        }
        if (res.source != r->expect) {
            atomic_fetch_add(&r->foreign, 1);
        }
    }
    return NULL;
}

static void hammer(run_t *r)
{
    pthread_t t[THREADS];
    pthread_barrier_init(&r->start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&t[i], NULL, worker, r);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    pthread_barrier_destroy(&r->start);
}

static msb_ratelimit_redis_t *make(int port, msb_ratelimit_failure_t policy, int64_t backoff)
{
    static char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
    msb_ratelimit_opts_t lim = MSB_RATELIMIT_OPTS_INIT;
    lim.rate = 1;
    lim.period_ns = 60 * MSB_SEC;
    lim.burst = 50;
    msb_ratelimit_redis_opts_t o = MSB_RATELIMIT_REDIS_OPTS_INIT;
    o.limit = &lim;
    o.url = url;
    o.on_failure = policy;
    o.timeout_ns = 20 * MSB_MSEC;
    o.backoff_min_ns = backoff;
    o.backoff_max_ns = backoff;
    msb_ratelimit_redis_t *rl = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    if (msb_ratelimit_redis_new(&o, &rl, &err) != MSB_OK) {
        printf("msb_ratelimit_redis_new: %s\n", err.message);
    }
    return rl;
}

static void refused_fallback(void)
{
    static run_t r;
    r.rl = make(loopback_port(false, NULL), MSB_RATELIMIT_FAIL_LOCAL, 10 * MSB_MSEC);
    if (r.rl == NULL) {
        check(false, "limiter created");
        return;
    }
    r.calls = 2000;
    r.expect = MSB_RATELIMIT_SOURCE_FALLBACK;
    hammer(&r);
    long total = atomic_load(&r.denied);
    char what[128];
    for (int k = 0; k < KEYS; k++) {
        long g = atomic_load(&r.granted[k]);
        total += g;
        snprintf(what, sizeof(what), "key %d: fallback granted %ld of burst 50", k, g);
        check(g == 50, what); /* 1 a minute adds nothing during the run */
    }
    check(total == (long)THREADS * r.calls, "granted + denied = calls");
    check(atomic_load(&r.foreign) == 0, "every call decided by the fallback");
    msb_ratelimit_redis_stats_t s;
    msb_ratelimit_redis_stats(r.rl, &s);
    check(s.failures == (uint64_t)THREADS * (uint64_t)r.calls && s.fallback == s.failures,
          "counters add up");
    msb_ratelimit_redis_free(r.rl);
}

static int accept_all(int fd)
{
    fcntl(fd, F_SETFL, O_NONBLOCK);
    int n = 0;
    int c;
    while ((c = accept(fd, NULL, NULL)) >= 0) {
        close(c);
        n++;
    }
    return n;
}

static void silent_server(void)
{
    int fd = -1;
    int port = loopback_port(true, &fd);
    static run_t r;
    struct timespec t0;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r.rl = make(port, MSB_RATELIMIT_FAIL_OPEN, 50 * MSB_MSEC);
    if (r.rl == NULL) {
        check(false, "limiter created");
        return;
    }
    r.until_ns = msb_clock_monotonic_ns(NULL) + 500 * (uint64_t)MSB_MSEC;
    r.expect = MSB_RATELIMIT_SOURCE_FAIL_OPEN;
    hammer(&r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    int attempts = accept_all(fd);
    /* Before the first failure, up to pool_size (4) threads connect at once; after it, one
     * probe at a time, each followed by a wait of at least 25 ms (50 ms with jitter). */
    long bound = 4 + (long)(elapsed / 0.025);
    char what[160];
    snprintf(what, sizeof(what), "%d connection attempts in %.2f s <= %ld", attempts, elapsed,
             bound);
    check(attempts >= 1 && attempts <= bound, what);
    check(atomic_load(&r.foreign) == 0, "every call decided by fail-open");
    check(atomic_load(&r.denied) == 0, "fail-open denies nothing");
    check(attempts > 4, "the server was probed again after the backoff");
    printf("silent server: %d attempts for %ld calls in %.2f s\n", attempts, atomic_load(&r.made),
           elapsed);
    msb_ratelimit_redis_free(r.rl);
    close(fd);
}

int main(void)
{
    refused_fallback();
    silent_server();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
