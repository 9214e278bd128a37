/*
 * gzip responses (zlib). Accept-Encoding is read with its q-values (RFC 9110 §12.5.3): gzip (or
 * x-gzip) with q > 0, or "*" with q > 0 when gzip is not named. Each worker thread keeps one
 * deflate stream and resets it per response, so zlib's ~256 KiB of state is allocated once per
 * thread, not per response.
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>
#define ZLIB_CONST
#include <zlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "http/chars.h"
#include "http/internal.h"

typedef struct gz {
    int level;
    size_t min_size;
    pthread_key_t key;
} gz_t;

/* q-value of a list element's parameters ("gzip;q=0.5"): 1000 for 1, 0 for 0, -1 if malformed. */
static int qvalue(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (msb__is_ows((unsigned char)s[i]) || s[i] == ';')) {
        i++;
    }
    if (i == n) {
        return 1000;
    }
    if (n - i < 3 || (s[i] != 'q' && s[i] != 'Q') || s[i + 1] != '=') {
        return -1;
    }
    i += 2;
    int q = 0;
    if (s[i] == '1') {
        q = 1000;
    } else if (s[i] != '0') {
        return -1;
    }
    i++;
    if (i < n && s[i] == '.') {
        int scale = 100;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9' && scale > 0; i++, scale /= 10) {
            q += (s[i] - '0') * scale;
        }
    }
    return q > 1000 ? 1000 : q;
}

/* Whether Accept-Encoding lets us send gzip. */
static bool accepts_gzip(const char *v, size_t n)
{
    int gzip = -1;
    int star = -1;
    size_t i = 0;
    while (i < n) {
        size_t s = i;
        while (i < n && v[i] != ',') {
            i++;
        }
        size_t a = s;
        while (a < i && msb__is_ows((unsigned char)v[a])) {
            a++;
        }
        size_t t = a;
        while (t < i && msb__is_tchar((unsigned char)v[t])) {
            t++;
        }
        int q = qvalue(v + t, i - t);
        if (msb__http_ieq(v + a, t - a, "gzip") || msb__http_ieq(v + a, t - a, "x-gzip")) {
            gzip = q;
        } else if (t - a == 1 && v[a] == '*') {
            star = q;
        }
        i++;
    }
    return gzip > 0 || (gzip < 0 && star > 0);
}

static bool compressible(const char *ct)
{
    if (ct == NULL) {
        return false;
    }
    size_t n = strcspn(ct, ";");
    while (n > 0 && msb__is_ows((unsigned char)ct[n - 1])) {
        n--;
    }
    if (n > 5 && strncasecmp(ct, "text/", 5) == 0) {
        return true;
    }
    static const char *const types[] = {"application/json", "application/javascript",
                                        "application/xml", "image/svg+xml",
                                        "application/x-www-form-urlencoded"};
    for (size_t i = 0; i < MSB_ARRAY_LEN(types); i++) {
        if (strlen(types[i]) == n && strncasecmp(ct, types[i], n) == 0) {
            return true;
        }
    }
    return (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0) ||
           (n > 4 && strncasecmp(ct + n - 4, "+xml", 4) == 0);
}

static void stream_free(void *p)
{
    z_stream *z = p;
    deflateEnd(z);
    msb__free(z);
}

static z_stream *stream_for_thread(gz_t *g)
{
    z_stream *z = pthread_getspecific(g->key);
    if (z != NULL) {
        return deflateReset(z) == Z_OK ? z : NULL;
    }
    z = msb__calloc(1, sizeof(*z));
    if (z == NULL) {
        return NULL;
    }
    if (deflateInit2(z, g->level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        msb__free(z);
        return NULL;
    }
    if (pthread_setspecific(g->key, z) != 0) {
        stream_free(z);
        return NULL;
    }
    return z;
}

static void on_response(msb_http_req_t *req, void *state, void *user)
{
    MSB_UNUSED(state);
    gz_t *g = user;
    int st = req->status;
    if (req->resp != MSB__RESP_HOOKS || req->chunked_out || st < 200 || st == 204 || st == 206 ||
        st == 304 || !compressible(msb_http_resp_header_get(req, "Content-Type")) ||
        msb_http_resp_header_get(req, "Content-Encoding") != NULL) {
        return;
    }
    msb__http_resp_header_static(req, "Vary", 4, "Accept-Encoding", 15);
    const msb__http_field_t *ae = msb__http_req_field(req, MSB__H_ACCEPT_ENCODING);
    if (req->rbody_len < g->min_size || ae == NULL ||
        !accepts_gzip(req->base + ae->value_off, ae->value_len)) {
        return;
    }
    z_stream *z = stream_for_thread(g);
    if (z == NULL) {
        return; /* out of memory: send it as it is */
    }
    uLong bound = deflateBound(z, (uLong)req->rbody_len);
    unsigned char *out = msb_http_req_alloc(req, bound);
    if (out == NULL) {
        return;
    }
    z->next_in = (const Bytef *)req->rbody;
    z->avail_in = (uInt)req->rbody_len;
    z->next_out = out;
    z->avail_out = (uInt)bound;
    if (deflate(z, Z_FINISH) != Z_STREAM_END || z->total_out >= req->rbody_len) {
        return;
    }
    msb__http_resp_body_static(req, out, z->total_out);
    msb__http_resp_header_static(req, "Content-Encoding", 16, "gzip", 4);
}

static void destroy(void *user)
{
    gz_t *g = user;
    pthread_key_delete(g->key);
    msb__free(g);
}

msb_status_t msb_http_mw_gzip_new(const msb_http_gzip_opts_t *opts, msb_http_mw_t **out,
                                  msb_error_t *err)
{
    msb_http_gzip_opts_t o = MSB_HTTP_GZIP_OPTS_INIT;
    if (opts != NULL) {
        o.level = MSB_OPT_HAS(opts, level) ? opts->level : o.level;
        o.min_size = MSB_OPT_HAS(opts, min_size) ? opts->min_size : o.min_size;
    }
    if (o.level < 1 || o.level > 9) {
        return msb__err(err, MSB_EINVAL, "http gzip: level %d not in 1..9", o.level);
    }
    gz_t *g = msb__calloc(1, sizeof(*g));
    if (g == NULL) {
        return msb__err_nomem(err, "the gzip middleware");
    }
    g->level = o.level;
    g->min_size = o.min_size;
    if (pthread_key_create(&g->key, stream_free) != 0) {
        msb__free(g);
        return msb__err(err, MSB_ENOMEM, "http gzip: no thread-specific key left");
    }
    msb_http_mw_ops_t ops = MSB_HTTP_MW_OPS_INIT;
    ops.name = "gzip";
    ops.on_response = on_response;
    ops.destroy = destroy;
    msb_status_t rc = msb_http_mw_new(&ops, g, out, err);
    if (rc != MSB_OK) {
        destroy(g);
    }
    return rc;
}
