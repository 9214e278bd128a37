/*
 * The document store on SQLite: connection, tables, insert, find, count, delete, indexes, text
 * match, drop, and the driver table. One connection in WAL mode, used by one caller at a time.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "docstore/sqlite/internal.h"

msb_status_t msb__dss_error(msb__dss_t *s, int rc, const char *doing, msb_error_t *err)
{
    int base = rc & 0xff;
    msb_status_t st = MSB_EIO;
    if (base == SQLITE_CONSTRAINT) {
        st = MSB_EEXIST;
    } else if (base == SQLITE_NOMEM) {
        st = MSB_ENOMEM;
    } else if (base == SQLITE_BUSY || base == SQLITE_LOCKED) {
        st = MSB_EBUSY;
    } else if (base == SQLITE_ERROR) {
        st = MSB_EINVAL;
    }
    return msb__err(err, st, "docstore: sqlite: %s: %s", doing, sqlite3_errmsg(s->db));
}

msb_status_t msb__dss_parse(const char *text, const char *what, json_t **out, msb_error_t *err)
{
    *out = NULL;
    if (text == NULL) {
        return MSB_OK;
    }
    json_error_t je;
    *out = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (*out == NULL) {
        return msb__err(err, MSB_EINVAL, "docstore: %s: invalid JSON at line %d column %d: %s",
                        what, je.line, je.column, je.text);
    }
    return MSB_OK;
}

msb_status_t msb__dss_prepare(msb__dss_t *s, msb__dsq_t *q, sqlite3_stmt **out, msb_error_t *err)
{
    msb_status_t st = msb__dsq_status(q);
    if (st != MSB_OK) {
        return st;
    }
    int rc = sqlite3_prepare_v2(s->db, q->sql.data, (int)q->sql.len, out, NULL);
    if (rc != SQLITE_OK) {
        return msb__dss_error(s, rc, "prepare", err);
    }
    for (size_t i = 0; i < q->np && rc == SQLITE_OK; i++) {
        const msb__dsq_param_t *p = &q->p[i];
        int idx = (int)i + 1;
        if (p->type == DSQ_INT) {
            rc = sqlite3_bind_int64(*out, idx, p->i);
        } else if (p->type == DSQ_REAL) {
            rc = sqlite3_bind_double(*out, idx, p->d);
        } else if (p->type == DSQ_TEXT) {
            rc = sqlite3_bind_text(*out, idx, p->s, (int)p->n, SQLITE_STATIC);
        } else {
            rc = sqlite3_bind_null(*out, idx);
        }
    }
    if (rc != SQLITE_OK) {
        sqlite3_finalize(*out);
        *out = NULL;
        return msb__dss_error(s, rc, "bind", err);
    }
    return MSB_OK;
}

msb_status_t msb__dss_exec(msb__dss_t *s, const char *sql, msb_error_t *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? MSB_OK : msb__dss_error(s, rc, "setup", err);
}

msb_status_t msb__dss_ensure(msb__dss_t *s, const char *coll, msb_error_t *err)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS \"c_%s\" (id TEXT PRIMARY KEY, doc TEXT NOT NULL)", coll);
    return msb__dss_exec(s, sql, err);
}

/* Run a statement that returns nothing; *changes gets the rows it changed. */
msb_status_t msb__dss_run(msb__dss_t *s, msb__dsq_t *q, int64_t *changes, msb_error_t *err)
{
    sqlite3_stmt *st = NULL;
    msb_status_t rc = msb__dss_prepare(s, q, &st, err);
    if (rc != MSB_OK) {
        return rc;
    }
    int r = sqlite3_step(st);
    if (r != SQLITE_DONE && r != SQLITE_ROW) {
        rc = msb__dss_error(s, r, "step", err);
    } else if (changes != NULL) {
        *changes = sqlite3_changes(s->db);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Keep only (or drop) the fields named by a projection. */
static msb_status_t project(json_t *doc, const json_t *proj)
{
    bool include = false;
    bool keep_id = true;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)proj, k, v)
    {
        bool on = json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
        if (strcmp(k, "_id") == 0) {
            keep_id = on;
        } else if (on) {
            include = true;
        }
    }
    void *tmp;
    json_t *val;
    json_object_foreach_safe(doc, tmp, k, val)
    {
        const json_t *p = json_object_get(proj, k);
        bool on = p != NULL && (json_is_true(p) || (json_is_integer(p) && json_integer_value(p)));
        bool keep = strcmp(k, "_id") == 0 ? keep_id : (include ? on : p == NULL || on);
        if (!keep) {
            json_object_del(doc, k);
        }
    }
    return MSB_OK;
}

msb_status_t msb__dss_collect(msb__dss_t *s, msb__dsq_t *q, const json_t *projection,
                              msb_docstore_result_t *r, msb_error_t *err)
{
    sqlite3_stmt *st = NULL;
    msb_status_t rc = msb__dss_prepare(s, q, &st, err);
    int step;
    while (rc == MSB_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        if (projection == NULL || text == NULL) {
            rc = msb__docstore_result_add(r, text != NULL ? text : "null", text != NULL ? len : 4);
            continue;
        }
        json_t *doc = json_loadb(text, len, 0, NULL);
        char *out = NULL;
        if (doc != NULL && project(doc, projection) == MSB_OK) {
            out = json_dumps(doc, JSON_COMPACT);
        }
        rc = out != NULL ? msb__docstore_result_add(r, out, strlen(out)) : MSB_ENOMEM;
        free(out);
        json_decref(doc);
    }
    if (rc == MSB_OK && step != SQLITE_DONE) {
        rc = msb__dss_error(s, step, "query", err);
    } else if (rc == MSB_ENOMEM) {
        msb__err_nomem(err, "query results");
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- the operations -------------------------------------------------------------------------
 */

static msb_status_t d_insert(void *h, const char *coll, const char *text, char **id_out,
                             msb_error_t *err)
{
    msb__dss_t *s = h;
    json_t *doc = NULL;
    msb_status_t rc = msb__dss_parse(text, "document", &doc, err);
    if (rc != MSB_OK) {
        return rc;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        return msb__err(err, MSB_EINVAL, "docstore: a document must be a JSON object");
    }
    if (json_object_get(doc, "_id") == NULL) {
        char oid[25];
        msb__docstore_oid(oid);
        json_t *id = json_pack("{s:s}", "$oid", oid);
        json_t *copy = json_object();
        /* _id first, as MongoDB stores it */
        if (id == NULL || copy == NULL || json_object_set_new(copy, "_id", id) != 0 ||
            json_object_update(copy, doc) != 0) {
            json_decref(copy);
            json_decref(doc);
            return msb__err_nomem(err, "a document");
        }
        json_decref(doc);
        doc = copy;
    }
    char *id = json_dumps(json_object_get(doc, "_id"), JSON_COMPACT | JSON_ENCODE_ANY);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    msb__dsq_t q;
    msb__dsq_init(&q, err);
    if (id == NULL || body == NULL) {
        rc = msb__err_nomem(err, "a document");
    }
    pthread_mutex_lock(&s->mu);
    if (rc == MSB_OK) {
        rc = msb__dss_ensure(s, coll, err);
    }
    if (rc == MSB_OK) {
        msb__dsq_sql(&q, "INSERT INTO ");
        msb__dsq_table(&q, coll);
        msb__dsq_sql(&q, "(id, doc) VALUES (");
        msb__dsq_param_text(&q, id, strlen(id));
        msb__dsq_sql(&q, ", ");
        msb__dsq_param_text(&q, body, strlen(body));
        msb__dsq_sql(&q, ")");
        rc = msb__dss_run(s, &q, NULL, err);
    }
    pthread_mutex_unlock(&s->mu);
    msb__dsq_free(&q);
    if (rc == MSB_OK && id_out != NULL) {
        *id_out = msb__strdup(id);
        rc = *id_out != NULL ? MSB_OK : msb__err_nomem(err, "an id");
    }
    free(id);
    free(body);
    return rc;
}

/* SELECT doc FROM t WHERE filter [ORDER BY] [LIMIT/OFFSET]; `extra` (optional) is ANDed. */
static msb_status_t build_select(msb__dsq_t *q, const char *coll, const json_t *filter,
                                 const json_t *sort, const msb_docstore_find_opts_t *o)
{
    msb__dsq_sql(q, "SELECT doc FROM ");
    msb__dsq_table(q, coll);
    msb__dsq_sql(q, " WHERE ");
    msb__dsq_where(q, filter);
    msb__dsq_order(q, sort);
    if (o->limit > 0 || o->skip > 0) {
        msb__dsq_sql(q, " LIMIT ");
        msb__dsq_param_int(q, o->limit > 0 ? o->limit : -1);
        msb__dsq_sql(q, " OFFSET ");
        msb__dsq_param_int(q, o->skip);
    }
    return q->st;
}

static msb_status_t query(msb__dss_t *s, const char *coll, json_t *filter,
                          const msb_docstore_find_opts_t *o, msb_docstore_result_t *r,
                          msb_error_t *err)
{
    json_t *sort = NULL;
    json_t *proj = NULL;
    msb_status_t rc = msb__dss_parse(o->sort, "sort", &sort, err);
    if (rc == MSB_OK) {
        rc = msb__dss_parse(o->projection, "projection", &proj, err);
    }
    if (rc == MSB_OK && proj != NULL && !json_is_object(proj)) {
        rc = msb__err(err, MSB_EINVAL, "docstore: projection must be a JSON object");
    }
    msb__dsq_t q;
    msb__dsq_init(&q, err);
    if (rc == MSB_OK) {
        rc = build_select(&q, coll, filter, sort, o);
    }
    if (rc == MSB_OK) {
        pthread_mutex_lock(&s->mu);
        rc = msb__dss_ensure(s, coll, err);
        if (rc == MSB_OK) {
            rc = msb__dss_collect(s, &q, proj, r, err);
        }
        pthread_mutex_unlock(&s->mu);
    }
    msb__dsq_free(&q);
    json_decref(sort);
    json_decref(proj);
    return rc;
}

static msb_status_t d_find(void *h, const char *coll, const char *filter,
                           const msb_docstore_find_opts_t *o, msb_docstore_result_t *r,
                           msb_error_t *err)
{
    json_t *f = NULL;
    msb_status_t rc = msb__dss_parse(filter, "filter", &f, err);
    if (rc == MSB_OK) {
        rc = query(h, coll, f, o, r, err);
    }
    json_decref(f);
    return rc;
}

static msb_status_t d_count(void *h, const char *coll, const char *filter, int64_t *out,
                            msb_error_t *err)
{
    msb__dss_t *s = h;
    json_t *f = NULL;
    msb_status_t rc = msb__dss_parse(filter, "filter", &f, err);
    msb__dsq_t q;
    msb__dsq_init(&q, err);
    msb__dsq_sql(&q, "SELECT count(*) FROM ");
    msb__dsq_table(&q, coll);
    msb__dsq_sql(&q, " WHERE ");
    if (rc == MSB_OK) {
        rc = msb__dsq_where(&q, f);
    }
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    if (rc == MSB_OK) {
        rc = msb__dss_ensure(s, coll, err);
    }
    if (rc == MSB_OK) {
        rc = msb__dss_prepare(s, &q, &st, err);
    }
    if (rc == MSB_OK) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
        } else {
            rc = msb__dss_error(s, step, "count", err);
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    msb__dsq_free(&q);
    json_decref(f);
    return rc;
}

static msb_status_t d_del(void *h, const char *coll, const char *filter, bool many,
                          int64_t *deleted, msb_error_t *err)
{
    msb__dss_t *s = h;
    json_t *f = NULL;
    msb_status_t rc = msb__dss_parse(filter, "filter", &f, err);
    msb__dsq_t q;
    msb__dsq_init(&q, err);
    msb__dsq_sql(&q, "DELETE FROM ");
    msb__dsq_table(&q, coll);
    if (many) {
        msb__dsq_sql(&q, " WHERE ");
    } else {
        msb__dsq_sql(&q, " WHERE rowid IN (SELECT rowid FROM ");
        msb__dsq_table(&q, coll);
        msb__dsq_sql(&q, " WHERE ");
    }
    if (rc == MSB_OK) {
        rc = msb__dsq_where(&q, f);
    }
    msb__dsq_sql(&q, many ? "" : " LIMIT 1)");
    pthread_mutex_lock(&s->mu);
    if (rc == MSB_OK) {
        rc = msb__dss_ensure(s, coll, err);
    }
    if (rc == MSB_OK) {
        rc = msb__dss_run(s, &q, deleted, err);
    }
    pthread_mutex_unlock(&s->mu);
    msb__dsq_free(&q);
    json_decref(f);
    return rc;
}

static msb_status_t d_drop(void *h, const char *coll, msb_error_t *err)
{
    msb__dss_t *s = h;
    char sql[256];
    snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS \"c_%s\"", coll);
    pthread_mutex_lock(&s->mu);
    msb_status_t rc = msb__dss_exec(s, sql, err);
    if (rc == MSB_OK) {
        msb__dsq_t q;
        msb__dsq_init(&q, err);
        msb__dsq_sql(&q, "DELETE FROM msb_text_fields WHERE coll = ");
        msb__dsq_param_text(&q, coll, strlen(coll));
        sqlite3_stmt *st = NULL;
        if (msb__dsq_status(&q) == MSB_OK &&
            sqlite3_prepare_v2(s->db, q.sql.data, -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, coll, -1, SQLITE_STATIC);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
        msb__dsq_free(&q);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static msb_status_t d_caps(void *h, unsigned *out, msb_error_t *err)
{
    (void)h;
    (void)err;
    *out = 0; /* text match by LIKE; aggregation subset; see docs/docstore.md */
    return MSB_OK;
}

static msb_status_t d_open(const msb__docstore_cfg_t *cfg, void **out, msb_error_t *err)
{
    const char *path = cfg->url + strlen("sqlite:");
    if (path[0] == '\0') {
        return msb__err(err, MSB_EINVAL, "docstore: url: sqlite: needs a path (or :memory:)");
    }
    msb__dss_t *s = msb__calloc(1, sizeof(*s));
    if (s == NULL) {
        return msb__err_nomem(err, "a SQLite document store");
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        msb_status_t st = msb__err(err, MSB_EIO, "docstore: sqlite: cannot open %.160s: %s", path,
                                   s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        msb__free(s);
        return st;
    }
    sqlite3_busy_timeout(s->db, (int)(cfg->timeout_ns / 1000000));
    msb_status_t st = msb__dss_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", err);
    if (st != MSB_OK) {
        sqlite3_close(s->db);
        msb__free(s);
        return st;
    }
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return MSB_OK;
}

static void d_close(void *h)
{
    msb__dss_t *s = h;
    if (s != NULL) {
        sqlite3_close(s->db);
        pthread_mutex_destroy(&s->mu);
        msb__free(s);
    }
}

static const msb__docstore_driver_t driver = {
    .abi = MSB__DOCSTORE_DRIVER_ABI,
    .open = d_open,
    .close = d_close,
    .caps = d_caps,
    .insert = d_insert,
    .find = d_find,
    .count = d_count,
    .update = msb__dss_update,
    .del = d_del,
    .create_index = msb__dss_index,
    .search = msb__dss_search,
    .aggregate = msb__dss_aggregate,
    .drop = d_drop,
};

MSB_INTERNAL const void *msb__docstore_sqlite_driver(void);

const void *msb__docstore_sqlite_driver(void)
{
    return &driver;
}
