/*
 * Updates on SQLite, in one UPDATE statement: `$set` and `$inc` become json_set() pairs, `$unset`
 * json_remove() paths; a replacement document keeps the old `_id`. Other update operators are
 * MSB_ENOTSUP naming them.
 */
#include <string.h>

#include "core/error.h"
#include "docstore/sqlite/internal.h"

typedef struct ops {
    const json_t *set;
    const json_t *inc;
    const json_t *unset;
} ops_t;

static msb_status_t read_ops(const json_t *u, ops_t *o, msb_error_t *err)
{
    memset(o, 0, sizeof(*o));
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)u, k, v)
    {
        const json_t **slot = strcmp(k, "$set") == 0     ? &o->set
                              : strcmp(k, "$inc") == 0   ? &o->inc
                              : strcmp(k, "$unset") == 0 ? &o->unset
                                                         : NULL;
        if (slot == NULL) {
            return msb__err(err, MSB_ENOTSUP,
                            "docstore: update operator %.40s is outside the SQLite backend's "
                            "subset ($set, $unset, $inc)",
                            k);
        }
        if (!json_is_object(v)) {
            return msb__err(err, MSB_EINVAL, "docstore: %s needs a JSON object", k);
        }
        *slot = v;
    }
    const char *f;
    json_object_foreach((json_t *)o->inc, f, v)
    {
        if (!json_is_number(v)) {
            return msb__err(err, MSB_EINVAL, "docstore: $inc of %.80s needs a number", f);
        }
    }
    return MSB_OK;
}

static bool touches_id(const json_t *obj)
{
    return obj != NULL && json_object_get(obj, "_id") != NULL;
}

/* doc = json_remove(json_set(doc, path, value, …), path, …) */
static void set_expr(msb__dsq_t *q, const ops_t *o)
{
    bool removes = o->unset != NULL && json_object_size(o->unset) > 0;
    bool sets = json_object_size(o->set) + json_object_size(o->inc) > 0;
    msb__dsq_sql(q, removes ? "json_remove(" : "");
    msb__dsq_sql(q, sets ? "json_set(doc" : "doc");
    const char *f;
    const json_t *v;
    json_object_foreach((json_t *)o->set, f, v)
    {
        msb__buf_printf(&q->sql, ", '$.%s', json(", f);
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text != NULL) {
            msb__dsq_param_text(q, text, strlen(text));
            free(text);
        } else if (q->st == MSB_OK) {
            q->st = msb__err_nomem(q->err, "an update");
        }
        msb__dsq_sql(q, ")");
    }
    json_object_foreach((json_t *)o->inc, f, v)
    {
        msb__buf_printf(&q->sql, ", '$.%s', coalesce(", f);
        msb__dsq_path(q, f);
        msb__dsq_sql(q, ", 0) + ");
        msb__dsq_param_json(q, v);
    }
    msb__dsq_sql(q, sets ? ")" : "");
    json_object_foreach((json_t *)o->unset, f, v)
    {
        msb__buf_printf(&q->sql, ", '$.%s'", f);
    }
    msb__dsq_sql(q, removes ? ")" : "");
}

/* Every field path of the operators goes through the same check as filters. */
static msb_status_t check_paths(msb__dsq_t *q, const ops_t *o)
{
    const json_t *objs[] = {o->set, o->inc, o->unset};
    for (size_t i = 0; i < MSB_ARRAY_LEN(objs); i++) {
        const char *f;
        const json_t *v;
        json_object_foreach((json_t *)objs[i], f, v)
        {
            msb__dsq_t probe;
            msb__dsq_init(&probe, q->err);
            msb_status_t rc = msb__dsq_path(&probe, f);
            msb__dsq_free(&probe);
            if (rc != MSB_OK) {
                return rc;
            }
        }
    }
    return MSB_OK;
}

static void where_one(msb__dsq_t *q, const char *coll, const json_t *filter, bool many)
{
    if (many) {
        msb__dsq_sql(q, " WHERE ");
        msb__dsq_where(q, filter);
        return;
    }
    msb__dsq_sql(q, " WHERE rowid IN (SELECT rowid FROM ");
    msb__dsq_table(q, coll);
    msb__dsq_sql(q, " WHERE ");
    msb__dsq_where(q, filter);
    msb__dsq_sql(q, " LIMIT 1)");
}

static msb_status_t build(msb__dsq_t *q, const char *coll, const json_t *f, const json_t *u,
                          bool many, msb_error_t *err)
{
    if (!json_is_object(u)) {
        return msb__err(err, MSB_EINVAL, "docstore: an update must be a JSON object");
    }
    const char *first =
        json_object_size(u) > 0 ? json_object_iter_key(json_object_iter((json_t *)u)) : NULL;
    msb__dsq_sql(q, "UPDATE ");
    msb__dsq_table(q, coll);
    msb__dsq_sql(q, " SET doc = ");
    if (first != NULL && first[0] == '$') {
        ops_t o;
        msb_status_t rc = read_ops(u, &o, err);
        if (rc == MSB_OK && (touches_id(o.set) || touches_id(o.inc) || touches_id(o.unset))) {
            rc = msb__err(err, MSB_EINVAL, "docstore: _id cannot be changed");
        }
        if (rc == MSB_OK) {
            rc = check_paths(q, &o);
        }
        if (rc != MSB_OK) {
            return rc;
        }
        set_expr(q, &o);
    } else {
        if (many) {
            return msb__err(err, MSB_EINVAL, "docstore: a replacement updates one document");
        }
        json_t *copy = json_deep_copy(u);
        char *text = NULL;
        if (copy != NULL) {
            json_object_del(copy, "_id");
            text = json_dumps(copy, JSON_COMPACT);
        }
        json_decref(copy);
        if (text == NULL) {
            return msb__err_nomem(err, "a replacement");
        }
        msb__dsq_sql(q, "json_set(");
        msb__dsq_param_text(q, text, strlen(text));
        free(text);
        msb__dsq_sql(q, ", '$._id', json(id))");
    }
    where_one(q, coll, f, many);
    if (first == NULL || first[0] != '$') {
        /* a replacement naming an _id only replaces the document with that _id */
        const json_t *id = json_object_get(u, "_id");
        if (id != NULL) {
            msb__dsq_sql(q, " AND id = ");
            char *text = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY);
            if (text == NULL) {
                return msb__err_nomem(err, "a replacement");
            }
            msb__dsq_param_text(q, text, strlen(text));
            free(text);
        }
    }
    return msb__dsq_status(q);
}

msb_status_t msb__dss_update(void *h, const char *coll, const char *filter, const char *update,
                             bool many, int64_t *matched, msb_error_t *err)
{
    msb__dss_t *s = h;
    json_t *f = NULL;
    json_t *u = NULL;
    msb_status_t rc = msb__dss_parse(filter, "filter", &f, err);
    if (rc == MSB_OK) {
        rc = msb__dss_parse(update, "update", &u, err);
    }
    msb__dsq_t q;
    msb__dsq_init(&q, err);
    if (rc == MSB_OK) {
        rc = build(&q, coll, f, u, many, err);
    }
    pthread_mutex_lock(&s->mu);
    if (rc == MSB_OK) {
        rc = msb__dss_ensure(s, coll, err);
    }
    sqlite3_stmt *st = NULL;
    if (rc == MSB_OK) {
        rc = msb__dss_prepare(s, &q, &st, err);
    }
    if (rc == MSB_OK) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            *matched = sqlite3_changes(s->db);
        } else {
            rc = msb__dss_error(s, step, "update", err);
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    msb__dsq_free(&q);
    json_decref(f);
    json_decref(u);
    return rc;
}
