/*
 * Workers: one thread and one libevent loop each. A worker accepts on its own listening socket
 * (SO_REUSEPORT) or receives connections from worker 0 (handoff), runs their requests, and drains
 * them on stop. Other threads talk to a worker only through its mailbox: a locked array of
 * functions and an eventfd that wakes the loop (one write per batch, not per post).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "http/internal.h"
#include "http/path.h"

MSB_INTERNAL void msb__http_worker_wake(msb_http_loop_t *w);
MSB_INTERNAL void msb__http_workers_join(msb_http_server_t *srv);
MSB_INTERNAL void msb__http_workers_free(msb_http_server_t *srv);
MSB_INTERNAL void msb__http_worker_drain(msb_http_loop_t *w);
MSB_INTERNAL void msb__http_worker_accept(evutil_socket_t fd, short what, void *arg);

const char *msb__http_date(msb_http_loop_t *w, size_t *len)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != w->date_sec) {
        struct tm tm;
        time_t t = ts.tv_sec;
        gmtime_r(&t, &tm);
        int n = snprintf(w->date, sizeof(w->date), "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
                         days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
                         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        w->date_len = n > 0 && (size_t)n < sizeof(w->date) ? (size_t)n : 0;
        w->date_sec = ts.tv_sec;
    }
    *len = w->date_len;
    return w->date;
}

msb_status_t msb_http_loop_post(msb_http_loop_t *w, msb_http_loop_fn fn, void *user)
{
    if (w == NULL || fn == NULL) {
        return MSB_EINVAL;
    }
    pthread_mutex_lock(&w->mlock);
    if (w->nposts == w->posts_cap) {
        size_t cap = w->posts_cap ? w->posts_cap * 2 : 16;
        msb__http_post_t *p = msb__realloc(w->posts, cap * sizeof(*p));
        if (p == NULL) {
            pthread_mutex_unlock(&w->mlock);
            return MSB_ENOMEM;
        }
        w->posts = p;
        w->posts_cap = cap;
    }
    w->posts[w->nposts++] = (msb__http_post_t){fn, user};
    bool wake = !w->signalled;
    w->signalled = true;
    pthread_mutex_unlock(&w->mlock);
    if (wake) {
        msb__http_worker_wake(w);
    }
    return MSB_OK;
}

void msb__http_worker_wake(msb_http_loop_t *w)
{
    uint64_t one = 1;
    while (write(w->efd, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
}

static void run_posts(msb_http_loop_t *w)
{
    for (;;) {
        pthread_mutex_lock(&w->mlock);
        msb__http_post_t *posts = w->posts;
        size_t n = w->nposts;
        size_t cap = w->posts_cap;
        w->posts = w->spare;
        w->posts_cap = w->spare_cap;
        w->nposts = 0;
        w->spare = NULL;
        w->spare_cap = 0;
        w->signalled = false;
        pthread_mutex_unlock(&w->mlock);
        for (size_t i = 0; i < n; i++) {
            posts[i].fn(w, posts[i].user);
        }
        pthread_mutex_lock(&w->mlock);
        if (w->spare == NULL) {
            w->spare = posts;
            w->spare_cap = cap;
            posts = NULL;
        }
        bool more = w->nposts > 0;
        pthread_mutex_unlock(&w->mlock);
        msb__free(posts);
        if (!more || n == 0) {
            return;
        }
    }
}

static void on_mailbox(evutil_socket_t fd, short what, void *arg)
{
    MSB_UNUSED(what);
    msb_http_loop_t *w = arg;
    uint64_t v;
    while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR) {
    }
    run_posts(w);
    if (atomic_load(&w->srv->stop_requested) && !w->draining) {
        msb__http_worker_drain(w);
    }
}

static void *worker_main(void *arg)
{
    msb_http_loop_t *w = arg;
    msb_http_server_t *srv = w->srv;
    /*
     * A write to a peer that reset the connection raises SIGPIPE in the writing thread; its
     * default action kills the process. Blocked here, in this thread only (the process' signal
     * dispositions belong to the host program), the write fails with EPIPE instead. This covers
     * OpenSSL's socket writes too, which cannot pass MSG_NOSIGNAL.
     */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    if (srv->o.on_worker_start != NULL) {
        srv->o.on_worker_start(w, srv->o.worker_user);
    }
    event_base_dispatch(w->base); /* until the drain ends it (event_base_loopbreak) */
    run_posts(w);
    if (srv->o.on_worker_stop != NULL) {
        srv->o.on_worker_stop(w, srv->o.worker_user);
    }
    pthread_mutex_lock(&srv->stop_lock);
    srv->running--;
    pthread_cond_broadcast(&srv->stop_cond);
    pthread_mutex_unlock(&srv->stop_lock);
    return NULL;
}

static msb_status_t worker_init(msb_http_server_t *srv, msb_http_loop_t *w, int i, msb_error_t *err)
{
    w->srv = srv;
    w->index = i;
    w->listen_fd = -1;
    w->efd = -1;
    pthread_mutex_init(&w->mlock, NULL);
    struct event_config *cfg = event_config_new();
    if (cfg == NULL) {
        return msb__err_nomem(err, "an event loop");
    }
    /* the loop is touched by its own thread only: libevent's locks would be pure cost */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    w->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->segs = msb__calloc(MSB__HTTP_MAX_SEGMENTS, sizeof(msb__http_seg_t));
    w->scratch = msb__malloc(srv->lim.max_request_line + 1);
    if (w->base == NULL || w->efd < 0 || w->segs == NULL || w->scratch == NULL) {
        return msb__err(err, MSB_ENOMEM, "http worker %d: cannot create its loop", i);
    }
    event_assign(&w->mbox_ev, w->base, w->efd, EV_READ | EV_PERSIST, on_mailbox, w);
    event_add(&w->mbox_ev, NULL);
    return MSB_OK;
}

static void stop_started(msb_http_server_t *srv)
{
    atomic_store(&srv->stop_requested, true);
    for (int i = 0; i < srv->nworkers; i++) {
        if (srv->workers[i].thread_started) {
            msb__http_worker_wake(&srv->workers[i]);
        }
    }
    pthread_mutex_lock(&srv->stop_lock);
    while (srv->running > 0) {
        pthread_cond_wait(&srv->stop_cond, &srv->stop_lock);
    }
    pthread_mutex_unlock(&srv->stop_lock);
    msb__http_workers_join(srv);
}

msb_status_t msb__http_workers_start(msb_http_server_t *srv, msb_error_t *err)
{
    srv->workers = msb__calloc((size_t)srv->nworkers, sizeof(*srv->workers));
    if (srv->workers == NULL) {
        return msb__err_nomem(err, "the HTTP workers");
    }
    msb_status_t rc = MSB_OK;
    for (int i = 0; i < srv->nworkers && rc == MSB_OK; i++) {
        rc = worker_init(srv, &srv->workers[i], i, err);
    }
    if (rc == MSB_OK) {
        rc = msb__http_listen_all(srv, err);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    for (int i = 0; i < srv->nworkers; i++) {
        msb_http_loop_t *w = &srv->workers[i];
        if (w->listen_fd >= 0) {
            event_assign(&w->listen_ev, w->base, w->listen_fd, EV_READ | EV_PERSIST,
                         msb__http_worker_accept, w);
            event_add(&w->listen_ev, NULL);
            w->listen_added = true;
        }
    }
    srv->running = 0;
    for (int i = 0; i < srv->nworkers; i++) {
        msb_http_loop_t *w = &srv->workers[i];
        pthread_mutex_lock(&srv->stop_lock);
        srv->running++;
        pthread_mutex_unlock(&srv->stop_lock);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            pthread_mutex_lock(&srv->stop_lock);
            srv->running--;
            pthread_mutex_unlock(&srv->stop_lock);
            stop_started(srv);
            return msb__err(err, MSB_ENOMEM, "http worker %d: cannot start its thread", i);
        }
        w->thread_started = true;
    }
    return MSB_OK;
}

void msb__http_workers_join(msb_http_server_t *srv)
{
    for (int i = 0; srv->workers != NULL && i < srv->nworkers; i++) {
        msb_http_loop_t *w = &srv->workers[i];
        if (w->thread_started) {
            pthread_join(w->thread, NULL);
            w->thread_started = false;
        }
    }
}

static void free_conns(msb_http_loop_t *w)
{
    while (w->conns != NULL) {
        msb__http_conn_t *c = w->conns;
        w->conns = c->next;
        if (c->state != MSB__C_CLOSED) {
            c->busy++;
            msb__http_conn_close(c, MSB_ECLOSED);
        }
        msb__http_conn_free(c);
    }
    while (w->free_conns != NULL) {
        msb__http_conn_t *c = w->free_conns;
        w->free_conns = c->next;
        msb__http_conn_free(c);
    }
}

void msb__http_workers_free(msb_http_server_t *srv)
{
    for (int i = 0; srv->workers != NULL && i < srv->nworkers; i++) {
        msb_http_loop_t *w = &srv->workers[i];
        free_conns(w);
        if (w->listen_added) {
            event_del(&w->listen_ev);
        }
        if (w->listen_fd >= 0) {
            close(w->listen_fd);
        }
        if (w->base != NULL) {
            event_del(&w->mbox_ev);
            event_base_free(w->base);
        }
        if (w->efd >= 0) {
            close(w->efd);
        }
        msb__free(w->posts);
        msb__free(w->spare);
        msb__free(w->segs);
        msb__free(w->scratch);
        pthread_mutex_destroy(&w->mlock);
    }
    msb__free(srv->workers);
    srv->workers = NULL;
}

struct event_base *msb_http_loop_base(msb_http_loop_t *loop)
{
    return loop->base;
}

int msb_http_loop_index(const msb_http_loop_t *loop)
{
    return loop->index;
}
