/* Route groups: prefixes, their middleware chains and limits, and route registration. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "http/internal.h"

MSB_INTERNAL msb_status_t msb__http_group_root_new(msb_http_server_t *srv, msb_error_t *err);

static msb_http_group_t *group_alloc(msb_http_server_t *srv, msb_http_group_t *parent,
                                     const char *prefix, size_t n)
{
    msb_http_group_t *g = msb__calloc(1, sizeof(*g));
    if (g == NULL) {
        return NULL;
    }
    size_t plen = parent != NULL ? parent->prefix_len : 0;
    g->prefix = msb__malloc(plen + n + 1);
    if (g->prefix == NULL) {
        msb__free(g);
        return NULL;
    }
    if (plen > 0) {
        memcpy(g->prefix, parent->prefix, plen);
    }
    memcpy(g->prefix + plen, prefix, n);
    g->prefix[plen + n] = '\0';
    g->prefix_len = plen + n;
    g->srv = srv;
    g->parent = parent;
    g->opts = (msb_http_group_opts_t)MSB_HTTP_GROUP_OPTS_INIT;
    return g;
}

msb_status_t msb__http_group_root_new(msb_http_server_t *srv, msb_error_t *err)
{
    srv->root = group_alloc(srv, NULL, "", 0);
    if (srv->root == NULL) {
        return msb__err_nomem(err, "the root route group");
    }
    if (srv->o.default_middleware) {
        msb_http_mw_t *rid;
        msb_status_t rc = msb_http_mw_request_id_new(NULL, &rid, err);
        if (rc != MSB_OK) {
            return rc;
        }
        rc = msb_http_group_use(srv->root, rid, err);
        msb_http_mw_free(rid);
        return rc;
    }
    return MSB_OK;
}

static msb_status_t check_prefix(const char *prefix, msb_error_t *err)
{
    size_t n = strlen(prefix);
    if (n < 2 || prefix[0] != '/' || prefix[n - 1] == '/') {
        return msb__err(err, MSB_EINVAL,
                        "http group: prefix \"%s\" must start with '/' and not end with it",
                        prefix);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)prefix[i];
        if (c <= 0x20 || c == 0x7f || c == '{' || c == '}' || c == '%' || c == '?' || c == '#' ||
            (c == '/' && prefix[i + 1] == '/')) {
            return msb__err(err, MSB_EINVAL, "http group: prefix \"%s\" must be literal segments",
                            prefix);
        }
    }
    return MSB_OK;
}

msb_status_t msb_http_group_new(msb_http_group_t *parent, const char *prefix,
                                const msb_http_group_opts_t *opts, msb_http_group_t **out,
                                msb_error_t *err)
{
    if (parent == NULL || prefix == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "http group: NULL argument");
    }
    if (parent->srv->started) {
        return msb__err(err, MSB_EBUSY, "http group: the server was started");
    }
    msb_status_t rc = check_prefix(prefix, err);
    if (rc != MSB_OK) {
        return rc;
    }
    msb_http_group_opts_t o = MSB_HTTP_GROUP_OPTS_INIT;
    if (opts != NULL) {
        o.max_body_bytes = MSB_OPT_HAS(opts, max_body_bytes) ? opts->max_body_bytes : 0;
        o.handler_timeout_ms = MSB_OPT_HAS(opts, handler_timeout_ms) ? opts->handler_timeout_ms : 0;
        o.timeout_status = MSB_OPT_HAS(opts, timeout_status) ? opts->timeout_status : 0;
        o.json_max_depth = MSB_OPT_HAS(opts, json_max_depth) ? opts->json_max_depth : 0;
    }
    if (o.timeout_status != 0 && o.timeout_status != 503 && o.timeout_status != 504) {
        return msb__err(err, MSB_EINVAL, "http group %s: timeout_status %d is neither 503 nor 504",
                        prefix, o.timeout_status);
    }
    if (o.max_body_bytes > (UINT64_C(1) << 40)) {
        return msb__err(err, MSB_EINVAL, "http group %s: max_body_bytes over 1 TiB", prefix);
    }
    msb_http_group_t *g = group_alloc(parent->srv, parent, prefix, strlen(prefix));
    if (g == NULL) {
        return msb__err_nomem(err, "a route group");
    }
    g->opts = o;
    msb_http_group_t *root = parent->srv->root;
    g->next = root->next;
    root->next = g;
    *out = g;
    return MSB_OK;
}

msb_status_t msb_http_group_use(msb_http_group_t *group, msb_http_mw_t *mw, msb_error_t *err)
{
    if (group == NULL || mw == NULL) {
        return msb__err(err, MSB_EINVAL, "http group: NULL middleware");
    }
    if (group->srv->started) {
        return msb__err(err, MSB_EBUSY, "http group: the server was started");
    }
    size_t depth = group->nown;
    for (const msb_http_group_t *p = group->parent; p != NULL; p = p->parent) {
        depth += p->nown;
    }
    if (depth >= MSB__HTTP_MAX_CHAIN) {
        return msb__err(err, MSB_ELIMIT, "http group: more than %d middleware in a chain",
                        MSB__HTTP_MAX_CHAIN);
    }
    atomic_fetch_add(&mw->refs, 1);
    group->own[group->nown++] = mw;
    return MSB_OK;
}

msb_status_t msb_http_route(msb_http_group_t *group, const char *method, const char *pattern,
                            msb_http_handler_fn handler, void *user, msb_error_t *err)
{
    if (group == NULL || method == NULL || pattern == NULL || handler == NULL) {
        return msb__err(err, MSB_EINVAL, "http route: NULL argument");
    }
    if (group->srv->started) {
        return msb__err(err, MSB_EBUSY, "http route: the server was started");
    }
    size_t plen = group->prefix_len;
    size_t n = strlen(pattern);
    char *full = msb__malloc(plen + n + 1);
    if (full == NULL) {
        return msb__err_nomem(err, "a route pattern");
    }
    memcpy(full, group->prefix, plen);
    memcpy(full + plen, pattern, n + 1);
    const msb__http_route_t *rt;
    msb_status_t rc = msb__http_router_add(group->srv->router, method, full, (void *)handler, user,
                                           group, &rt, err);
    msb__free(full);
    return rc;
}

static void resolve(msb_http_group_t *g, const msb_http_server_opts_t *so)
{
    const msb_http_group_t *p = g->parent;
    g->nchain = 0;
    if (p != NULL) {
        memcpy(g->chain, p->chain, p->nchain * sizeof(msb_http_mw_t *));
        g->nchain = p->nchain;
    }
    memcpy(g->chain + g->nchain, g->own, g->nown * sizeof(msb_http_mw_t *));
    g->nchain += g->nown;
    size_t off = 0;
    for (size_t i = 0; i < g->nchain; i++) {
        g->state_off[i] = (uint32_t)off;
        off += (g->chain[i]->ops.state_size + 15) & ~(size_t)15;
    }
    g->state_size = off;
    const msb_http_group_opts_t *o = &g->opts;
    g->max_body = o->max_body_bytes ? o->max_body_bytes : p ? p->max_body : so->max_body_bytes;
    g->handler_timeout_ms = o->handler_timeout_ms ? o->handler_timeout_ms
                            : p                   ? p->handler_timeout_ms
                                                  : so->handler_timeout_ms;
    g->timeout_status = o->timeout_status ? o->timeout_status
                        : p               ? p->timeout_status
                                          : so->timeout_status;
    g->json_max_depth = o->json_max_depth ? o->json_max_depth : p ? p->json_max_depth : 64;
}

static void resolve_tree(msb_http_server_t *srv, msb_http_group_t *g)
{
    resolve(g, &srv->o);
    for (msb_http_group_t *c = srv->root->next; c != NULL; c = c->next) {
        if (c->parent == g) {
            resolve_tree(srv, c);
        }
    }
}

msb_status_t msb__http_groups_resolve(msb_http_server_t *srv, msb_error_t *err)
{
    MSB_UNUSED(err);
    resolve_tree(srv, srv->root);
    return MSB_OK;
}

void msb__http_groups_free(msb_http_server_t *srv)
{
    msb_http_group_t *g = srv->root;
    while (g != NULL) {
        msb_http_group_t *next = g->next;
        for (size_t i = 0; i < g->nown; i++) {
            msb_http_mw_free(g->own[i]);
        }
        msb__free(g->prefix);
        msb__free(g);
        g = next;
    }
    srv->root = NULL;
}

msb_http_group_t *msb__http_group_for_path(msb_http_server_t *srv, const char *path, size_t len)
{
    msb_http_group_t *best = srv->root;
    for (msb_http_group_t *g = srv->root->next; g != NULL; g = g->next) {
        size_t n = g->prefix_len;
        if (n > best->prefix_len && n <= len && memcmp(path, g->prefix, n) == 0 &&
            (n == len || path[n] == '/')) {
            best = g;
        }
    }
    return best;
}
