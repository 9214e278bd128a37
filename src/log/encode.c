/*
 * The JSON encoder of one record. Everything appends to an msb__buf_t through put(), whose fast
 * path is one comparison and a memcpy; the slow path is msb__buf_append(), which grows a heap
 * buffer or marks a fixed one as too small (the caller then retries on the heap).
 */
#include <math.h>
#include <string.h>

#include "log/log_impl.h"

#define put msb__log_put

/*
 * A JSON string: short strings with nothing to escape (keys, most values) are copied here in
 * place; anything else goes to msb__buf_put_json_str().
 */
static inline void put_str(msb__buf_t *b, const char *s, size_t n)
{
    if (n <= 64 && b->cap - b->len > n + 2) {
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;
        while (i < n && msb__json_plain[p[i]]) {
            i++;
        }
        if (i == n) {
            char *o = b->data + b->len;
            o[0] = '"';
            if (n >= 8 && n <= 16) { /* two overlapping words instead of a memcpy call */
                memcpy(o + 1, s, 8);
                memcpy(o + 1 + n - 8, s + n - 8, 8);
            } else {
                memcpy(o + 1, s, n);
            }
            o[n + 1] = '"';
            b->len += n + 2;
            return;
        }
    }
    msb__buf_put_json_str(b, s, n);
}

#define PUT_LIT(b, lit) put((b), (lit), sizeof(lit) - 1)

static const char digits2[] = "00010203040506070809101112131415161718192021222324252627282930313233"
                              "34353637383940414243444546474849505152535455565758596061626364656667"
                              "6869707172737475767778798081828384858687888990919293949596979899";

/* Decimal digits of v, right-aligned ending at end; returns the first digit. */
static char *u64_digits(char *end, uint64_t v)
{
    char *p = end;
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        *--p = digits2[d + 1];
        *--p = digits2[d];
    }
    if (v >= 10) {
        unsigned d = (unsigned)v * 2;
        *--p = digits2[d + 1];
        *--p = digits2[d];
    } else {
        *--p = (char)('0' + v);
    }
    return p;
}

static void put_i64(msb__buf_t *b, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char *p = u64_digits(end, u);
    if (v < 0) {
        *--p = '-';
    }
    put(b, p, (size_t)(end - p));
}

static void two(char *p, unsigned v)
{
    p[0] = digits2[v * 2];
    p[1] = digits2[v * 2 + 1];
}

/* Days since 1970-01-01 to a proleptic Gregorian date (the era arithmetic of civil calendars). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    uint64_t doe = (uint64_t)(z - era * 146097);
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* "YYYY-MM-DDTHH:MM:SS" of a second since the epoch. */
static void format_second(char out[19], int64_t secs)
{
    int64_t days = secs / 86400 - (secs % 86400 < 0);
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m;
    unsigned d;
    civil_from_days(days, &y, &m, &d);
    two(out, (unsigned)(y / 100));
    two(out + 2, (unsigned)(y % 100));
    out[4] = '-';
    two(out + 5, m);
    out[7] = '-';
    two(out + 8, d);
    out[10] = 'T';
    two(out + 11, (unsigned)(sod / 3600));
    out[13] = ':';
    two(out + 14, (unsigned)(sod / 60 % 60));
    out[16] = ':';
    two(out + 17, (unsigned)(sod % 60));
}

/* The last second formatted on this thread: most records only add their microseconds. */
static _Thread_local struct {
    int64_t secs;
    char text[19];
} ts_cache = {INT64_MIN, {0}};

void msb__log_format_ts(char out[27], int64_t ns)
{
    /* int64 nanoseconds span the years 1677..2262: the year always has four digits. */
    int64_t us = ns / 1000 - (ns % 1000 < 0);
    int64_t secs = us / 1000000 - (us % 1000000 < 0);
    int64_t frac = us - secs * 1000000;
    if (secs != ts_cache.secs) {
        format_second(ts_cache.text, secs);
        ts_cache.secs = secs;
    }
    memcpy(out, ts_cache.text, 19);
    out[19] = '.';
    two(out + 20, (unsigned)(frac / 10000));
    two(out + 22, (unsigned)(frac / 100 % 100));
    two(out + 24, (unsigned)(frac % 100));
    out[26] = 'Z';
}

size_t msb__log_format_double(char *out, double v)
{
    size_t o = 0;
    double a = v;
    if (signbit(v)) {
        out[o++] = '-';
        a = -v;
    }
    if (a == 0.0) {
        out[o] = '0';
        out[o + 1] = '.';
        out[o + 2] = '0';
        return o + 3;
    }
    return o + msb__log_dtoa(out + o, a);
}

static void put_double(msb__buf_t *b, double v)
{
    if (isnan(v)) {
        PUT_LIT(b, "\"NaN\"");
        return;
    }
    if (isinf(v)) {
        if (v > 0) {
            PUT_LIT(b, "\"+Inf\"");
        } else {
            PUT_LIT(b, "\"-Inf\"");
        }
        return;
    }
    char tmp[48];
    put(b, tmp, msb__log_format_double(tmp, v));
}

void msb__log_put_field(msb__buf_t *b, const msb_log_field_t *f, size_t klen)
{
    PUT_LIT(b, ",");
    put_str(b, f->key, klen);
    PUT_LIT(b, ":");
    switch (f->type) {
    case MSB_LOG_STRING:
        if (f->v.s.ptr == NULL) {
            PUT_LIT(b, "null");
        } else {
            size_t n = f->v.s.len == MSB_LOG_NTS ? strlen(f->v.s.ptr) : f->v.s.len;
            put_str(b, f->v.s.ptr, n);
        }
        break;
    case MSB_LOG_INT:
        put_i64(b, f->v.i);
        break;
    case MSB_LOG_DOUBLE:
        put_double(b, f->v.d);
        break;
    case MSB_LOG_BOOL:
        if (f->v.b) {
            PUT_LIT(b, "true");
        } else {
            PUT_LIT(b, "false");
        }
        break;
    }
}

/* Level names as written, with the separators around them. */
#define LEVEL_TEXT(name)                                                                           \
    {                                                                                              \
        "\",\"level\":\"" name "\",\"msg\":", sizeof("\",\"level\":\"" name "\",\"msg\":") - 1     \
    }
static const struct {
    const char *text;
    size_t len;
} level_text[] = {
    LEVEL_TEXT("trace"), LEVEL_TEXT("debug"), LEVEL_TEXT("info"),
    LEVEL_TEXT("warn"),  LEVEL_TEXT("error"),
};

void msb__log_put_head(msb__buf_t *b, int64_t ts_ns, msb_log_level_t level, const char *msg,
                       size_t msg_len)
{
    char head[7 + 27] = "{\"ts\":\"";
    msb__log_format_ts(head + 7, ts_ns);
    put(b, head, sizeof(head));
    put(b, level_text[level].text, level_text[level].len);
    put_str(b, msg, msg_len);
}
