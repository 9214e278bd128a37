/*
 * A multi-threaded server under concurrent clients (for TSan): several workers in both listener
 * modes, keep-alive and pipelined clients, bodies, answers posted back from a thread pool, the
 * stats read from outside, and a graceful stop while clients are still sending.
 * Prints "N passed, N failed"; exits non-zero on any failure.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "unit/http_test.h"

#define CLIENTS  6
#define REQUESTS 300

static atomic_int passed;
static atomic_int failed;
static atomic_bool stop_clients;
static atomic_bool stopping; /* after this, a closed connection is the stop, not a failure */

static void check(bool ok, const char *what)
{
    if (ok) {
        atomic_fetch_add(&passed, 1);
    } else if (!atomic_load(&stopping)) {
        atomic_fetch_add(&failed, 1);
        fprintf(stderr, "FAILED: %s\n", what);
    }
}

/* ---- the pool answering deferred requests from another thread ---- */

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static msb_http_req_t *queue[1024];
static size_t qlen;
static bool qstop;

static void answer(msb_http_loop_t *loop, void *user)
{
    (void)loop;
    msb_http_respond(user, 200, "text/plain", "pooled", 6);
}

static void *pool(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&qlock);
    for (;;) {
        while (qlen == 0 && !qstop) {
            pthread_cond_wait(&qcond, &qlock);
        }
        if (qlen == 0 && qstop) {
            break;
        }
        msb_http_req_t *req = queue[--qlen];
        pthread_mutex_unlock(&qlock);
        msb_http_loop_post(msb_http_req_loop(req), answer, req);
        pthread_mutex_lock(&qlock);
    }
    pthread_mutex_unlock(&qlock);
    return NULL;
}

static msb_status_t h_pooled(msb_http_req_t *req, void *user)
{
    (void)user;
    msb_http_defer(req, NULL, NULL);
    pthread_mutex_lock(&qlock);
    bool ok = qlen < 1024;
    if (ok) {
        queue[qlen++] = req;
        pthread_cond_signal(&qcond);
    }
    pthread_mutex_unlock(&qlock);
    return ok ? MSB_OK : msb_http_respond(req, 200, "text/plain", "pooled", 6);
}

/* ---- clients ---- */

static void *client(void *arg)
{
    uint16_t port = (uint16_t)(uintptr_t)arg;
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    for (int i = 0; i < REQUESTS && !atomic_load(&stop_clients); i++) {
        t_resp_t r;
        switch (i % 4) {
        case 0:
            check(t_sends(c->fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n") &&
                      t_read_resp(c, &r, false) && strcmp(r.body, "hello") == 0,
                  "keep-alive GET");
            break;
        case 1:
            check(t_sends(c->fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
                                 "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n") &&
                      t_read_resp(c, &r, false) && strcmp(r.body, "body") == 0,
                  "pipelined POST");
            t_resp_free(&r);
            check(t_read_resp(c, &r, false) && strcmp(r.body, "hello") == 0, "pipelined GET");
            break;
        case 2:
            check(t_sends(c->fd, "GET /pooled HTTP/1.1\r\nHost: x\r\n\r\n") &&
                      t_read_resp(c, &r, false) && strcmp(r.body, "pooled") == 0,
                  "pooled answer");
            break;
        default:
            check(t_sends(c->fd, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                                 "\r\n\r\n3\r\nabc\r\n0\r\n\r\n") &&
                      t_read_resp(c, &r, false) && strcmp(r.body, "abc") == 0,
                  "chunked POST");
            break;
        }
        t_resp_free(&r);
    }
    t_close(c);
    free(c);
    return NULL;
}

static void *stats_reader(void *arg)
{
    msb_http_server_t *srv = arg;
    while (!atomic_load(&stop_clients)) {
        msb_http_server_stats_t st;
        msb_http_server_stats(srv, &st);
        struct pollfd none = {-1, 0, 0};
        poll(&none, 0, 1);
    }
    return NULL;
}

static void run(msb_http_listen_mode_t mode)
{
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.workers = 3;
    o.listen_mode = mode;
    msb_http_server_t *srv = t_server(&o);
    msb_http_group_t *root = msb_http_server_root(srv);
    t_route(root, "GET", "/hello", t_hello, NULL);
    t_route(root, "POST", "/echo", t_echo, NULL);
    t_route(root, "GET", "/pooled", h_pooled, NULL);
    t_start(srv);
    uint16_t port = msb_http_server_port(srv);
    atomic_store(&stop_clients, false);
    atomic_store(&stopping, false);
    pthread_t pt;
    pthread_t st;
    pthread_t ct[CLIENTS];
    qstop = false;
    pthread_create(&pt, NULL, pool, NULL);
    pthread_create(&st, NULL, stats_reader, srv);
    for (int i = 0; i < CLIENTS; i++) {
        pthread_create(&ct[i], NULL, client, (void *)(uintptr_t)port);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(ct[i], NULL);
    }
    /* a second wave, stopped gracefully while it runs */
    for (int i = 0; i < CLIENTS; i++) {
        pthread_create(&ct[i], NULL, client, (void *)(uintptr_t)port);
    }
    struct pollfd none = {-1, 0, 0};
    poll(&none, 0, 50);
    atomic_store(&stopping, true);
    msb_status_t rc = msb_http_server_stop(srv, 5000, NULL);
    atomic_store(&stopping, false);
    check(rc == MSB_OK, "graceful stop");
    atomic_store(&stop_clients, true);
    atomic_store(&stopping, true);
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(ct[i], NULL);
    }
    atomic_store(&stopping, false);
    pthread_join(st, NULL);
    pthread_mutex_lock(&qlock);
    qstop = true;
    pthread_cond_broadcast(&qcond);
    pthread_mutex_unlock(&qlock);
    pthread_join(pt, NULL);
    msb_http_server_free(srv);
}

int main(void)
{
    run(MSB_HTTP_LISTEN_REUSEPORT);
    run(MSB_HTTP_LISTEN_HANDOFF);
    printf("%d passed, %d failed\n", atomic_load(&passed), atomic_load(&failed));
    return atomic_load(&failed) == 0 ? 0 : 1;
}
