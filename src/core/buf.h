/*
 * A growable byte buffer: the one string builder of libmsb (logs, expositions, HTTP responses,
 * JSON). Appends never fail silently: the first allocation failure sets `failed`, later appends
 * do nothing, and msb__buf_status() reports MSB_ENOMEM, so a writer can append a whole record
 * and check once.
 */
#ifndef MSB_CORE_BUF_H
#define MSB_CORE_BUF_H

#include <stdarg.h>

#include "core/common.h"

typedef struct msb__buf {
    char *data; /* always NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
    size_t max; /* 0: unbounded; else appends past max fail with MSB_ETOOBIG */
    int failed; /* 0, or the status of the first failure */
} msb__buf_t;

#define MSB__BUF_INIT                                                                              \
    {                                                                                              \
        NULL, 0, 0, 0, 0                                                                           \
    }

MSB_INTERNAL void msb__buf_init(msb__buf_t *b, size_t max);
MSB_INTERNAL void msb__buf_free(msb__buf_t *b);
/* Forget the content (and any failure), keep the memory. */
MSB_INTERNAL void msb__buf_reset(msb__buf_t *b);
MSB_INTERNAL msb_status_t msb__buf_reserve(msb__buf_t *b, size_t extra);
MSB_INTERNAL void msb__buf_append(msb__buf_t *b, const void *p, size_t n);
MSB_INTERNAL void msb__buf_puts(msb__buf_t *b, const char *s);
MSB_INTERNAL void msb__buf_putc(msb__buf_t *b, char c);
MSB_INTERNAL void msb__buf_printf(msb__buf_t *b, const char *fmt, ...) MSB_PRINTF(2, 3);
MSB_INTERNAL void msb__buf_vprintf(msb__buf_t *b, const char *fmt, va_list ap) MSB_PRINTF(2, 0);
MSB_INTERNAL void msb__buf_put_u64(msb__buf_t *b, uint64_t v);
MSB_INTERNAL void msb__buf_put_i64(msb__buf_t *b, int64_t v);
/* Shortest round-trip form of a double; NaN and infinities as JSON has no spelling: "null". */
MSB_INTERNAL void msb__buf_put_double_json(msb__buf_t *b, double v);
/*
 * Append s[0..n) as a JSON string with its quotes, escaped per RFC 8259: '"', '\\' and control
 * characters escaped, invalid UTF-8 replaced by U+FFFD (never passed through).
 */
MSB_INTERNAL void msb__buf_put_json_str(msb__buf_t *b, const char *s, size_t n);
/* 1 for the bytes a JSON string carries as they are (printable ASCII but '"' and '\\'), else 0:
 * for writers that check a short string in place before falling back to msb__buf_put_json_str. */
MSB_INTERNAL extern const unsigned char msb__json_plain[256];
/* Take the content: returns data (caller frees with msb__free) and resets b to empty. */
MSB_INTERNAL char *msb__buf_steal(msb__buf_t *b, size_t *len);
MSB_INTERNAL msb_status_t msb__buf_status(const msb__buf_t *b);

#endif
