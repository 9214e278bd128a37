/*
 * Graceful stop: in-flight requests finish (with Connection: close), idle connections close at
 * once, the drain deadline forces what is left, and nothing is accepted afterwards.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>

#include "unit/http_test.h"

static msb_http_server_t *srv;
static uint16_t port;
static atomic_int aborted;
static atomic_int abort_why;

static void on_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    msb_http_respond(arg, 200, "text/plain", "finished", 8);
}

static msb_status_t h_slow(msb_http_req_t *req, void *user)
{
    (void)user;
    msb_http_defer(req, NULL, NULL);
    struct timeval tv = {0, 200000};
    event_base_once(msb_http_loop_base(msb_http_req_loop(req)), -1, EV_TIMEOUT, on_later, req, &tv);
    return MSB_OK;
}

static void on_abort(msb_http_req_t *req, msb_status_t why, void *user)
{
    (void)user;
    atomic_store(&abort_why, why);
    atomic_fetch_add(&aborted, 1);
    msb_http_respond(req, 200, "text/plain", "dropped", 7);
}

static msb_status_t h_never(msb_http_req_t *req, void *user)
{
    (void)user;
    return msb_http_defer(req, on_abort, NULL);
}

static void start(int workers)
{
    atomic_store(&aborted, 0);
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.workers = workers;
    o.handler_timeout_ms = 0;
    srv = t_server(&o);
    t_route(msb_http_server_root(srv), "GET", "/", t_hello, NULL);
    t_route(msb_http_server_root(srv), "GET", "/slow", h_slow, NULL);
    t_route(msb_http_server_root(srv), "GET", "/never", h_never, NULL);
    t_start(srv);
    port = msb_http_server_port(srv);
}

static void wait_inflight(uint64_t n)
{
    msb_http_server_stats_t st;
    uint64_t t0 = t_now_ms();
    do {
        struct pollfd p = {-1, 0, 0};
        poll(&p, 0, 5);
        msb_http_server_stats(srv, &st);
    } while (st.requests_inflight < n && t_now_ms() - t0 < 5000);
    cr_assert_eq(st.requests_inflight, n);
}

TestSuite(http_stop, .timeout = 30);

Test(http_stop, in_flight_requests_finish)
{
    start(2);
    t_conn_t *c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = malloc(sizeof(t_conn_t));
        t_open(c[i], port);
        cr_assert(t_sends(c[i]->fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    t_conn_t *idle = malloc(sizeof(t_conn_t));
    t_open(idle, port);
    t_resp_t r;
    cr_assert(t_sends(idle->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    cr_assert(t_read_resp(idle, &r, false));
    t_resp_free(&r);
    wait_inflight(4);
    uint64_t t0 = t_now_ms();
    cr_assert_eq(msb_http_server_stop(srv, 5000, NULL), MSB_OK);
    cr_assert_lt(t_now_ms() - t0, 3000);
    for (int i = 0; i < 4; i++) {
        cr_assert(t_read_resp(c[i], &r, false), "request %d was dropped", i);
        cr_assert_str_eq(r.body, "finished");
        cr_assert(r.closed, "Connection: close while draining");
        t_resp_free(&r);
        cr_assert(t_closed(c[i]));
        t_close(c[i]);
        free(c[i]);
    }
    cr_assert(t_closed(idle), "the idle connection was closed");
    t_close(idle);
    free(idle);
    cr_assert_lt(t_connect(port), 0, "no longer accepting");
    cr_assert_eq(msb_http_server_stop(srv, 0, NULL), MSB_EINVAL);
    msb_http_server_free(srv);
}

Test(http_stop, deadline_forces_and_aborts)
{
    start(1);
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    cr_assert(t_sends(c->fd, "GET /never HTTP/1.1\r\nHost: x\r\n\r\n"));
    wait_inflight(1);
    msb_error_t err = MSB_ERROR_INIT;
    uint64_t t0 = t_now_ms();
    cr_assert_eq(msb_http_server_stop(srv, 150, &err), MSB_ETIMEDOUT);
    uint64_t dt = t_now_ms() - t0;
    cr_assert(dt >= 100 && dt < 3000, "%llu ms", (unsigned long long)dt);
    cr_assert(strstr(err.message, "150 ms") != NULL, "%s", err.message);
    cr_assert_eq(atomic_load(&aborted), 1);
    cr_assert_eq(atomic_load(&abort_why), MSB_ECLOSED);
    cr_assert(t_closed(c));
    t_close(c);
    free(c);
    msb_http_server_free(srv);
}

Test(http_stop, free_without_stop_and_stop_before_start)
{
    msb_http_server_t *s = t_server(NULL);
    cr_assert_eq(msb_http_server_stop(s, 0, NULL), MSB_EINVAL);
    msb_http_server_free(s);
    start(2);
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    cr_assert(t_sends(c->fd, "GET /never HTTP/1.1\r\nHost: x\r\n\r\n"));
    wait_inflight(1);
    msb_http_server_free(srv); /* stops at once: the deferred request is aborted */
    cr_assert_eq(atomic_load(&aborted), 1);
    cr_assert(t_closed(c));
    t_close(c);
    free(c);
    msb_http_server_free(NULL);
}
