// msb-test: backends redis
/*
 * The distributed limiter against the real Redis of scripts/infra (MSB_REDIS__URL, default
 * redis://127.0.0.1:56379/0): decisions made by the script, EVALSHA/EVAL, SELECT, AUTH failures,
 * two processes sharing one limit, the blocking pool under threads, and the asynchronous API on
 * a libevent loop.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration/harness.h"
#include "msb/ratelimit_redis.h"
#include "ratelimit/redis/script.h"
#include "redis/redis.h"

#define MS INT64_C(1000000)

static char url[512];
static char prefix[64];

static const char *env_url(void)
{
    return msb_it_env("MSB_REDIS__URL", "redis://127.0.0.1:56379/0");
}

/* A direct hiredis connection to the test server, for checks behind the limiter's back. */
static redisContext *direct(int db)
{
    msb__redis_url_t u;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb__redis_url_parse(env_url(), &u, &err), MSB_OK, "MSB_REDIS__URL: %s",
                 err.message);
    u.db = db;
    msb__redis_timeouts_t t = {2 * MSB_SEC, 2 * MSB_SEC};
    redisContext *c = NULL;
    if (msb__redis_connect(&u, &t, &c, &err) != MSB_OK) {
        cr_assert_fail(
            "Redis (%s) is unreachable: %s. Start it with scripts/infra up redis; its log: "
            "scripts/infra logs redis",
            env_url(), err.message);
    }
    return c;
}

static void setup(void)
{
    snprintf(url, sizeof(url), "%s", env_url());
    snprintf(prefix, sizeof(prefix), "msbtest:rl:%d:%ld:", (int)getpid(), (long)random());
    redisFree(direct(0)); /* fail early, naming the server, when it is not there */
}

TestSuite(redis_ratelimit, .init = setup, .timeout = 60);

static msb_ratelimit_redis_t *make_with(const char *u, msb_ratelimit_algorithm_t alg, uint64_t rate,
                                        int64_t period, uint64_t burst,
                                        msb_ratelimit_failure_t policy)
{
    msb_ratelimit_opts_t lim = MSB_RATELIMIT_OPTS_INIT;
    lim.algorithm = alg;
    lim.rate = rate;
    lim.period_ns = period;
    lim.burst = burst;
    msb_ratelimit_redis_opts_t o = MSB_RATELIMIT_REDIS_OPTS_INIT;
    o.limit = &lim;
    o.url = u;
    o.prefix = prefix;
    o.on_failure = policy;
    o.timeout_ns = 2 * MSB_SEC;
    o.connect_timeout_ns = 2 * MSB_SEC;
    msb_ratelimit_redis_t *rl = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_ratelimit_redis_new(&o, &rl, &err), MSB_OK, "%s", err.message);
    return rl;
}

static msb_ratelimit_redis_t *make(msb_ratelimit_algorithm_t alg, uint64_t rate, int64_t period,
                                   uint64_t burst)
{
    return make_with(url, alg, rate, period, burst, MSB_RATELIMIT_FAIL_CLOSED);
}

static msb_status_t take(msb_ratelimit_redis_t *rl, const char *key, uint64_t n,
                         msb_ratelimit_result_t *res)
{
    return msb_ratelimit_redis_take(rl, key, strlen(key), n, res);
}

/* The rates below are slow (a permit every several seconds) so that a loaded machine, where a
 * call may stall for a while, cannot refill a permit between two calls of a test. */

Test(redis_ratelimit, gcra_decisions_come_from_redis)
{
    /* 5 a minute, burst 5: T = 12 s */
    msb_ratelimit_redis_t *rl = make(MSB_RATELIMIT_GCRA, 5, 60 * MSB_SEC, 5);
    msb_ratelimit_result_t res;
    for (uint64_t i = 1; i <= 5; i++) {
        cr_assert_eq(take(rl, "client-1", 1, &res), MSB_OK, "permit %llu", (unsigned long long)i);
        cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_REDIS);
        cr_assert_eq(res.limit, 5);
        cr_assert_eq(res.remaining, 5 - i);
        /* TAT = first + i*12 s; time passes between calls, so reset <= i*12 s */
        int64_t full = (int64_t)i * 12 * MSB_SEC;
        cr_assert(res.reset_ns > full - 5 * MSB_SEC && res.reset_ns <= full, "reset %lld",
                  (long long)res.reset_ns);
    }
    cr_assert_eq(take(rl, "client-1", 1, &res), MSB_EREJECTED);
    cr_assert_not(res.allowed);
    cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_REDIS);
    cr_assert(res.retry_after_ns > 7 * MSB_SEC && res.retry_after_ns <= 12 * MSB_SEC, "retry %lld",
              (long long)res.retry_after_ns);
    cr_assert_eq(res.window_ns, 60 * MSB_SEC);
    /* another key is independent; a peek changes nothing */
    cr_assert_eq(take(rl, "client-2", 0, &res), MSB_OK);
    cr_assert_eq(res.remaining, 5);
    cr_assert_eq(take(rl, "client-2", 5, &res), MSB_OK);
    cr_assert_eq(res.remaining, 0);
    cr_assert_eq(take(rl, "client-2", 6, &res), MSB_ERANGE);
    cr_assert_eq(res.retry_after_ns, -1);
    msb_ratelimit_redis_stats_t s;
    msb_ratelimit_redis_stats(rl, &s);
    cr_assert_eq(s.redis, 8);
    cr_assert_eq(s.failures, 0);
    cr_assert(msb_ratelimit_redis_up(rl));
    msb_ratelimit_redis_free(rl);
}

Test(redis_ratelimit, the_key_expires_when_full_again)
{
    msb_ratelimit_redis_t *rl = make(MSB_RATELIMIT_GCRA, 1, 60 * MSB_SEC, 2); /* T = 60 s */
    cr_assert_eq(take(rl, "ttl", 1, NULL), MSB_OK);
    redisContext *c = direct(0);
    char key[128];
    snprintf(key, sizeof(key), "%sttl", prefix);
    redisReply *r = redisCommand(c, "PTTL %s", key);
    cr_assert_eq(r->type, REDIS_REPLY_INTEGER);
    cr_assert(r->integer > 50000 && r->integer <= 60001, "PTTL %lld", r->integer); /* 60 s + 1 */
    freeReplyObject(r);
    redisFree(c);
    msb_ratelimit_redis_free(rl);
}

Test(redis_ratelimit, token_bucket)
{
    /* 3 tokens a minute, renewed on the minute (the periods are aligned to the Unix epoch) */
    msb_ratelimit_redis_t *rl = make(MSB_RATELIMIT_TOKEN_BUCKET, 3, 60 * MSB_SEC, 3);
    msb_ratelimit_result_t res;
    /* Three tokens, unless the minute turns in between: then three more. */
    int granted = 0;
    while (take(rl, "tb", 1, &res) == MSB_OK) {
        cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_REDIS);
        granted++;
        cr_assert_leq(granted, 6);
    }
    cr_assert_geq(granted, 3);
    cr_assert_eq(res.remaining, 0);
    cr_assert(res.retry_after_ns > 0 && res.retry_after_ns <= 60 * MSB_SEC, "retry %lld",
              (long long)res.retry_after_ns);
    /* The denial lasts until the next minute on the server's clock (the server of scripts/infra
     * runs on this machine; compare modulo a minute in case the minute turned meanwhile). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t to_minute = (60 - ts.tv_sec % 60) * MSB_SEC - ts.tv_nsec;
    int64_t d = llabs(res.retry_after_ns - to_minute) % (60 * MSB_SEC);
    cr_assert(d < 2 * MSB_SEC || d > 58 * MSB_SEC, "retry %lld, the minute turns in %lld",
              (long long)res.retry_after_ns, (long long)to_minute);
    cr_assert_eq(res.reset_ns, res.retry_after_ns, "one period refills all 3");
    msb_ratelimit_redis_free(rl);
}

Test(redis_ratelimit, evalsha_falls_back_to_eval)
{
    redisContext *c = direct(0);
    redisReply *r = redisCommand(c, "SCRIPT FLUSH");
    freeReplyObject(r);
    msb_ratelimit_redis_t *rl = make(MSB_RATELIMIT_GCRA, 1, 60 * MSB_SEC, 10);
    msb_ratelimit_result_t res;
    cr_assert_eq(take(rl, "k", 1, &res), MSB_OK);
    cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_REDIS);
    r = redisCommand(c, "SCRIPT EXISTS %s", msb__rl_script_sha());
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->element[0]->integer, 1, "EVAL loaded the script under our SHA-1");
    freeReplyObject(r);
    cr_assert_eq(take(rl, "k", 1, &res), MSB_OK);
    cr_assert_eq(res.remaining, 8);
    redisFree(c);
    msb_ratelimit_redis_free(rl);
}

Test(redis_ratelimit, database_from_the_url)
{
    msb__redis_url_t u;
    cr_assert_eq(msb__redis_url_parse(url, &u, NULL), MSB_OK);
    char u3[600];
    snprintf(u3, sizeof(u3), "%.*s/3", (int)(strrchr(url, '/') - url), url);
    msb_ratelimit_redis_t *rl =
        make_with(u3, MSB_RATELIMIT_GCRA, 1, MSB_SEC, 1, MSB_RATELIMIT_FAIL_CLOSED);
    msb_ratelimit_result_t res;
    cr_assert_eq(take(rl, "in-db-3", 1, &res), MSB_OK);
    cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_REDIS);
    char key[128];
    snprintf(key, sizeof(key), "%sin-db-3", prefix);
    redisContext *c3 = direct(3);
    redisReply *r = redisCommand(c3, "EXISTS %s", key);
    cr_assert_eq(r->integer, 1);
    freeReplyObject(r);
    redisContext *c0 = direct(0);
    r = redisCommand(c0, "EXISTS %s", key);
    cr_assert_eq(r->integer, 0);
    freeReplyObject(r);
    redisFree(c3);
    redisFree(c0);
    msb_ratelimit_redis_free(rl);
}

Test(redis_ratelimit, refused_auth_applies_the_policy)
{
    msb__redis_url_t u;
    cr_assert_eq(msb__redis_url_parse(url, &u, NULL), MSB_OK);
    char bad[600];
    snprintf(bad, sizeof(bad), "redis://:not-the-password@%s:%d/0", u.host, u.port);
    msb_ratelimit_redis_t *rl =
        make_with(bad, MSB_RATELIMIT_GCRA, 1, MSB_SEC, 1, MSB_RATELIMIT_FAIL_CLOSED);
    msb_ratelimit_result_t res;
    cr_assert_eq(take(rl, "k", 1, &res), MSB_EREJECTED);
    cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_FAIL_CLOSED);
    cr_assert_gt(res.retry_after_ns, 0);
    msb_error_t err;
    msb_ratelimit_redis_last_error(rl, &err);
    cr_assert_eq(err.code, MSB_EAUTH, "%s", err.message);
    cr_assert_not_null(strstr(err.message, "AUTH"), "%s", err.message);
    cr_assert_null(strstr(err.message, "not-the-password"), "%s", err.message);
    cr_assert_not(msb_ratelimit_redis_up(rl));
    msb_ratelimit_redis_free(rl);
}

/* ---- two processes, one limit --------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* In a child: hammer the shared key until `until`, write the permits granted to `fd`. */
static void child(int fd, double until)
{
    msb_ratelimit_opts_t lim = MSB_RATELIMIT_OPTS_INIT;
    lim.rate = 40;
    lim.burst = 10;
    msb_ratelimit_redis_opts_t o = MSB_RATELIMIT_REDIS_OPTS_INIT;
    o.limit = &lim;
    o.url = url;
    o.prefix = prefix;
    o.on_failure = MSB_RATELIMIT_FAIL_CLOSED;
    o.timeout_ns = 2 * MSB_SEC;
    msb_ratelimit_redis_t *rl = NULL;
    long counts[2] = {0, 0}; /* granted, failures */
    if (msb_ratelimit_redis_new(&o, &rl, NULL) == MSB_OK) {
        while (now_s() < until) {
            msb_ratelimit_result_t res;
            if (msb_ratelimit_redis_take(rl, "shared", 6, 1, &res) == MSB_OK) {
                counts[0]++;
            }
            if (res.source != MSB_RATELIMIT_SOURCE_REDIS) {
                counts[1]++;
            }
        }
        msb_ratelimit_redis_free(rl);
    } else {
        counts[1] = -1;
    }
    ssize_t w = write(fd, counts, sizeof(counts));
    _exit(w == (ssize_t)sizeof(counts) ? 0 : 1);
}

Test(redis_ratelimit, two_processes_share_one_limit)
{
    enum { PROCS = 2 };
    int fds[PROCS][2];
    pid_t pids[PROCS];
    double start = now_s();
    double until = start + 2.0;
    for (int i = 0; i < PROCS; i++) {
        cr_assert_eq(pipe(fds[i]), 0);
        pids[i] = fork();
        cr_assert_geq(pids[i], 0);
        if (pids[i] == 0) {
            close(fds[i][0]);
            child(fds[i][1], until);
        }
        close(fds[i][1]);
    }
    long total = 0;
    for (int i = 0; i < PROCS; i++) {
        long counts[2] = {0, 0};
        cr_assert_eq(read(fds[i][0], counts, sizeof(counts)), (ssize_t)sizeof(counts));
        close(fds[i][0]);
        int status = 0;
        waitpid(pids[i], &status, 0);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        cr_assert_eq(counts[1], 0, "process %d: every decision came from Redis", i);
        cr_assert_gt(counts[0], 0, "process %d got its share", i);
        total += counts[0];
    }
    double elapsed = now_s() - start;
    /* GCRA: at most burst + rate x elapsed over any span, whoever asks (+1 for the span's
     * boundaries falling between the server's and our clock readings). */
    long bound = 10 + (long)(40.0 * elapsed) + 1;
    cr_assert_leq(total, bound, "together %ld permits in %.2f s, bound %ld", total, elapsed, bound);
    cr_assert_gt(total, 10, "the limit refilled and was used, not just denied: %ld", total);
}

/* ---- threads on the blocking pool --------------------------------------------------------------
 */

typedef struct pool_run {
    msb_ratelimit_redis_t *rl;
    long granted;
    long foreign; /* decisions not made by Redis */
} pool_run_t;

static void *pool_worker(void *arg)
{
    pool_run_t *r = arg;
    for (int i = 0; i < 150; i++) {
        msb_ratelimit_result_t res;
        if (msb_ratelimit_redis_take(r->rl, "pooled", 6, 1, &res) == MSB_OK) {
            r->granted++;
        }
        if (res.source != MSB_RATELIMIT_SOURCE_REDIS) {
            r->foreign++;
        }
    }
    return NULL;
}

Test(redis_ratelimit, threads_share_the_pool)
{
    msb_ratelimit_redis_t *rl = make(MSB_RATELIMIT_GCRA, 100, MSB_SEC, 20);
    enum { THREADS = 8 };
    pthread_t t[THREADS];
    pool_run_t runs[THREADS];
    double start = now_s();
    for (int i = 0; i < THREADS; i++) {
        runs[i] = (pool_run_t){rl, 0, 0};
        pthread_create(&t[i], NULL, pool_worker, &runs[i]);
    }
    long total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(runs[i].foreign, 0, "thread %d: all decisions from Redis", i);
        total += runs[i].granted;
    }
    double elapsed = now_s() - start;
    long bound = 20 + (long)(100.0 * elapsed) + 1;
    cr_assert_leq(total, bound, "%ld permits in %.2f s, bound %ld", total, elapsed, bound);
    cr_assert_geq(total, 20);
    msb_ratelimit_redis_free(rl);
}
