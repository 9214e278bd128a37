/*
 * The value syntaxes of config.h: durations, byte sizes, booleans, integers and numbers, and
 * their canonical formatting. Every parser reads the whole text (blanks around it ignored) and
 * explains a rejection in `why`, quoting the input.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/internal.h"
#include "core/str.h"
#include "core/utf8.h"

#define QUOTE_MAX 48 /* input bytes quoted in a message before it is shortened */

MSB_PRINTF(2, 3)
static msb_status_t why_set(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, CFG_WHY_MAX, fmt, ap);
    va_end(ap);
    return MSB_EINVAL;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void msb__config_trim(const char **s, size_t *n)
{
    while (*n > 0 && is_blank((*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_blank((*s)[*n - 1])) {
        (*n)--;
    }
}

void msb__config_quote(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;
    size_t i = 0;
    bool cut = n > QUOTE_MAX;
    size_t end = cut ? QUOTE_MAX : n;
    if (size < 8) {
        if (size > 0) {
            out[0] = '\0';
        }
        return;
    }
    out[o++] = '"';
    while (i < end && o + 8 < size) {
        unsigned char c = (unsigned char)s[i];
        size_t ok = c >= 0x80 ? msb__utf8_valid_prefix((const unsigned char *)s + i, end - i) : 0;
        if (c >= 0x80 && ok > 0) {
            /* whole characters of valid UTF-8 pass through */
            size_t len = 1;
            while (i + len < end && ((unsigned char)s[i + len] & 0xC0) == 0x80) {
                len++;
            }
            if (o + len + 8 >= size) {
                break;
            }
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
            continue;
        }
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7F) {
            o += (size_t)snprintf(out + o, size - o, "\\x%02X", c);
        } else {
            out[o++] = (char)c;
        }
        i++;
    }
    if (i < n) {
        out[o++] = '.';
        out[o++] = '.';
        out[o++] = '.';
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* ---- decimal numbers with an optional fraction: "12", "1.5", ".25" -------------------------- */

#define FRAC_MAX 38 /* fraction digits kept exactly (10^38 < 2^128) */

typedef unsigned __int128 u128;

typedef struct decimal {
    uint64_t whole;
    u128 frac;        /* fraction digits as an integer, trailing zeros removed */
    unsigned fdigits; /* number of digits in frac; FRAC_MAX + 1: too many */
    bool overflow;    /* whole part above 2^64 - 1 */
} decimal_t;

static u128 pow10_128(unsigned k)
{
    u128 p = 1;
    while (k-- > 0) {
        p *= 10;
    }
    return p;
}

/* Read digits[.digits] at s[*i..n); false when there is no digit at all. */
static bool read_decimal(const char *s, size_t n, size_t *i, decimal_t *d)
{
    size_t digits = 0;
    *d = (decimal_t){0, 0, 0, false};
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        uint64_t v = (uint64_t)(s[*i] - '0');
        if (d->whole > (UINT64_MAX - v) / 10) {
            d->overflow = true;
        } else {
            d->whole = d->whole * 10 + v;
        }
        (*i)++;
        digits++;
    }
    if (*i < n && s[*i] == '.') {
        (*i)++;
        unsigned zeros = 0; /* zeros not yet added: dropped if they end the fraction */
        while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
            if (s[*i] == '0') {
                zeros++;
            } else if (d->fdigits + zeros + 1 > FRAC_MAX) {
                d->fdigits = FRAC_MAX + 1;
                zeros = 0;
            } else {
                d->frac = d->frac * pow10_128(zeros + 1) + (u128)(s[*i] - '0');
                d->fdigits += zeros + 1;
                zeros = 0;
            }
            (*i)++;
            digits++;
        }
    }
    return digits > 0;
}

static u128 gcd128(u128 a, u128 b)
{
    while (b != 0) {
        u128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/*
 * d * unit exactly: MSB_OK, MSB_ERANGE (above max) or MSB_EINVAL (not a whole number of the
 * base unit, or more fraction digits than FRAC_MAX).
 */
static msb_status_t scale(const decimal_t *d, uint64_t unit, uint64_t max, uint64_t *out)
{
    if (d->overflow) {
        return MSB_ERANGE;
    }
    if (d->fdigits > FRAC_MAX) {
        return MSB_EINVAL;
    }
    u128 part = 0;
    if (d->frac != 0) {
        /* frac / 10^k in lowest terms; the denominator must divide unit */
        u128 p10 = pow10_128(d->fdigits);
        u128 g = gcd128(d->frac, p10);
        u128 num = d->frac / g;
        u128 den = p10 / g;
        if (den == 0 || unit % den != 0) {
            return MSB_EINVAL;
        }
        part = num * (unit / den); /* below unit: the fraction is below 1 */
    }
    u128 total = (u128)d->whole * unit + part;
    if (total > max) {
        return MSB_ERANGE;
    }
    *out = (uint64_t)total;
    return MSB_OK;
}

/* ---- durations ------------------------------------------------------------------------------ */

static const struct {
    const char *name;
    uint64_t ns;
} dur_units[] = {
    {"d", 86400000000000ull}, {"h", 3600000000000ull}, {"m", 60000000000ull},
    {"s", 1000000000ull},     {"ms", 1000000ull},      {"us", 1000ull},
    {"\xC2\xB5s", 1000ull},   {"\xCE\xBCs", 1000ull},  {"ns", 1ull},
};

#define DUR_EXPECTED "expected a duration such as 250ms, 2s or 1m30s"
#define DUR_UNITS    "units: d, h, m, s, ms, us, ns"

static size_t dur_unit(const char *s, size_t n, size_t *i)
{
    size_t start = *i;
    while (*i < n &&
           (((s[*i] | 0x20) >= 'a' && (s[*i] | 0x20) <= 'z') || (unsigned char)s[*i] >= 0x80)) {
        (*i)++;
    }
    for (size_t u = 0; u < MSB_ARRAY_LEN(dur_units); u++) {
        if (strlen(dur_units[u].name) == *i - start &&
            memcmp(dur_units[u].name, s + start, *i - start) == 0) {
            return u;
        }
    }
    return SIZE_MAX;
}

/* Rank of a unit: equal for us and its two micro-sign spellings. */
static size_t dur_rank(size_t u)
{
    return u >= 6 && u <= 7 ? 5 : u;
}

msb_status_t msb__config_parse_duration(const char *s, size_t n, int64_t *out, char *why)
{
    char q[QUOTE_MAX * 2 + 16];
    msb__config_trim(&s, &n);
    msb__config_quote(s, n, q, sizeof(q));
    if (n == 0) {
        return why_set(why, "empty value; " DUR_EXPECTED);
    }
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return MSB_OK;
    }
    if (s[0] == '-') {
        return why_set(why, "negative durations are not allowed, got %s", q);
    }
    uint64_t total = 0;
    size_t i = 0;
    size_t last = SIZE_MAX;
    while (i < n) {
        decimal_t d;
        if (!read_decimal(s, n, &i, &d)) {
            return why_set(why, DUR_EXPECTED ", got %s", q);
        }
        size_t ustart = i;
        size_t u = dur_unit(s, n, &i);
        if (ustart == i) {
            return why_set(why, "missing unit in %s; " DUR_EXPECTED " (" DUR_UNITS ")", q);
        }
        if (u == SIZE_MAX) {
            char uq[QUOTE_MAX + 16];
            msb__config_quote(s + ustart, i - ustart, uq, sizeof(uq));
            return why_set(why, "unknown unit %s in %s (" DUR_UNITS ")", uq, q);
        }
        if (last != SIZE_MAX && dur_rank(u) <= dur_rank(last)) {
            return why_set(why, "units must go from largest to smallest, each once, in %s", q);
        }
        last = u;
        uint64_t part;
        msb_status_t rc = scale(&d, dur_units[u].ns, (uint64_t)INT64_MAX, &part);
        if (rc == MSB_EINVAL) {
            return why_set(why, "%s is not a whole number of nanoseconds", q);
        }
        if (rc != MSB_OK || part > (uint64_t)INT64_MAX - total) {
            why_set(why, "%s is too long (the longest is 106751d23h47m16s854ms775us807ns)", q);
            return MSB_ERANGE;
        }
        total += part;
    }
    *out = (int64_t)total;
    return MSB_OK;
}

size_t msb__config_format_duration(int64_t ns, char *buf, size_t size)
{
    static const size_t order[] = {0, 1, 2, 3, 4, 5, 8}; /* d h m s ms us ns */
    uint64_t v = ns < 0 ? 0 : (uint64_t)ns;
    size_t o = 0;
    if (size == 0) {
        return 0;
    }
    buf[0] = '\0';
    if (v == 0) {
        return (size_t)snprintf(buf, size, "0s");
    }
    for (size_t k = 0; k < MSB_ARRAY_LEN(order); k++) {
        uint64_t unit = dur_units[order[k]].ns;
        if (v >= unit) {
            int w = snprintf(buf + o, size - o, "%llu%s", (unsigned long long)(v / unit),
                             dur_units[order[k]].name);
            if (w < 0 || (size_t)w >= size - o) {
                return o;
            }
            o += (size_t)w;
            v %= unit;
        }
    }
    return o;
}

/* ---- byte sizes ----------------------------------------------------------------------------- */

static const struct {
    const char *name; /* lower case; matched without regard to case */
    uint64_t mult;
} size_units[] = {
    {"", 1ull},
    {"b", 1ull},
    {"k", 1000ull},
    {"kb", 1000ull},
    {"m", 1000000ull},
    {"mb", 1000000ull},
    {"g", 1000000000ull},
    {"gb", 1000000000ull},
    {"t", 1000000000000ull},
    {"tb", 1000000000000ull},
    {"p", 1000000000000000ull},
    {"pb", 1000000000000000ull},
    {"e", 1000000000000000000ull},
    {"eb", 1000000000000000000ull},
    {"ki", 1ull << 10},
    {"kib", 1ull << 10},
    {"mi", 1ull << 20},
    {"mib", 1ull << 20},
    {"gi", 1ull << 30},
    {"gib", 1ull << 30},
    {"ti", 1ull << 40},
    {"tib", 1ull << 40},
    {"pi", 1ull << 50},
    {"pib", 1ull << 50},
    {"ei", 1ull << 60},
    {"eib", 1ull << 60},
};

#define SIZE_EXPECTED "expected a size such as 512, 64KiB, 1MiB or 1GB"
#define SIZE_UNITS    "units: B, kB, MB, GB, TB, PB, EB (powers of 1000), KiB, MiB, GiB, TiB, PiB, EiB"

msb_status_t msb__config_parse_size(const char *s, size_t n, uint64_t *out, char *why)
{
    char q[QUOTE_MAX * 2 + 16];
    msb__config_trim(&s, &n);
    msb__config_quote(s, n, q, sizeof(q));
    if (n == 0) {
        return why_set(why, "empty value; " SIZE_EXPECTED);
    }
    if (s[0] == '-') {
        return why_set(why, "negative sizes are not allowed, got %s", q);
    }
    size_t i = 0;
    decimal_t d;
    if (!read_decimal(s, n, &i, &d)) {
        return why_set(why, SIZE_EXPECTED ", got %s", q);
    }
    size_t ulen = n - i;
    for (size_t u = 0; u < MSB_ARRAY_LEN(size_units); u++) {
        if (strlen(size_units[u].name) != ulen ||
            !msb__ascii_ieq(s + i, ulen, size_units[u].name)) {
            continue;
        }
        msb_status_t rc = scale(&d, size_units[u].mult, UINT64_MAX, out);
        if (rc == MSB_EINVAL) {
            return why_set(why, "%s is not a whole number of bytes", q);
        }
        if (rc != MSB_OK) {
            why_set(why, "%s is too large (the largest is 16EiB - 1 byte)", q);
            return MSB_ERANGE;
        }
        return MSB_OK;
    }
    char uq[QUOTE_MAX + 16];
    msb__config_quote(s + i, ulen, uq, sizeof(uq));
    return why_set(why, "unknown unit %s in %s (" SIZE_UNITS ")", uq, q);
}

size_t msb__config_format_size(uint64_t bytes, char *buf, size_t size)
{
    static const char *const iec[] = {"EiB", "PiB", "TiB", "GiB", "MiB", "KiB"};
    static const char *const si[] = {"EB", "PB", "TB", "GB", "MB", "kB"};
    int w = 0;
    bool done = false;
    for (int k = 0; k < 6 && !done && bytes != 0; k++) {
        uint64_t m = 1ull << (10 * (6 - k));
        if (bytes % m == 0) {
            w = snprintf(buf, size, "%llu%s", (unsigned long long)(bytes / m), iec[k]);
            done = true;
        }
    }
    for (int k = 0; k < 6 && !done && bytes != 0; k++) {
        uint64_t m = (uint64_t)pow10_128(3 * (6 - (unsigned)k));
        if (bytes % m == 0) {
            w = snprintf(buf, size, "%llu%s", (unsigned long long)(bytes / m), si[k]);
            done = true;
        }
    }
    if (!done) {
        w = snprintf(buf, size, "%llu", (unsigned long long)bytes);
    }
    return w < 0 ? 0 : ((size_t)w >= size ? size - 1 : (size_t)w);
}

/* ---- booleans, integers, numbers ------------------------------------------------------------ */

msb_status_t msb__config_parse_bool(const char *s, size_t n, bool *out, char *why)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    msb__config_trim(&s, &n);
    for (size_t i = 0; i < MSB_ARRAY_LEN(yes); i++) {
        if (strlen(yes[i]) == n && msb__ascii_ieq(s, n, yes[i])) {
            *out = true;
            return MSB_OK;
        }
        if (strlen(no[i]) == n && msb__ascii_ieq(s, n, no[i])) {
            *out = false;
            return MSB_OK;
        }
    }
    char q[QUOTE_MAX * 2 + 16];
    msb__config_quote(s, n, q, sizeof(q));
    return why_set(why, "expected true or false (or yes/no, on/off, 1/0), got %s", q);
}

msb_status_t msb__config_parse_int(const char *s, size_t n, int64_t *out, char *why)
{
    char q[QUOTE_MAX * 2 + 16];
    msb__config_trim(&s, &n);
    msb__config_quote(s, n, q, sizeof(q));
    if (n == 0) {
        return why_set(why, "empty value; expected an integer");
    }
    msb_status_t rc = msb__parse_i64(s, n, out);
    if (rc == MSB_ERANGE) {
        why_set(why, "%s is outside the 64-bit integer range", q);
        return MSB_ERANGE;
    }
    if (rc != MSB_OK) {
        return why_set(why, "expected an integer, got %s", q);
    }
    return MSB_OK;
}

msb_status_t msb__config_parse_double(const char *s, size_t n, double *out, char *why)
{
    char q[QUOTE_MAX * 2 + 16];
    msb__config_trim(&s, &n);
    msb__config_quote(s, n, q, sizeof(q));
    if (n == 0) {
        return why_set(why, "empty value; expected a number");
    }
    msb_status_t rc = msb__parse_double(s, n, out);
    if (rc == MSB_ERANGE) {
        why_set(why, "%s is outside the range of a double", q);
        return MSB_ERANGE;
    }
    if (rc != MSB_OK) {
        return why_set(why, "expected a number, got %s", q);
    }
    return MSB_OK;
}
