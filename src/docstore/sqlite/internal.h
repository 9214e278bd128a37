/*
 * The document store on SQLite: one table per collection, `c_<name>(id TEXT PRIMARY KEY,
 * doc TEXT)`, documents as JSON text, fields read with json_extract() (JSON1), indexes on those
 * expressions. Filters in MongoDB's query language are translated to SQL with bound parameters
 * (query.c); field paths are checked so only [A-Za-z0-9_] segments reach the SQL text.
 */
#ifndef MSB_DOCSTORE_SQLITE_INTERNAL_H
#define MSB_DOCSTORE_SQLITE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>

#include "core/buf.h"
#include "docstore/driver.h"

typedef struct msb__dss {
    sqlite3 *db;
    pthread_mutex_t mu; /* one connection, one caller at a time */
} msb__dss_t;

enum { DSQ_NULL, DSQ_INT, DSQ_REAL, DSQ_TEXT };

typedef struct msb__dsq_param {
    int type;
    int64_t i;
    double d;
    char *s; /* owned */
    size_t n;
} msb__dsq_param_t;

/* A statement being built: SQL text and its parameters, and the first error. */
typedef struct msb__dsq {
    msb__buf_t sql;
    msb__dsq_param_t *p;
    size_t np;
    size_t cap;
    msb_status_t st;
    msb_error_t *err;
} msb__dsq_t;

MSB_INTERNAL void msb__dsq_init(msb__dsq_t *q, msb_error_t *err);
MSB_INTERNAL void msb__dsq_free(msb__dsq_t *q);
MSB_INTERNAL void msb__dsq_sql(msb__dsq_t *q, const char *s);
/* "c_<coll>" quoted. */
MSB_INTERNAL void msb__dsq_table(msb__dsq_t *q, const char *coll);
/* The SQL expression of a field path ("id" for _id); MSB_EINVAL for a bad path. */
MSB_INTERNAL msb_status_t msb__dsq_path(msb__dsq_t *q, const char *field);
/* A boolean expression for a filter (NULL or {} gives "1"). */
MSB_INTERNAL msb_status_t msb__dsq_where(msb__dsq_t *q, const json_t *filter);
/* " ORDER BY …" for a sort specification (NULL: nothing). */
MSB_INTERNAL msb_status_t msb__dsq_order(msb__dsq_t *q, const json_t *sort);
MSB_INTERNAL void msb__dsq_param_text(msb__dsq_t *q, const char *s, size_t n);
MSB_INTERNAL void msb__dsq_param_int(msb__dsq_t *q, int64_t v);
/* Bind the parameter `v` (a JSON scalar) as its SQL value. */
MSB_INTERNAL msb_status_t msb__dsq_param_json(msb__dsq_t *q, const json_t *v);
MSB_INTERNAL msb_status_t msb__dsq_status(msb__dsq_t *q);

/* Prepare q's SQL and bind its parameters. */
MSB_INTERNAL msb_status_t msb__dss_prepare(msb__dss_t *s, msb__dsq_t *q, sqlite3_stmt **out,
                                           msb_error_t *err);
/* Status for a failed SQLite call, with its message. */
MSB_INTERNAL msb_status_t msb__dss_error(msb__dss_t *s, int rc, const char *doing,
                                         msb_error_t *err);
/* Parse JSON text (NULL gives NULL and MSB_OK); `what` names it in errors. */
MSB_INTERNAL msb_status_t msb__dss_parse(const char *text, const char *what, json_t **out,
                                         msb_error_t *err);
/* Create the collection's table if needed. */
MSB_INTERNAL msb_status_t msb__dss_ensure(msb__dss_t *s, const char *coll, msb_error_t *err);
/* Run SELECT doc … and append each row (projected) to r. */
MSB_INTERNAL msb_status_t msb__dss_collect(msb__dss_t *s, msb__dsq_t *q, const json_t *projection,
                                           msb_docstore_result_t *r, msb_error_t *err);
/* Run a statement that returns nothing; *changes (optional) gets the rows it changed. */
MSB_INTERNAL msb_status_t msb__dss_run(msb__dss_t *s, msb__dsq_t *q, int64_t *changes,
                                       msb_error_t *err);
/* sqlite3_exec of fixed SQL. */
MSB_INTERNAL msb_status_t msb__dss_exec(msb__dss_t *s, const char *sql, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__dss_index(void *h, const char *coll, const char *keys, bool unique,
                                         msb_error_t *err);
MSB_INTERNAL msb_status_t msb__dss_search(void *h, const char *coll, const char *text,
                                          const char *const *fields, size_t nfields,
                                          const char *filter, const msb_docstore_find_opts_t *o,
                                          msb_docstore_result_t *r, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__dss_aggregate(void *h, const char *coll, const char *pipeline,
                                             msb_docstore_result_t *r, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__dss_update(void *h, const char *coll, const char *filter,
                                          const char *update, bool many, int64_t *matched,
                                          msb_error_t *err);

#endif
