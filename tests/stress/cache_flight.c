/*
 * TSan stress of single-flight: rounds of threads miss the same keys at once; each round must
 * load each key exactly once, every caller must get that load's value, and loads that fail must
 * reach every waiter. Keys are invalidated between rounds so every round loads again.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "msb/cache.h"

#define THREADS 8
#define ROUNDS  200
#define KEYS    3

static msb_cache_t *cache;
static pthread_barrier_t start;
static pthread_barrier_t end;
static atomic_int loads[KEYS];
static atomic_int round_no;
static atomic_long wrong;
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

static msb_status_t load(void *user, const void *key, size_t key_len, msb_cache_fill_t *fill,
                         msb_error_t *err)
{
    (void)user;
    int k = ((const char *)key)[key_len - 1] - '0';
    atomic_fetch_add(&loads[k], 1);
    int r = atomic_load(&round_no);
    if (k == 2 && r % 2 == 1) {
        err->code = MSB_EUNAVAIL;
        snprintf(err->message, sizeof(err->message), "odd round");
        return MSB_EUNAVAIL;
    }
    char v[32];
    int n = snprintf(v, sizeof(v), "r%d-k%d", r, k);
    return msb_cache_fill_value(fill, v, (size_t)n);
}

static void *worker(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        pthread_barrier_wait(&start);
        for (int k = 0; k < KEYS; k++) {
            char key[16];
            snprintf(key, sizeof(key), "key%d", k);
            msb_cache_value_t *v = NULL;
            msb_error_t err;
            msb_status_t rc = msb_cache_get_or_load(cache, key, 4, load, NULL, &v, &err);
            char want[32];
            snprintf(want, sizeof(want), "r%d-k%d", r, k);
            bool fails = k == 2 && r % 2 == 1;
            if (fails ? (rc != MSB_EUNAVAIL || strcmp(err.message, "odd round") != 0)
                      : (rc != MSB_OK || strcmp(msb_cache_value_data(v), want) != 0)) {
                atomic_fetch_add(&wrong, 1);
            }
            msb_cache_value_release(v);
        }
        if (pthread_barrier_wait(&end) == PTHREAD_BARRIER_SERIAL_THREAD) {
            atomic_fetch_add(&round_no, 1);
            msb_cache_clear_local(cache, NULL);
        }
        pthread_barrier_wait(&end);
    }
    return NULL;
}

int main(void)
{
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    msb_error_t err;
    if (msb_cache_new(&o, &cache, &err) != MSB_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    pthread_barrier_init(&start, NULL, THREADS);
    pthread_barrier_init(&end, NULL, THREADS);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&th[i], NULL, worker, NULL);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    check(atomic_load(&wrong) == 0, "every caller got its round's value or error");
    check(atomic_load(&loads[0]) == ROUNDS, "key0 loaded once per round");
    check(atomic_load(&loads[1]) == ROUNDS, "key1 loaded once per round");
    /* a failed load caches nothing: the round's later keys of other threads may load again only
     * while no flight is running; the counts stay within one load per caller */
    check(atomic_load(&loads[2]) >= ROUNDS && atomic_load(&loads[2]) <= ROUNDS * THREADS,
          "key2 loads bounded");
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&end);
    msb_cache_free(cache);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
