/* The loop client: libcurl's multi interface on a libevent loop, against the fault server. */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <string.h>

#include "msb/client.h"
#include "support/fault_server.h"

static fault_server_t srv;
static struct event_base *base;
static msb_client_t *cl;

static void make_client(uint32_t max_host)
{
    msb_client_opts_t o = MSB_CLIENT_OPTS_INIT;
    o.base = base;
    o.max_host_connections = max_host;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_new(&o, &cl, &err), MSB_OK, "%s", err.message);
}

static void setup(void)
{
    cr_assert_eq(fault_server_start(&srv), 0, "the test server did not start");
    base = event_base_new();
    cr_assert_not_null(base);
    make_client(64);
}

static void teardown(void)
{
    msb_client_free(cl);
    event_base_free(base);
    fault_server_stop(&srv);
}

TestSuite(client_loop, .init = setup, .fini = teardown, .timeout = 60);

#define assert_has(msg, part)                                                                      \
    cr_assert_not_null(strstr((msg), (part)), "\"%s\" lacks \"%s\"", (msg), (part))

/* What a completion callback saw. */
typedef struct result {
    bool done;
    msb_status_t status;
    int http;
    uint32_t attempts;
    char body[256];
    char message[MSB_ERROR_MESSAGE_MAX];
} result_t;

static int pending;

static void on_done(msb_status_t st, msb_client_response_t *resp, const msb_error_t *err,
                    void *user)
{
    result_t *r = user;
    r->done = true;
    r->status = st;
    if (st == MSB_OK) {
        cr_assert_null(err);
        r->http = msb_client_response_status(resp);
        r->attempts = msb_client_response_attempts(resp);
        snprintf(r->body, sizeof(r->body), "%s", msb_client_response_body(resp, NULL));
        msb_client_response_free(resp);
    } else {
        cr_assert_null(resp);
        cr_assert_not_null(err);
        cr_assert_eq(err->code, st);
        snprintf(r->message, sizeof(r->message), "%s", err->message);
    }
    if (--pending == 0) {
        event_base_loopbreak(base);
    }
}

static msb_client_upstream_t *upstream(msb_client_upstream_opts_t *o)
{
    msb_client_upstream_opts_t d = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    ro.initial_backoff_ns = MSB_MSEC;
    ro.max_backoff_ns = 5 * MSB_MSEC;
    if (o == NULL) {
        o = &d;
    }
    o->base_url = srv.base;
    if (o->retry == NULL) {
        o->retry = &ro;
    }
    msb_client_upstream_t *u = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_upstream_new(o, &u, &err), MSB_OK, "%s", err.message);
    return u;
}

static msb_client_call_t *send_get(msb_client_upstream_t *u, const char *path, result_t *r)
{
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = path;
    msb_client_call_t *call = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_send(cl, &req, on_done, r, &call, &err), MSB_OK, "%s", err.message);
    pending++;
    return call;
}

static void run(void)
{
    cr_assert_eq(event_base_dispatch(base), 0);
    cr_assert_eq(pending, 0);
}

Test(client_loop, a_request_completes_on_the_loop)
{
    msb_client_upstream_t *u = upstream(NULL);
    result_t r = {0};
    send_get(u, "/ok", &r);
    cr_assert(!r.done, "never from inside msb_client_send()");
    run();
    cr_assert_eq(r.status, MSB_OK, "%s", r.message);
    cr_assert_eq(r.http, 200);
    cr_assert_str_eq(r.body, "ok");
    msb_client_upstream_free(u);
}

/* Sends the next request from the completion of the previous one. */
typedef struct chain {
    msb_client_upstream_t *u;
    int left;
    int ok;
} chain_t;

static void on_chain(msb_status_t st, msb_client_response_t *resp, const msb_error_t *err,
                     void *user)
{
    chain_t *c = user;
    (void)err;
    msb_client_response_free(resp);
    if (st == MSB_OK) {
        c->ok++;
    }
    if (--c->left == 0) {
        event_base_loopbreak(base);
        return;
    }
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = c->u;
    req.url = "/ok";
    cr_assert_eq(msb_client_send(cl, &req, on_chain, c, NULL, NULL), MSB_OK);
}

Test(client_loop, connections_are_reused_and_requests_sent_from_callbacks)
{
    msb_client_upstream_t *u = upstream(NULL);
    chain_t c = {u, 25, 0};
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/ok";
    cr_assert_eq(msb_client_send(cl, &req, on_chain, &c, NULL, NULL), MSB_OK);
    event_base_dispatch(base);
    cr_assert_eq(c.ok, 25);
    cr_assert_eq(atomic_load(&srv.connections), 1);
    msb_client_upstream_free(u);
}

Test(client_loop, many_concurrent_requests_on_one_loop)
{
    msb_client_free(cl);
    make_client(8);
    msb_bulkhead_opts_t bo = MSB_BULKHEAD_OPTS_INIT;
    bo.max_concurrent = 1000;
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.bulkhead_opts = &bo;
    msb_client_upstream_t *u = upstream(&o);
    enum { N = 300 };
    static result_t rs[N];
    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < N; i++) {
        send_get(u, i % 3 == 0 ? "/slow?ms=20" : "/big?bytes=5000", &rs[i]);
    }
    run();
    for (int i = 0; i < N; i++) {
        cr_assert_eq(rs[i].status, MSB_OK, "%d: %s", i, rs[i].message);
        cr_assert_eq(rs[i].http, 200);
    }
    cr_assert_eq(atomic_load(&srv.requests), N);
    cr_assert_leq(atomic_load(&srv.connections), 8, "max_host_connections holds: %d",
                  atomic_load(&srv.connections));
    msb_client_upstream_free(u);
}

Test(client_loop, retries_on_the_loop)
{
    msb_client_upstream_t *u = upstream(NULL);
    result_t a = {0};
    result_t b = {0};
    send_get(u, "/flaky?key=loop&fail=2&code=503", &a);
    send_get(u, "/reset", &b);
    run();
    cr_assert_eq(a.status, MSB_OK, "%s", a.message);
    cr_assert_eq(a.attempts, 3);
    cr_assert_eq(b.status, MSB_EUNAVAIL);
    assert_has(b.message, "connection reset or closed");
    assert_has(b.message, "(after 3 attempts)");
    msb_client_upstream_free(u);
}

Test(client_loop, the_deadline_on_the_loop)
{
    msb_client_upstream_t *u = upstream(NULL);
    result_t r = {0};
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/slow?ms=5000";
    req.timeout_ns = 200 * MSB_MSEC;
    cr_assert_eq(msb_client_send(cl, &req, on_done, &r, NULL, NULL), MSB_OK);
    pending++;
    uint64_t t0 = msb_clock_monotonic_ns(NULL);
    run();
    cr_assert_lt(msb_clock_monotonic_ns(NULL) - t0, 2 * MSB_SEC);
    cr_assert_eq(r.status, MSB_ETIMEDOUT);
    assert_has(r.message, "deadline exceeded (no response in the 200 ms left)");
    /* a passed deadline: the error still arrives through the loop */
    result_t p = {0};
    req.timeout_ns = 0;
    req.deadline_ns = msb_clock_monotonic_ns(NULL) - 1;
    cr_assert_eq(msb_client_send(cl, &req, on_done, &p, NULL, NULL), MSB_OK);
    pending++;
    cr_assert(!p.done);
    run();
    cr_assert_eq(p.status, MSB_ETIMEDOUT);
    msb_client_upstream_free(u);
}

/* ---- cancellation ---------------------------------------------------------------------------- */

typedef struct watch {
    msb_client_call_t *call;
    struct event *ev;
    int polls;
} watch_t;

static void cancel_when_held(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    watch_t *w = arg;
    if (atomic_load(&srv.held) >= 1) {
        msb_client_call_cancel(w->call);
        return;
    }
    struct timeval tv = {0, 1000};
    cr_assert_lt(++w->polls, 10000, "the request never reached the server");
    evtimer_add(w->ev, &tv);
}

Test(client_loop, an_in_flight_request_is_cancelled)
{
    msb_client_upstream_t *u = upstream(NULL);
    result_t r = {0};
    watch_t w = {NULL, NULL, 0};
    w.call = send_get(u, "/hold", &r);
    w.ev = evtimer_new(base, cancel_when_held, &w);
    struct timeval tv = {0, 1000};
    evtimer_add(w.ev, &tv);
    run();
    event_free(w.ev);
    cr_assert_eq(r.status, MSB_ECANCELED);
    char want[256];
    snprintf(want, sizeof(want), "GET %s/hold: cancelled", srv.base);
    cr_assert_str_eq(r.message, want);
    msb_breaker_stats_t bs = {.size = sizeof(bs)};
    msb_breaker_stats(msb_client_upstream_breaker(u), &bs);
    cr_assert_eq(bs.ignored, 1, "the breaker counts nothing for it");
    cr_assert_eq(bs.calls, 0);
    msb_bulkhead_stats_t hs = {.size = sizeof(hs)};
    msb_bulkhead_stats(msb_client_upstream_bulkhead(u), &hs);
    cr_assert_eq(hs.in_use, 0, "its place came back");
    fault_server_release(&srv);
    msb_client_upstream_free(u);
}

Test(client_loop, freeing_the_client_cancels_what_is_in_flight)
{
    msb_client_upstream_t *u = upstream(NULL);
    result_t a = {0};
    result_t b = {0};
    send_get(u, "/hold", &a);
    send_get(u, "/slow?ms=5000", &b);
    struct timeval tv = {0, 50000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    msb_client_free(cl);
    cl = NULL;
    cr_assert_eq(a.status, MSB_ECANCELED);
    cr_assert_eq(b.status, MSB_ECANCELED);
    cr_assert_eq(pending, 0);
    msb_client_upstream_stats_t s = {.size = sizeof(s)};
    msb_client_upstream_stats(u, &s);
    cr_assert_eq(s.in_flight, 0);
    fault_server_release(&srv);
    msb_client_upstream_free(u);
}

/* ---- breaker and bulkhead on the loop ------------------------------------------------------- */

Test(client_loop, an_open_breaker_rejects_through_the_loop)
{
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.name = "pay";
    msb_client_upstream_t *u = upstream(&o);
    msb_breaker_transition(msb_client_upstream_breaker(u), MSB_BREAKER_FORCED_OPEN, NULL);
    result_t r = {0};
    send_get(u, "/ok", &r);
    cr_assert(!r.done);
    run();
    cr_assert_eq(r.status, MSB_EREJECTED);
    assert_has(r.message, "/ok: breaker \"pay\" is open");
    cr_assert_eq(atomic_load(&srv.requests), 0);
    msb_client_upstream_free(u);
}

static msb_client_upstream_t *bulkhead_upstream(uint32_t max, uint64_t wait)
{
    msb_bulkhead_opts_t bo = MSB_BULKHEAD_OPTS_INIT;
    bo.max_concurrent = max;
    bo.max_wait_ns = wait;
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.bulkhead_opts = &bo;
    o.name = "bh";
    return upstream(&o);
}

static void release_when_held(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    watch_t *w = arg;
    if (atomic_load(&srv.held) >= 2) {
        fault_server_release(&srv);
        return;
    }
    struct timeval tv = {0, 1000};
    cr_assert_lt(++w->polls, 10000, "the requests never reached the server");
    evtimer_add(w->ev, &tv);
}

Test(client_loop, the_bulkhead_rejects_or_parks_on_the_loop)
{
    msb_client_upstream_t *u = bulkhead_upstream(2, 0);
    result_t r[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        send_get(u, "/hold", &r[i]);
    }
    watch_t w = {NULL, NULL, 0};
    w.ev = evtimer_new(base, release_when_held, &w);
    struct timeval tv = {0, 1000};
    evtimer_add(w.ev, &tv);
    run();
    cr_assert_eq(r[0].status, MSB_OK);
    cr_assert_eq(r[1].status, MSB_OK);
    cr_assert_eq(r[2].status, MSB_EREJECTED);
    assert_has(r[2].message, "bulkhead of upstream \"bh\" is full (all 2 places taken)");
    msb_client_upstream_free(u);

    /* with a wait: the third is parked and goes once a place comes back */
    u = bulkhead_upstream(2, 5 * MSB_SEC);
    memset(r, 0, sizeof(r));
    for (int i = 0; i < 3; i++) {
        send_get(u, i < 2 ? "/hold" : "/ok", &r[i]);
    }
    w.polls = 0;
    evtimer_add(w.ev, &tv);
    run();
    event_free(w.ev);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(r[i].status, MSB_OK, "%d: %s", i, r[i].message);
    }
    msb_client_upstream_free(u);
}

Test(client_loop, a_parked_call_times_out)
{
    msb_client_upstream_t *u = bulkhead_upstream(1, 50 * MSB_MSEC);
    result_t r[2] = {{0}};
    msb_client_call_t *first = send_get(u, "/hold", &r[0]);
    send_get(u, "/ok", &r[1]);
    struct timeval tv = {0, 300000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    cr_assert_eq(r[1].status, MSB_EREJECTED);
    assert_has(r[1].message, "still full after");
    msb_client_call_cancel(first);
    cr_assert_eq(r[0].status, MSB_ECANCELED);
    fault_server_release(&srv);
    msb_client_upstream_free(u);
}

Test(client_loop, wrong_kind_of_client)
{
    msb_client_response_t *resp = NULL;
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.url = "http://127.0.0.1:1/";
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(cl, &req, &resp, &err), MSB_EINVAL);
    assert_has(err.message, "use msb_client_send()");
    msb_client_t *blocking = NULL;
    cr_assert_eq(msb_client_new(NULL, &blocking, NULL), MSB_OK);
    cr_assert_eq(msb_client_send(blocking, &req, on_done, NULL, NULL, &err), MSB_EINVAL);
    assert_has(err.message, "use msb_client_do()");
    msb_client_free(blocking);
}
