/*
 * Middleware over real sockets: request id, CORS, security headers, gzip, route groups with
 * their own chains and limits, and the hook protocol of custom middleware.
 */
#include <criterion/criterion.h>
#include <zlib.h>

#include "unit/http_test.h"

static msb_http_server_t *srv;
static uint16_t port;

static void mw_ok(msb_status_t rc, const msb_error_t *err)
{
    cr_assert_eq(rc, MSB_OK, "%s", err->message);
}

static void use(msb_http_group_t *g, msb_http_mw_t *mw)
{
    cr_assert_eq(msb_http_group_use(g, mw, NULL), MSB_OK);
    msb_http_mw_free(mw);
}

static void get(const char *raw, t_resp_t *r)
{
    cr_assert(t_exchange(port, raw, r), "no response to %s", raw);
}

static void stop(void)
{
    if (srv != NULL) {
        msb_http_server_stop(srv, 1000, NULL);
        msb_http_server_free(srv);
    }
}

TestSuite(http_middleware, .fini = stop, .timeout = 30);

/* ---- request id ---- */

static msb_status_t h_id(msb_http_req_t *req, void *user)
{
    (void)user;
    const char *id = msb_http_req_id(req);
    return msb_http_respond(req, 200, "text/plain", id, strlen(id));
}

Test(http_middleware, request_id_accepts_sane_ids_and_generates_otherwise)
{
    srv = t_server(NULL); /* default middleware: request id */
    t_route(msb_http_server_root(srv), "GET", "/id", h_id, NULL);
    t_start(srv);
    port = msb_http_server_port(srv);
    t_resp_t r;
    char v[256];
    get("GET /id HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc-123_x.y:z+/=\r\n\r\n", &r);
    cr_assert_str_eq(r.body, "abc-123_x.y:z+/=");
    cr_assert(t_header(&r, "X-Request-Id", v, sizeof(v)));
    cr_assert_str_eq(v, "abc-123_x.y:z+/=");
    t_resp_free(&r);
    const char *insane[] = {"has space", "semi;colon", "\xc3\xa9t\xc3\xa9", "<script>", ""};
    for (size_t i = 0; i < sizeof(insane) / sizeof(insane[0]); i++) {
        char req[512];
        snprintf(req, sizeof(req), "GET /id HTTP/1.1\r\nHost: x\r\nX-Request-Id: %s\r\n\r\n",
                 insane[i]);
        get(req, &r);
        cr_assert_eq(r.body_len, 32, "replaced: %s", r.body);
        t_resp_free(&r);
    }
    static char longid[200];
    memset(longid, 'a', 129);
    char req[400];
    snprintf(req, sizeof(req), "GET /id HTTP/1.1\r\nHost: x\r\nX-Request-Id: %s\r\n\r\n", longid);
    get(req, &r);
    cr_assert_eq(r.body_len, 32, "129 chars is too long");
    t_resp_free(&r);
    char first[64];
    get("GET /id HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    snprintf(first, sizeof(first), "%s", r.body);
    t_resp_free(&r);
    get("GET /id HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    cr_assert_str_neq(first, r.body, "ids are random");
    t_resp_free(&r);
    /* a request refused by the parser still gets an id, in the header and the problem */
    get("GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", &r);
    cr_assert_eq(r.status, 400);
    cr_assert(t_header(&r, "X-Request-Id", v, sizeof(v)));
    t_resp_free(&r);
}

/* ---- CORS ---- */

static void cors_server(bool credentials, const char *const *origins)
{
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.default_middleware = false;
    srv = t_server(&o);
    msb_http_cors_opts_t co = MSB_HTTP_CORS_OPTS_INIT;
    static const char *const headers[] = {"Content-Type", "Authorization", NULL};
    static const char *const expose[] = {"X-Total", NULL};
    co.origins = origins;
    co.headers = headers;
    co.expose = expose;
    co.credentials = credentials;
    co.max_age_s = 300;
    msb_http_mw_t *mw;
    msb_error_t err = MSB_ERROR_INIT;
    mw_ok(msb_http_mw_cors_new(&co, &mw, &err), &err);
    use(msb_http_server_root(srv), mw);
    t_route(msb_http_server_root(srv), "GET", "/r", t_hello, NULL);
    t_route(msb_http_server_root(srv), "PUT", "/r", t_hello, NULL);
    t_start(srv);
    port = msb_http_server_port(srv);
}

Test(http_middleware, cors_preflight_allowed)
{
    static const char *const origins[] = {"https://app.example", NULL};
    cors_server(true, origins);
    t_resp_t r;
    char v[256];
    get("OPTIONS /r HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
        "Access-Control-Request-Method: PUT\r\n"
        "Access-Control-Request-Headers: content-type, authorization\r\n\r\n",
        &r);
    cr_assert_eq(r.status, 204);
    cr_assert(t_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    cr_assert_str_eq(v, "https://app.example");
    cr_assert(t_header(&r, "Access-Control-Allow-Credentials", v, sizeof(v)));
    cr_assert_str_eq(v, "true");
    cr_assert(t_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)));
    cr_assert_str_eq(v, "GET, HEAD, PUT, OPTIONS", "the route's methods");
    cr_assert(t_header(&r, "Access-Control-Allow-Headers", v, sizeof(v)));
    cr_assert_str_eq(v, "content-type, authorization");
    cr_assert(t_header(&r, "Access-Control-Max-Age", v, sizeof(v)));
    cr_assert_str_eq(v, "300");
    cr_assert(t_header(&r, "Vary", v, sizeof(v)));
    t_resp_free(&r);
}

Test(http_middleware, cors_preflight_refused)
{
    static const char *const origins[] = {"https://app.example", NULL};
    cors_server(false, origins);
    const char *reqs[] = {
        "OPTIONS /r HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n"
        "Access-Control-Request-Method: PUT\r\n\r\n",
        "OPTIONS /r HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
        "Access-Control-Request-Method: DELETE\r\n\r\n",
        "OPTIONS /r HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
        "Access-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: x-secret\r\n\r\n",
    };
    for (size_t i = 0; i < 3; i++) {
        t_resp_t r;
        get(reqs[i], &r);
        cr_assert_eq(r.status, 403, "case %zu", i);
        cr_assert(strstr(r.body, "CORS") != NULL);
        cr_assert_not(t_header(&r, "Access-Control-Allow-Origin", NULL, 0));
        t_resp_free(&r);
    }
}

Test(http_middleware, cors_simple_requests)
{
    static const char *const origins[] = {"https://app.example", NULL};
    cors_server(true, origins);
    t_resp_t r;
    char v[256];
    get("GET /r HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n\r\n", &r);
    cr_assert(t_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    cr_assert_str_eq(v, "https://app.example");
    cr_assert(t_header(&r, "Access-Control-Expose-Headers", v, sizeof(v)));
    cr_assert_str_eq(v, "X-Total");
    cr_assert(t_header(&r, "Vary", v, sizeof(v)));
    cr_assert_str_eq(v, "Origin");
    t_resp_free(&r);
    get("GET /r HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n\r\n", &r);
    cr_assert_eq(r.status, 200, "the browser, not the server, enforces CORS");
    cr_assert_not(t_header(&r, "Access-Control-Allow-Origin", NULL, 0));
    t_resp_free(&r);
    get("GET /r HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    cr_assert_not(t_header(&r, "Access-Control-Allow-Origin", NULL, 0));
    cr_assert_not(t_header(&r, "Vary", NULL, 0));
    t_resp_free(&r);
}

Test(http_middleware, cors_wildcard)
{
    static const char *const any[] = {"*", NULL};
    cors_server(false, any);
    t_resp_t r;
    char v[256];
    get("GET /r HTTP/1.1\r\nHost: x\r\nOrigin: https://whoever.example\r\n\r\n", &r);
    cr_assert(t_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    cr_assert_str_eq(v, "*");
    cr_assert_not(t_header(&r, "Access-Control-Allow-Credentials", NULL, 0));
    t_resp_free(&r);
}

Test(http_middleware, cors_configuration_errors)
{
    srv = NULL;
    static const char *const any[] = {"*", NULL};
    static const char *const bad_origin[] = {"app.example", NULL};
    static const char *const bad_header[] = {"Bad Header", NULL};
    msb_http_cors_opts_t co = MSB_HTTP_CORS_OPTS_INIT;
    msb_http_mw_t *mw = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    co.origins = any;
    co.credentials = true;
    cr_assert_eq(msb_http_mw_cors_new(&co, &mw, &err), MSB_EINVAL);
    cr_assert(strstr(err.message, "credentials") != NULL, "%s", err.message);
    co.credentials = false;
    co.origins = bad_origin;
    cr_assert_eq(msb_http_mw_cors_new(&co, &mw, &err), MSB_EINVAL);
    co.origins = any;
    co.headers = bad_header;
    cr_assert_eq(msb_http_mw_cors_new(&co, &mw, &err), MSB_EINVAL);
    cr_assert_null(mw);
}

/* ---- security headers ---- */

static msb_status_t h_csp(msb_http_req_t *req, void *user)
{
    (void)user;
    msb_http_resp_header_set(req, "Content-Security-Policy", "default-src 'self'");
    return msb_http_respond(req, 200, "text/html", "<p>", 3);
}

Test(http_middleware, security_headers)
{
    srv = t_server(NULL);
    msb_http_mw_t *mw;
    msb_error_t err = MSB_ERROR_INIT;
    mw_ok(msb_http_mw_security_new(NULL, &mw, &err), &err);
    use(msb_http_server_root(srv), mw);
    t_route(msb_http_server_root(srv), "GET", "/", t_hello, NULL);
    t_route(msb_http_server_root(srv), "GET", "/csp", h_csp, NULL);
    t_start(srv);
    port = msb_http_server_port(srv);
    t_resp_t r;
    char v[256];
    get("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    cr_assert(t_header(&r, "X-Content-Type-Options", v, sizeof(v)));
    cr_assert_str_eq(v, "nosniff");
    cr_assert(t_header(&r, "X-Frame-Options", v, sizeof(v)));
    cr_assert_str_eq(v, "DENY");
    cr_assert(t_header(&r, "Content-Security-Policy", v, sizeof(v)));
    cr_assert_str_eq(v, "default-src 'none'; frame-ancestors 'none'");
    cr_assert(t_header(&r, "Referrer-Policy", v, sizeof(v)));
    cr_assert_not(t_header(&r, "Strict-Transport-Security", NULL, 0), "no HSTS over plain HTTP");
    t_resp_free(&r);
    get("GET /csp HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    cr_assert(t_header(&r, "Content-Security-Policy", v, sizeof(v)));
    cr_assert_str_eq(v, "default-src 'self'", "the handler's own value wins");
    t_resp_free(&r);
    get("GET /missing HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    cr_assert_eq(r.status, 404);
    cr_assert(t_header(&r, "X-Content-Type-Options", NULL, 0), "errors get them too");
    t_resp_free(&r);
    msb_http_security_opts_t so = MSB_HTTP_SECURITY_OPTS_INIT;
    so.csp = "a\nb";
    cr_assert_eq(msb_http_mw_security_new(&so, &mw, &err), MSB_EINVAL);
}

/* ---- gzip ---- */

static msb_status_t h_big(msb_http_req_t *req, void *user)
{
    const char *type = user;
    static char text[5000];
    for (size_t i = 0; i < sizeof(text); i++) {
        text[i] = "lorem ipsum dolor "[i % 18];
    }
    return msb_http_respond(req, 200, type, text, sizeof(text));
}

static void gunzip_check(const t_resp_t *r)
{
    char out[6000];
    z_stream z;
    memset(&z, 0, sizeof(z));
    cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)r->body;
    z.avail_in = (uInt)r->body_len;
    z.next_out = (Bytef *)out;
    z.avail_out = sizeof(out);
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    cr_assert_eq(z.total_out, 5000);
    cr_assert_eq(memcmp(out, "lorem ipsum dolor lorem", 23), 0);
    inflateEnd(&z);
}

Test(http_middleware, gzip_honours_accept_encoding)
{
    srv = t_server(NULL);
    msb_http_mw_t *mw;
    msb_error_t err = MSB_ERROR_INIT;
    mw_ok(msb_http_mw_gzip_new(NULL, &mw, &err), &err);
    use(msb_http_server_root(srv), mw);
    t_route(msb_http_server_root(srv), "GET", "/json", h_big, "application/json");
    t_route(msb_http_server_root(srv), "GET", "/png", h_big, "image/png");
    t_route(msb_http_server_root(srv), "GET", "/small", t_hello, NULL);
    t_start(srv);
    port = msb_http_server_port(srv);
    struct {
        const char *ae;
        bool gz;
    } cases[] = {{"gzip", true},
                 {"br;q=1, gzip;q=0.5", true},
                 {"gzip;q=0", false},
                 {"gzip;q=0.000", false},
                 {"*", true},
                 {"*;q=0", false},
                 {"gzip;q=0, *", false},
                 {"identity", false},
                 {"x-gzip", true},
                 {"deflate, GZIP ; q=0.8", true}};
    char v[128];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char req[256];
        snprintf(req, sizeof(req), "GET /json HTTP/1.1\r\nHost: x\r\nAccept-Encoding: %s\r\n\r\n",
                 cases[i].ae);
        t_resp_t r;
        get(req, &r);
        cr_assert_eq(t_header(&r, "Content-Encoding", v, sizeof(v)), cases[i].gz, "%s",
                     cases[i].ae);
        cr_assert(t_header(&r, "Vary", v, sizeof(v)));
        cr_assert_str_eq(v, "Accept-Encoding");
        if (cases[i].gz) {
            cr_assert_lt(r.body_len, 5000);
            gunzip_check(&r);
        } else {
            cr_assert_eq(r.body_len, 5000);
        }
        t_resp_free(&r);
    }
    t_resp_t r;
    get("GET /json HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    cr_assert_not(t_header(&r, "Content-Encoding", NULL, 0));
    t_resp_free(&r);
    get("GET /png HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", &r);
    cr_assert_not(t_header(&r, "Content-Encoding", NULL, 0), "not a textual type");
    t_resp_free(&r);
    get("GET /small HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", &r);
    cr_assert_not(t_header(&r, "Content-Encoding", NULL, 0), "below min_size");
    cr_assert_str_eq(r.body, "hello");
    t_resp_free(&r);
    get("HEAD /json HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", &r);
    cr_assert(t_header(&r, "Content-Encoding", NULL, 0), "HEAD reports what GET would send");
    cr_assert(t_header(&r, "Content-Length", v, sizeof(v)));
    cr_assert_lt(atoi(v), 5000);
    t_resp_free(&r);
    msb_http_gzip_opts_t go = MSB_HTTP_GZIP_OPTS_INIT;
    go.level = 10;
    cr_assert_eq(msb_http_mw_gzip_new(&go, &mw, &err), MSB_EINVAL);
}

/* ---- groups ---- */

static void on_tag_response(msb_http_req_t *req, void *state, void *user)
{
    (void)state;
    msb_http_resp_header_add(req, "X-Chain", user);
}

static msb_http_mw_t *tagger(const char *tag)
{
    msb_http_mw_ops_t ops = MSB_HTTP_MW_OPS_INIT;
    ops.name = "tag";
    ops.on_response = on_tag_response;
    msb_http_mw_t *mw;
    cr_assert_eq(msb_http_mw_new(&ops, (void *)tag, &mw, NULL), MSB_OK);
    return mw;
}

Test(http_middleware, groups_have_their_own_chain_and_limits)
{
    srv = t_server(NULL);
    msb_http_group_t *root = msb_http_server_root(srv);
    msb_http_group_t *v1;
    msb_http_group_t *v2;
    msb_http_group_t *admin;
    msb_http_group_opts_t go = MSB_HTTP_GROUP_OPTS_INIT;
    go.max_body_bytes = 4;
    cr_assert_eq(msb_http_group_new(root, "/v1", NULL, &v1, NULL), MSB_OK);
    cr_assert_eq(msb_http_group_new(root, "/v2", &go, &v2, NULL), MSB_OK);
    cr_assert_eq(msb_http_group_new(v1, "/admin", NULL, &admin, NULL), MSB_OK);
    use(root, tagger("root"));
    use(v1, tagger("v1"));
    use(v2, tagger("v2"));
    use(admin, tagger("admin"));
    t_route(v1, "POST", "/echo", t_echo, NULL);
    t_route(v2, "POST", "/echo", t_echo, NULL);
    t_route(admin, "GET", "/x", t_hello, NULL);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_http_group_new(root, "v3", NULL, &v1, &err), MSB_EINVAL);
    cr_assert_eq(msb_http_group_new(root, "/v3/", NULL, &v1, &err), MSB_EINVAL);
    cr_assert_eq(msb_http_group_new(root, "/{v}", NULL, &v1, &err), MSB_EINVAL);
    t_start(srv);
    port = msb_http_server_port(srv);
    cr_assert_eq(msb_http_route(root, "GET", "/late", t_hello, NULL, &err), MSB_EBUSY);
    t_resp_t r;
    get("GET /v1/admin/x HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    cr_assert(strstr(r.head, "X-Chain: admin\r\nX-Chain: v1\r\nX-Chain: root\r\n") != NULL,
              "on_response runs innermost first: %s", r.head);
    t_resp_free(&r);
    get("POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", &r);
    cr_assert_eq(r.status, 200);
    t_resp_free(&r);
    get("POST /v2/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", &r);
    cr_assert_eq(r.status, 413, "v2 allows 4 bytes");
    cr_assert(strstr(r.head, "X-Chain: v2") != NULL);
    t_resp_free(&r);
    get("POST /v2/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
        &r);
    cr_assert_eq(r.status, 413, "chunked bodies count too");
    t_resp_free(&r);
    get("GET /v2/nothing HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    cr_assert_eq(r.status, 404);
    cr_assert(strstr(r.head, "X-Chain: v2\r\nX-Chain: root") != NULL, "404s use the group: %s",
              r.head);
    t_resp_free(&r);
}
