/* The client inside a libmsb HTTP service: a loop client per worker loop, a handler that defers,
 * calls an upstream with the request's deadline, and answers from the completion; an aborted
 * request cancels its outbound call. */
#include <criterion/criterion.h>
#include <string.h>

#include "msb/client.h"
#include "msb/http.h"
#include "msb/http_request.h"
#include "msb/http_response.h"
#include "support/fault_server.h"

static fault_server_t upstream_srv;
static msb_client_upstream_t *up;
static msb_http_server_t *server;
static msb_client_t *worker_client; /* the single worker's; touched on its thread */
static msb_client_t *outside;       /* the test's own blocking client */
static atomic_int aborted_calls;

typedef struct pending {
    msb_http_req_t *req;
    msb_client_call_t *call;
    bool aborted;
} pending_t;

static void on_worker_start(msb_http_loop_t *loop, void *user)
{
    (void)user;
    msb_client_opts_t o = MSB_CLIENT_OPTS_INIT;
    o.base = msb_http_loop_base(loop);
    cr_assert_eq(msb_client_new(&o, &worker_client, NULL), MSB_OK);
}

static void on_worker_stop(msb_http_loop_t *loop, void *user)
{
    (void)loop;
    (void)user;
    msb_client_free(worker_client);
    worker_client = NULL;
}

static void answer_later(msb_http_loop_t *loop, void *user)
{
    (void)loop;
    pending_t *p = user;
    msb_http_respond_problem(p->req, 502, "cancelled"); /* owed once; dropped by the server */
}

static void on_upstream(msb_status_t st, msb_client_response_t *resp, const msb_error_t *err,
                        void *user)
{
    pending_t *p = user;
    if (p->aborted) {
        /* inside on_abort (msb_client_call_cancel runs this callback at once): answer from the
         * loop, after the server has finished its own timeout handling */
        atomic_fetch_add(&aborted_calls, 1);
        cr_assert_eq(st, MSB_ECANCELED);
        msb_http_loop_post(msb_http_req_loop(p->req), answer_later, p);
        return;
    }
    if (st == MSB_OK) {
        size_t len = 0;
        const char *body = msb_client_response_body(resp, &len);
        msb_http_respond(p->req, msb_client_response_status(resp), "text/plain", body, len);
        msb_client_response_free(resp);
    } else {
        msb_http_respond_problem(p->req, 502, err->message);
    }
}

static void on_abort(msb_http_req_t *req, msb_status_t why, void *user)
{
    (void)req;
    (void)why;
    pending_t *p = user;
    p->aborted = true;
    msb_client_call_cancel(p->call); /* runs on_upstream, which answers (dropped) */
}

/* A route: the upstream path, and a grace added to the request's deadline (so that, for the
 * abort test, the server's own deadline fires before the outbound call's). */
typedef struct route {
    const char *path;
    uint64_t grace_ns;
} route_t;

static const route_t echo_route = {"/echo", 0};
static const route_t slow_route = {"/slow?ms=3000", 2 * MSB_SEC};

static msb_status_t proxy(msb_http_req_t *req, void *user)
{
    const route_t *route = user;
    pending_t *p = msb_http_req_alloc(req, sizeof(*p));
    if (p == NULL) {
        return MSB_ENOMEM;
    }
    p->req = req;
    p->aborted = false;
    msb_client_req_t r = MSB_CLIENT_REQ_INIT;
    r.upstream = up;
    r.url = route->path;
    r.deadline_ns = msb_http_req_deadline_ns(req) + route->grace_ns;
    msb_status_t rc = msb_client_send(worker_client, &r, on_upstream, p, &p->call, NULL);
    if (rc != MSB_OK) {
        return rc;
    }
    return msb_http_defer(req, on_abort, p);
}

static void setup(void)
{
    cr_assert_eq(fault_server_start(&upstream_srv), 0);
    msb_client_upstream_opts_t uo = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    uo.base_url = upstream_srv.base;
    uo.name = "echo";
    cr_assert_eq(msb_client_upstream_new(&uo, &up, NULL), MSB_OK);
    msb_http_server_opts_t so = MSB_HTTP_SERVER_OPTS_INIT;
    so.listen = "127.0.0.1:0";
    so.handler_timeout_ms = 400;
    so.on_worker_start = on_worker_start;
    so.on_worker_stop = on_worker_stop;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_http_server_new(&so, &server, &err), MSB_OK, "%s", err.message);
    msb_http_group_t *root = msb_http_server_root(server);
    cr_assert_eq(msb_http_route(root, "GET", "/proxy", proxy, (void *)&echo_route, &err), MSB_OK,
                 "%s", err.message);
    cr_assert_eq(msb_http_route(root, "GET", "/slow", proxy, (void *)&slow_route, &err), MSB_OK,
                 "%s", err.message);
    cr_assert_eq(msb_http_server_start(server, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_client_new(NULL, &outside, NULL), MSB_OK);
    atomic_store(&aborted_calls, 0);
}

static void teardown(void)
{
    msb_client_free(outside);
    msb_http_server_stop(server, 1000, NULL);
    msb_http_server_free(server);
    msb_client_upstream_free(up);
    fault_server_stop(&upstream_srv);
}

TestSuite(client_http, .init = setup, .fini = teardown, .timeout = 60);

static msb_status_t call_service(const char *path, msb_client_response_t **r, msb_error_t *err)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)msb_http_server_port(server),
             path);
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.url = url;
    req.no_retry = true;
    return msb_client_do(outside, &req, r, err);
}

Test(client_http, a_handler_calls_an_upstream_within_its_deadline)
{
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(call_service("/proxy", &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_client_response_status(r), 200);
    char v[64];
    fs_header_value(msb_client_response_body(r, NULL), "X-Request-Timeout-Ms", v, sizeof(v));
    long ms = strtol(v, NULL, 10);
    cr_assert(ms > 0 && ms <= 400, "the handler's deadline travels on: %s", v);
    msb_client_response_free(r);
}

Test(client_http, an_aborted_request_cancels_its_outbound_call)
{
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    uint64_t t0 = msb_clock_monotonic_ns(NULL);
    cr_assert_eq(call_service("/slow", &r, &err), MSB_OK, "%s", err.message);
    uint64_t took_ms = (msb_clock_monotonic_ns(NULL) - t0) / MSB_MSEC;
    int st = msb_client_response_status(r);
    cr_assert_eq(st, 503, "the server answered at the handler's deadline");
    cr_assert_lt(took_ms, 2500, "well before the upstream's 3 s");
    msb_client_response_free(r);
    msb_client_upstream_stats_t s = {.size = sizeof(s)};
    msb_client_upstream_stats(up, &s);
    cr_assert_eq(s.calls, 1);
    cr_assert_eq(s.errors, 1, "cancelled, not answered");
    cr_assert_eq(atomic_load(&aborted_calls), 1, "the abort cancelled the outbound call");
    cr_assert_eq(s.in_flight, 0);
}
