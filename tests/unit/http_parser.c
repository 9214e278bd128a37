/*
 * The request-head parser, section by section of RFC 9112 (and RFC 9110 for field semantics).
 * Every accepted input is also parsed in every possible two-way split and byte by byte, and
 * must give the same result.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "http/parser.h"

static msb__http_limits_t lim = {8192, 16384, 100, 1 << 20};

typedef struct result {
    int rc;
    msb__http_perr_t e;
    msb__http_head_t h;
    msb__http_field_t fields[128];
    char buf[70000];
} result_t;

/* Feed `in` in pieces of `step` bytes (0: all at once). */
static int parse_step(const char *in, size_t n, size_t step, result_t *r)
{
    msb__http_parser_t p;
    memset(&r->h, 0, sizeof(r->h));
    r->h.fields = r->fields;
    r->h.fields_cap = 128;
    msb__http_parser_init(&p, &r->h);
    size_t have = 0;
    int rc = MSB__PARSE_MORE;
    while (rc == MSB__PARSE_MORE && have < n) {
        size_t k = step == 0 ? n : (n - have < step ? n - have : step);
        memcpy(r->buf + have, in + have, k);
        have += k;
        rc = msb__http_parse_head(&p, r->buf, have, &lim, &r->h, &r->e);
    }
    r->rc = rc;
    return rc;
}

static result_t *parse(const char *in)
{
    static result_t whole;
    static result_t part;
    size_t n = strlen(in);
    parse_step(in, n, 0, &whole);
    /* the same verdict for every chunking */
    size_t steps[] = {1, 2, 3, 7, 16};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        parse_step(in, n, steps[i], &part);
        cr_assert_eq(part.rc, whole.rc, "step %zu changed the verdict for %s", steps[i], in);
        if (whole.rc == MSB__PARSE_ERROR) {
            cr_assert_eq(part.e.status, whole.e.status, "step %zu: %d vs %d", steps[i],
                         part.e.status, whole.e.status);
        } else if (whole.rc == MSB__PARSE_DONE) {
            cr_assert_eq(part.h.head_len, whole.h.head_len);
            cr_assert_eq(part.h.nfields, whole.h.nfields);
        }
    }
    return &whole;
}

static void ok(const char *in)
{
    result_t *r = parse(in);
    cr_assert_eq(r->rc, MSB__PARSE_DONE, "expected success for %s, got %d (%d %s)", in, r->rc,
                 r->e.status, r->rc < 0 ? r->e.detail : "");
}

static void bad(const char *in, int status)
{
    result_t *r = parse(in);
    cr_assert_eq(r->rc, MSB__PARSE_ERROR, "expected %d for %s", status, in);
    cr_assert_eq(r->e.status, status, "expected %d, got %d (%s) for %s", status, r->e.status,
                 r->e.detail, in);
    cr_assert(r->e.detail != NULL && r->e.detail[0] != '\0');
}

static const char *field(result_t *r, const char *name)
{
    for (uint32_t i = 0; i < r->h.nfields; i++) {
        if (strcasecmp(r->buf + r->h.fields[i].name_off, name) == 0) {
            return r->buf + r->h.fields[i].value_off;
        }
    }
    return NULL;
}

/* ---- RFC 9112 §2.2: message parsing, line terminators ---- */

Test(http_parser, s2_2_crlf_terminated_head)
{
    result_t *r = parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_eq(r->rc, MSB__PARSE_DONE);
    cr_assert_eq(r->h.head_len, 27);
    cr_assert_str_eq(r->buf + r->h.method_off, "GET");
}

Test(http_parser, s2_2_bare_lf_is_rejected)
{
    bad("GET / HTTP/1.1\nHost: a\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a\r\n\n", 400);
}

Test(http_parser, s2_2_bare_cr_is_rejected)
{
    bad("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400);
    bad("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

Test(http_parser, s2_2_leading_empty_lines_are_ignored_up_to_a_limit)
{
    result_t *r = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_eq(r->rc, MSB__PARSE_DONE);
    cr_assert_str_eq(r->buf + r->h.method_off, "GET");
    bad("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

Test(http_parser, s2_2_incomplete_head_needs_more)
{
    result_t *r = parse("GET / HTTP/1.1\r\nHost: a\r\n");
    cr_assert_eq(r->rc, MSB__PARSE_MORE);
}

/* ---- RFC 9112 §2.3: HTTP version ---- */

Test(http_parser, s2_3_versions)
{
    result_t *r = parse("GET / HTTP/1.0\r\n\r\n");
    cr_assert_eq(r->rc, MSB__PARSE_DONE);
    cr_assert_eq(r->h.minor, 0);
    r = parse("GET / HTTP/1.7\r\nHost: a\r\n\r\n");
    cr_assert_eq(r->rc, MSB__PARSE_DONE);
    cr_assert_eq(r->h.minor, 1, "a higher minor is read as 1.1");
    bad("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
    bad("GET / HTTP/0.9\r\n\r\n", 505);
    bad("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
    bad("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400);
    bad("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
    bad("GET / HTTP/1\r\nHost: a\r\n\r\n", 400);
    bad("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400);
    bad("GET /\r\n\r\n", 400);
}

/* ---- RFC 9112 §3: request line ---- */

Test(http_parser, s3_single_spaces_only)
{
    bad("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    bad("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
    bad("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    bad(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    bad("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

Test(http_parser, s3_method_is_a_token)
{
    ok("PURGE / HTTP/1.1\r\nHost: a\r\n\r\n");
    ok("get / HTTP/1.1\r\nHost: a\r\n\r\n"); /* a token: the server answers 501 */
    bad("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    bad("GÉT / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    bad("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\nHost: a\r\n\r\n", 501);
}

Test(http_parser, s3_line_too_long_is_414_even_before_it_ends)
{
    static char big[10000];
    memcpy(big, "GET /", 5);
    memset(big + 5, 'a', 9000);
    big[9005] = '\0';
    result_t *r = parse(big);
    cr_assert_eq(r->rc, MSB__PARSE_ERROR);
    cr_assert_eq(r->e.status, 414);
    strcpy(big + 9005, " HTTP/1.1\r\nHost: a\r\n\r\n");
    bad(big, 414);
}

/* ---- RFC 9112 §3.2: request target ---- */

Test(http_parser, s3_2_1_origin_form_path_and_query)
{
    result_t *r = parse("GET /a/b%20c?x=1&y=/?z HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_eq(r->rc, MSB__PARSE_DONE);
    cr_assert_eq(r->h.form, MSB__FORM_ORIGIN);
    cr_assert_str_eq(r->buf + r->h.path_off, "/a/b%20c");
    cr_assert_eq(r->h.has_query, 1);
    cr_assert_str_eq(r->buf + r->h.query_off, "x=1&y=/?z");
    r = parse("GET /p? HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_eq(r->h.has_query, 1);
    cr_assert_eq(r->h.query_len, 0);
}

Test(http_parser, s3_2_1_characters_outside_the_uri_grammar_are_400)
{
    const char *targets[] = {"/a\"b", "/a<b",   "/a>b",  "/a\\b",   "/a^b", "/a`b",
                             "/a{b",  "/a|b",   "/a}b",  "/a#frag", "/a%2", "/a%zz",
                             "/%",    "/a?b#c", "/\x80", "/a?\x7f"};
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", targets[i]);
        bad(req, 400);
    }
    ok("GET /a-._~!$&'()*+,;=:@b?/?:@ HTTP/1.1\r\nHost: a\r\n\r\n");
}

Test(http_parser, s3_2_2_absolute_form)
{
    result_t *r = parse("GET http://Example.com:8080/a?b HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(r->rc, MSB__PARSE_DONE);
    cr_assert_eq(r->h.form, MSB__FORM_ABSOLUTE);
    cr_assert_eq(r->h.authority_len, 16);
    cr_assert_eq(strncmp(r->buf + r->h.authority_off, "Example.com:8080", 16), 0);
    cr_assert_str_eq(r->buf + r->h.path_off, "/a");
    r = parse("GET HTTPS://example.com HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(r->rc, MSB__PARSE_DONE);
    cr_assert_eq(r->h.path_len, 0, "no path: the server uses \"/\"");
    bad("GET http://user@example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    bad("GET http:///a HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    bad("GET ftp://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    bad("GET http://exa mple.com/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    bad("GET example.com:80 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

Test(http_parser, s3_2_3_authority_form_only_for_connect)
{
    result_t *r = parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    cr_assert_eq(r->rc, MSB__PARSE_DONE);
    cr_assert_eq(r->h.form, MSB__FORM_AUTHORITY);
    bad("CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    bad("CONNECT /a HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    bad("CONNECT u@example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

Test(http_parser, s3_2_4_asterisk_form_only_for_options)
{
    result_t *r = parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_eq(r->rc, MSB__PARSE_DONE);
    cr_assert_eq(r->h.form, MSB__FORM_ASTERISK);
    bad("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    bad("OPTIONS ** HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

/* ---- RFC 9112 §3.2 / RFC 9110 §7.2: Host ---- */

Test(http_parser, host_is_required_once_in_http_1_1)
{
    bad("GET / HTTP/1.1\r\n\r\n", 400);
    ok("GET / HTTP/1.0\r\n\r\n");
    bad("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n", 400);
    ok("GET / HTTP/1.1\r\nHost:\r\n\r\n");
    ok("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    ok("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    bad("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400);
}

/* ---- RFC 9112 §5: field syntax ---- */

Test(http_parser, s5_fields_and_ows_trimming)
{
    result_t *r = parse("GET / HTTP/1.1\r\nHost: a\r\nX-A: \t one two \t\r\nX-B:\r\nX-C:v\r\n\r\n");
    cr_assert_eq(r->rc, MSB__PARSE_DONE);
    cr_assert_eq(r->h.nfields, 4);
    cr_assert_str_eq(field(r, "x-a"), "one two");
    cr_assert_str_eq(field(r, "X-B"), "");
    cr_assert_str_eq(field(r, "X-C"), "v");
    cr_assert_eq(r->h.host_index, 0);
}

Test(http_parser, s5_1_whitespace_before_the_colon_is_400)
{
    bad("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n", 400);
}

Test(http_parser, s5_2_obs_fold_is_400)
{
    bad("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400);
}

Test(http_parser, s5_lines_without_colon_or_name_are_400)
{
    bad("GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a\r\n: novalue\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a\r\nX\"A: b\r\n\r\n", 400);
}

Test(http_parser, s5_5_field_values_reject_ctls_but_allow_obs_text)
{
    char req[64];
    memcpy(req, "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 35);
    result_t *r = malloc(sizeof(*r));
    parse_step(req, 35, 0, r);
    cr_assert_eq(r->rc, MSB__PARSE_ERROR);
    cr_assert_eq(r->e.status, 400);
    free(r);
    bad("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", 400);
    bad("GET / HTTP/1.1\r\nHost: a\r\nX: a\x1b[31m\r\n\r\n", 400);
    ok("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9 \xff\r\n\r\n");
}

Test(http_parser, header_count_limit_is_431)
{
    char *req = malloc(8192);
    strcpy(req, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 100; i++) {
        strcat(req, "X: y\r\n");
    }
    strcat(req, "\r\n");
    bad(req, 431);
    free(req);
}

Test(http_parser, header_section_size_limit_is_431_even_before_it_ends)
{
    char *req = malloc(40000);
    strcpy(req, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    size_t n = strlen(req);
    memset(req + n, 'v', 20000);
    req[n + 20000] = '\0';
    bad(req, 431);
    strcpy(req + n + 20000, "\r\n\r\n");
    bad(req, 431);
    free(req);
}

/* ---- RFC 9112 §6: message body framing ---- */

Test(http_parser, s6_3_content_length)
{
    result_t *r = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n");
    cr_assert_eq(r->h.framing, MSB__BODY_LENGTH);
    cr_assert_eq(r->h.content_length, 42);
    r = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    cr_assert_eq(r->h.framing, MSB__BODY_NONE);
    r = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n");
    cr_assert_eq(r->rc, MSB__PARSE_DONE, "syntactically valid: too large is the server's 413");
    cr_assert_eq(r->h.content_length, UINT64_MAX);
}

Test(http_parser, s6_3_invalid_or_repeated_content_length_is_400)
{
    const char *values[] = {"5, 5", "5,5", "+5", "-1", "0x10", "5 5", "", "1e3", "５"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n",
                 values[i]);
        bad(req, 400);
    }
    bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400);
    bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
}

Test(http_parser, s6_1_transfer_encoding_chunked)
{
    result_t *r = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    cr_assert_eq(r->h.framing, MSB__BODY_CHUNKED);
    r = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n");
    cr_assert_eq(r->h.framing, MSB__BODY_CHUNKED);
    r = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n");
    cr_assert_eq(r->h.framing, MSB__BODY_CHUNKED, "empty list elements are ignored");
}

Test(http_parser, s6_1_transfer_encoding_errors)
{
    const char *h = "POST / HTTP/1.1\r\nHost: a\r\n";
    char req[256];
#define TE(v, st)                                                                                  \
    snprintf(req, sizeof(req), "%s%s\r\n\r\n", h, v);                                              \
    bad(req, st)
    TE("Transfer-Encoding: gzip, chunked", 501);
    TE("Transfer-Encoding: chunked, gzip", 400);
    TE("Transfer-Encoding: gzip", 400);
    TE("Transfer-Encoding: chunked, chunked", 400);
    TE("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", 400);
    TE("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked", 501);
    TE("Transfer-Encoding: chunked;ext=1", 400);
    TE("Transfer-Encoding: ", 400);
    TE("Transfer-Encoding: \"chunked\"", 400);
    TE("Transfer-Encoding: identity", 400);
    TE("Transfer-Encoding: chunked\r\nContent-Length: 5", 400);
    TE("Content-Length: 5\r\nTransfer-Encoding: chunked", 400);
#undef TE
    bad("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

/* ---- RFC 9110 §7.6.1 Connection, §10.1.1 Expect ---- */

Test(http_parser, connection_options)
{
    result_t *r = parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n");
    cr_assert_eq(r->h.conn_close, 1);
    r = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    cr_assert_eq(r->h.conn_keep_alive, 1);
    bad("GET / HTTP/1.1\r\nHost: a\r\nConnection: clo se\r\n\r\n", 400);
}

Test(http_parser, expect_100_continue)
{
    result_t *r =
        parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
    cr_assert_eq(r->h.expect_continue, 1);
    r = parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    cr_assert_eq(r->h.expect_continue, 0, "ignored in HTTP/1.0");
    bad("POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417);
}

Test(http_parser, strings_are_nul_terminated_in_place)
{
    result_t *r = parse("DELETE /x/y?q=1 HTTP/1.1\r\nHost: h\r\nA: 1  \r\n\r\n");
    cr_assert_str_eq(r->buf + r->h.method_off, "DELETE");
    cr_assert_str_eq(r->buf + r->h.path_off, "/x/y");
    cr_assert_str_eq(r->buf + r->h.query_off, "q=1");
    cr_assert_str_eq(r->buf + r->h.fields[1].name_off, "A");
    cr_assert_str_eq(r->buf + r->h.fields[1].value_off, "1");
}

Test(http_parser, authority_validation)
{
    cr_assert(msb__http_valid_authority("a.b-c_d~e:80", 12, false));
    cr_assert(msb__http_valid_authority("a%41", 4, false));
    cr_assert_not(msb__http_valid_authority("a%4", 3, false));
    cr_assert_not(msb__http_valid_authority("a", 1, true));
    cr_assert(msb__http_valid_authority("a:1", 3, true));
    cr_assert_not(msb__http_valid_authority("a:", 2, true));
    cr_assert(msb__http_valid_authority("[::1]", 5, false));
    cr_assert_not(msb__http_valid_authority("[]", 2, false));
    cr_assert_not(msb__http_valid_authority("[::1]x", 6, false));
}
