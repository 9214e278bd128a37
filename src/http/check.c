/*
 * Validation of decoded JSON: every failure is recorded (in the request's memory) and reported
 * together as the `errors` member of a 422 problem, one {"field","message"} per bad field.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "http/internal.h"

typedef struct check_err {
    struct check_err *next;
    char *field;
    char *message;
} check_err_t;

struct msb_http_check {
    msb_http_req_t *req;
    check_err_t *first;
    check_err_t *last;
    size_t count;
    bool oom;
};

msb_http_check_t *msb_http_check_begin(msb_http_req_t *req)
{
    /* never written: with no request every call is a no-op and the end reports ENOMEM (the
     * handler returning it gets a 500) */
    static msb_http_check_t failed = {NULL, NULL, NULL, 0, true};
    msb_http_check_t *c = msb_http_req_alloc(req, sizeof(*c));
    if (c == NULL) {
        return &failed;
    }
    memset(c, 0, sizeof(*c));
    c->req = req;
    return c;
}

void msb_http_check_fail(msb_http_check_t *c, const char *field, const char *fmt, ...)
{
    if (c->req == NULL) {
        return;
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    check_err_t *e = msb_http_req_alloc(c->req, sizeof(*e));
    size_t fl = strlen(field);
    size_t ml = strlen(msg);
    char *f = e != NULL ? msb_http_req_alloc(c->req, fl + 1) : NULL;
    char *m = f != NULL ? msb_http_req_alloc(c->req, ml + 1) : NULL;
    if (m == NULL) {
        c->oom = true;
        return;
    }
    memcpy(f, field, fl + 1);
    memcpy(m, msg, ml + 1);
    e->field = f;
    e->message = m;
    e->next = NULL;
    if (c->last != NULL) {
        c->last->next = e;
    } else {
        c->first = e;
    }
    c->last = e;
    c->count++;
}

bool msb_http_check_object(msb_http_check_t *c, const json_t *obj, const char *field)
{
    if (json_is_object(obj)) {
        return true;
    }
    msb_http_check_fail(c, field, "must be an object");
    return false;
}

/* The member, or NULL (and an error when required). JSON null counts as absent. */
static const json_t *member(msb_http_check_t *c, const json_t *obj, const char *field,
                            bool required)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, field) : NULL;
    if (v == NULL || json_is_null(v)) {
        if (required) {
            msb_http_check_fail(c, field, "is required");
        }
        return NULL;
    }
    return v;
}

static size_t code_points(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            k++;
        }
    }
    return k;
}

const char *msb_http_check_string(msb_http_check_t *c, const json_t *obj, const char *field,
                                  bool required, size_t min_len, size_t max_len)
{
    const json_t *v = member(c, obj, field, required);
    if (v == NULL) {
        return NULL;
    }
    if (!json_is_string(v)) {
        msb_http_check_fail(c, field, "must be a string");
        return NULL;
    }
    size_t n = code_points(json_string_value(v), json_string_length(v));
    if (n < min_len || (max_len > 0 && n > max_len)) {
        if (max_len > 0) {
            msb_http_check_fail(c, field, "must be %zu to %zu characters long", min_len, max_len);
        } else {
            msb_http_check_fail(c, field, "must be at least %zu characters long", min_len);
        }
        return NULL;
    }
    if (memchr(json_string_value(v), '\0', json_string_length(v)) != NULL) {
        msb_http_check_fail(c, field, "must not contain NUL characters");
        return NULL;
    }
    return json_string_value(v);
}

bool msb_http_check_int(msb_http_check_t *c, const json_t *obj, const char *field, bool required,
                        int64_t min, int64_t max, int64_t *out)
{
    const json_t *v = member(c, obj, field, required);
    if (v == NULL) {
        return false;
    }
    if (!json_is_integer(v)) {
        msb_http_check_fail(c, field, "must be an integer");
        return false;
    }
    int64_t x = (int64_t)json_integer_value(v);
    if (x < min || x > max) {
        msb_http_check_fail(c, field, "must be between %lld and %lld", (long long)min,
                            (long long)max);
        return false;
    }
    *out = x;
    return true;
}

bool msb_http_check_number(msb_http_check_t *c, const json_t *obj, const char *field, bool required,
                           double min, double max, double *out)
{
    const json_t *v = member(c, obj, field, required);
    if (v == NULL) {
        return false;
    }
    if (!json_is_number(v)) {
        msb_http_check_fail(c, field, "must be a number");
        return false;
    }
    double x = json_number_value(v);
    if (!isfinite(x) || x < min || x > max) {
        msb_http_check_fail(c, field, "must be between %g and %g", min, max);
        return false;
    }
    *out = x;
    return true;
}

bool msb_http_check_bool(msb_http_check_t *c, const json_t *obj, const char *field, bool required,
                         bool *out)
{
    const json_t *v = member(c, obj, field, required);
    if (v == NULL) {
        return false;
    }
    if (!json_is_boolean(v)) {
        msb_http_check_fail(c, field, "must be true or false");
        return false;
    }
    *out = json_is_true(v);
    return true;
}

const char *msb_http_check_enum(msb_http_check_t *c, const json_t *obj, const char *field,
                                bool required, const char *const *allowed)
{
    const char *s = msb_http_check_string(c, obj, field, required, 0, 0);
    if (s == NULL) {
        return NULL;
    }
    for (size_t i = 0; allowed != NULL && allowed[i] != NULL; i++) {
        if (strcmp(s, allowed[i]) == 0) {
            return s;
        }
    }
    msb_http_check_fail(c, field, "is not one of the allowed values");
    return NULL;
}

void msb_http_check_no_extra(msb_http_check_t *c, const json_t *obj, const char *const *known)
{
    const char *key;
    const json_t *v;
    if (!json_is_object(obj)) {
        return;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        bool found = false;
        for (size_t i = 0; known != NULL && known[i] != NULL && !found; i++) {
            found = strcmp(key, known[i]) == 0;
        }
        if (!found) {
            msb_http_check_fail(c, key, "is not a known field");
        }
    }
}

size_t msb_http_check_errors(const msb_http_check_t *c)
{
    return c->count;
}

msb_status_t msb_http_check_end(msb_http_check_t *c)
{
    if (c->req == NULL || c->oom) {
        if (c->req != NULL) {
            msb__http_fail(c->req, 500, "out of memory validating the request");
        }
        return MSB_ENOMEM;
    }
    if (c->count == 0) {
        return MSB_OK;
    }
    msb__buf_t b = MSB__BUF_INIT;
    msb__buf_putc(&b, '[');
    for (const check_err_t *e = c->first; e != NULL; e = e->next) {
        msb__buf_puts(&b, e == c->first ? "{\"field\":" : ",{\"field\":");
        msb__buf_put_json_str(&b, e->field, strlen(e->field));
        msb__buf_puts(&b, ",\"message\":");
        msb__buf_put_json_str(&b, e->message, strlen(e->message));
        msb__buf_putc(&b, '}');
    }
    msb__buf_putc(&b, ']');
    msb_status_t rc = MSB_EINVAL;
    if (msb__buf_status(&b) != MSB_OK) {
        msb__http_fail(c->req, 500, "out of memory validating the request");
        rc = MSB_ENOMEM;
    } else {
        msb__http_problem(c->req, 422, "the request body has invalid fields", b.data, b.len);
    }
    msb__buf_free(&b);
    return rc;
}
