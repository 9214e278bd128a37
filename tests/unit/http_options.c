/*
 * Server options and listeners: validation errors name the option, SO_REUSEPORT and handoff
 * workers, adopted sockets, max_connections, and every allocation failing in turn.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdatomic.h>

#include "msb/core.h"
#include "unit/http_test.h"

static void invalid(msb_http_server_opts_t *o, msb_status_t want, const char *needle)
{
    msb_http_server_t *srv = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_http_server_new(o, &srv, &err), want, "%s", err.message);
    cr_assert_null(srv);
    cr_assert(strstr(err.message, needle) != NULL, "\"%s\" lacks \"%s\"", err.message, needle);
}

Test(http_options, invalid_options_name_the_field)
{
    msb_http_server_opts_t o;
#define CASE(field, value, needle)                                                                 \
    o = (msb_http_server_opts_t)MSB_HTTP_SERVER_OPTS_INIT;                                         \
    o.field = value;                                                                               \
    invalid(&o, MSB_EINVAL, needle)
    CASE(workers, -1, "http.workers");
    CASE(workers, 1000, "http.workers");
    CASE(listen_mode, (msb_http_listen_mode_t)7, "http.listen_mode");
    CASE(max_request_line, 10, "http.max_request_line");
    CASE(max_header_bytes, 10, "http.max_header_bytes");
    CASE(max_headers, 0, "http.max_headers");
    CASE(max_body_bytes, UINT64_MAX, "http.max_body_bytes");
    CASE(timeout_status, 500, "http.timeout_status");
    CASE(listen, NULL, "http.listen");
    CASE(tls_key_file, "k.pem", "http.tls");
#undef CASE
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_http_server_new(NULL, NULL, &err), MSB_EINVAL);
}

static void start_fails(const char *listen, msb_status_t want, const char *needle)
{
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.listen = listen;
    msb_http_server_t *srv;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_http_server_new(&o, &srv, &err), MSB_OK);
    cr_assert_eq(msb_http_server_start(srv, &err), want, "%s: %s", listen, err.message);
    cr_assert(strstr(err.message, needle) != NULL, "%s", err.message);
    msb_http_server_free(srv);
}

Test(http_options, listen_addresses)
{
    start_fails("nope", MSB_EINVAL, "host:port");
    start_fails("127.0.0.1:99999", MSB_EINVAL, "port");
    start_fails("127.0.0.1:8x", MSB_EINVAL, "port");
    start_fails("[::1:80", MSB_EINVAL, "[v6]:port");
    start_fails("no.such.host.invalid:80", MSB_EINVAL, "http.listen");
    msb_http_server_t *a = t_server(NULL);
    t_start(a);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", msb_http_server_port(a));
    start_fails(addr, MSB_EIO, "address in use");
    msb_http_server_free(a);
}

static void many_requests(uint16_t port, int conns)
{
    for (int i = 0; i < conns; i++) {
        t_resp_t r;
        cr_assert(t_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), "connection %d", i);
        cr_assert_eq(r.status, 200);
        t_resp_free(&r);
    }
}

static atomic_int started;

static void on_start(msb_http_loop_t *loop, void *user)
{
    (void)user;
    cr_assert_not_null(msb_http_loop_base(loop));
    atomic_fetch_add(&started, 1);
}

Test(http_options, reuseport_and_handoff_workers)
{
    for (int mode = 0; mode < 2; mode++) {
        atomic_store(&started, 0);
        msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
        o.workers = 3;
        o.listen_mode = mode ? MSB_HTTP_LISTEN_HANDOFF : MSB_HTTP_LISTEN_REUSEPORT;
        o.on_worker_start = on_start;
        msb_http_server_t *srv = t_server(&o);
        t_route(msb_http_server_root(srv), "GET", "/", t_hello, NULL);
        t_start(srv);
        int fds[8];
        cr_assert_eq(msb_http_server_listen_fds(srv, fds, 8), mode ? 1u : 3u);
        many_requests(msb_http_server_port(srv), 60);
        msb_http_server_stats_t st;
        msb_http_server_stats(srv, &st);
        cr_assert_geq(st.requests_total, 60);
        cr_assert_eq(msb_http_server_stop(srv, 1000, NULL), MSB_OK);
        cr_assert_eq(atomic_load(&started), 3);
        msb_http_server_free(srv);
    }
}

Test(http_options, adopted_listening_socket)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, 16), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.workers = 2;
    o.listen_fds = &fd;
    o.listen_fd_count = 1;
    msb_http_server_t *srv = t_server(&o);
    t_route(msb_http_server_root(srv), "GET", "/", t_hello, NULL);
    t_start(srv);
    cr_assert_eq(msb_http_server_port(srv), ntohs(a.sin_port));
    many_requests(msb_http_server_port(srv), 10);
    msb_http_server_free(srv);
    o.listen_fd_count = 3;
    invalid(&o, MSB_EINVAL, "http.listen_fds");
}

Test(http_options, max_connections_pauses_accepting)
{
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.max_connections = 2;
    msb_http_server_t *srv = t_server(&o);
    t_route(msb_http_server_root(srv), "GET", "/", t_hello, NULL);
    t_start(srv);
    uint16_t port = msb_http_server_port(srv);
    t_conn_t *c[3];
    t_resp_t r;
    for (int i = 0; i < 3; i++) {
        c[i] = malloc(sizeof(t_conn_t));
        t_open(c[i], port);
        cr_assert(t_sends(c[i]->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        if (i < 2) {
            cr_assert(t_read_resp(c[i], &r, false));
            t_resp_free(&r);
        }
    }
    struct pollfd p = {c[2]->fd, POLLIN, 0};
    cr_assert_eq(poll(&p, 1, 300), 0, "the third waits in the backlog");
    t_close(c[0]);
    cr_assert(t_read_resp(c[2], &r, false), "served once a slot is free");
    cr_assert_eq(r.status, 200);
    t_resp_free(&r);
    t_close(c[1]);
    t_close(c[2]);
    for (int i = 0; i < 3; i++) {
        free(c[i]);
    }
    msb_http_server_free(srv);
}

/* ---- every allocation failing in turn ---- */

static atomic_long budget;

static void *fail_malloc(size_t n, void *u)
{
    (void)u;
    return atomic_fetch_sub(&budget, 1) > 0 ? malloc(n) : NULL;
}

static void *fail_realloc(void *p, size_t n, void *u)
{
    (void)u;
    return atomic_fetch_sub(&budget, 1) > 0 ? realloc(p, n) : NULL;
}

static void plain_free(void *p, void *u)
{
    (void)u;
    free(p);
}

static msb_status_t build(void)
{
    msb_http_server_t *srv = NULL;
    msb_http_mw_t *mw = NULL;
    msb_http_group_t *g;
    static const char *const origins[] = {"https://a.example", NULL};
    msb_http_cors_opts_t co = MSB_HTTP_CORS_OPTS_INIT;
    co.origins = origins;
    msb_status_t rc = msb_http_server_new(NULL, &srv, NULL);
    if (rc == MSB_OK) {
        rc = msb_http_group_new(msb_http_server_root(srv), "/v1", NULL, &g, NULL);
    }
    if (rc == MSB_OK) {
        rc = msb_http_route(g, "GET", "/users/{id}", t_hello, NULL, NULL);
    }
    if (rc == MSB_OK) {
        rc = msb_http_route(g, "PURGE", "/cache/{key...}", t_hello, NULL, NULL);
    }
    if (rc == MSB_OK) {
        rc = msb_http_mw_cors_new(&co, &mw, NULL);
    }
    if (rc == MSB_OK) {
        rc = msb_http_group_use(g, mw, NULL);
    }
    msb_http_mw_free(mw);
    mw = NULL;
    if (rc == MSB_OK) {
        rc = msb_http_mw_gzip_new(NULL, &mw, NULL);
    }
    msb_http_mw_free(mw);
    msb_http_server_free(srv);
    return rc;
}

Test(http_options, every_allocation_failing_in_turn)
{
    msb_allocator_t a = {fail_malloc, fail_realloc, plain_free, NULL};
    cr_assert_eq(msb_set_allocator(&a), MSB_OK);
    long n = 0;
    msb_status_t rc;
    do {
        atomic_store(&budget, n);
        rc = build();
        cr_assert(rc == MSB_OK || rc == MSB_ENOMEM, "allocation %ld: %s", n, msb_strerror(rc));
        n++;
    } while (rc != MSB_OK && n < 1000);
    cr_assert_eq(rc, MSB_OK);
    cr_assert_gt(n, 10, "the build allocates");
    msb_set_allocator(NULL);
}

/* ---- allocation failures while serving ---- */

static msb_status_t h_heavy(msb_http_req_t *req, void *user)
{
    (void)user;
    static char big[500]; /* 12 copies outgrow the request arena's inline block */
    memset(big, 'v', sizeof(big) - 1);
    for (int i = 0; i < 12; i++) {
        msb_status_t rc = msb_http_resp_header_add(req, "X-Heavy", big);
        if (rc != MSB_OK) {
            return rc; /* ENOMEM: the server answers 500 */
        }
    }
    return msb_http_respond(req, 200, "text/plain", "heavy", 5);
}

/*
 * The expected answer, a 5xx problem, or a closed connection: anything but a crash, a hang or a
 * leak.
 */
static void survives(uint16_t port, const char *raw, int expected)
{
    t_resp_t r;
    if (t_exchange(port, raw, &r)) {
        int st = r.status;
        t_resp_free(&r);
        cr_assert(st == expected || st >= 500, "status %d", st);
    }
}

Test(http_options, allocation_failures_while_serving)
{
    msb_allocator_t a = {fail_malloc, fail_realloc, plain_free, NULL};
    atomic_store(&budget, LONG_MAX);
    cr_assert_eq(msb_set_allocator(&a), MSB_OK);
    msb_http_server_t *srv = t_server(NULL);
    t_route(msb_http_server_root(srv), "GET", "/heavy", h_heavy, NULL);
    t_route(msb_http_server_root(srv), "POST", "/echo", t_echo, NULL);
    t_route(msb_http_server_root(srv), "GET", "/p/{a}/{b}", t_hello, NULL);
    t_start(srv);
    uint16_t port = msb_http_server_port(srv);
    survives(port, "GET /heavy HTTP/1.1\r\nHost: x\r\n\r\n", 200); /* a connection to recycle */
    static char body[200000];
    memset(body, 'b', sizeof(body) - 1);
    static char post[210000];
    snprintf(post, sizeof(post), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    for (long allowed = 0; allowed < 6; allowed++) {
        atomic_store(&budget, allowed);
        survives(port, "GET /heavy HTTP/1.1\r\nHost: x\r\n\r\n", 200);
        atomic_store(&budget, allowed);
        survives(port, post, 200);
        atomic_store(&budget, allowed);
        survives(port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404);
        atomic_store(&budget, allowed);
        survives(port, "GET /p/%41/%42 HTTP/1.1\r\nHost: x\r\n\r\n", 200);
        atomic_store(&budget, allowed);
        survives(port, "GET /p/a/b HTTP/1.1\r\nHost: x\r\nX-Junk: \x01\r\n\r\n", 400);
    }
    atomic_store(&budget, LONG_MAX);
    t_resp_t r;
    cr_assert(t_exchange(port, "GET /heavy HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_eq(r.status, 200, "serves normally once memory is back");
    t_resp_free(&r);
    cr_assert_eq(msb_http_server_stop(srv, 1000, NULL), MSB_OK);
    msb_http_server_free(srv);
    msb_set_allocator(NULL);
}
