/*
 * A bump allocator for request-scoped memory (h2o's per-request pool): one inline block per
 * connection, reused by every request; larger needs get extra blocks freed at reset. A request
 * that needs nothing beyond the inline block costs no malloc at all.
 */
#ifndef MSB_HTTP_ARENA_H
#define MSB_HTTP_ARENA_H

#include "core/common.h"

typedef struct msb__arena_block msb__arena_block_t;

typedef struct msb__arena {
    char *inl; /* inline block (owned by whoever embeds the arena) */
    size_t inl_cap;
    size_t inl_used;
    msb__arena_block_t *blocks;
} msb__arena_t;

MSB_INTERNAL void msb__arena_init(msb__arena_t *a, char *inl, size_t cap);
/* size bytes aligned to 16; NULL when out of memory. */
MSB_INTERNAL void *msb__arena_alloc(msb__arena_t *a, size_t size);
MSB_INTERNAL void *msb__arena_calloc(msb__arena_t *a, size_t size);
MSB_INTERNAL char *msb__arena_strndup(msb__arena_t *a, const char *s, size_t n);
/* Forget every allocation; extra blocks are freed. */
MSB_INTERNAL void msb__arena_reset(msb__arena_t *a);

#endif
