/*
 * Timeouts with short configured values: waiting for a head, for a body, for an idle
 * keep-alive connection, and for a peer that does not read.
 */
#include <criterion/criterion.h>

#include "unit/http_test.h"

static msb_http_server_t *srv;
static uint16_t port;

static msb_status_t h_big(msb_http_req_t *req, void *user)
{
    (void)user;
    size_t n = 8 << 20;
    char *b = malloc(n);
    memset(b, 'b', n);
    msb_status_t rc = msb_http_respond(req, 200, "application/octet-stream", b, n);
    free(b);
    return rc;
}

static void setup(void)
{
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.header_timeout_ms = 200;
    o.body_timeout_ms = 200;
    o.idle_timeout_ms = 300;
    o.write_timeout_ms = 300;
    srv = t_server(&o);
    t_route(msb_http_server_root(srv), "GET", "/", t_hello, NULL);
    t_route(msb_http_server_root(srv), "GET", "/big", h_big, NULL);
    t_route(msb_http_server_root(srv), "POST", "/echo", t_echo, NULL);
    t_start(srv);
    port = msb_http_server_port(srv);
}

static void teardown(void)
{
    msb_http_server_stop(srv, 1000, NULL);
    msb_http_server_free(srv);
}

TestSuite(http_timeouts, .init = setup, .fini = teardown, .timeout = 30);

Test(http_timeouts, idle_keep_alive_connection_is_closed)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    t_resp_t r;
    cr_assert(t_sends(c->fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    cr_assert(t_read_resp(c, &r, false));
    t_resp_free(&r);
    uint64_t t0 = t_now_ms();
    cr_assert(t_closed(c));
    uint64_t dt = t_now_ms() - t0;
    cr_assert(dt >= 250 && dt < 3000, "closed after %llu ms", (unsigned long long)dt);
    cr_assert_eq(c->len, 0, "closed silently");
    t_close(c);
    free(c);
}

Test(http_timeouts, silent_new_connection_is_closed_without_a_response)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    uint64_t t0 = t_now_ms();
    cr_assert(t_closed(c));
    cr_assert_geq(t_now_ms() - t0, 150);
    cr_assert_eq(c->len, 0);
    t_close(c);
    free(c);
}

Test(http_timeouts, slow_head_gets_408)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    const char *head = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: abcdefghijklmnopqrstuvwxyz";
    uint64_t t0 = t_now_ms();
    for (size_t i = 0; i < strlen(head); i++) {
        if (!t_send(c->fd, head + i, 1)) {
            break; /* the server may already have given up */
        }
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, 40) > 0) {
            break;
        }
    }
    t_resp_t r;
    cr_assert(t_read_resp(c, &r, false));
    cr_assert_eq(r.status, 408);
    cr_assert(r.closed);
    cr_assert_lt(t_now_ms() - t0, 2000, "dribbling bytes does not extend the deadline");
    t_resp_free(&r);
    cr_assert(t_closed(c));
    t_close(c);
    free(c);
}

Test(http_timeouts, slow_body_gets_408)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    cr_assert(t_sends(c->fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
    t_resp_t r;
    cr_assert(t_read_resp(c, &r, false));
    cr_assert_eq(r.status, 408);
    cr_assert(strstr(r.body, "body") != NULL);
    t_resp_free(&r);
    t_close(c);
    free(c);
}

Test(http_timeouts, peer_that_does_not_read_is_dropped)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert(t_sends(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    /* never read: the server must give up on its own */
    msb_http_server_stats_t st;
    uint64_t t0 = t_now_ms();
    do {
        struct pollfd p = {-1, 0, 0};
        poll(&p, 0, 20);
        msb_http_server_stats(srv, &st);
    } while (st.connections > 0 && t_now_ms() - t0 < 5000);
    cr_assert_eq(st.connections, 0, "the slow reader was dropped");
    cr_assert_geq(t_now_ms() - t0, 250);
    size_t total = 0;
    char buf[65536];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
        total += (size_t)n;
    }
    cr_assert_lt(total, 8u << 20, "the response was cut");
    close(fd);
}
