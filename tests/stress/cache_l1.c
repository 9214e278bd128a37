/*
 * TSan stress of the in-process cache: threads get, set (sizes vary, so in-place overwrites and
 * replacements both happen), delete, clear and expire (a manual clock moved by another thread)
 * over a small key space with small bounds, so eviction runs constantly. Invariants: the entry
 * and byte bounds are never exceeded (checked by a watcher thread through the stats), and a value
 * is never torn: each is its key's name followed by one repeated byte, checked on every hit.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "msb/cache.h"

#define THREADS     4
#define OPS         40000
#define KEYS        512
#define MAX_ENTRIES 128
#define MAX_BYTES   (64 * 1024)

static msb_cache_t *cache;
static msb_clock_t *clk;
static atomic_int running;
static atomic_long torn;
static atomic_long over_bound;
static atomic_long hits;
static int passed;
static int failed;

static void check(bool ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAILED: %s\n", what);
    }
}

/* value = "k<key>:" + n copies of one byte derived from (key, n) */
static size_t make_value(char *buf, int key, size_t n)
{
    int h = snprintf(buf, 32, "k%d:", key);
    memset(buf + h, 'a' + (int)((unsigned)(key + (int)n) % 26), n);
    return (size_t)h + n;
}

static bool intact(const char *v, size_t len, int key)
{
    char head[32];
    int h = snprintf(head, sizeof(head), "k%d:", key);
    if (len < (size_t)h || memcmp(v, head, (size_t)h) != 0) {
        return false;
    }
    for (size_t i = (size_t)h + 1; i < len; i++) {
        if (v[i] != v[h]) {
            return false;
        }
    }
    return len == (size_t)h || v[h] == 'a' + (int)((unsigned)(key + (int)(len - (size_t)h)) % 26);
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
    char buf[1200];
    char key[16];
    for (int i = 0; i < OPS; i++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % KEYS);
        int klen = snprintf(key, sizeof(key), "key%d", k);
        unsigned op = (seed >> 20) % 100;
        if (op < 60) {
            msb_cache_value_t *v = NULL;
            if (msb_cache_get(cache, key, (size_t)klen, &v, NULL) == MSB_OK) {
                atomic_fetch_add(&hits, 1);
                if (!intact(msb_cache_value_data(v), msb_cache_value_len(v), k)) {
                    atomic_fetch_add(&torn, 1);
                }
                msb_cache_value_release(v);
            }
        } else if (op < 90) {
            size_t n = (seed >> 4) % 4 == 0 ? 64 : (seed >> 6) % 1000;
            size_t len = make_value(buf, k, n);
            int64_t ttl = (seed >> 3) % 2 == 0 ? MSB_CACHE_TTL_NONE : (int64_t)(1 + op) * MSB_MSEC;
            msb_cache_set(cache, key, (size_t)klen, buf, len, ttl, NULL);
        } else if (op < 99) {
            msb_cache_delete(cache, key, (size_t)klen, NULL);
        } else if ((seed >> 9) % 50 == 0) {
            msb_cache_clear_local(cache, NULL);
        }
    }
    return NULL;
}

static void *watcher(void *arg)
{
    (void)arg;
    while (atomic_load(&running)) {
        msb_cache_stats_t s;
        msb_cache_stats(cache, &s);
        if (s.entries > MAX_ENTRIES || s.bytes > MAX_BYTES) {
            atomic_fetch_add(&over_bound, 1);
        }
        msb_clock_manual_advance(clk, MSB_MSEC);
    }
    return NULL;
}

int main(void)
{
    msb_clock_manual_new(0, 0, &clk);
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.max_entries = MAX_ENTRIES;
    o.max_bytes = MAX_BYTES;
    o.max_value_len = 2048;
    o.shards = 4;
    o.clock = clk;
    o.stale_ns = MSB_MSEC;
    msb_error_t err;
    if (msb_cache_new(&o, &cache, &err) != MSB_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    atomic_store(&running, 1);
    pthread_t w;
    pthread_create(&w, NULL, watcher, NULL);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    atomic_store(&running, 0);
    pthread_join(w, NULL);
    msb_cache_stats_t s;
    msb_cache_stats(cache, &s);
    check(atomic_load(&torn) == 0, "no torn value");
    check(atomic_load(&over_bound) == 0, "entry and byte bounds never exceeded");
    check(s.entries <= MAX_ENTRIES && s.bytes <= MAX_BYTES, "bounds at the end");
    check(atomic_load(&hits) > 0 && s.evictions > 0, "the workload hit and evicted");
    msb_cache_free(cache);
    msb_clock_manual_free(clk);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
