// msb-test: backends redis
/*
 * The Redis and two-tier caches against the real Redis of scripts/infra (MSB_REDIS__URL,
 * default redis://127.0.0.1:56379/0): values, TTLs and the header as Redis stores them,
 * pipelined multi-key calls, L1 invalidation seen by a SECOND PROCESS with its own L1,
 * cache-aside with one load for many threads, and the asynchronous API on a loop.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "integration/harness.h"
#include "msb/cache_loop.h"
#include "redis/redis.h"

static char prefix[96];
static char channel[128];

static const char *env_url(void)
{
    return msb_it_env("MSB_REDIS__URL", "redis://127.0.0.1:56379/0");
}

static redisContext *direct(void)
{
    msb__redis_url_t u;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb__redis_url_parse(env_url(), &u, &err), MSB_OK, "MSB_REDIS__URL: %s",
                 err.message);
    msb__redis_timeouts_t t = {2 * MSB_SEC, 2 * MSB_SEC};
    redisContext *c = NULL;
    if (msb__redis_connect(&u, &t, &c, &err) != MSB_OK) {
        cr_assert_fail("Redis (%s) is unreachable: %s. Start it with scripts/infra up redis; its "
                       "log: scripts/infra logs redis",
                       env_url(), err.message);
    }
    return c;
}

static void setup(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(prefix, sizeof(prefix), "msbtest:cache:%d:%ld:", (int)getpid(), (long)ts.tv_nsec);
    snprintf(channel, sizeof(channel), "%sinval", prefix);
    redisFree(direct());
}

TestSuite(redis_cache, .init = setup, .timeout = 60);

static msb_cache_t *make(bool two_tier)
{
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.url = env_url();
    o.two_tier = two_tier;
    o.prefix = prefix;
    o.channel = channel;
    o.ttl_jitter = 0;
    o.timeout_ns = 2 * MSB_SEC;
    msb_cache_t *c = NULL;
    msb_error_t err;
    cr_assert_eq(msb_cache_new(&o, &c, &err), MSB_OK, "%s", err.message);
    return c;
}

/* Wait (bounded) until the two-tier cache's subscriber is connected. */
static bool subscribed(msb_cache_t *c)
{
    for (int i = 0; i < 5000; i++) {
        msb_cache_stats_t s;
        msb_cache_stats(c, &s);
        if (s.subscriber_connects > 0) {
            return true;
        }
        poll(NULL, 0, 1);
    }
    return false;
}

static redisReply *cmd(redisContext *r, const char *fmt, const char *arg)
{
    redisReply *rep = redisCommand(r, fmt, arg);
    cr_assert_not_null(rep);
    return rep;
}

static char *key_of(char *buf, size_t size, const char *k)
{
    snprintf(buf, size, "%s%s", prefix, k);
    return buf;
}

Test(redis_cache, set_get_delete_and_what_redis_stores)
{
    msb_cache_t *c = make(false);
    msb_error_t err;
    cr_assert_eq(msb_cache_set(c, "k", 1, "hello", 5, 30 * MSB_SEC, &err), MSB_OK, "%s",
                 err.message);
    msb_cache_value_t *v = NULL;
    cr_assert_eq(msb_cache_get(c, "k", 1, &v, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_cache_value_len(v), 5);
    cr_assert_str_eq(msb_cache_value_data(v), "hello");
    msb_cache_value_release(v);

    redisContext *r = direct();
    char k[160];
    redisReply *rep = cmd(r, "PTTL %s", key_of(k, sizeof(k), "k"));
    cr_assert(rep->integer > 29000 && rep->integer <= 30000, "PX set: %lld", rep->integer);
    freeReplyObject(rep);
    rep = cmd(r, "GET %s", k);
    cr_assert_eq(rep->type, REDIS_REPLY_STRING);
    cr_assert_eq(rep->len, 10 + 5, "a 10-byte header, then the value");
    cr_assert_eq((unsigned char)rep->str[0], 0xC1);
    cr_assert_eq(memcmp(rep->str + 10, "hello", 5), 0);
    freeReplyObject(rep);

    cr_assert_eq(msb_cache_delete(c, "k", 1, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_cache_get(c, "k", 1, &v, &err), MSB_ENOTFOUND);
    rep = cmd(r, "EXISTS %s", k);
    cr_assert_eq(rep->integer, 0);
    freeReplyObject(rep);

    /* A plain value written by another program reads as it is. */
    rep = redisCommand(r, "SET %s%s plain", prefix, "foreign");
    freeReplyObject(rep);
    cr_assert_eq(msb_cache_get(c, "foreign", 7, &v, &err), MSB_OK);
    cr_assert_str_eq(msb_cache_value_data(v), "plain");
    msb_cache_value_release(v);

    /* Binary keys and values, and an empty value. */
    const char bk[] = {'b', 0, 'k'};
    const char bv[] = {0, 1, 2, (char)0xC1};
    cr_assert_eq(msb_cache_set(c, bk, 3, bv, 4, MSB_CACHE_TTL_NONE, &err), MSB_OK);
    cr_assert_eq(msb_cache_get(c, bk, 3, &v, &err), MSB_OK);
    cr_assert_eq(msb_cache_value_len(v), 4);
    cr_assert_eq(memcmp(msb_cache_value_data(v), bv, 4), 0);
    msb_cache_value_release(v);
    cr_assert_eq(msb_cache_set(c, "e", 1, "", 0, 0, &err), MSB_OK);
    cr_assert_eq(msb_cache_get(c, "e", 1, &v, &err), MSB_OK);
    cr_assert_eq(msb_cache_value_len(v), 0);
    msb_cache_value_release(v);
    redisFree(r);
    msb_cache_free(c);
}

Test(redis_cache, pipelined_many)
{
    msb_cache_t *c = make(false);
    enum { N = 200 };
    static char kbuf[N][24];
    static char vbuf[N][24];
    const void *keys[N];
    const void *vals[N];
    size_t klens[N];
    size_t vlens[N];
    for (int i = 0; i < N; i++) {
        snprintf(kbuf[i], sizeof(kbuf[i]), "m%d", i);
        snprintf(vbuf[i], sizeof(vbuf[i]), "value-%d", i);
        keys[i] = kbuf[i];
        vals[i] = vbuf[i];
        klens[i] = strlen(kbuf[i]);
        vlens[i] = strlen(vbuf[i]);
    }
    msb_error_t err;
    cr_assert_eq(msb_cache_set_many(c, N / 2, keys, klens, vals, vlens, 60 * MSB_SEC, &err), MSB_OK,
                 "%s", err.message);
    static msb_cache_value_t *out[N];
    cr_assert_eq(msb_cache_get_many(c, N, keys, klens, out, &err), MSB_OK, "%s", err.message);
    for (int i = 0; i < N; i++) {
        if (i < N / 2) {
            cr_assert_not_null(out[i], "key %d", i);
            cr_assert_str_eq(msb_cache_value_data(out[i]), vbuf[i]);
        } else {
            cr_assert_null(out[i], "key %d was never set", i);
        }
        msb_cache_value_release(out[i]);
    }
    msb_cache_stats_t s;
    msb_cache_stats(c, &s);
    cr_assert_eq(s.l2_hits, N / 2);
    cr_assert_eq(s.misses, N / 2);
    cr_assert_eq(s.sets, N / 2);
    msb_cache_free(c);
}

Test(redis_cache, unreachable_server_fails_fast_with_its_address)
{
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.url = "redis://127.0.0.1:1/0";
    o.connect_timeout_ns = 200 * INT64_C(1000000);
    msb_cache_t *c = NULL;
    cr_assert_eq(msb_cache_new(&o, &c, NULL), MSB_OK, "connections are made on first use");
    msb_cache_value_t *v = NULL;
    msb_error_t err;
    cr_assert_eq(msb_cache_get(c, "k", 1, &v, &err), MSB_EUNAVAIL);
    cr_assert(strstr(err.message, "127.0.0.1:1") != NULL, "%s", err.message);
    cr_assert_eq(msb_cache_set(c, "k", 1, "v", 1, 0, &err), MSB_EUNAVAIL);
    msb_cache_stats_t s;
    msb_cache_stats(c, &s);
    cr_assert_geq(s.backend_errors, 2);
    msb_cache_free(c);
}

static msb_status_t load_fixed(void *user, const void *key, size_t key_len, msb_cache_fill_t *fill,
                               msb_error_t *err)
{
    (void)key;
    (void)key_len;
    (void)err;
    int *calls = user;
    __atomic_fetch_add(calls, 1, __ATOMIC_SEQ_CST);
    return msb_cache_fill_value(fill, "from-db", 7);
}

Test(redis_cache, cache_aside_through_redis_and_negative_entries)
{
    msb_cache_t *a = make(false);
    msb_cache_t *b = make(true);
    int calls = 0;
    msb_cache_value_t *v = NULL;
    msb_error_t err;
    cr_assert_eq(msb_cache_get_or_load(a, "user:1", 6, load_fixed, &calls, &v, &err), MSB_OK, "%s",
                 err.message);
    msb_cache_value_release(v);
    cr_assert_eq(msb_cache_get_or_load(b, "user:1", 6, load_fixed, &calls, &v, &err), MSB_OK);
    cr_assert_str_eq(msb_cache_value_data(v), "from-db");
    msb_cache_value_release(v);
    cr_assert_eq(calls, 1, "the second instance found it in Redis");
    msb_cache_stats_t s;
    msb_cache_stats(b, &s);
    cr_assert_eq(s.l2_hits, 1);
    msb_cache_free(a);
    msb_cache_free(b);
}

typedef struct herd {
    msb_cache_t *cache;
    int calls;
    pthread_barrier_t go;
} herd_t;

static void *herd_caller(void *arg)
{
    herd_t *h = arg;
    pthread_barrier_wait(&h->go);
    msb_cache_value_t *v = NULL;
    if (msb_cache_get_or_load(h->cache, "herd", 4, load_fixed, &h->calls, &v, NULL) == MSB_OK) {
        msb_cache_value_release(v);
    }
    return NULL;
}

Test(redis_cache, stampede_through_redis_loads_once)
{
    herd_t h;
    memset(&h, 0, sizeof(h));
    h.cache = make(false);
    enum { T = 64 };
    pthread_t th[T];
    pthread_barrier_init(&h.go, NULL, T);
    for (int i = 0; i < T; i++) {
        pthread_create(&th[i], NULL, herd_caller, &h);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
    }
    pthread_barrier_destroy(&h.go);
    cr_assert_eq(h.calls, 1);
    msb_cache_free(h.cache);
}

/* ---- two processes ------------------------------------------------------------------------ */

static void send_byte(int fd, char b)
{
    ssize_t n = write(fd, &b, 1);
    (void)n;
}

static char recv_byte(int fd)
{
    char b = 0;
    ssize_t n = read(fd, &b, 1);
    return n == 1 ? b : 0;
}

static bool l1_has(msb_cache_t *c, const char *want)
{
    msb_cache_value_t *v = NULL;
    bool yes = msb_cache_peek(c, "shared", 6, &v, NULL) == MSB_OK &&
               (want == NULL || strcmp(msb_cache_value_data(v), want) == 0);
    msb_cache_value_release(v);
    return yes;
}

static bool wait_l1_gone(msb_cache_t *c)
{
    for (int i = 0; i < 5000; i++) {
        if (!l1_has(c, NULL)) {
            return true;
        }
        poll(NULL, 0, 1);
    }
    return false;
}

static bool invalidated(msb_cache_t *c, uint64_t n)
{
    for (int i = 0; i < 5000; i++) {
        msb_cache_stats_t s;
        msb_cache_stats(c, &s);
        if (s.invalidations >= n) {
            return true;
        }
        poll(NULL, 0, 1);
    }
    return false;
}

/* The second process: its own two-tier cache; exit code names the step that failed. */
static int child(int in, int out)
{
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.url = env_url();
    o.two_tier = true;
    o.prefix = prefix;
    o.channel = channel;
    msb_cache_t *c = NULL;
    if (msb_cache_new(&o, &c, NULL) != MSB_OK || !subscribed(c)) {
        return 10;
    }
    send_byte(out, 'R');
    if (recv_byte(in) != 'S' || !invalidated(c, 1)) {
        return 11; /* the first SET's message must have come: a read that overlaps an
                      invalidation of its key is (rightly) not kept in L1 */
    }
    msb_cache_value_t *v = NULL;
    if (msb_cache_get(c, "shared", 6, &v, NULL) != MSB_OK ||
        strcmp(msb_cache_value_data(v), "v1") != 0) {
        return 12;
    }
    msb_cache_value_release(v);
    if (!l1_has(c, "v1")) {
        return 13; /* the Redis hit was kept in L1 */
    }
    send_byte(out, 'G');
    if (recv_byte(in) != 'U') {
        return 14;
    }
    if (!wait_l1_gone(c)) {
        return 15; /* the update's invalidation never arrived */
    }
    if (msb_cache_get(c, "shared", 6, &v, NULL) != MSB_OK ||
        strcmp(msb_cache_value_data(v), "v2") != 0) {
        return 16;
    }
    msb_cache_value_release(v);
    send_byte(out, 'H');
    if (recv_byte(in) != 'D' || !wait_l1_gone(c)) {
        return 17;
    }
    if (msb_cache_get(c, "shared", 6, &v, NULL) != MSB_ENOTFOUND) {
        return 18;
    }
    msb_cache_stats_t s;
    msb_cache_stats(c, &s);
    if (s.invalidations < 3) {
        return 19;
    }
    msb_cache_free(c);
    return 0;
}

static pid_t child_pid;

/* The child's next byte, or the step it failed at. */
static void expect(int fd, char want)
{
    char got = recv_byte(fd);
    if (got != want) {
        int status = 0;
        waitpid(child_pid, &status, 0);
        cr_assert_fail("expected '%c' from the second process, got %d; it exited with %d", want,
                       got, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
}

Test(redis_cache, l1_invalidation_seen_by_a_second_process)
{
    int p2c[2];
    int c2p[2];
    cr_assert_eq(pipe(p2c), 0);
    cr_assert_eq(pipe(c2p), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    child_pid = pid;
    if (pid == 0) {
        close(p2c[1]);
        close(c2p[0]);
        _exit(child(p2c[0], c2p[1]));
    }
    close(p2c[0]);
    close(c2p[1]);
    msb_cache_t *c = make(true);
    cr_assert(subscribed(c));
    expect(c2p[0], 'R');
    msb_error_t err;
    cr_assert_eq(msb_cache_set(c, "shared", 6, "v1", 2, 0, &err), MSB_OK, "%s", err.message);
    send_byte(p2c[1], 'S');
    expect(c2p[0], 'G');
    cr_assert_eq(msb_cache_set(c, "shared", 6, "v2", 2, 0, &err), MSB_OK);
    cr_assert(l1_has(c, "v2"), "the writer's own L1 has the new value, not dropped by its echo");
    send_byte(p2c[1], 'U');
    expect(c2p[0], 'H');
    cr_assert_eq(msb_cache_delete(c, "shared", 6, &err), MSB_OK);
    send_byte(p2c[1], 'D');
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 0, "the second process failed at step %d",
                 WEXITSTATUS(status));
    msb_cache_stats_t s;
    msb_cache_stats(c, &s);
    cr_assert_eq(s.invalidations, 0, "its own messages are not applied twice");
    close(p2c[1]);
    close(c2p[0]);
    msb_cache_free(c);
}

/* ---- on a loop ------------------------------------------------------------------------- */

typedef struct loop_ctx {
    int set_ok;
    int got_ok;
    int notfound;
    int failed;
} loop_ctx_t;

static void on_set(msb_status_t status, const msb_error_t *err, void *user)
{
    loop_ctx_t *x = user;
    if (status == MSB_OK) {
        x->set_ok++;
    } else {
        x->failed++;
        cr_log_error("set: %s", err != NULL ? err->message : "?");
    }
}

static void on_get(msb_status_t status, msb_cache_value_t *value, const msb_error_t *err,
                   void *user)
{
    loop_ctx_t *x = user;
    if (status == MSB_OK && strncmp(msb_cache_value_data(value), "val", 3) == 0) {
        x->got_ok++;
    } else if (status == MSB_ENOTFOUND) {
        x->notfound++;
    } else {
        x->failed++;
        cr_log_error("get: %s", err != NULL ? err->message : "?");
    }
}

Test(redis_cache, loop_pipelines_a_thousand_requests)
{
    struct event_base *base = event_base_new();
    msb_cache_t *c = make(false);
    msb_cache_loop_t *l = NULL;
    cr_assert_eq(msb_cache_loop_new(c, base, &l, NULL), MSB_OK);
    loop_ctx_t x = {0, 0, 0, 0};
    char k[16];
    char v[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "p%d", i);
        snprintf(v, sizeof(v), "val%d", i);
        cr_assert_eq(
            msb_cache_loop_set(l, k, strlen(k), v, strlen(v), 60 * MSB_SEC, on_set, &x, NULL),
            MSB_OK);
    }
    for (int i = 0; i < 1001; i++) {
        snprintf(k, sizeof(k), "p%d", i);
        cr_assert_eq(msb_cache_loop_get(l, k, strlen(k), on_get, &x, NULL), MSB_OK);
    }
    while (x.set_ok + x.got_ok + x.notfound + x.failed < 2001) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    cr_assert_eq(x.failed, 0);
    cr_assert_eq(x.set_ok, 1000);
    cr_assert_eq(x.got_ok, 1000);
    cr_assert_eq(x.notfound, 1);
    msb_cache_loop_free(l);
    msb_cache_free(c);
    event_base_free(base);
}

static void async_load(void *user, const void *key, size_t key_len, msb_cache_fill_t *fill)
{
    (void)key;
    (void)key_len;
    int *calls = user;
    (*calls)++;
    msb_cache_fill_value(fill, "val-loaded", 10);
    msb_cache_fill_done(fill, MSB_OK, NULL);
}

Test(redis_cache, loop_two_tier_get_or_load_and_delete)
{
    struct event_base *base = event_base_new();
    msb_cache_t *c = make(true);
    cr_assert(subscribed(c));
    msb_cache_loop_t *l = NULL;
    cr_assert_eq(msb_cache_loop_new(c, base, &l, NULL), MSB_OK);
    loop_ctx_t x = {0, 0, 0, 0};
    int calls = 0;
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(msb_cache_loop_get_or_load(l, "lk", 2, async_load, &calls, on_get, &x, NULL),
                     MSB_OK);
    }
    while (x.got_ok + x.failed < 50) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    cr_assert_eq(calls, 1);
    cr_assert_eq(x.failed, 0);
    /* It reached Redis: a Redis-only cache sees it. */
    msb_cache_t *r = make(false);
    msb_cache_value_t *v = NULL;
    for (int i = 0; i < 5000 && msb_cache_get(r, "lk", 2, &v, NULL) != MSB_OK; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK); /* the asynchronous SET may still be in flight */
        poll(NULL, 0, 1);
    }
    cr_assert_not_null(v);
    cr_assert_str_eq(msb_cache_value_data(v), "val-loaded");
    msb_cache_value_release(v);
    cr_assert_eq(msb_cache_loop_delete(l, "lk", 2, on_set, &x, NULL), MSB_OK);
    while (x.set_ok + x.failed < 1) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    cr_assert_eq(msb_cache_get(r, "lk", 2, &v, NULL), MSB_ENOTFOUND);
    cr_assert_eq(msb_cache_peek(c, "lk", 2, &v, NULL), MSB_ENOTFOUND);
    msb_cache_free(r);
    msb_cache_loop_free(l);
    msb_cache_free(c);
    event_base_free(base);
}
