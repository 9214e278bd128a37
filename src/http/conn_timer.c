/*
 * Connection timeouts with one libevent timer per connection, re-armed lazily: a deadline that
 * moves later (the usual case: the next keep-alive request) does not touch the timer, which fires
 * early, finds its deadline not reached and re-arms itself. Only a deadline that moves earlier
 * re-arms at once. So a busy keep-alive connection costs no timer operation per request.
 *
 * Two deadlines: the state's (idle, head, body, handler, linger) and the write deadline (the peer
 * has not accepted output for write_timeout_ms).
 */
#include <time.h>

#include "http/internal.h"

uint64_t msb__http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void schedule(msb__http_conn_t *c, uint64_t now)
{
    uint64_t at = c->deadline;
    if (c->write_deadline != 0 && (at == 0 || c->write_deadline < at)) {
        at = c->write_deadline;
    }
    if (at == 0) {
        return; /* a pending timer fires, finds nothing due, and stops */
    }
    if (c->tev_added && c->timer_at <= at) {
        return;
    }
    uint64_t ms = at > now ? at - now : 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    event_add(&c->tev, &tv);
    c->tev_added = true;
    c->timer_at = at;
}

static void expire(msb__http_conn_t *c, uint8_t kind)
{
    switch (kind) {
    case MSB__T_HEAD:
        if (c->rlen > c->rpos && c->state == MSB__C_HEAD) {
            msb__http_req_early(c, 408, "the request head did not arrive in time");
            msb__http_conn_flush(c);
            return;
        }
        msb__http_conn_close(c, MSB_ETIMEDOUT);
        return;
    case MSB__T_BODY:
        msb__http_fail(&c->req, 408, "the request body did not arrive in time");
        msb__http_conn_flush(c);
        return;
    case MSB__T_HANDLER:
        msb__http_req_timeout(&c->req);
        msb__http_conn_flush(c);
        return;
    default: /* idle, linger */
        msb__http_conn_close(c, MSB_ETIMEDOUT);
        return;
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    MSB_UNUSED(fd);
    MSB_UNUSED(what);
    msb__http_conn_t *c = arg;
    c->tev_added = false;
    uint64_t now = msb__http_now_ms();
    msb__http_conn_hold(c);
    if (c->write_deadline != 0 && now >= c->write_deadline) {
        msb__http_conn_close(c, MSB_ETIMEDOUT);
    } else if (c->deadline != 0 && now >= c->deadline) {
        uint8_t kind = c->deadline_kind;
        c->deadline = 0;
        c->deadline_kind = MSB__T_NONE;
        expire(c, kind);
    }
    if (c->state != MSB__C_CLOSED) {
        schedule(c, now);
    }
    msb__http_conn_unhold(c);
}

void msb__http_conn_timer_init(msb__http_conn_t *c)
{
    evtimer_assign(&c->tev, c->w->base, on_timer, c);
    c->tev_added = false;
}

void msb__http_conn_arm(msb__http_conn_t *c, uint8_t kind, uint32_t ms)
{
    c->deadline_kind = kind;
    if (ms == 0 || kind == MSB__T_NONE) {
        c->deadline = 0;
        return;
    }
    uint64_t now = msb__http_now_ms();
    c->deadline = now + ms;
    schedule(c, now);
}

void msb__http_conn_write_armed(msb__http_conn_t *c, bool blocked)
{
    uint32_t ms = c->w->srv->o.write_timeout_ms;
    if (!blocked || ms == 0) {
        c->write_deadline = 0;
        return;
    }
    uint64_t now = msb__http_now_ms();
    c->write_deadline = now + ms; /* progress moves it: a peer that reads slowly but reads lives */
    schedule(c, now);
}
