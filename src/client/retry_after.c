/*
 * Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date. Recipients must accept the
 * three date forms of RFC 9110 5.6.7:
 *   IMF-fixdate   Sun, 06 Nov 1994 08:49:37 GMT
 *   rfc850-date   Sunday, 06-Nov-94 08:49:37 GMT
 *   asctime-date  Sun Nov  6 08:49:37 1994
 * The day name is checked for form, not against the date (a server with a wrong weekday still
 * means the date it wrote).
 */
#include <string.h>

#include "client/internal.h"
#include "core/str.h"

#define MAX_DELAY_S (UINT64_C(1) << 40) /* cap: far beyond any retry policy */

static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const days[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const long_days[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                         "Friday", "Saturday", "Sunday"};

typedef struct cursor {
    const char *p;
    size_t n;
} cursor_t;

static bool lit(cursor_t *c, const char *s)
{
    size_t k = strlen(s);
    if (c->n < k || memcmp(c->p, s, k) != 0) {
        return false;
    }
    c->p += k;
    c->n -= k;
    return true;
}

/* Exactly `k` digits. */
static bool digits(cursor_t *c, size_t k, int *out)
{
    if (c->n < k) {
        return false;
    }
    int v = 0;
    for (size_t i = 0; i < k; i++) {
        if (c->p[i] < '0' || c->p[i] > '9') {
            return false;
        }
        v = v * 10 + (c->p[i] - '0');
    }
    c->p += k;
    c->n -= k;
    *out = v;
    return true;
}

static bool one_of(cursor_t *c, const char *const *names, size_t count, int *index)
{
    for (size_t i = 0; i < count; i++) {
        if (lit(c, names[i])) {
            *index = (int)i;
            return true;
        }
    }
    return false;
}

/* hour ":" minute ":" second */
static bool time_of_day(cursor_t *c, int *h, int *m, int *s)
{
    return digits(c, 2, h) && lit(c, ":") && digits(c, 2, m) && lit(c, ":") && digits(c, 2, s);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool valid(int y, int mon, int d, int h, int mi, int s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon < 0 || mon > 11 || d < 1 || h > 23 || mi > 59 || s > 60) {
        return false;
    }
    int max = mdays[mon] + (mon == 1 && leap(y) ? 1 : 0);
    return d <= max;
}

static int64_t to_epoch(int y, int mon, int d, int h, int mi, int s)
{
    return days_from_civil(y, mon + 1, d) * 86400 + h * 3600 + mi * 60 + (s > 59 ? 59 : s);
}

static bool imf_fixdate(cursor_t c, int64_t *out)
{
    int wd, d, mon, y, h, mi, s;
    if (!one_of(&c, days, 7, &wd) || !lit(&c, ", ") || !digits(&c, 2, &d) || !lit(&c, " ") ||
        !one_of(&c, months, 12, &mon) || !lit(&c, " ") || !digits(&c, 4, &y) || !lit(&c, " ") ||
        !time_of_day(&c, &h, &mi, &s) || !lit(&c, " GMT") || c.n != 0) {
        return false;
    }
    if (!valid(y, mon, d, h, mi, s)) {
        return false;
    }
    *out = to_epoch(y, mon, d, h, mi, s);
    return true;
}

/* A two-digit year more than 50 years in the future means the most recent past year with
 * those digits (RFC 9110 5.6.7). */
static int full_year(int yy, int64_t now_s)
{
    int64_t now_year = 1970 + now_s / 31556952; /* mean Gregorian year; exact enough here */
    int64_t century = now_year - now_year % 100;
    int64_t y = century + yy;
    if (y > now_year + 50) {
        y -= 100;
    } else if (y + 100 <= now_year + 50) {
        y += 100;
    }
    return (int)y;
}

static bool rfc850_date(cursor_t c, int64_t now_s, int64_t *out)
{
    int wd, d, mon, yy, h, mi, s;
    if (!one_of(&c, long_days, 7, &wd) || !lit(&c, ", ") || !digits(&c, 2, &d) || !lit(&c, "-") ||
        !one_of(&c, months, 12, &mon) || !lit(&c, "-") || !digits(&c, 2, &yy) || !lit(&c, " ") ||
        !time_of_day(&c, &h, &mi, &s) || !lit(&c, " GMT") || c.n != 0) {
        return false;
    }
    int y = full_year(yy, now_s);
    if (!valid(y, mon, d, h, mi, s)) {
        return false;
    }
    *out = to_epoch(y, mon, d, h, mi, s);
    return true;
}

static bool asctime_date(cursor_t c, int64_t *out)
{
    int wd, d, mon, y, h, mi, s;
    if (!one_of(&c, days, 7, &wd) || !lit(&c, " ") || !one_of(&c, months, 12, &mon) ||
        !lit(&c, " ")) {
        return false;
    }
    /* day: 2DIGIT / ( SP DIGIT ) */
    if (c.n > 0 && c.p[0] == ' ') {
        c.p++;
        c.n--;
        if (!digits(&c, 1, &d)) {
            return false;
        }
    } else if (!digits(&c, 2, &d)) {
        return false;
    }
    if (!lit(&c, " ") || !time_of_day(&c, &h, &mi, &s) || !lit(&c, " ") || !digits(&c, 4, &y) ||
        c.n != 0) {
        return false;
    }
    if (!valid(y, mon, d, h, mi, s)) {
        return false;
    }
    *out = to_epoch(y, mon, d, h, mi, s);
    return true;
}

msb_status_t msb__client_http_date(const char *v, size_t len, int64_t now_s, int64_t *out)
{
    cursor_t c = {v, len};
    if (imf_fixdate(c, out) || rfc850_date(c, now_s, out) || asctime_date(c, out)) {
        return MSB_OK;
    }
    return MSB_EPROTO;
}

msb_status_t msb__client_retry_after(const char *v, size_t len, int64_t now_s, uint64_t *delay_s)
{
    while (len > 0 && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        len--;
    }
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
        len--;
    }
    if (len == 0) {
        return MSB_EPROTO;
    }
    if (v[0] >= '0' && v[0] <= '9') {
        uint64_t s = 0;
        for (size_t i = 0; i < len; i++) {
            if (v[i] < '0' || v[i] > '9') {
                return MSB_EPROTO;
            }
            if (s < MAX_DELAY_S) {
                s = s * 10 + (uint64_t)(v[i] - '0');
            }
        }
        *delay_s = s < MAX_DELAY_S ? s : MAX_DELAY_S;
        return MSB_OK;
    }
    int64_t when = 0;
    if (msb__client_http_date(v, len, now_s, &when) != MSB_OK) {
        return MSB_EPROTO;
    }
    *delay_s = when > now_s ? (uint64_t)(when - now_s) : 0;
    return MSB_OK;
}
