/* libmsb's own allocations, all routed through the hook of msb_set_allocator(). */
#ifndef MSB_CORE_ALLOC_H
#define MSB_CORE_ALLOC_H

#include "core/common.h"

MSB_INTERNAL void *msb__malloc(size_t size);
/* Zeroed allocation of n * size bytes; NULL on overflow or exhaustion. */
MSB_INTERNAL void *msb__calloc(size_t n, size_t size);
/* Like realloc; size 0 frees and returns NULL. */
MSB_INTERNAL void *msb__realloc(void *ptr, size_t size);
MSB_INTERNAL void msb__free(void *ptr);
MSB_INTERNAL char *msb__strdup(const char *s);
MSB_INTERNAL char *msb__strndup(const char *s, size_t n);
/* Copy of n bytes, not NUL-terminated; NULL when n is 0 and nothing needed allocating. */
MSB_INTERNAL void *msb__memdup(const void *p, size_t n);

#endif
