/*
 * Request paths as the router sees them (docs/http.md, "Path normalisation"):
 *
 * - the path is split on '/' BEFORE percent-decoding, so "%2F" inside a segment is data, never a
 *   separator; each segment is then decoded (RFC 3986 §2.1);
 * - a decoded segment that is "." or ".." is rejected (400): dot segments are never resolved,
 *   because a proxy and this server resolving them differently is a path-confusion attack;
 * - a decoded segment containing NUL or invalid UTF-8 is rejected (400);
 * - empty segments ("//", a trailing "/") are kept as they are: they match only literal empty
 *   segments (a trailing slash in a pattern) or a wildcard tail, so "/a//b" is not "/a/b".
 */
#ifndef MSB_HTTP_PATH_H
#define MSB_HTTP_PATH_H

#include "http/parser.h"

/* Most segments in a routed path; more is a 414. */
#define MSB__HTTP_MAX_SEGMENTS 128

typedef struct msb__http_seg {
    const char *s;    /* decoded bytes (into the raw path when nothing needed decoding) */
    uint32_t len;     /* decoded length */
    uint32_t raw_off; /* offset of the raw segment in the path */
} msb__http_seg_t;

/*
 * Percent-decode in[0..n) into out (room for n bytes); with plus_space, '+' becomes ' '
 * (application/x-www-form-urlencoded). Returns the decoded length, or -1 on a malformed escape.
 */
MSB_INTERNAL long msb__http_pct_decode(const char *in, size_t n, char *out, bool plus_space);

/*
 * Split path[0..n) (which starts with '/') into decoded segments. scratch needs n bytes. Returns
 * true, or false with *e set (400 or 414).
 */
MSB_INTERNAL bool msb__http_path_split(const char *path, size_t n, msb__http_seg_t *segs,
                                       size_t *nsegs, char *scratch, msb__http_perr_t *e);

#endif
