#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

static void *default_malloc(size_t size, void *user)
{
    MSB_UNUSED(user);
    return malloc(size);
}

static void *default_realloc(void *ptr, size_t size, void *user)
{
    MSB_UNUSED(user);
    return realloc(ptr, size);
}

static void default_free(void *ptr, void *user)
{
    MSB_UNUSED(user);
    free(ptr);
}

static msb_allocator_t allocator = {default_malloc, default_realloc, default_free, NULL};

msb_status_t msb_set_allocator(const msb_allocator_t *alloc)
{
    if (alloc == NULL) {
        allocator = (msb_allocator_t){default_malloc, default_realloc, default_free, NULL};
        return MSB_OK;
    }
    if (alloc->malloc == NULL || alloc->realloc == NULL || alloc->free == NULL) {
        return MSB_EINVAL;
    }
    allocator = *alloc;
    return MSB_OK;
}

void *msb__malloc(size_t size)
{
    return allocator.malloc(size == 0 ? 1 : size, allocator.user);
}

void *msb__calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    void *p = msb__malloc(n * size);
    if (p != NULL) {
        memset(p, 0, n * size);
    }
    return p;
}

void *msb__realloc(void *ptr, size_t size)
{
    if (size == 0) {
        msb__free(ptr);
        return NULL;
    }
    return allocator.realloc(ptr, size, allocator.user);
}

void msb__free(void *ptr)
{
    if (ptr != NULL) {
        allocator.free(ptr, allocator.user);
    }
}

void *msb__memdup(const void *p, size_t n)
{
    void *copy = msb__malloc(n);
    if (copy != NULL && n > 0) {
        memcpy(copy, p, n);
    }
    return copy;
}

char *msb__strndup(const char *s, size_t n)
{
    char *copy = msb__malloc(n + 1);
    if (copy == NULL) {
        return NULL;
    }
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *msb__strdup(const char *s)
{
    return msb__strndup(s, strlen(s));
}
