/* Adding a route: the pattern syntax (router.h) and the insertion into the tree. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "http/router_internal.h"

enum { SEG_LIT = 0, SEG_PARAM, SEG_TAIL };

typedef struct pseg {
    const char *s; /* literal text or parameter name */
    size_t len;
    int kind;
} pseg_t;

static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

static bool valid_literal(const char *s, size_t n)
{
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '{' || c == '}' || c == '%' || c == '?' || c == '#') {
            return false;
        }
    }
    return true;
}

static msb_status_t parse_segment(const char *pattern, const char *s, size_t n, bool last,
                                  pseg_t *g, msb_error_t *err)
{
    g->s = s;
    g->len = n;
    g->kind = SEG_LIT;
    if (n > 0 && s[0] == '{') {
        if (s[n - 1] != '}') {
            return msb__err(err, MSB_EINVAL,
                            "http route \"%s\": a parameter must be a whole segment {name}",
                            pattern);
        }
        g->s = s + 1;
        g->len = n - 2;
        g->kind = SEG_PARAM;
        if (g->len > 3 && memcmp(g->s + g->len - 3, "...", 3) == 0) {
            g->len -= 3;
            g->kind = SEG_TAIL;
            if (!last) {
                return msb__err(err, MSB_EINVAL,
                                "http route \"%s\": a wildcard {name...} must be the last segment",
                                pattern);
            }
        }
        if (!valid_name(g->s, g->len)) {
            return msb__err(err, MSB_EINVAL,
                            "http route \"%s\": parameter names are [A-Za-z_][A-Za-z0-9_]*",
                            pattern);
        }
        return MSB_OK;
    }
    if ((n == 0 && !last) || !valid_literal(s, n)) {
        return msb__err(err, MSB_EINVAL,
                        "http route \"%s\": invalid literal segment (empty, dot segment, or one "
                        "of { } %% ? # or a control character)",
                        pattern);
    }
    g->s = s;
    g->len = n;
    g->kind = SEG_LIT;
    return MSB_OK;
}

static msb_status_t parse_pattern(const char *pattern, pseg_t *segs, size_t *nsegs, size_t *nparams,
                                  msb_error_t *err)
{
    size_t n = strlen(pattern);
    if (n == 0 || pattern[0] != '/') {
        return msb__err(err, MSB_EINVAL, "http route \"%s\": a pattern starts with '/'", pattern);
    }
    size_t k = 0;
    size_t np = 0;
    size_t i = 1;
    for (;;) {
        size_t start = i;
        while (i < n && pattern[i] != '/') {
            i++;
        }
        if (k == MSB__HTTP_MAX_SEGMENTS) {
            return msb__err(err, MSB_EINVAL, "http route \"%s\": too many segments", pattern);
        }
        msb_status_t rc = parse_segment(pattern, pattern + start, i - start, i >= n, &segs[k], err);
        if (rc != MSB_OK) {
            return rc;
        }
        if (segs[k].kind != SEG_LIT) {
            for (size_t j = 0; j < k; j++) {
                if (segs[j].kind != SEG_LIT && segs[j].len == segs[k].len &&
                    memcmp(segs[j].s, segs[k].s, segs[k].len) == 0) {
                    return msb__err(err, MSB_EINVAL,
                                    "http route \"%s\": parameter {%.*s} appears twice", pattern,
                                    (int)segs[k].len, segs[k].s);
                }
            }
            if (++np > MSB__HTTP_MAX_PARAMS) {
                return msb__err(err, MSB_EINVAL, "http route \"%s\": more than %d parameters",
                                pattern, MSB__HTTP_MAX_PARAMS);
            }
        }
        k++;
        if (i >= n) {
            break;
        }
        i++;
    }
    *nsegs = k;
    *nparams = np;
    return MSB_OK;
}

static msb__http_rnode_t *find_lit(const msb__http_rnode_t *n, const char *s, size_t len)
{
    for (uint32_t i = 0; i < n->nkids; i++) {
        const msb__http_rnode_t *c = n->kids[i];
        if (c->lit_len == len && memcmp(c->lit, s, len) == 0) {
            return n->kids[i];
        }
    }
    return NULL;
}

static msb_status_t rehash(msb__http_rnode_t *n)
{
    if (n->nkids <= MSB__RNODE_LINEAR) {
        return MSB_OK;
    }
    uint32_t size = 16;
    while (size < n->nkids * 2) {
        size *= 2;
    }
    msb__http_rnode_t **t = msb__calloc(size, sizeof(msb__http_rnode_t *));
    if (t == NULL) {
        return MSB_ENOMEM;
    }
    for (uint32_t i = 0; i < n->nkids; i++) {
        uint32_t h = msb__rnode_hash(n->kids[i]->lit, n->kids[i]->lit_len) & (size - 1);
        while (t[h] != NULL) {
            h = (h + 1) & (size - 1);
        }
        t[h] = n->kids[i];
    }
    msb__free(n->htab);
    n->htab = t;
    n->hmask = size - 1;
    return MSB_OK;
}

static msb__http_rnode_t *add_lit(msb__http_rnode_t *n, const char *s, size_t len)
{
    msb__http_rnode_t *c = find_lit(n, s, len);
    if (c != NULL) {
        return c;
    }
    if (n->nkids == n->kids_cap) {
        uint32_t cap = n->kids_cap ? n->kids_cap * 2 : 4;
        msb__http_rnode_t **k = msb__realloc(n->kids, cap * sizeof(msb__http_rnode_t *));
        if (k == NULL) {
            return NULL;
        }
        n->kids = k;
        n->kids_cap = cap;
    }
    c = msb__calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->lit = msb__strndup(s, len);
    c->lit_len = (uint32_t)len;
    if (c->lit == NULL) {
        msb__free(c);
        return NULL;
    }
    n->kids[n->nkids++] = c;
    if (rehash(n) != MSB_OK) {
        n->nkids--;
        msb__free(c->lit);
        msb__free(c);
        return NULL;
    }
    return c;
}

static msb__http_rnode_t *walk(msb__http_rnode_t *n, const pseg_t *g)
{
    if (g->kind == SEG_LIT) {
        return add_lit(n, g->s, g->len);
    }
    msb__http_rnode_t **slot = g->kind == SEG_PARAM ? &n->param : &n->tail;
    if (*slot == NULL) {
        *slot = msb__calloc(1, sizeof(**slot));
    }
    return *slot;
}

static void route_drop(msb__http_route_t *rt)
{
    for (uint32_t i = 0; rt->param_names != NULL && i < rt->nparams; i++) {
        msb__free(rt->param_names[i]);
    }
    msb__free(rt->param_names);
    msb__free(rt->pattern);
    msb__free(rt);
}

static msb__http_route_t *route_new(const char *pattern, const pseg_t *segs, size_t nsegs,
                                    size_t nparams)
{
    msb__http_route_t *rt = msb__calloc(1, sizeof(*rt));
    if (rt == NULL) {
        return NULL;
    }
    rt->pattern = msb__strdup(pattern);
    rt->param_names = msb__calloc(nparams ? nparams : 1, sizeof(char *));
    if (rt->pattern == NULL || rt->param_names == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < nsegs; i++) {
        if (segs[i].kind == SEG_LIT) {
            continue;
        }
        char *name = msb__strndup(segs[i].s, segs[i].len);
        if (name == NULL) {
            goto fail;
        }
        rt->param_names[rt->nparams++] = name;
        rt->has_tail = segs[i].kind == SEG_TAIL;
    }
    return rt;
fail:
    route_drop(rt);
    return NULL;
}

static msb_status_t attach(msb__http_router_t *r, msb__http_rnode_t *n, int m,
                           msb__http_route_t *rt, void *group, const char *method,
                           const char *pattern, msb_error_t *err)
{
    if (n->routes == NULL) {
        n->routes = msb__calloc(MSB__M_MAX, sizeof(msb__http_route_t *));
        if (n->routes == NULL) {
            return msb__err_nomem(err, "a route table");
        }
    }
    if (n->routes[m] != NULL) {
        return msb__err(err, MSB_EEXIST, "http route: %s %s conflicts with %s %s", method, pattern,
                        method, n->routes[m]->pattern);
    }
    n->routes[m] = rt;
    n->mask |= (1u << m) | (1u << MSB__M_OPTIONS);
    if (m == MSB__M_GET) {
        n->mask |= 1u << MSB__M_HEAD;
    }
    if (n->group == NULL) {
        n->group = group;
    }
    r->all |= n->mask;
    return MSB_OK;
}

msb_status_t msb__http_router_add(msb__http_router_t *r, const char *method, const char *pattern,
                                  void *handler, void *user, void *group,
                                  const msb__http_route_t **out, msb_error_t *err)
{
    pseg_t segs[MSB__HTTP_MAX_SEGMENTS];
    size_t nsegs = 0;
    size_t nparams = 0;
    int m = 0;
    msb_status_t rc = msb__http_router_method_add(r, method, &m, err);
    if (rc == MSB_OK) {
        rc = parse_pattern(pattern, segs, &nsegs, &nparams, err);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    msb__http_rnode_t *n = r->root;
    for (size_t i = 0; i < nsegs && n != NULL; i++) {
        n = walk(n, &segs[i]);
    }
    msb__http_route_t *rt = n != NULL ? route_new(pattern, segs, nsegs, nparams) : NULL;
    if (rt == NULL) {
        return msb__err_nomem(err, "a route");
    }
    rt->handler = handler;
    rt->user = user;
    rt->group = group;
    rt->method = m;
    rc = attach(r, n, m, rt, group, method, pattern, err);
    if (rc != MSB_OK) {
        route_drop(rt);
        return rc;
    }
    *out = rt;
    return MSB_OK;
}
