/* Route lookup: depth-first, literal > parameter > wildcard at each segment (router.h). */
#include <string.h>

#include "http/router_internal.h"

typedef struct walk {
    const msb__http_seg_t *segs;
    size_t nsegs;
    int method;
    bool collect; /* second pass of a 405: visit every match, OR their methods */
    uint32_t depth;
    uint32_t stack[MSB__HTTP_MAX_PARAMS];
    msb__http_match_t *m;
} walk_t;

static const msb__http_rnode_t *lit_child(const msb__http_rnode_t *n, const msb__http_seg_t *g)
{
    if (n->hmask == 0) {
        for (uint32_t i = 0; i < n->nkids; i++) {
            const msb__http_rnode_t *c = n->kids[i];
            if (c->lit_len == g->len && memcmp(c->lit, g->s, g->len) == 0) {
                return c;
            }
        }
        return NULL;
    }
    uint32_t h = msb__rnode_hash(g->s, g->len) & n->hmask;
    while (n->htab[h] != NULL) {
        const msb__http_rnode_t *c = n->htab[h];
        if (c->lit_len == g->len && memcmp(c->lit, g->s, g->len) == 0) {
            return c;
        }
        h = (h + 1) & n->hmask;
    }
    return NULL;
}

/* An endpoint reached: record it, and stop when it has a route for the method. */
static bool endpoint(walk_t *w, const msb__http_rnode_t *n)
{
    if (n->mask == 0) {
        return false;
    }
    msb__http_match_t *m = w->m;
    if (w->collect) {
        m->allow |= n->mask;
        return false;
    }
    if (m->node == NULL) {
        m->node = n;
    }
    if (w->method < 0) {
        return false;
    }
    const msb__http_route_t *rt = n->routes[w->method];
    if (rt == NULL && w->method == MSB__M_HEAD && n->routes[MSB__M_GET] != NULL) {
        rt = n->routes[MSB__M_GET];
        m->head_via_get = true;
    }
    if (rt == NULL) {
        return false;
    }
    m->route = rt;
    m->allow = n->mask;
    memcpy(m->seg, w->stack, w->depth * sizeof(w->stack[0]));
    return true;
}

static bool visit(walk_t *w, const msb__http_rnode_t *n, size_t i)
{
    if (i == w->nsegs) {
        return endpoint(w, n);
    }
    const msb__http_seg_t *g = &w->segs[i];
    const msb__http_rnode_t *c = lit_child(n, g);
    if (c != NULL && visit(w, c, i + 1)) {
        return true;
    }
    if (n->param != NULL && g->len > 0 && w->depth < MSB__HTTP_MAX_PARAMS) {
        w->stack[w->depth++] = (uint32_t)i;
        bool found = visit(w, n->param, i + 1);
        w->depth--;
        if (found) {
            return true;
        }
    }
    if (n->tail != NULL && w->depth < MSB__HTTP_MAX_PARAMS) {
        w->stack[w->depth++] = (uint32_t)i;
        bool found = endpoint(w, n->tail);
        w->depth--;
        if (found) {
            return true;
        }
    }
    return false;
}

void msb__http_router_match(const msb__http_router_t *r, const msb__http_seg_t *segs, size_t nsegs,
                            int method, msb__http_match_t *m)
{
    memset(m, 0, offsetof(msb__http_match_t, seg));
    walk_t w = {.segs = segs, .nsegs = nsegs, .method = method, .m = m};
    if (visit(&w, r->root, 0)) {
        return;
    }
    if (m->node != NULL) {
        w.collect = true;
        w.depth = 0;
        visit(&w, r->root, 0);
    }
}
