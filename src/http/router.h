/*
 * The router: a tree of path segments (docs/http.md, "Router").
 *
 * Patterns are "/"-separated segments: a literal ("users"), a parameter ("{id}": one non-empty
 * segment) or, last, a wildcard tail ("{path...}": the rest of the path, slashes included,
 * possibly empty). At every node a literal child is tried first, then the parameter child, then
 * the wildcard tail, backtracking when a deeper level fails; so precedence is static > param >
 * wildcard segment by segment, and the most specific route wins whatever the order in which the
 * routes were added. Literal children are found by a hash table once a node has more than a few,
 * so a lookup costs one probe per segment whatever the number of routes.
 *
 * The method takes part in the match: "POST /a/b" with routes "GET /a/b" and "POST /a/{x}"
 * selects the second. When the path matches but no route has the method, the lookup reports the
 * union of the methods that would have matched (the Allow of a 405). HEAD falls back to GET.
 *
 * A router is built on one thread and then only read: lookups are safe from any number of threads
 * at once.
 */
#ifndef MSB_HTTP_ROUTER_H
#define MSB_HTTP_ROUTER_H

#include "http/path.h"

/* Methods are small integers: the standard ones first, then those routes add, up to 32. */
enum {
    MSB__M_GET = 0,
    MSB__M_HEAD,
    MSB__M_POST,
    MSB__M_PUT,
    MSB__M_DELETE,
    MSB__M_PATCH,
    MSB__M_OPTIONS,
    MSB__M_TRACE,
    MSB__M_CONNECT,
    MSB__M_STANDARD, /* first index for other methods */
    MSB__M_MAX = 32
};

#define MSB__HTTP_MAX_PARAMS 16

typedef struct msb__http_router msb__http_router_t;
typedef struct msb__http_rnode msb__http_rnode_t;

typedef struct msb__http_route {
    void *handler; /* opaque to the router */
    void *user;
    void *group;
    char *pattern; /* as given, NUL-terminated */
    char **param_names;
    uint32_t nparams; /* the tail, if any, is the last parameter */
    bool has_tail;
    int method;
} msb__http_route_t;

typedef struct msb__http_match {
    const msb__http_route_t *route; /* NULL: no route for this path and method */
    const msb__http_rnode_t *node;  /* the first node whose path matched (NULL: 404) */
    bool head_via_get;              /* HEAD answered by the GET route */
    uint32_t allow; /* methods of the matched node; without a route, of every matching node */
    uint32_t seg[MSB__HTTP_MAX_PARAMS]; /* segment index of each parameter (tail: its first) */
} msb__http_match_t;

MSB_INTERNAL msb_status_t msb__http_router_new(msb__http_router_t **out);
MSB_INTERNAL void msb__http_router_free(msb__http_router_t *r);

/* Method index of name[0..n), or -1 when no route uses it and it is not a standard method. */
MSB_INTERNAL int msb__http_router_method(const msb__http_router_t *r, const char *name, size_t n);
/* Name of a method index. */
MSB_INTERNAL const char *msb__http_router_method_name(const msb__http_router_t *r, int m);
/* Bitmask of every method some route answers (HEAD and OPTIONS included). */
MSB_INTERNAL uint32_t msb__http_router_all_methods(const msb__http_router_t *r);

/*
 * Add a route. The pattern is validated (MSB_EINVAL naming the problem); the same method and
 * pattern shape twice is MSB_EEXIST. On success *out points to the router's copy.
 */
MSB_INTERNAL msb_status_t msb__http_router_add(msb__http_router_t *r, const char *method,
                                               const char *pattern, void *handler, void *user,
                                               void *group, const msb__http_route_t **out,
                                               msb_error_t *err);

/* Find the route for decoded segments and a method index (-1: a method no route has). */
MSB_INTERNAL void msb__http_router_match(const msb__http_router_t *r, const msb__http_seg_t *segs,
                                         size_t nsegs, int method, msb__http_match_t *m);

/* The group of the first route added at a node (for 405 and automatic OPTIONS). */
MSB_INTERNAL void *msb__http_rnode_group(const msb__http_rnode_t *n);

/* "GET, HEAD, OPTIONS" for a mask, into buf; returns the length (truncated to size - 1). */
MSB_INTERNAL size_t msb__http_router_allow(const msb__http_router_t *r, uint32_t mask, char *buf,
                                           size_t size);

#endif
