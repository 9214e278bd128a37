/*
 * The HTTP/1.1 request parser (RFC 9112 framing, RFC 9110 semantics of the framing fields).
 *
 * Incremental and zero-copy: the caller appends bytes to one buffer and calls
 * msb__http_parse_head() again; each complete line is examined once (no rescans), so a head
 * dribbled one byte at a time costs the same as one read. Results are offsets into the buffer,
 * relative to the start of the message, so the caller may move or grow the buffer between calls.
 * Completed lines are NUL-terminated in place (the SP after the method and the target, the ':'
 * after a field name, the first byte after a trimmed field value), which lets the request API hand
 * out C strings without copying.
 *
 * Strictness (docs/http.md, "Parser"): lines end in CRLF only (a bare LF or CR is 400); one SP
 * between the parts of the request line; obs-fold, whitespace before the colon and lines without
 * a colon are 400; field values may not contain CTLs; Content-Length must be one field with one
 * decimal value; Transfer-Encoding must end in chunked and may not come with Content-Length or in
 * HTTP/1.0; unknown transfer codings are 501. Every error closes the connection.
 */
#ifndef MSB_HTTP_PARSER_H
#define MSB_HTTP_PARSER_H

#include "core/common.h"

/* Fields the server itself interprets; the parser classifies names as it reads them. */
enum {
    MSB__H_OTHER = 0,
    MSB__H_HOST,
    MSB__H_CONTENT_LENGTH,
    MSB__H_TRANSFER_ENCODING,
    MSB__H_CONNECTION,
    MSB__H_EXPECT,
    MSB__H_CONTENT_TYPE,
    MSB__H_ACCEPT_ENCODING,
    MSB__H_ORIGIN,
    MSB__H_X_REQUEST_ID,
    MSB__H_ACR_METHOD, /* Access-Control-Request-Method */
    MSB__H_ACR_HEADERS /* Access-Control-Request-Headers */
};

enum { MSB__FORM_ORIGIN = 0, MSB__FORM_ABSOLUTE, MSB__FORM_AUTHORITY, MSB__FORM_ASTERISK };
enum { MSB__BODY_NONE = 0, MSB__BODY_LENGTH, MSB__BODY_CHUNKED };

/* One header field: offsets relative to the message start; both strings NUL-terminated there. */
typedef struct msb__http_field {
    uint32_t name_off;
    uint32_t value_off;
    uint32_t value_len;
    uint16_t name_len;
    uint16_t id;
} msb__http_field_t;

typedef struct msb__http_limits {
    uint32_t max_request_line; /* bytes of the request line (CRLF excluded); over: 414 */
    uint32_t max_header_bytes; /* bytes of all field lines (and of a trailer section); 431 */
    uint32_t max_headers;      /* field lines (and trailer lines); over: 431 */
    uint64_t max_body;         /* content bytes; over: 413 */
} msb__http_limits_t;

/* A parse failure: the status to answer with and a static one-line reason. */
typedef struct msb__http_perr {
    uint16_t status;
    const char *detail;
} msb__http_perr_t;

typedef struct msb__http_head {
    uint32_t method_len; /* the method starts at offset 0 after any skipped empty lines */
    uint32_t method_off;
    uint32_t target_off, target_len;
    uint32_t path_off, path_len; /* path_len 0 only for an absolute-form without a path: "/" */
    uint32_t query_off, query_len;
    uint32_t authority_off, authority_len; /* absolute- and authority-form */
    uint8_t form;
    uint8_t minor;     /* 0 or 1 (HTTP/1.2 … 1.9 are read as 1.1, RFC 9112 §2.3) */
    uint8_t has_query; /* a '?' was present (the query may be empty) */
    uint8_t framing;   /* MSB__BODY_* */
    uint8_t conn_close;
    uint8_t conn_keep_alive;
    uint8_t expect_continue;
    int32_t host_index; /* index in fields, or -1 */
    uint64_t content_length;
    uint32_t head_len; /* bytes of the whole head, final CRLF included */
    msb__http_field_t *fields;
    uint32_t nfields;
    uint32_t fields_cap; /* must be >= limits.max_headers */
} msb__http_head_t;

typedef struct msb__http_parser {
    uint32_t pos;           /* next byte to scan */
    uint32_t line_start;    /* start of the line being read */
    uint32_t headers_start; /* first byte after the request line */
    uint8_t state;
    uint8_t empty_lines;
} msb__http_parser_t;

/* Result of msb__http_parse_head() and msb__http_chunked_decode(). */
enum { MSB__PARSE_ERROR = -1, MSB__PARSE_MORE = 0, MSB__PARSE_DONE = 1 };

MSB_INTERNAL void msb__http_parser_init(msb__http_parser_t *p, msb__http_head_t *h);

/*
 * Parse buf[0..len) as the head of a request (more bytes than before, same start). Returns DONE
 * with h filled and h->head_len set (bytes after it belong to the body or the next request),
 * MORE, or ERROR with *e set. Limits are checked against partial lines too, so a peer cannot make
 * the caller buffer more than the limits allow.
 */
MSB_INTERNAL int msb__http_parse_head(msb__http_parser_t *p, char *buf, size_t len,
                                      const msb__http_limits_t *lim, msb__http_head_t *h,
                                      msb__http_perr_t *e);

/*
 * Validate one field line buf[0..len) (no CRLF): name ":" OWS value OWS. On success set the
 * name length and the value's span (trimmed); on failure fill *e (400).
 */
MSB_INTERNAL bool msb__http_field_line(const char *buf, size_t len, size_t *name_len,
                                       size_t *value_off, size_t *value_len, msb__http_perr_t *e);

/* Validate "uri-host [ ":" port ]" (Host field, absolute- and authority-form authority). */
MSB_INTERNAL bool msb__http_valid_authority(const char *s, size_t n, bool port_required);

/* Incremental chunked decoder (RFC 9112 §7.1). */
typedef struct msb__http_chunked {
    uint8_t state;
    uint64_t remaining; /* data bytes left in the current chunk */
    uint64_t total;     /* decoded bytes so far */
    uint32_t trailer_bytes;
    uint32_t trailer_lines;
} msb__http_chunked_t;

MSB_INTERNAL void msb__http_chunked_init(msb__http_chunked_t *d);

/*
 * Decode in[0..in_len) appending the chunk data to out (which must have room for in_len more
 * bytes and may alias in as long as out + *out_len <= in: data only ever moves down). *in_used
 * receives the bytes consumed; an incomplete line at the end stays unconsumed. Returns DONE after
 * the last chunk and the trailer section (validated, limited, discarded), MORE, or ERROR.
 */
MSB_INTERNAL int msb__http_chunked_decode(msb__http_chunked_t *d, const msb__http_limits_t *lim,
                                          char *in, size_t in_len, size_t *in_used, char *out,
                                          size_t *out_len, msb__http_perr_t *e);

/* Whether the decoder has finished (DONE was returned). */
MSB_INTERNAL bool msb__http_chunked_done(const msb__http_chunked_t *d);

/* Case-insensitive equality of a[0..an) and the NUL-terminated lower-case literal b. */
MSB_INTERNAL bool msb__http_ieq(const char *a, size_t an, const char *b);

#endif
