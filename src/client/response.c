/*
 * Responses: the status line and header fields as the transport hands them over, line by line,
 * and the accessors of the public API.
 */
#include <string.h>

#include "client/internal.h"
#include "core/alloc.h"
#include "core/str.h"

msb_client_response_t *msb__client_response_new(void)
{
    msb_client_response_t *r = msb__calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    msb__buf_init(&r->head, 0);
    msb__buf_init(&r->body, 0);
    return r;
}

void msb__client_response_reset(msb_client_response_t *r)
{
    r->status = 0;
    msb__buf_reset(&r->head);
    msb__buf_reset(&r->body);
    r->nfields = 0;
    r->folding_ok = false;
}

void msb_client_response_free(msb_client_response_t *r)
{
    if (r == NULL) {
        return;
    }
    msb__buf_free(&r->head);
    msb__buf_free(&r->body);
    msb__free(r->fields);
    msb__free(r);
}

/* "HTTP/1.1 200 OK", "HTTP/2 200": the three digits after the first space. */
static msb_status_t status_line(msb_client_response_t *r, const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len);
    if (sp == NULL || (size_t)(sp - line) + 4 > len) {
        return MSB_EPROTO;
    }
    int code = 0;
    for (int i = 1; i <= 3; i++) {
        char ch = sp[i];
        if (ch < '0' || ch > '9') {
            return MSB_EPROTO;
        }
        code = code * 10 + (ch - '0');
    }
    size_t after = (size_t)(sp - line) + 4;
    if (after < len && line[after] != ' ' && line[after] != '\r' && line[after] != '\n') {
        return MSB_EPROTO;
    }
    if (code < 100) {
        return MSB_EPROTO;
    }
    msb__client_response_reset(r);
    r->status = code;
    return MSB_OK;
}

static void trim(const char **p, size_t *n)
{
    while (*n > 0 && ((*p)[0] == ' ' || (*p)[0] == '\t')) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t')) {
        (*n)--;
    }
}

static msb_status_t add_field(msb_client_response_t *r, const char *name, size_t nlen,
                              const char *value, size_t vlen)
{
    if (r->nfields == r->fields_cap) {
        size_t cap = r->fields_cap == 0 ? 16 : r->fields_cap * 2;
        size_t *f = msb__realloc(r->fields, cap * sizeof(*f));
        if (f == NULL) {
            return MSB_ENOMEM;
        }
        r->fields = f;
        r->fields_cap = cap;
    }
    size_t at = r->head.len;
    msb__buf_append(&r->head, name, nlen);
    msb__buf_putc(&r->head, '\0');
    msb__buf_append(&r->head, value, vlen);
    msb__buf_putc(&r->head, '\0');
    if (msb__buf_status(&r->head) != MSB_OK) {
        return MSB_ENOMEM;
    }
    r->fields[r->nfields++] = at;
    return MSB_OK;
}

/* An obs-fold line continues the previous value (RFC 9112 5.2: replace the fold by a space).
 * The value is the last thing in `head`: drop its NUL, append, end it again. */
static msb_status_t fold(msb_client_response_t *r, const char *p, size_t n)
{
    trim(&p, &n);
    r->head.len--; /* the value's NUL */
    msb__buf_putc(&r->head, ' ');
    msb__buf_append(&r->head, p, n);
    msb__buf_putc(&r->head, '\0');
    return msb__buf_status(&r->head) == MSB_OK ? MSB_OK : MSB_ENOMEM;
}

msb_status_t msb__client_response_line(msb_client_response_t *r, const char *line, size_t len,
                                       bool *end)
{
    *end = false;
    size_t n = len;
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n')) {
        n--;
    }
    if (n == 0) {
        *end = r->status != 0;
        r->folding_ok = false;
        return r->status != 0 ? MSB_OK : MSB_EPROTO;
    }
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        return status_line(r, line, n);
    }
    if (r->status == 0) {
        return MSB_EPROTO;
    }
    if (line[0] == ' ' || line[0] == '\t') {
        return r->folding_ok ? fold(r, line, n) : MSB_EPROTO;
    }
    const char *colon = memchr(line, ':', n);
    if (colon == NULL || !msb__client_token(line, (size_t)(colon - line), SIZE_MAX)) {
        return MSB_EPROTO;
    }
    const char *v = colon + 1;
    size_t vn = n - (size_t)(v - line);
    trim(&v, &vn);
    msb_status_t rc = add_field(r, line, (size_t)(colon - line), v, vn);
    r->folding_ok = rc == MSB_OK;
    return rc;
}

/* ---- the public accessors ------------------------------------------------------------------- */

int msb_client_response_status(const msb_client_response_t *r)
{
    return r != NULL ? r->status : 0;
}

const char *msb_client_response_body(const msb_client_response_t *r, size_t *len)
{
    if (len != NULL) {
        *len = r != NULL ? r->body.len : 0;
    }
    if (r == NULL || r->body.data == NULL) {
        return "";
    }
    return r->body.data;
}

size_t msb_client_response_header_count(const msb_client_response_t *r)
{
    return r != NULL ? r->nfields : 0;
}

msb_status_t msb_client_response_header_at(const msb_client_response_t *r, size_t i,
                                           const char **name, const char **value)
{
    if (r == NULL || i >= r->nfields) {
        return MSB_ERANGE;
    }
    const char *n = r->head.data + r->fields[i];
    if (name != NULL) {
        *name = n;
    }
    if (value != NULL) {
        *value = n + strlen(n) + 1;
    }
    return MSB_OK;
}

const char *msb_client_response_header(const msb_client_response_t *r, const char *name,
                                       size_t index)
{
    if (r == NULL || name == NULL) {
        return NULL;
    }
    size_t want = strlen(name);
    for (size_t i = 0; i < r->nfields; i++) {
        const char *n = r->head.data + r->fields[i];
        size_t nl = strlen(n);
        if (nl == want && msb__ascii_ieq(n, nl, name)) {
            if (index == 0) {
                return n + nl + 1;
            }
            index--;
        }
    }
    return NULL;
}

uint32_t msb_client_response_attempts(const msb_client_response_t *r)
{
    return r != NULL ? r->attempts : 0;
}
