/*
 * Single-flight for blocking callers: one load per key at a time; callers that arrive while it
 * runs wait on its condition variable and share its result. Flights live in a small table of
 * lists sharded by the key's hash, each with its own mutex (a flight exists only while a load
 * runs, so the lists are short).
 */
#include <string.h>

#include "cache/internal.h"
#include "core/alloc.h"
#include "core/error.h"

struct msb__flight {
    struct msb__flight *next;
    uint64_t hash;
    size_t key_len;
    unsigned refs; /* the leader and each waiter */
    bool done;
    pthread_cond_t cond;
    msb_status_t status;
    msb_cache_value_t *value;
    msb_error_t err;
    char key[];
};

typedef struct fshard {
    pthread_mutex_t mu;
    msb__flight_t *head;
} __attribute__((aligned(MSB_CACHELINE))) fshard_t;

struct msb__flights {
    unsigned mask;
    fshard_t *shards;
    void *raw;
};

msb_status_t msb__flights_new(unsigned shards, msb__flights_t **out, msb_error_t *err)
{
    msb__flights_t *f = msb__calloc(1, sizeof(*f));
    if (f == NULL) {
        return msb__err_nomem(err, "a cache's single-flight table");
    }
    f->raw = msb__malloc(sizeof(fshard_t) * shards + MSB_CACHELINE);
    if (f->raw == NULL) {
        msb__free(f);
        return msb__err_nomem(err, "a cache's single-flight table");
    }
    size_t pad = (size_t)(-(uintptr_t)f->raw) & (MSB_CACHELINE - 1);
    f->shards = (fshard_t *)(void *)((char *)f->raw + pad);
    f->mask = shards - 1;
    for (unsigned i = 0; i < shards; i++) {
        pthread_mutex_init(&f->shards[i].mu, NULL);
        f->shards[i].head = NULL;
    }
    *out = f;
    return MSB_OK;
}

void msb__flights_free(msb__flights_t *f)
{
    if (f == NULL) {
        return;
    }
    for (unsigned i = 0; i <= f->mask; i++) {
        pthread_mutex_destroy(&f->shards[i].mu);
    }
    msb__free(f->raw);
    msb__free(f);
}

static fshard_t *fshard_of(msb__flights_t *f, uint64_t hash)
{
    return &f->shards[(hash >> 40) & f->mask];
}

static msb__flight_t *find(fshard_t *s, uint64_t hash, const void *key, size_t key_len)
{
    for (msb__flight_t *fl = s->head; fl != NULL; fl = fl->next) {
        if (fl->hash == hash && fl->key_len == key_len && memcmp(fl->key, key, key_len) == 0) {
            return fl;
        }
    }
    return NULL;
}

static msb__flight_t *create(fshard_t *s, uint64_t hash, const void *key, size_t key_len)
{
    msb__flight_t *fl = msb__malloc(sizeof(*fl) + key_len);
    if (fl == NULL) {
        return NULL;
    }
    memset(fl, 0, sizeof(*fl));
    if (pthread_cond_init(&fl->cond, NULL) != 0) {
        msb__free(fl);
        return NULL;
    }
    fl->hash = hash;
    fl->key_len = key_len;
    fl->refs = 1;
    memcpy(fl->key, key, key_len);
    fl->next = s->head;
    s->head = fl;
    return fl;
}

static void unref(msb__flight_t *fl)
{
    if (--fl->refs == 0) {
        pthread_cond_destroy(&fl->cond);
        msb_cache_value_release(fl->value);
        msb__free(fl);
    }
}

msb_status_t msb__flight_join(msb__flights_t *f, uint64_t hash, const void *key, size_t key_len,
                              msb__flight_t **out, bool *leader)
{
    fshard_t *s = fshard_of(f, hash);
    pthread_mutex_lock(&s->mu);
    msb__flight_t *fl = find(s, hash, key, key_len);
    if (fl != NULL) {
        fl->refs++;
        *leader = false;
    } else {
        fl = create(s, hash, key, key_len);
        *leader = true;
    }
    pthread_mutex_unlock(&s->mu);
    if (fl == NULL) {
        return MSB_ENOMEM;
    }
    *out = fl;
    return MSB_OK;
}

msb__flight_t *msb__flight_try_start(msb__flights_t *f, uint64_t hash, const void *key,
                                     size_t key_len)
{
    fshard_t *s = fshard_of(f, hash);
    pthread_mutex_lock(&s->mu);
    msb__flight_t *fl = find(s, hash, key, key_len);
    fl = fl != NULL ? NULL : create(s, hash, key, key_len);
    pthread_mutex_unlock(&s->mu);
    return fl;
}

void msb__flight_finish(msb__flights_t *f, msb__flight_t *fl, msb_status_t status,
                        msb_cache_value_t *value, const msb_error_t *err)
{
    fshard_t *s = fshard_of(f, fl->hash);
    pthread_mutex_lock(&s->mu);
    msb__flight_t **pp = &s->head;
    while (*pp != fl) {
        pp = &(*pp)->next;
    }
    *pp = fl->next;
    fl->done = true;
    fl->status = status;
    fl->value = value;
    if (status != MSB_OK && err != NULL) {
        fl->err = *err;
    } else if (status != MSB_OK) {
        msb__err(&fl->err, status, "cache: load failed: %s", msb_strerror(status));
    }
    pthread_cond_broadcast(&fl->cond);
    unref(fl);
    pthread_mutex_unlock(&s->mu);
}

msb_status_t msb__flight_wait(msb__flights_t *f, msb__flight_t *fl, msb_cache_value_t **out,
                              msb_error_t *err)
{
    fshard_t *s = fshard_of(f, fl->hash);
    pthread_mutex_lock(&s->mu);
    while (!fl->done) {
        pthread_cond_wait(&fl->cond, &s->mu);
    }
    msb_status_t st = fl->status;
    if (st == MSB_OK && fl->value != NULL) {
        *out = msb_cache_value_retain(fl->value);
    } else if (st == MSB_OK) {
        st = MSB_ENOTFOUND;
    } else if (st != MSB_ENOTFOUND && err != NULL) {
        *err = fl->err;
    }
    unref(fl);
    pthread_mutex_unlock(&s->mu);
    return st;
}
