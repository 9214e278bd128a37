/*
 * The SQLite document store's indexes and text match: key specifications become expression
 * indexes on json_extract(); `"text"` fields are recorded (table msb_text_fields) as the default
 * fields of msb_docstore_search(), which matches with LIKE.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "docstore/sqlite/internal.h"

/* {"f": 1, "g": -1} → CREATE INDEX; {"f": "text"} → a text field for search(). */
static msb_status_t index_sql(msb__dsq_t *q, const char *coll, const json_t *keys, bool unique,
                              msb__buf_t *text_fields)
{
    msb__buf_t name = MSB__BUF_INIT;
    msb__buf_printf(&name, "x_%s", coll);
    const char *f;
    const json_t *v;
    json_object_foreach((json_t *)keys, f, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), "text") == 0) {
            msb__buf_puts(text_fields, f);
            msb__buf_putc(text_fields, '\n');
            continue;
        }
        if (!json_is_integer(v) || (json_integer_value(v) != 1 && json_integer_value(v) != -1)) {
            msb__buf_free(&name);
            return msb__err(q->err, MSB_ENOTSUP,
                            "docstore: index type of %.80s is outside the SQLite backend's "
                            "subset (1, -1 or \"text\")",
                            f);
        }
        msb__buf_printf(&name, "_%s_%d", f, json_integer_value(v) == 1 ? 1 : 0);
    }
    if (q->sql.len == 0 && name.len > 0) {
        msb__buf_printf(&q->sql, "CREATE %sINDEX IF NOT EXISTS \"%s\" ON ", unique ? "UNIQUE " : "",
                        name.data);
        msb__dsq_table(q, coll);
        msb__dsq_sql(q, " (");
        bool first = true;
        json_object_foreach((json_t *)keys, f, v)
        {
            if (json_is_string(v)) {
                continue;
            }
            msb__dsq_sql(q, first ? "" : ", ");
            first = false;
            if (strcmp(f, "_id") == 0) {
                msb__dsq_sql(q, "id");
            } else {
                msb__dsq_path(q, f);
            }
            msb__dsq_sql(q, json_integer_value(v) == 1 ? " ASC" : " DESC");
        }
        msb__dsq_sql(q, ")");
        if (first) {
            msb__buf_reset(&q->sql); /* text fields only */
        }
    }
    msb__buf_free(&name);
    return msb__dsq_status(q);
}

static msb_status_t save_text_fields(msb__dss_t *s, const char *coll, const char *list,
                                     msb_error_t *err)
{
    msb_status_t rc =
        msb__dss_exec(s,
                      "CREATE TABLE IF NOT EXISTS msb_text_fields (coll TEXT, field TEXT, "
                      "PRIMARY KEY (coll, field))",
                      err);
    for (const char *p = list; rc == MSB_OK && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        msb__dsq_t q;
        msb__dsq_init(&q, err);
        msb__dsq_sql(&q, "INSERT OR IGNORE INTO msb_text_fields VALUES (");
        msb__dsq_param_text(&q, coll, strlen(coll));
        msb__dsq_sql(&q, ", ");
        msb__dsq_param_text(&q, p, (size_t)(nl - p));
        msb__dsq_sql(&q, ")");
        rc = msb__dss_run(s, &q, NULL, err);
        msb__dsq_free(&q);
        p = nl + 1;
    }
    return rc;
}

msb_status_t msb__dss_index(void *h, const char *coll, const char *keys, bool unique,
                            msb_error_t *err)
{
    msb__dss_t *s = h;
    json_t *k = NULL;
    msb_status_t rc = msb__dss_parse(keys, "index keys", &k, err);
    if (rc == MSB_OK && (!json_is_object(k) || json_object_size(k) == 0)) {
        rc = msb__err(err, MSB_EINVAL, "docstore: index keys must be a non-empty JSON object");
    }
    msb__dsq_t q;
    msb__dsq_init(&q, err);
    msb__buf_t text = MSB__BUF_INIT;
    if (rc == MSB_OK) {
        rc = index_sql(&q, coll, k, unique, &text);
    }
    pthread_mutex_lock(&s->mu);
    if (rc == MSB_OK) {
        rc = msb__dss_ensure(s, coll, err);
    }
    if (rc == MSB_OK && q.sql.len > 0) {
        rc = msb__dss_run(s, &q, NULL, err);
    }
    if (rc == MSB_OK && text.len > 0) {
        rc = save_text_fields(s, coll, text.data, err);
    }
    pthread_mutex_unlock(&s->mu);
    msb__buf_free(&text);
    msb__dsq_free(&q);
    json_decref(k);
    return rc;
}

/* The fields of the collection's text index, as a JSON array (new), or NULL. */
static json_t *text_fields(msb__dss_t *s, const char *coll)
{
    json_t *arr = json_array();
    sqlite3_stmt *st = NULL;
    if (arr == NULL || sqlite3_prepare_v2(s->db,
                                          "SELECT field FROM msb_text_fields WHERE coll = ? "
                                          "ORDER BY field",
                                          -1, &st, NULL) != SQLITE_OK) {
        json_decref(arr);
        return NULL; /* no table: no text index */
    }
    sqlite3_bind_text(st, 1, coll, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_array_append_new(arr, json_string((const char *)sqlite3_column_text(st, 0)));
    }
    sqlite3_finalize(st);
    return arr;
}

/* filter AND (f1 LIKE %text% OR f2 LIKE …): a case-insensitive substring match (ASCII). */
msb_status_t msb__dss_search(void *h, const char *coll, const char *text, const char *const *fields,
                             size_t nfields, const char *filter, const msb_docstore_find_opts_t *o,
                             msb_docstore_result_t *r, msb_error_t *err)
{
    msb__dss_t *s = h;
    json_t *f = NULL;
    msb_status_t rc = msb__dss_parse(filter, "filter", &f, err);
    json_t *names = json_array();
    for (size_t i = 0; rc == MSB_OK && names != NULL && i < nfields; i++) {
        json_array_append_new(names, json_string(fields[i]));
    }
    if (rc == MSB_OK && nfields == 0) {
        json_decref(names);
        pthread_mutex_lock(&s->mu);
        names = text_fields(s, coll);
        pthread_mutex_unlock(&s->mu);
    }
    if (rc == MSB_OK && (names == NULL || json_array_size(names) == 0)) {
        rc = msb__err(err, MSB_EINVAL,
                      "docstore: search: give the fields to match (the collection has no text "
                      "index)");
    }
    char *pattern = rc == MSB_OK ? msb__docstore_escape_like(text) : NULL;
    if (rc == MSB_OK && pattern == NULL) {
        rc = msb__err_nomem(err, "a search");
    }
    json_t *sort = NULL;
    json_t *proj = NULL;
    if (rc == MSB_OK) {
        rc = msb__dss_parse(o->sort, "sort", &sort, err);
    }
    if (rc == MSB_OK) {
        rc = msb__dss_parse(o->projection, "projection", &proj, err);
    }
    msb__dsq_t q;
    msb__dsq_init(&q, err);
    if (rc == MSB_OK && names != NULL && pattern != NULL) {
        msb__dsq_sql(&q, "SELECT doc FROM ");
        msb__dsq_table(&q, coll);
        msb__dsq_sql(&q, " WHERE ");
        msb__dsq_where(&q, f);
        msb__dsq_sql(&q, " AND (0");
        size_t i;
        json_t *name;
        json_array_foreach(names, i, name)
        {
            msb__dsq_sql(&q, " OR ");
            msb__dsq_path(&q, json_string_value(name));
            msb__dsq_sql(&q, " LIKE '%' || ");
            msb__dsq_param_text(&q, pattern, strlen(pattern));
            msb__dsq_sql(&q, " || '%' ESCAPE '\\'");
        }
        msb__dsq_sql(&q, ")");
        msb__dsq_order(&q, sort);
        if (o->limit > 0 || o->skip > 0) {
            msb__dsq_sql(&q, " LIMIT ");
            msb__dsq_param_int(&q, o->limit > 0 ? o->limit : -1);
            msb__dsq_sql(&q, " OFFSET ");
            msb__dsq_param_int(&q, o->skip);
        }
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
    msb__free(pattern);
    json_decref(names);
    json_decref(f);
    return rc;
}
