/*
 * Answering later: deferred handlers answered from a timer or from another thread, the handler
 * deadline (503/504 and the abort callback), clients that leave, streams with back-pressure.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <pthread.h>

#include "unit/http_test.h"

static msb_http_server_t *srv;
static uint16_t port;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static msb_status_t abort_why = MSB_OK;
static int aborts;
static msb_status_t late_rc = (msb_status_t)-1;

static void on_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    msb_http_respond(arg, 200, "text/plain", "later", 5);
}

static msb_status_t h_timer(msb_http_req_t *req, void *user)
{
    (void)user;
    msb_http_defer(req, NULL, NULL);
    struct timeval tv = {0, 30000};
    event_base_once(msb_http_loop_base(msb_http_req_loop(req)), -1, EV_TIMEOUT, on_later, req, &tv);
    return MSB_OK;
}

static void on_post(msb_http_loop_t *loop, void *user)
{
    (void)loop;
    msb_http_respond(user, 200, "text/plain", "from a thread", 13);
}

static void *worker(void *arg)
{
    msb_http_req_t *req = arg;
    usleep(20000);
    msb_http_loop_post(msb_http_req_loop(req), on_post, req);
    return NULL;
}

static msb_status_t h_thread(msb_http_req_t *req, void *user)
{
    (void)user;
    msb_http_defer(req, NULL, NULL);
    pthread_t t;
    pthread_create(&t, NULL, worker, req);
    pthread_detach(t);
    return MSB_OK;
}

static void record_abort(msb_http_req_t *req, msb_status_t why, void *user)
{
    (void)req;
    (void)user;
    pthread_mutex_lock(&lock);
    abort_why = why;
    aborts++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static void on_too_late(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    msb_status_t rc = msb_http_respond(arg, 200, "text/plain", "too late", 8);
    pthread_mutex_lock(&lock);
    late_rc = rc;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

/* Defers, and answers 300 ms later: after the 100 ms deadline or after the client left. */
static msb_status_t h_slow(msb_http_req_t *req, void *user)
{
    (void)user;
    cr_assert_neq(msb_http_req_deadline_ns(req), 0);
    msb_http_defer(req, record_abort, NULL);
    cr_assert_eq(msb_http_defer(req, NULL, NULL), MSB_EEXIST);
    struct timeval tv = {0, 300000};
    event_base_once(msb_http_loop_base(msb_http_req_loop(req)), -1, EV_TIMEOUT, on_too_late, req,
                    &tv);
    return MSB_OK;
}

typedef struct streamer {
    int left;
} streamer_t;

static void pump(msb_http_req_t *req, void *user)
{
    streamer_t *s = user;
    static char block[65536];
    memset(block, 'z', sizeof(block));
    while (s->left > 0) {
        if (msb_http_stream_write(req, block, sizeof(block)) != MSB_OK) {
            msb_http_stream_end(req);
            return;
        }
        s->left--;
        if (msb_http_stream_pending(req) > 4 * sizeof(block)) {
            msb_http_stream_on_drain(req, pump, s);
            return;
        }
    }
    msb_http_stream_end(req);
}

static msb_status_t h_bigstream(msb_http_req_t *req, void *user)
{
    (void)user;
    streamer_t *s = msb_http_req_alloc(req, sizeof(*s));
    s->left = 160; /* 10 MiB */
    msb_http_stream_begin(req, 200, "application/octet-stream");
    pump(req, s);
    return MSB_OK;
}

static void setup(void)
{
    abort_why = MSB_OK;
    aborts = 0;
    late_rc = (msb_status_t)-1;
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.handler_timeout_ms = 100;
    srv = t_server(&o);
    msb_http_group_t *root = msb_http_server_root(srv);
    msb_http_group_t *g504;
    msb_http_group_opts_t go = MSB_HTTP_GROUP_OPTS_INIT;
    go.timeout_status = 504;
    cr_assert_eq(msb_http_group_new(root, "/g", &go, &g504, NULL), MSB_OK);
    t_route(root, "GET", "/timer", h_timer, NULL);
    t_route(root, "GET", "/thread", h_thread, NULL);
    t_route(root, "GET", "/slow", h_slow, NULL);
    t_route(g504, "GET", "/slow", h_slow, NULL);
    t_route(root, "GET", "/big", h_bigstream, NULL);
    t_start(srv);
    port = msb_http_server_port(srv);
}

static void teardown(void)
{
    msb_http_server_stop(srv, 2000, NULL);
    msb_http_server_free(srv);
}

TestSuite(http_async, .init = setup, .fini = teardown, .timeout = 30);

Test(http_async, answer_from_a_timer_and_from_a_thread)
{
    t_resp_t r;
    cr_assert(t_exchange(port, "GET /timer HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_str_eq(r.body, "later");
    t_resp_free(&r);
    cr_assert(t_exchange(port, "GET /thread HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_str_eq(r.body, "from a thread");
    t_resp_free(&r);
}

Test(http_async, pipelined_requests_wait_for_a_deferred_one)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    cr_assert(t_sends(c->fd, "GET /timer HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /thread HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /timer HTTP/1.1\r\nHost: x\r\n\r\n"));
    const char *want[] = {"later", "from a thread", "later"};
    for (int i = 0; i < 3; i++) {
        t_resp_t r;
        cr_assert(t_read_resp(c, &r, false));
        cr_assert_str_eq(r.body, want[i]);
        t_resp_free(&r);
    }
    t_close(c);
    free(c);
}

static void wait_late_answer(void)
{
    pthread_mutex_lock(&lock);
    while (late_rc == (msb_status_t)-1) {
        pthread_cond_wait(&cond, &lock);
    }
    pthread_mutex_unlock(&lock);
}

Test(http_async, handler_deadline_answers_503_and_drops_the_late_answer)
{
    t_resp_t r;
    uint64_t t0 = t_now_ms();
    cr_assert(t_exchange(port, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_eq(r.status, 503);
    cr_assert(strstr(r.body, "deadline") != NULL);
    cr_assert(r.closed);
    cr_assert_lt(t_now_ms() - t0, 290, "answered at the deadline, not by the handler");
    t_resp_free(&r);
    wait_late_answer();
    cr_assert_eq(late_rc, MSB_OK, "the late answer is accepted and dropped");
    pthread_mutex_lock(&lock);
    cr_assert_eq(aborts, 1);
    cr_assert_eq(abort_why, MSB_ETIMEDOUT);
    pthread_mutex_unlock(&lock);
}

Test(http_async, group_can_answer_504)
{
    t_resp_t r;
    cr_assert(t_exchange(port, "GET /g/slow HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_eq(r.status, 504);
    t_resp_free(&r);
    wait_late_answer();
}

Test(http_async, client_leaving_aborts_the_deferred_request)
{
    int fd = t_connect(port);
    cr_assert(t_sends(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    usleep(20000);
    close(fd);
    pthread_mutex_lock(&lock);
    while (aborts == 0) {
        pthread_cond_wait(&cond, &lock);
    }
    cr_assert_eq(abort_why, MSB_ECANCELED);
    pthread_mutex_unlock(&lock);
    wait_late_answer();
    cr_assert_eq(late_rc, MSB_OK);
}

Test(http_async, stream_with_back_pressure)
{
    t_resp_t r;
    int fd = t_connect(port);
    cr_assert(t_sends(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    usleep(100000); /* let the server fill the socket and wait for a drain */
    t_conn_t *c = malloc(sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    cr_assert(t_read_resp(c, &r, false));
    cr_assert_eq(r.body_len, 160 * 65536);
    cr_assert_eq(r.body[r.body_len - 1], 'z');
    t_resp_free(&r);
    close(fd);
    free(c);
}
