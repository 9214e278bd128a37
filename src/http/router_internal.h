/* Shared by router.c (building) and router_match.c (lookups). */
#ifndef MSB_HTTP_ROUTER_INTERNAL_H
#define MSB_HTTP_ROUTER_INTERNAL_H

#include "http/router.h"

/* Up to this many literal children are compared in a row; beyond, a hash table is built. */
#define MSB__RNODE_LINEAR 8

struct msb__http_rnode {
    char *lit; /* the literal segment of this node (decoded text) */
    uint32_t lit_len;
    uint32_t nkids;
    uint32_t kids_cap;
    uint32_t hmask; /* hash table size - 1, 0 when there is no table */
    msb__http_rnode_t **kids;
    msb__http_rnode_t **htab;
    msb__http_rnode_t *param;   /* "{x}" child */
    msb__http_rnode_t *tail;    /* "{x...}" child: an endpoint */
    msb__http_route_t **routes; /* MSB__M_MAX slots, allocated with the first route */
    uint32_t mask;              /* methods with a route here */
    void *group;                /* group of the first route added here */
};

struct msb__http_router {
    msb__http_rnode_t *root;
    char *methods[MSB__M_MAX];
    int nmethods;
    uint32_t all; /* every method some route answers */
};

/* Index of a method, adding it to the router's table when it is new. */
MSB_INTERNAL msb_status_t msb__http_router_method_add(msb__http_router_t *r, const char *method,
                                                      int *out, msb_error_t *err);

/* FNV-1a: the table holds only route literals, so attacker-chosen lookups cannot flood it. */
static inline uint32_t msb__rnode_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    }
    return h;
}

#endif
