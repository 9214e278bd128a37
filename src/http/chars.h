/*
 * Character classes of RFC 9110 / RFC 9112 / RFC 3986, as one 256-entry table so that every
 * per-byte test of the parser is a load and a mask.
 */
#ifndef MSB_HTTP_CHARS_H
#define MSB_HTTP_CHARS_H

#include "core/common.h"

enum {
    MSB__C_TCHAR = 1 << 0,   /* token: "!#$%&'*+-.^_`|~" DIGIT ALPHA (RFC 9110 §5.6.2) */
    MSB__C_PCHAR = 1 << 1,   /* pchar minus pct-encoded: unreserved sub-delims ":" "@" */
    MSB__C_VALUE = 1 << 2,   /* field-vchar, obs-text, SP, HTAB (RFC 9110 §5.5) */
    MSB__C_HEX = 1 << 3,     /* HEXDIG */
    MSB__C_REGNAME = 1 << 4, /* unreserved / sub-delims (RFC 3986 reg-name minus pct-encoded) */
    MSB__C_QDTEXT = 1 << 5,  /* qdtext: HTAB SP %x21 %x23-5B %x5D-7E obs-text */
};

MSB_INTERNAL extern const uint8_t msb__http_ctab[256];

static inline bool msb__is_tchar(unsigned char c)
{
    return (msb__http_ctab[c] & MSB__C_TCHAR) != 0;
}

static inline bool msb__is_pchar(unsigned char c)
{
    return (msb__http_ctab[c] & MSB__C_PCHAR) != 0;
}

static inline bool msb__is_value(unsigned char c)
{
    return (msb__http_ctab[c] & MSB__C_VALUE) != 0;
}

static inline bool msb__is_hex(unsigned char c)
{
    return (msb__http_ctab[c] & MSB__C_HEX) != 0;
}

static inline bool msb__is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static inline int msb__hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

#endif
