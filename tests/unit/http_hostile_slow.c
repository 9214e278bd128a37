/*
 * Slow peers: slowloris connections dribbling their heads and readers that never read are cut
 * at their deadlines while an ordinary client keeps being served at once.
 */
#include <criterion/criterion.h>

#include "unit/http_hostile.h"

#define SLOW 40

static void setup(void)
{
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.header_timeout_ms = 300;
    o.body_timeout_ms = 300;
    o.write_timeout_ms = 300;
    o.idle_timeout_ms = 300;
    h_setup_with(&o);
}

TestSuite(http_hostile_slow, .init = setup, .fini = h_teardown, .timeout = 60);

Test(http_hostile_slow, slowloris_does_not_starve_others)
{
    int fds[SLOW];
    for (int i = 0; i < SLOW; i++) {
        fds[i] = t_connect(h_port);
        cr_assert_geq(fds[i], 0);
        cr_assert(t_sends(fds[i], "GET / HTTP/1.1\r\nHost: x\r\nX-"));
    }
    uint64_t t0 = t_now_ms();
    int answered = 0;
    bool done[SLOW] = {false};
    while (answered < SLOW && t_now_ms() - t0 < 5000) {
        /* an ordinary client is served at once meanwhile */
        t_resp_t r;
        uint64_t q0 = t_now_ms();
        cr_assert(t_exchange(h_port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r));
        cr_assert_eq(r.status, 200);
        cr_assert_lt(t_now_ms() - q0, 250);
        t_resp_free(&r);
        for (int i = 0; i < SLOW; i++) {
            if (done[i]) {
                continue;
            }
            struct pollfd p = {fds[i], POLLIN, 0};
            if (poll(&p, 1, 0) > 0) {
                char buf[1024];
                ssize_t n = recv(fds[i], buf, sizeof(buf) - 1, 0);
                cr_assert_gt(n, 12);
                buf[n] = '\0';
                cr_assert(strncmp(buf, "HTTP/1.1 408 ", 13) == 0, "%s", buf);
                done[i] = true;
                answered++;
            } else {
                send(fds[i], "a", 1, MSG_NOSIGNAL); /* one more byte: does not extend it */
            }
        }
        struct pollfd none = {-1, 0, 0};
        poll(&none, 0, 30);
    }
    cr_assert_eq(answered, SLOW);
    uint64_t dt = t_now_ms() - t0;
    cr_assert(dt >= 250 && dt < 3000, "%llu ms", (unsigned long long)dt);
    for (int i = 0; i < SLOW; i++) {
        close(fds[i]);
    }
}

Test(http_hostile_slow, readers_that_never_read_are_dropped)
{
    int fds[8];
    for (int i = 0; i < 8; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        int small = 2048;
        setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(h_port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert_eq(connect(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
        /* a pipeline of many requests whose answers pile up unread */
        for (int k = 0; k < 200; k++) {
            if (!t_sends(fds[i], "GET /users/123456789012345678901234567890 HTTP/1.1\r\n"
                                 "Host: x\r\n\r\n")) {
                break;
            }
        }
    }
    msb_http_server_stats_t st;
    uint64_t t0 = t_now_ms();
    do {
        struct pollfd none = {-1, 0, 0};
        poll(&none, 0, 20);
        msb_http_server_stats(h_srv, &st);
    } while (st.connections > 0 && t_now_ms() - t0 < 5000);
    cr_assert_eq(st.connections, 0);
    for (int i = 0; i < 8; i++) {
        close(fds[i]);
    }
    t_resp_t r;
    cr_assert(t_exchange(h_port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_eq(r.status, 200);
    t_resp_free(&r);
}

Test(http_hostile_slow, slow_body)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, h_port);
    cr_assert(t_sends(c->fd, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    uint64_t t0 = t_now_ms();
    bool answered = false;
    while (!answered && t_now_ms() - t0 < 3000) {
        if (!t_sends(c->fd, "1\r\nx\r\n")) {
            break;
        }
        struct pollfd p = {c->fd, POLLIN, 0};
        answered = poll(&p, 1, 50) > 0;
    }
    t_resp_t r;
    cr_assert(t_read_resp(c, &r, false));
    cr_assert_eq(r.status, 408);
    t_resp_free(&r);
    t_close(c);
    free(c);
}
