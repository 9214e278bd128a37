#include <string.h>

#include "core/alloc.h"
#include "http/arena.h"

struct msb__arena_block {
    msb__arena_block_t *next;
    size_t cap;
    size_t used;
    _Alignas(16) char data[];
};

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)
#define BLOCK_SIZE 8192

void msb__arena_init(msb__arena_t *a, char *inl, size_t cap)
{
    a->inl = inl;
    a->inl_cap = cap;
    a->inl_used = 0;
    a->blocks = NULL;
}

void *msb__arena_alloc(msb__arena_t *a, size_t size)
{
    if (size > SIZE_MAX / 2) {
        return NULL;
    }
    size = ALIGN16(size == 0 ? 1 : size);
    if (a->inl_cap - a->inl_used >= size) {
        void *p = a->inl + a->inl_used;
        a->inl_used += size;
        return p;
    }
    msb__arena_block_t *b = a->blocks;
    if (b != NULL && b->cap - b->used >= size) {
        void *p = b->data + b->used;
        b->used += size;
        return p;
    }
    size_t cap = size > BLOCK_SIZE / 2 ? size : BLOCK_SIZE;
    b = msb__malloc(sizeof(*b) + cap);
    if (b == NULL) {
        return NULL;
    }
    b->cap = cap;
    b->used = size;
    if (size > BLOCK_SIZE / 2 && a->blocks != NULL) {
        /* a big one-off: keep the current block first so its free space stays usable */
        b->next = a->blocks->next;
        a->blocks->next = b;
    } else {
        b->next = a->blocks;
        a->blocks = b;
    }
    return b->data;
}

void *msb__arena_calloc(msb__arena_t *a, size_t size)
{
    void *p = msb__arena_alloc(a, size);
    if (p != NULL) {
        memset(p, 0, size);
    }
    return p;
}

char *msb__arena_strndup(msb__arena_t *a, const char *s, size_t n)
{
    char *p = msb__arena_alloc(a, n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void msb__arena_reset(msb__arena_t *a)
{
    a->inl_used = 0;
    msb__arena_block_t *b = a->blocks;
    while (b != NULL) {
        msb__arena_block_t *next = b->next;
        msb__free(b);
        b = next;
    }
    a->blocks = NULL;
}
