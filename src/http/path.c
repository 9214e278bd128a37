/* Path segments for routing: split, then percent-decode; the policy is in path.h. */
#include <string.h>

#include "core/utf8.h"
#include "http/chars.h"
#include "http/path.h"

long msb__http_pct_decode(const char *in, size_t n, char *out, bool plus_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= n) {
                return -1;
            }
            int hi = msb__hexval((unsigned char)in[i + 1]);
            int lo = msb__hexval((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            out[o++] = ' ';
        } else {
            out[o++] = c;
        }
    }
    return (long)o;
}

static bool fail(msb__http_perr_t *e, uint16_t status, const char *detail)
{
    e->status = status;
    e->detail = detail;
    return false;
}

/* The raw path is ASCII without NUL (the parser saw to it): only decoded bytes need checking. */
static bool check_segment(const msb__http_seg_t *g, bool decoded, msb__http_perr_t *e)
{
    if ((g->len == 1 && g->s[0] == '.') || (g->len == 2 && g->s[0] == '.' && g->s[1] == '.')) {
        return fail(e, 400, "dot segments (\".\", \"..\") are not allowed in the path");
    }
    if (!decoded) {
        return true;
    }
    if (memchr(g->s, '\0', g->len) != NULL) {
        return fail(e, 400, "the path contains an encoded NUL");
    }
    if (!msb__utf8_valid(g->s, g->len)) {
        return fail(e, 400, "the decoded path is not valid UTF-8");
    }
    return true;
}

bool msb__http_path_split(const char *path, size_t n, msb__http_seg_t *segs, size_t *nsegs,
                          char *scratch, msb__http_perr_t *e)
{
    size_t k = 0;
    size_t used = 0;
    size_t i = 1; /* path[0] == '/' */
    for (;;) {
        size_t start = i;
        while (i < n && path[i] != '/') {
            i++;
        }
        if (k == MSB__HTTP_MAX_SEGMENTS) {
            return fail(e, 414, "too many path segments");
        }
        msb__http_seg_t *g = &segs[k++];
        g->raw_off = (uint32_t)start;
        const char *raw = path + start;
        size_t len = i - start;
        bool decoded = memchr(raw, '%', len) != NULL;
        if (!decoded) {
            g->s = raw;
            g->len = (uint32_t)len;
        } else {
            long d = msb__http_pct_decode(raw, len, scratch + used, false);
            if (d < 0) {
                return fail(e, 400, "malformed percent-encoding in the path");
            }
            g->s = scratch + used;
            g->len = (uint32_t)d;
            used += (size_t)d;
        }
        if (!check_segment(g, decoded, e)) {
            return false;
        }
        if (i >= n) {
            break;
        }
        i++;
    }
    *nsegs = k;
    return true;
}
