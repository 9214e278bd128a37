#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

locale_t msb__c_locale(void)
{
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale;
}

size_t msb__strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

msb_status_t msb__parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0) {
        return MSB_EINVAL;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return MSB_EINVAL;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return MSB_ERANGE;
        }
        v = v * 10 + d;
    }
    *out = v;
    return MSB_OK;
}

msb_status_t msb__parse_i64(const char *s, size_t n, int64_t *out)
{
    bool neg = false;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        s++;
        n--;
    }
    uint64_t v;
    msb_status_t rc = msb__parse_u64(s, n, &v);
    if (rc != MSB_OK) {
        return rc;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1) {
            return MSB_ERANGE;
        }
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX) {
            return MSB_ERANGE;
        }
        *out = (int64_t)v;
    }
    return MSB_OK;
}

msb_status_t msb__parse_double(const char *s, size_t n, double *out)
{
    char tmp[128];
    if (n == 0 || n >= sizeof(tmp)) {
        return MSB_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok =
            (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
        if (!ok) {
            return MSB_EINVAL; /* rejects spaces, hex floats, "nan", "inf" */
        }
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end = NULL;
    errno = 0;
    locale_t c = msb__c_locale();
    double v = c != (locale_t)0 ? strtod_l(tmp, &end, c) : strtod(tmp, &end);
    if (end != tmp + n) {
        return MSB_EINVAL;
    }
    if (errno == ERANGE || !isfinite(v)) {
        return MSB_ERANGE;
    }
    *out = v;
    return MSB_OK;
}

char msb__ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool msb__ascii_ieq(const char *a, size_t an, const char *b)
{
    size_t i = 0;
    for (; i < an; i++) {
        if (b[i] == '\0' || msb__ascii_lower(a[i]) != msb__ascii_lower(b[i])) {
            return false;
        }
    }
    return b[i] == '\0';
}

size_t msb__format_double(char *dst, size_t size, double v)
{
    locale_t c = msb__c_locale();
    locale_t old = c != (locale_t)0 ? uselocale(c) : (locale_t)0;
    /* %.17g always round-trips; the shorter %.15g is kept when it does too. */
    int n = snprintf(dst, size, "%.15g", v);
    if (strtod(dst, NULL) != v) {
        n = snprintf(dst, size, "%.17g", v);
    }
    if (old != (locale_t)0) {
        uselocale(old);
    }
    return n < 0 ? 0 : (size_t)n;
}
