/*
 * The loop path: calls run on the client's event loop. Each call moves between four states —
 * waiting for a bulkhead place, transferring, backing off before a retry, and finished but not
 * yet delivered — with one timer per call for the waits. Nothing blocks: a full bulkhead parks
 * the call (bounded by the upstream's wait), and places given back by this client's calls, or
 * found free by a 2 ms re-check (other threads' releases), let parked calls go on in order.
 */
#include <event2/event.h>
#include <string.h>

#include "client/internal.h"
#include "core/alloc.h"
#include "core/error.h"

#define WAITER_RECHECK_US 2000

enum { ST_IDLE = 0, ST_WAIT_PLACE, ST_XFER, ST_BACKOFF, ST_DONE_PENDING };

struct msb_client_call {
    msb__call_t c;
    uint64_t wait_start_ns;
};

static void start_attempt(msb_client_call_t *call);
static void kick_waiters(msb_client_t *cl);

static msb_client_call_t *of(msb__call_t *c)
{
    return MSB_CONTAINER_OF(c, msb_client_call_t, c);
}

/* ---- delivery ------------------------------------------------------------------------------- */

static void unlink_call(msb_client_t *cl, msb__call_t *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        cl->calls = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
}

static void deliver(msb_client_call_t *call)
{
    msb__call_t *c = &call->c;
    msb_client_t *cl = c->client;
    unlink_call(cl, c);
    msb_client_response_t *resp = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    msb_status_t st = msb__call_finish(c, &resp, &err);
    msb_client_done_fn done = c->done;
    void *user = c->done_user;
    event_free(c->timer);
    msb__call_cleanup(c);
    msb__free(call);
    done(st, resp, st == MSB_OK ? NULL : &err, user);
}

static void finish(msb_client_call_t *call)
{
    msb__call_t *c = &call->c;
    if (c->in_send) {
        /* never call back from inside msb_client_send() */
        c->state = ST_DONE_PENDING;
        struct timeval zero = {0, 0};
        evtimer_add(c->timer, &zero);
        return;
    }
    deliver(call);
}

/* ---- bulkhead waits ------------------------------------------------------------------------- */

static void park(msb_client_call_t *call)
{
    msb__call_t *c = &call->c;
    msb_client_t *cl = c->client;
    uint64_t now = msb_clock_monotonic_ns(cl->clock);
    uint64_t wait = c->up->bulkhead_wait_ns;
    if (c->deadline_ns != 0 && c->deadline_ns - now < wait) {
        wait = c->deadline_ns - now;
    }
    c->state = ST_WAIT_PLACE;
    c->waiting = true;
    call->wait_start_ns = now;
    c->wnext = NULL;
    c->wprev = cl->waiters_tail;
    if (cl->waiters_tail != NULL) {
        cl->waiters_tail->wnext = c;
    } else {
        cl->waiters = c;
    }
    cl->waiters_tail = c;
    struct timeval tv = {(time_t)(wait / 1000000000u), (suseconds_t)(wait % 1000000000u / 1000u)};
    evtimer_add(c->timer, &tv);
    if (!evtimer_pending(cl->waiter_timer, NULL)) {
        struct timeval re = {0, WAITER_RECHECK_US};
        evtimer_add(cl->waiter_timer, &re);
    }
}

static void unpark(msb__call_t *c)
{
    msb_client_t *cl = c->client;
    if (c->wprev != NULL) {
        c->wprev->wnext = c->wnext;
    } else {
        cl->waiters = c->wnext;
    }
    if (c->wnext != NULL) {
        c->wnext->wprev = c->wprev;
    } else {
        cl->waiters_tail = c->wprev;
    }
    c->wprev = NULL;
    c->wnext = NULL;
    c->waiting = false;
    c->state = ST_IDLE;
    evtimer_del(c->timer);
}

static void launch(msb_client_call_t *call);

/* Give free places to parked calls, oldest first (per upstream: a full bulkhead does not hold
 * up the calls of another). */
static void kick_waiters(msb_client_t *cl)
{
    bool progress = true;
    while (progress) {
        progress = false;
        for (msb__call_t *w = cl->waiters; w != NULL; w = w->wnext) {
            if (msb__call_try_place(w)) {
                unpark(w);
                launch(of(w));
                progress = true;
                break;
            }
        }
    }
    if (cl->waiters == NULL) {
        evtimer_del(cl->waiter_timer);
    }
}

static void on_waiter_timer(evutil_socket_t fd, short what, void *arg)
{
    MSB_UNUSED(fd);
    MSB_UNUSED(what);
    msb_client_t *cl = arg;
    kick_waiters(cl);
    if (cl->waiters != NULL) {
        struct timeval re = {0, WAITER_RECHECK_US};
        evtimer_add(cl->waiter_timer, &re);
    }
}

/* ---- attempts ------------------------------------------------------------------------------- */

static void on_xfer_done(void *user, const msb__client_result_t *res)
{
    msb__call_t *c = user;
    msb_client_call_t *call = of(c);
    msb_client_t *cl = c->client;
    c->state = ST_IDLE;
    c->xfer_handle = NULL;
    uint64_t delay = 0;
    if (msb__call_attempt_end(c, res, &delay) == MSB__NEXT_RETRY) {
        c->state = ST_BACKOFF;
        struct timeval tv = {(time_t)(delay / 1000000000u),
                             (suseconds_t)(delay % 1000000000u / 1000u)};
        evtimer_add(c->timer, &tv);
    } else {
        finish(call);
    }
    kick_waiters(cl);
}

static void launch(msb_client_call_t *call)
{
    msb__call_t *c = &call->c;
    msb_client_t *cl = c->client;
    if (msb__call_attempt_begin(c) != MSB_OK) {
        finish(call);
        return;
    }
    void *h = NULL;
    msb_error_t e = MSB_ERROR_INIT;
    msb_status_t rc = cl->drv->loop_start(cl->loop, &c->xfer, on_xfer_done, &h, &e);
    if (rc != MSB_OK) {
        msb__call_attempt_abandon(c);
        c->status = msb__err(&c->err, rc, "%s %.120s: %s", c->method, c->url_safe, e.message);
        finish(call);
        return;
    }
    c->state = ST_XFER;
    c->xfer_handle = h;
}

static void start_attempt(msb_client_call_t *call)
{
    msb__call_t *c = &call->c;
    if (msb__call_expired(c)) {
        finish(call);
        return;
    }
    if (!msb__call_try_place(c)) {
        if (c->up->bulkhead_wait_ns > 0) {
            park(call);
            return;
        }
        msb__call_place_refused(c, MSB_EREJECTED, 0);
        finish(call);
        return;
    }
    launch(call);
}

static void on_call_timer(evutil_socket_t fd, short what, void *arg)
{
    MSB_UNUSED(fd);
    MSB_UNUSED(what);
    msb_client_call_t *call = arg;
    msb__call_t *c = &call->c;
    switch (c->state) {
    case ST_BACKOFF:
        c->state = ST_IDLE;
        start_attempt(call);
        break;
    case ST_WAIT_PLACE: {
        uint64_t waited = msb_clock_monotonic_ns(c->client->clock) - call->wait_start_ns;
        unpark(c);
        if (!msb__call_expired(c)) {
            msb__call_place_refused(c, MSB_ETIMEDOUT, waited);
        }
        finish(call);
        break;
    }
    case ST_DONE_PENDING:
        deliver(call);
        break;
    default:
        break;
    }
}

/* ---- the public API ------------------------------------------------------------------------- */

msb_status_t msb_client_send(msb_client_t *cl, const msb_client_req_t *req, msb_client_done_fn done,
                             void *user, msb_client_call_t **out, msb_error_t *err)
{
    if (cl == NULL || done == NULL) {
        return msb__err(err, MSB_EINVAL, "client: %s must not be NULL",
                        cl == NULL ? "client" : "done");
    }
    if (cl->base == NULL) {
        return msb__err(err, MSB_EINVAL,
                        "client: msb_client_send() needs a loop client (opts.base); this one is "
                        "blocking: use msb_client_do()");
    }
    if (cl->closing) {
        return msb__err(err, MSB_ECLOSED, "client: the client is being freed");
    }
    msb_client_call_t *call = msb__calloc(1, sizeof(*call));
    if (call == NULL) {
        return msb__err_nomem(err, "a call");
    }
    msb__call_t *c = &call->c;
    msb_status_t rc = msb__call_init(c, cl, req, true, err);
    if (rc == MSB_OK) {
        c->timer = evtimer_new(cl->base, on_call_timer, call);
        if (c->timer == NULL) {
            atomic_fetch_sub(&c->up->n.in_flight, 1);
            atomic_fetch_sub(&c->up->n.calls, 1);
            msb__client_metrics_in_flight(c->up, -1);
            rc = msb__err_nomem(err, "a call timer");
        }
    }
    if (rc != MSB_OK) {
        msb__call_cleanup(c);
        msb__free(call);
        return rc;
    }
    c->done = done;
    c->done_user = user;
    c->next = cl->calls;
    if (cl->calls != NULL) {
        cl->calls->prev = c;
    }
    cl->calls = c;
    if (out != NULL) {
        *out = call;
    }
    /* An outcome decided now (a deadline already passed, an open breaker, a full bulkhead) is
     * delivered from the loop, not from inside this function. */
    c->in_send = true;
    start_attempt(call);
    c->in_send = false;
    return MSB_OK;
}

void msb_client_call_cancel(msb_client_call_t *call)
{
    if (call == NULL) {
        return;
    }
    msb__call_t *c = &call->c;
    msb_client_t *cl = c->client;
    switch (c->state) {
    case ST_XFER:
        cl->drv->loop_cancel(cl->loop, c->xfer_handle);
        c->xfer_handle = NULL;
        msb__call_attempt_abandon(c);
        break;
    case ST_WAIT_PLACE:
        unpark(c);
        break;
    default:
        evtimer_del(c->timer);
        break;
    }
    c->state = ST_IDLE;
    c->in_send = false;
    c->status = msb__err(&c->err, MSB_ECANCELED, "%s %.120s: cancelled", c->method, c->url_safe);
    deliver(call);
    kick_waiters(cl);
}

msb_status_t msb__client_loop_init(msb_client_t *cl, msb_error_t *err)
{
    cl->waiter_timer = evtimer_new(cl->base, on_waiter_timer, cl);
    if (cl->waiter_timer == NULL) {
        return msb__err_nomem(err, "a client timer");
    }
    msb_status_t rc = cl->drv->loop_new(cl->base, &cl->pool, &cl->loop, err);
    if (rc != MSB_OK) {
        event_free(cl->waiter_timer);
        cl->waiter_timer = NULL;
    }
    return rc;
}

void msb__client_loop_fini(msb_client_t *cl)
{
    cl->closing = true;
    while (cl->calls != NULL) {
        msb_client_call_cancel(of(cl->calls));
    }
    event_free(cl->waiter_timer);
    cl->drv->loop_free(cl->loop);
}
