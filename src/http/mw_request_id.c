/* The request-id middleware: keep a sane incoming X-Request-Id, else 128 random bits in hex. */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rand.h"
#include "http/internal.h"

#define MAX_ID 128

typedef struct rid {
    bool trust;
    bool echo;
} rid_t;

static bool sane(const char *s, size_t n)
{
    if (n == 0 || n > MAX_ID) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '/' || c == '=';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static void put_hex(char *out, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        unsigned b = (unsigned)(v >> (i * 8)) & 0xffu;
        out[2 * i] = hex[b >> 4];
        out[2 * i + 1] = hex[b & 15u];
    }
}

static void generate(msb_http_req_t *req)
{
    put_hex(req->id, msb__rand_u64());
    put_hex(req->id + 16, msb__rand_u64());
    req->id[32] = '\0';
    req->id_len = 32;
}

static msb_http_mw_result_t on_request(msb_http_req_t *req, void *state, void *user)
{
    MSB_UNUSED(state);
    const rid_t *o = user;
    if (o->trust) {
        const msb__http_field_t *f = msb__http_req_field(req, MSB__H_X_REQUEST_ID);
        if (f != NULL && sane(req->base + f->value_off, f->value_len)) {
            memcpy(req->id, req->base + f->value_off, f->value_len);
            req->id[f->value_len] = '\0';
            req->id_len = (uint8_t)f->value_len;
            return MSB_HTTP_NEXT;
        }
    }
    generate(req);
    return MSB_HTTP_NEXT;
}

static void on_response(msb_http_req_t *req, void *state, void *user)
{
    MSB_UNUSED(state);
    const rid_t *o = user;
    if (req->id_len == 0) {
        generate(req); /* an answer given before routing (malformed request) */
    }
    if (o->echo) {
        msb__http_resp_header_static(req, "X-Request-Id", 12, req->id, req->id_len);
    }
}

static void destroy(void *user)
{
    msb__free(user);
}

msb_status_t msb_http_mw_request_id_new(const msb_http_request_id_opts_t *opts, msb_http_mw_t **out,
                                        msb_error_t *err)
{
    rid_t *o = msb__calloc(1, sizeof(*o));
    if (o == NULL) {
        return msb__err_nomem(err, "the request-id middleware");
    }
    msb_http_request_id_opts_t d = MSB_HTTP_REQUEST_ID_OPTS_INIT;
    o->trust = MSB_OPT_HAS(opts, trust_header) ? opts->trust_header : d.trust_header;
    o->echo = MSB_OPT_HAS(opts, echo) ? opts->echo : d.echo;
    msb_http_mw_ops_t ops = MSB_HTTP_MW_OPS_INIT;
    ops.name = "request_id";
    ops.on_request = on_request;
    ops.on_response = on_response;
    ops.destroy = destroy;
    msb_status_t rc = msb_http_mw_new(&ops, o, out, err);
    if (rc != MSB_OK) {
        msb__free(o);
    }
    return rc;
}
