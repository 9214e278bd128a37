/*
 * The blocking client from many threads (TSan): 8 threads share one client and one upstream
 * (breaker, bulkhead, retry budget) against the fault server, with successes, retried 503s,
 * resets, slow answers and cancellations mixed. Every call ends with the expected outcome, the
 * upstream's counters add up, no call is left in flight, and the connection pool stays within
 * its bounds.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "msb/client.h"
#include "support/fault_server.h"

#define THREADS         8
#define ROUNDS          150
#define MAX_CONNECTIONS 6

static int passed, failed;
static pthread_mutex_t check_mu = PTHREAD_MUTEX_INITIALIZER;

static void check(bool ok, const char *what)
{
    pthread_mutex_lock(&check_mu);
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAILED: %s\n", what);
    }
    pthread_mutex_unlock(&check_mu);
}

static fault_server_t srv;
static msb_client_t *cl;
static msb_client_upstream_t *up;
static atomic_int ready;
static atomic_ullong ok_calls, err_calls;

static void *worker(void *p)
{
    long id = (long)(intptr_t)p;
    msb_retry_cancel_t *token = NULL;
    msb_retry_cancel_new(&token);
    msb_retry_cancel(token);
    atomic_fetch_add(&ready, 1);
    while (atomic_load(&ready) < THREADS) {
    }
    for (int i = 0; i < ROUNDS; i++) {
        char path[96];
        int kind = (int)((i + id) % 6);
        msb_client_req_t req = MSB_CLIENT_REQ_INIT;
        req.upstream = up;
        switch (kind) {
        case 0:
        case 1:
            snprintf(path, sizeof(path), "/ok");
            break;
        case 2:
            snprintf(path, sizeof(path), "/flaky?key=t%ld-%d&fail=1&code=503", id, i);
            break;
        case 3:
            snprintf(path, sizeof(path), "/reset");
            req.no_retry = true;
            break;
        case 4:
            snprintf(path, sizeof(path), "/slow?ms=2");
            break;
        default:
            snprintf(path, sizeof(path), "/ok");
            req.cancel = token; /* already cancelled */
            break;
        }
        req.url = path;
        msb_client_response_t *r = NULL;
        msb_error_t err = MSB_ERROR_INIT;
        msb_status_t rc = msb_client_do(cl, &req, &r, &err);
        if (rc == MSB_OK) {
            atomic_fetch_add(&ok_calls, 1);
        } else {
            atomic_fetch_add(&err_calls, 1);
        }
        switch (kind) {
        case 3:
            check(rc == MSB_EUNAVAIL, "a reset is an error");
            break;
        case 5:
            check(rc == MSB_ECANCELED, "a cancelled token stops the call");
            break;
        default:
            check(rc == MSB_OK && msb_client_response_status(r) == 200, err.message);
            break;
        }
        msb_client_response_free(r);
    }
    msb_retry_cancel_free(token);
    return NULL;
}

int main(void)
{
    if (fault_server_start(&srv) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    msb_client_opts_t co = MSB_CLIENT_OPTS_INIT;
    co.max_connections = MAX_CONNECTIONS;
    msb_error_t err = MSB_ERROR_INIT;
    check(msb_client_new(&co, &cl, &err) == MSB_OK, err.message);
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    ro.initial_backoff_ns = MSB_MSEC;
    ro.max_backoff_ns = 2 * MSB_MSEC;
    msb_retry_budget_opts_t bo = MSB_RETRY_BUDGET_OPTS_INIT;
    bo.min_retries_per_sec = 1e5; /* the budget is exercised, never empty */
    msb_retry_budget_t *budget = NULL;
    msb_retry_budget_new(&bo, &budget, NULL);
    ro.budget = budget;
    msb_breaker_opts_t bro = MSB_BREAKER_OPTS_INIT;
    bro.failure_rate_threshold = 1.0; /* resets and 503s are 1/3 of the calls: stays closed */
    msb_client_upstream_opts_t uo = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    uo.base_url = srv.base;
    uo.retry = &ro;
    uo.breaker_opts = &bro;
    check(msb_client_upstream_new(&uo, &up, &err) == MSB_OK, err.message);

    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) {
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }

    msb_client_upstream_stats_t s = {.size = sizeof(s)};
    msb_client_upstream_stats(up, &s);
    uint64_t total = (uint64_t)THREADS * ROUNDS;
    check(s.calls == total, "every call counted");
    check(s.responses == atomic_load(&ok_calls), "responses add up");
    check(s.errors == atomic_load(&err_calls), "errors add up");
    check(s.in_flight == 0, "nothing left in flight");
    check(s.retries == total / 6, "one retry per flaky call");
    check(atomic_load(&srv.max_open) <= MAX_CONNECTIONS, "never more connections than allowed");
    check(atomic_load(&srv.connections) < (int)total / 2, "connections are reused");
    msb_bulkhead_stats_t hs = {.size = sizeof(hs)};
    msb_bulkhead_stats(msb_client_upstream_bulkhead(up), &hs);
    check(hs.in_use == 0, "every bulkhead place came back");
    check(msb_breaker_state(msb_client_upstream_breaker(up)) == MSB_BREAKER_CLOSED,
          "the breaker stayed closed");

    msb_client_upstream_free(up);
    msb_retry_budget_free(budget);
    msb_client_free(cl);
    fault_server_stop(&srv);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
