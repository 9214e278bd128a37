/* Versioned structs (first member `size_t size`): copy only what both sides have. */
#ifndef MSB_BREAKER_VERSIONED_H
#define MSB_BREAKER_VERSIONED_H

#include <string.h>

#include "core/common.h"

/*
 * Copy the fields after `size` from src (src_size bytes long) into dst (dst_size bytes long),
 * as far as both reach; dst's other fields keep their values. Used to read a caller's option
 * struct over the defaults, and to fill a caller's statistics struct.
 */
static inline void msb__versioned_copy(void *dst, size_t dst_size, const void *src, size_t src_size)
{
    size_t n = src_size < dst_size ? src_size : dst_size;
    if (n > sizeof(size_t)) {
        memcpy((char *)dst + sizeof(size_t), (const char *)src + sizeof(size_t),
               n - sizeof(size_t));
    }
}

#endif
