/* The blocking client against the local fault server: responses, reuse, retries, errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "msb/client.h"
#include "support/fault_server.h"

static fault_server_t srv;
static msb_client_t *cl;

static void setup(void)
{
    cr_assert_eq(fault_server_start(&srv), 0, "the test server did not start");
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_new(NULL, &cl, &err), MSB_OK, "%s", err.message);
}

static void teardown(void)
{
    msb_client_free(cl);
    fault_server_stop(&srv);
}

TestSuite(client_blocking, .init = setup, .fini = teardown, .timeout = 60);

/* An upstream on the test server; fast retries unless the test says otherwise. */
static msb_client_upstream_t *upstream(msb_client_upstream_opts_t *o, msb_retry_opts_t *ro)
{
    msb_client_upstream_opts_t d = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    msb_retry_opts_t rd = MSB_RETRY_OPTS_INIT;
    rd.initial_backoff_ns = MSB_MSEC;
    rd.max_backoff_ns = 5 * MSB_MSEC;
    if (o == NULL) {
        o = &d;
    }
    if (ro == NULL) {
        ro = &rd;
    }
    o->base_url = srv.base;
    o->retry = ro;
    msb_client_upstream_t *u = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_upstream_new(o, &u, &err), MSB_OK, "%s", err.message);
    return u;
}

static msb_status_t get(msb_client_upstream_t *u, const char *path, msb_client_response_t **r,
                        msb_error_t *err)
{
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = path;
    return msb_client_do(cl, &req, r, err);
}

Test(client_blocking, get_returns_status_headers_and_body)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(get(u, "/ok", &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_client_response_status(r), 200);
    size_t len = 0;
    cr_assert_str_eq(msb_client_response_body(r, &len), "ok");
    cr_assert_eq(len, 2);
    cr_assert_str_eq(msb_client_response_header(r, "content-type", 0), "text/plain");
    cr_assert_str_eq(msb_client_response_header(r, "Content-Length", 0), "2");
    cr_assert_null(msb_client_response_header(r, "Content-Length", 1));
    cr_assert_null(msb_client_response_header(r, "X-Missing", 0));
    cr_assert_eq(msb_client_response_header_count(r), 2);
    const char *name = NULL;
    const char *value = NULL;
    cr_assert_eq(msb_client_response_header_at(r, 0, &name, &value), MSB_OK);
    cr_assert_str_eq(name, "Content-Length");
    cr_assert_str_eq(value, "2");
    cr_assert_eq(msb_client_response_header_at(r, 2, &name, &value), MSB_ERANGE);
    cr_assert_eq(msb_client_response_attempts(r), 1);
    msb_client_response_free(r);
    msb_client_upstream_free(u);
}

Test(client_blocking, connections_are_reused)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    for (int i = 0; i < 20; i++) {
        msb_client_response_t *r = NULL;
        msb_error_t err = MSB_ERROR_INIT;
        cr_assert_eq(get(u, "/ok", &r, &err), MSB_OK, "%s", err.message);
        msb_client_response_free(r);
    }
    cr_assert_eq(atomic_load(&srv.requests), 20);
    cr_assert_eq(atomic_load(&srv.connections), 1, "one keep-alive connection, got %d",
                 atomic_load(&srv.connections));
    msb_client_upstream_free(u);
}

Test(client_blocking, post_sends_the_body_and_headers)
{
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    const char *dh[] = {"X-Default: up", "X-Both: upstream", NULL};
    o.headers = dh;
    msb_client_upstream_t *u = upstream(&o, NULL);
    const char *h[] = {"Content-Type: application/json", "X-Both: request", "X-Empty:", NULL};
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.method = "POST";
    req.url = "/body";
    req.headers = h;
    req.body = "{\"a\":1}";
    req.body_len = 7;
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(msb_client_response_body(r, NULL), "{\"a\":1}");
    msb_client_response_free(r);
    char head[8192];
    fault_server_last(&srv, head, sizeof(head));
    char v[256];
    fs_header_value(head, "X-Default", v, sizeof(v));
    cr_assert_str_eq(v, "up");
    fs_header_value(head, "X-Both", v, sizeof(v));
    cr_assert_str_eq(v, "request", "the request's header wins over the upstream's");
    cr_assert_not_null(strstr(head, "\r\nX-Empty:"), "empty header sent: %s", head);
    fs_header_value(head, "Content-Type", v, sizeof(v));
    cr_assert_str_eq(v, "application/json");
    fs_header_value(head, "User-Agent", v, sizeof(v));
    cr_assert_str_eq(v, "libmsb/0.1.0");
    fs_header_value(head, "Expect", v, sizeof(v));
    cr_assert_str_eq(v, "", "no Expect: 100-continue");
    cr_assert_eq(strncmp(head, "POST /body HTTP/1.1", 19), 0, "%s", head);
    msb_client_upstream_free(u);
}

Test(client_blocking, methods_without_body)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    const char *methods[] = {"DELETE", "PUT", "HEAD", "OPTIONS", "PATCH"};
    for (size_t i = 0; i < 5; i++) {
        msb_client_req_t req = MSB_CLIENT_REQ_INIT;
        req.upstream = u;
        req.method = methods[i];
        req.url = "/echo";
        msb_client_response_t *r = NULL;
        msb_error_t err = MSB_ERROR_INIT;
        cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK, "%s: %s", methods[i], err.message);
        char head[8192];
        fault_server_last(&srv, head, sizeof(head));
        cr_assert_eq(strncmp(head, methods[i], strlen(methods[i])), 0, "%s", head);
        if (strcmp(methods[i], "HEAD") != 0) {
            cr_assert_str_eq(msb_client_response_body(r, NULL), head);
        }
        msb_client_response_free(r);
    }
    msb_client_upstream_free(u);
}

Test(client_blocking, http_errors_are_responses)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(get(u, "/status?code=404", &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_client_response_status(r), 404);
    cr_assert_eq(msb_client_response_attempts(r), 1, "404 is not retried");
    msb_client_response_free(r);
    cr_assert_eq(get(u, "/status?code=500", &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_client_response_status(r), 500);
    cr_assert_eq(msb_client_response_attempts(r), 1, "500 is not retried by default");
    msb_client_response_free(r);
    msb_client_upstream_free(u);
}

Test(client_blocking, absolute_urls_and_the_default_policy)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/ok", srv.base);
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.url = url;
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_client_response_status(r), 200);
    msb_client_response_free(r);
}

Test(client_blocking, redirects_are_off_by_default)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(get(u, "/redirect?to=/ok", &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_client_response_status(r), 302);
    cr_assert_str_eq(msb_client_response_header(r, "Location", 0), "/ok");
    msb_client_response_free(r);
    msb_client_upstream_free(u);

    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.max_redirects = 2;
    u = upstream(&o, NULL);
    cr_assert_eq(get(u, "/redirect?to=/ok", &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_client_response_status(r), 200);
    cr_assert_str_eq(msb_client_response_body(r, NULL), "ok");
    cr_assert_null(msb_client_response_header(r, "Location", 0), "headers of the final answer");
    msb_client_response_free(r);
    cr_assert_eq(get(u, "/redirect", &r, &err), MSB_EPROTO);
    cr_assert_not_null(strstr(err.message, "too many redirects"), "%s", err.message);
    msb_client_upstream_free(u);
}

Test(client_blocking, many_headers)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(get(u, "/headers?n=300", &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_client_response_header_count(r), 301);
    cr_assert_str_eq(msb_client_response_header(r, "x-h-299", 0), "299");
    msb_client_response_free(r);
    msb_client_upstream_free(u);
}
