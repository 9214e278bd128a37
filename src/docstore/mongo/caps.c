/*
 * What the server can do, and the operations that depend on it: indexes (text indexes only
 * where the server has them), search ($text, or a case-insensitive regex over fields), and
 * aggregation (checked against FerretDB's limits before it is sent).
 *
 * The probe is `buildInfo`, once: FerretDB answers with `ferretdbVersion` and the list of
 * aggregation stages it has (`ferretdbFeatures.aggregationStages`); a server without them is
 * taken for MongoDB with every capability.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "docstore/mongo/internal.h"

static unsigned ferret_caps(const bson_t *reply)
{
    unsigned caps = MSB_DOCSTORE_CAP_REGEX | MSB_DOCSTORE_CAP_AGGREGATE;
    bson_iter_t it;
    bson_iter_t stages;
    if (bson_iter_init(&it, reply) &&
        bson_iter_find_descendant(&it, "ferretdbFeatures.aggregationStages", &stages) &&
        BSON_ITER_HOLDS_ARRAY(&stages) && bson_iter_recurse(&stages, &it)) {
        while (bson_iter_next(&it)) {
            if (BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_utf8(&it, NULL), "$lookup") == 0) {
                caps |= MSB_DOCSTORE_CAP_LOOKUP;
            }
        }
    }
    return caps;
}

msb_status_t msb__dsm_caps(void *h, unsigned *out, msb_error_t *err)
{
    msb__dsm_t *m = h;
    pthread_mutex_lock(&m->mu);
    bool probed = m->probed;
    *out = m->caps;
    pthread_mutex_unlock(&m->mu);
    if (probed) {
        return MSB_OK;
    }
    mongoc_client_t *client = mongoc_client_pool_pop(m->pool);
    if (client == NULL) {
        return msb__err(err, MSB_EUNAVAIL, "docstore: mongodb: no client from the pool");
    }
    bson_t cmd = BSON_INITIALIZER;
    BSON_APPEND_INT32(&cmd, "buildInfo", 1);
    bson_t reply;
    bson_error_t e;
    bool ok = mongoc_client_command_simple(client, "admin", &cmd, NULL, &reply, &e);
    mongoc_client_pool_push(m->pool, client);
    bson_destroy(&cmd);
    if (!ok) {
        bson_destroy(&reply);
        return msb__dsm_error(&e, "buildInfo", err);
    }
    bson_iter_t it;
    unsigned caps = MSB_DOCSTORE_CAP_TEXT_INDEX | MSB_DOCSTORE_CAP_REGEX |
                    MSB_DOCSTORE_CAP_AGGREGATE | MSB_DOCSTORE_CAP_LOOKUP |
                    MSB_DOCSTORE_CAP_GROUP_ALL;
    char server[64] = "MongoDB";
    if (bson_iter_init_find(&it, &reply, "ferretdbVersion") && BSON_ITER_HOLDS_UTF8(&it)) {
        caps = ferret_caps(&reply);
        snprintf(server, sizeof(server), "FerretDB %s", bson_iter_utf8(&it, NULL));
    }
    bson_destroy(&reply);
    pthread_mutex_lock(&m->mu);
    m->caps = caps;
    m->probed = true;
    memcpy(m->server, server, sizeof(server));
    pthread_mutex_unlock(&m->mu);
    *out = caps;
    return MSB_OK;
}

static bool keys_have_text(const bson_t *keys)
{
    bson_iter_t it;
    if (bson_iter_init(&it, keys)) {
        while (bson_iter_next(&it)) {
            if (BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_utf8(&it, NULL), "text") == 0) {
                return true;
            }
        }
    }
    return false;
}

msb_status_t msb__dsm_index(void *h, const char *coll, const char *keys, bool unique,
                            msb_error_t *err)
{
    msb__dsm_t *m = h;
    bson_t *k = NULL;
    msb_status_t rc = msb__dsm_bson(keys, "index keys", &k, err);
    if (rc == MSB_OK && bson_count_keys(k) == 0) {
        rc = msb__err(err, MSB_EINVAL, "docstore: index keys must be a non-empty JSON object");
    }
    unsigned caps = 0;
    if (rc == MSB_OK && keys_have_text(k)) {
        rc = msb__dsm_caps(m, &caps, err);
        if (rc == MSB_OK && (caps & MSB_DOCSTORE_CAP_TEXT_INDEX) == 0) {
            rc = msb__err(err, MSB_ENOTSUP,
                          "docstore: text indexes: %s has none (search falls back to a "
                          "case-insensitive regex on the fields you name)",
                          m->server);
        }
    }
    char *name = rc == MSB_OK ? mongoc_collection_keys_to_index_string(k) : NULL;
    msb__dsm_coll_t c = {NULL, NULL};
    if (rc == MSB_OK) {
        rc = msb__dsm_get(m, coll, &c, err);
    }
    if (rc == MSB_OK) {
        bson_t cmd = BSON_INITIALIZER;
        bson_t list;
        bson_t one;
        BSON_APPEND_UTF8(&cmd, "createIndexes", coll);
        BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &list);
        BSON_APPEND_DOCUMENT_BEGIN(&list, "0", &one);
        BSON_APPEND_DOCUMENT(&one, "key", k);
        BSON_APPEND_UTF8(&one, "name", name != NULL ? name : "idx");
        if (unique) {
            BSON_APPEND_BOOL(&one, "unique", true);
        }
        bson_append_document_end(&list, &one);
        bson_append_array_end(&cmd, &list);
        bson_error_t e;
        if (!mongoc_collection_write_command_with_opts(c.coll, &cmd, NULL, NULL, &e)) {
            rc = msb__dsm_error(&e, "createIndexes", err);
        }
        bson_destroy(&cmd);
        msb__dsm_put(m, &c);
    }
    bson_free(name);
    bson_destroy(k);
    return rc;
}

/* Whether the collection has a text index (listIndexes). */
static bool has_text_index(msb__dsm_t *m, const char *coll)
{
    msb__dsm_coll_t c = {NULL, NULL};
    if (msb__dsm_get(m, coll, &c, NULL) != MSB_OK) {
        return false;
    }
    bool found = false;
    mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(c.coll, NULL);
    const bson_t *ix;
    while (!found && mongoc_cursor_next(cur, &ix)) {
        bson_iter_t it;
        bson_iter_t key;
        if (bson_iter_init_find(&it, ix, "key") && bson_iter_recurse(&it, &key)) {
            while (bson_iter_next(&key)) {
                found = found || (BSON_ITER_HOLDS_UTF8(&key) &&
                                  strcmp(bson_iter_utf8(&key, NULL), "text") == 0);
            }
        }
    }
    mongoc_cursor_destroy(cur);
    msb__dsm_put(m, &c);
    return found;
}

/* {"$and": [filter, {"$text": …} | {"$or": [{f: {"$regex": …, "$options": "i"}} …]}]} */
static json_t *search_filter(json_t *filter, const char *text, const char *const *fields,
                             size_t nfields, bool native)
{
    json_t *cond = NULL;
    if (native) {
        cond = json_pack("{s:{s:s}}", "$text", "$search", text);
    } else {
        char *re = msb__docstore_escape_regex(text);
        json_t *any = json_array();
        for (size_t i = 0; re != NULL && any != NULL && i < nfields; i++) {
            json_array_append_new(
                any, json_pack("{s:{s:s,s:s}}", fields[i], "$regex", re, "$options", "i"));
        }
        cond = any != NULL ? json_pack("{s:o}", "$or", any) : NULL;
        msb__free(re);
    }
    if (cond == NULL) {
        return NULL;
    }
    return json_pack("{s:[o,o]}", "$and", filter != NULL ? filter : json_object(), cond);
}

msb_status_t msb__dsm_search(void *h, const char *coll, const char *text, const char *const *fields,
                             size_t nfields, const char *filter, const msb_docstore_find_opts_t *o,
                             msb_docstore_result_t *r, msb_error_t *err)
{
    msb__dsm_t *m = h;
    unsigned caps = 0;
    msb_status_t rc = msb__dsm_caps(m, &caps, err);
    if (rc != MSB_OK) {
        return rc;
    }
    bool native = (caps & MSB_DOCSTORE_CAP_TEXT_INDEX) != 0 && has_text_index(m, coll);
    if (!native && nfields == 0) {
        return msb__err(err, MSB_EINVAL,
                        "docstore: search: %s has no text index on %s: give the fields to match",
                        m->server, coll);
    }
    json_error_t je;
    json_t *f = filter != NULL ? json_loads(filter, 0, &je) : NULL;
    if (filter != NULL && f == NULL) {
        return msb__err(err, MSB_EINVAL, "docstore: filter: invalid JSON at line %d: %s", je.line,
                        je.text);
    }
    json_t *all = search_filter(f, text, fields, nfields, native);
    char *s = all != NULL ? json_dumps(all, JSON_COMPACT) : NULL;
    json_decref(all);
    bson_t *b = NULL;
    rc = s != NULL ? msb__dsm_bson(s, "search filter", &b, err) : msb__err_nomem(err, "a search");
    free(s);
    if (rc == MSB_OK) {
        rc = msb__dsm_find_bson(m, coll, b, o, r, err);
    }
    bson_destroy(b);
    return rc;
}

/* FerretDB: refuse what it lacks before sending, naming it. */
static msb_status_t check_pipeline(const msb__dsm_t *m, unsigned caps, const json_t *pl,
                                   msb_error_t *err)
{
    size_t i;
    const json_t *stage;
    json_array_foreach(pl, i, stage)
    {
        const char *name;
        const json_t *arg;
        json_object_foreach((json_t *)stage, name, arg)
        {
            if (strcmp(name, "$lookup") == 0 && (caps & MSB_DOCSTORE_CAP_LOOKUP) == 0) {
                return msb__err(err, MSB_ENOTSUP, "docstore: aggregate: %s has no $lookup",
                                m->server);
            }
            if (strcmp(name, "$group") != 0 || (caps & MSB_DOCSTORE_CAP_GROUP_ALL) != 0) {
                continue;
            }
            if (json_object_size(arg) > 2) {
                /* FerretDB 1.24 computes the accumulators after a field $sum as 0 */
                return msb__err(err, MSB_ENOTSUP,
                                "docstore: aggregate: %s computes only one accumulator per $group "
                                "correctly: run one $group per accumulator",
                                m->server);
            }
            const char *field;
            const json_t *acc;
            json_object_foreach((json_t *)arg, field, acc)
            {
                const char *op = json_is_object(acc) && json_object_size(acc) == 1
                                     ? json_object_iter_key(json_object_iter((json_t *)acc))
                                     : NULL;
                if (op != NULL && strcmp(op, "$sum") != 0 && strcmp(op, "$count") != 0) {
                    return msb__err(err, MSB_ENOTSUP,
                                    "docstore: aggregate: %s has only $sum and $count in $group, "
                                    "not %.40s",
                                    m->server, op);
                }
            }
        }
    }
    return MSB_OK;
}

msb_status_t msb__dsm_aggregate(void *h, const char *coll, const char *pipeline,
                                msb_docstore_result_t *r, msb_error_t *err)
{
    msb__dsm_t *m = h;
    json_error_t je;
    json_t *pl = json_loads(pipeline, 0, &je);
    if (pl == NULL || !json_is_array(pl)) {
        json_decref(pl);
        return msb__err(err, MSB_EINVAL, "docstore: pipeline: expected a JSON array");
    }
    unsigned caps = 0;
    msb_status_t rc = msb__dsm_caps(m, &caps, err);
    if (rc == MSB_OK) {
        rc = check_pipeline(m, caps, pl, err);
    }
    json_t *wrapped = rc == MSB_OK ? json_pack("{s:O}", "pipeline", pl) : NULL;
    char *s = wrapped != NULL ? json_dumps(wrapped, JSON_COMPACT) : NULL;
    json_decref(wrapped);
    json_decref(pl);
    bson_t *b = NULL;
    if (rc == MSB_OK) {
        rc = s != NULL ? msb__dsm_bson(s, "pipeline", &b, err) : msb__err_nomem(err, "a pipeline");
    }
    free(s);
    msb__dsm_coll_t c = {NULL, NULL};
    if (rc == MSB_OK) {
        rc = msb__dsm_get(m, coll, &c, err);
    }
    if (rc == MSB_OK) {
        mongoc_cursor_t *cur =
            mongoc_collection_aggregate(c.coll, MONGOC_QUERY_NONE, b, NULL, NULL);
        rc = msb__dsm_drain(cur, r, err);
        mongoc_cursor_destroy(cur);
        msb__dsm_put(m, &c);
    }
    bson_destroy(b);
    return rc;
}
