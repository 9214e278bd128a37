/*
 * Internal conventions shared by every file of libmsb (never installed).
 *
 * MSB_INTERNAL marks msb__ functions shared across files. They are visible outside libmsb.so only
 * so that the backend plugins (libmsb-<backend>.so, loaded on demand) and the unit tests can call
 * them; they are not part of the API and may change in any release.
 */
#ifndef MSB_CORE_COMMON_H
#define MSB_CORE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/core.h"
#include "msb/error.h"

#define MSB_INTERNAL __attribute__((visibility("default")))

#define MSB_LIKELY(x)    __builtin_expect(!!(x), 1)
#define MSB_UNLIKELY(x)  __builtin_expect(!!(x), 0)
#define MSB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MSB_UNUSED(x)    ((void)(x))
#define MSB_CACHELINE    64

/* Container-of: from a pointer to a member back to its struct. */
#define MSB_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/*
 * Versioned option structs: `size` is the caller's sizeof. A field is read only when it lies
 * wholly inside the caller's struct; otherwise its default applies.
 */
#define MSB_OPT_HAS(opts, field)                                                                   \
    ((opts) != NULL && (opts)->size >= offsetof(__typeof__(*(opts)), field) + sizeof((opts)->field))

#endif /* MSB_CORE_COMMON_H */
