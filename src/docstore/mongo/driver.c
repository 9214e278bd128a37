/*
 * The document store on MongoDB: the client pool, errors, and the plain operations (insert,
 * find, count, update, delete, drop). Every call pops a client from the pool and pushes it back;
 * JSON text is converted with libbson (Extended JSON in and relaxed Extended JSON out).
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "docstore/mongo/internal.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_driver(void)
{
    mongoc_init(); /* process-wide; mongoc_cleanup is left to the host at exit */
}

msb_status_t msb__dsm_error(const bson_error_t *e, const char *doing, msb_error_t *err)
{
    msb_status_t st = MSB_EPROTO;
    if (e->domain == MONGOC_ERROR_SERVER_SELECTION || e->domain == MONGOC_ERROR_STREAM) {
        st = MSB_EUNAVAIL;
    } else if (e->code == 11000 || e->code == 11001) {
        st = MSB_EEXIST;
    } else if (e->code == 2 || e->code == 9 || e->code == 14 || e->code == 52 ||
               e->domain == MONGOC_ERROR_BSON || e->domain == MONGOC_ERROR_COMMAND) {
        st = MSB_EINVAL;
    } else if (e->code == 115 || e->code == 238 || e->code == 31082) {
        st = MSB_ENOTSUP;
    } else if (e->code == 50 || e->code == 262) {
        st = MSB_ETIMEDOUT;
    } else if (e->code == 13 || e->code == 18) {
        st = MSB_EAUTH;
    }
    return msb__err(err, st, "docstore: mongodb: %s: %s (code %u)", doing, e->message, e->code);
}

msb_status_t msb__dsm_bson(const char *json, const char *what, bson_t **out, msb_error_t *err)
{
    if (json == NULL) {
        *out = bson_new();
        return MSB_OK;
    }
    bson_error_t e;
    *out = bson_new_from_json((const uint8_t *)json, -1, &e);
    if (*out == NULL) {
        return msb__err(err, MSB_EINVAL, "docstore: %s: %s", what, e.message);
    }
    return MSB_OK;
}

msb_status_t msb__dsm_get(msb__dsm_t *m, const char *coll, msb__dsm_coll_t *out, msb_error_t *err)
{
    out->coll = NULL;
    out->client = mongoc_client_pool_pop(m->pool);
    if (out->client == NULL) {
        msb__err(err, MSB_EUNAVAIL, "docstore: mongodb: no client from the pool");
        return MSB_EUNAVAIL;
    }
    out->coll = mongoc_client_get_collection(out->client, m->db, coll);
    if (out->coll == NULL) {
        mongoc_client_pool_push(m->pool, out->client);
        msb__err_nomem(err, "a collection handle");
        return MSB_ENOMEM;
    }
    return MSB_OK;
}

void msb__dsm_put(msb__dsm_t *m, msb__dsm_coll_t *c)
{
    mongoc_collection_destroy(c->coll);
    mongoc_client_pool_push(m->pool, c->client);
}

msb_status_t msb__dsm_drain(mongoc_cursor_t *cur, msb_docstore_result_t *r, msb_error_t *err)
{
    const bson_t *doc;
    msb_status_t rc = MSB_OK;
    while (rc == MSB_OK && mongoc_cursor_next(cur, &doc)) {
        size_t len = 0;
        char *json = bson_as_relaxed_extended_json(doc, &len);
        rc = json != NULL ? msb__docstore_result_add(r, json, len) : MSB_ENOMEM;
        bson_free(json);
        if (rc != MSB_OK) {
            msb__err_nomem(err, "query results");
        }
    }
    bson_error_t e;
    if (rc == MSB_OK && mongoc_cursor_error(cur, &e)) {
        rc = msb__dsm_error(&e, "query", err);
    }
    return rc;
}

/* The _id of a document as JSON text (new, msb__malloc). */
static char *id_json(const bson_t *doc)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id")) {
        return NULL;
    }
    bson_t one = BSON_INITIALIZER;
    bson_append_iter(&one, "_id", 3, &it);
    char *full = bson_as_relaxed_extended_json(&one, NULL);
    bson_destroy(&one);
    if (full == NULL) {
        return NULL;
    }
    /* "{ "_id" : VALUE }" */
    char *start = strchr(full, ':');
    size_t n = start != NULL ? strlen(start) : 0;
    char *out = NULL;
    if (n >= 4) {
        out = msb__strndup(start + 2, n - 4);
    }
    bson_free(full);
    return out;
}

static msb_status_t m_insert(void *h, const char *coll, const char *doc, char **id_out,
                             msb_error_t *err)
{
    msb__dsm_t *m = h;
    bson_t *b = NULL;
    msb_status_t rc = msb__dsm_bson(doc, "document", &b, err);
    if (rc != MSB_OK) {
        return rc;
    }
    bson_t *full = b;
    if (!bson_has_field(b, "_id")) {
        full = bson_new();
        bson_oid_t oid;
        bson_oid_init(&oid, NULL);
        BSON_APPEND_OID(full, "_id", &oid);
        bson_concat(full, b);
    }
    msb__dsm_coll_t c = {NULL, NULL};
    rc = msb__dsm_get(m, coll, &c, err);
    if (rc == MSB_OK) {
        bson_error_t e;
        if (!mongoc_collection_insert_one(c.coll, full, NULL, NULL, &e)) {
            rc = msb__dsm_error(&e, "insert", err);
        }
        msb__dsm_put(m, &c);
    }
    if (rc == MSB_OK && id_out != NULL) {
        *id_out = id_json(full);
        rc = *id_out != NULL ? MSB_OK : msb__err_nomem(err, "an id");
    }
    if (full != b) {
        bson_destroy(full);
    }
    bson_destroy(b);
    return rc;
}

msb_status_t msb__dsm_find_bson(msb__dsm_t *m, const char *coll, const bson_t *filter,
                                const msb_docstore_find_opts_t *o, msb_docstore_result_t *r,
                                msb_error_t *err)
{
    bson_t *sort = NULL;
    bson_t *proj = NULL;
    msb_status_t rc = o->sort != NULL ? msb__dsm_bson(o->sort, "sort", &sort, err) : MSB_OK;
    if (rc == MSB_OK && o->projection != NULL) {
        rc = msb__dsm_bson(o->projection, "projection", &proj, err);
    }
    bson_t opts = BSON_INITIALIZER;
    if (sort != NULL) {
        BSON_APPEND_DOCUMENT(&opts, "sort", sort);
    }
    if (proj != NULL) {
        BSON_APPEND_DOCUMENT(&opts, "projection", proj);
    }
    if (o->limit > 0) {
        BSON_APPEND_INT64(&opts, "limit", o->limit);
    }
    if (o->skip > 0) {
        BSON_APPEND_INT64(&opts, "skip", o->skip);
    }
    msb__dsm_coll_t c = {NULL, NULL};
    if (rc == MSB_OK) {
        rc = msb__dsm_get(m, coll, &c, err);
    }
    if (rc == MSB_OK) {
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c.coll, filter, &opts, NULL);
        rc = msb__dsm_drain(cur, r, err);
        mongoc_cursor_destroy(cur);
        msb__dsm_put(m, &c);
    }
    bson_destroy(&opts);
    bson_destroy(sort);
    bson_destroy(proj);
    return rc;
}

static msb_status_t m_find(void *h, const char *coll, const char *filter,
                           const msb_docstore_find_opts_t *o, msb_docstore_result_t *r,
                           msb_error_t *err)
{
    bson_t *f = NULL;
    msb_status_t rc = msb__dsm_bson(filter, "filter", &f, err);
    if (rc == MSB_OK) {
        rc = msb__dsm_find_bson(h, coll, f, o, r, err);
    }
    bson_destroy(f);
    return rc;
}

static msb_status_t m_count(void *h, const char *coll, const char *filter, int64_t *out,
                            msb_error_t *err)
{
    msb__dsm_t *m = h;
    bson_t *f = NULL;
    msb_status_t rc = msb__dsm_bson(filter, "filter", &f, err);
    msb__dsm_coll_t c = {NULL, NULL};
    if (rc == MSB_OK) {
        rc = msb__dsm_get(m, coll, &c, err);
    }
    if (rc == MSB_OK) {
        bson_error_t e;
        int64_t n = mongoc_collection_count_documents(c.coll, f, NULL, NULL, NULL, &e);
        if (n < 0) {
            rc = msb__dsm_error(&e, "count", err);
        } else {
            *out = n;
        }
        msb__dsm_put(m, &c);
    }
    bson_destroy(f);
    return rc;
}

static int64_t reply_count(const bson_t *reply, const char *field)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, reply, field) && BSON_ITER_HOLDS_NUMBER(&it)) {
        return bson_iter_as_int64(&it);
    }
    return 0;
}

static msb_status_t m_update(void *h, const char *coll, const char *filter, const char *update,
                             bool many, int64_t *matched, msb_error_t *err)
{
    msb__dsm_t *m = h;
    bson_t *f = NULL;
    bson_t *u = NULL;
    msb_status_t rc = msb__dsm_bson(filter, "filter", &f, err);
    if (rc == MSB_OK) {
        rc = msb__dsm_bson(update, "update", &u, err);
    }
    bson_iter_t it;
    bool ops = rc == MSB_OK && bson_iter_init(&it, u) && bson_iter_next(&it) &&
               bson_iter_key(&it)[0] == '$';
    if (rc == MSB_OK && !ops && many) {
        rc = msb__err(err, MSB_EINVAL, "docstore: a replacement updates one document");
    }
    msb__dsm_coll_t c = {NULL, NULL};
    if (rc == MSB_OK) {
        rc = msb__dsm_get(m, coll, &c, err);
    }
    if (rc == MSB_OK) {
        bson_t reply;
        bson_error_t e;
        bool ok = !ops   ? mongoc_collection_replace_one(c.coll, f, u, NULL, &reply, &e)
                  : many ? mongoc_collection_update_many(c.coll, f, u, NULL, &reply, &e)
                         : mongoc_collection_update_one(c.coll, f, u, NULL, &reply, &e);
        if (ok) {
            *matched = reply_count(&reply, "matchedCount");
        } else {
            rc = msb__dsm_error(&e, "update", err);
        }
        bson_destroy(&reply);
        msb__dsm_put(m, &c);
    }
    bson_destroy(f);
    bson_destroy(u);
    return rc;
}

static msb_status_t m_del(void *h, const char *coll, const char *filter, bool many,
                          int64_t *deleted, msb_error_t *err)
{
    msb__dsm_t *m = h;
    bson_t *f = NULL;
    msb_status_t rc = msb__dsm_bson(filter, "filter", &f, err);
    msb__dsm_coll_t c = {NULL, NULL};
    if (rc == MSB_OK) {
        rc = msb__dsm_get(m, coll, &c, err);
    }
    if (rc == MSB_OK) {
        bson_t reply;
        bson_error_t e;
        bool ok = many ? mongoc_collection_delete_many(c.coll, f, NULL, &reply, &e)
                       : mongoc_collection_delete_one(c.coll, f, NULL, &reply, &e);
        if (ok) {
            *deleted = reply_count(&reply, "deletedCount");
        } else {
            rc = msb__dsm_error(&e, "delete", err);
        }
        bson_destroy(&reply);
        msb__dsm_put(m, &c);
    }
    bson_destroy(f);
    return rc;
}

static msb_status_t m_drop(void *h, const char *coll, msb_error_t *err)
{
    msb__dsm_t *m = h;
    msb__dsm_coll_t c = {NULL, NULL};
    msb_status_t rc = msb__dsm_get(m, coll, &c, err);
    if (rc == MSB_OK) {
        bson_error_t e;
        if (!mongoc_collection_drop_with_opts(c.coll, NULL, &e) && e.code != 26 &&
            strstr(e.message, "ns not found") == NULL) {
            rc = msb__dsm_error(&e, "drop", err);
        }
        msb__dsm_put(m, &c);
    }
    return rc;
}

static msb_status_t m_open(const msb__docstore_cfg_t *cfg, void **out, msb_error_t *err)
{
    pthread_once(&init_once, init_driver);
    bson_error_t e;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(cfg->url, &e);
    if (uri == NULL) {
        /* the driver's message may quote the URL, password included: keep ours short */
        return msb__err(err, MSB_EINVAL, "docstore: url: not a valid mongodb:// URL");
    }
    int32_t ms = (int32_t)(cfg->timeout_ns / 1000000);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, ms > 0 ? ms : 1);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, ms > 0 ? ms : 1);
    msb__dsm_t *m = msb__calloc(1, sizeof(*m));
    if (m == NULL) {
        mongoc_uri_destroy(uri);
        return msb__err_nomem(err, "a MongoDB document store");
    }
    const char *db = mongoc_uri_get_database(uri);
    snprintf(m->db, sizeof(m->db), "%s", db != NULL && db[0] != '\0' ? db : "msb");
    m->uri = uri;
    m->pool = mongoc_client_pool_new(uri);
    if (m->pool == NULL) {
        mongoc_uri_destroy(uri);
        msb__free(m);
        return msb__err(err, MSB_EINVAL, "docstore: mongodb: cannot make a client pool");
    }
    mongoc_client_pool_set_error_api(m->pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_max_size(m->pool, (uint32_t)cfg->pool_size);
    mongoc_client_pool_set_appname(m->pool, "libmsb");
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return MSB_OK;
}

static void m_close(void *h)
{
    msb__dsm_t *m = h;
    if (m != NULL) {
        mongoc_client_pool_destroy(m->pool);
        mongoc_uri_destroy(m->uri);
        pthread_mutex_destroy(&m->mu);
        msb__free(m);
    }
}

static const msb__docstore_driver_t driver = {
    .abi = MSB__DOCSTORE_DRIVER_ABI,
    .open = m_open,
    .close = m_close,
    .caps = msb__dsm_caps,
    .insert = m_insert,
    .find = m_find,
    .count = m_count,
    .update = m_update,
    .del = m_del,
    .create_index = msb__dsm_index,
    .search = msb__dsm_search,
    .aggregate = msb__dsm_aggregate,
    .drop = m_drop,
};

MSB_INTERNAL const void *msb__docstore_mongo_driver(void);

const void *msb__docstore_mongo_driver(void)
{
    return &driver;
}
