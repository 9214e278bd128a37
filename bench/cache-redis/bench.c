/*
 * bench/cache-redis: requests per second of libmsb's Redis cache on an event loop, shaped like
 * redis-benchmark: CLIENTS connections (one msb_cache_loop_t each) on one loop thread, each
 * keeping PIPELINE requests in flight, keys "key:%012d" drawn from 0..KEYSPACE-1, values of
 * SIZE bytes. Usage: bench_cache_redis URL get|set CLIENTS PIPELINE SIZE REQUESTS; prints
 * "rps=N errors=E". A Redis-only cache: every request is a Redis command (no L1).
 */
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msb/cache_loop.h"

#define KEYSPACE 100000

static msb_cache_t *cache;
static struct event_base *base;
static int is_get;
static long requests;
static long sent;
static long done;
static long errors;
static char *value;
static size_t size;
static uint64_t rng = UINT64_C(0x9E3779B97F4A7C15);

typedef struct client {
    msb_cache_loop_t *loop;
} client_t;

static void issue(client_t *c);

static void finished(msb_status_t status, client_t *c)
{
    if (status != MSB_OK && status != MSB_ENOTFOUND) {
        errors++;
    }
    if (++done == requests) {
        event_base_loopbreak(base);
        return;
    }
    issue(c);
}

static void on_get(msb_status_t status, msb_cache_value_t *v, const msb_error_t *err, void *user)
{
    (void)v;
    (void)err;
    finished(status, user);
}

static void on_set(msb_status_t status, const msb_error_t *err, void *user)
{
    (void)err;
    finished(status, user);
}

static void issue(client_t *c)
{
    if (sent >= requests) {
        return;
    }
    sent++;
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    /* "key:%012d" as redis-benchmark -r writes it, without printf's cost */
    char key[16] = "key:000000000000";
    unsigned v = (unsigned)((rng * UINT64_C(2685821657736338717)) % KEYSPACE);
    for (int i = 15; v > 0; i--) {
        key[i] = (char)('0' + v % 10);
        v /= 10;
    }
    int n = 16;
    msb_status_t rc = is_get ? msb_cache_loop_get(c->loop, key, (size_t)n, on_get, c, NULL)
                             : msb_cache_loop_set(c->loop, key, (size_t)n, value, size,
                                                  MSB_CACHE_TTL_NONE, on_set, c, NULL);
    if (rc != MSB_OK) {
        errors++;
        done++;
    }
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s URL get|set CLIENTS PIPELINE SIZE REQUESTS\n", argv[0]);
        return 2;
    }
    is_get = strcmp(argv[2], "get") == 0;
    int clients = atoi(argv[3]);
    int pipeline = atoi(argv[4]);
    size = (size_t)atol(argv[5]);
    requests = atol(argv[6]);
    value = malloc(size + 1);
    memset(value, 'x', size);
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.url = argv[1];
    o.prefix = "";
    msb_error_t err;
    if (msb_cache_new(&o, &cache, &err) != MSB_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    base = event_base_new();
    client_t *cs = calloc((size_t)clients, sizeof(*cs));
    for (int i = 0; i < clients; i++) {
        if (msb_cache_loop_new(cache, base, &cs[i].loop, &err) != MSB_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
    }
    /* Let the connections come up (their handshakes) before the clock starts. */
    struct timeval tv = {0, 200000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    struct timespec a;
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int p = 0; p < pipeline; p++) {
        for (int i = 0; i < clients; i++) {
            issue(&cs[i]);
        }
    }
    event_base_dispatch(base);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("rps=%.0f errors=%ld\n", (double)done / s, errors);
    for (int i = 0; i < clients; i++) {
        msb_cache_loop_free(cs[i].loop);
    }
    free(cs);
    msb_cache_free(cache);
    event_base_free(base);
    free(value);
    return errors == 0 ? 0 : 1;
}
