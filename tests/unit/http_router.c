/* The router on its own: pattern syntax, precedence, methods, parameters, path policy, scale. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "http/router.h"

static msb__http_router_t *r;
static msb__http_seg_t segs[MSB__HTTP_MAX_SEGMENTS];
static char scratch[8192];

static void setup(void)
{
    cr_assert_eq(msb__http_router_new(&r), MSB_OK);
}

static void teardown(void)
{
    msb__http_router_free(r);
}

TestSuite(http_router, .init = setup, .fini = teardown);

static void add(const char *method, const char *pattern)
{
    const msb__http_route_t *rt;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb__http_router_add(r, method, pattern, (void *)pattern, NULL, NULL, &rt, &err),
                 MSB_OK, "%s %s: %s", method, pattern, err.message);
}

static msb_status_t try_add(const char *method, const char *pattern, msb_error_t *err)
{
    const msb__http_route_t *rt;
    return msb__http_router_add(r, method, pattern, (void *)pattern, NULL, NULL, &rt, err);
}

static size_t nsegs;

static msb__http_match_t match(const char *method, const char *path)
{
    msb__http_match_t m;
    msb__http_perr_t e;
    cr_assert(msb__http_path_split(path, strlen(path), segs, &nsegs, scratch, &e), "%s: %s", path,
              e.detail);
    msb__http_router_match(r, segs, nsegs, msb__http_router_method(r, method, strlen(method)), &m);
    return m;
}

/* The pattern of the route chosen for method+path, "" when none. */
static const char *chosen(const char *method, const char *path)
{
    msb__http_match_t m = match(method, path);
    return m.route != NULL ? m.route->pattern : "";
}

static void param(const msb__http_match_t *m, uint32_t i, const char *want)
{
    const msb__http_seg_t *g = &segs[m->seg[i]];
    cr_assert_eq(g->len, strlen(want), "param %u", i);
    cr_assert_eq(memcmp(g->s, want, g->len), 0);
}

Test(http_router, static_param_and_wildcard)
{
    add("GET", "/v1/users");
    add("GET", "/v1/users/{id}");
    add("GET", "/v1/users/{id}/posts/{post}");
    add("GET", "/static/{path...}");
    cr_assert_str_eq(chosen("GET", "/v1/users"), "/v1/users");
    msb__http_match_t m = match("GET", "/v1/users/42/posts/7");
    cr_assert_str_eq(m.route->pattern, "/v1/users/{id}/posts/{post}");
    param(&m, 0, "42");
    param(&m, 1, "7");
    m = match("GET", "/static/css/a.css");
    cr_assert_str_eq(m.route->pattern, "/static/{path...}");
    cr_assert_eq(segs[m.seg[0]].raw_off, 8, "the tail starts at css/");
    cr_assert_str_eq(chosen("GET", "/static/"), "/static/{path...}", "an empty tail matches");
    cr_assert_str_eq(chosen("GET", "/static"), "", "the tail needs its slash");
    cr_assert_str_eq(chosen("GET", "/v1/users/"), "", "a parameter is never empty");
}

Test(http_router, precedence_static_over_param_over_wildcard_any_order)
{
    add("GET", "/a/{p...}");
    add("GET", "/a/{x}");
    add("GET", "/a/b");
    add("GET", "/a/{x}/c");
    cr_assert_str_eq(chosen("GET", "/a/b"), "/a/b");
    cr_assert_str_eq(chosen("GET", "/a/z"), "/a/{x}");
    cr_assert_str_eq(chosen("GET", "/a/z/c"), "/a/{x}/c");
    cr_assert_str_eq(chosen("GET", "/a/z/d"), "/a/{p...}");
    cr_assert_str_eq(chosen("GET", "/a/b/c"), "/a/{x}/c", "backtracks from the literal b");
}

Test(http_router, method_takes_part_in_the_match)
{
    add("GET", "/a/b");
    add("POST", "/a/{x}");
    cr_assert_str_eq(chosen("POST", "/a/b"), "/a/{x}");
    cr_assert_str_eq(chosen("GET", "/a/b"), "/a/b");
    msb__http_match_t m = match("DELETE", "/a/b");
    cr_assert_null(m.route);
    cr_assert_not_null(m.node);
    uint32_t want =
        (1u << MSB__M_GET) | (1u << MSB__M_HEAD) | (1u << MSB__M_POST) | (1u << MSB__M_OPTIONS);
    cr_assert_eq(m.allow, want, "405 lists the methods of every matching route");
    char allow[128];
    msb__http_router_allow(r, m.allow, allow, sizeof(allow));
    cr_assert_str_eq(allow, "GET, HEAD, POST, OPTIONS");
}

Test(http_router, head_falls_back_to_get)
{
    add("GET", "/g");
    add("GET", "/h");
    add("HEAD", "/h");
    msb__http_match_t m = match("HEAD", "/g");
    cr_assert_str_eq(m.route->pattern, "/g");
    cr_assert(m.head_via_get);
    m = match("HEAD", "/h");
    cr_assert_eq(m.route->method, MSB__M_HEAD);
    cr_assert_not(m.head_via_get);
}

Test(http_router, not_found_has_no_node)
{
    add("GET", "/a");
    msb__http_match_t m = match("GET", "/b");
    cr_assert_null(m.route);
    cr_assert_null(m.node);
    m = match("GET", "/a/");
    cr_assert_null(m.node, "a trailing slash is another path");
}

Test(http_router, trailing_slash_and_root)
{
    add("GET", "/");
    add("GET", "/dir/");
    cr_assert_str_eq(chosen("GET", "/"), "/");
    cr_assert_str_eq(chosen("GET", "/dir/"), "/dir/");
    cr_assert_str_eq(chosen("GET", "/dir"), "");
    cr_assert_str_eq(chosen("GET", "//"), "");
}

Test(http_router, percent_decoding_of_segments)
{
    add("GET", "/files/{name}");
    add("GET", "/caf\xc3\xa9");
    msb__http_match_t m = match("GET", "/files/a%2Fb%20c");
    param(&m, 0, "a/b c");
    cr_assert_str_eq(chosen("GET", "/caf%C3%A9"), "/caf\xc3\xa9");
    cr_assert_str_eq(chosen("GET", "/%66iles/x"), "/files/{name}", "encoded unreserved chars");
}

Test(http_router, custom_methods_and_limits)
{
    add("PURGE", "/cache/{key}");
    cr_assert_str_eq(chosen("PURGE", "/cache/k"), "/cache/{key}");
    cr_assert_eq(msb__http_router_method(r, "BREW", 4), -1);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(try_add("CONNECT", "/x", &err), MSB_ENOTSUP);
    cr_assert_eq(try_add("G T", "/x", &err), MSB_EINVAL);
    cr_assert_eq(try_add("", "/x", &err), MSB_EINVAL);
    char name[16];
    msb_status_t rc = MSB_OK;
    for (int i = 0; i < 40 && rc == MSB_OK; i++) {
        snprintf(name, sizeof(name), "M%d", i);
        rc = try_add(name, "/m", &err);
    }
    cr_assert_eq(rc, MSB_ELIMIT);
}

Test(http_router, invalid_patterns)
{
    const char *bad[] = {"",         "x",         "/a/{",  "/a/{}",  "/a/{1x}", "/a/x{y}",
                         "/{a}/{a}", "/{p...}/x", "/a//b", "/a/./b", "/a/..",   "/a%20",
                         "/a?b",     "/{a-b}",    "/a\tb", "/{...}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msb_error_t err = MSB_ERROR_INIT;
        cr_assert_eq(try_add("GET", bad[i], &err), MSB_EINVAL, "pattern \"%s\"", bad[i]);
        cr_assert(strstr(err.message, "http route") != NULL);
    }
}

Test(http_router, duplicates_conflict_whatever_the_parameter_names)
{
    add("GET", "/u/{id}");
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(try_add("GET", "/u/{uid}", &err), MSB_EEXIST);
    cr_assert(strstr(err.message, "/u/{id}") != NULL, "%s", err.message);
    add("POST", "/u/{uid}");
    msb__http_match_t m = match("POST", "/u/9");
    cr_assert_str_eq(m.route->param_names[0], "uid", "names belong to each route");
}

Test(http_router, many_routes_take_the_hashed_path)
{
    char p[64];
    for (int i = 0; i < 2000; i++) {
        snprintf(p, sizeof(p), "/r%d/{x}", i);
        add("GET", p);
    }
    for (int i = 0; i < 2000; i += 97) {
        char path[64];
        snprintf(path, sizeof(path), "/r%d/v", i);
        snprintf(p, sizeof(p), "/r%d/{x}", i);
        cr_assert_str_eq(chosen("GET", path), p);
    }
    cr_assert_str_eq(chosen("GET", "/r2000/v"), "");
}

/* ---- path policy (path.h) ---- */

static int split_status(const char *path)
{
    msb__http_perr_t e = {0, NULL};
    bool ok = msb__http_path_split(path, strlen(path), segs, &nsegs, scratch, &e);
    return ok ? 0 : e.status;
}

Test(http_router, path_policy)
{
    cr_assert_eq(split_status("/a/b"), 0);
    cr_assert_eq(split_status("/a/../b"), 400);
    cr_assert_eq(split_status("/a/./b"), 400);
    cr_assert_eq(split_status("/a/%2e%2E/b"), 400, "encoded dot segments too");
    cr_assert_eq(split_status("/.."), 400);
    cr_assert_eq(split_status("/a/.../b"), 0, "three dots is a name");
    cr_assert_eq(split_status("/a/%00"), 400);
    cr_assert_eq(split_status("/a/%ff"), 400, "not UTF-8");
    cr_assert_eq(split_status("/a/%c3%28"), 400);
    cr_assert_eq(split_status("/a/%zz"), 400);
    cr_assert_eq(split_status("/a/%4"), 400);
    cr_assert_eq(split_status("/a//b"), 0);
    cr_assert_eq(nsegs, 3);
    cr_assert_eq(segs[1].len, 0);
    static char many[1000];
    for (int i = 0; i < 200; i++) {
        strcpy(many + i * 2, "/a");
    }
    cr_assert_eq(split_status(many), 414);
}

Test(http_router, percent_decode_forms)
{
    char out[32];
    cr_assert_eq(msb__http_pct_decode("a+b%20c", 7, out, true), 5);
    cr_assert_eq(memcmp(out, "a b c", 5), 0);
    cr_assert_eq(msb__http_pct_decode("a+b", 3, out, false), 3);
    cr_assert_eq(memcmp(out, "a+b", 3), 0);
    cr_assert_eq(msb__http_pct_decode("%", 1, out, false), -1);
    cr_assert_eq(msb__http_pct_decode("%g0", 3, out, false), -1);
}
