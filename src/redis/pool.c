/*
 * A pool of blocking connections to one Redis server, shared by threads.
 *
 * While the server is down, callers fail at once (MSB_EUNAVAIL) instead of each waiting out a
 * connect timeout: after a failure the pool waits a backoff delay, then lets exactly one caller
 * probe the server; the others keep failing fast until that probe succeeds. Connections are made
 * outside the lock.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/error.h"
#include "redis/redis.h"

struct msb__redis_pool {
    pthread_mutex_t lock;
    pthread_cond_t idle_cv;
    msb__redis_url_t url;
    msb__redis_timeouts_t timeouts;
    const msb_clock_t *clock;
    size_t size;
    size_t open; /* connections in use, idle, or being made */
    size_t nidle;
    redisContext **idle;
    bool down;    /* the last attempt or command failed */
    bool probing; /* one caller is reconnecting to a server that was down */
    msb__redis_backoff_t backoff;
    msb_error_t last_err;
};

msb_status_t msb__redis_pool_new(const msb__redis_pool_opts_t *o, msb__redis_pool_t **out,
                                 msb_error_t *err)
{
    msb__redis_pool_t *p = msb__calloc(1, sizeof(*p));
    if (p == NULL) {
        return msb__err_nomem(err, "a Redis connection pool");
    }
    p->idle = msb__calloc(o->size, sizeof(redisContext *));
    if (p->idle == NULL) {
        msb__free(p);
        return msb__err_nomem(err, "a Redis connection pool");
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->idle_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->lock, NULL);
    p->url = *o->url;
    p->timeouts = o->timeouts;
    p->clock = o->clock != NULL ? o->clock : msb_clock_real();
    p->size = o->size;
    p->backoff.min_ns = o->backoff_min_ns;
    p->backoff.max_ns = o->backoff_max_ns;
    *out = p;
    return MSB_OK;
}

void msb__redis_pool_free(msb__redis_pool_t *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->nidle; i++) {
        redisFree(p->idle[i]);
    }
    pthread_cond_destroy(&p->idle_cv);
    pthread_mutex_destroy(&p->lock);
    msb__free(p->idle);
    msb__free(p);
}

static void close_idle_locked(msb__redis_pool_t *p)
{
    for (size_t i = 0; i < p->nidle; i++) {
        redisFree(p->idle[i]);
    }
    p->open -= p->nidle;
    p->nidle = 0;
}

static void failed_locked(msb__redis_pool_t *p, const msb_error_t *why)
{
    p->down = true;
    msb__redis_backoff_fail(&p->backoff, msb_clock_monotonic_ns(p->clock));
    if (why != NULL && why->code != MSB_OK) {
        p->last_err = *why;
    }
    close_idle_locked(p);
}

static msb_status_t down_error(const msb__redis_pool_t *p, msb_error_t *err)
{
    if (err != NULL) {
        *err = p->last_err;
        if (err->code == MSB_OK) {
            msb__err(err, MSB_EUNAVAIL, "redis: unreachable");
        }
        err->code = MSB_EUNAVAIL;
    }
    return MSB_EUNAVAIL;
}

/* Wait for an idle connection until the command timeout; the lock is held. */
static bool wait_idle_locked(msb__redis_pool_t *p)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    int64_t ns = (int64_t)until.tv_nsec + p->timeouts.command_ns;
    until.tv_sec += (time_t)(ns / MSB_SEC);
    until.tv_nsec = (long)(ns % MSB_SEC);
    while (p->nidle == 0 && p->open >= p->size) {
        if (pthread_cond_timedwait(&p->idle_cv, &p->lock, &until) != 0) {
            return p->nidle > 0 || p->open < p->size;
        }
    }
    return true;
}

static msb_status_t connect_new(msb__redis_pool_t *p, bool probe, redisContext **out,
                                msb_error_t *err)
{
    msb_error_t local = MSB_ERROR_INIT;
    redisContext *c = NULL;
    msb_status_t rc = msb__redis_connect(&p->url, &p->timeouts, &c, &local);
    pthread_mutex_lock(&p->lock);
    if (probe) {
        p->probing = false;
    }
    if (rc == MSB_OK) {
        p->down = false;
        msb__redis_backoff_ok(&p->backoff);
        *out = c;
    } else {
        p->open--;
        failed_locked(p, &local);
        pthread_cond_signal(&p->idle_cv);
        if (err != NULL) {
            *err = local;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

msb_status_t msb__redis_pool_get(msb__redis_pool_t *p, redisContext **out, msb_error_t *err)
{
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (p->down) {
            uint64_t now = msb_clock_monotonic_ns(p->clock);
            if (p->probing || now < p->backoff.next_at || p->open >= p->size) {
                msb_status_t rc = down_error(p, err);
                pthread_mutex_unlock(&p->lock);
                return rc;
            }
            p->probing = true;
            p->open++;
            pthread_mutex_unlock(&p->lock);
            return connect_new(p, true, out, err);
        }
        if (p->nidle > 0) {
            *out = p->idle[--p->nidle];
            pthread_mutex_unlock(&p->lock);
            return MSB_OK;
        }
        if (p->open < p->size) {
            p->open++;
            pthread_mutex_unlock(&p->lock);
            return connect_new(p, false, out, err);
        }
        if (!wait_idle_locked(p)) {
            pthread_mutex_unlock(&p->lock);
            return msb__err(err, MSB_EBUSY, "redis: all %zu connections busy", p->size);
        }
    }
}

void msb__redis_pool_put(msb__redis_pool_t *p, redisContext *c, bool broken, const msb_error_t *why)
{
    pthread_mutex_lock(&p->lock);
    if (broken) {
        redisFree(c);
        p->open--;
        failed_locked(p, why);
    } else if (p->down) {
        /* another connection failed meanwhile: this one leads to the same server */
        redisFree(c);
        p->open--;
    } else {
        p->idle[p->nidle++] = c;
    }
    pthread_cond_signal(&p->idle_cv);
    pthread_mutex_unlock(&p->lock);
}

bool msb__redis_pool_up(msb__redis_pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    bool up = !p->down;
    pthread_mutex_unlock(&p->lock);
    return up;
}

int64_t msb__redis_pool_retry_in(msb__redis_pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    uint64_t now = msb_clock_monotonic_ns(p->clock);
    int64_t in = p->down && p->backoff.next_at > now ? (int64_t)(p->backoff.next_at - now) : 0;
    pthread_mutex_unlock(&p->lock);
    return in;
}
