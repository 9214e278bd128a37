/*
 * Connection output and shutdown: the output buffer and its flush (one write(2) for every
 * response queued during a read), closing with or without lingering, and recycling.
 *
 * Lingering close (as nginx does): after an answer that leaves request bytes unread (an error,
 * or an answer given before the body was read), the write side is shut down and input is read
 * and discarded for up to MSB__HTTP_LINGER_MS, so that the peer's unread bytes do not turn into a
 * TCP reset that destroys the response before the peer has read it.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "core/alloc.h"
#include "http/internal.h"

#define MAX_FREE_CONNS   256
#define WBUF_KEEP        (16 * 1024) /* an idle connection keeps at most this much output buffer */
#define LINGER_MAX_BYTES (1024 * 1024)

char *msb__http_conn_wreserve(msb__http_conn_t *c, size_t n)
{
    if (c->wcap - c->wlen >= n) {
        return c->wbuf + c->wlen;
    }
    if (c->wsent > 0 && c->wsent == c->wlen) {
        c->wlen = c->wsent = 0;
        if (c->wcap >= n) {
            return c->wbuf;
        }
    }
    size_t need = c->wlen + n;
    size_t cap = c->wcap ? c->wcap : 1024;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            return NULL;
        }
        cap *= 2;
    }
    char *p = msb__realloc(c->wbuf, cap);
    if (p == NULL) {
        return NULL;
    }
    c->wbuf = p;
    c->wcap = cap;
    return c->wbuf + c->wlen;
}

size_t msb__http_conn_pending(const msb__http_conn_t *c)
{
    size_t n = c->wlen - c->wsent;
    if (c->tls && c->bev != NULL) {
        n += evbuffer_get_length(bufferevent_get_output(c->bev));
    }
    return n;
}

static void finish_close(msb__http_conn_t *c)
{
    if (c->linger && !c->peer_eof && !c->tls) {
        shutdown(c->fd, SHUT_WR);
        c->state = MSB__C_LINGER;
        c->linger_bytes = 0;
        msb__http_conn_resume_reading(c);
        msb__http_conn_arm(c, MSB__T_LINGER, MSB__HTTP_LINGER_MS);
        return;
    }
    msb__http_conn_close(c, MSB_ECLOSED);
}

/* Everything queued has been written: wake a streaming handler, resume reading, or close. */
void msb__http_conn_drained(msb__http_conn_t *c)
{
    msb__http_conn_write_armed(c, false);
    if (c->wcap > WBUF_KEEP) {
        msb__free(c->wbuf);
        c->wbuf = NULL;
        c->wcap = 0;
    }
    c->wlen = c->wsent = 0;
    if (c->state == MSB__C_CLOSED || c->state == MSB__C_LINGER) {
        return;
    }
    if (c->close_after) {
        finish_close(c);
        return;
    }
    msb_http_req_t *req = &c->req;
    if (req->on_drain != NULL && req->resp == MSB__RESP_STREAM) {
        msb_http_drain_fn fn = req->on_drain;
        req->on_drain = NULL;
        fn(req, req->drain_user);
        return;
    }
    if (c->rlen > c->rpos && !c->in_process) {
        /* pipelined requests waited for the output to drain */
        msb__http_conn_process(c);
        msb__http_conn_resume_reading(c);
        if (c->state != MSB__C_CLOSED && c->wlen > c->wsent) {
            msb__http_conn_flush(c);
        }
    }
}

static void flush_plain(msb__http_conn_t *c)
{
    while (c->wsent < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->wsent, c->wlen - c->wsent, MSG_NOSIGNAL);
        if (n > 0) {
            c->wsent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            msb__http_conn_write_armed(c, true);
            if (!c->wev_added) {
                event_add(&c->wev, NULL);
                c->wev_added = true;
            }
            return;
        }
        msb__http_conn_close(c, MSB_ECANCELED); /* EPIPE, ECONNRESET: the peer is gone */
        return;
    }
    if (c->wev_added) {
        event_del(&c->wev);
        c->wev_added = false;
    }
    msb__http_conn_drained(c);
}

void msb__http_conn_flush(msb__http_conn_t *c)
{
    if (c->state == MSB__C_CLOSED) {
        return;
    }
    if (!c->tls) {
        if (c->wlen > c->wsent || c->close_after) {
            flush_plain(c);
        }
        return;
    }
    if (c->wlen > c->wsent) {
        struct evbuffer *out = bufferevent_get_output(c->bev);
        if (evbuffer_add(out, c->wbuf + c->wsent, c->wlen - c->wsent) != 0) {
            msb__http_conn_close(c, MSB_ENOMEM);
            return;
        }
        c->wlen = c->wsent = 0;
        msb__http_conn_write_armed(c, true);
    } else if (c->close_after && msb__http_conn_pending(c) == 0) {
        msb__http_conn_drained(c);
    }
}

void msb__http_linger_read(msb__http_conn_t *c)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n > 0) {
            c->linger_bytes += (size_t)n;
            if (c->linger_bytes > LINGER_MAX_BYTES) {
                break;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        break; /* EOF or error */
    }
    msb__http_conn_close(c, MSB_ECLOSED);
}

void msb__http_conn_close(msb__http_conn_t *c, msb_status_t why)
{
    if (c->state == MSB__C_CLOSED) {
        return;
    }
    msb_http_loop_t *w = c->w;
    c->state = MSB__C_CLOSED;
    if (c->tev_added) {
        event_del(&c->tev);
        c->tev_added = false;
    }
    if (c->tls && c->bev != NULL) {
        bufferevent_free(c->bev); /* closes the socket */
        c->bev = NULL;
    } else if (c->tls) {
        close(c->fd);
    } else {
        if (c->rev_added) {
            event_del(&c->rev);
        }
        if (c->wev_added) {
            event_del(&c->wev);
        }
        c->rev_added = c->wev_added = false;
        close(c->fd);
    }
    c->fd = -1;
    w->nconns--;
    atomic_store_explicit(&w->st_conns, w->nconns, memory_order_relaxed);
    atomic_fetch_sub(&w->srv->conns, 1);
    msb__http_req_abort(&c->req, why);
    msb__http_worker_conn_gone(w);
}

void msb__http_conn_free(msb__http_conn_t *c)
{
    msb__arena_reset(&c->arena);
    msb__free(c->fields);
    msb__free(c->rbuf);
    msb__free(c->wbuf);
    msb__free(c->body_buf);
    msb__free(c);
}

void msb__http_conn_release(msb__http_conn_t *c)
{
    msb_http_loop_t *w = c->w;
    if (c->req.owed) {
        c->dead = true; /* freed when the deferred handler answers, or with the worker */
        return;
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else if (w->conns == c) {
        w->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    c->prev = c->next = NULL;
    msb__arena_reset(&c->arena);
    if (c->body_cap > 64 * 1024) {
        msb__free(c->body_buf);
        c->body_buf = NULL;
        c->body_cap = 0;
    }
    if (c->wcap > WBUF_KEEP) {
        msb__free(c->wbuf);
        c->wbuf = NULL;
        c->wcap = 0;
    }
    if (w->nfree >= MAX_FREE_CONNS || c->rcap > MSB__HTTP_READ_INITIAL || w->draining) {
        msb__http_conn_free(c);
        return;
    }
    c->next = w->free_conns;
    w->free_conns = c;
    w->nfree++;
}
