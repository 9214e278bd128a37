/* Security headers: each configured one is added unless the handler set it; HSTS only on TLS. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "http/chars.h"
#include "http/internal.h"

enum { H_HSTS = 0, H_FRAME, H_CSP, H_REFERRER, H_NOSNIFF, H_COUNT };

static const char *const names[H_COUNT] = {"Strict-Transport-Security", "X-Frame-Options",
                                           "Content-Security-Policy", "Referrer-Policy",
                                           "X-Content-Type-Options"};

typedef struct sec {
    char *value[H_COUNT]; /* NULL: not sent */
} sec_t;

static void on_response(msb_http_req_t *req, void *state, void *user)
{
    MSB_UNUSED(state);
    const sec_t *s = user;
    for (int i = 0; i < H_COUNT; i++) {
        if (s->value[i] == NULL || (i == H_HSTS && !req->conn->tls)) {
            continue;
        }
        if (msb_http_resp_header_get(req, names[i]) == NULL) {
            msb__http_resp_header_static(req, names[i], strlen(names[i]), s->value[i],
                                         strlen(s->value[i]));
        }
    }
}

static void destroy(void *user)
{
    sec_t *s = user;
    for (int i = 0; i < H_COUNT; i++) {
        msb__free(s->value[i]);
    }
    msb__free(s);
}

static msb_status_t take(sec_t *s, int i, const char *v, msb_error_t *err)
{
    if (v == NULL || v[0] == '\0') {
        return MSB_OK;
    }
    for (const char *p = v; *p != '\0'; p++) {
        if (!msb__is_value((unsigned char)*p)) {
            return msb__err(err, MSB_EINVAL, "http security headers: %s has a control character",
                            names[i]);
        }
    }
    s->value[i] = msb__strdup(v);
    return s->value[i] != NULL ? MSB_OK : msb__err_nomem(err, "a security header");
}

msb_status_t msb_http_mw_security_new(const msb_http_security_opts_t *opts, msb_http_mw_t **out,
                                      msb_error_t *err)
{
    msb_http_security_opts_t o = MSB_HTTP_SECURITY_OPTS_INIT;
    if (opts != NULL) {
        o.hsts = MSB_OPT_HAS(opts, hsts) ? opts->hsts : o.hsts;
        o.frame_options = MSB_OPT_HAS(opts, frame_options) ? opts->frame_options : o.frame_options;
        o.csp = MSB_OPT_HAS(opts, csp) ? opts->csp : o.csp;
        o.referrer_policy =
            MSB_OPT_HAS(opts, referrer_policy) ? opts->referrer_policy : o.referrer_policy;
        o.nosniff = MSB_OPT_HAS(opts, nosniff) ? opts->nosniff : o.nosniff;
    }
    sec_t *s = msb__calloc(1, sizeof(*s));
    if (s == NULL) {
        return msb__err_nomem(err, "the security-headers middleware");
    }
    msb_status_t rc = take(s, H_HSTS, o.hsts, err);
    if (rc == MSB_OK) {
        rc = take(s, H_FRAME, o.frame_options, err);
    }
    if (rc == MSB_OK) {
        rc = take(s, H_CSP, o.csp, err);
    }
    if (rc == MSB_OK) {
        rc = take(s, H_REFERRER, o.referrer_policy, err);
    }
    if (rc == MSB_OK) {
        rc = take(s, H_NOSNIFF, o.nosniff ? "nosniff" : NULL, err);
    }
    msb_http_mw_ops_t ops = MSB_HTTP_MW_OPS_INIT;
    ops.name = "security_headers";
    ops.on_response = on_response;
    ops.destroy = destroy;
    if (rc == MSB_OK) {
        rc = msb_http_mw_new(&ops, s, out, err);
    }
    if (rc != MSB_OK) {
        destroy(s);
    }
    return rc;
}
