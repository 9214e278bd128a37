/* Blocking client: the breaker per upstream (open, fast rejection, half-open, closed), the
 * classifier, the bulkhead, cancellation and streamed bodies. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "msb/client.h"
#include "support/fault_server.h"

static fault_server_t srv;
static msb_client_t *cl;
static msb_clock_t *clock_;

static void setup(void)
{
    cr_assert_eq(fault_server_start(&srv), 0, "the test server did not start");
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_new(NULL, &cl, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_clock_manual_new(MSB_SEC, 0, &clock_), MSB_OK);
}

static void teardown(void)
{
    msb_client_free(cl);
    fault_server_stop(&srv);
    msb_clock_manual_free(clock_);
}

TestSuite(client_resilience, .init = setup, .fini = teardown, .timeout = 60);

#define assert_has(msg, part)                                                                      \
    cr_assert_not_null(strstr((msg), (part)), "\"%s\" lacks \"%s\"", (msg), (part))

/* A breaker that judges 4 calls, opens at 50 % failures and waits 10 s (manual clock). */
static msb_client_upstream_t *breaker_upstream(msb_client_classify_fn classify)
{
    msb_breaker_opts_t bo = MSB_BREAKER_OPTS_INIT;
    bo.window_size = 4;
    bo.minimum_calls = 4;
    bo.open_wait_ns = 10 * MSB_SEC;
    bo.half_open_calls = 1;
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.name = "users";
    o.base_url = srv.base;
    o.clock = clock_;
    o.breaker_opts = &bo;
    o.no_retry = true;
    o.classify = classify;
    msb_client_upstream_t *u = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_upstream_new(&o, &u, &err), MSB_OK, "%s", err.message);
    return u;
}

static msb_status_t get(msb_client_upstream_t *u, const char *path, int *status, msb_error_t *err)
{
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = path;
    msb_client_response_t *r = NULL;
    msb_status_t rc = msb_client_do(cl, &req, &r, err);
    *status = msb_client_response_status(r);
    msb_client_response_free(r);
    return rc;
}

Test(client_resilience, the_breaker_opens_rejects_fast_and_half_opens)
{
    msb_client_upstream_t *u = breaker_upstream(NULL);
    msb_breaker_t *b = msb_client_upstream_breaker(u);
    cr_assert_str_eq(msb_breaker_name(b), "users");
    int st = 0;
    msb_error_t err = MSB_ERROR_INIT;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(get(u, "/status?code=500", &st, &err), MSB_OK);
        cr_assert_eq(st, 500);
    }
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_OPEN);
    int before = atomic_load(&srv.requests);
    cr_assert_eq(get(u, "/ok", &st, &err), MSB_EREJECTED);
    char want[256];
    snprintf(want, sizeof(want), "GET %s/ok: breaker \"users\" is open", srv.base);
    cr_assert_str_eq(err.message, want);
    cr_assert_eq(atomic_load(&srv.requests), before, "nothing was sent");
    msb_client_upstream_stats_t s = {.size = sizeof(s)};
    msb_client_upstream_stats(u, &s);
    cr_assert_eq(s.breaker_rejected, 1);
    cr_assert_eq(s.errors, 1);
    /* the wait ends: one probe goes through, succeeds, and the breaker closes */
    msb_clock_manual_advance(clock_, 11 * MSB_SEC);
    cr_assert_eq(get(u, "/ok", &st, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_breaker_state(b), MSB_BREAKER_CLOSED);
    msb_client_upstream_free(u);
}

Test(client_resilience, transport_failures_open_the_breaker)
{
    msb_client_upstream_t *u = breaker_upstream(NULL);
    int st = 0;
    msb_error_t err = MSB_ERROR_INIT;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(get(u, "/reset", &st, &err), MSB_EUNAVAIL);
    }
    cr_assert_eq(msb_breaker_state(msb_client_upstream_breaker(u)), MSB_BREAKER_OPEN);
    msb_client_upstream_free(u);
}

Test(client_resilience, client_errors_do_not_open_the_breaker)
{
    msb_client_upstream_t *u = breaker_upstream(NULL);
    int st = 0;
    msb_error_t err = MSB_ERROR_INIT;
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(get(u, i % 2 ? "/status?code=404" : "/status?code=429", &st, &err), MSB_OK);
    }
    msb_breaker_stats_t bs = {.size = sizeof(bs)};
    msb_breaker_stats(msb_client_upstream_breaker(u), &bs);
    cr_assert_eq(bs.state, MSB_BREAKER_CLOSED);
    cr_assert_eq(bs.ignored, 10);
    cr_assert_eq(bs.calls, 0);
    msb_client_upstream_free(u);
}

/* Counts 404 as a failure (and never retries). */
static void strict(const msb_client_outcome_t *o, msb_breaker_outcome_t *b, bool *retry, void *u)
{
    (void)u;
    *retry = false;
    *b = o->error != MSB_OK || o->http_status >= 400 ? MSB_BREAKER_FAILURE : MSB_BREAKER_SUCCESS;
}

Test(client_resilience, a_custom_classifier)
{
    msb_client_upstream_t *u = breaker_upstream(strict);
    int st = 0;
    msb_error_t err = MSB_ERROR_INIT;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(get(u, "/status?code=404", &st, &err), MSB_OK);
    }
    cr_assert_eq(msb_breaker_state(msb_client_upstream_breaker(u)), MSB_BREAKER_OPEN);
    msb_client_upstream_free(u);
}

Test(client_resilience, the_default_classifier)
{
    msb_breaker_outcome_t b;
    bool retry;
    msb_client_outcome_t o = {sizeof(o), MSB_OK, 503, "GET", true, true};
    msb_client_classify_default(&o, &b, &retry, NULL);
    cr_assert(b == MSB_BREAKER_FAILURE && retry);
    o.http_status = 500;
    msb_client_classify_default(&o, &b, &retry, NULL);
    cr_assert(b == MSB_BREAKER_FAILURE && !retry);
    o.http_status = 429;
    msb_client_classify_default(&o, &b, &retry, NULL);
    cr_assert(b == MSB_BREAKER_IGNORED && retry);
    o.http_status = 201;
    msb_client_classify_default(&o, &b, &retry, NULL);
    cr_assert(b == MSB_BREAKER_SUCCESS && !retry);
    o.http_status = 503;
    o.idempotent = false;
    msb_client_classify_default(&o, &b, &retry, NULL);
    cr_assert(b == MSB_BREAKER_FAILURE && !retry, "sent and not idempotent");
    o.error = MSB_EUNAVAIL;
    o.http_status = 0;
    o.sent = false;
    msb_client_classify_default(&o, &b, &retry, NULL);
    cr_assert(b == MSB_BREAKER_FAILURE && retry, "never left: safe");
    o.error = MSB_ETOOBIG;
    msb_client_classify_default(&o, &b, &retry, NULL);
    cr_assert(b == MSB_BREAKER_IGNORED && !retry);
    o.error = MSB_ETIMEDOUT;
    o.sent = true;
    o.idempotent = true;
    msb_client_classify_default(&o, &b, &retry, NULL);
    cr_assert(b == MSB_BREAKER_FAILURE && retry);
}

/* ---- the bulkhead --------------------------------------------------------------------------- */

typedef struct holder {
    msb_client_upstream_t *u;
    msb_status_t rc;
    int status;
} holder_t;

static void *hold(void *arg)
{
    holder_t *h = arg;
    msb_error_t err = MSB_ERROR_INIT;
    h->rc = get(h->u, "/hold", &h->status, &err);
    return NULL;
}

static msb_client_upstream_t *bulkhead_upstream(uint64_t wait_ns)
{
    msb_bulkhead_opts_t bo = MSB_BULKHEAD_OPTS_INIT;
    bo.max_concurrent = 1;
    bo.max_wait_ns = wait_ns;
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.name = "orders";
    o.base_url = srv.base;
    o.bulkhead_opts = &bo;
    o.no_retry = true;
    msb_client_upstream_t *u = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_upstream_new(&o, &u, &err), MSB_OK, "%s", err.message);
    return u;
}

Test(client_resilience, a_full_bulkhead_rejects)
{
    msb_client_upstream_t *u = bulkhead_upstream(0);
    holder_t h = {u, MSB_EINTERNAL, 0};
    pthread_t t;
    pthread_create(&t, NULL, hold, &h);
    cr_assert(fault_server_wait_held(&srv, 1));
    int st = 0;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(get(u, "/ok", &st, &err), MSB_EREJECTED);
    char want[256];
    snprintf(want, sizeof(want),
             "GET %s/ok: bulkhead of upstream \"orders\" is full (all 1 places taken)", srv.base);
    cr_assert_str_eq(err.message, want);
    fault_server_release(&srv);
    pthread_join(t, NULL);
    cr_assert_eq(h.rc, MSB_OK);
    cr_assert_eq(get(u, "/ok", &st, &err), MSB_OK, "the place came back");
    msb_client_upstream_stats_t s = {.size = sizeof(s)};
    msb_client_upstream_stats(u, &s);
    cr_assert_eq(s.bulkhead_rejected, 1);
    msb_client_upstream_free(u);
}

Test(client_resilience, the_bulkhead_wait_is_bounded)
{
    msb_client_upstream_t *u = bulkhead_upstream(100 * MSB_MSEC);
    holder_t h = {u, MSB_EINTERNAL, 0};
    pthread_t t;
    pthread_create(&t, NULL, hold, &h);
    cr_assert(fault_server_wait_held(&srv, 1));
    int st = 0;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(get(u, "/ok", &st, &err), MSB_EREJECTED);
    assert_has(err.message, "is full (all 1 places taken, still full after 1");
    fault_server_release(&srv);
    pthread_join(t, NULL);
    msb_client_upstream_free(u);
}

/* ---- cancellation --------------------------------------------------------------------------- */

typedef struct canceller {
    msb_retry_cancel_t *token;
} canceller_t;

static void *cancel_when_held(void *arg)
{
    canceller_t *c = arg;
    fault_server_wait_held(&srv, 1);
    msb_retry_cancel(c->token);
    return NULL;
}

Test(client_resilience, a_blocking_call_is_cancelled_from_another_thread)
{
    msb_retry_cancel_t *token = NULL;
    cr_assert_eq(msb_retry_cancel_new(&token), MSB_OK);
    canceller_t c = {token};
    pthread_t t;
    pthread_create(&t, NULL, cancel_when_held, &c);
    char url[256];
    snprintf(url, sizeof(url), "%s/hold", srv.base);
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.url = url;
    req.cancel = token;
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_ECANCELED);
    char want[256];
    snprintf(want, sizeof(want), "GET %s/hold: cancelled", srv.base);
    cr_assert_str_eq(err.message, want);
    pthread_join(t, NULL);
    /* a cancelled token stops a call before it starts */
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_ECANCELED);
    fault_server_release(&srv);
    msb_retry_cancel_free(token);
}

/* ---- streamed bodies ------------------------------------------------------------------------ */

typedef struct sink {
    size_t bytes;
    int calls;
    int status;
    size_t stop_after;
} sink_t;

static int collect(const msb_client_response_t *head, const void *data, size_t len, void *user)
{
    sink_t *s = user;
    (void)data;
    s->status = msb_client_response_status(head);
    s->bytes += len;
    s->calls++;
    return s->stop_after != 0 && s->bytes >= s->stop_after ? 1 : 0;
}

Test(client_resilience, bodies_can_be_streamed)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/chunked?bytes=200000&chunk=1000", srv.base);
    sink_t s = {0, 0, 0, 0};
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.url = url;
    req.on_body = collect;
    req.body_user = &s;
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(s.bytes, 200000);
    cr_assert_gt(s.calls, 1);
    cr_assert_eq(s.status, 200);
    size_t len = 1;
    msb_client_response_body(r, &len);
    cr_assert_eq(len, 0, "nothing kept");
    msb_client_response_free(r);
    /* the callback stops it */
    s = (sink_t){0, 0, 0, 10000};
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_ECANCELED);
    assert_has(err.message, "the body callback stopped the transfer");
}

Test(client_resilience, a_retried_body_is_streamed_once)
{
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    ro.initial_backoff_ns = MSB_MSEC;
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.base_url = srv.base;
    o.retry = &ro;
    msb_client_upstream_t *u = NULL;
    cr_assert_eq(msb_client_upstream_new(&o, &u, NULL), MSB_OK);
    sink_t s = {0, 0, 0, 0};
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/flaky?key=stream&fail=2&code=503";
    req.on_body = collect;
    req.body_user = &s;
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(s.bytes, 2, "only the final \"ok\"");
    cr_assert_eq(s.status, 200);
    msb_client_response_free(r);
    /* the last attempt's 503, kept for a retry the policy refused, arrives once at the end */
    s = (sink_t){0, 0, 0, 0};
    req.url = "/status?code=503";
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(s.bytes, strlen("status 503"));
    cr_assert_eq(s.calls, 1);
    cr_assert_eq(s.status, 503);
    msb_client_response_free(r);
    msb_client_upstream_free(u);
}
