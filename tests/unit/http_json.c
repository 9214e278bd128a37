/* JSON bodies: media type, syntax, depth, duplicates, validation errors, JSON answers. */
#include <criterion/criterion.h>

#include "unit/http_test.h"

static msb_http_server_t *srv;
static uint16_t port;

static msb_status_t h_user(msb_http_req_t *req, void *user)
{
    (void)user;
    json_t *body;
    msb_status_t rc = msb_http_req_json(req, &body);
    if (rc != MSB_OK) {
        return rc;
    }
    msb_http_check_t *c = msb_http_check_begin(req);
    msb_http_check_object(c, body, "");
    const char *name = msb_http_check_string(c, body, "name", true, 2, 10);
    int64_t age = 0;
    msb_http_check_int(c, body, "age", false, 0, 150, &age);
    double score = 0;
    msb_http_check_number(c, body, "score", false, 0, 1, &score);
    bool admin = false;
    msb_http_check_bool(c, body, "admin", false, &admin);
    static const char *const roles[] = {"reader", "writer", NULL};
    msb_http_check_enum(c, body, "role", false, roles);
    static const char *const known[] = {"name", "age", "score", "admin", "role", NULL};
    msb_http_check_no_extra(c, body, known);
    rc = msb_http_check_end(c);
    if (rc == MSB_OK) {
        json_t *out = json_pack("{s:s, s:I, s:b, s:{s:f}}", "name", name, "age", (json_int_t)age,
                                "admin", admin, "nested", "score", score);
        rc = msb_http_respond_json(req, 201, out);
        json_decref(out);
    }
    json_decref(body);
    return rc;
}

static void setup(void)
{
    srv = t_server(NULL);
    msb_http_group_t *shallow;
    msb_http_group_opts_t go = MSB_HTTP_GROUP_OPTS_INIT;
    go.json_max_depth = 2;
    cr_assert_eq(msb_http_group_new(msb_http_server_root(srv), "/shallow", &go, &shallow, NULL),
                 MSB_OK);
    t_route(msb_http_server_root(srv), "POST", "/users", h_user, NULL);
    t_route(shallow, "POST", "/users", h_user, NULL);
    t_start(srv);
    port = msb_http_server_port(srv);
}

static void teardown(void)
{
    msb_http_server_stop(srv, 1000, NULL);
    msb_http_server_free(srv);
}

TestSuite(http_json, .init = setup, .fini = teardown, .timeout = 30);

static void post(const char *path, const char *ctype, const char *body, size_t len, t_resp_t *r)
{
    char *req = malloc(len + 512);
    int n =
        snprintf(req, 512, "POST %s HTTP/1.1\r\nHost: x\r\n%s%s%sContent-Length: %zu\r\n\r\n", path,
                 ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "", len);
    memcpy(req + n, body, len);
    req[n + (int)len] = '\0';
    cr_assert(t_exchange(port, req, r));
    free(req);
}

Test(http_json, valid_body_and_json_answer)
{
    t_resp_t r;
    const char *b =
        "{\"name\":\"Ada\",\"age\":36,\"score\":0.5,\"admin\":true,\"role\":\"writer\"}";
    post("/users", "application/json; charset=utf-8", b, strlen(b), &r);
    cr_assert_eq(r.status, 201, "%s", r.body);
    cr_assert_str_eq(r.body,
                     "{\"name\":\"Ada\",\"age\":36,\"admin\":true,\"nested\":{\"score\":0.5}}");
    char v[64];
    cr_assert(t_header(&r, "Content-Type", v, sizeof(v)));
    cr_assert_str_eq(v, "application/json");
    t_resp_free(&r);
    post("/users", "application/merge-patch+json", "{\"name\":\"Bo\"}", 13, &r);
    cr_assert_eq(r.status, 201, "+json types count");
    t_resp_free(&r);
}

Test(http_json, media_type_must_be_json)
{
    t_resp_t r;
    post("/users", "text/plain", "{}", 2, &r);
    cr_assert_eq(r.status, 415);
    t_resp_free(&r);
    post("/users", NULL, "{}", 2, &r);
    cr_assert_eq(r.status, 415);
    t_resp_free(&r);
    post("/users", "application/jsonx", "{}", 2, &r);
    cr_assert_eq(r.status, 415);
    t_resp_free(&r);
}

Test(http_json, malformed_json_is_400_with_position)
{
    t_resp_t r;
    post("/users", "application/json", "{\"name\": }", 10, &r);
    cr_assert_eq(r.status, 400);
    cr_assert(strstr(r.body, "line 1, column") != NULL, "%s", r.body);
    cr_assert(strstr(r.head, "application/problem+json") != NULL);
    t_resp_free(&r);
    post("/users", "application/json", "{\"name\":\"a\",\"name\":\"b\"}", 23, &r);
    cr_assert_eq(r.status, 400, "duplicate keys are refused");
    t_resp_free(&r);
    post("/users", "application/json", "", 0, &r);
    cr_assert_eq(r.status, 400);
    t_resp_free(&r);
    post("/users", "application/json", "{\"name\":\"\xff\xfe\"}", 13, &r);
    cr_assert_eq(r.status, 400, "invalid UTF-8");
    t_resp_free(&r);
}

Test(http_json, depth_is_limited_before_parsing)
{
    size_t n = 20000;
    char *deep = malloc(n + 1);
    memset(deep, '[', n / 2);
    memset(deep + n / 2, ']', n / 2);
    t_resp_t r;
    post("/users", "application/json", deep, n, &r);
    cr_assert_eq(r.status, 400);
    cr_assert(strstr(r.body, "deeper than 64") != NULL, "%s", r.body);
    t_resp_free(&r);
    free(deep);
    post("/users", "application/json", "{\"name\":\"[[[[[[[[[\"}", 20, &r);
    cr_assert_eq(r.status, 201, "brackets inside strings do not count");
    t_resp_free(&r);
    post("/shallow/users", "application/json", "{\"name\":\"ab\",\"x\":[{}]}", 22, &r);
    cr_assert_eq(r.status, 400, "group limit of 2");
    t_resp_free(&r);
}

Test(http_json, validation_lists_every_bad_field)
{
    t_resp_t r;
    const char *b = "{\"age\":200,\"score\":\"x\",\"admin\":1,\"role\":\"boss\",\"extra\":null}";
    post("/users", "application/json", b, strlen(b), &r);
    cr_assert_eq(r.status, 422, "%s", r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert_not_null(j);
    json_t *errs = json_object_get(j, "errors");
    cr_assert_eq(json_array_size(errs), 6, "%s", r.body);
    const char *fields[] = {"name", "age", "score", "admin", "role", "extra"};
    for (size_t i = 0; i < 6; i++) {
        json_t *e = json_array_get(errs, i);
        cr_assert_str_eq(json_string_value(json_object_get(e, "field")), fields[i]);
        cr_assert_not_null(json_string_value(json_object_get(e, "message")));
    }
    cr_assert_eq(json_integer_value(json_object_get(j, "status")), 422);
    cr_assert_str_eq(json_string_value(json_object_get(j, "title")), "Unprocessable Content");
    json_decref(j);
    t_resp_free(&r);
    post("/users", "application/json", "[1,2]", 5, &r);
    cr_assert_eq(r.status, 422);
    cr_assert(strstr(r.body, "must be an object") != NULL);
    t_resp_free(&r);
    post("/users", "application/json", "{\"name\":\"\xc3\xa9\xc3\xa9\"}", 15, &r);
    cr_assert_eq(r.status, 201, "two code points, four bytes");
    t_resp_free(&r);
}
