// msb-test: backends curl
/* nginx through libcurl: the health location answers, a request is proxied to an upstream (with
 * X-Forwarded-For and a request id), connections are kept alive, and unknown paths are 404. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "it_http.h"

static const char *base(void)
{
    return msb_it_env("MSB_TEST__NGINX__URL", "http://127.0.0.1:58080");
}

static void get(CURL *h, const char *path, it_http_resp_t *r)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", base(), path);
    bool ok = it_http_on(h, "GET", url, NULL, NULL, r);
    MSB_IT_REQUIRE("nginx", ok, "GET %s: %s", url, r->error);
}

Test(nginx_smoke, health_proxy_keepalive_and_404)
{
    CURL *h = curl_easy_init();
    it_http_resp_t r;
    get(h, "/healthz", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "ok\n");
    cr_assert_eq(r.connects, 1);
    it_http_resp_free(&r);

    get(h, "/_msb/self/hello?x=1", &r);
    cr_assert_eq(r.status, 200, "proxied request: %ld", r.status);
    cr_assert_eq(r.connects, 0, "the second request reuses the kept-alive connection");
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    cr_assert_not_null(j, "upstream answer is not JSON: %s", je.text);
    cr_assert_str_eq(json_string_value(json_object_get(j, "upstream")), "msb_self");
    cr_assert_str_eq(json_string_value(json_object_get(j, "uri")), "/hello?x=1",
                     "the location prefix is stripped");
    cr_assert_str_eq(json_string_value(json_object_get(j, "x_forwarded_for")), "127.0.0.1");
    cr_assert_eq(strlen(json_string_value(json_object_get(j, "x_request_id"))), 32,
                 "nginx passes a 128-bit request id");
    json_decref(j);
    it_http_resp_free(&r);

    get(h, "/no/such/path", &r);
    cr_assert_eq(r.status, 404);
    it_http_resp_free(&r);
    curl_easy_cleanup(h);
}
