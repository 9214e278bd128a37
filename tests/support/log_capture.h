/*
 * A callback sink for logger tests: keeps every record it receives (thread-safe), lets a test
 * wait for a number of records, hold the sink (to play a slow or stuck sink) and parse records
 * back with jansson. Header-only; include it in one test file per program.
 */
#ifndef MSB_TEST_LOG_CAPTURE_H
#define MSB_TEST_LOG_CAPTURE_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msb/log.h"

typedef struct capture {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **recs;
    size_t *lens;
    size_t n;
    size_t cap;
    int held;     /* while set, the sink waits (a stuck sink) */
    int in_sink;  /* the sink is inside a call, waiting or not */
    int bad_tail; /* a record was not followed by '\n' */
} capture_t;

static inline void capture_init(capture_t *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
}

static inline void capture_fini(capture_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->recs[i]);
    }
    free(c->recs);
    free(c->lens);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
}

static inline void capture_sink(const char *rec, size_t len, void *user)
{
    capture_t *c = user;
    pthread_mutex_lock(&c->mu);
    c->in_sink = 1;
    pthread_cond_broadcast(&c->cv);
    while (c->held) {
        pthread_cond_wait(&c->cv, &c->mu);
    }
    if (rec[len] != '\n') {
        c->bad_tail = 1;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->recs = realloc(c->recs, c->cap * sizeof(*c->recs));
        c->lens = realloc(c->lens, c->cap * sizeof(*c->lens));
    }
    c->recs[c->n] = malloc(len + 1);
    memcpy(c->recs[c->n], rec, len);
    c->recs[c->n][len] = '\0';
    c->lens[c->n] = len;
    c->n++;
    c->in_sink = 0;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static inline void capture_hold(capture_t *c, int held)
{
    pthread_mutex_lock(&c->mu);
    c->held = held;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Wait until the sink is inside a call (typically stuck on hold); fails after 10 s. */
static inline void capture_wait_in_sink(capture_t *c)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    while (!c->in_sink && rc == 0) {
        rc = pthread_cond_timedwait(&c->cv, &c->mu, &dl);
    }
    pthread_mutex_unlock(&c->mu);
    cr_assert_eq(rc, 0, "the sink was never called");
}

/* Wait until at least n records arrived; fails after 10 s. */
static inline void capture_wait(capture_t *c, size_t n)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    while (c->n < n && rc == 0) {
        rc = pthread_cond_timedwait(&c->cv, &c->mu, &dl);
    }
    size_t got = c->n;
    pthread_mutex_unlock(&c->mu);
    cr_assert_geq(got, n, "waited for %zu records, got %zu", n, got);
}

static inline size_t capture_count(capture_t *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* Record i parsed (new reference; json_decref it). Fails the test if it is not one object. */
static inline json_t *capture_json(capture_t *c, size_t i)
{
    pthread_mutex_lock(&c->mu);
    cr_assert_lt(i, c->n, "record %zu of %zu", i, c->n);
    json_error_t jerr;
    json_t *j = json_loadb(c->recs[i], c->lens[i], JSON_ALLOW_NUL, &jerr);
    cr_assert_not_null(j, "record %zu is not JSON (%s): %s", i, jerr.text, c->recs[i]);
    cr_assert(json_is_object(j));
    pthread_mutex_unlock(&c->mu);
    return j;
}

/* A callback logger writing into c; extra options may be set through *o before the call. */
static inline msb_log_t *capture_logger(capture_t *c, msb_log_opts_t *o)
{
    msb_log_opts_t def = MSB_LOG_OPTS_INIT;
    if (o == NULL) {
        o = &def;
    }
    o->sink = MSB_LOG_SINK_CALLBACK;
    o->callback = capture_sink;
    o->callback_user = c;
    if (o->service == NULL) {
        o->service = "svc";
    }
    msb_log_t *lg = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_log_new(o, &lg, &err), MSB_OK, "%s", err.message);
    return lg;
}

#endif
