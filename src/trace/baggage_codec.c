/* W3C Baggage values: the baggage-octet set, percent-decoding (to UTF-8, U+FFFD for what is
 * not) and the minimal percent-encoding. */
#include "core/utf8.h"
#include "trace/internal.h"

bool msb__baggage_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static int hexval(char c)
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

/* A raw value: baggage-octets, every '%' starting a two-hex-digit escape. */
bool msb__baggage_value_valid(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!msb__baggage_octet(c)) {
            return false;
        }
        if (c == '%') {
            if (i + 2 >= n || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0) {
                return false;
            }
            i += 2;
        }
    }
    return true;
}

/* Percent-decode, then replace bytes that are not UTF-8 by U+FFFD. */
void msb__baggage_decode(msb__buf_t *b, const char *p, size_t n)
{
    msb__buf_t raw = MSB__BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%') {
            msb__buf_putc(&raw, (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2])));
            i += 2;
        } else {
            msb__buf_putc(&raw, p[i]);
        }
    }
    if (msb__buf_status(&raw) != MSB_OK) {
        b->failed = MSB_ENOMEM;
        msb__buf_free(&raw);
        return;
    }
    const unsigned char *s = (const unsigned char *)raw.data;
    size_t left = raw.len;
    while (left > 0) {
        size_t ok = msb__utf8_valid_prefix(s, left);
        msb__buf_append(b, s, ok);
        s += ok;
        left -= ok;
        if (left > 0) {
            msb__buf_append(b, "\xEF\xBF\xBD", 3);
            s++;
            left--;
        }
    }
    msb__buf_free(&raw);
}

size_t msb__baggage_encoded_len(const char *v, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        len += (msb__baggage_octet(c) && c != '%') ? 1 : 3;
    }
    return len;
}

void msb__baggage_encode(msb__buf_t *b, const char *v, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (msb__baggage_octet(c) && c != '%') {
            msb__buf_putc(b, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            msb__buf_append(b, esc, 3);
        }
    }
}
