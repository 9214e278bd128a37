/*
 * The loop transport: one libcurl multi handle driven by a libevent event_base through the
 * multi_socket API. libcurl says which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
 * wake it (CURLMOPT_TIMERFUNCTION); libevent watches them and calls curl_multi_socket_action().
 * Completed transfers are collected after each action, outside libcurl's callbacks, so the
 * core's completion callbacks may start or cancel other transfers.
 */
#include <event2/event.h>
#include <string.h>

#include "client/curl/curl_int.h"
#include "core/alloc.h"
#include "core/error.h"

#define EASY_CACHE_MAX 32

typedef struct sock sock_t;

typedef struct loop {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct event *reaper; /* ends transfers whose socket could not be watched */
    msb__client_pool_t pool;
    sock_t *socks;            /* every watched socket, for the final clean-up */
    msb__curl_xfer_t *active; /* attempts in the multi */
    msb__curl_xfer_t *cache;  /* idle easy handles, reused (singly linked by next) */
    size_t cached;
} loop_t;

struct sock {
    curl_socket_t fd;
    struct event *ev;
    loop_t *loop;
    sock_t *prev, *next;
};

static void collect(loop_t *l);

/* ---- sockets and the timer ------------------------------------------------------------------ */

static void on_event(evutil_socket_t fd, short what, void *arg)
{
    sock_t *s = arg;
    loop_t *l = s->loop; /* s may be freed inside curl_multi_socket_action */
    int flags = 0;
    if ((what & EV_READ) != 0) {
        flags |= CURL_CSELECT_IN;
    }
    if ((what & EV_WRITE) != 0) {
        flags |= CURL_CSELECT_OUT;
    }
    int running = 0;
    curl_multi_socket_action(l->multi, fd, flags, &running);
    collect(l);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    MSB_UNUSED(fd);
    MSB_UNUSED(what);
    loop_t *l = arg;
    int running = 0;
    curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect(l);
}

static void sock_free(loop_t *l, sock_t *s)
{
    event_free(s->ev);
    if (s->prev != NULL) {
        s->prev->next = s->next;
    } else {
        l->socks = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    }
    msb__free(s);
}

/* A socket record could not be made: libcurl's own answer to an error here (-1) kills every
 * transfer of the multi handle for good, so instead the transfer is marked and ended from the
 * loop with MSB__XFER_NOMEM. */
static int watch_failed(loop_t *l, CURL *easy)
{
    msb__curl_xfer_t *xf = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&xf);
    if (xf != NULL) {
        xf->nomem = true;
    }
    struct timeval zero = {0, 0};
    evtimer_add(l->reaper, &zero);
    return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *user, void *socketp)
{
    loop_t *l = user;
    sock_t *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            curl_multi_assign(l->multi, fd, NULL);
            sock_free(l, s);
        }
        return 0;
    }
    if (s == NULL) {
        s = msb__calloc(1, sizeof(*s));
        if (s == NULL) {
            return watch_failed(l, easy);
        }
        s->ev = event_new(l->base, fd, 0, on_event, s);
        if (s->ev == NULL) {
            msb__free(s);
            return watch_failed(l, easy);
        }
        s->fd = fd;
        s->loop = l;
        s->next = l->socks;
        if (l->socks != NULL) {
            l->socks->prev = s;
        }
        l->socks = s;
        curl_multi_assign(l->multi, fd, s);
    } else {
        event_del(s->ev);
    }
    short events = EV_PERSIST;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) {
        events |= EV_READ;
    }
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) {
        events |= EV_WRITE;
    }
    event_assign(s->ev, l->base, fd, events, on_event, s);
    return event_add(s->ev, NULL) == 0 ? 0 : watch_failed(l, easy);
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *user)
{
    MSB_UNUSED(multi);
    loop_t *l = user;
    if (timeout_ms < 0) {
        evtimer_del(l->timer);
        return 0;
    }
    /* Never act from inside libcurl: even an immediate timeout goes through the loop. */
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    return evtimer_add(l->timer, &tv) == 0 ? 0 : -1;
}

/* ---- attempts ------------------------------------------------------------------------------- */

static void unlink_active(loop_t *l, msb__curl_xfer_t *xf)
{
    if (xf->prev != NULL) {
        xf->prev->next = xf->next;
    } else {
        l->active = xf->next;
    }
    if (xf->next != NULL) {
        xf->next->prev = xf->prev;
    }
    xf->prev = NULL;
    xf->next = NULL;
}

/* Give an easy handle back (kept for reuse, up to a bound). */
static void recycle(loop_t *l, msb__curl_xfer_t *xf)
{
    if (l->cached < EASY_CACHE_MAX) {
        curl_easy_reset(xf->easy);
        xf->next = l->cache;
        l->cache = xf;
        l->cached++;
        return;
    }
    curl_easy_cleanup(xf->easy);
    msb__free(xf);
}

static void collect(loop_t *l)
{
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(l->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) {
            continue;
        }
        CURL *easy = m->easy_handle;
        CURLcode cc = m->data.result;
        msb__curl_xfer_t *xf = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&xf);
        msb__client_result_t res;
        msb__curl_result(xf, cc, &res);
        curl_multi_remove_handle(l->multi, easy);
        unlink_active(l, xf);
        msb__client_done_fn done = xf->done;
        void *user = xf->x->user;
        recycle(l, xf);
        done(user, &res);
    }
}

static void on_reaper(evutil_socket_t fd, short what, void *arg)
{
    MSB_UNUSED(fd);
    MSB_UNUSED(what);
    loop_t *l = arg;
    bool again = true;
    while (again) {
        again = false;
        for (msb__curl_xfer_t *xf = l->active; xf != NULL; xf = xf->next) {
            if (!xf->nomem) {
                continue;
            }
            msb__client_result_t res;
            memset(&res, 0, sizeof(res));
            res.fail = MSB__XFER_NOMEM;
            msb__curl_release(xf);
            curl_multi_remove_handle(l->multi, xf->easy);
            unlink_active(l, xf);
            msb__client_done_fn done = xf->done;
            void *user = xf->x->user;
            recycle(l, xf);
            done(user, &res); /* may change the list: look again from the start */
            again = true;
            break;
        }
    }
}

msb_status_t msb__curl_loop_start(void *loop, const msb__client_xfer_t *x, msb__client_done_fn done,
                                  void **handle, msb_error_t *err)
{
    loop_t *l = loop;
    msb__curl_xfer_t *xf = l->cache;
    if (xf != NULL) {
        l->cache = xf->next;
        l->cached--;
        xf->next = NULL;
    } else {
        xf = msb__calloc(1, sizeof(*xf));
        if (xf == NULL) {
            return msb__err_nomem(err, "a transfer");
        }
        xf->easy = curl_easy_init();
        if (xf->easy == NULL) {
            msb__free(xf);
            return msb__err_nomem(err, "a curl easy handle");
        }
    }
    msb_status_t rc = msb__curl_setup(xf, x, &l->pool, err);
    if (rc != MSB_OK) {
        recycle(l, xf);
        return rc;
    }
    xf->loop = l;
    xf->done = done;
    xf->nomem = false;
    CURLMcode mc = curl_multi_add_handle(l->multi, xf->easy);
    if (mc != CURLM_OK) {
        msb__curl_release(xf);
        recycle(l, xf);
        return mc == CURLM_OUT_OF_MEMORY
                   ? msb__err_nomem(err, "a transfer")
                   : msb__err(err, MSB_EINTERNAL, "client: curl_multi_add_handle: %s",
                              curl_multi_strerror(mc));
    }
    xf->next = l->active;
    if (l->active != NULL) {
        l->active->prev = xf;
    }
    l->active = xf;
    *handle = xf;
    return MSB_OK;
}

void msb__curl_loop_cancel(void *loop, void *handle)
{
    loop_t *l = loop;
    msb__curl_xfer_t *xf = handle;
    curl_multi_remove_handle(l->multi, xf->easy);
    msb__curl_release(xf);
    unlink_active(l, xf);
    recycle(l, xf);
}

/* ---- the transport -------------------------------------------------------------------------- */

msb_status_t msb__curl_loop_new(struct event_base *base, const msb__client_pool_t *pool, void **out,
                                msb_error_t *err)
{
    loop_t *l = msb__calloc(1, sizeof(*l));
    if (l == NULL) {
        return msb__err_nomem(err, "a client loop");
    }
    l->base = base;
    l->pool = *pool;
    l->multi = curl_multi_init();
    l->timer = evtimer_new(base, on_timer, l);
    l->reaper = evtimer_new(base, on_reaper, l);
    if (l->multi == NULL || l->timer == NULL || l->reaper == NULL) {
        msb__curl_loop_free(l);
        return msb__err_nomem(err, "a curl multi handle");
    }
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
    curl_multi_setopt(l->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)pool->max_connections);
    curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)pool->max_host_connections);
    curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, (long)pool->max_idle);
    *out = l;
    return MSB_OK;
}

void msb__curl_loop_free(void *loop)
{
    loop_t *l = loop;
    if (l == NULL) {
        return;
    }
    while (l->active != NULL) {
        msb__curl_loop_cancel(l, l->active);
    }
    if (l->multi != NULL) {
        curl_multi_cleanup(l->multi); /* closes the pooled connections (REMOVE callbacks) */
    }
    while (l->socks != NULL) {
        sock_free(l, l->socks);
    }
    while (l->cache != NULL) {
        msb__curl_xfer_t *xf = l->cache;
        l->cache = xf->next;
        curl_easy_cleanup(xf->easy);
        msb__free(xf);
    }
    if (l->timer != NULL) {
        event_free(l->timer);
    }
    if (l->reaper != NULL) {
        event_free(l->reaper);
    }
    msb__free(l);
}
