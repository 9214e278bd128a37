/*
 * Request smuggling: every shape where two parsers could disagree on where a request ends gets a
 * 400 (501 for an unknown coding) and a closed connection, and the bytes after it are never
 * served as a request.
 */
#include <criterion/criterion.h>

#include "unit/http_hostile.h"

TestSuite(http_hostile_smuggling, .init = h_setup, .fini = h_teardown, .timeout = 60);

#define P "POST / HTTP/1.1\r\nHost: x\r\n"

Test(http_hostile_smuggling, content_length_and_transfer_encoding)
{
    h_reject(P "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400); /* CL.TE */
    h_reject(P "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
             400); /* TE.CL */
    h_reject(P "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
    h_reject(P "Transfer-Encoding: chunked\r\nContent-Length: 0\r\nTransfer-Encoding: chunked"
               "\r\n\r\n0\r\n\r\n",
             400);
}

Test(http_hostile_smuggling, duplicate_and_invalid_content_length)
{
    h_reject(P "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400);
    h_reject(P "Content-Length: 5\r\nContent-Length: 7\r\n\r\nhello", 400);
    h_reject(P "Content-Length: 5, 5\r\n\r\nhello", 400);
    h_reject(P "Content-Length: 5,7\r\n\r\nhello", 400);
    h_reject(P "Content-Length: +5\r\n\r\nhello", 400);
    h_reject(P "Content-Length: -5\r\n\r\nhello", 400);
    h_reject(P "Content-Length: 0x5\r\n\r\nhello", 400);
    h_reject(P "Content-Length: 5 5\r\n\r\nhello", 400);
    h_reject(P "Content-Length: 5\x0b\r\n\r\nhello", 400);
    h_reject(P "Content-Length: \"5\"\r\n\r\nhello", 400);
    h_reject(P "Content-Length: 5e0\r\n\r\nhello", 400);
}

Test(http_hostile_smuggling, transfer_encoding_obfuscation)
{
    h_reject(P "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400);
    h_reject(P "Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n", 501);
    h_reject(P "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400);
    h_reject(P "Transfer-Encoding: chunk\r\n\r\n0\r\n\r\n", 400);
    h_reject(P "Transfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n", 400);
    h_reject(P "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n", 400);
    h_reject(P "Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", 400);
    h_reject(P "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400);
    h_reject(P "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400);
    h_reject(P "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400);
    h_reject(P "Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n", 400);
    h_reject("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
    h_reject(P "Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400);
}

Test(http_hostile_smuggling, bad_chunks)
{
    const char *te = P "Transfer-Encoding: chunked\r\n\r\n";
    const char *bodies[] = {
        "0x5\r\nhello\r\n0\r\n\r\n",
        "5 \r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "5\nhello\r\n0\r\n\r\n",
        "5\r\nhello\n0\r\n\r\n",
        "5\r\nhello\r\n0\n\n",
        "3\r\nhello\r\n0\r\n\r\n",
        "5;a=\"b\r\nhello\r\n0\r\n\r\n",
        "\r\nhello\r\n0\r\n\r\n",
        "5\r\nhello\r\n0\r\nX : y\r\n\r\n",
        "5\r\nhello\r\n0\r\nX: y\r\n z\r\n\r\n",
        "5\r\nhello\r\n0\r\nnocolon\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char req[512];
        snprintf(req, sizeof(req), "%s%s", te, bodies[i]);
        h_reject(req, 400);
    }
    char req[512];
    snprintf(req, sizeof(req), "%s%s", te, "ffffffffffffffffffffff\r\nx\r\n0\r\n\r\n");
    h_reject(req, 413);
    snprintf(req, sizeof(req), "%s%s", te, "10000000000000001\r\nx\r\n0\r\n\r\n");
    h_reject(req, 413);
}

Test(http_hostile_smuggling, header_syntax_that_parsers_disagree_on)
{
    h_reject("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400); /* obs-fold */
    h_reject("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);              /* space before colon */
    h_reject("GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n", 400);    /* no colon */
    h_reject("GET / HTTP/1.1\nHost: x\r\n\r\n", 400);                 /* bare LF */
    h_reject("GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", 400);    /* bare CR */
    h_reject("GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", 400);    /* NUL: cut by %s */
    h_reject("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);    /* two Hosts */
    h_reject("GET / HTTP/1.1\r\n\r\n", 400);                          /* no Host */
    h_reject("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    h_reject("GET / HTTP/1.1\r\nHost: x\r\n\x01X: y\r\n\r\n", 400);
}

Test(http_hostile_smuggling, nul_inside_a_field_value)
{
    const char raw[] = "GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\nGET /admin HTTP/1.1\r\n"
                       "Host: x\r\n\r\n";
    t_resp_t r;
    t_expect_reject(h_port, raw, sizeof(raw) - 1, 400, &r);
    t_resp_free(&r);
    cr_assert_eq(atomic_load(&h_admin_hits), 0);
}

Test(http_hostile_smuggling, a_valid_request_keeps_the_next_one)
{
    /* the control case: a well-framed body is consumed exactly, the next request is served */
    t_conn_t *c = malloc(sizeof(*c));
    t_open(c, h_port);
    cr_assert(t_sends(c->fd, P "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                               "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n"));
    t_resp_t r;
    cr_assert(t_read_resp(c, &r, false));
    cr_assert_str_eq(r.body, "hello");
    t_resp_free(&r);
    cr_assert(t_read_resp(c, &r, false));
    cr_assert_str_eq(r.body, "admin");
    t_resp_free(&r);
    cr_assert_eq(atomic_load(&h_admin_hits), 1);
    t_close(c);
    free(c);
}
