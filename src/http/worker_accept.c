/*
 * Accepting connections (with the max_connections bound and EMFILE back-off), handing them to
 * other workers in handoff mode, and draining a worker on stop.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/alloc.h"
#include "http/internal.h"

#define ACCEPT_BATCH    64
#define ACCEPT_RETRY_MS 100

MSB_INTERNAL void msb__http_worker_drain(msb_http_loop_t *w);
MSB_INTERNAL void msb__http_worker_accept(evutil_socket_t fd, short what, void *arg);

typedef struct handoff {
    int fd;
    socklen_t len;
    struct sockaddr_storage ss;
} handoff_t;

static void on_handoff(msb_http_loop_t *w, void *user)
{
    handoff_t *h = user;
    if (w->draining) {
        close(h->fd);
        atomic_fetch_sub(&w->srv->conns, 1);
    } else {
        msb__http_conn_new(w, h->fd, (const struct sockaddr *)&h->ss, h->len);
    }
    msb__free(h);
}

static void on_accept_timer(evutil_socket_t fd, short what, void *arg)
{
    MSB_UNUSED(fd);
    MSB_UNUSED(what);
    msb_http_loop_t *w = arg;
    w->accept_timer_added = false;
    if (w->draining || w->listen_fd < 0) {
        return;
    }
    w->accept_paused = false;
    event_add(&w->listen_ev, NULL);
    w->listen_added = true;
}

static void pause_accepting(msb_http_loop_t *w)
{
    if (w->listen_added) {
        event_del(&w->listen_ev);
        w->listen_added = false;
    }
    w->accept_paused = true;
    if (!w->accept_timer_added) {
        struct timeval tv = {0, ACCEPT_RETRY_MS * 1000};
        evtimer_assign(&w->accept_timer, w->base, on_accept_timer, w);
        evtimer_add(&w->accept_timer, &tv);
        w->accept_timer_added = true;
    }
}

static void dispatch(msb_http_loop_t *w, int fd, const struct sockaddr_storage *ss, socklen_t len)
{
    msb_http_server_t *srv = w->srv;
    if (srv->o.listen_mode == MSB_HTTP_LISTEN_HANDOFF && srv->nworkers > 1) {
        msb_http_loop_t *to = &srv->workers[w->rr++ % (uint32_t)srv->nworkers];
        if (to != w) {
            handoff_t *h = msb__malloc(sizeof(*h));
            if (h != NULL) {
                h->fd = fd;
                h->len = len;
                memcpy(&h->ss, ss, len);
                if (msb_http_loop_post(to, on_handoff, h) == MSB_OK) {
                    return;
                }
                msb__free(h);
            }
            /* the other worker cannot be reached: serve it here */
        }
    }
    msb__http_conn_new(w, fd, (const struct sockaddr *)ss, len);
}

void msb__http_worker_accept(evutil_socket_t lfd, short what, void *arg)
{
    MSB_UNUSED(what);
    msb_http_loop_t *w = arg;
    msb_http_server_t *srv = w->srv;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        if (atomic_load_explicit(&srv->conns, memory_order_relaxed) >= srv->o.max_connections) {
            pause_accepting(w);
            return;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                pause_accepting(w);
            }
            return;
        }
        atomic_fetch_add_explicit(&srv->conns, 1, memory_order_relaxed);
        dispatch(w, fd, &ss, len);
    }
}

static void check_done(msb_http_loop_t *w)
{
    if (w->draining && w->nconns == 0) {
        event_base_loopbreak(w->base);
    }
}

void msb__http_worker_conn_gone(msb_http_loop_t *w)
{
    if (w->draining) {
        check_done(w);
    }
}

static void force_close(msb_http_loop_t *w)
{
    msb__http_conn_t *c = w->conns;
    while (c != NULL) {
        msb__http_conn_t *next = c->next;
        if (c->state != MSB__C_CLOSED) {
            msb__http_conn_hold(c);
            msb__http_conn_close(c, MSB_ECLOSED);
            next = c->next; /* the abort callbacks may have answered and unlinked others */
            msb__http_conn_unhold(c);
        }
        c = next;
    }
}

static void on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
    MSB_UNUSED(fd);
    MSB_UNUSED(what);
    msb_http_loop_t *w = arg;
    w->drain_added = false;
    if (w->nconns > 0) {
        w->forced = true;
        atomic_store(&w->srv->any_forced, true);
        force_close(w);
    }
    event_base_loopbreak(w->base);
}

static bool idle(const msb__http_conn_t *c)
{
    return c->state == MSB__C_IDLE && c->rlen == c->rpos && msb__http_conn_pending(c) == 0;
}

void msb__http_worker_drain(msb_http_loop_t *w)
{
    w->draining = true;
    if (w->listen_added) {
        event_del(&w->listen_ev);
        w->listen_added = false;
    }
    if (w->accept_timer_added) {
        event_del(&w->accept_timer);
        w->accept_timer_added = false;
    }
    if (w->listen_fd >= 0) {
        close(w->listen_fd);
        w->listen_fd = -1;
    }
    uint32_t ms = atomic_load(&w->srv->stop_ms);
    msb__http_conn_t *c = w->conns;
    while (c != NULL) {
        msb__http_conn_t *next = c->next;
        if (c->state != MSB__C_CLOSED) {
            c->keep_alive = false;
            if (idle(c) || ms == 0) {
                if (!idle(c)) {
                    w->forced = true;
                    atomic_store(&w->srv->any_forced, true);
                }
                msb__http_conn_hold(c);
                msb__http_conn_close(c, MSB_ECLOSED);
                next = c->next;
                msb__http_conn_unhold(c);
            }
        }
        c = next;
    }
    if (w->nconns > 0) {
        struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
        evtimer_assign(&w->drain_ev, w->base, on_drain_deadline, w);
        evtimer_add(&w->drain_ev, &tv);
        w->drain_added = true;
    }
    check_done(w);
}
