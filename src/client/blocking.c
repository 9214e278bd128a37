/*
 * The blocking path: msb_client_do() runs a call on the calling thread. Transfers use slots
 * (a libcurl handle with its own connection cache) from a pool shared by the threads of one
 * client. libcurl cannot share one connection cache between threads, so the pool hands a
 * thread the slot that last talked to the same host (most recently used first): its cached
 * connection is then reused. At most `max_connections` slots exist and at most
 * `max_host_connections` are busy with one host; a thread that finds neither waits, bounded by
 * its deadline.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "client/internal.h"
#include "core/alloc.h"
#include "core/error.h"

#define POLL_NS ((uint64_t)20 * MSB_MSEC)

struct msb__slot {
    void *drv;
    char *host; /* the host of its last transfer (its cached connection) */
    msb__slot_t *next;
};

/* ---- host counts ------------------------------------------------------------------------------
 */

static msb__host_count_t *host_find(msb_client_t *cl, const char *key)
{
    for (size_t i = 0; i < cl->nhosts; i++) {
        if (strcmp(cl->hosts[i].key, key) == 0) {
            return &cl->hosts[i];
        }
    }
    return NULL;
}

static msb__host_count_t *host_add(msb_client_t *cl, const char *key)
{
    if (cl->nhosts == cl->hosts_cap) {
        size_t cap = cl->hosts_cap == 0 ? 8 : cl->hosts_cap * 2;
        msb__host_count_t *h = msb__realloc(cl->hosts, cap * sizeof(*h));
        if (h == NULL) {
            return NULL;
        }
        cl->hosts = h;
        cl->hosts_cap = cap;
    }
    char *k = msb__strdup(key);
    if (k == NULL) {
        return NULL;
    }
    msb__host_count_t *h = &cl->hosts[cl->nhosts++];
    h->key = k;
    h->in_use = 0;
    return h;
}

static void host_done(msb_client_t *cl, const char *key)
{
    msb__host_count_t *h = host_find(cl, key);
    if (h == NULL) {
        return;
    }
    if (--h->in_use == 0) {
        msb__free(h->key);
        *h = cl->hosts[--cl->nhosts];
    }
}

/* ---- slots ---------------------------------------------------------------------------------- */

/* The idle slot to use for `key`: one that last served it, else the least recently used. */
static msb__slot_t *pick_idle(msb_client_t *cl, const char *key)
{
    msb__slot_t **best = NULL;
    msb__slot_t **last = NULL;
    for (msb__slot_t **p = &cl->idle; *p != NULL; p = &(*p)->next) {
        if (best == NULL && (*p)->host != NULL && strcmp((*p)->host, key) == 0) {
            best = p;
        }
        last = p;
    }
    msb__slot_t **take = best != NULL ? best : last;
    if (take == NULL) {
        return NULL;
    }
    msb__slot_t *s = *take;
    *take = s->next;
    s->next = NULL;
    return s;
}

static bool room(msb_client_t *cl, const char *key)
{
    msb__host_count_t *h = host_find(cl, key);
    if (h != NULL && h->in_use >= cl->pool.max_host_connections) {
        return false;
    }
    return cl->idle != NULL || cl->slots < cl->pool.max_connections;
}

static struct timespec abs_after(uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t = (uint64_t)ts.tv_nsec + ns % (uint64_t)MSB_SEC;
    ts.tv_sec += (time_t)(ns / (uint64_t)MSB_SEC + t / (uint64_t)MSB_SEC);
    ts.tv_nsec = (long)(t % (uint64_t)MSB_SEC);
    return ts;
}

/* Wait for room; false on the deadline or a cancellation. Called with cl->mu held. */
static bool wait_room(msb__call_t *c, const char *key)
{
    msb_client_t *cl = c->client;
    while (!room(cl, key)) {
        uint64_t wait = POLL_NS * 50;
        if (c->deadline_ns != 0) {
            uint64_t now = msb_clock_monotonic_ns(cl->clock);
            if (now >= c->deadline_ns) {
                return false;
            }
            wait = c->deadline_ns - now < wait ? c->deadline_ns - now : wait;
        }
        if (c->cancel != NULL) {
            if (msb_retry_cancelled(c->cancel)) {
                return false;
            }
            wait = wait < POLL_NS ? wait : POLL_NS;
        }
        struct timespec until = abs_after(wait);
        pthread_cond_timedwait(&cl->cv, &cl->mu, &until);
    }
    return true;
}

static msb_status_t take_slot(msb__call_t *c, msb__slot_t **out)
{
    msb_client_t *cl = c->client;
    msb_status_t rc = MSB_OK;
    msb__slot_t *s = NULL;
    pthread_mutex_lock(&cl->mu);
    if (!wait_room(c, c->host_key)) {
        rc = MSB_ETIMEDOUT;
    }
    msb__host_count_t *h = rc == MSB_OK ? host_find(cl, c->host_key) : NULL;
    if (rc == MSB_OK && h == NULL && (h = host_add(cl, c->host_key)) == NULL) {
        rc = MSB_ENOMEM;
    }
    if (rc == MSB_OK) {
        s = pick_idle(cl, c->host_key);
        if (s == NULL) {
            cl->slots++;
        }
        h->in_use++;
    }
    pthread_mutex_unlock(&cl->mu);
    if (rc == MSB_OK && s == NULL) {
        s = msb__calloc(1, sizeof(*s));
        if (s == NULL || cl->drv->slot_new(&cl->pool, cl->share, &s->drv, NULL) != MSB_OK) {
            msb__free(s);
            s = NULL;
            pthread_mutex_lock(&cl->mu);
            cl->slots--;
            host_done(cl, c->host_key);
            pthread_cond_broadcast(&cl->cv);
            pthread_mutex_unlock(&cl->mu);
            rc = MSB_ENOMEM;
        }
    }
    *out = s;
    return rc;
}

static void give_slot(msb__call_t *c, msb__slot_t *s)
{
    msb_client_t *cl = c->client;
    size_t n = strlen(c->host_key) + 1;
    char *h = s->host;
    if (h == NULL || strlen(h) + 1 < n) {
        char *nh = msb__realloc(h, n);
        if (nh == NULL) {
            msb__free(h);
        }
        h = nh;
    }
    if (h != NULL) {
        memcpy(h, c->host_key, n);
    }
    s->host = h;
    pthread_mutex_lock(&cl->mu);
    s->next = cl->idle;
    cl->idle = s;
    host_done(cl, c->host_key);
    pthread_cond_broadcast(&cl->cv);
    pthread_mutex_unlock(&cl->mu);
}

/* ---- the call -------------------------------------------------------------------------------- */

/* Sleep `ns`, waking every 20 ms for the cancellation token; false if cancelled. */
static bool backoff(msb__call_t *c, uint64_t ns)
{
    struct timespec until = abs_after(ns);
    for (;;) {
        if (c->cancel != NULL && msb_retry_cancelled(c->cancel)) {
            return false;
        }
        struct timespec step = until;
        if (c->cancel != NULL) {
            struct timespec poll = abs_after(POLL_NS);
            if (poll.tv_sec < until.tv_sec ||
                (poll.tv_sec == until.tv_sec && poll.tv_nsec < until.tv_nsec)) {
                step = poll;
            }
        }
        int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &step, NULL);
        if (rc == 0 && step.tv_sec == until.tv_sec && step.tv_nsec == until.tv_nsec) {
            return c->cancel == NULL || !msb_retry_cancelled(c->cancel);
        }
        if (rc != 0 && rc != EINTR) {
            return true;
        }
    }
}

static void cancelled(msb__call_t *c)
{
    c->status = msb__err(&c->err, MSB_ECANCELED, "%s %.120s: cancelled", c->method, c->url_safe);
}

/* One attempt; false when the call ends here (its outcome set). */
static bool attempt(msb__call_t *c, msb__next_t *next, uint64_t *delay)
{
    msb_client_t *cl = c->client;
    msb_client_upstream_t *up = c->up;
    if (up->bulkhead != NULL) {
        uint64_t bound = UINT64_MAX;
        uint64_t t0 = msb_clock_monotonic_ns(cl->clock);
        if (c->deadline_ns != 0) {
            bound = c->deadline_ns > t0 ? c->deadline_ns - t0 : 0;
        }
        msb_status_t rc = msb_bulkhead_acquire(up->bulkhead, bound);
        if (rc != MSB_OK) {
            msb__call_place_refused(c, rc, msb_clock_monotonic_ns(cl->clock) - t0);
            return false;
        }
        c->has_place = true;
    }
    msb__slot_t *slot = NULL;
    msb_status_t rc = take_slot(c, &slot);
    if (rc != MSB_OK) {
        msb__call_release_place(c);
        if (c->cancel != NULL && msb_retry_cancelled(c->cancel)) {
            cancelled(c);
        } else if (!msb__call_expired(c) || c->attempt == 0) {
            c->status = msb__err(&c->err, rc, "%s %.120s: %s", c->method, c->url_safe,
                                 rc == MSB_ENOMEM ? "out of memory for a connection slot"
                                                  : "no free connection before the deadline");
        }
        return false;
    }
    if (msb__call_attempt_begin(c) != MSB_OK) {
        give_slot(c, slot);
        return false;
    }
    msb__client_result_t res;
    msb_error_t e = MSB_ERROR_INIT;
    rc = cl->drv->slot_perform(slot->drv, &c->xfer, &res, &e);
    give_slot(c, slot);
    if (rc != MSB_OK) {
        msb__call_attempt_abandon(c);
        c->status = msb__err(&c->err, rc, "%s %.120s: %s", c->method, c->url_safe, e.message);
        return false;
    }
    *next = msb__call_attempt_end(c, &res, delay);
    return true;
}

msb_status_t msb_client_do(msb_client_t *cl, const msb_client_req_t *req,
                           msb_client_response_t **resp, msb_error_t *err)
{
    if (cl == NULL || resp == NULL) {
        return msb__err(err, MSB_EINVAL, "client: %s must not be NULL",
                        cl == NULL ? "client" : "resp");
    }
    *resp = NULL;
    if (cl->base != NULL) {
        return msb__err(err, MSB_EINVAL,
                        "client: msb_client_do() needs a blocking client; this one runs on an "
                        "event loop: use msb_client_send()");
    }
    msb__call_t c;
    msb_status_t rc = msb__call_init(&c, cl, req, false, err);
    if (rc != MSB_OK) {
        msb__call_cleanup(&c);
        return rc;
    }
    for (;;) {
        if (c.cancel != NULL && msb_retry_cancelled(c.cancel)) {
            cancelled(&c);
            break;
        }
        if (msb__call_expired(&c)) {
            break;
        }
        msb__next_t next = MSB__NEXT_FINISH;
        uint64_t delay = 0;
        if (!attempt(&c, &next, &delay) || next == MSB__NEXT_FINISH) {
            break;
        }
        if (!backoff(&c, delay)) {
            cancelled(&c);
            break;
        }
    }
    rc = msb__call_finish(&c, resp, err);
    msb__call_cleanup(&c);
    return rc;
}

/* ---- set-up ---------------------------------------------------------------------------------- */

msb_status_t msb__client_blocking_init(msb_client_t *cl, msb_error_t *err)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0) {
        return msb__err_nomem(err, "a client");
    }
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int prc = pthread_cond_init(&cl->cv, &a);
    pthread_condattr_destroy(&a);
    if (prc != 0) {
        return msb__err_nomem(err, "a client");
    }
    if (pthread_mutex_init(&cl->mu, NULL) != 0) {
        pthread_cond_destroy(&cl->cv);
        return msb__err_nomem(err, "a client");
    }
    msb_status_t rc = cl->drv->share_new(&cl->share, err);
    if (rc != MSB_OK) {
        pthread_mutex_destroy(&cl->mu);
        pthread_cond_destroy(&cl->cv);
    }
    return rc;
}

void msb__client_blocking_fini(msb_client_t *cl)
{
    while (cl->idle != NULL) {
        msb__slot_t *s = cl->idle;
        cl->idle = s->next;
        cl->drv->slot_free(s->drv);
        msb__free(s->host);
        msb__free(s);
    }
    for (size_t i = 0; i < cl->nhosts; i++) {
        msb__free(cl->hosts[i].key);
    }
    msb__free(cl->hosts);
    cl->drv->share_free(cl->share);
    pthread_mutex_destroy(&cl->mu);
    pthread_cond_destroy(&cl->cv);
}
