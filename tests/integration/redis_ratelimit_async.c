/*
 * The distributed limiter's asynchronous API against the real Redis of scripts/infra
 * (MSB_REDIS__URL, default redis://127.0.0.1:56379/0), on a libevent loop: completions run on
 * the loop's thread, never inside the call; a burst splits exactly into grants and denials; a
 * loop handle freed with requests in flight (or from a completion) cancels them.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "integration/harness.h"
#include "msb/ratelimit_redis.h"

static char url[512];
static char prefix[64];

static void setup(void)
{
    snprintf(url, sizeof(url), "%s", msb_it_env("MSB_REDIS__URL", "redis://127.0.0.1:56379/0"));
    snprintf(prefix, sizeof(prefix), "msbtest:rla:%d:%ld:", (int)getpid(), (long)random());
    /* Fail early, naming the server, when it is not there. */
    msb_ratelimit_opts_t lim = MSB_RATELIMIT_OPTS_INIT;
    lim.rate = 1;
    msb_ratelimit_redis_opts_t o = MSB_RATELIMIT_REDIS_OPTS_INIT;
    o.limit = &lim;
    o.url = url;
    o.on_failure = MSB_RATELIMIT_FAIL_CLOSED;
    o.connect_timeout_ns = 2 * MSB_SEC;
    msb_ratelimit_redis_t *rl = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_ratelimit_redis_new(&o, &rl, &err), MSB_OK, "%s", err.message);
    msb_ratelimit_result_t res;
    msb_ratelimit_redis_take(rl, "probe", 5, 0, &res);
    msb_ratelimit_redis_last_error(rl, &err);
    msb_ratelimit_redis_free(rl);
    if (res.source != MSB_RATELIMIT_SOURCE_REDIS) {
        cr_assert_fail("Redis (%s) is unreachable: %s. Start it with scripts/infra up redis; its "
                       "log: scripts/infra logs redis",
                       url, err.message);
    }
}

TestSuite(redis_ratelimit_async, .init = setup, .timeout = 60);

typedef struct tally {
    int calls;
    int ok;
    int rejected;
    int canceled;
    int redis;    /* decided by Redis */
    int inside;   /* completions that ran inside take_async (must stay 0) */
    bool in_call; /* set around take_async */
    pthread_t loop_thread;
    int wrong_thread;
    msb_ratelimit_redis_loop_t *free_me; /* freed by the first completion, when set */
    struct event_base *base;
    int want;
} tally_t;

static void on_result(msb_status_t status, const msb_ratelimit_result_t *res, void *user)
{
    tally_t *t = user;
    t->calls++;
    t->inside += t->in_call ? 1 : 0;
    t->wrong_thread += pthread_equal(pthread_self(), t->loop_thread) ? 0 : 1;
    if (status == MSB_OK) {
        t->ok++;
    } else if (status == MSB_EREJECTED) {
        t->rejected++;
        cr_assert_gt(res->retry_after_ns, 0);
    } else if (status == MSB_ECANCELED) {
        t->canceled++;
        cr_assert_not(res->allowed);
    }
    t->redis += res->source == MSB_RATELIMIT_SOURCE_REDIS ? 1 : 0;
    if (t->free_me != NULL) {
        msb_ratelimit_redis_loop_t *l = t->free_me;
        t->free_me = NULL;
        msb_ratelimit_redis_loop_free(l);
    }
    if (t->calls == t->want) {
        event_base_loopbreak(t->base);
    }
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Run the loop until the tally is complete or 10 s pass. */
static void run_until_done(tally_t *t)
{
    struct event *deadline = evtimer_new(t->base, on_deadline, t->base);
    struct timeval tv = {10, 0};
    evtimer_add(deadline, &tv);
    while (t->calls < t->want) {
        event_base_loop(t->base, EVLOOP_ONCE);
        if (!evtimer_pending(deadline, NULL)) {
            break;
        }
    }
    event_free(deadline);
    cr_assert_eq(t->calls, t->want, "%d of %d completions within 10 s", t->calls, t->want);
}

static msb_ratelimit_redis_t *make(uint64_t burst)
{
    msb_ratelimit_opts_t lim = MSB_RATELIMIT_OPTS_INIT;
    lim.rate = 1;
    lim.period_ns = 60 * MSB_SEC;
    lim.burst = burst;
    msb_ratelimit_redis_opts_t o = MSB_RATELIMIT_REDIS_OPTS_INIT;
    o.limit = &lim;
    o.url = url;
    o.prefix = prefix;
    o.on_failure = MSB_RATELIMIT_FAIL_CLOSED;
    o.timeout_ns = 2 * MSB_SEC;
    o.connect_timeout_ns = 2 * MSB_SEC;
    msb_ratelimit_redis_t *rl = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_ratelimit_redis_new(&o, &rl, &err), MSB_OK, "%s", err.message);
    return rl;
}

static void fire(msb_ratelimit_redis_loop_t *l, tally_t *t, const char *key, int count)
{
    for (int i = 0; i < count; i++) {
        t->in_call = true;
        cr_assert_eq(msb_ratelimit_redis_take_async(l, key, strlen(key), 1, on_result, t), MSB_OK);
        t->in_call = false;
    }
}

Test(redis_ratelimit_async, a_burst_splits_exactly)
{
    msb_ratelimit_redis_t *rl = make(10);
    tally_t t = {.base = event_base_new(), .loop_thread = pthread_self(), .want = 25};
    msb_ratelimit_redis_loop_t *l = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_ratelimit_redis_loop_new(rl, t.base, &l, &err), MSB_OK, "%s", err.message);
    /* Sent before the connection is even up: they queue behind it. */
    fire(l, &t, "burst", 25);
    run_until_done(&t);
    cr_assert_eq(t.inside, 0, "no completion inside the call");
    cr_assert_eq(t.wrong_thread, 0);
    cr_assert_eq(t.redis, 25, "every decision from Redis");
    cr_assert_eq(t.ok, 10);
    cr_assert_eq(t.rejected, 15);
    cr_assert(msb_ratelimit_redis_loop_up(l));
    msb_ratelimit_redis_loop_free(l);
    event_base_free(t.base);
    msb_ratelimit_redis_free(rl);
}

Test(redis_ratelimit_async, blocking_and_async_share_the_limit)
{
    msb_ratelimit_redis_t *rl = make(4);
    cr_assert_eq(msb_ratelimit_redis_take(rl, "mixed", 5, 3, NULL), MSB_OK);
    tally_t t = {.base = event_base_new(), .loop_thread = pthread_self(), .want = 3};
    msb_ratelimit_redis_loop_t *l = NULL;
    cr_assert_eq(msb_ratelimit_redis_loop_new(rl, t.base, &l, NULL), MSB_OK);
    fire(l, &t, "mixed", 3);
    run_until_done(&t);
    cr_assert_eq(t.redis, 3);
    cr_assert_eq(t.ok, 1);
    cr_assert_eq(t.rejected, 2);
    msb_ratelimit_redis_loop_free(l);
    event_base_free(t.base);
    msb_ratelimit_redis_free(rl);
}

Test(redis_ratelimit_async, freeing_the_loop_cancels_what_is_in_flight)
{
    msb_ratelimit_redis_t *rl = make(100);
    tally_t t = {.base = event_base_new(), .loop_thread = pthread_self(), .want = 5};
    msb_ratelimit_redis_loop_t *l = NULL;
    cr_assert_eq(msb_ratelimit_redis_loop_new(rl, t.base, &l, NULL), MSB_OK);
    fire(l, &t, "cancel", 5);
    cr_assert_eq(t.calls, 0);
    msb_ratelimit_redis_loop_free(l); /* the loop never ran: nothing was answered */
    cr_assert_eq(t.calls, 5, "each completion ran once, inside the free");
    cr_assert_eq(t.canceled, 5);
    event_base_free(t.base);
    msb_ratelimit_redis_free(rl);
}

Test(redis_ratelimit_async, a_completion_may_free_the_loop)
{
    msb_ratelimit_redis_t *rl = make(100);
    tally_t t = {.base = event_base_new(), .loop_thread = pthread_self(), .want = 6};
    msb_ratelimit_redis_loop_t *l = NULL;
    cr_assert_eq(msb_ratelimit_redis_loop_new(rl, t.base, &l, NULL), MSB_OK);
    fire(l, &t, "self-free", 6);
    t.free_me = l;
    run_until_done(&t);
    /* The first answer freed the handle; the others were answered or cancelled, once each. */
    cr_assert_eq(t.ok + t.canceled, 6);
    cr_assert_geq(t.ok, 1);
    event_base_free(t.base);
    msb_ratelimit_redis_free(rl);
}

Test(redis_ratelimit_async, bad_arguments_never_call_back)
{
    msb_ratelimit_redis_t *rl = make(2);
    tally_t t = {.base = event_base_new(), .loop_thread = pthread_self()};
    msb_ratelimit_redis_loop_t *l = NULL;
    cr_assert_eq(msb_ratelimit_redis_loop_new(NULL, t.base, &l, NULL), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_redis_loop_new(rl, NULL, &l, NULL), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_redis_loop_new(rl, t.base, &l, NULL), MSB_OK);
    cr_assert_eq(msb_ratelimit_redis_take_async(l, "k", 1, 3, on_result, &t), MSB_ERANGE);
    cr_assert_eq(msb_ratelimit_redis_take_async(l, "", 0, 1, on_result, &t), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_redis_take_async(l, NULL, 1, 1, on_result, &t), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_redis_take_async(l, "k", 1, 1, NULL, &t), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_redis_take_async(NULL, "k", 1, 1, on_result, &t), MSB_EINVAL);
    char big[1025];
    memset(big, 'k', sizeof(big));
    cr_assert_eq(msb_ratelimit_redis_take_async(l, big, sizeof(big), 1, on_result, &t),
                 MSB_ETOOBIG);
    msb_ratelimit_redis_loop_free(l);
    cr_assert_eq(t.calls, 0);
    msb_ratelimit_redis_loop_free(NULL);
    cr_assert_not(msb_ratelimit_redis_loop_up(NULL));
    event_base_free(t.base);
    msb_ratelimit_redis_free(rl);
}
