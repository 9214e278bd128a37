/*
 * CORS (the Fetch standard's "CORS protocol"). Allowed origins are echoed (with Vary: Origin),
 * never "*" together with credentials. A preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) is answered here: 204 with the allowed method and headers and
 * Access-Control-Max-Age, or a 403 problem when the origin, the method or a header is not allowed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "http/chars.h"
#include "http/internal.h"

typedef struct cors {
    char **origins;
    size_t norigins;
    bool any;
    char **headers; /* allowed request headers */
    size_t nheaders;
    char *methods; /* joined, or NULL: the route's */
    char **method_list;
    size_t nmethods;
    char *expose; /* joined, or NULL */
    char max_age[24];
    bool credentials;
} cors_t;

typedef struct cors_state {
    const char *origin;
    size_t origin_len;
} cors_state_t;

static bool origin_allowed(const cors_t *c, const char *o, size_t n)
{
    for (size_t i = 0; i < c->norigins; i++) {
        if (strlen(c->origins[i]) == n && memcmp(c->origins[i], o, n) == 0) {
            return true;
        }
    }
    return c->any;
}

static bool in_list(char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(list[i]) == len && strncasecmp(list[i], s, len) == 0) {
            return true;
        }
    }
    return false;
}

static bool safelisted(const char *s, size_t n)
{
    return msb__http_ieq(s, n, "accept") || msb__http_ieq(s, n, "accept-language") ||
           msb__http_ieq(s, n, "content-language");
}

/* Every header named in Access-Control-Request-Headers must be allowed. */
static bool headers_allowed(const cors_t *c, const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ',' || msb__is_ows((unsigned char)v[i]))) {
            i++;
        }
        size_t s = i;
        while (i < n && msb__is_tchar((unsigned char)v[i])) {
            i++;
        }
        if (i == s) {
            return i == n;
        }
        if (!safelisted(v + s, i - s) && !in_list(c->headers, c->nheaders, v + s, i - s)) {
            return false;
        }
    }
    return true;
}

static void allow_origin(msb_http_req_t *req, const cors_t *c, const char *o, size_t n)
{
    if (c->any && !c->credentials && c->norigins == 0) {
        msb__http_resp_header_static(req, "Access-Control-Allow-Origin", 27, "*", 1);
        return;
    }
    msb__http_resp_header_static(req, "Access-Control-Allow-Origin", 27, o, n);
    if (c->credentials) {
        msb__http_resp_header_static(req, "Access-Control-Allow-Credentials", 32, "true", 4);
    }
}

static msb_http_mw_result_t preflight(msb_http_req_t *req, const cors_t *c, const char *o, size_t n,
                                      const msb__http_field_t *acrm)
{
    const char *m = req->base + acrm->value_off;
    int mid = msb__http_router_method(req->loop->srv->router, m, acrm->value_len);
    bool method_ok = c->methods != NULL ? in_list(c->method_list, c->nmethods, m, acrm->value_len)
                                        : mid >= 0 && (req->allow & (1u << mid)) != 0;
    const msb__http_field_t *acrh = msb__http_req_field(req, MSB__H_ACR_HEADERS);
    const char *h = acrh != NULL ? req->base + acrh->value_off : NULL;
    if (!origin_allowed(c, o, n) || !method_ok ||
        (h != NULL && !headers_allowed(c, h, acrh->value_len))) {
        msb__http_fail(req, 403, "CORS preflight refused (origin, method or header not allowed)");
        return MSB_HTTP_DONE;
    }
    allow_origin(req, c, o, n);
    if (c->methods != NULL) {
        msb__http_resp_header_static(req, "Access-Control-Allow-Methods", 28, c->methods,
                                     strlen(c->methods));
    } else {
        char buf[512];
        size_t len = msb__http_router_allow(req->loop->srv->router, req->allow, buf, sizeof(buf));
        msb__http_resp_header_copy(req, "Access-Control-Allow-Methods", 28, buf, len);
    }
    if (h != NULL && acrh->value_len > 0) {
        msb__http_resp_header_static(req, "Access-Control-Allow-Headers", 28, h, acrh->value_len);
    }
    msb__http_resp_header_static(req, "Access-Control-Max-Age", 22, c->max_age, strlen(c->max_age));
    msb__http_resp_header_static(req, "Vary", 4, "Origin", 6);
    msb_http_respond(req, 204, NULL, NULL, 0);
    return MSB_HTTP_DONE;
}

static msb_http_mw_result_t on_request(msb_http_req_t *req, void *state, void *user)
{
    const cors_t *c = user;
    cors_state_t *st = state;
    const msb__http_field_t *of = msb__http_req_field(req, MSB__H_ORIGIN);
    if (of == NULL) {
        return MSB_HTTP_NEXT;
    }
    const char *o = req->base + of->value_off;
    const msb__http_field_t *acrm = msb__http_req_field(req, MSB__H_ACR_METHOD);
    if (req->method == MSB__M_OPTIONS && acrm != NULL) {
        return preflight(req, c, o, of->value_len, acrm);
    }
    st->origin = o;
    st->origin_len = of->value_len;
    return MSB_HTTP_NEXT;
}

static void on_response(msb_http_req_t *req, void *state, void *user)
{
    const cors_t *c = user;
    const cors_state_t *st = state;
    if (st->origin == NULL) {
        return;
    }
    if (!(c->any && !c->credentials && c->norigins == 0)) {
        msb__http_resp_header_static(req, "Vary", 4, "Origin", 6);
    }
    if (!origin_allowed(c, st->origin, st->origin_len)) {
        return;
    }
    allow_origin(req, c, st->origin, st->origin_len);
    if (c->expose != NULL) {
        msb__http_resp_header_static(req, "Access-Control-Expose-Headers", 29, c->expose,
                                     strlen(c->expose));
    }
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        msb__free(l[i]);
    }
    msb__free(l);
}

static void destroy(void *user)
{
    cors_t *c = user;
    free_list(c->origins, c->norigins);
    free_list(c->headers, c->nheaders);
    free_list(c->method_list, c->nmethods);
    msb__free(c->methods);
    msb__free(c->expose);
    msb__free(c);
}

static bool valid_origin(const char *o)
{
    const char *p = strstr(o, "://");
    if (p == NULL || p == o || p[3] == '\0') {
        return false;
    }
    for (const char *q = o; q < p; q++) {
        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '+' || *q == '-' ||
              *q == '.')) {
            return false;
        }
    }
    return msb__http_valid_authority(p + 3, strlen(p + 3), false);
}

static bool valid_token(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (!msb__is_tchar((unsigned char)s[i])) {
            return false;
        }
    }
    return n > 0;
}

/* Copy a NULL-ended list; with `joined`, also "a, b, c". */
static msb_status_t copy_list(const char *const *in, const char *what, bool tokens, char ***out,
                              size_t *n, char **joined, msb_error_t *err)
{
    size_t count = 0;
    while (in != NULL && in[count] != NULL) {
        if (tokens ? !valid_token(in[count]) : !valid_origin(in[count])) {
            return msb__err(err, MSB_EINVAL, "http cors: %s \"%s\" is not valid", what, in[count]);
        }
        count++;
    }
    *out = msb__calloc(count + 1, sizeof(char *));
    if (*out == NULL) {
        return msb__err_nomem(err, "a CORS list");
    }
    msb__buf_t b = MSB__BUF_INIT;
    for (size_t i = 0; i < count; i++) {
        (*out)[i] = msb__strdup(in[i]);
        if ((*out)[i] == NULL) {
            msb__buf_free(&b);
            return msb__err_nomem(err, "a CORS list");
        }
        *n = i + 1;
        msb__buf_puts(&b, i > 0 ? ", " : "");
        msb__buf_puts(&b, in[i]);
    }
    if (joined != NULL && count > 0) {
        if (msb__buf_status(&b) != MSB_OK) {
            msb__buf_free(&b);
            return msb__err_nomem(err, "a CORS list");
        }
        *joined = msb__buf_steal(&b, NULL);
    }
    msb__buf_free(&b);
    return MSB_OK;
}

static msb_status_t take_origins(cors_t *c, const char *const *in, msb_error_t *err)
{
    const char *list[64];
    size_t k = 0;
    for (size_t i = 0; in != NULL && in[i] != NULL; i++) {
        if (strcmp(in[i], "*") == 0) {
            c->any = true;
        } else if (k == MSB_ARRAY_LEN(list) - 1) {
            return msb__err(err, MSB_ELIMIT, "http cors: more than 63 origins");
        } else {
            list[k++] = in[i];
        }
    }
    list[k] = NULL;
    if (c->any && c->credentials) {
        return msb__err(err, MSB_EINVAL,
                        "http cors: origin \"*\" with credentials would let any site read "
                        "credentialed responses (the Fetch standard forbids it); list the origins");
    }
    return copy_list(list, "origin", false, &c->origins, &c->norigins, NULL, err);
}

msb_status_t msb_http_mw_cors_new(const msb_http_cors_opts_t *opts, msb_http_mw_t **out,
                                  msb_error_t *err)
{
    msb_http_cors_opts_t o = MSB_HTTP_CORS_OPTS_INIT;
    if (opts != NULL) {
        o.origins = MSB_OPT_HAS(opts, origins) ? opts->origins : NULL;
        o.methods = MSB_OPT_HAS(opts, methods) ? opts->methods : NULL;
        o.headers = MSB_OPT_HAS(opts, headers) ? opts->headers : NULL;
        o.expose = MSB_OPT_HAS(opts, expose) ? opts->expose : NULL;
        o.credentials = MSB_OPT_HAS(opts, credentials) ? opts->credentials : false;
        o.max_age_s = MSB_OPT_HAS(opts, max_age_s) ? opts->max_age_s : o.max_age_s;
    }
    cors_t *c = msb__calloc(1, sizeof(*c));
    if (c == NULL) {
        return msb__err_nomem(err, "the CORS middleware");
    }
    c->credentials = o.credentials;
    snprintf(c->max_age, sizeof(c->max_age), "%u", o.max_age_s);
    char **expose = NULL;
    size_t nexpose = 0;
    msb_status_t rc = take_origins(c, o.origins, err);
    if (rc == MSB_OK) {
        rc = copy_list(o.headers, "header", true, &c->headers, &c->nheaders, NULL, err);
    }
    if (rc == MSB_OK && o.methods != NULL) {
        rc = copy_list(o.methods, "method", true, &c->method_list, &c->nmethods, &c->methods, err);
    }
    if (rc == MSB_OK) {
        rc = copy_list(o.expose, "exposed header", true, &expose, &nexpose, &c->expose, err);
        free_list(expose, nexpose);
    }
    msb_http_mw_ops_t ops = MSB_HTTP_MW_OPS_INIT;
    ops.name = "cors";
    ops.state_size = sizeof(cors_state_t);
    ops.on_request = on_request;
    ops.on_response = on_response;
    ops.destroy = destroy;
    if (rc == MSB_OK) {
        rc = msb_http_mw_new(&ops, c, out, err);
    }
    if (rc != MSB_OK) {
        destroy(c);
    }
    return rc;
}
