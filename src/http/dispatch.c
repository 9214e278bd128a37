/*
 * From a parsed head to a handler: keep-alive, routing (with the answers the server gives itself:
 * 404, 405 with Allow, automatic OPTIONS, 501), the middleware chain, the handler call, and the
 * end of a request (answered, abandoned or timed out).
 */
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "http/internal.h"
#include "http/path.h"

#define CHUNKED_ROOM 8192 /* read-buffer room after the head for chunk lines */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- answers the server gives itself ---- */

static msb_status_t allow_header(msb_http_req_t *req, uint32_t mask)
{
    char buf[512];
    size_t n = msb__http_router_allow(req->loop->srv->router, mask, buf, sizeof(buf));
    return msb__http_resp_header_copy(req, "Allow", 5, buf, n);
}

static msb_status_t h_not_found(msb_http_req_t *req, void *user)
{
    MSB_UNUSED(user);
    return msb__http_fail(req, 404, "no route matches this path");
}

static msb_status_t h_not_allowed(msb_http_req_t *req, void *user)
{
    MSB_UNUSED(user);
    allow_header(req, req->allow);
    return msb__http_fail(req, 405, "the route does not answer this method");
}

static msb_status_t h_options(msb_http_req_t *req, void *user)
{
    MSB_UNUSED(user);
    allow_header(req, req->allow);
    return msb_http_respond(req, 204, NULL, NULL, 0);
}

static msb_status_t h_not_implemented(msb_http_req_t *req, void *user)
{
    MSB_UNUSED(user);
    return msb__http_fail(req, 501, "method not implemented by this server");
}

static msb_status_t h_path_error(msb_http_req_t *req, void *user)
{
    const msb__http_perr_t *e = user;
    return msb__http_fail(req, e->status, e->detail);
}

static msb_status_t h_out_of_memory(msb_http_req_t *req, void *user)
{
    MSB_UNUSED(user);
    return msb__http_fail(req, 500, "out of memory");
}

/* ---- routing ---- */

static bool take_params(msb_http_req_t *req, const msb__http_seg_t *segs,
                        const msb__http_match_t *m, const char *path, size_t path_len)
{
    const msb__http_route_t *rt = m->route;
    for (uint32_t i = 0; i < rt->nparams; i++) {
        const msb__http_seg_t *g = &segs[m->seg[i]];
        char *v;
        if (rt->has_tail && i + 1 == rt->nparams) {
            size_t n = path_len - g->raw_off;
            v = msb__arena_alloc(&req->conn->arena, n + 1);
            if (v != NULL) {
                long d = msb__http_pct_decode(path + g->raw_off, n, v, false);
                v[d < 0 ? 0 : d] = '\0';
            }
        } else {
            v = msb__arena_strndup(&req->conn->arena, g->s, g->len);
        }
        if (v == NULL) {
            return false;
        }
        req->params[i] = v;
    }
    return true;
}

static void route_path(msb_http_req_t *req, msb_http_server_t *srv)
{
    static const char root_path[] = "/";
    const msb__http_head_t *h = &req->head;
    const char *path = h->path_len ? req->base + h->path_off : root_path;
    size_t path_len = h->path_len ? h->path_len : 1;
    msb_http_loop_t *w = req->loop;
    msb__http_seg_t *segs = w->segs;
    size_t nsegs;
    msb__http_perr_t e;
    if (!msb__http_path_split(path, path_len, segs, &nsegs, w->scratch, &e)) {
        req->group = srv->root;
        req->handler = h_path_error;
        req->handler_user = msb__arena_alloc(&req->conn->arena, sizeof(e));
        if (req->handler_user == NULL) {
            req->handler = h_out_of_memory;
        } else {
            memcpy(req->handler_user, &e, sizeof(e));
        }
        return;
    }
    msb__http_match_t m;
    msb__http_router_match(srv->router, segs, nsegs, req->method, &m);
    if (m.route != NULL) {
        req->route = m.route;
        req->allow = m.allow;
        req->group = m.route->group;
        req->handler = (msb_http_handler_fn)m.route->handler;
        req->handler_user = m.route->user;
        if (m.route->nparams > 0 && !take_params(req, segs, &m, path, path_len)) {
            req->handler = h_out_of_memory;
        }
        return;
    }
    if (m.node != NULL) {
        req->allow = m.allow;
        req->group = msb__http_rnode_group(m.node);
        req->handler = req->method == MSB__M_OPTIONS ? h_options : h_not_allowed;
        return;
    }
    req->group = msb__http_group_for_path(srv, path, path_len);
    req->handler = h_not_found;
}

static void route(msb_http_req_t *req)
{
    msb_http_server_t *srv = req->loop->srv;
    const msb__http_head_t *h = &req->head;
    req->method = msb__http_router_method(srv->router, req->base + h->method_off, h->method_len);
    req->head_only = req->method == MSB__M_HEAD;
    if (h->form == MSB__FORM_ASTERISK) {
        req->group = srv->root;
        req->handler = h_options;
        req->allow = msb__http_router_all_methods(srv->router) | (1u << MSB__M_OPTIONS);
        return;
    }
    if (req->method < 0 || h->form == MSB__FORM_AUTHORITY) {
        req->group = srv->root;
        req->handler = h_not_implemented;
        return;
    }
    route_path(req, srv);
}

static bool room_for_chunks(msb__http_conn_t *c)
{
    size_t end = (size_t)c->rpos + c->req.head.head_len;
    if (c->rcap - end >= CHUNKED_ROOM) {
        return true;
    }
    size_t cap = end + CHUNKED_ROOM;
    char *p = msb__realloc(c->rbuf, cap);
    if (p == NULL) {
        return false;
    }
    c->rbuf = p;
    c->rcap = (uint32_t)cap;
    return true;
}

void msb__http_req_begin(msb__http_conn_t *c)
{
    msb_http_req_t *req = &c->req;
    msb_http_loop_t *w = c->w;
    const msb__http_head_t *h = &req->head;
    bool room = h->framing != MSB__BODY_CHUNKED || room_for_chunks(c);
    req->base = c->rbuf + c->rpos;
    req->parsed = true;
    req->start_ns = mono_ns();
    c->next_msg = c->rpos + h->head_len; /* the body, if any is read, moves it */
    c->state = MSB__C_ACTIVE;
    msb__http_conn_arm(c, MSB__T_NONE, 0);
    c->keep_alive = h->minor == 1 ? !h->conn_close : (h->conn_keep_alive && !h->conn_close);
    if (w->draining) {
        c->keep_alive = false;
    }
    msb__http_stat_add(&w->st_inflight, 1);
    msb__http_stat_add(&w->st_total, 1);
    req->counted = true;
    route(req);
    if (!room) {
        req->handler = h_out_of_memory;
    }
    if (req->group->state_size > 0) {
        req->mw_state = msb__arena_calloc(&c->arena, req->group->state_size);
        if (req->mw_state == NULL) {
            req->group = w->srv->root;
            req->mw_next = (uint32_t)req->group->nchain; /* skip the chain: no state for it */
            req->handler = h_out_of_memory;
        }
    }
    msb__http_chain_run(req);
}

void msb__http_req_early(msb__http_conn_t *c, int status, const char *detail)
{
    msb_http_req_t *req = &c->req;
    msb_http_group_t *root = c->w->srv->root;
    req->early = true;
    req->base = c->rbuf + c->rpos;
    req->group = root;
    c->keep_alive = false;
    c->linger = true;
    c->state = MSB__C_ACTIVE;
    msb__http_conn_arm(c, MSB__T_NONE, 0);
    req->mw_state = root->state_size ? msb__arena_calloc(&c->arena, root->state_size) : NULL;
    req->mw_ran = req->mw_state != NULL || root->state_size == 0 ? (uint32_t)root->nchain : 0;
    msb__http_fail(req, status, detail);
}

void msb__http_invoke(msb_http_req_t *req)
{
    msb__http_conn_t *c = req->conn;
    const msb_http_group_t *g = req->group;
    c->state = MSB__C_ACTIVE;
    if (g->handler_timeout_ms > 0) {
        req->deadline_ns = mono_ns() + (uint64_t)g->handler_timeout_ms * 1000000u;
    }
    req->in_handler = true;
    msb_status_t rc = req->handler(req, req->handler_user);
    req->in_handler = false;
    if (c->state == MSB__C_CLOSED || req->resp != MSB__RESP_NONE) {
        return;
    }
    if (req->deferred) {
        msb__http_conn_arm(c, MSB__T_HANDLER, g->handler_timeout_ms);
        return;
    }
    if (rc != MSB_OK) {
        int status = msb__http_status_of(rc);
        msb__http_fail(req, status, status >= 500 ? msb__http_reason(status) : msb_strerror(rc));
        return;
    }
    msb__http_fail(req, 500, "the handler returned without answering");
}
