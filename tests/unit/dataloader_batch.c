/*
 * The batch loader with a counting fake batch function (standing in for one
 * `WHERE id = ANY($1)` query): N+1 requests become one batch call per loop iteration, keys are
 * deduplicated, max_batch splits, results are remembered, failures reach each requester, and the
 * blocking mode batches across threads.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "msb/dataloader.h"

typedef struct fake_db {
    int calls;        /* "queries" */
    size_t keys_seen; /* keys across every call */
    size_t biggest;   /* most keys in one call */
    bool fail_batch;  /* the whole query fails */
    bool later;       /* answer from a timer, not inside the batch call */
    struct event *timer;
    msb_dataloader_batch_t *held;
    pthread_mutex_t mu;
} fake_db_t;

/* Rows exist for keys "u<N>" with N even: the value is "user N". Key "bad" fails alone. */
static void answer(fake_db_t *db, msb_dataloader_batch_t *b)
{
    if (db->fail_batch) {
        msb_error_t e = {MSB_EUNAVAIL, "db: connection refused"};
        msb_dataloader_batch_done(b, MSB_EUNAVAIL, &e);
        return;
    }
    for (size_t i = 0; i < msb_dataloader_batch_size(b); i++) {
        size_t len = 0;
        const char *k = msb_dataloader_batch_key(b, i, &len);
        int n = 0;
        if (strcmp(k, "bad") == 0) {
            msb_error_t e = {MSB_EPROTO, "db: row 'bad' is corrupt"};
            cr_assert_eq(msb_dataloader_batch_fail(b, i, MSB_EPROTO, &e), MSB_OK);
        } else if (sscanf(k, "u%d", &n) == 1 && n % 2 == 0) {
            char v[32];
            int vl = snprintf(v, sizeof(v), "user %d", n);
            cr_assert_eq(msb_dataloader_batch_set(b, i, v, (size_t)vl), MSB_OK);
        }
    }
    msb_dataloader_batch_done(b, MSB_OK, NULL);
}

static void batch_fn(void *user, msb_dataloader_batch_t *b)
{
    fake_db_t *db = user;
    pthread_mutex_lock(&db->mu);
    db->calls++;
    db->keys_seen += msb_dataloader_batch_size(b);
    if (msb_dataloader_batch_size(b) > db->biggest) {
        db->biggest = msb_dataloader_batch_size(b);
    }
    pthread_mutex_unlock(&db->mu);
    if (db->later) {
        db->held = b;
        struct timeval tv = {0, 1000};
        evtimer_add(db->timer, &tv);
        return;
    }
    answer(db, b);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fake_db_t *db = arg;
    answer(db, db->held);
}

typedef struct result {
    int ok;
    int notfound;
    int failed;
    int canceled;
    char last[300];
} result_t;

static void on_load(msb_status_t status, msb_cache_value_t *value, const msb_error_t *err,
                    void *user)
{
    result_t *r = user;
    if (status == MSB_OK) {
        r->ok++;
        snprintf(r->last, sizeof(r->last), "%s", (const char *)msb_cache_value_data(value));
    } else if (status == MSB_ENOTFOUND) {
        r->notfound++;
    } else if (status == MSB_ECANCELED) {
        r->canceled++;
    } else {
        r->failed++;
        cr_assert_not_null(err);
        snprintf(r->last, sizeof(r->last), "%s", err->message);
    }
}

static struct event_base *base;
static fake_db_t db;

static void setup(void)
{
    base = event_base_new();
    memset(&db, 0, sizeof(db));
    pthread_mutex_init(&db.mu, NULL);
    db.timer = evtimer_new(base, on_timer, &db);
}

static void teardown(void)
{
    event_free(db.timer);
    event_base_free(base);
    pthread_mutex_destroy(&db.mu);
}

TestSuite(dataloader_batch, .init = setup, .fini = teardown);

static msb_dataloader_t *loop_loader(size_t max_batch, bool cache)
{
    msb_dataloader_opts_t o = MSB_DATALOADER_OPTS_INIT;
    o.batch = batch_fn;
    o.user = &db;
    o.base = base;
    o.max_batch = max_batch;
    o.cache = cache;
    msb_dataloader_t *dl = NULL;
    cr_assert_eq(msb_dataloader_new(&o, &dl, NULL), MSB_OK);
    return dl;
}

static void load(msb_dataloader_t *dl, const char *k, result_t *r)
{
    cr_assert_eq(msb_dataloader_load(dl, k, strlen(k), on_load, r, NULL), MSB_OK);
}

Test(dataloader_batch, n_plus_one_becomes_one_query)
{
    msb_dataloader_t *dl = loop_loader(100, true);
    result_t r = {0};
    char k[16];
    for (int i = 0; i < 100; i++) { /* 100 orders, 30 distinct users */
        snprintf(k, sizeof(k), "u%d", i % 30);
        load(dl, k, &r);
    }
    cr_assert_eq(db.calls, 0, "nothing is sent inside the iteration");
    event_base_loop(base, EVLOOP_NONBLOCK);
    event_base_dispatch(base);
    cr_assert_eq(db.calls, 1, "one query for the iteration");
    cr_assert_eq(db.keys_seen, 30, "deduplicated");
    cr_assert_eq(r.ok + r.notfound, 100);
    cr_assert_eq(r.ok, 50, "15 even users, asked 100/30 times each");
    msb_dataloader_stats_t s;
    msb_dataloader_stats(dl, &s);
    cr_assert_eq(s.batches, 1);
    cr_assert_eq(s.keys, 30);
    cr_assert_eq(s.loads, 100);
    cr_assert_eq(s.deduped, 70);
    msb_dataloader_free(dl);
}

Test(dataloader_batch, max_batch_splits_and_memo_skips_the_second_round)
{
    msb_dataloader_t *dl = loop_loader(100, true);
    result_t r = {0};
    char k[16];
    for (int i = 0; i < 250; i++) {
        snprintf(k, sizeof(k), "u%d", i);
        load(dl, k, &r);
    }
    event_base_dispatch(base);
    cr_assert_eq(db.calls, 3);
    cr_assert_eq(db.biggest, 100);
    cr_assert_eq(r.ok, 125);
    for (int i = 0; i < 250; i++) {
        snprintf(k, sizeof(k), "u%d", i);
        load(dl, k, &r);
    }
    event_base_dispatch(base);
    cr_assert_eq(db.calls, 3, "remembered: no new query");
    cr_assert_eq(r.ok, 250);
    msb_dataloader_clear(dl, "u2", 2);
    load(dl, "u2", &r);
    event_base_dispatch(base);
    cr_assert_eq(db.calls, 4, "a cleared key is fetched again");
    cr_assert_eq(db.keys_seen, 251);
    msb_dataloader_clear_all(dl);
    load(dl, "u4", &r);
    event_base_dispatch(base);
    cr_assert_eq(db.calls, 5);
    msb_dataloader_free(dl);
}

Test(dataloader_batch, without_cache_each_iteration_queries_again)
{
    msb_dataloader_t *dl = loop_loader(100, false);
    result_t r = {0};
    load(dl, "u2", &r);
    load(dl, "u2", &r);
    event_base_dispatch(base);
    load(dl, "u2", &r);
    event_base_dispatch(base);
    cr_assert_eq(db.calls, 2);
    cr_assert_eq(db.keys_seen, 2, "still deduplicated within a batch");
    cr_assert_eq(r.ok, 3);
    cr_assert_str_eq(r.last, "user 2");
    msb_dataloader_free(dl);
}

Test(dataloader_batch, separate_iterations_make_separate_batches)
{
    msb_dataloader_t *dl = loop_loader(100, true);
    result_t r = {0};
    load(dl, "u2", &r);
    event_base_dispatch(base);
    load(dl, "u4", &r);
    load(dl, "u6", &r);
    event_base_dispatch(base);
    cr_assert_eq(db.calls, 2);
    cr_assert_eq(r.ok, 3);
    msb_dataloader_free(dl);
}

Test(dataloader_batch, failures_per_key_and_per_batch)
{
    msb_dataloader_t *dl = loop_loader(100, true);
    result_t r = {0};
    load(dl, "bad", &r);
    load(dl, "u2", &r);
    event_base_dispatch(base);
    cr_assert_eq(r.failed, 1);
    cr_assert_eq(r.ok, 1);
    db.fail_batch = true;
    result_t r2 = {0};
    load(dl, "u8", &r2);
    load(dl, "u9", &r2);
    event_base_dispatch(base);
    cr_assert_eq(r2.failed, 2);
    cr_assert_str_eq(r2.last, "db: connection refused");
    msb_dataloader_free(dl);
}

Test(dataloader_batch, asynchronous_batch_and_free_cancels_waiters)
{
    db.later = true;
    msb_dataloader_t *dl = loop_loader(100, true);
    result_t r = {0};
    load(dl, "u2", &r);
    load(dl, "u3", &r);
    event_base_dispatch(base);
    cr_assert_eq(db.calls, 1);
    cr_assert_eq(r.ok, 1);
    cr_assert_eq(r.notfound, 1);
    result_t r2 = {0};
    load(dl, "u10", &r2);
    msb_dataloader_free(dl); /* never dispatched */
    cr_assert_eq(r2.canceled, 1);
}

Test(dataloader_batch, prime_and_explicit_dispatch_and_bad_input)
{
    msb_dataloader_t *dl = loop_loader(100, true);
    cr_assert_eq(msb_dataloader_prime(dl, "u7", 2, "primed", 6), MSB_OK);
    result_t r = {0};
    load(dl, "u7", &r);
    load(dl, "u2", &r);
    msb_dataloader_dispatch(dl);
    cr_assert_eq(db.calls, 1, "dispatched at once");
    event_base_dispatch(base);
    cr_assert_eq(db.keys_seen, 1, "the primed key was not fetched");
    cr_assert_eq(r.ok, 2);
    msb_error_t err;
    cr_assert_eq(msb_dataloader_load(dl, "", 0, on_load, &r, &err), MSB_EINVAL);
    cr_assert_eq(msb_dataloader_load(dl, "k", 1, NULL, &r, &err), MSB_EINVAL);
    msb_cache_value_t *v = NULL;
    cr_assert_eq(msb_dataloader_load_wait(dl, "k", 1, &v, &err), MSB_EINVAL,
                 "blocking call on a loop-mode loader");
    msb_dataloader_free(dl);
    msb_dataloader_opts_t o = MSB_DATALOADER_OPTS_INIT;
    cr_assert_eq(msb_dataloader_new(&o, &dl, &err), MSB_EINVAL, "no batch function");
    o.batch = batch_fn;
    o.max_batch = 0;
    cr_assert_eq(msb_dataloader_new(&o, &dl, &err), MSB_EINVAL);
    cr_assert(strstr(err.message, "max_batch") != NULL);
    msb_dataloader_free(NULL);
}

/* ---- blocking mode ------------------------------------------------------------------------ */

static msb_dataloader_t *blocking_loader(size_t max_batch, int64_t window)
{
    msb_dataloader_opts_t o = MSB_DATALOADER_OPTS_INIT;
    o.batch = batch_fn;
    o.user = &db;
    o.max_batch = max_batch;
    o.window_ns = window;
    msb_dataloader_t *dl = NULL;
    cr_assert_eq(msb_dataloader_new(&o, &dl, NULL), MSB_OK);
    return dl;
}

Test(dataloader_batch, load_many_is_one_query)
{
    msb_dataloader_t *dl = blocking_loader(100, 0);
    const void *keys[] = {"u2", "u3", "u2", "bad", "u4"};
    size_t lens[] = {2, 2, 2, 3, 2};
    msb_cache_value_t *out[5];
    msb_status_t st[5];
    msb_error_t err;
    cr_assert_eq(msb_dataloader_load_many(dl, 5, keys, lens, out, st, &err), MSB_EPROTO);
    cr_assert_str_eq(err.message, "db: row 'bad' is corrupt");
    cr_assert_eq(db.calls, 1);
    cr_assert_eq(db.keys_seen, 4);
    cr_assert_eq(st[0], MSB_OK);
    cr_assert_str_eq(msb_cache_value_data(out[0]), "user 2");
    cr_assert_eq(st[1], MSB_ENOTFOUND);
    cr_assert_null(out[1]);
    cr_assert_eq(st[2], MSB_OK);
    cr_assert_eq(st[3], MSB_EPROTO);
    cr_assert_eq(st[4], MSB_OK);
    for (int i = 0; i < 5; i++) {
        msb_cache_value_release(out[i]);
    }
    msb_dataloader_free(dl);
}

typedef struct worker {
    msb_dataloader_t *dl;
    int n;
    pthread_barrier_t *go;
    msb_status_t rc;
    char got[32];
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    char k[16];
    snprintf(k, sizeof(k), "u%d", w->n);
    pthread_barrier_wait(w->go);
    msb_cache_value_t *v = NULL;
    w->rc = msb_dataloader_load_wait(w->dl, k, strlen(k), &v, NULL);
    if (w->rc == MSB_OK) {
        snprintf(w->got, sizeof(w->got), "%s", (const char *)msb_cache_value_data(v));
    }
    msb_cache_value_release(v);
    return NULL;
}

Test(dataloader_batch, threads_within_a_window_share_one_query)
{
    enum { T = 8 };
    /* The batch goes when the 8th key arrives (max_batch), long before the window ends. */
    msb_dataloader_t *dl = blocking_loader(T, 60 * MSB_SEC);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, T);
    pthread_t th[T];
    worker_t w[T];
    for (int i = 0; i < T; i++) {
        w[i] = (worker_t){dl, i * 2, &go, MSB_EINTERNAL, ""};
        pthread_create(&th[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(w[i].rc, MSB_OK);
        char want[32];
        snprintf(want, sizeof(want), "user %d", i * 2);
        cr_assert_str_eq(w[i].got, want);
    }
    pthread_barrier_destroy(&go);
    cr_assert_eq(db.calls, 1);
    cr_assert_eq(db.keys_seen, T);
    msb_dataloader_free(dl);
}

Test(dataloader_batch, a_lone_key_goes_when_its_window_ends)
{
    msb_dataloader_t *dl = blocking_loader(100, 2 * 1000000);
    msb_cache_value_t *v = NULL;
    cr_assert_eq(msb_dataloader_load_wait(dl, "u6", 2, &v, NULL), MSB_OK);
    cr_assert_str_eq(msb_cache_value_data(v), "user 6");
    msb_cache_value_release(v);
    cr_assert_eq(msb_dataloader_load_wait(dl, "u6", 2, &v, NULL), MSB_OK);
    msb_cache_value_release(v);
    cr_assert_eq(db.calls, 1);
    cr_assert_eq(msb_dataloader_load_wait(dl, "u5", 2, &v, NULL), MSB_ENOTFOUND);
    msb_dataloader_free(dl);
}
