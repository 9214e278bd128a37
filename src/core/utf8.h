/* UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
#ifndef MSB_CORE_UTF8_H
#define MSB_CORE_UTF8_H

#include "core/common.h"

/* Length of the one valid character at the start of p[0..n) (n > 0), or 0 when invalid. */
MSB_INTERNAL size_t msb__utf8_char_len(const unsigned char *p, size_t n);
/*
 * Length of the longest run of whole, valid UTF-8 characters at the start of p[0..n), stopping
 * at the first invalid or truncated sequence. Returns 0 when the first byte does not begin a valid
 * character.
 */
MSB_INTERNAL size_t msb__utf8_valid_prefix(const unsigned char *p, size_t n);
/* Whether all of p[0..n) is valid UTF-8. */
MSB_INTERNAL bool msb__utf8_valid(const char *p, size_t n);

#endif
