/* Building the route tree: pattern syntax, methods, nodes. Lookups are in router_match.c. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "http/chars.h"
#include "http/router_internal.h"

static const char *const standard_methods[MSB__M_STANDARD] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"};

msb_status_t msb__http_router_new(msb__http_router_t **out)
{
    msb__http_router_t *r = msb__calloc(1, sizeof(*r));
    if (r == NULL) {
        return MSB_ENOMEM;
    }
    r->root = msb__calloc(1, sizeof(*r->root));
    if (r->root == NULL) {
        msb__free(r);
        return MSB_ENOMEM;
    }
    for (int i = 0; i < MSB__M_STANDARD; i++) {
        r->methods[i] = (char *)standard_methods[i];
    }
    r->nmethods = MSB__M_STANDARD;
    *out = r;
    return MSB_OK;
}

static void route_free(msb__http_route_t *rt)
{
    if (rt == NULL) {
        return;
    }
    for (uint32_t i = 0; rt->param_names != NULL && i < rt->nparams; i++) {
        msb__free(rt->param_names[i]);
    }
    msb__free(rt->param_names);
    msb__free(rt->pattern);
    msb__free(rt);
}

static void node_free(msb__http_rnode_t *n)
{
    if (n == NULL) {
        return;
    }
    for (uint32_t i = 0; i < n->nkids; i++) {
        node_free(n->kids[i]);
    }
    node_free(n->param);
    node_free(n->tail);
    if (n->routes != NULL) {
        for (int m = 0; m < MSB__M_MAX; m++) {
            route_free(n->routes[m]);
        }
    }
    msb__free(n->routes);
    msb__free(n->kids);
    msb__free(n->htab);
    msb__free(n->lit);
    msb__free(n);
}

void msb__http_router_free(msb__http_router_t *r)
{
    if (r == NULL) {
        return;
    }
    node_free(r->root);
    for (int i = MSB__M_STANDARD; i < r->nmethods; i++) {
        msb__free(r->methods[i]);
    }
    msb__free(r);
}

int msb__http_router_method(const msb__http_router_t *r, const char *name, size_t n)
{
    switch (n) {
    case 3:
        if (memcmp(name, "GET", 3) == 0) {
            return MSB__M_GET;
        }
        if (memcmp(name, "PUT", 3) == 0) {
            return MSB__M_PUT;
        }
        break;
    case 4:
        if (memcmp(name, "POST", 4) == 0) {
            return MSB__M_POST;
        }
        if (memcmp(name, "HEAD", 4) == 0) {
            return MSB__M_HEAD;
        }
        break;
    default:
        break;
    }
    for (int i = 0; i < r->nmethods; i++) {
        if (strlen(r->methods[i]) == n && memcmp(r->methods[i], name, n) == 0) {
            return i;
        }
    }
    return -1;
}

const char *msb__http_router_method_name(const msb__http_router_t *r, int m)
{
    return m >= 0 && m < r->nmethods ? r->methods[m] : "";
}

uint32_t msb__http_router_all_methods(const msb__http_router_t *r)
{
    return r->all;
}

void *msb__http_rnode_group(const msb__http_rnode_t *n)
{
    return n->group;
}

size_t msb__http_router_allow(const msb__http_router_t *r, uint32_t mask, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int m = 0; m < r->nmethods && size > 0; m++) {
        if (!(mask & (1u << m))) {
            continue;
        }
        const char *name = r->methods[m];
        size_t n = strlen(name);
        if (len + n + 3 > size) {
            break;
        }
        if (len > 0) {
            memcpy(buf + len, ", ", 2);
            len += 2;
        }
        memcpy(buf + len, name, n);
        len += n;
        buf[len] = '\0';
    }
    return len;
}

msb_status_t msb__http_router_method_add(msb__http_router_t *r, const char *method, int *out,
                                         msb_error_t *err)
{
    size_t n = strlen(method);
    if (n == 0 || n > 32) {
        return msb__err(err, MSB_EINVAL, "http route: method \"%s\" is not a token of 1-32 chars",
                        method);
    }
    for (size_t i = 0; i < n; i++) {
        if (!msb__is_tchar((unsigned char)method[i])) {
            return msb__err(err, MSB_EINVAL, "http route: method \"%s\" is not a token", method);
        }
    }
    int m = msb__http_router_method(r, method, n);
    if (m < 0) {
        if (r->nmethods == MSB__M_MAX) {
            return msb__err(err, MSB_ELIMIT, "http route: more than %d distinct methods",
                            MSB__M_MAX);
        }
        r->methods[r->nmethods] = msb__strdup(method);
        if (r->methods[r->nmethods] == NULL) {
            return msb__err_nomem(err, "a method name");
        }
        m = r->nmethods++;
    }
    if (m == MSB__M_CONNECT) {
        return msb__err(err, MSB_ENOTSUP, "http route: CONNECT targets are not paths");
    }
    *out = m;
    return MSB_OK;
}
