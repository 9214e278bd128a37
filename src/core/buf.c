#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/str.h"
#include "core/utf8.h"

void msb__buf_init(msb__buf_t *b, size_t max)
{
    *b = (msb__buf_t)MSB__BUF_INIT;
    b->max = max;
}

void msb__buf_free(msb__buf_t *b)
{
    msb__free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}

void msb__buf_reset(msb__buf_t *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

msb_status_t msb__buf_reserve(msb__buf_t *b, size_t extra)
{
    if (b->failed) {
        return (msb_status_t)b->failed;
    }
    if (extra > SIZE_MAX - b->len - 1) {
        b->failed = MSB_ETOOBIG;
        return MSB_ETOOBIG;
    }
    size_t need = b->len + extra + 1;
    if (b->max != 0 && need > b->max + 1) {
        b->failed = MSB_ETOOBIG;
        return MSB_ETOOBIG;
    }
    if (need <= b->cap) {
        return MSB_OK;
    }
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    char *p = msb__realloc(b->data, cap);
    if (p == NULL) {
        b->failed = MSB_ENOMEM;
        return MSB_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return MSB_OK;
}

void msb__buf_append(msb__buf_t *b, const void *p, size_t n)
{
    if (msb__buf_reserve(b, n) != MSB_OK) {
        return;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
}

void msb__buf_puts(msb__buf_t *b, const char *s)
{
    msb__buf_append(b, s, strlen(s));
}

void msb__buf_putc(msb__buf_t *b, char c)
{
    msb__buf_append(b, &c, 1);
}

void msb__buf_vprintf(msb__buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->failed = b->failed ? b->failed : MSB_EINVAL;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        msb__buf_append(b, small, (size_t)n);
        return;
    }
    if (msb__buf_reserve(b, (size_t)n) != MSB_OK) {
        return;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void msb__buf_printf(msb__buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msb__buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void msb__buf_put_u64(msb__buf_t *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    msb__buf_append(b, tmp + i, sizeof(tmp) - i);
}

void msb__buf_put_i64(msb__buf_t *b, int64_t v)
{
    if (v < 0) {
        msb__buf_putc(b, '-');
        msb__buf_put_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        msb__buf_put_u64(b, (uint64_t)v);
    }
}

void msb__buf_put_double_json(msb__buf_t *b, double v)
{
    if (!isfinite(v)) {
        msb__buf_puts(b, "null");
        return;
    }
    char tmp[32];
    msb__format_double(tmp, sizeof(tmp), v);
    msb__buf_puts(b, tmp);
}

static const char hex[] = "0123456789abcdef";

const unsigned char msb__json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* The escape of an ASCII byte that is not plain, into esc[]; returns its length (2 or 6). */
static size_t json_escape_ascii(unsigned char c, char esc[6])
{
    char short_form = 0;
    switch (c) {
    case '"':
        short_form = '"';
        break;
    case '\\':
        short_form = '\\';
        break;
    case '\n':
        short_form = 'n';
        break;
    case '\r':
        short_form = 'r';
        break;
    case '\t':
        short_form = 't';
        break;
    case '\b':
        short_form = 'b';
        break;
    case '\f':
        short_form = 'f';
        break;
    default:
        break;
    }
    esc[0] = '\\';
    if (short_form != 0) {
        esc[1] = short_form;
        return 2;
    }
    esc[1] = 'u';
    esc[2] = '0';
    esc[3] = '0';
    esc[4] = hex[c >> 4];
    esc[5] = hex[c & 15];
    return 6;
}

/*
 * One reservation covers the common case (nothing to escape: n bytes and two quotes); each escape
 * or replacement reserves what it adds beyond its input byte. So a buffer bounded by `max` (or a
 * fixed one) holds any string whose escaped form fits, and the plain runs are copied without a
 * check per byte.
 */
void msb__buf_put_json_str(msb__buf_t *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t room = b->cap - b->len; /* the call is skipped when the room is already there */
    if ((b->failed != 0 || room < 3 || room - 3 < n) && msb__buf_reserve(b, n + 2) != MSB_OK) {
        return;
    }
    b->data[b->len++] = '"';
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && msb__json_plain[p[run]]) {
            run++;
        }
        memcpy(b->data + b->len, p + i, run - i);
        b->len += run - i;
        i = run;
        if (i >= n) {
            break;
        }
        char esc[6];
        const char *rep = esc;
        size_t in_len = 1;
        size_t out_len;
        if (p[i] >= 0x80) {
            in_len = msb__utf8_char_len(p + i, n - i);
            rep = in_len != 0 ? (const char *)p + i : "\xEF\xBF\xBD"; /* U+FFFD for a bad byte */
            out_len = in_len != 0 ? in_len : 3;
            in_len = in_len != 0 ? in_len : 1;
        } else {
            out_len = json_escape_ascii(p[i], esc);
        }
        /* Room for this output, the rest of the input and the closing quote. */
        if (out_len > in_len && msb__buf_reserve(b, out_len + (n - i - in_len) + 1) != MSB_OK) {
            return;
        }
        memcpy(b->data + b->len, rep, out_len);
        b->len += out_len;
        i += in_len;
    }
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
}

char *msb__buf_steal(msb__buf_t *b, size_t *len)
{
    char *d = b->data;
    if (len != NULL) {
        *len = b->len;
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return d;
}

msb_status_t msb__buf_status(const msb__buf_t *b)
{
    return (msb_status_t)b->failed;
}
