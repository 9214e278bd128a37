/* Every allocation of libmsb's own on the client's paths fails in turn: the call reports
 * MSB_ENOMEM (or, on the loop, the error of the transfer that could not proceed) and nothing
 * leaks. libcurl's own allocations are not ours and are not failed. */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <string.h>

#include "msb/client.h"
#include "support/failing_alloc.h"
#include "support/fault_server.h"

static fault_server_t srv;

static void setup(void)
{
    cr_assert_eq(fault_server_start(&srv), 0);
    /* load the plugin and initialise libcurl before counting */
    cr_assert_eq(msb_client_global_init(NULL), MSB_OK);
}

static void teardown(void)
{
    fault_server_stop(&srv);
}

TestSuite(client_alloc, .init = setup, .fini = teardown, .timeout = 120);

static msb_status_t blocking_flow(msb_error_t *err)
{
    const char *h[] = {"X-A: 1", NULL};
    msb_client_upstream_opts_t uo = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    uo.base_url = srv.base;
    uo.headers = h;
    msb_client_upstream_t *u = NULL;
    msb_client_t *c = NULL;
    msb_client_response_t *r = NULL;
    msb_status_t rc = msb_client_upstream_new(&uo, &u, err);
    if (rc == MSB_OK) {
        rc = msb_client_new(NULL, &c, err);
    }
    if (rc == MSB_OK) {
        msb_client_req_t req = MSB_CLIENT_REQ_INIT;
        req.upstream = u;
        req.url = "/big?bytes=100000";
        req.headers = h;
        rc = msb_client_do(c, &req, &r, err);
    }
    if (rc == MSB_OK) {
        size_t len = 0;
        msb_client_response_body(r, &len);
        cr_assert_eq(len, 100000);
    }
    msb_client_response_free(r);
    msb_client_free(c);
    msb_client_upstream_free(u);
    return rc;
}

Test(client_alloc, the_blocking_path)
{
    long failures = 0;
    MSB_FAILING_ALLOC_LOOP(n)
    {
        msb_error_t err = MSB_ERROR_INIT;
        failing_alloc_install(n);
        msb_status_t rc = blocking_flow(&err);
        bool fired = failing_alloc_fired();
        failing_alloc_remove();
        cr_assert_eq(failing_alloc_live(), 0, "leak when allocation %ld fails", n);
        if (!fired) {
            cr_assert_eq(rc, MSB_OK, "%s", err.message);
            break;
        }
        failures++;
        if (rc == MSB_OK) {
            continue; /* absorbed: a slot forgot which host its connection is for */
        }
        cr_assert_eq(rc, MSB_ENOMEM, "allocation %ld failed but the status is %s: %s", n,
                     msb_status_name(rc), err.message);
        cr_assert_neq(err.message[0], '\0');
    }
    cr_assert_gt(failures, 20, "only %ld allocations", failures);
}

typedef struct outcome {
    bool done;
    msb_status_t rc;
    struct event_base *base;
} outcome_t;

static void on_done(msb_status_t st, msb_client_response_t *resp, const msb_error_t *err,
                    void *user)
{
    (void)err;
    outcome_t *o = user;
    o->done = true;
    o->rc = st;
    msb_client_response_free(resp);
    event_base_loopbreak(o->base);
}

static msb_status_t loop_flow(struct event_base *base, msb_error_t *err)
{
    msb_client_upstream_opts_t uo = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    uo.base_url = srv.base;
    uo.no_retry = true;
    msb_client_upstream_t *u = NULL;
    msb_client_t *c = NULL;
    msb_client_opts_t co = MSB_CLIENT_OPTS_INIT;
    co.base = base;
    msb_status_t rc = msb_client_upstream_new(&uo, &u, err);
    if (rc == MSB_OK) {
        rc = msb_client_new(&co, &c, err);
    }
    outcome_t o = {false, MSB_OK, base};
    if (rc == MSB_OK) {
        const char *h[] = {"X-A: 1", NULL};
        msb_client_req_t req = MSB_CLIENT_REQ_INIT;
        req.upstream = u;
        req.url = "/big?bytes=100000";
        req.headers = h;
        req.body = "x";
        req.body_len = 1;
        req.method = "PUT";
        rc = msb_client_send(c, &req, on_done, &o, NULL, err);
    }
    if (rc == MSB_OK) {
        event_base_dispatch(base);
        cr_assert(o.done, "no completion (allocation %ld failing)",
                  atomic_load(&failing_alloc_calls));
        rc = o.rc;
    }
    msb_client_free(c);
    msb_client_upstream_free(u);
    return rc;
}

Test(client_alloc, the_loop_path)
{
    struct event_base *base = event_base_new();
    long failures = 0;
    MSB_FAILING_ALLOC_LOOP(n)
    {
        msb_error_t err = MSB_ERROR_INIT;
        failing_alloc_install(n);
        msb_status_t rc = loop_flow(base, &err);
        bool fired = failing_alloc_fired();
        failing_alloc_remove();
        cr_assert_eq(failing_alloc_live(), 0, "leak when allocation %ld fails", n);
        if (!fired) {
            cr_assert_eq(rc, MSB_OK, "%s", err.message);
            break;
        }
        failures++;
        /* a socket record that cannot be made fails the transfer inside libcurl */
        cr_assert(rc == MSB_ENOMEM || rc == MSB_EUNAVAIL,
                  "allocation %ld failed but the status is %s", n, msb_status_name(rc));
    }
    cr_assert_gt(failures, 20, "only %ld allocations", failures);
    event_base_free(base);
}
