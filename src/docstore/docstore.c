/* The document store's front: URL scheme to backend, argument checks, results, ids. */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/driver.h"
#include "core/error.h"
#include "core/rand.h"
#include "core/str.h"
#include "docstore/internal.h"

struct msb_docstore_result {
    size_t n;
    size_t cap;
    char **docs;
    size_t *lens;
};

msb_status_t msb__docstore_result_add(msb_docstore_result_t *r, const char *json, size_t len)
{
    if (r->n == r->cap) {
        size_t cap = r->cap == 0 ? 16 : r->cap * 2;
        char **d = msb__realloc(r->docs, cap * sizeof(*d));
        if (d == NULL) {
            return MSB_ENOMEM;
        }
        r->docs = d;
        size_t *l = msb__realloc(r->lens, cap * sizeof(*l));
        if (l == NULL) {
            return MSB_ENOMEM;
        }
        r->lens = l;
        r->cap = cap;
    }
    char *copy = msb__strndup(json, len);
    if (copy == NULL) {
        return MSB_ENOMEM;
    }
    r->docs[r->n] = copy;
    r->lens[r->n] = len;
    r->n++;
    return MSB_OK;
}

size_t msb_docstore_result_count(const msb_docstore_result_t *r)
{
    return r != NULL ? r->n : 0;
}

const char *msb_docstore_result_doc(const msb_docstore_result_t *r, size_t i, size_t *len)
{
    if (r == NULL || i >= r->n) {
        return NULL;
    }
    if (len != NULL) {
        *len = r->lens[i];
    }
    return r->docs[i];
}

void msb_docstore_result_free(msb_docstore_result_t *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        msb__free(r->docs[i]);
    }
    msb__free(r->docs);
    msb__free(r->lens);
    msb__free(r);
}

void msb_docstore_str_free(char *s)
{
    msb__free(s);
}

void msb__docstore_oid(char out[25])
{
    static _Atomic uint32_t counter;
    static _Atomic uint64_t process;
    uint64_t p = atomic_load(&process);
    if (p == 0) {
        uint64_t fresh = msb__rand_u64() | 1;
        atomic_compare_exchange_strong(&process, &p, fresh);
        p = atomic_load(&process);
    }
    uint32_t c = atomic_fetch_add(&counter, 1);
    if (c == 0) {
        c = atomic_fetch_add(&counter, (uint32_t)msb__rand_u64() | 1);
    }
    unsigned char b[12];
    uint32_t t = (uint32_t)time(NULL);
    for (int i = 0; i < 4; i++) {
        b[i] = (unsigned char)(t >> (24 - 8 * i));
    }
    for (int i = 0; i < 5; i++) {
        b[4 + i] = (unsigned char)(p >> (8 * i));
    }
    for (int i = 0; i < 3; i++) {
        b[9 + i] = (unsigned char)(c >> (16 - 8 * i));
    }
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 12; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[24] = '\0';
}

static char *escape(const char *text, bool regex)
{
    size_t n = strlen(text);
    char *out = msb__malloc(2 * n + 1);
    if (out == NULL) {
        return NULL;
    }
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        bool special = regex ? (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                                              (c >= 'A' && c <= 'Z') || c == ' '))
                             : (c == '%' || c == '_' || c == '\\');
        if (special) {
            out[j++] = '\\';
        }
        out[j++] = (char)c;
    }
    out[j] = '\0';
    return out;
}

char *msb__docstore_escape_regex(const char *text)
{
    return escape(text, true);
}

char *msb__docstore_escape_like(const char *text)
{
    return escape(text, false);
}

/* ---- the handle ----------------------------------------------------------------------------
 */

static msb_status_t pick_backend(const char *url, const char **backend, msb_error_t *err)
{
    if (url == NULL || url[0] == '\0') {
        return msb__err(err, MSB_EINVAL, "docstore: url is required (mongodb://… or sqlite:…)");
    }
    const char *colon = strchr(url, ':');
    size_t n = colon != NULL ? (size_t)(colon - url) : 0;
    if (colon != NULL && msb__ascii_ieq(url, n, "mongodb")) {
        *backend = "mongo";
    } else if (colon != NULL && msb__ascii_ieq(url, n, "sqlite")) {
        *backend = "sqlite";
    } else {
        return msb__err(err, MSB_ENOTSUP,
                        "docstore: url: unknown scheme \"%.*s\" (expected mongodb:// or sqlite:)",
                        (int)(n > 32 ? 32 : n), url);
    }
    return MSB_OK;
}

msb_status_t msb_docstore_new(const msb_docstore_opts_t *opts, msb_docstore_t **out,
                              msb_error_t *err)
{
    msb_docstore_opts_t o = MSB_DOCSTORE_OPTS_INIT;
    if (opts != NULL) {
#define TAKE(f)                                                                                    \
    if (MSB_OPT_HAS(opts, f)) {                                                                    \
        o.f = opts->f;                                                                             \
    }
        TAKE(url)
        TAKE(pool_size)
        TAKE(timeout_ns)
        TAKE(workers)
#undef TAKE
    }
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "docstore: NULL out");
    }
    if (o.pool_size == 0 || o.timeout_ns <= 0 || o.workers == 0 || o.workers > 64) {
        return msb__err(err, MSB_EINVAL,
                        "docstore: pool_size and timeout_ns must be positive, workers in [1, 64]");
    }
    const char *backend = NULL;
    msb_status_t rc = pick_backend(o.url, &backend, err);
    const void *drv = NULL;
    if (rc == MSB_OK) {
        rc = msb__driver_get("docstore", backend, &drv, err);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    const msb__docstore_driver_t *d = drv;
    if (d->abi != MSB__DOCSTORE_DRIVER_ABI) {
        return msb__err(err, MSB_EUNAVAIL, "docstore: the %s plugin is from another build",
                        backend);
    }
    msb_docstore_t *ds = msb__calloc(1, sizeof(*ds));
    if (ds == NULL) {
        return msb__err_nomem(err, "a document store");
    }
    ds->drv = d;
    ds->workers = o.workers;
    msb__docstore_cfg_t cfg = {o.url, o.pool_size, o.timeout_ns};
    rc = msb__docstore_exec_init(ds, err);
    if (rc == MSB_OK) {
        rc = d->open(&cfg, &ds->h, err);
        if (rc != MSB_OK) {
            msb__docstore_exec_fini(ds);
        }
    }
    if (rc != MSB_OK) {
        msb__free(ds);
        return rc;
    }
    *out = ds;
    return MSB_OK;
}

void msb_docstore_free(msb_docstore_t *ds)
{
    if (ds == NULL) {
        return;
    }
    msb__docstore_exec_fini(ds);
    ds->drv->close(ds->h);
    msb__free(ds);
}

/* Collection names: [A-Za-z0-9_.-], 1..64 bytes, not "system.*", not starting with '.'. */
static msb_status_t check_coll(const char *coll, msb_error_t *err)
{
    size_t n = coll != NULL ? strlen(coll) : 0;
    if (n == 0 || n > 64) {
        return msb__err(err, MSB_EINVAL, "docstore: collection name must be 1 to 64 bytes");
    }
    for (size_t i = 0; i < n; i++) {
        char c = coll[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (c == '.' && i > 0);
        if (!ok) {
            return msb__err(err, MSB_EINVAL,
                            "docstore: collection name \"%.64s\" has a byte outside "
                            "[A-Za-z0-9_.-]",
                            coll);
        }
    }
    if (strncmp(coll, "system.", 7) == 0) {
        return msb__err(err, MSB_EINVAL, "docstore: collection names system.* are reserved");
    }
    return MSB_OK;
}

static msb_status_t check(msb_docstore_t *ds, const char *coll, msb_error_t *err)
{
    if (ds == NULL) {
        return msb__err(err, MSB_EINVAL, "docstore: NULL store");
    }
    return check_coll(coll, err);
}

msb_status_t msb_docstore_caps(msb_docstore_t *ds, unsigned *out, msb_error_t *err)
{
    if (ds == NULL || out == NULL) {
        return msb__err(err, MSB_EINVAL, "docstore: NULL store or out");
    }
    return ds->drv->caps(ds->h, out, err);
}

msb_status_t msb_docstore_insert(msb_docstore_t *ds, const char *coll, const char *doc,
                                 char **id_out, msb_error_t *err)
{
    msb_status_t rc = check(ds, coll, err);
    const char *p = doc;
    while (p != NULL && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }
    if (rc == MSB_OK && (p == NULL || *p != '{')) {
        rc = msb__err(err, MSB_EINVAL, "docstore: a document must be a JSON object");
    }
    return rc != MSB_OK ? rc : ds->drv->insert(ds->h, coll, doc, id_out, err);
}

static msb_status_t new_result(msb_docstore_result_t **out, msb_error_t *err)
{
    if (out == NULL) {
        return msb__err(err, MSB_EINVAL, "docstore: NULL out");
    }
    *out = msb__calloc(1, sizeof(**out));
    return *out != NULL ? MSB_OK : msb__err_nomem(err, "a result");
}

static msb_status_t finish(msb_status_t rc, msb_docstore_result_t **out)
{
    if (rc != MSB_OK) {
        msb_docstore_result_free(*out);
        *out = NULL;
    }
    return rc;
}

static const msb_docstore_find_opts_t *find_opts(const msb_docstore_find_opts_t *in,
                                                 msb_docstore_find_opts_t *o)
{
    msb_docstore_find_opts_t def = MSB_DOCSTORE_FIND_OPTS_INIT;
    *o = def;
    if (in != NULL) {
        if (MSB_OPT_HAS(in, sort)) {
            o->sort = in->sort;
        }
        if (MSB_OPT_HAS(in, projection)) {
            o->projection = in->projection;
        }
        if (MSB_OPT_HAS(in, limit)) {
            o->limit = in->limit;
        }
        if (MSB_OPT_HAS(in, skip)) {
            o->skip = in->skip;
        }
    }
    return o;
}

msb_status_t msb_docstore_find(msb_docstore_t *ds, const char *coll, const char *filter,
                               const msb_docstore_find_opts_t *opts, msb_docstore_result_t **out,
                               msb_error_t *err)
{
    msb_docstore_find_opts_t o;
    msb_status_t rc = check(ds, coll, err);
    if (rc == MSB_OK && opts != NULL && (opts->limit < 0 || opts->skip < 0)) {
        rc = msb__err(err, MSB_EINVAL, "docstore: limit and skip must not be negative");
    }
    if (rc == MSB_OK) {
        rc = new_result(out, err);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    rc = ds->drv->find(ds->h, coll, filter, find_opts(opts, &o), *out, err);
    return finish(rc, out);
}

msb_status_t msb_docstore_find_one(msb_docstore_t *ds, const char *coll, const char *filter,
                                   char **doc_out, msb_error_t *err)
{
    if (doc_out == NULL) {
        return msb__err(err, MSB_EINVAL, "docstore: NULL doc_out");
    }
    msb_docstore_find_opts_t o = MSB_DOCSTORE_FIND_OPTS_INIT;
    o.limit = 1;
    msb_docstore_result_t *r = NULL;
    msb_status_t rc = msb_docstore_find(ds, coll, filter, &o, &r, err);
    if (rc != MSB_OK) {
        return rc;
    }
    if (r->n == 0) {
        msb_docstore_result_free(r);
        return MSB_ENOTFOUND;
    }
    *doc_out = r->docs[0];
    r->docs[0] = NULL;
    msb_docstore_result_free(r);
    return MSB_OK;
}

msb_status_t msb_docstore_count(msb_docstore_t *ds, const char *coll, const char *filter,
                                int64_t *out, msb_error_t *err)
{
    msb_status_t rc = check(ds, coll, err);
    if (rc == MSB_OK && out == NULL) {
        rc = msb__err(err, MSB_EINVAL, "docstore: NULL out");
    }
    return rc != MSB_OK ? rc : ds->drv->count(ds->h, coll, filter, out, err);
}

msb_status_t msb_docstore_update(msb_docstore_t *ds, const char *coll, const char *filter,
                                 const char *update, bool many, int64_t *matched, msb_error_t *err)
{
    msb_status_t rc = check(ds, coll, err);
    if (rc == MSB_OK && update == NULL) {
        rc = msb__err(err, MSB_EINVAL, "docstore: NULL update");
    }
    int64_t ignored = 0;
    return rc != MSB_OK ? rc
                        : ds->drv->update(ds->h, coll, filter, update, many,
                                          matched != NULL ? matched : &ignored, err);
}

msb_status_t msb_docstore_delete(msb_docstore_t *ds, const char *coll, const char *filter,
                                 bool many, int64_t *deleted, msb_error_t *err)
{
    msb_status_t rc = check(ds, coll, err);
    int64_t ignored = 0;
    return rc != MSB_OK
               ? rc
               : ds->drv->del(ds->h, coll, filter, many, deleted != NULL ? deleted : &ignored, err);
}

msb_status_t msb_docstore_create_index(msb_docstore_t *ds, const char *coll, const char *keys,
                                       bool unique, msb_error_t *err)
{
    msb_status_t rc = check(ds, coll, err);
    if (rc == MSB_OK && keys == NULL) {
        rc = msb__err(err, MSB_EINVAL, "docstore: NULL index keys");
    }
    return rc != MSB_OK ? rc : ds->drv->create_index(ds->h, coll, keys, unique, err);
}

msb_status_t msb_docstore_search(msb_docstore_t *ds, const char *coll, const char *text,
                                 const char *const *fields, size_t nfields, const char *filter,
                                 const msb_docstore_find_opts_t *opts, msb_docstore_result_t **out,
                                 msb_error_t *err)
{
    msb_docstore_find_opts_t o;
    msb_status_t rc = check(ds, coll, err);
    if (rc == MSB_OK && (text == NULL || text[0] == '\0')) {
        rc = msb__err(err, MSB_EINVAL, "docstore: search: empty text");
    }
    if (rc == MSB_OK && nfields > 0 && fields == NULL) {
        rc = msb__err(err, MSB_EINVAL, "docstore: search: NULL fields");
    }
    if (rc == MSB_OK) {
        rc = new_result(out, err);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    rc =
        ds->drv->search(ds->h, coll, text, fields, nfields, filter, find_opts(opts, &o), *out, err);
    return finish(rc, out);
}

msb_status_t msb_docstore_aggregate(msb_docstore_t *ds, const char *coll, const char *pipeline,
                                    msb_docstore_result_t **out, msb_error_t *err)
{
    msb_status_t rc = check(ds, coll, err);
    if (rc == MSB_OK && pipeline == NULL) {
        rc = msb__err(err, MSB_EINVAL, "docstore: NULL pipeline");
    }
    if (rc == MSB_OK) {
        rc = new_result(out, err);
    }
    if (rc != MSB_OK) {
        return rc;
    }
    return finish(ds->drv->aggregate(ds->h, coll, pipeline, *out, err), out);
}

msb_status_t msb_docstore_drop(msb_docstore_t *ds, const char *coll, msb_error_t *err)
{
    msb_status_t rc = check(ds, coll, err);
    return rc != MSB_OK ? rc : ds->drv->drop(ds->h, coll, err);
}
