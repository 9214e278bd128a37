/* Bounded string helpers: what libmsb uses instead of strcpy, atoi and friends. */
#ifndef MSB_CORE_STR_H
#define MSB_CORE_STR_H

#include <locale.h>

#include "core/common.h"

/* Copy src into dst[size], always NUL-terminated when size > 0; returns strlen(src). */
MSB_INTERNAL size_t msb__strlcpy(char *dst, const char *src, size_t size);
/*
 * Parse s[0..n) as a whole decimal integer: optional sign (i64 only), digits only, no spaces, no
 * overflow. Return MSB_OK, MSB_EINVAL (not a number) or MSB_ERANGE (overflow).
 */
MSB_INTERNAL msb_status_t msb__parse_i64(const char *s, size_t n, int64_t *out);
MSB_INTERNAL msb_status_t msb__parse_u64(const char *s, size_t n, uint64_t *out);
/* Parse a whole finite double (strtod rules, no trailing characters, no NaN or infinities). */
MSB_INTERNAL msb_status_t msb__parse_double(const char *s, size_t n, double *out);
/* ASCII case-insensitive equality of a[0..an) and the NUL-terminated b. */
MSB_INTERNAL bool msb__ascii_ieq(const char *a, size_t an, const char *b);
MSB_INTERNAL char msb__ascii_lower(char c);
/*
 * The "C" locale, so that number formatting and parsing never follow the host program's
 * setlocale() (a German locale must not turn 0.5 into "0,5" in JSON). (locale_t)0 if it could not
 * be made. Use with strtod_l, or around snprintf with uselocale().
 */
MSB_INTERNAL locale_t msb__c_locale(void);
/* Shortest of %.15g / %.17g that round-trips, in the C locale; returns the length written. */
MSB_INTERNAL size_t msb__format_double(char *dst, size_t size, double v);

#endif
