/*
 * A connection: accept, the read path, and the loop that turns buffered bytes into requests.
 *
 * Hot path for a keep-alive request that arrives in one segment: one read(2) into the
 * connection's buffer, the head parsed in place, the response serialized into the output buffer,
 * one write(2) after every pipelined request in that read was answered. No allocation: the buffers
 * and the request arena live with the connection, which is recycled.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "core/alloc.h"
#include "http/internal.h"

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);

static msb__http_conn_t *conn_alloc(msb_http_loop_t *w)
{
    msb__http_conn_t *c = w->free_conns;
    if (c != NULL) {
        w->free_conns = c->next;
        w->nfree--;
        return c;
    }
    c = msb__calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    const msb_http_server_t *srv = w->srv;
    c->fields = msb__calloc(srv->lim.max_headers, sizeof(*c->fields));
    c->rbuf = msb__malloc(MSB__HTTP_READ_INITIAL);
    if (c->fields == NULL || c->rbuf == NULL) {
        msb__free(c->fields);
        msb__free(c->rbuf);
        msb__free(c);
        return NULL;
    }
    c->rcap = MSB__HTTP_READ_INITIAL;
    return c;
}

static void conn_reset_fields(msb__http_conn_t *c, msb_http_loop_t *w)
{
    c->w = w;
    c->bev = NULL;
    c->rev_added = c->wev_added = c->tev_added = false;
    c->state = MSB__C_IDLE;
    c->keep_alive = true;
    c->close_after = c->linger = c->in_process = c->dead = false;
    c->chunked_body = c->direct_body = false;
    c->rlen = c->rpos = c->next_msg = 0;
    c->saved = -1;
    c->wlen = c->wsent = 0;
    c->deadline = c->write_deadline = c->timer_at = 0;
    c->deadline_kind = MSB__T_NONE;
    c->linger_bytes = 0;
    c->peer_ip[0] = '\0';
    c->busy = 0;
    msb__arena_init(&c->arena, c->arena_inl, sizeof(c->arena_inl));
    memset(&c->req, 0, sizeof(c->req));
    c->req.conn = c;
    c->req.loop = w;
    c->req.head.fields = c->fields;
    c->req.head.fields_cap = w->srv->lim.max_headers;
    msb__http_parser_init(&c->parser, &c->req.head);
}

void msb__http_conn_new(msb_http_loop_t *w, int fd, const struct sockaddr *sa, socklen_t salen)
{
    msb__http_conn_t *c = conn_alloc(w);
    if (c == NULL) {
        close(fd);
        atomic_fetch_sub(&w->srv->conns, 1);
        return;
    }
    conn_reset_fields(c, w);
    c->fd = fd;
    c->tls = w->srv->tls != NULL;
    memcpy(&c->peer, sa, salen);
    c->peer_len = salen;
    if (sa->sa_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    c->prev = NULL;
    c->next = w->conns;
    if (w->conns != NULL) {
        w->conns->prev = c;
    }
    w->conns = c;
    w->nconns++;
    atomic_store_explicit(&w->st_conns, w->nconns, memory_order_relaxed);
    msb__http_conn_timer_init(c);
    if (c->tls) {
        if (!msb__http_tls_attach(c)) {
            msb__http_conn_close(c, MSB_ENOMEM);
            msb__http_conn_release(c);
            return;
        }
    } else {
        event_assign(&c->rev, w->base, fd, EV_READ | EV_PERSIST, on_read, c);
        event_assign(&c->wev, w->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
        event_add(&c->rev, NULL);
        c->rev_added = true;
    }
    msb__http_conn_arm(c, MSB__T_HEAD, w->srv->o.header_timeout_ms);
}

/* Room to read into: the head may grow the buffer up to what the limits allow. */
static size_t read_room(msb__http_conn_t *c)
{
    size_t used = c->rlen + 1; /* keep one byte for the body's terminating NUL */
    if (used < c->rcap) {
        return c->rcap - used;
    }
    if (c->state == MSB__C_ACTIVE || c->state == MSB__C_BODY) {
        return 0; /* never move the buffer under a live request */
    }
    if (c->rpos > 0) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
        c->next_msg = 0;
        return c->rcap - c->rlen - 1;
    }
    const msb__http_limits_t *lim = &c->w->srv->lim;
    size_t max = (size_t)lim->max_request_line + lim->max_header_bytes + 4096;
    if (c->rcap >= max) {
        return 0;
    }
    size_t cap = (size_t)c->rcap * 2 < max ? (size_t)c->rcap * 2 : max;
    char *p = msb__realloc(c->rbuf, cap);
    if (p == NULL) {
        return 0;
    }
    c->rbuf = p;
    c->rcap = (uint32_t)cap;
    return c->rcap - c->rlen - 1;
}

void msb__http_conn_pause_reading(msb__http_conn_t *c)
{
    if (c->tls) {
        bufferevent_disable(c->bev, EV_READ);
    } else if (c->rev_added) {
        event_del(&c->rev);
        c->rev_added = false;
    }
}

void msb__http_conn_resume_reading(msb__http_conn_t *c)
{
    if (c->state == MSB__C_CLOSED) {
        return;
    }
    if (c->tls) {
        bufferevent_enable(c->bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
            /* bytes already decrypted: no new data will announce them */
            bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
        }
    } else if (!c->rev_added) {
        event_add(&c->rev, NULL);
        c->rev_added = true;
    }
}

ssize_t msb__http_conn_recv(msb__http_conn_t *c, void *buf, size_t n)
{
    if (c->tls) {
        int got = evbuffer_remove(bufferevent_get_input(c->bev), buf, n);
        if (got <= 0) {
            errno = EAGAIN;
            return -1;
        }
        return got;
    }
    return read(c->fd, buf, n);
}

static bool read_once(msb__http_conn_t *c)
{
    if (c->state == MSB__C_BODY && c->direct_body) {
        msb__http_conn_process(c); /* reads the body straight from the socket */
        return false;
    }
    size_t room = read_room(c);
    if (room == 0) {
        msb__http_conn_pause_reading(c);
        return false;
    }
    ssize_t n = msb__http_conn_recv(c, c->rbuf + c->rlen, room);
    if (n > 0) {
        c->rlen += (uint32_t)n;
        msb__http_conn_process(c);
        return (size_t)n == room && c->state != MSB__C_CLOSED;
    }
    if (n == 0) {
        msb__http_conn_eof(c);
        return false;
    }
    if (errno == EINTR) {
        return true;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
        msb__http_conn_close(c, MSB_ECANCELED);
    }
    return false;
}

MSB_INTERNAL void msb__http_linger_read(msb__http_conn_t *c);

void msb__http_conn_read(msb__http_conn_t *c)
{
    msb__http_conn_hold(c);
    if (c->state == MSB__C_LINGER) {
        msb__http_linger_read(c);
    } else {
        while (c->state != MSB__C_CLOSED && read_once(c)) {
        }
        if (c->state != MSB__C_CLOSED) {
            msb__http_conn_flush(c);
        }
    }
    msb__http_conn_unhold(c);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    MSB_UNUSED(fd);
    MSB_UNUSED(what);
    msb__http_conn_read(arg);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    MSB_UNUSED(fd);
    MSB_UNUSED(what);
    msb__http_conn_t *c = arg;
    msb__http_conn_hold(c);
    msb__http_conn_flush(c);
    msb__http_conn_unhold(c);
}

void msb__http_conn_eof(msb__http_conn_t *c)
{
    c->peer_eof = true;
    c->keep_alive = false;
    msb__http_conn_pause_reading(c);
    if (c->state == MSB__C_IDLE || (c->state == MSB__C_HEAD && c->rlen == c->rpos)) {
        /* between requests: answers already queued still go out, then the connection closes */
        c->close_after = true;
        if (msb__http_conn_pending(c) == 0) {
            msb__http_conn_close(c, MSB_ECANCELED);
        }
        return;
    }
    /* mid-request, or while a handler works on one: the request cannot complete (cancel it) */
    msb__http_conn_close(c, MSB_ECANCELED);
}

/* The next message, once the current request was answered and its body consumed. */
static void advance(msb__http_conn_t *c)
{
    msb_http_req_t *req = &c->req;
    if (c->saved >= 0) {
        c->rbuf[c->next_msg] = (char)c->saved;
        c->saved = -1;
    }
    uint32_t next = c->next_msg;
    if (next >= c->rlen) {
        c->rlen = c->rpos = 0;
    } else {
        c->rpos = next;
    }
    c->next_msg = 0;
    msb__arena_reset(&c->arena);
    msb__http_field_t *fields = c->fields;
    memset(req, 0, offsetof(msb_http_req_t, hinl));
    req->conn = c;
    req->loop = c->w;
    req->head.fields = fields;
    req->head.fields_cap = c->w->srv->lim.max_headers;
    msb__http_parser_init(&c->parser, &req->head);
    c->state = MSB__C_IDLE;
    c->chunked_body = c->direct_body = false;
}

static bool process_head(msb__http_conn_t *c)
{
    msb__http_perr_t e;
    msb_http_loop_t *w = c->w;
    if (c->state == MSB__C_IDLE) {
        c->state = MSB__C_HEAD;
    }
    int rc = msb__http_parse_head(&c->parser, c->rbuf + c->rpos, c->rlen - c->rpos, &w->srv->lim,
                                  &c->req.head, &e);
    if (rc == MSB__PARSE_MORE) {
        if (c->deadline_kind != MSB__T_HEAD) {
            msb__http_conn_arm(c, MSB__T_HEAD, w->srv->o.header_timeout_ms);
        }
        return false;
    }
    if (rc == MSB__PARSE_ERROR) {
        msb__http_req_early(c, e.status, e.detail);
        return false;
    }
    msb__http_req_begin(c);
    return true;
}

void msb__http_conn_process(msb__http_conn_t *c)
{
    if (c->in_process) {
        return;
    }
    c->in_process = true;
    for (;;) {
        if (c->state == MSB__C_CLOSED) {
            break; /* closed under the request (out of memory, peer reset): nothing follows */
        }
        if (c->req.resp == MSB__RESP_DONE) {
            if (c->req.owed || !c->keep_alive || c->w->draining) {
                c->close_after = true;
                if (c->rlen > c->next_msg) {
                    c->linger = true; /* pipelined bytes unread: do not let them reset us */
                }
                break;
            }
            advance(c);
            msb__http_conn_arm(c, MSB__T_IDLE, c->w->srv->o.idle_timeout_ms);
        }
        uint8_t st = c->state;
        if (st == MSB__C_CLOSED || st == MSB__C_LINGER || st == MSB__C_ACTIVE || c->close_after) {
            break;
        }
        if (st == MSB__C_BODY) {
            msb__http_body_feed(c);
            if (c->state == MSB__C_BODY) {
                break;
            }
            continue;
        }
        if (c->rlen == c->rpos || msb__http_conn_pending(c) > MSB__HTTP_WRITE_HIGH) {
            break;
        }
        if (!process_head(c) && c->req.resp != MSB__RESP_DONE) {
            break;
        }
    }
    c->in_process = false;
    if (c->close_after && c->state != MSB__C_CLOSED) {
        msb__http_conn_pause_reading(c);
    }
}
