/*
 * The server over real sockets: keep-alive and close semantics, pipelining, HEAD, OPTIONS,
 * 404/405/501, bodies (Content-Length and chunked, both ways), 100-continue, request accessors.
 */
#include <criterion/criterion.h>

#include "unit/http_test.h"

static msb_http_server_t *srv;
static uint16_t port;

static msb_status_t h_params(msb_http_req_t *req, void *user)
{
    (void)user;
    char out[512];
    const char *q = msb_http_req_query_param(req, "q");
    snprintf(out, sizeof(out), "id=%s post=%s q=%s route=%s path=%s host=%s",
             msb_http_req_param(req, "id"), msb_http_req_param(req, "post"), q ? q : "(none)",
             msb_http_req_route(req), msb_http_req_path(req), msb_http_req_host(req));
    return msb_http_respond(req, 200, "text/plain", out, strlen(out));
}

static msb_status_t h_tail(msb_http_req_t *req, void *user)
{
    (void)user;
    const char *p = msb_http_req_param(req, "path");
    return msb_http_respond(req, 200, "text/plain", p, strlen(p));
}

static msb_status_t h_stream(msb_http_req_t *req, void *user)
{
    (void)user;
    msb_http_stream_begin(req, 200, "text/plain");
    for (int i = 0; i < 5; i++) {
        char part[16];
        int n = snprintf(part, sizeof(part), "part%d;", i);
        msb_http_stream_write(req, part, (size_t)n);
    }
    return msb_http_stream_end(req);
}

static msb_status_t h_fail(msb_http_req_t *req, void *user)
{
    (void)req;
    return (msb_status_t)(intptr_t)user;
}

static msb_status_t h_silent(msb_http_req_t *req, void *user)
{
    (void)req;
    (void)user;
    return MSB_OK;
}

static msb_status_t h_headers(msb_http_req_t *req, void *user)
{
    (void)user;
    cr_assert_eq(msb_http_resp_header_add(req, "X-Bad", "a\r\nInjected: 1"), MSB_EINVAL);
    cr_assert_eq(msb_http_resp_header_add(req, "Bad Name", "v"), MSB_EINVAL);
    cr_assert_eq(msb_http_resp_header_add(req, "Content-Length", "1"), MSB_EINVAL);
    cr_assert_eq(msb_http_resp_header_add(req, "X-A", "1"), MSB_OK);
    cr_assert_eq(msb_http_resp_header_add(req, "X-A", "2"), MSB_OK);
    cr_assert_eq(msb_http_resp_header_set(req, "X-B", "first"), MSB_OK);
    cr_assert_eq(msb_http_resp_header_set(req, "x-b", "second"), MSB_OK);
    cr_assert_str_eq(msb_http_resp_header_get(req, "X-B"), "second");
    cr_assert_eq(msb_http_respond(req, 99, NULL, NULL, 0), MSB_EINVAL);
    cr_assert_eq(msb_http_respond(req, 204, NULL, "x", 1), MSB_EINVAL);
    cr_assert_eq(msb_http_respond(req, 200, "text/plain", "ok", 2), MSB_OK);
    cr_assert_eq(msb_http_respond(req, 200, "text/plain", "again", 5), MSB_EEXIST);
    return MSB_OK;
}

static void setup(void)
{
    srv = t_server(NULL);
    msb_http_group_t *root = msb_http_server_root(srv);
    t_route(root, "GET", "/hello", t_hello, NULL);
    t_route(root, "POST", "/echo", t_echo, NULL);
    t_route(root, "PUT", "/echo", t_echo, NULL);
    t_route(root, "GET", "/users/{id}/posts/{post}", h_params, NULL);
    t_route(root, "GET", "/files/{path...}", h_tail, NULL);
    t_route(root, "GET", "/stream", h_stream, NULL);
    t_route(root, "GET", "/fail/notfound", h_fail, (void *)(intptr_t)MSB_ENOTFOUND);
    t_route(root, "GET", "/fail/internal", h_fail, (void *)(intptr_t)MSB_EIO);
    t_route(root, "GET", "/fail/conflict", h_fail, (void *)(intptr_t)MSB_ECONFLICT);
    t_route(root, "GET", "/silent", h_silent, NULL);
    t_route(root, "GET", "/headers", h_headers, NULL);
    t_start(srv);
    port = msb_http_server_port(srv);
}

static void teardown(void)
{
    cr_assert_eq(msb_http_server_stop(srv, 2000, NULL), MSB_OK);
    msb_http_server_free(srv);
}

TestSuite(http_server, .init = setup, .fini = teardown, .timeout = 30);

Test(http_server, get_with_date_length_and_request_id)
{
    t_resp_t r;
    cr_assert(t_exchange(port, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "hello");
    char v[128];
    cr_assert(t_header(&r, "Date", v, sizeof(v)));
    cr_assert(strstr(v, " GMT") != NULL);
    cr_assert(t_header(&r, "Content-Length", v, sizeof(v)));
    cr_assert_str_eq(v, "5");
    cr_assert(t_header(&r, "X-Request-Id", v, sizeof(v)));
    cr_assert_eq(strlen(v), 32);
    cr_assert_not(r.closed);
    t_resp_free(&r);
}

Test(http_server, keep_alive_serves_many_requests_on_one_connection)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    for (int i = 0; i < 50; i++) {
        t_resp_t r;
        cr_assert(t_sends(c->fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
        cr_assert(t_read_resp(c, &r, false), "request %d", i);
        cr_assert_eq(r.status, 200);
        t_resp_free(&r);
    }
    t_close(c);
    free(c);
}

Test(http_server, pipelined_responses_come_in_order)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    char all[8192] = "";
    for (int i = 0; i < 20; i++) {
        char one[128];
        snprintf(one, sizeof(one), "GET /users/%d/posts/p HTTP/1.1\r\nHost: x\r\n\r\n", i);
        strcat(all, one);
    }
    strcat(all, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    strcat(all, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                "2\r\nde\r\n0\r\n\r\n");
    strcat(all, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert(t_sends(c->fd, all));
    for (int i = 0; i < 20; i++) {
        t_resp_t r;
        cr_assert(t_read_resp(c, &r, false));
        char want[64];
        snprintf(want, sizeof(want), "id=%d post=p", i);
        cr_assert(strncmp(r.body, want, strlen(want)) == 0, "%d: %s", i, r.body);
        t_resp_free(&r);
    }
    const char *rest[] = {"abc", "de", "hello"};
    for (int i = 0; i < 3; i++) {
        t_resp_t r;
        cr_assert(t_read_resp(c, &r, false));
        cr_assert_str_eq(r.body, rest[i]);
        t_resp_free(&r);
    }
    t_close(c);
    free(c);
}

Test(http_server, http_1_0_closes_unless_keep_alive)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    t_resp_t r;
    cr_assert(t_sends(c->fd, "GET /hello HTTP/1.0\r\n\r\n"));
    cr_assert(t_read_resp(c, &r, false));
    cr_assert(r.closed);
    cr_assert(t_closed(c));
    t_resp_free(&r);
    t_close(c);
    t_open(c, port);
    cr_assert(t_sends(c->fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    cr_assert(t_read_resp(c, &r, false));
    char v[64];
    cr_assert(t_header(&r, "Connection", v, sizeof(v)));
    cr_assert_str_eq(v, "keep-alive");
    t_resp_free(&r);
    cr_assert(t_sends(c->fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    cr_assert(t_read_resp(c, &r, false));
    cr_assert_eq(r.status, 200);
    t_resp_free(&r);
    t_close(c);
    free(c);
}

Test(http_server, connection_close_ends_after_the_response)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    t_resp_t r;
    cr_assert(t_sends(c->fd, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                             "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    cr_assert(t_read_resp(c, &r, false));
    cr_assert(r.closed);
    t_resp_free(&r);
    cr_assert_not(t_read_resp(c, &r, false), "nothing after Connection: close");
    t_close(c);
    free(c);
}

Test(http_server, head_uses_get_without_body)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    t_resp_t r;
    cr_assert(t_sends(c->fd, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    cr_assert(t_read_resp(c, &r, true));
    cr_assert_eq(r.status, 200);
    char v[64];
    cr_assert(t_header(&r, "Content-Length", v, sizeof(v)));
    cr_assert_str_eq(v, "5", "the GET length");
    t_resp_free(&r);
    cr_assert(t_read_resp(c, &r, false), "no body bytes were sent for HEAD");
    cr_assert_str_eq(r.body, "hello");
    t_resp_free(&r);
    t_close(c);
    free(c);
}

Test(http_server, options_lists_allowed_methods)
{
    t_resp_t r;
    cr_assert(t_exchange(port, "OPTIONS /echo HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_eq(r.status, 204);
    char v[128];
    cr_assert(t_header(&r, "Allow", v, sizeof(v)));
    cr_assert_str_eq(v, "POST, PUT, OPTIONS");
    t_resp_free(&r);
    cr_assert(t_exchange(port, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_eq(r.status, 204);
    cr_assert(t_header(&r, "Allow", v, sizeof(v)));
    cr_assert_str_eq(v, "GET, HEAD, POST, PUT, OPTIONS");
    t_resp_free(&r);
}

static void expect_problem(const char *req, int status, const char *detail_part)
{
    t_resp_t r;
    cr_assert(t_exchange(port, req, &r), "no response to %s", req);
    cr_assert_eq(r.status, status, "%s: got %d", req, r.status);
    char v[128];
    cr_assert(t_header(&r, "Content-Type", v, sizeof(v)));
    cr_assert_str_eq(v, "application/problem+json");
    char want[64];
    snprintf(want, sizeof(want), "\"status\":%d", status);
    cr_assert(strstr(r.body, want) != NULL, "%s", r.body);
    cr_assert(strstr(r.body, "\"type\":\"about:blank\"") != NULL);
    if (detail_part != NULL) {
        cr_assert(strstr(r.body, detail_part) != NULL, "%s", r.body);
    }
    t_resp_free(&r);
}

Test(http_server, not_found_not_allowed_not_implemented)
{
    expect_problem("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "\"title\":\"Not Found\"");
    expect_problem("DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n", 405, NULL);
    t_resp_t r;
    cr_assert(t_exchange(port, "DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    char v[128];
    cr_assert(t_header(&r, "Allow", v, sizeof(v)));
    cr_assert_str_eq(v, "POST, PUT, OPTIONS");
    t_resp_free(&r);
    expect_problem("BREW /hello HTTP/1.1\r\nHost: x\r\n\r\n", 501, NULL);
    expect_problem("get /hello HTTP/1.1\r\nHost: x\r\n\r\n", 501, NULL);
    expect_problem("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501, NULL);
}

Test(http_server, handler_errors_become_problems)
{
    expect_problem("GET /fail/notfound HTTP/1.1\r\nHost: x\r\n\r\n", 404, NULL);
    expect_problem("GET /fail/internal HTTP/1.1\r\nHost: x\r\n\r\n", 500,
                   "\"detail\":\"Internal Server Error\"");
    expect_problem("GET /fail/conflict HTTP/1.1\r\nHost: x\r\n\r\n", 409, NULL);
    expect_problem("GET /silent HTTP/1.1\r\nHost: x\r\n\r\n", 500, "without answering");
}

Test(http_server, response_header_api)
{
    t_resp_t r;
    cr_assert(t_exchange(port, "GET /headers HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "ok");
    cr_assert(strstr(r.head, "X-A: 1\r\nX-A: 2\r\n") != NULL);
    cr_assert(strstr(r.head, "x-b: second\r\n") != NULL, "%s", r.head);
    cr_assert(strstr(r.head, "first") == NULL);
    cr_assert(strstr(r.head, "Injected") == NULL);
    t_resp_free(&r);
}

Test(http_server, params_query_and_absolute_form)
{
    t_resp_t r;
    cr_assert(t_exchange(
        port, "GET /users/a%20b/posts/%C3%A9?x=1&q=hello+w%C3%B6rld HTTP/1.1\r\nHost: h:1\r\n\r\n",
        &r));
    cr_assert_str_eq(r.body,
                     "id=a b post=\xc3\xa9 q=hello w\xc3\xb6rld route=/users/{id}/posts/{post} "
                     "path=/users/a%20b/posts/%C3%A9 host=h:1");
    t_resp_free(&r);
    cr_assert(
        t_exchange(port, "GET http://other:9/users/1/posts/2 HTTP/1.1\r\nHost: h\r\n\r\n", &r));
    cr_assert(strstr(r.body, "host=other:9") != NULL, "%s", r.body);
    t_resp_free(&r);
    cr_assert(t_exchange(port, "GET /files/a/b%2Fc//d.txt HTTP/1.1\r\nHost: h\r\n\r\n", &r));
    cr_assert_str_eq(r.body, "a/b/c//d.txt");
    t_resp_free(&r);
}

Test(http_server, request_bodies_content_length_and_chunked)
{
    t_resp_t r;
    cr_assert(t_exchange(port,
                         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
                         "hello world",
                         &r));
    cr_assert_str_eq(r.body, "hello world");
    t_resp_free(&r);
    cr_assert(t_exchange(port,
                         "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n",
                         &r));
    cr_assert_str_eq(r.body, "hello world");
    t_resp_free(&r);
}

Test(http_server, large_bodies_arrive_in_pieces)
{
    size_t n = 300000;
    char *body = malloc(n);
    for (size_t i = 0; i < n; i++) {
        body[i] = (char)('a' + i % 26);
    }
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    char head[128];
    snprintf(head, sizeof(head), "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    cr_assert(t_sends(c->fd, head));
    for (size_t off = 0; off < n; off += 65536) {
        cr_assert(t_send(c->fd, body + off, n - off < 65536 ? n - off : 65536));
    }
    t_resp_t r;
    cr_assert(t_read_resp(c, &r, false));
    cr_assert_eq(r.body_len, n);
    cr_assert_eq(memcmp(r.body, body, n), 0);
    t_resp_free(&r);
    /* chunked, 1000 chunks */
    cr_assert(
        t_sends(c->fd, "PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    for (int i = 0; i < 1000; i++) {
        char chunk[400];
        int k = snprintf(chunk, sizeof(chunk), "12c\r\n%.*s\r\n", 300, body + i);
        cr_assert(t_send(c->fd, chunk, (size_t)k));
    }
    cr_assert(t_sends(c->fd, "0\r\n\r\n"));
    cr_assert(t_read_resp(c, &r, false));
    cr_assert_eq(r.body_len, 300000);
    cr_assert_eq(memcmp(r.body + 300 * 999, body + 999, 300), 0);
    t_resp_free(&r);
    t_close(c);
    free(c);
    free(body);
}

Test(http_server, expect_100_continue)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    cr_assert(t_sends(c->fd, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                             "Content-Length: 4\r\n\r\n"));
    while (memmem(c->buf, c->len, "\r\n\r\n", 4) == NULL) {
        cr_assert(t_fill(c));
    }
    cr_assert(strncmp(c->buf, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
    t_consume(c, 25);
    cr_assert(t_sends(c->fd, "body"));
    t_resp_t r;
    cr_assert(t_read_resp(c, &r, false));
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "body");
    t_resp_free(&r);
    t_close(c);
    free(c);
}

Test(http_server, expect_100_continue_refused_by_the_limit)
{
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, port);
    cr_assert(t_sends(c->fd, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                             "Content-Length: 99999999\r\n\r\n"));
    t_resp_t r;
    cr_assert(t_read_resp(c, &r, false));
    cr_assert_eq(r.status, 413, "no 100 Continue first: %s", r.head);
    cr_assert(r.closed);
    t_resp_free(&r);
    t_close(c);
    free(c);
}

Test(http_server, chunked_response_stream)
{
    t_resp_t r;
    cr_assert(t_exchange(port, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    char v[64];
    cr_assert(t_header(&r, "Transfer-Encoding", v, sizeof(v)));
    cr_assert_str_eq(v, "chunked");
    cr_assert_str_eq(r.body, "part0;part1;part2;part3;part4;");
    t_resp_free(&r);
    cr_assert(t_exchange(port, "GET /stream HTTP/1.0\r\n\r\n", &r));
    cr_assert_not(t_header(&r, "Transfer-Encoding", v, sizeof(v)), "no chunked for 1.0");
    cr_assert_str_eq(r.body, "part0;part1;part2;part3;part4;");
    t_resp_free(&r);
}

Test(http_server, stats_count_requests)
{
    t_resp_t r;
    cr_assert(t_exchange(port, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    t_resp_free(&r);
    msb_http_server_stats_t st;
    msb_http_server_stats(srv, &st);
    cr_assert_geq(st.requests_total, 1);
    cr_assert_eq(st.requests_inflight, 0);
}
