/*
 * Fuzz target for Retry-After and HTTP dates (msb__client_retry_after, msb__client_http_date).
 * Properties: never crashes or reads past the input; a delay is at most 2^40 s; a date that
 * parses, written back as an IMF-fixdate, parses to the same second; digits alone always parse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    uint64_t delay = 0;
    if (msb__client_retry_after(s, size, NOW, &delay) == MSB_OK && delay > (UINT64_C(1) << 40)) {
        abort();
    }
    bool digits = size > 0 && size < 30;
    for (size_t i = 0; i < size && digits; i++) {
        digits = data[i] >= '0' && data[i] <= '9';
    }
    if (digits && msb__client_retry_after(s, size, NOW, &delay) != MSB_OK) {
        abort();
    }
    int64_t t = 0;
    if (msb__client_http_date(s, size, NOW, &t) == MSB_OK) {
        time_t tt = (time_t)t;
        struct tm tm;
        if (gmtime_r(&tt, &tm) == NULL) {
            abort();
        }
        static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        char buf[64];
        int n = snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday],
                         tm.tm_mday, mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                         tm.tm_sec);
        int64_t back = -1;
        if (tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999 &&
            (msb__client_http_date(buf, (size_t)n, NOW, &back) != MSB_OK || back != t)) {
            abort();
        }
    }
    return 0;
}
