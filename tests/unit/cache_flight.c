/* Single-flight: 1000 concurrent misses on one key cause exactly one load, for threads and on an
 * event loop; failures are shared; a loop handle freed mid-load cancels its waiters. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <event2/event.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "msb/cache_loop.h"

#define CALLERS 1000

typedef struct stampede {
    msb_cache_t *cache;
    atomic_int loads;
    msb_status_t answer;
    pthread_barrier_t start;
    atomic_int ok;
    atomic_int failed;
} stampede_t;

static msb_status_t slow_load(void *user, const void *key, size_t key_len, msb_cache_fill_t *fill,
                              msb_error_t *err)
{
    stampede_t *s = user;
    (void)key;
    (void)key_len;
    atomic_fetch_add(&s->loads, 1);
    /* Hold the load until every other caller is waiting for it. */
    for (;;) {
        msb_cache_stats_t st;
        msb_cache_stats(s->cache, &st);
        if (st.coalesced == CALLERS - 1) {
            break;
        }
        sched_yield();
    }
    if (s->answer != MSB_OK) {
        err->code = s->answer;
        snprintf(err->message, sizeof(err->message), "primary is down");
        return s->answer;
    }
    return msb_cache_fill_value(fill, "loaded", 6);
}

static void *caller(void *arg)
{
    stampede_t *s = arg;
    pthread_barrier_wait(&s->start);
    msb_cache_value_t *v = NULL;
    msb_error_t err;
    msb_status_t rc = msb_cache_get_or_load(s->cache, "hot", 3, slow_load, s, &v, &err);
    if (rc == MSB_OK && msb_cache_value_len(v) == 6 &&
        memcmp(msb_cache_value_data(v), "loaded", 6) == 0) {
        atomic_fetch_add(&s->ok, 1);
    } else if (rc == MSB_EUNAVAIL && strcmp(err.message, "primary is down") == 0) {
        atomic_fetch_add(&s->failed, 1);
    }
    msb_cache_value_release(v);
    return NULL;
}

static void run_stampede(msb_status_t answer)
{
    stampede_t s;
    memset(&s, 0, sizeof(s));
    s.answer = answer;
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    cr_assert_eq(msb_cache_new(&o, &s.cache, NULL), MSB_OK);
    pthread_barrier_init(&s.start, NULL, CALLERS);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    static pthread_t th[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        cr_assert_eq(pthread_create(&th[i], &attr, caller, &s), 0);
    }
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(th[i], NULL);
    }
    pthread_attr_destroy(&attr);
    pthread_barrier_destroy(&s.start);
    cr_assert_eq(atomic_load(&s.loads), 1, "exactly one load for %d misses", CALLERS);
    msb_cache_stats_t st;
    msb_cache_stats(s.cache, &st);
    cr_assert_eq(st.coalesced, CALLERS - 1);
    if (answer == MSB_OK) {
        cr_assert_eq(atomic_load(&s.ok), CALLERS);
    } else {
        cr_assert_eq(atomic_load(&s.failed), CALLERS, "every waiter gets the leader's error");
        cr_assert_eq(st.load_errors, 1);
    }
    msb_cache_free(s.cache);
}

Test(cache_flight, thousand_threads_one_load, .timeout = 120)
{
    run_stampede(MSB_OK);
}

Test(cache_flight, thousand_threads_share_one_failure, .timeout = 120)
{
    run_stampede(MSB_EUNAVAIL);
}

/* ---- on an event loop ------------------------------------------------------------------- */

typedef struct loop_stampede {
    struct event_base *base;
    struct event *later;
    msb_cache_fill_t *pending;
    int loads;
    int ok;
    int notfound;
    int canceled;
    msb_status_t answer;
} loop_stampede_t;

static void finish_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    loop_stampede_t *s = arg;
    msb_cache_fill_t *f = s->pending;
    s->pending = NULL;
    if (s->answer == MSB_OK) {
        cr_assert_eq(msb_cache_fill_value(f, "async", 5), MSB_OK);
    }
    msb_cache_fill_done(f, s->answer, NULL);
}

static void async_load(void *user, const void *key, size_t key_len, msb_cache_fill_t *fill)
{
    loop_stampede_t *s = user;
    cr_assert_eq(key_len, 3);
    cr_assert_eq(memcmp(key, "hot", 3), 0);
    s->loads++;
    s->pending = fill;
    if (s->later != NULL) {
        struct timeval tv = {0, 1000};
        evtimer_add(s->later, &tv);
    }
}

static void got(msb_status_t status, msb_cache_value_t *value, const msb_error_t *err, void *user)
{
    loop_stampede_t *s = user;
    if (status == MSB_OK && msb_cache_value_len(value) == 5 &&
        memcmp(msb_cache_value_data(value), "async", 5) == 0) {
        s->ok++;
    } else if (status == MSB_ENOTFOUND && err == NULL) {
        s->notfound++;
    } else if (status == MSB_ECANCELED && err != NULL) {
        s->canceled++;
    }
}

Test(cache_flight, thousand_loop_requests_one_load)
{
    loop_stampede_t s;
    memset(&s, 0, sizeof(s));
    s.answer = MSB_OK;
    s.base = event_base_new();
    s.later = evtimer_new(s.base, finish_later, &s);
    msb_cache_t *c = NULL;
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    cr_assert_eq(msb_cache_new(&o, &c, NULL), MSB_OK);
    msb_cache_loop_t *l = NULL;
    cr_assert_eq(msb_cache_loop_new(c, s.base, &l, NULL), MSB_OK);
    for (int i = 0; i < CALLERS; i++) {
        cr_assert_eq(msb_cache_loop_get_or_load(l, "hot", 3, async_load, &s, got, &s, NULL),
                     MSB_OK);
    }
    cr_assert_eq(s.ok, 0, "callbacks never run inside the call");
    event_base_dispatch(s.base);
    cr_assert_eq(s.loads, 1);
    cr_assert_eq(s.ok, CALLERS);
    /* Now cached: a new request is answered without a load. */
    cr_assert_eq(msb_cache_loop_get_or_load(l, "hot", 3, async_load, &s, got, &s, NULL), MSB_OK);
    event_base_dispatch(s.base);
    cr_assert_eq(s.loads, 1);
    cr_assert_eq(s.ok, CALLERS + 1);
    msb_cache_stats_t st;
    msb_cache_stats(c, &st);
    cr_assert_eq(st.coalesced, CALLERS - 1);
    msb_cache_loop_free(l);
    event_free(s.later);
    msb_cache_free(c);
    event_base_free(s.base);
}

Test(cache_flight, loop_not_found_and_negative_cache)
{
    loop_stampede_t s;
    memset(&s, 0, sizeof(s));
    s.answer = MSB_ENOTFOUND;
    s.base = event_base_new();
    s.later = evtimer_new(s.base, finish_later, &s);
    msb_cache_t *c = NULL;
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.negative_ttl_ns = 60 * MSB_SEC;
    cr_assert_eq(msb_cache_new(&o, &c, NULL), MSB_OK);
    msb_cache_loop_t *l = NULL;
    cr_assert_eq(msb_cache_loop_new(c, s.base, &l, NULL), MSB_OK);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(msb_cache_loop_get_or_load(l, "hot", 3, async_load, &s, got, &s, NULL),
                     MSB_OK);
    }
    event_base_dispatch(s.base);
    cr_assert_eq(msb_cache_loop_get_or_load(l, "hot", 3, async_load, &s, got, &s, NULL), MSB_OK);
    event_base_dispatch(s.base);
    cr_assert_eq(s.loads, 1);
    cr_assert_eq(s.notfound, 11);
    msb_cache_loop_free(l);
    event_free(s.later);
    msb_cache_free(c);
    event_base_free(s.base);
}

Test(cache_flight, loop_freed_mid_load_cancels_waiters)
{
    loop_stampede_t s;
    memset(&s, 0, sizeof(s));
    s.answer = MSB_OK;
    s.base = event_base_new();
    msb_cache_t *c = NULL;
    cr_assert_eq(msb_cache_new(NULL, &c, NULL), MSB_OK);
    msb_cache_loop_t *l = NULL;
    cr_assert_eq(msb_cache_loop_new(c, s.base, &l, NULL), MSB_OK);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(msb_cache_loop_get_or_load(l, "hot", 3, async_load, &s, got, &s, NULL),
                     MSB_OK);
    }
    cr_assert_not_null(s.pending);
    msb_cache_loop_free(l);
    cr_assert_eq(s.canceled, 5, "waiters complete inside the free, with MSB_ECANCELED");
    /* The loader finishes after the handle is gone: nothing breaks, nothing leaks. */
    cr_assert_eq(msb_cache_fill_value(s.pending, "async", 5), MSB_OK);
    msb_cache_fill_done(s.pending, MSB_OK, NULL);
    msb_cache_free(c);
    event_base_free(s.base);
}

static void on_get(msb_status_t status, msb_cache_value_t *value, const msb_error_t *err,
                   void *user)
{
    (void)err;
    int *n = user;
    if (status == MSB_OK && strcmp(msb_cache_value_data(value), "v") == 0) {
        n[0]++;
    } else if (status == MSB_ENOTFOUND) {
        n[1]++;
    }
}

static void on_done(msb_status_t status, const msb_error_t *err, void *user)
{
    (void)err;
    int *n = user;
    if (status == MSB_OK) {
        n[2]++;
    }
}

Test(cache_flight, loop_get_set_delete_in_process)
{
    struct event_base *base = event_base_new();
    msb_cache_t *c = NULL;
    cr_assert_eq(msb_cache_new(NULL, &c, NULL), MSB_OK);
    msb_cache_loop_t *l = NULL;
    cr_assert_eq(msb_cache_loop_new(c, base, &l, NULL), MSB_OK);
    int n[3] = {0, 0, 0};
    cr_assert_eq(msb_cache_loop_set(l, "k", 1, "v", 1, 0, on_done, n, NULL), MSB_OK);
    cr_assert_eq(msb_cache_loop_get(l, "k", 1, on_get, n, NULL), MSB_OK);
    cr_assert_eq(msb_cache_loop_delete(l, "k", 1, on_done, n, NULL), MSB_OK);
    cr_assert_eq(msb_cache_loop_get(l, "k", 1, on_get, n, NULL), MSB_OK);
    cr_assert_eq(msb_cache_loop_set(l, "k2", 2, "v", 1, 0, NULL, NULL, NULL), MSB_OK);
    event_base_dispatch(base);
    cr_assert_eq(n[0], 1);
    cr_assert_eq(n[1], 1);
    cr_assert_eq(n[2], 2);
    msb_error_t err;
    cr_assert_eq(msb_cache_loop_get(l, "", 0, on_get, n, &err), MSB_EINVAL);
    cr_assert_eq(msb_cache_loop_get_or_load(l, "k", 1, NULL, NULL, on_get, n, &err), MSB_EINVAL);
    cr_assert_eq(msb_cache_loop_new(c, NULL, &l, &err), MSB_EINVAL);
    msb_cache_loop_free(l);
    msb_cache_loop_free(NULL);
    msb_cache_free(c);
    event_base_free(base);
}

Test(cache_flight, loop_serves_stale_while_one_refresh_runs)
{
    msb_clock_t *clk = NULL;
    cr_assert_eq(msb_clock_manual_new(0, 0, &clk), MSB_OK);
    loop_stampede_t s;
    memset(&s, 0, sizeof(s));
    s.answer = MSB_OK;
    s.base = event_base_new();
    s.later = evtimer_new(s.base, finish_later, &s);
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.clock = clk;
    o.ttl_jitter = 0;
    o.default_ttl_ns = 10 * MSB_SEC;
    o.stale_ns = 5 * MSB_SEC;
    msb_cache_t *c = NULL;
    cr_assert_eq(msb_cache_new(&o, &c, NULL), MSB_OK);
    msb_cache_loop_t *l = NULL;
    cr_assert_eq(msb_cache_loop_new(c, s.base, &l, NULL), MSB_OK);
    cr_assert_eq(msb_cache_loop_get_or_load(l, "hot", 3, async_load, &s, got, &s, NULL), MSB_OK);
    event_base_dispatch(s.base);
    cr_assert_eq(s.loads, 1);
    msb_clock_manual_advance(clk, 12 * MSB_SEC); /* stale, within the grace window */
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(msb_cache_loop_get_or_load(l, "hot", 3, async_load, &s, got, &s, NULL),
                     MSB_OK);
    }
    event_base_dispatch(s.base);
    cr_assert_eq(s.ok, 6, "stale answers at once");
    cr_assert_eq(s.loads, 2, "one refresh for five stale hits");
    msb_cache_stats_t st;
    msb_cache_stats(c, &st);
    cr_assert_eq(st.stale_hits, 5);
    cr_assert_eq(msb_cache_loop_get_or_load(l, "hot", 3, async_load, &s, got, &s, NULL), MSB_OK);
    event_base_dispatch(s.base);
    cr_assert_eq(s.loads, 2, "fresh again after the refresh");
    msb_cache_loop_free(l);
    event_free(s.later);
    msb_cache_free(c);
    event_base_free(s.base);
    msb_clock_manual_free(clk);
}
