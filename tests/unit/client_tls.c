/* HTTPS: verification on by default, a private CA, host names, pinning, mutual TLS, and
 * connections reused across calls — against the fault server behind TLS. */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <string.h>

#define FS_WITH_TLS
#include "msb/client.h"
#include "support/fault_server.h"
#include "support/test_certs.h"

static test_certs_t certs;
static fault_server_t srv;
static msb_client_t *cl;

static void setup(void)
{
    cr_assert(test_certs_make(&certs), "could not make the test certificates");
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_new(NULL, &cl, &err), MSB_OK, "%s", err.message);
}

static void teardown(void)
{
    msb_client_free(cl);
    fault_server_stop(&srv);
    test_certs_remove(&certs);
}

TestSuite(client_tls, .init = setup, .fini = teardown, .timeout = 60);

#define assert_has(msg, part)                                                                      \
    cr_assert_not_null(strstr((msg), (part)), "\"%s\" lacks \"%s\"", (msg), (part))

static void start(const char *client_ca)
{
    cr_assert_eq(fault_server_start_tls(&srv, certs.server_cert, certs.server_key, client_ca), 0,
                 "the TLS test server did not start");
}

static msb_status_t get(const char *host, const msb_client_tls_opts_t *tls, int *status,
                        msb_error_t *err)
{
    char base[96];
    snprintf(base, sizeof(base), "https://%s:%u", host, (unsigned)srv.port);
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.base_url = base;
    o.tls = tls;
    o.no_retry = true;
    msb_client_upstream_t *u = NULL;
    cr_assert_eq(msb_client_upstream_new(&o, &u, NULL), MSB_OK);
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/ok";
    msb_client_response_t *r = NULL;
    msb_status_t rc = msb_client_do(cl, &req, &r, err);
    *status = msb_client_response_status(r);
    msb_client_response_free(r);
    msb_client_upstream_free(u);
    return rc;
}

Test(client_tls, verification_is_on_by_default)
{
    start(NULL);
    int st = 0;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(get("127.0.0.1", NULL, &st, &err), MSB_EUNAVAIL);
    assert_has(err.message, ": TLS failure: ");
    assert_has(err.message, "certificate");
}

Test(client_tls, a_private_ca)
{
    start(NULL);
    msb_client_tls_opts_t t = MSB_CLIENT_TLS_OPTS_INIT;
    t.ca_file = certs.ca;
    int st = 0;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(get("127.0.0.1", &t, &st, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(st, 200);
    /* the certificate names 127.0.0.1 only */
    cr_assert_eq(get("localhost", &t, &st, &err), MSB_EUNAVAIL);
    assert_has(err.message, "TLS failure");
    /* unless verification is off */
    msb_client_tls_opts_t off = MSB_CLIENT_TLS_OPTS_INIT;
    off.insecure_skip_verify = true;
    cr_assert_eq(get("localhost", &off, &st, &err), MSB_OK, "%s", err.message);
}

Test(client_tls, public_key_pinning)
{
    start(NULL);
    msb_client_tls_opts_t t = MSB_CLIENT_TLS_OPTS_INIT;
    t.ca_file = certs.ca;
    t.pinned_public_key = certs.server_pin;
    int st = 0;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(get("127.0.0.1", &t, &st, &err), MSB_OK, "%s", err.message);
    t.pinned_public_key = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    cr_assert_eq(get("127.0.0.1", &t, &st, &err), MSB_EUNAVAIL);
    assert_has(err.message, "TLS failure");
}

Test(client_tls, mutual_tls)
{
    start(certs.ca);
    msb_client_tls_opts_t t = MSB_CLIENT_TLS_OPTS_INIT;
    t.ca_file = certs.ca;
    int st = 0;
    msb_error_t err = MSB_ERROR_INIT;
    msb_status_t rc = get("127.0.0.1", &t, &st, &err);
    cr_assert_neq(rc, MSB_OK, "no client certificate: refused");
    t.cert_file = certs.client_cert;
    t.key_file = certs.client_key;
    cr_assert_eq(get("127.0.0.1", &t, &st, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(st, 200);
}

Test(client_tls, a_failed_handshake_never_sent_the_request)
{
    /* a certificate the client does not trust: the handshake fails before anything is sent,
     * so even a POST may be retried */
    start(NULL);
    const char *base = srv.base;
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    ro.initial_backoff_ns = MSB_MSEC;
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.base_url = base;
    o.retry = &ro;
    msb_client_upstream_t *u = NULL;
    cr_assert_eq(msb_client_upstream_new(&o, &u, NULL), MSB_OK);
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.method = "POST";
    req.url = "/body";
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_EUNAVAIL);
    assert_has(err.message, "TLS failure");
    assert_has(err.message, "(after 3 attempts)");
    cr_assert_eq(atomic_load(&srv.requests), 0);
    msb_client_upstream_free(u);
}

static void on_done(msb_status_t st, msb_client_response_t *resp, const msb_error_t *err,
                    void *user)
{
    int *left = user;
    cr_assert_eq(st, MSB_OK, "%s", err != NULL ? err->message : "");
    msb_client_response_free(resp);
    --*left;
}

Test(client_tls, connections_are_reused_on_both_paths)
{
    start(NULL);
    msb_client_tls_opts_t t = MSB_CLIENT_TLS_OPTS_INIT;
    t.ca_file = certs.ca;
    int st = 0;
    msb_error_t err = MSB_ERROR_INIT;
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.base_url = srv.base;
    o.tls = &t;
    msb_client_upstream_t *u = NULL;
    cr_assert_eq(msb_client_upstream_new(&o, &u, NULL), MSB_OK);
    for (int i = 0; i < 5; i++) {
        msb_client_req_t req = MSB_CLIENT_REQ_INIT;
        req.upstream = u;
        req.url = "/ok";
        msb_client_response_t *r = NULL;
        cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK, "%s", err.message);
        st = msb_client_response_status(r);
        msb_client_response_free(r);
    }
    cr_assert_eq(st, 200);
    cr_assert_eq(atomic_load(&srv.connections), 1);

    struct event_base *base = event_base_new();
    msb_client_opts_t co = MSB_CLIENT_OPTS_INIT;
    co.base = base;
    msb_client_t *lc = NULL;
    cr_assert_eq(msb_client_new(&co, &lc, NULL), MSB_OK);
    for (int i = 0; i < 3; i++) {
        int left = 1;
        msb_client_req_t req = MSB_CLIENT_REQ_INIT;
        req.upstream = u;
        req.url = "/ok";
        cr_assert_eq(msb_client_send(lc, &req, on_done, &left, NULL, NULL), MSB_OK);
        while (left > 0) {
            event_base_loop(base, EVLOOP_ONCE);
        }
    }
    cr_assert_eq(atomic_load(&srv.connections), 2, "one more, for the loop's pool");
    msb_client_free(lc);
    event_base_free(base);
    msb_client_upstream_free(u);
}
