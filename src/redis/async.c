/*
 * An asynchronous Redis connection on a caller's libevent loop (hiredis' libevent adapter).
 *
 * hiredis 0.14 has no connect or command timeouts in its asynchronous API and calls its reply
 * callbacks from inside its own read handler, where freeing the context or sending commands is
 * unsafe. So: a timer bounds the connection attempt; a watchdog timer fails the connection when
 * the oldest request in flight has waited longer than the command timeout (replies come in
 * order, so the oldest one tells); and replies are only parsed inside hiredis (on_reply), their
 * completions (on_done) queued and run from an event of our own, outside hiredis, where they may
 * send or free anything. After a failure the connection backs off and reconnects by itself.
 */
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "redis/redis.h"

struct msb__redis_async {
    struct event_base *base;
    msb__redis_url_t url;
    msb__redis_timeouts_t timeouts;
    msb__redis_backoff_t backoff;
    char where[MSB__REDIS_HOST_MAX + 16];
    redisAsyncContext *ac;  /* NULL while disconnected */
    bool up;                /* connected, AUTH and SELECT done */
    struct event *retry_ev; /* reconnect after a backoff; or the connect timeout */
    struct event *watch_ev; /* the command timeout */
    struct event *done_ev;  /* runs completions */
    msb__redis_req_t *sent_head;
    msb__redis_req_t *sent_tail;
    msb__redis_req_t *done_head;
    msb__redis_req_t *done_tail;
    msb__redis_req_t auth_req;
    msb__redis_req_t select_req; /* SELECT, or PING when there is neither AUTH nor SELECT */
    const char *select_cmd;      /* "SELECT" or "PING" */
    bool select_sent;
    msb_status_t handshake_status; /* of the last AUTH, SELECT or PING reply */
    msb_status_t kill_status;      /* for requests failed by a teardown in progress */
    msb_error_t last_err;
    int depth;    /* > 0 while completions run */
    bool freeing; /* msb__redis_async_free was called */
};

static uint64_t now_ns(void)
{
    return msb_clock_monotonic_ns(NULL);
}

static struct timeval to_tv(int64_t ns)
{
    struct timeval tv = {(time_t)(ns / MSB_SEC), (suseconds_t)((ns % MSB_SEC) / 1000)};
    return tv;
}

static void push(msb__redis_req_t **head, msb__redis_req_t **tail, msb__redis_req_t *r)
{
    r->next = NULL;
    if (*tail != NULL) {
        (*tail)->next = r;
    } else {
        *head = r;
    }
    *tail = r;
}

static void unlink_sent(msb__redis_async_t *a, msb__redis_req_t *r)
{
    msb__redis_req_t **pp = &a->sent_head;
    msb__redis_req_t *prev = NULL;
    while (*pp != NULL && *pp != r) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL) {
        return;
    }
    *pp = r->next;
    if (a->sent_tail == r) {
        a->sent_tail = prev;
    }
}

static void finish(msb__redis_async_t *a, msb__redis_req_t *r, msb_status_t status)
{
    r->status = status;
    push(&a->done_head, &a->done_tail, r);
    event_active(a->done_ev, EV_TIMEOUT, 0);
}

/* hiredis' reply callback: parse, queue, return. */
static void on_hiredis_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    msb__redis_async_t *a = ac->data;
    msb__redis_req_t *r = priv;
    unlink_sent(a, r);
    r->on_reply(r, reply);
    msb_status_t st = MSB_OK;
    if (reply == NULL) {
        st = a->kill_status != MSB_OK ? a->kill_status : MSB_EUNAVAIL;
    }
    finish(a, r, st);
}

static void schedule_retry(msb__redis_async_t *a)
{
    int64_t wait = msb__redis_backoff_fail(&a->backoff, now_ns());
    struct timeval tv = to_tv(wait);
    evtimer_add(a->retry_ev, &tv);
}

/* Tear the connection down from outside hiredis: requests in flight fail with `status`. */
static void kill_connection(msb__redis_async_t *a, msb_status_t status)
{
    redisAsyncContext *ac = a->ac;
    a->ac = NULL;
    a->up = false;
    evtimer_del(a->watch_ev);
    if (ac != NULL) {
        a->kill_status = status;
        redisAsyncFree(ac);
        a->kill_status = MSB_OK;
    }
    if (!a->freeing) {
        schedule_retry(a);
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    msb__redis_async_t *a = ac->data;
    if (status != REDIS_OK) {
        msb__err(&a->last_err, MSB_EUNAVAIL, "redis %s: %s", a->where,
                 ac->errstr[0] != '\0' ? ac->errstr : "cannot connect");
        a->ac = NULL; /* hiredis frees it when this returns */
        a->up = false;
        schedule_retry(a);
        return;
    }
    /* Up once the handshake (AUTH, SELECT or PING) is answered: see handshake_done. The connect
     * timeout keeps running until then. */
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    msb__redis_async_t *a = ac->data;
    if (a->ac != ac) {
        return; /* our own teardown: kill_connection took care */
    }
    a->ac = NULL;
    a->up = false;
    evtimer_del(a->watch_ev);
    if (status != REDIS_OK || ac->err != 0) {
        msb__err(&a->last_err, MSB_EUNAVAIL, "redis %s: %s", a->where,
                 ac->errstr[0] != '\0' ? ac->errstr : "connection lost");
    } else {
        msb__err(&a->last_err, MSB_EUNAVAIL, "redis %s: connection closed", a->where);
    }
    if (!a->freeing) {
        schedule_retry(a);
    }
}

static void arm_watchdog(msb__redis_async_t *a)
{
    if (a->sent_head == NULL || evtimer_pending(a->watch_ev, NULL)) {
        return;
    }
    uint64_t now = now_ns();
    uint64_t due = a->sent_head->sent_at + (uint64_t)a->timeouts.command_ns;
    struct timeval tv = to_tv(due > now ? (int64_t)(due - now) : 0);
    evtimer_add(a->watch_ev, &tv);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    msb__redis_async_t *a = arg;
    if (a->sent_head == NULL || a->ac == NULL) {
        return;
    }
    uint64_t now = now_ns();
    if (now - a->sent_head->sent_at >= (uint64_t)a->timeouts.command_ns) {
        msb__err(&a->last_err, MSB_ETIMEDOUT, "redis %s: no reply within %lld ms", a->where,
                 (long long)(a->timeouts.command_ns / MSB_MSEC));
        kill_connection(a, MSB_ETIMEDOUT);
        return;
    }
    arm_watchdog(a);
}

/* AUTH and SELECT: an error reply fails the connection (from on_done, outside hiredis). */
static void handshake_reply(msb__redis_async_t *a, const char *cmd, const redisReply *reply,
                            msb_status_t refused)
{
    if (reply == NULL) {
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        msb_status_t st = msb__redis_error_status(reply);
        a->handshake_status = st == MSB_EPROTO ? refused : st;
        msb__err(&a->last_err, a->handshake_status, "redis %s: %s refused: %.120s", a->where, cmd,
                 reply->str);
    }
}

static void auth_reply(msb__redis_req_t *r, const redisReply *reply)
{
    handshake_reply(MSB_CONTAINER_OF(r, msb__redis_async_t, auth_req), "AUTH", reply, MSB_EAUTH);
}

static void select_reply(msb__redis_req_t *r, const redisReply *reply)
{
    msb__redis_async_t *a = MSB_CONTAINER_OF(r, msb__redis_async_t, select_req);
    handshake_reply(a, a->select_cmd, reply, MSB_EINVAL);
}

static void handshake_done(msb__redis_async_t *a, msb__redis_req_t *r, msb_status_t status)
{
    if (status != MSB_OK || a->ac == NULL) {
        return; /* the connection failed: already being retried */
    }
    if (a->handshake_status != MSB_OK) {
        a->handshake_status = MSB_OK;
        kill_connection(a, MSB_EUNAVAIL);
        return;
    }
    bool last = r == &a->select_req || !a->select_sent;
    if (last) {
        a->up = true;
        msb__redis_backoff_ok(&a->backoff);
        evtimer_del(a->retry_ev); /* the connect timeout */
    }
}

static void auth_done(msb__redis_req_t *r, msb_status_t status, const msb_error_t *err)
{
    (void)err;
    handshake_done(MSB_CONTAINER_OF(r, msb__redis_async_t, auth_req), r, status);
}

static void select_done(msb__redis_req_t *r, msb_status_t status, const msb_error_t *err)
{
    (void)err;
    handshake_done(MSB_CONTAINER_OF(r, msb__redis_async_t, select_req), r, status);
}

static bool send_raw(msb__redis_async_t *a, msb__redis_req_t *r, int argc, const char **argv,
                     const size_t *lens)
{
    r->sent_at = now_ns();
    push(&a->sent_head, &a->sent_tail, r);
    if (redisAsyncCommandArgv(a->ac, on_hiredis_reply, r, argc, argv, lens) != REDIS_OK) {
        unlink_sent(a, r);
        return false;
    }
    arm_watchdog(a);
    return true;
}

static void queue_handshake(msb__redis_async_t *a)
{
    if (a->url.has_user) {
        const char *argv[] = {"AUTH", a->url.user, a->url.password};
        send_raw(a, &a->auth_req, 3, argv, NULL);
    } else if (a->url.has_password) {
        const char *argv[] = {"AUTH", a->url.password};
        send_raw(a, &a->auth_req, 2, argv, NULL);
    }
    a->select_sent = true;
    if (a->url.db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", a->url.db);
        const char *argv[] = {"SELECT", db};
        a->select_cmd = "SELECT";
        send_raw(a, &a->select_req, 2, argv, NULL);
    } else if (!a->url.has_password) {
        /* make sure a server answers before calling the connection up */
        const char *argv[] = {"PING"};
        a->select_cmd = "PING";
        send_raw(a, &a->select_req, 1, argv, NULL);
    } else {
        a->select_sent = false;
    }
}

static void start_connect(msb__redis_async_t *a)
{
    redisAsyncContext *ac = redisAsyncConnect(a->url.host, a->url.port);
    if (ac == NULL || ac->err != 0) {
        msb__err(&a->last_err, MSB_EUNAVAIL, "redis %s: %s", a->where,
                 ac != NULL ? ac->errstr : "out of memory connecting");
        if (ac != NULL) {
            redisAsyncFree(ac);
        }
        schedule_retry(a);
        return;
    }
    ac->data = a;
    if (redisLibeventAttach(ac, a->base) != REDIS_OK) {
        redisAsyncFree(ac);
        msb__err(&a->last_err, MSB_EUNAVAIL, "redis %s: cannot attach to the loop", a->where);
        schedule_retry(a);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    a->ac = ac;
    a->up = false;
    a->handshake_status = MSB_OK;
    queue_handshake(a);
    struct timeval tv = to_tv(a->timeouts.connect_ns);
    evtimer_add(a->retry_ev, &tv); /* the connect timeout */
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    msb__redis_async_t *a = arg;
    if (a->ac == NULL) {
        start_connect(a);
        return;
    }
    if (!a->up) {
        msb__err(&a->last_err, MSB_EUNAVAIL, "redis %s: not connected within %lld ms", a->where,
                 (long long)(a->timeouts.connect_ns / MSB_MSEC));
        kill_connection(a, MSB_EUNAVAIL);
    }
}

static void really_free(msb__redis_async_t *a)
{
    event_free(a->retry_ev);
    event_free(a->watch_ev);
    event_free(a->done_ev);
    msb__free(a);
}

/* Run the queued completions; the connection may be freed by one of them. */
static void deliver(msb__redis_async_t *a)
{
    a->depth++;
    while (a->done_head != NULL) {
        msb__redis_req_t *r = a->done_head;
        a->done_head = r->next;
        if (a->done_head == NULL) {
            a->done_tail = NULL;
        }
        r->on_done(r, r->status, r->status == MSB_OK ? NULL : &a->last_err);
    }
    a->depth--;
    if (a->freeing && a->depth == 0) {
        really_free(a);
    }
}

static void on_done_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    deliver(arg);
}

msb_status_t msb__redis_async_new(struct event_base *base, const msb__redis_async_opts_t *o,
                                  msb__redis_async_t **out, msb_error_t *err)
{
    msb__redis_async_t *a = msb__calloc(1, sizeof(*a));
    if (a == NULL) {
        return msb__err_nomem(err, "an asynchronous Redis connection");
    }
    a->base = base;
    a->url = *o->url;
    a->timeouts = o->timeouts;
    a->backoff.min_ns = o->backoff_min_ns;
    a->backoff.max_ns = o->backoff_max_ns;
    msb__redis_url_where(&a->url, a->where, sizeof(a->where));
    a->auth_req.on_reply = auth_reply;
    a->auth_req.on_done = auth_done;
    a->select_req.on_reply = select_reply;
    a->select_req.on_done = select_done;
    a->retry_ev = evtimer_new(base, on_retry, a);
    a->watch_ev = evtimer_new(base, on_watchdog, a);
    a->done_ev = event_new(base, -1, 0, on_done_event, a);
    if (a->retry_ev == NULL || a->watch_ev == NULL || a->done_ev == NULL) {
        if (a->retry_ev != NULL) {
            event_free(a->retry_ev);
        }
        if (a->watch_ev != NULL) {
            event_free(a->watch_ev);
        }
        if (a->done_ev != NULL) {
            event_free(a->done_ev);
        }
        msb__free(a);
        return msb__err_nomem(err, "the events of a Redis connection");
    }
    start_connect(a);
    *out = a;
    return MSB_OK;
}

void msb__redis_async_free(msb__redis_async_t *a)
{
    if (a == NULL || a->freeing) {
        return;
    }
    a->freeing = true;
    evtimer_del(a->retry_ev);
    evtimer_del(a->watch_ev);
    msb__err(&a->last_err, MSB_ECANCELED, "redis %s: connection closed by its owner", a->where);
    kill_connection(a, MSB_ECANCELED);
    if (a->depth == 0) {
        deliver(a); /* runs what is queued, then frees */
    }
}

msb_status_t msb__redis_async_send(msb__redis_async_t *a, msb__redis_req_t *req, int argc,
                                   const char **argv, const size_t *lens, msb_error_t *err)
{
    if (a->ac == NULL || a->freeing) {
        if (err != NULL) {
            *err = a->last_err;
            if (err->code == MSB_OK) {
                msb__err(err, MSB_EUNAVAIL, "redis %s: not connected", a->where);
            }
            err->code = MSB_EUNAVAIL;
        }
        return MSB_EUNAVAIL;
    }
    if (!send_raw(a, req, argc, argv, lens)) {
        return msb__err(err, MSB_EUNAVAIL, "redis %s: cannot queue the command", a->where);
    }
    return MSB_OK;
}

void msb__redis_async_complete(msb__redis_async_t *a, msb__redis_req_t *req, msb_status_t status)
{
    finish(a, req, status);
}

bool msb__redis_async_up(const msb__redis_async_t *a)
{
    return a->up;
}
