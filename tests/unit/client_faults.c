/* Blocking client: retries and their budget, Retry-After, deadlines, limits, and each error with
 * its message. */
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

TestSuite(client_faults, .init = setup, .fini = teardown, .timeout = 60);

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
    if (o->base_url == NULL) {
        o->base_url = srv.base;
    }
    o->retry = ro;
    msb_client_upstream_t *u = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_upstream_new(o, &u, &err), MSB_OK, "%s", err.message);
    return u;
}

static msb_status_t call(msb_client_upstream_t *u, const char *method, const char *path,
                         msb_client_response_t **r, msb_error_t *err)
{
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.method = method;
    req.url = path;
    return msb_client_do(cl, &req, r, err);
}

static uint64_t now_ms(void)
{
    return msb_clock_monotonic_ns(NULL) / MSB_MSEC;
}

static msb_client_upstream_stats_t stats(msb_client_upstream_t *u)
{
    msb_client_upstream_stats_t s = {.size = sizeof(s)};
    msb_client_upstream_stats(u, &s);
    return s;
}

#define assert_has(msg, part)                                                                      \
    cr_assert_not_null(strstr((msg), (part)), "\"%s\" lacks \"%s\"", (msg), (part))

/* ---- retries -------------------------------------------------------------------------------- */

Test(client_faults, retries_503_until_success)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(call(u, "GET", "/flaky?key=a&fail=2&code=503", &r, &err), MSB_OK, "%s",
                 err.message);
    cr_assert_eq(msb_client_response_status(r), 200);
    cr_assert_eq(msb_client_response_attempts(r), 3);
    msb_client_response_free(r);
    msb_client_upstream_stats_t s = stats(u);
    cr_assert_eq(s.calls, 1);
    cr_assert_eq(s.attempts, 3);
    cr_assert_eq(s.retries, 2);
    cr_assert_eq(s.responses, 1);
    cr_assert_eq(s.errors, 0);
    cr_assert_eq(s.in_flight, 0);
    msb_client_upstream_free(u);
}

Test(client_faults, gives_up_after_max_attempts_with_the_last_response)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(call(u, "GET", "/status?code=502", &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_client_response_status(r), 502);
    cr_assert_eq(msb_client_response_attempts(r), 3);
    cr_assert_eq(atomic_load(&srv.requests), 3);
    msb_client_response_free(r);
    msb_client_upstream_free(u);
}

Test(client_faults, transport_failures_are_retried_and_named)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(call(u, "GET", "/reset", &r, &err), MSB_EUNAVAIL);
    cr_assert_null(r);
    cr_assert_eq(err.code, MSB_EUNAVAIL);
    char want[256];
    snprintf(want, sizeof(want), "GET %s/reset: connection reset or closed", srv.base);
    assert_has(err.message, want);
    assert_has(err.message, "(after 3 attempts)");
    cr_assert_eq(atomic_load(&srv.requests), 3);
    cr_assert_eq(stats(u).errors, 1);
    cr_assert_eq(call(u, "GET", "/close", &r, &err), MSB_EUNAVAIL);
    assert_has(err.message, "closed before a complete response");
    msb_client_upstream_free(u);
}

Test(client_faults, non_idempotent_requests_are_not_retried_once_sent)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(call(u, "POST", "/flaky?key=p&fail=1&code=503", &r, &err), MSB_OK);
    cr_assert_eq(msb_client_response_status(r), 503, "POST is not retried");
    cr_assert_eq(msb_client_response_attempts(r), 1);
    msb_client_response_free(r);
    cr_assert_eq(call(u, "POST", "/reset", &r, &err), MSB_EUNAVAIL);
    /* (the server may see the second POST twice: libcurl resends once, on a fresh connection,
     * a request whose reused keep-alive connection died before any answer — docs/client.md) */
    cr_assert_eq(stats(u).attempts, 2, "one attempt each");

    /* marked idempotent */
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.method = "POST";
    req.url = "/flaky?key=q&fail=1&code=503";
    req.idempotent = true;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK);
    cr_assert_eq(msb_client_response_status(r), 200);
    cr_assert_eq(msb_client_response_attempts(r), 2);
    msb_client_response_free(r);

    /* an Idempotency-Key makes it safe too */
    const char *h[] = {"Idempotency-Key: 7f1c", NULL};
    req.idempotent = false;
    req.url = "/flaky?key=r&fail=1&code=503";
    req.headers = h;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK);
    cr_assert_eq(msb_client_response_attempts(r), 2);
    msb_client_response_free(r);

    /* no_retry on the request */
    req.url = "/flaky?key=s&fail=1&code=503";
    req.no_retry = true;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK);
    cr_assert_eq(msb_client_response_status(r), 503);
    msb_client_response_free(r);
    msb_client_upstream_free(u);
}

Test(client_faults, a_request_that_never_left_is_retried_even_when_not_idempotent)
{
    /* a port nobody listens on: connection refused before anything was sent */
    fault_server_t dead;
    cr_assert_eq(fault_server_start(&dead), 0);
    char base[64];
    snprintf(base, sizeof(base), "%s", dead.base);
    fault_server_stop(&dead);
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.base_url = base;
    msb_client_upstream_t *u = upstream(&o, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(call(u, "POST", "/x?token=secret", &r, &err), MSB_EUNAVAIL);
    char want[256];
    snprintf(want, sizeof(want), "POST %s/x?token=REDACTED: could not connect", base);
    assert_has(err.message, want);
    assert_has(err.message, "(after 3 attempts)");
    cr_assert_null(strstr(err.message, "secret"), "%s", err.message);
    cr_assert_eq(stats(u).attempts, 3);
    msb_client_upstream_free(u);
}

Test(client_faults, an_exhausted_budget_stops_retries)
{
    msb_retry_budget_opts_t bo = MSB_RETRY_BUDGET_OPTS_INIT;
    bo.ratio = 0.0;
    bo.min_retries_per_sec = 0.2; /* 2 retries in the 10 s window */
    msb_retry_budget_t *budget = NULL;
    cr_assert_eq(msb_retry_budget_new(&bo, &budget, NULL), MSB_OK);
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    ro.initial_backoff_ns = MSB_MSEC;
    ro.max_attempts = 5;
    ro.budget = budget;
    msb_client_upstream_t *u = upstream(NULL, &ro);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(call(u, "GET", "/status?code=503", &r, &err), MSB_OK);
    cr_assert_eq(msb_client_response_attempts(r), 3, "two retries, then the budget is empty");
    msb_client_response_free(r);
    cr_assert_eq(call(u, "GET", "/reset", &r, &err), MSB_EUNAVAIL);
    assert_has(err.message, "(attempt 1; retry budget exhausted)");
    msb_client_upstream_stats_t s = stats(u);
    cr_assert_eq(s.budget_exhausted, 2);
    cr_assert_eq(s.attempts, 4);
    msb_retry_budget_stats_t bs = {.size = sizeof(bs)};
    msb_retry_budget_stats(budget, &bs);
    cr_assert_eq(bs.requests, 2);
    cr_assert_eq(bs.retries, 2);
    cr_assert_eq(bs.exhausted, 2);
    msb_client_upstream_free(u);
    msb_retry_budget_free(budget);
}

Test(client_faults, retry_after_seconds_is_honoured)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    uint64_t t0 = now_ms();
    cr_assert_eq(call(u, "GET", "/flaky?key=ra&fail=1&code=503&ra=1", &r, &err), MSB_OK);
    uint64_t took = now_ms() - t0;
    cr_assert_eq(msb_client_response_status(r), 200);
    cr_assert_eq(msb_client_response_attempts(r), 2);
    cr_assert_geq(took, 1000, "the retry waited for Retry-After: 1 (took %llu ms)",
                  (unsigned long long)took);
    msb_client_response_free(r);
    t0 = now_ms();
    cr_assert_eq(call(u, "GET", "/flaky?key=ra429&fail=1&code=429&ra=1", &r, &err), MSB_OK);
    cr_assert_eq(msb_client_response_attempts(r), 2);
    cr_assert_geq(now_ms() - t0, 1000);
    msb_client_response_free(r);
    msb_client_upstream_free(u);
}

Test(client_faults, retry_after_date_is_honoured)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    uint64_t t0 = now_ms();
    /* a date 2 s ahead: at least 1 s after rounding to whole seconds */
    cr_assert_eq(call(u, "GET", "/radate?code=503&in=2", &r, &err), MSB_OK);
    cr_assert_geq(now_ms() - t0, 1000);
    cr_assert_eq(msb_client_response_attempts(r), 3);
    msb_client_response_free(r);
    msb_client_upstream_free(u);
}

Test(client_faults, a_retry_after_over_the_policy_limit_stops_retrying)
{
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    ro.initial_backoff_ns = MSB_MSEC;
    ro.max_retry_after_ns = 5 * MSB_SEC;
    msb_client_upstream_t *u = upstream(NULL, &ro);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    uint64_t t0 = now_ms();
    cr_assert_eq(call(u, "GET", "/status?code=503&ra=3600", &r, &err), MSB_OK);
    cr_assert_lt(now_ms() - t0, 3000);
    cr_assert_eq(msb_client_response_status(r), 503);
    cr_assert_eq(msb_client_response_attempts(r), 1);
    msb_client_response_free(r);
    msb_client_upstream_free(u);
}

/* ---- deadlines and timeouts ----------------------------------------------------------------- */

Test(client_faults, the_deadline_cuts_an_attempt_short)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/slow?ms=5000";
    req.deadline_ns = msb_clock_monotonic_ns(NULL) + 300 * MSB_MSEC;
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    uint64_t t0 = now_ms();
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_ETIMEDOUT);
    uint64_t took = now_ms() - t0;
    cr_assert_lt(took, 2000, "took %llu ms", (unsigned long long)took);
    cr_assert_geq(took, 250);
    assert_has(err.message, "deadline exceeded");
    cr_assert_eq(stats(u).attempts, 1, "no retry past the deadline");
    cr_assert_geq(stats(u).timeouts, 1);
    msb_client_upstream_free(u);
}

Test(client_faults, the_remaining_time_is_sent)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/echo";
    req.timeout_ns = 5 * MSB_SEC;
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK, "%s", err.message);
    char v[64];
    fs_header_value(msb_client_response_body(r, NULL), "X-Request-Timeout-Ms", v, sizeof(v));
    long ms = strtol(v, NULL, 10);
    cr_assert(ms > 4000 && ms <= 5000, "X-Request-Timeout-Ms: %s", v);
    msb_client_response_free(r);

    /* without a deadline: the attempt's own timeout */
    req.timeout_ns = 0;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK, "%s", err.message);
    fs_header_value(msb_client_response_body(r, NULL), "X-Request-Timeout-Ms", v, sizeof(v));
    cr_assert_str_eq(v, "10000");
    msb_client_response_free(r);
    msb_client_upstream_free(u);

    /* an upstream that must not see it */
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.no_deadline_header = true;
    u = upstream(&o, NULL);
    req.upstream = u;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_OK, "%s", err.message);
    fs_header_value(msb_client_response_body(r, NULL), "X-Request-Timeout-Ms", v, sizeof(v));
    cr_assert_str_eq(v, "");
    msb_client_response_free(r);
    msb_client_upstream_free(u);
}

Test(client_faults, a_passed_deadline_fails_before_sending)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/ok";
    req.deadline_ns = msb_clock_monotonic_ns(NULL) - MSB_MSEC;
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_ETIMEDOUT);
    assert_has(err.message, "deadline exceeded before the first attempt");
    cr_assert_eq(atomic_load(&srv.requests), 0);
    msb_client_upstream_free(u);
}

Test(client_faults, the_attempt_timeout_and_its_retries)
{
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.timeout_ns = 100 * MSB_MSEC;
    msb_client_upstream_t *u = upstream(&o, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(call(u, "GET", "/slow?ms=3000", &r, &err), MSB_ETIMEDOUT);
    assert_has(err.message, ": timed out after 100 ms (after 3 attempts)");
    cr_assert_eq(stats(u).timeouts, 3);
    msb_client_upstream_free(u);
}

Test(client_faults, deadline_leaves_no_time_for_a_retry)
{
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    ro.initial_backoff_ns = 400 * MSB_MSEC;
    ro.jitter = MSB_RETRY_JITTER_NONE;
    msb_client_upstream_t *u = upstream(NULL, &ro);
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/reset";
    req.timeout_ns = 200 * MSB_MSEC;
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_EUNAVAIL);
    assert_has(err.message, "no time left before the deadline");
    cr_assert_eq(stats(u).attempts, 1);
    msb_client_upstream_free(u);
}

/* ---- limits and malformed answers ----------------------------------------------------------- */

Test(client_faults, the_response_size_limit)
{
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.max_response_bytes = 1 << 20;
    msb_client_upstream_t *u = upstream(&o, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(call(u, "GET", "/big?bytes=2000000", &r, &err), MSB_ETOOBIG);
    assert_has(err.message, "response larger than 1048576 bytes");
    cr_assert_eq(call(u, "GET", "/chunked?bytes=2000000&chunk=10000", &r, &err), MSB_ETOOBIG);
    assert_has(err.message, "response larger than 1048576 bytes");
    cr_assert_eq(stats(u).attempts, 2, "too big is not retried");
    cr_assert_eq(call(u, "GET", "/chunked?bytes=1000000&chunk=7000", &r, &err), MSB_OK);
    size_t len = 0;
    msb_client_response_body(r, &len);
    cr_assert_eq(len, 1000000);
    msb_client_response_free(r);
    /* per request */
    msb_client_req_t req = MSB_CLIENT_REQ_INIT;
    req.upstream = u;
    req.url = "/big?bytes=1000";
    req.max_response_bytes = 500;
    cr_assert_eq(msb_client_do(cl, &req, &r, &err), MSB_ETOOBIG);
    assert_has(err.message, "larger than 500 bytes");
    msb_client_upstream_free(u);
}

Test(client_faults, malformed_responses)
{
    msb_client_upstream_t *u = upstream(NULL, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(call(u, "GET", "/malformed", &r, &err), MSB_EPROTO);
    assert_has(err.message, "/malformed: ");
    msb_client_upstream_free(u);
}

Test(client_faults, dns_failure)
{
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.base_url = "http://nonexistent.invalid";
    o.no_retry = true;
    msb_client_upstream_t *u = upstream(&o, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(call(u, "GET", "/x", &r, &err), MSB_EUNAVAIL);
    assert_has(err.message, "GET http://nonexistent.invalid/x: could not resolve host");
    msb_client_upstream_free(u);
}

Test(client_faults, credentials_never_reach_the_message)
{
    char base[96];
    snprintf(base, sizeof(base), "http://user:pw@127.0.0.1:%u", (unsigned)srv.port);
    msb_client_upstream_opts_t o = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    o.base_url = base;
    o.timeout_ns = 50 * MSB_MSEC;
    o.no_retry = true;
    msb_client_upstream_t *u = upstream(&o, NULL);
    msb_client_response_t *r = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(call(u, "GET", "/echo?a=1&sig=abc", &r, &err), MSB_OK);
    char v[128];
    fs_header_value(msb_client_response_body(r, NULL), "Authorization", v, sizeof(v));
    cr_assert_str_eq(v, "Basic dXNlcjpwdw==", "userinfo is sent as basic auth");
    msb_client_response_free(r);
    cr_assert_eq(call(u, "GET", "/slow?ms=2000&sig=abc", &r, &err), MSB_ETIMEDOUT);
    char want[256];
    snprintf(want, sizeof(want), "GET %s/slow?ms=REDACTED&sig=REDACTED: timed out after 50 ms",
             srv.base);
    cr_assert_str_eq(err.message, want);
    msb_client_upstream_free(u);
}
