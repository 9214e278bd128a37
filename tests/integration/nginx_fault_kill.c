// msb-test: backends curl
/* nginx killed with SIGKILL (master and workers): requests fail while it is down, and the same
 * client handle gets answers again once it is back. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "harness.h"
#include "it_http.h"

static void restore(void)
{
    msb_it_infra_restore("nginx");
}

struct health {
    CURL *h;
    char url[1024];
};

static bool healthy(void *arg)
{
    struct health *w = arg;
    it_http_resp_t r;
    bool ok = it_http_on(w->h, "GET", w->url, NULL, NULL, &r) && r.status == 200;
    it_http_resp_free(&r);
    return ok;
}

Test(nginx_fault, client_reconnects_after_kill, .fini = restore, .timeout = 120)
{
    struct health w = {curl_easy_init(), ""};
    snprintf(w.url, sizeof(w.url), "%s/healthz",
             msb_it_env("MSB_TEST__NGINX__URL", "http://127.0.0.1:58080"));
    MSB_IT_REQUIRE("nginx", healthy(&w), "GET %s failed", w.url);

    MSB_IT_INFRA("kill", "nginx");
    it_http_resp_t r;
    cr_assert_not(it_http_on(w.h, "GET", w.url, NULL, NULL, &r),
                  "a request must fail while nginx is down");
    cr_assert_eq(r.code, CURLE_COULDNT_CONNECT, "connection refused expected: %s", r.error);
    it_http_resp_free(&r);

    MSB_IT_INFRA("start", "nginx");
    cr_assert(msb_it_wait_until(healthy, &w, 20000, 100), "no answer within 20 s of the restart");
    curl_easy_cleanup(w.h);
}
