/* Bad input gets a clear error: client, upstream and request options; and the pure parts — URL
 * checks and redaction, header lines, Retry-After and HTTP dates, response header lines. */
#include <criterion/criterion.h>
#include <string.h>

#include "client/internal.h"
#include "msb/client.h"

#define assert_has(msg, part)                                                                      \
    cr_assert_not_null(strstr((msg), (part)), "\"%s\" lacks \"%s\"", (msg), (part))

/* ---- options -------------------------------------------------------------------------------- */

static void client_fails(msb_client_opts_t *o, const char *want)
{
    msb_client_t *c = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_new(o, &c, &err), MSB_EINVAL);
    cr_assert_null(c);
    cr_assert_str_eq(err.message, want);
}

Test(client_input, client_options)
{
    msb_client_opts_t o = MSB_CLIENT_OPTS_INIT;
    o.max_connections = 0;
    client_fails(&o, "client: max_connections 0 is not in 1..100000");
    o = (msb_client_opts_t)MSB_CLIENT_OPTS_INIT;
    o.max_host_connections = 100001;
    client_fails(&o, "client: max_host_connections 100001 is not in 1..100000");
    o = (msb_client_opts_t)MSB_CLIENT_OPTS_INIT;
    o.max_idle_connections = 0;
    client_fails(&o, "client: max_idle_connections 0 is not in 1..100000");
    o = (msb_client_opts_t)MSB_CLIENT_OPTS_INIT;
    o.idle_timeout_ns = MSB_MSEC;
    client_fails(&o, "client: idle_timeout_ns 1000000 is under 1 s");
    o = (msb_client_opts_t)MSB_CLIENT_OPTS_INIT;
    o.max_connection_age_ns = 5;
    client_fails(&o, "client: max_connection_age_ns 5 is under 1 s (or 0)");
    o = (msb_client_opts_t)MSB_CLIENT_OPTS_INIT;
    o.deadline_header = "X Deadline";
    client_fails(&o, "client: deadline_header \"X Deadline\" is not an HTTP token");
    o = (msb_client_opts_t)MSB_CLIENT_OPTS_INIT;
    o.user_agent = "a\r\nX-Injected: 1";
    client_fails(&o, "client: user_agent holds a control character");
    o = (msb_client_opts_t)MSB_CLIENT_OPTS_INIT;
    o.trace_formats = 64;
    client_fails(&o, "client: trace_formats 0x40 has unknown bits");
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_new(NULL, NULL, &err), MSB_EINVAL);
    msb_client_free(NULL);
}

/* An old caller: a struct that ends before `defaults` keeps its defaults. */
Test(client_input, older_option_structs)
{
    msb_client_opts_t o = MSB_CLIENT_OPTS_INIT;
    o.size = offsetof(msb_client_opts_t, trace_formats);
    o.trace_formats = 999; /* beyond the caller's size: not read */
    msb_client_t *c = NULL;
    cr_assert_eq(msb_client_new(&o, &c, NULL), MSB_OK);
    msb_client_free(c);
}

static void upstream_fails(msb_client_upstream_opts_t *o, const char *want)
{
    msb_client_upstream_t *u = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_upstream_new(o, &u, &err), MSB_EINVAL);
    cr_assert_null(u);
    cr_assert_str_eq(err.message, want);
}

Test(client_input, upstream_options)
{
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.base_url = "ftp://files";
    upstream_fails(&o, "client: upstream base_url: URL scheme \"ftp\" is not http or https");
    o.base_url = "users:8080";
    upstream_fails(&o, "client: upstream base_url: URL does not start with http:// or https://");
    o.base_url = "http://h/x?y=1";
    upstream_fails(&o, "client: upstream base_url must not hold a query or fragment");
    o.base_url = "http://:80";
    upstream_fails(&o, "client: upstream base_url: URL has no host");
    o.base_url = "http://h:99999";
    upstream_fails(&o, "client: upstream base_url: URL port \"99999\" is not in 1..65535");
    o.base_url = "http://h";
    o.timeout_ns = 0;
    upstream_fails(&o, "client: upstream timeout_ns 0 ns is not in [1 ms, 24 h]");
    o.timeout_ns = MSB_SEC;
    o.connect_timeout_ns = 10;
    upstream_fails(&o, "client: upstream connect_timeout_ns 10 ns is not in [1 ms, 24 h]");
    o.connect_timeout_ns = MSB_SEC;
    o.max_redirects = 51;
    upstream_fails(&o, "client: upstream max_redirects 51 is over 50");
    o.max_redirects = 0;
    const char *h1[] = {"NoColon", NULL};
    o.headers = h1;
    upstream_fails(&o, "client: upstream header \"NoColon\" is not a \"Name: value\" line");
    const char *h2[] = {"X-A: 1\r\nX-Injected: 2", NULL};
    o.headers = h2;
    upstream_fails(&o, "client: upstream header X-A: the value holds a control character (CR, "
                       "LF, …)");
    const char *h3[] = {"Bad Name: 1", NULL};
    o.headers = h3;
    upstream_fails(&o, "client: upstream header \"Bad Name: 1\": the name is not an HTTP token");
    o.headers = NULL;
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    ro.max_attempts = 0;
    o.retry = &ro;
    msb_client_upstream_t *u = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_upstream_new(&o, &u, &err), MSB_EINVAL);
    assert_has(err.message, "client: upstream retry: ");
    o.retry = NULL;
    msb_breaker_opts_t bo = MSB_BREAKER_OPTS_INIT;
    bo.failure_rate_threshold = 2;
    o.breaker_opts = &bo;
    cr_assert_eq(msb_client_upstream_new(&o, &u, &err), MSB_EINVAL);
    assert_has(err.message, "client: upstream breaker: ");
    o.breaker_opts = NULL;
    msb_bulkhead_opts_t ho = MSB_BULKHEAD_OPTS_INIT;
    ho.max_concurrent = 0;
    o.bulkhead_opts = &ho;
    cr_assert_eq(msb_client_upstream_new(&o, &u, &err), MSB_EINVAL);
    assert_has(err.message, "client: upstream bulkhead: ");
    cr_assert_eq(msb_client_upstream_new(NULL, NULL, &err), MSB_EINVAL);
    msb_client_upstream_free(NULL);
}

Test(client_input, upstream_names_and_parts)
{
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.base_url = "https://Users.internal/v1/";
    msb_client_upstream_t *u = NULL;
    cr_assert_eq(msb_client_upstream_new(&o, &u, NULL), MSB_OK);
    cr_assert_str_eq(msb_client_upstream_name(u), "Users.internal:443");
    cr_assert_not_null(msb_client_upstream_breaker(u));
    cr_assert_not_null(msb_client_upstream_bulkhead(u));
    cr_assert_not_null(msb_client_upstream_retry(u));
    cr_assert_str_eq(msb_breaker_name(msb_client_upstream_breaker(u)), "Users.internal:443");
    msb_client_upstream_free(u);
    msb_breaker_t *shared = NULL;
    cr_assert_eq(msb_breaker_new(NULL, &shared, NULL), MSB_OK);
    o = (msb_client_upstream_opts_t)MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.breaker = shared;
    o.no_bulkhead = true;
    o.no_retry = true;
    cr_assert_eq(msb_client_upstream_new(&o, &u, NULL), MSB_OK);
    cr_assert_str_eq(msb_client_upstream_name(u), "default");
    cr_assert_eq(msb_client_upstream_breaker(u), shared);
    cr_assert_null(msb_client_upstream_bulkhead(u));
    cr_assert_null(msb_client_upstream_retry(u));
    msb_client_upstream_free(u);
    msb_breaker_free(shared); /* still ours */
}

static void request_fails(msb_client_t *c, msb_client_req_t *req, const char *want)
{
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(c, req, &r, &err), MSB_EINVAL);
    cr_assert_null(r);
    cr_assert_str_eq(err.message, want);
}

Test(client_input, requests)
{
    msb_client_t *c = NULL;
    cr_assert_eq(msb_client_new(NULL, &c, NULL), MSB_OK);
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    request_fails(c, &req,
                  "client: request URL \"\" is relative and upstream \"default\" has no base_url");
    req.url = "/x";
    request_fails(c, &req,
                  "client: request URL \"/x\" is relative and upstream \"default\" has no "
                  "base_url");
    req.url = "http://h/a b";
    request_fails(c, &req,
                  "client: request URL: URL holds a space, control or non-ASCII byte at "
                  "offset 10 (percent-encode it)");
    req.url = "gopher://h/";
    request_fails(c, &req, "client: request URL: URL scheme \"gopher\" is not http or https");
    req.url = "http://h/";
    req.method = "GE T";
    request_fails(c, &req, "client: request method \"GE T\" is not an HTTP token");
    req.method = "";
    request_fails(c, &req, "client: request method \"\" is not an HTTP token");
    req.method = NULL;
    const char *h[] = {"X-A: ok", "X-B: a\nb", NULL};
    req.headers = h;
    request_fails(c, &req,
                  "client: request header X-B: the value holds a control character "
                  "(CR, LF, …)");
    req.headers = NULL;
    req.body_len = 3;
    request_fails(c, &req, "client: request body is NULL but body_len is 3");
    req.body_len = 0;
    req.attempt_timeout_ns = 5;
    request_fails(c, &req, "client: request attempt_timeout_ns 5 is under 1 ms");
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(c, NULL, &r, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "client: request must not be NULL");
    cr_assert_eq(msb_client_do(c, &req, NULL, &err), MSB_EINVAL);
    cr_assert_eq(msb_client_do(NULL, &req, &r, &err), MSB_EINVAL);

    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.base_url = "http://127.0.0.1:1/api";
    msb_client_upstream_t *u = NULL;
    cr_assert_eq(msb_client_upstream_new(&o, &u, NULL), MSB_OK);
    req = (msb_client_req_t)MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "x";
    request_fails(c, &req, "client: request URL \"x\" must be absolute or start with '/' or '?'");
    msb_client_upstream_free(u);
    msb_client_free(c);
}

/* ---- URLs ----------------------------------------------------------------------------------- */

static void redacts(const char *url, const char *want)
{
    msb__buf_t b = MSB__BUF_INIT;
    msb__client_url_redact(url, &b);
    msb__buf_putc(&b, '\0');
    cr_assert_str_eq(b.data, want);
    msb__buf_free(&b);
}

Test(client_input, url_redaction)
{
    redacts("http://u:p@h:8080/a/b?x=1&y=&z&t=secret#frag",
            "http://h:8080/a/b?x=REDACTED&y=&z&t=REDACTED");
    redacts("HTTPS://h:443/p", "https://h/p");
    redacts("http://[::1]:9/p", "http://[::1]:9/p");
    redacts("http://h", "http://h");
    redacts("http://@h/?", "http://h/?");
    redacts("nope", "<invalid URL>");
    redacts(NULL, "<invalid URL>");
}

Test(client_input, url_parsing)
{
    msb__url_t u;
    cr_assert_eq(msb__client_url_parse("http://[::1]:8080/x", &u, NULL), MSB_OK);
    cr_assert_eq(u.host_len, 3);
    cr_assert_eq(strncmp(u.host, "::1", 3), 0);
    cr_assert_eq(u.port, 8080);
    cr_assert_eq(msb__client_url_parse("https://a.b", &u, NULL), MSB_OK);
    cr_assert_eq(u.port, 443);
    cr_assert(u.https);
    cr_assert_eq(msb__client_url_parse("http://h:/", &u, NULL), MSB_OK, "empty port: default");
    cr_assert_eq(u.port, 80);
    const char *bad[] = {"http://[::1",
                         "http://[]/",
                         "http://[::1]x/",
                         "http://h:0/",
                         "http://h:+1/",
                         "http://h:65536/",
                         "http://h^/",
                         "http:/h",
                         "http://h/\x7f",
                         "http://h/\xc3\xa9",
                         ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msb_error_t err = MSB_ERROR_INIT;
        cr_assert_eq(msb__client_url_parse(bad[i], &u, &err), MSB_EINVAL, "%s", bad[i]);
        cr_assert_neq(err.message[0], '\0');
    }
}

/* ---- Retry-After and dates ------------------------------------------------------------------- */

#define NOW 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */

static int64_t date(const char *s)
{
    int64_t t = -1;
    cr_assert_eq(msb__client_http_date(s, strlen(s), NOW, &t), MSB_OK, "%s", s);
    return t;
}

Test(client_input, http_dates_in_all_three_forms)
{
    cr_assert_eq(date("Sun, 06 Nov 1994 08:49:37 GMT"), NOW);
    cr_assert_eq(date("Sunday, 06-Nov-94 08:49:37 GMT"), NOW);
    cr_assert_eq(date("Sun Nov  6 08:49:37 1994"), NOW);
    cr_assert_eq(date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    cr_assert_eq(date("Tue, 29 Feb 2000 23:59:59 GMT"), 951868799);
    cr_assert_eq(date("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799);
    cr_assert_eq(date("Sat, 30 Jun 2012 23:59:60 GMT"), 1341100799, "a leap second");
    /* two-digit years: within 50 years ahead of "now", else the previous century */
    cr_assert_eq(date("Monday, 01-Jan-40 00:00:00 GMT"), 2208988800, "2040 from 1994");
    cr_assert_eq(date("Monday, 01-Jan-69 00:00:00 GMT"), -31536000, "1969, not 2069");
    const char *bad[] = {"Sun, 6 Nov 1994 08:49:37 GMT",  "Sun, 06 Nov 1994 08:49:37 UTC",
                         "sun, 06 Nov 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
                         "Sun, 29 Feb 1900 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                         "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT ",
                         "Sun Nov 6 08:49:37 1994",       "Sunday, 06-Nov-1994 08:49:37 GMT",
                         "Sun, 06 Foo 1994 08:49:37 GMT", "",
                         "Sun, 06 Nov 1994 08:49:3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t t;
        cr_assert_eq(msb__client_http_date(bad[i], strlen(bad[i]), NOW, &t), MSB_EPROTO, "%s",
                     bad[i]);
    }
}

Test(client_input, retry_after_values)
{
    uint64_t s = 0;
    cr_assert_eq(msb__client_retry_after("120", 3, NOW, &s), MSB_OK);
    cr_assert_eq(s, 120);
    cr_assert_eq(msb__client_retry_after(" 0 ", 3, NOW, &s), MSB_OK);
    cr_assert_eq(s, 0);
    const char *huge = "99999999999999999999999999";
    cr_assert_eq(msb__client_retry_after(huge, strlen(huge), NOW, &s), MSB_OK);
    cr_assert_eq(s, UINT64_C(1) << 40, "capped, no overflow");
    const char *d = "Sun, 06 Nov 1994 08:50:37 GMT";
    cr_assert_eq(msb__client_retry_after(d, strlen(d), NOW, &s), MSB_OK);
    cr_assert_eq(s, 60);
    d = "Sun, 06 Nov 1994 08:00:00 GMT";
    cr_assert_eq(msb__client_retry_after(d, strlen(d), NOW, &s), MSB_OK);
    cr_assert_eq(s, 0, "a past date: now");
    const char *bad[] = {"", " ", "-1", "1.5", "12a", "+3", "soon"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(msb__client_retry_after(bad[i], strlen(bad[i]), NOW, &s), MSB_EPROTO, "%s",
                     bad[i]);
    }
}

/* ---- response header lines ------------------------------------------------------------------ */

static msb_status_t line(msb_client_response_t *r, const char *s, bool *end)
{
    return msb__client_response_line(r, s, strlen(s), end);
}

Test(client_input, response_lines)
{
    msb_client_response_t *r = msb__client_response_new();
    bool end = false;
    cr_assert_eq(line(r, "X-Before: status\r\n", &end), MSB_EPROTO, "a field before the status");
    cr_assert_eq(line(r, "HTTP/1.1 100 Continue\r\n", &end), MSB_OK);
    cr_assert_eq(line(r, "\r\n", &end), MSB_OK);
    cr_assert(end);
    cr_assert_eq(msb_client_response_status(r), 100);
    cr_assert_eq(line(r, "HTTP/1.1 200 OK\r\n", &end), MSB_OK);
    cr_assert(!end);
    cr_assert_eq(line(r, "Set-Cookie:  a=1 \r\n", &end), MSB_OK);
    cr_assert_eq(line(r, "set-cookie: b=2\r\n", &end), MSB_OK);
    cr_assert_eq(line(r, "X-Folded: one\r\n", &end), MSB_OK);
    cr_assert_eq(line(r, "\t two \r\n", &end), MSB_OK, "obs-fold joins with a space");
    cr_assert_eq(line(r, "X-Empty:\r\n", &end), MSB_OK);
    cr_assert_eq(line(r, "\r\n", &end), MSB_OK);
    cr_assert(end);
    cr_assert_eq(msb_client_response_status(r), 200);
    cr_assert_str_eq(msb_client_response_header(r, "SET-COOKIE", 0), "a=1");
    cr_assert_str_eq(msb_client_response_header(r, "Set-Cookie", 1), "b=2");
    cr_assert_str_eq(msb_client_response_header(r, "x-folded", 0), "one two");
    cr_assert_str_eq(msb_client_response_header(r, "X-Empty", 0), "");
    cr_assert_eq(msb_client_response_header_count(r), 4);
    cr_assert_eq(line(r, "No colon\r\n", &end), MSB_EPROTO);
    cr_assert_eq(line(r, "Bad name: x\r\n", &end), MSB_EPROTO);
    cr_assert_eq(line(r, "HTTP/1.1 20 OK\r\n", &end), MSB_EPROTO);
    cr_assert_eq(line(r, "HTTP/1.1 2000 OK\r\n", &end), MSB_EPROTO);
    cr_assert_eq(line(r, "HTTP/1.1 099 Low\r\n", &end), MSB_EPROTO);
    cr_assert_eq(line(r, "HTTP/2 204\r\n", &end), MSB_OK);
    cr_assert_eq(msb_client_response_status(r), 204);
    cr_assert_eq(msb_client_response_header_count(r), 0, "a new status line starts over");
    cr_assert_eq(line(r, " fold without a field\r\n", &end), MSB_EPROTO);
    msb_client_response_free(r);
    msb_client_response_free(NULL);
    cr_assert_eq(msb_client_response_status(NULL), 0);
    size_t len = 9;
    cr_assert_str_eq(msb_client_response_body(NULL, &len), "");
    cr_assert_eq(len, 0);
}

Test(client_input, header_lines)
{
    cr_assert_eq(msb__client_header_check("A: b", "h", NULL), MSB_OK);
    cr_assert_eq(msb__client_header_check("A:", "h", NULL), MSB_OK);
    cr_assert_eq(msb__client_header_check("A:\tb c", "h", NULL), MSB_OK);
    cr_assert_eq(msb__client_header_check(": b", "h", NULL), MSB_EINVAL);
    cr_assert_eq(msb__client_header_check("A : b", "h", NULL), MSB_EINVAL);
    cr_assert_eq(msb__client_header_check("A: b\x7f", "h", NULL), MSB_EINVAL);
    char longname[300];
    memset(longname, 'n', sizeof(longname));
    longname[257] = ':';
    longname[258] = '\0';
    cr_assert_eq(msb__client_header_check(longname, "h", NULL), MSB_EINVAL);
    cr_assert(msb__client_token("GET", 3, 32));
    cr_assert(!msb__client_token("", 0, 32));
    cr_assert(!msb__client_token("a(b", 3, 32));
}
