/*
 * bench/cache-l1: libmsb's in-process cache, the same workload as go/main.go (ristretto):
 * 100000 keys "key:%08d", 64-byte values, keys 0..89999 stored so a uniform lookup hits 90%,
 * the same xorshift64* key sequence per thread. Usage: bench_cache_l1 MODE THREADS OPS with
 * MODE get (a reference-counted handle: no copy), getcopy (copied into a buffer) or set; prints
 * "ns_per_op=N hits=H". ns per op is wall time over all operations of all threads.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msb/cache.h"

#define KEY_SPACE  100000
#define PRESENT    90000
#define VALUE_SIZE 64

static msb_cache_t *cache;
static char keys[KEY_SPACE][16];
static char value[VALUE_SIZE];
static int mode; /* 0 get, 1 getcopy, 2 set */

typedef struct worker {
    pthread_t th;
    int32_t *seq;
    size_t n;
    long hits;
} worker_t;

static void *run(void *arg)
{
    worker_t *w = arg;
    long hits = 0;
    char buf[VALUE_SIZE];
    for (size_t i = 0; i < w->n; i++) {
        const char *k = keys[w->seq[i]];
        if (mode == 0) {
            msb_cache_value_t *v = NULL;
            if (msb_cache_get(cache, k, 12, &v, NULL) == MSB_OK) {
                hits += msb_cache_value_len(v) == VALUE_SIZE;
                msb_cache_value_release(v);
            }
        } else if (mode == 1) {
            size_t len = 0;
            if (msb_cache_get_copy(cache, k, 12, buf, sizeof(buf), &len, NULL) == MSB_OK) {
                hits += len == VALUE_SIZE;
            }
        } else {
            msb_cache_set(cache, k, 12, value, VALUE_SIZE, MSB_CACHE_TTL_NONE, NULL);
        }
    }
    w->hits = hits;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s get|getcopy|set THREADS OPS\n", argv[0]);
        return 2;
    }
    mode = strcmp(argv[1], "get") == 0 ? 0 : strcmp(argv[1], "getcopy") == 0 ? 1 : 2;
    int threads = atoi(argv[2]);
    size_t ops = (size_t)atol(argv[3]);
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.max_entries = 2 * KEY_SPACE;
    o.max_bytes = (size_t)256 << 20;
    msb_error_t err;
    if (msb_cache_new(&o, &cache, &err) != MSB_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    for (int i = 0; i < KEY_SPACE; i++) {
        snprintf(keys[i], sizeof(keys[i]), "key:%08d", i);
    }
    for (int i = 0; i < VALUE_SIZE; i++) {
        value[i] = (char)('a' + i % 26);
    }
    for (int i = 0; i < PRESENT; i++) {
        msb_cache_set(cache, keys[i], 12, value, VALUE_SIZE, MSB_CACHE_TTL_NONE, NULL);
    }
    worker_t w[64];
    size_t per = ops / (size_t)threads;
    for (int t = 0; t < threads; t++) {
        w[t].seq = malloc(per * sizeof(int32_t));
        w[t].n = per;
        uint64_t x = UINT64_C(0x9E3779B97F4A7C15) ^ (uint64_t)(t + 1);
        for (size_t i = 0; i < per; i++) {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            w[t].seq[i] = (int32_t)((x * UINT64_C(2685821657736338717)) % KEY_SPACE);
        }
    }
    struct timespec a;
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int t = 0; t < threads; t++) {
        pthread_create(&w[t].th, NULL, run, &w[t]);
    }
    long hits = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(w[t].th, NULL);
        hits += w[t].hits;
        free(w[t].seq);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    printf("ns_per_op=%.2f hits=%ld\n", ns / (double)(per * (size_t)threads), hits);
    msb_cache_free(cache);
    return 0;
}
