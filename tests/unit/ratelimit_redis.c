// msb-test: backends redis
/*
 * The distributed limiter without a Redis server: its options and their errors, and each failure
 * policy against a port where nothing listens (refused) and a listener that never answers (timed
 * out), blocking and on a libevent loop. The real server is in tests/integration/redis_*.c.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msb/ratelimit_redis.h"
#include "support/failing_alloc.h"

static msb_ratelimit_opts_t lim;

static void setup(void)
{
    lim = (msb_ratelimit_opts_t)MSB_RATELIMIT_OPTS_INIT;
    lim.rate = 3;
    lim.burst = 3;
    lim.period_ns = 60 * MSB_SEC;
}

TestSuite(ratelimit_redis, .init = setup, .timeout = 30);

/* A loopback port: listening (a server that accepts connections and never answers) or closed. */
static int listener(int *port, bool keep)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    if (!keep) {
        close(fd);
        return -1;
    }
    cr_assert_eq(listen(fd, 64), 0);
    return fd;
}

/* Connections waiting in a listener's queue (each one a connection attempt). */
static int accept_all(int fd)
{
    fcntl(fd, F_SETFL, O_NONBLOCK);
    int n = 0;
    int c;
    while ((c = accept(fd, NULL, NULL)) >= 0) {
        close(c);
        n++;
    }
    return n;
}

static msb_ratelimit_redis_opts_t opts_for(int port, msb_ratelimit_failure_t policy)
{
    static char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
    msb_ratelimit_redis_opts_t o = MSB_RATELIMIT_REDIS_OPTS_INIT;
    o.limit = &lim;
    o.url = url;
    o.on_failure = policy;
    o.timeout_ns = 50 * MSB_MSEC;
    o.connect_timeout_ns = 200 * MSB_MSEC;
    o.backoff_min_ns = 10 * MSB_SEC; /* no second attempt within a test */
    o.backoff_max_ns = 20 * MSB_SEC;
    return o;
}

static msb_ratelimit_redis_t *make(const msb_ratelimit_redis_opts_t *o)
{
    msb_ratelimit_redis_t *rl = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_ratelimit_redis_new(o, &rl, &err), MSB_OK, "%s", err.message);
    return rl;
}

Test(ratelimit_redis, refused_fail_open)
{
    int port;
    listener(&port, false);
    msb_ratelimit_redis_opts_t o = opts_for(port, MSB_RATELIMIT_FAIL_OPEN);
    msb_ratelimit_redis_t *rl = make(&o);
    cr_assert(msb_ratelimit_redis_up(rl), "up until an attempt fails");
    msb_ratelimit_result_t res;
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 1, &res), MSB_OK);
        cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_FAIL_OPEN);
        cr_assert_eq(res.limit, 3);
    }
    cr_assert_not(msb_ratelimit_redis_up(rl));
    msb_error_t err;
    msb_ratelimit_redis_last_error(rl, &err);
    cr_assert_eq(err.code, MSB_EUNAVAIL);
    char where[32];
    snprintf(where, sizeof(where), "127.0.0.1:%d", port);
    cr_assert_not_null(strstr(err.message, where), "%s", err.message);
    msb_ratelimit_redis_stats_t s;
    msb_ratelimit_redis_stats(rl, &s);
    cr_assert_eq(s.failures, 10);
    cr_assert_eq(s.fail_open, 10);
    cr_assert_eq(s.redis, 0);
    msb_ratelimit_redis_free(rl);
}

Test(ratelimit_redis, refused_fail_closed)
{
    int port;
    listener(&port, false);
    msb_ratelimit_redis_opts_t o = opts_for(port, MSB_RATELIMIT_FAIL_CLOSED);
    msb_ratelimit_redis_t *rl = make(&o);
    msb_ratelimit_result_t res;
    cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 1, &res), MSB_EREJECTED);
    cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_FAIL_CLOSED);
    /* the next attempt is 5..10 s away (backoff_min_ns 10 s with jitter) */
    cr_assert(res.retry_after_ns > 4 * MSB_SEC && res.retry_after_ns <= 10 * MSB_SEC, "%lld",
              (long long)res.retry_after_ns);
    cr_assert_eq(msb_ratelimit_retry_after_s(&res) >= 5, true);
    msb_ratelimit_redis_stats_t s;
    msb_ratelimit_redis_stats(rl, &s);
    cr_assert_eq(s.fail_closed, 1);
    msb_ratelimit_redis_free(rl);
}

Test(ratelimit_redis, refused_fall_back_to_local)
{
    int port;
    listener(&port, false);
    msb_ratelimit_redis_opts_t o = opts_for(port, MSB_RATELIMIT_FAIL_LOCAL);
    msb_ratelimit_redis_t *rl = make(&o);
    msb_ratelimit_result_t res;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 1, &res), MSB_OK);
        cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_FALLBACK);
        cr_assert_eq(res.remaining, (uint64_t)(2 - i));
    }
    cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 1, &res), MSB_EREJECTED);
    cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_FALLBACK);
    /* the fallback's own GCRA: 3 a minute, T = 20 s, minus the time the calls took */
    cr_assert(res.retry_after_ns > 19 * MSB_SEC && res.retry_after_ns <= 20 * MSB_SEC, "%lld",
              (long long)res.retry_after_ns);
    /* keys longer than the fallback stores go by a digest: still one state per key */
    char a[200];
    char b[200];
    memset(a, 'x', sizeof(a));
    memcpy(b, a, sizeof(b));
    b[199] = 'y';
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(msb_ratelimit_redis_take(rl, a, sizeof(a), 1, NULL), MSB_OK);
    }
    cr_assert_eq(msb_ratelimit_redis_take(rl, a, sizeof(a), 1, NULL), MSB_EREJECTED);
    cr_assert_eq(msb_ratelimit_redis_take(rl, b, sizeof(b), 1, NULL), MSB_OK);
    msb_ratelimit_redis_stats_t s;
    msb_ratelimit_redis_stats(rl, &s);
    cr_assert_eq(s.fallback, 9);
    msb_ratelimit_redis_free(rl);
}

Test(ratelimit_redis, local_divisor_shares_the_limit)
{
    int port;
    listener(&port, false);
    msb_ratelimit_redis_opts_t o = opts_for(port, MSB_RATELIMIT_FAIL_LOCAL);
    o.local_divisor = 3; /* three processes: each falls back to 1 of the 3 */
    msb_ratelimit_redis_t *rl = make(&o);
    msb_ratelimit_result_t res;
    cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 1, &res), MSB_OK);
    cr_assert_eq(res.limit, 1);
    cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 1, &res), MSB_EREJECTED);
    /* 2 permits fit the limit's burst of 3 but not the fallback's share: denied until Redis is
     * back (not MSB_ERANGE: Redis could grant them) */
    cr_assert_eq(msb_ratelimit_redis_take(rl, "other", 5, 2, &res), MSB_EREJECTED);
    cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_FALLBACK);
    cr_assert(res.retry_after_ns > 4 * MSB_SEC, "until the next attempt: %lld",
              (long long)res.retry_after_ns);
    msb_ratelimit_redis_free(rl);
}

/* A server that accepts and never answers: each call waits the command timeout once, then the
 * pool backs off and decides at once without connecting again. */
Test(ratelimit_redis, silent_server_times_out_once_then_backs_off)
{
    int port;
    int fd = listener(&port, true);
    msb_ratelimit_redis_opts_t o = opts_for(port, MSB_RATELIMIT_FAIL_OPEN);
    msb_ratelimit_redis_t *rl = make(&o);
    msb_ratelimit_result_t res;
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 1, &res), MSB_OK);
        cr_assert_eq(res.source, MSB_RATELIMIT_SOURCE_FAIL_OPEN);
    }
    cr_assert_eq(accept_all(fd), 1, "one connection attempt for 20 calls");
    msb_error_t err;
    msb_ratelimit_redis_last_error(rl, &err);
    /* the calls after the first failed fast: unavailable, for the reason that took it down */
    cr_assert_eq(err.code, MSB_EUNAVAIL, "%s", err.message);
    cr_assert_not_null(strstr(err.message, "timed out"), "%s", err.message);
    msb_ratelimit_redis_free(rl);
    close(fd);
}

typedef struct tally {
    int calls;
    int ok;
    int rejected;
    msb_ratelimit_source_t source;
    struct event_base *base;
    int want;
} tally_t;

static void on_result(msb_status_t status, const msb_ratelimit_result_t *res, void *user)
{
    tally_t *t = user;
    t->calls++;
    t->ok += status == MSB_OK;
    t->rejected += status == MSB_EREJECTED;
    t->source = res->source;
    if (t->calls == t->want) {
        event_base_loopbreak(t->base);
    }
}

static void run_async(int port, msb_ratelimit_failure_t policy, tally_t *t)
{
    msb_ratelimit_redis_opts_t o = opts_for(port, policy);
    msb_ratelimit_redis_t *rl = make(&o);
    t->base = event_base_new();
    msb_ratelimit_redis_loop_t *l = NULL;
    cr_assert_eq(msb_ratelimit_redis_loop_new(rl, t->base, &l, NULL), MSB_OK);
    for (int i = 0; i < t->want; i++) {
        cr_assert_eq(msb_ratelimit_redis_take_async(l, "k", 1, 1, on_result, t), MSB_OK);
    }
    cr_assert_eq(t->calls, 0);
    struct timeval five = {5, 0};
    event_base_loopexit(t->base, &five);
    event_base_dispatch(t->base);
    cr_assert_eq(t->calls, t->want);
    cr_assert_not(msb_ratelimit_redis_loop_up(l));
    msb_ratelimit_redis_loop_free(l);
    event_base_free(t->base);
    msb_ratelimit_redis_free(rl);
}

Test(ratelimit_redis, async_refused_applies_each_policy)
{
    int port;
    listener(&port, false);
    tally_t open = {.want = 4};
    run_async(port, MSB_RATELIMIT_FAIL_OPEN, &open);
    cr_assert_eq(open.ok, 4);
    cr_assert_eq(open.source, MSB_RATELIMIT_SOURCE_FAIL_OPEN);
    tally_t closed = {.want = 4};
    run_async(port, MSB_RATELIMIT_FAIL_CLOSED, &closed);
    cr_assert_eq(closed.rejected, 4);
    cr_assert_eq(closed.source, MSB_RATELIMIT_SOURCE_FAIL_CLOSED);
    tally_t local = {.want = 4};
    run_async(port, MSB_RATELIMIT_FAIL_LOCAL, &local);
    cr_assert_eq(local.ok, 3);
    cr_assert_eq(local.rejected, 1);
    cr_assert_eq(local.source, MSB_RATELIMIT_SOURCE_FALLBACK);
}

Test(ratelimit_redis, async_silent_server_times_out)
{
    int port;
    int fd = listener(&port, true);
    tally_t t = {.want = 3};
    run_async(port, MSB_RATELIMIT_FAIL_CLOSED, &t);
    cr_assert_eq(t.rejected, 3);
    cr_assert_eq(t.source, MSB_RATELIMIT_SOURCE_FAIL_CLOSED);
    close(fd);
}

static void expect_einval(const msb_ratelimit_redis_opts_t *o, msb_status_t want, const char *says)
{
    msb_ratelimit_redis_t *rl = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_ratelimit_redis_new(o, &rl, &err), want, "%s: %s", says, err.message);
    cr_assert_not_null(strstr(err.message, says), "\"%s\" should name %s", err.message, says);
    cr_assert_null(rl);
}

Test(ratelimit_redis, every_option_error)
{
    msb_ratelimit_redis_t *rl = NULL;
    cr_assert_eq(msb_ratelimit_redis_new(NULL, &rl, NULL), MSB_EINVAL);
    msb_ratelimit_redis_opts_t o = opts_for(6379, MSB_RATELIMIT_FAIL_LOCAL);
    cr_assert_eq(msb_ratelimit_redis_new(&o, NULL, NULL), MSB_EINVAL);
    msb_ratelimit_redis_opts_t b = o;
    b.limit = NULL;
    expect_einval(&b, MSB_EINVAL, "limit");
    b = o;
    b.url = NULL;
    expect_einval(&b, MSB_EINVAL, "url");
    b.url = "http://h";
    expect_einval(&b, MSB_EINVAL, "url: redis URL: scheme");
    b.url = "rediss://h";
    expect_einval(&b, MSB_ENOTSUP, "TLS");
    b = o;
    b.prefix = NULL;
    expect_einval(&b, MSB_EINVAL, "prefix");
    char longp[300];
    memset(longp, 'p', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    b.prefix = longp;
    expect_einval(&b, MSB_EINVAL, "prefix");
    b = o;
    b.on_failure = (msb_ratelimit_failure_t)9;
    expect_einval(&b, MSB_EINVAL, "on_failure");
    b = o;
    b.local_divisor = 0;
    expect_einval(&b, MSB_EINVAL, "local_divisor");
    b = o;
    b.local_max_keys = 0;
    expect_einval(&b, MSB_EINVAL, "local_max_keys");
    b = o;
    b.pool_size = 0;
    expect_einval(&b, MSB_EINVAL, "pool_size");
    b.pool_size = 1025;
    expect_einval(&b, MSB_EINVAL, "pool_size");
    b = o;
    b.connect_timeout_ns = 0;
    expect_einval(&b, MSB_EINVAL, "connect_timeout_ns");
    b = o;
    b.timeout_ns = -1;
    expect_einval(&b, MSB_EINVAL, "timeout_ns");
    b = o;
    b.backoff_min_ns = 0;
    expect_einval(&b, MSB_EINVAL, "backoff_min_ns");
    b = o;
    b.backoff_max_ns = 0;
    expect_einval(&b, MSB_EINVAL, "backoff_max_ns");
    b.backoff_max_ns = b.backoff_min_ns - 1;
    expect_einval(&b, MSB_EINVAL, "backoff_max_ns");
    msb_ratelimit_opts_t bad = lim;
    bad.rate = 0;
    b = o;
    b.limit = &bad;
    expect_einval(&b, MSB_EINVAL, "limit.rate");
}

Test(ratelimit_redis, bad_calls)
{
    msb_ratelimit_redis_opts_t o = opts_for(1, MSB_RATELIMIT_FAIL_OPEN);
    msb_ratelimit_redis_t *rl = make(&o);
    msb_ratelimit_result_t res;
    cr_assert_eq(msb_ratelimit_redis_take(NULL, "k", 1, 1, &res), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_redis_take(rl, NULL, 1, 1, &res), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_redis_take(rl, "", 0, 1, &res), MSB_EINVAL);
    char big[1025];
    memset(big, 'k', sizeof(big));
    cr_assert_eq(msb_ratelimit_redis_take(rl, big, sizeof(big), 1, &res), MSB_ETOOBIG);
    cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 4, &res), MSB_ERANGE);
    cr_assert_eq(res.retry_after_ns, -1);
    cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 4, NULL), MSB_ERANGE);
    msb_error_t err;
    msb_ratelimit_redis_last_error(rl, &err);
    cr_assert_eq(err.code, MSB_OK, "no attempt yet");
    msb_ratelimit_redis_last_error(NULL, &err);
    cr_assert_eq(err.code, MSB_OK);
    msb_ratelimit_redis_last_error(rl, NULL);
    msb_ratelimit_redis_stats_t s;
    msb_ratelimit_redis_stats(NULL, &s);
    cr_assert_eq(s.redis, 0);
    msb_ratelimit_redis_stats(rl, NULL);
    cr_assert_not(msb_ratelimit_redis_up(NULL));
    msb_ratelimit_redis_free(rl);
    msb_ratelimit_redis_free(NULL);
}

Test(ratelimit_redis, out_of_memory_at_each_allocation)
{
    int port;
    listener(&port, false);
    msb_ratelimit_redis_opts_t o = opts_for(port, MSB_RATELIMIT_FAIL_LOCAL);
    /* load the plugin first: dlopen's own memory is not libmsb's */
    msb_ratelimit_redis_free(make(&o));
    long failures = 0;
    MSB_FAILING_ALLOC_LOOP(n)
    {
        failing_alloc_install(n);
        msb_ratelimit_redis_t *rl = NULL;
        msb_error_t err = MSB_ERROR_INIT;
        msb_status_t rc = msb_ratelimit_redis_new(&o, &rl, &err);
        bool fired = failing_alloc_fired();
        if (rc == MSB_OK) {
            msb_ratelimit_result_t res;
            cr_assert_eq(msb_ratelimit_redis_take(rl, "k", 1, 1, &res), MSB_OK);
            msb_ratelimit_redis_free(rl);
        }
        failing_alloc_remove();
        cr_assert_eq(failing_alloc_live(), 0, "allocation %ld: leak", n);
        if (!fired) {
            cr_assert_eq(rc, MSB_OK);
            break;
        }
        cr_assert_eq(rc, MSB_ENOMEM, "allocation %ld: %s", n, err.message);
        failures++;
    }
    cr_assert_gt(failures, 3);
}

Test(ratelimit_redis, async_out_of_memory_at_each_allocation)
{
    int port;
    listener(&port, false);
    msb_ratelimit_redis_opts_t o = opts_for(port, MSB_RATELIMIT_FAIL_OPEN);
    msb_ratelimit_redis_t *rl = make(&o);
    struct event_base *base = event_base_new();
    long failures = 0;
    MSB_FAILING_ALLOC_LOOP(n)
    {
        failing_alloc_install(n);
        tally_t t = {.want = 1, .base = base};
        msb_ratelimit_redis_loop_t *l = NULL;
        msb_status_t rc = msb_ratelimit_redis_loop_new(rl, base, &l, NULL);
        msb_status_t rc2 = MSB_ENOMEM;
        if (rc == MSB_OK) {
            rc2 = msb_ratelimit_redis_take_async(l, "k", 1, 1, on_result, &t);
            if (rc2 == MSB_OK) {
                struct timeval five = {5, 0};
                event_base_loopexit(base, &five);
                event_base_dispatch(base);
                cr_assert_eq(t.calls, 1);
                cr_assert_eq(t.ok, 1);
            } else {
                cr_assert_eq(rc2, MSB_ENOMEM);
                cr_assert_eq(t.calls, 0, "no callback when the call failed");
            }
            msb_ratelimit_redis_loop_free(l);
        } else {
            cr_assert_eq(rc, MSB_ENOMEM);
        }
        bool fired = failing_alloc_fired();
        failing_alloc_remove();
        cr_assert_eq(failing_alloc_live(), 0, "allocation %ld: leak", n);
        if (!fired) {
            cr_assert(rc == MSB_OK && rc2 == MSB_OK);
            break;
        }
        failures++;
    }
    cr_assert_geq(failures, 4, "loop handle, backend loop, connection, call, request");
    event_base_free(base);
    msb_ratelimit_redis_free(rl);
}
