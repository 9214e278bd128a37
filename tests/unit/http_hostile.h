/*
 * Shared fixture of the hostile-input suites: a server whose /admin route counts its hits, so a
 * test can prove that bytes smuggled after a rejected request were never served.
 */
#ifndef MSB_TEST_HTTP_HOSTILE_H
#define MSB_TEST_HTTP_HOSTILE_H

#include <stdatomic.h>

#include "unit/http_test.h"

static msb_http_server_t *h_srv;
static uint16_t h_port;
static atomic_int h_admin_hits;

static inline msb_status_t h_admin(msb_http_req_t *req, void *user)
{
    (void)user;
    atomic_fetch_add(&h_admin_hits, 1);
    return msb_http_respond(req, 200, "text/plain", "admin", 5);
}

static inline msb_status_t h_json(msb_http_req_t *req, void *user)
{
    (void)user;
    json_t *j;
    msb_status_t rc = msb_http_req_json(req, &j);
    if (rc == MSB_OK) {
        rc = msb_http_respond_json(req, 200, j);
        json_decref(j);
    }
    return rc;
}

static inline void h_setup_with(msb_http_server_opts_t *o)
{
    atomic_store(&h_admin_hits, 0);
    h_srv = t_server(o);
    msb_http_group_t *root = msb_http_server_root(h_srv);
    t_route(root, "GET", "/", t_hello, NULL);
    t_route(root, "POST", "/", t_echo, NULL);
    t_route(root, "GET", "/admin", h_admin, NULL);
    t_route(root, "POST", "/json", h_json, NULL);
    t_route(root, "GET", "/users/{id}", t_hello, NULL);
    t_start(h_srv);
    h_port = msb_http_server_port(h_srv);
}

static inline void h_setup(void)
{
    msb_http_server_opts_t o = MSB_HTTP_SERVER_OPTS_INIT;
    o.max_body_bytes = 65536;
    o.header_timeout_ms = 2000;
    h_setup_with(&o);
}

static inline void h_teardown(void)
{
    msb_http_server_stop(h_srv, 1000, NULL);
    msb_http_server_free(h_srv);
}

/* The request must be refused with `status`, and no request after it may be served. */
static inline void h_reject(const char *raw, int status)
{
    char buf[4096];
    int n = snprintf(buf, sizeof(buf), "%sGET /admin HTTP/1.1\r\nHost: x\r\n\r\n", raw);
    t_resp_t r;
    t_expect_reject(h_port, buf, (size_t)n, status, &r);
    t_resp_free(&r);
    if (atomic_load(&h_admin_hits) != 0) {
        fprintf(stderr, "smuggled request served after: %s\n", raw);
        abort();
    }
}

#endif
