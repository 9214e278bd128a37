/*
 * The middleware hook protocol: order of on_request / on_response / on_complete, stopping,
 * pausing and resuming, per-request state, hooks for answers given before routing.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <pthread.h>

#include "unit/http_test.h"

static msb_http_server_t *srv;
static uint16_t port;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static char events[4096];

/* Append prefix + name + " " to the event log. */
static void note(const char *prefix, const char *name)
{
    pthread_mutex_lock(&lock);
    size_t n = strlen(events);
    snprintf(events + n, sizeof(events) - n, "%s%s ", prefix, name);
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

/* Wait (up to 3 s) until the log has as many bytes as `want`, then compare. */
static void wait_events(const char *want)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 3;
    pthread_mutex_lock(&lock);
    while (strlen(events) < strlen(want)) {
        if (pthread_cond_timedwait(&cond, &lock, &until) != 0) {
            break;
        }
    }
    char got[4096];
    snprintf(got, sizeof(got), "%s", events);
    pthread_mutex_unlock(&lock);
    cr_assert_str_eq(got, want);
}

typedef struct st {
    int seen;
} st_t;

static void on_timer_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cr_assert_eq(msb_http_mw_resume(arg), MSB_OK);
}

static msb_http_mw_result_t rq(msb_http_req_t *req, void *state, void *user)
{
    const char *name = user;
    st_t *st = state;
    st->seen = 1;
    note("req:", name);
    const char *path = msb_http_req_path(req);
    if (strcmp(name, "B") == 0 && strcmp(path, "/blocked") == 0) {
        msb_http_respond_problem(req, 403, "blocked by B");
        return MSB_HTTP_DONE;
    }
    if (strcmp(name, "B") == 0 && strcmp(path, "/forgot") == 0) {
        return MSB_HTTP_DONE; /* without answering */
    }
    if (strcmp(name, "B") == 0 && strcmp(path, "/pause") == 0) {
        struct timeval tv = {0, 20000};
        event_base_once(msb_http_loop_base(msb_http_req_loop(req)), -1, EV_TIMEOUT, on_timer_resume,
                        req, &tv);
        return MSB_HTTP_PAUSE;
    }
    return MSB_HTTP_NEXT;
}

static void rs(msb_http_req_t *req, void *state, void *user)
{
    st_t *st = state;
    note(st->seen ? "resp:" : "resp0:", user);
    msb_http_resp_header_add(req, "X-Seen", user);
}

static void done(msb_http_req_t *req, void *state, void *user)
{
    (void)state;
    note(msb_http_responded(req) ? "done:" : "gone:", user);
}

static msb_http_mw_t *hooks(const char *name)
{
    msb_http_mw_ops_t ops = MSB_HTTP_MW_OPS_INIT;
    ops.name = name;
    ops.state_size = sizeof(st_t);
    ops.on_request = rq;
    ops.on_response = rs;
    ops.on_complete = done;
    msb_http_mw_t *mw;
    cr_assert_eq(msb_http_mw_new(&ops, (void *)name, &mw, NULL), MSB_OK);
    return mw;
}

static msb_status_t h_note(msb_http_req_t *req, void *user)
{
    (void)user;
    note("", "handler");
    return msb_http_respond(req, 200, "text/plain", "ok", 2);
}

static void setup(void)
{
    events[0] = '\0';
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.default_middleware = false;
    srv = t_server(&o);
    msb_http_group_t *root = msb_http_server_root(srv);
    const char *names[] = {"A", "B", "C"};
    for (int i = 0; i < 3; i++) {
        msb_http_mw_t *mw = hooks(names[i]);
        cr_assert_eq(msb_http_group_use(root, mw, NULL), MSB_OK);
        msb_http_mw_free(mw);
    }
    t_route(root, "GET", "/ok", h_note, NULL);
    t_route(root, "GET", "/blocked", h_note, NULL);
    t_route(root, "GET", "/forgot", h_note, NULL);
    t_route(root, "GET", "/pause", h_note, NULL);
    t_start(srv);
    port = msb_http_server_port(srv);
}

static void teardown(void)
{
    msb_http_server_stop(srv, 1000, NULL);
    msb_http_server_free(srv);
}

TestSuite(http_hooks, .init = setup, .fini = teardown, .timeout = 30);

Test(http_hooks, order_of_the_hooks)
{
    t_resp_t r;
    cr_assert(t_exchange(port, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert(strstr(r.head, "X-Seen: C\r\nX-Seen: B\r\nX-Seen: A\r\n") != NULL, "%s", r.head);
    t_resp_free(&r);
    wait_events("req:A req:B req:C handler resp:C resp:B resp:A done:C done:B done:A ");
}

Test(http_hooks, a_middleware_that_answers_stops_the_chain)
{
    t_resp_t r;
    cr_assert(t_exchange(port, "GET /blocked HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_eq(r.status, 403);
    cr_assert(strstr(r.body, "blocked by B") != NULL);
    t_resp_free(&r);
    wait_events("req:A req:B resp:B resp:A done:B done:A ");
}

Test(http_hooks, stopping_without_an_answer_is_a_500)
{
    t_resp_t r;
    cr_assert(t_exchange(port, "GET /forgot HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_eq(r.status, 500);
    t_resp_free(&r);
}

Test(http_hooks, pause_and_resume)
{
    t_resp_t r;
    cr_assert(t_exchange(port, "GET /pause HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_eq(r.status, 200);
    t_resp_free(&r);
    wait_events("req:A req:B req:C handler resp:C resp:B resp:A done:C done:B done:A ");
}

Test(http_hooks, answers_before_routing_run_response_and_complete_with_zero_state)
{
    t_resp_t r;
    cr_assert(t_exchange(port, "GET /ok HTTP/1.1\r\nHost: x\r\nBad: \x01\r\n\r\n", &r));
    cr_assert_eq(r.status, 400);
    cr_assert(r.closed);
    t_resp_free(&r);
    wait_events("resp0:C resp0:B resp0:A done:C done:B done:A ");
}

Test(http_hooks, chain_length_is_bounded)
{
    msb_http_group_t *g;
    msb_error_t err = MSB_ERROR_INIT;
    msb_http_server_t *s2 = t_server(NULL);
    cr_assert_eq(msb_http_group_new(msb_http_server_root(s2), "/g", NULL, &g, NULL), MSB_OK);
    msb_status_t rc = MSB_OK;
    int n = 0;
    while (rc == MSB_OK && n < 40) {
        msb_http_mw_t *mw = hooks("x");
        rc = msb_http_group_use(g, mw, &err);
        msb_http_mw_free(mw);
        n++;
    }
    cr_assert_eq(rc, MSB_ELIMIT);
    cr_assert_eq(n, 32, "the root's request id plus 31");
    msb_http_server_free(s2);
    cr_assert_eq(msb_http_mw_resume(NULL), MSB_EINVAL);
}
