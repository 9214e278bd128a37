/*
 * The distributed limiter while Redis dies and comes back: Redis is killed mid-test with
 * `$MSB_SOURCE_DIR/scripts/infra kill redis`, the configured policy decides (each policy in
 * turn, blocking and on a libevent loop), and decisions return to Redis once
 * `scripts/infra start redis` has brought it back. MSB_REDIS__URL names the server (default
 * redis://127.0.0.1:56379/0). ctest holds a RESOURCE_LOCK on redis for this program.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "integration/harness.h"
#include "msb/ratelimit_redis.h"

static char url[512];
static char prefix[64];

static void infra(const char *verb)
{
    const char *src = getenv("MSB_SOURCE_DIR");
    cr_assert(src != NULL && src[0] != '\0', "MSB_SOURCE_DIR is not set (ctest sets it)");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "\"%s/scripts/infra\" %s redis >/dev/null 2>&1", src, verb);
    int rc = system(cmd);
    cr_assert_eq(rc, 0, "scripts/infra %s redis failed (%d); see scripts/infra logs redis", verb,
                 rc);
}

static void setup(void)
{
    snprintf(url, sizeof(url), "%s", msb_it_env("MSB_REDIS__URL", "redis://127.0.0.1:56379/0"));
    snprintf(prefix, sizeof(prefix), "msbtest:rlf:%d:%ld:", (int)getpid(), (long)random());
}

/* Whatever happened in the test, leave Redis running for the next one. */
static void teardown(void)
{
    const char *src = getenv("MSB_SOURCE_DIR");
    if (src != NULL) {
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "\"%s/scripts/infra\" start redis >/dev/null 2>&1", src);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not restart redis: see scripts/infra logs redis\n");
        }
    }
}

TestSuite(redis_fault_ratelimit, .init = setup, .fini = teardown, .timeout = 120);

static msb_ratelimit_redis_t *make(msb_ratelimit_failure_t policy)
{
    msb_ratelimit_opts_t lim = MSB_RATELIMIT_OPTS_INIT;
    lim.rate = 1;
    lim.period_ns = 60 * MSB_SEC;
    lim.burst = 2; /* the fallback's burst shows: 2, then denied (T = 60 s) */
    msb_ratelimit_redis_opts_t o = MSB_RATELIMIT_REDIS_OPTS_INIT;
    o.limit = &lim;
    o.url = url;
    o.prefix = prefix;
    o.on_failure = policy;
    o.timeout_ns = 500 * MSB_MSEC;
    o.connect_timeout_ns = 500 * MSB_MSEC;
    o.backoff_min_ns = 50 * MSB_MSEC;
    o.backoff_max_ns = 500 * MSB_MSEC;
    msb_ratelimit_redis_t *rl = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_ratelimit_redis_new(&o, &rl, &err), MSB_OK, "%s", err.message);
    return rl;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void expect_redis(msb_ratelimit_redis_t *rl, const char *key)
{
    msb_ratelimit_result_t res;
    msb_ratelimit_redis_take(rl, key, strlen(key), 0, &res);
    if (res.source != MSB_RATELIMIT_SOURCE_REDIS) {
        msb_error_t err;
        msb_ratelimit_redis_last_error(rl, &err);
        cr_assert_fail("Redis (%s) is unreachable: %s. Start it with scripts/infra up redis; its "
                       "log: scripts/infra logs redis",
                       url, err.message);
    }
}

/* Poll until Redis decides again: the pool retries after its backoff (at most 500 ms here). */
static double await_recovery(msb_ratelimit_redis_t *rl, const char *key)
{
    double start = now_s();
    msb_ratelimit_result_t res;
    do {
        msb_ratelimit_redis_take(rl, key, strlen(key), 0, &res);
        if (res.source == MSB_RATELIMIT_SOURCE_REDIS) {
            return now_s() - start;
        }
        sleep_ms(20);
    } while (now_s() - start < 20.0);
    msb_error_t err;
    msb_ratelimit_redis_last_error(rl, &err);
    cr_assert_fail("decisions did not return to Redis within 20 s: %s", err.message);
    return -1;
}

/* Kill Redis; `check` runs a few decisions and asserts the policy's answers. */
static void kill_and_recover(msb_ratelimit_redis_t *rl, void (*check)(msb_ratelimit_redis_t *))
{
    expect_redis(rl, "k");
    infra("kill");
    check(rl);
    cr_assert_not(msb_ratelimit_redis_up(rl));
    msb_error_t err;
    msb_ratelimit_redis_last_error(rl, &err);
    cr_assert_neq(err.code, MSB_OK);
    infra("start");
    await_recovery(rl, "k");
    cr_assert(msb_ratelimit_redis_up(rl));
    msb_ratelimit_result_t res;
    cr_assert_eq(msb_ratelimit_redis_take(rl, "after", 5, 1, &res), MSB_OK);
    cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_REDIS);
}

static void check_open(msb_ratelimit_redis_t *rl)
{
    for (int i = 0; i < 5; i++) {
        msb_ratelimit_result_t res;
        cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 1, &res), MSB_OK, "call %d", i);
        cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_FAIL_OPEN, "call %d: source %d", i,
                     res.source);
    }
}

static void check_closed(msb_ratelimit_redis_t *rl)
{
    for (int i = 0; i < 5; i++) {
        msb_ratelimit_result_t res;
        cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 1, &res), MSB_EREJECTED, "call %d", i);
        cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_FAIL_CLOSED);
        cr_assert_gt(res.retry_after_ns, 0);
    }
}

static void check_local(msb_ratelimit_redis_t *rl)
{
    msb_ratelimit_result_t res;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 1, &res), MSB_OK, "call %d", i);
        cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_FALLBACK);
    }
    cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 1, &res), MSB_EREJECTED);
    cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_FALLBACK);
}

Test(redis_fault_ratelimit, fail_open)
{
    msb_ratelimit_redis_t *rl = make(MSB_RATELIMIT_FAIL_OPEN);
    kill_and_recover(rl, check_open);
    msb_ratelimit_redis_stats_t s;
    msb_ratelimit_redis_stats(rl, &s);
    cr_assert_geq(s.fail_open, 5);
    msb_ratelimit_redis_free(rl);
}

Test(redis_fault_ratelimit, fail_closed)
{
    msb_ratelimit_redis_t *rl = make(MSB_RATELIMIT_FAIL_CLOSED);
    kill_and_recover(rl, check_closed);
    msb_ratelimit_redis_free(rl);
}

Test(redis_fault_ratelimit, fall_back_to_local)
{
    msb_ratelimit_redis_t *rl = make(MSB_RATELIMIT_FAIL_LOCAL);
    kill_and_recover(rl, check_local);
    msb_ratelimit_redis_stats_t s;
    msb_ratelimit_redis_stats(rl, &s);
    cr_assert_geq(s.fallback, 3);
    msb_ratelimit_redis_free(rl);
}

/* ---- the same on a libevent loop ----------------------------------------------------------------
 */

typedef struct wait {
    struct event_base *base;
    bool done;
    msb_status_t status;
    msb_ratelimit_result_t res;
} wait_t;

static void on_result(msb_status_t status, const msb_ratelimit_result_t *res, void *user)
{
    wait_t *w = user;
    w->done = true;
    w->status = status;
    w->res = *res;
    event_base_loopbreak(w->base);
}

/* One asynchronous decision, running the loop until it completes. */
static wait_t decide(msb_ratelimit_redis_loop_t *l, struct event_base *base, uint64_t n)
{
    wait_t w = {.base = base};
    cr_assert_eq(msb_ratelimit_redis_take_async(l, "k", 1, n, on_result, &w), MSB_OK);
    double start = now_s();
    while (!w.done && now_s() - start < 10.0) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    cr_assert(w.done, "no completion within 10 s");
    return w;
}

Test(redis_fault_ratelimit, async_fail_closed_then_recovers)
{
    msb_ratelimit_redis_t *rl = make(MSB_RATELIMIT_FAIL_CLOSED);
    struct event_base *base = event_base_new();
    msb_ratelimit_redis_loop_t *l = NULL;
    cr_assert_eq(msb_ratelimit_redis_loop_new(rl, base, &l, NULL), MSB_OK);
    wait_t w = decide(l, base, 0);
    cr_assert_eq(w.res.source, MSB_RATELIMIT_SOURCE_REDIS,
                 "Redis (%s) unreachable: see "
                 "scripts/infra logs redis",
                 url);
    cr_assert(msb_ratelimit_redis_loop_up(l));
    infra("kill");
    /* The loop learns of the death when the socket closes, or when the request times out. */
    for (int i = 0; i < 3; i++) {
        w = decide(l, base, 1);
        cr_assert_eq(w.status, MSB_EREJECTED, "call %d: %s", i, msb_status_name(w.status));
        cr_assert_eq(w.res.source, MSB_RATELIMIT_SOURCE_FAIL_CLOSED);
    }
    cr_assert_not(msb_ratelimit_redis_loop_up(l));
    infra("start");
    double start = now_s();
    do {
        w = decide(l, base, 0);
        if (w.res.source == MSB_RATELIMIT_SOURCE_REDIS) {
            break;
        }
        /* let the reconnection timer run */
        struct timeval tv = {0, 20000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    } while (now_s() - start < 20.0);
    cr_assert_eq(w.res.source, MSB_RATELIMIT_SOURCE_REDIS, "the loop reconnected within 20 s");
    cr_assert(msb_ratelimit_redis_loop_up(l));
    msb_ratelimit_redis_loop_free(l);
    event_base_free(base);
    msb_ratelimit_redis_free(rl);
}
