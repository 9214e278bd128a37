/*
 * MongoDB filters to SQL for the SQLite document store.
 *
 * The subset: equality on a field (`{f: v}`, `$eq`), `$ne`, range (`$gt`, `$gte`, `$lt`, `$lte`:
 * numbers compare with numbers, strings with strings, as MongoDB's type brackets do), `$in`,
 * `$nin`, `$exists`, and `$and`, `$or`, `$nor` over sub-filters. Anything else is MSB_ENOTSUP
 * naming the operator. A field holding an array is compared as a whole (no element matching).
 * Values are always bound parameters; field paths are checked ([A-Za-z0-9_] segments joined by
 * dots) before they are written into the SQL as json_extract() paths, which is also what lets
 * SQLite use the expression indexes of create_index.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "docstore/sqlite/internal.h"

void msb__dsq_init(msb__dsq_t *q, msb_error_t *err)
{
    memset(q, 0, sizeof(*q));
    msb__buf_init(&q->sql, 0);
    q->err = err;
}

void msb__dsq_free(msb__dsq_t *q)
{
    for (size_t i = 0; i < q->np; i++) {
        msb__free(q->p[i].s);
    }
    msb__free(q->p);
    msb__buf_free(&q->sql);
}

static msb_status_t fail(msb__dsq_t *q, msb_status_t st, const char *fmt, ...) MSB_PRINTF(3, 4);

static msb_status_t fail(msb__dsq_t *q, msb_status_t st, const char *fmt, ...)
{
    if (q->st == MSB_OK) {
        char msg[MSB_ERROR_MESSAGE_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        q->st = msb__err(q->err, st, "%s", msg);
    }
    return q->st;
}

msb_status_t msb__dsq_status(msb__dsq_t *q)
{
    if (q->st == MSB_OK && msb__buf_status(&q->sql) != MSB_OK) {
        q->st = msb__err_nomem(q->err, "a query");
    }
    return q->st;
}

void msb__dsq_sql(msb__dsq_t *q, const char *s)
{
    msb__buf_puts(&q->sql, s);
}

void msb__dsq_table(msb__dsq_t *q, const char *coll)
{
    msb__buf_printf(&q->sql, "\"c_%s\"", coll); /* names were checked: no quotes in them */
}

static msb__dsq_param_t *new_param(msb__dsq_t *q)
{
    if (q->np == q->cap) {
        size_t cap = q->cap == 0 ? 8 : q->cap * 2;
        msb__dsq_param_t *p = msb__realloc(q->p, cap * sizeof(*p));
        if (p == NULL) {
            fail(q, MSB_ENOMEM, "out of memory building a query");
            return NULL;
        }
        q->p = p;
        q->cap = cap;
    }
    msb__dsq_param_t *p = &q->p[q->np++];
    memset(p, 0, sizeof(*p));
    msb__buf_putc(&q->sql, '?');
    return p;
}

void msb__dsq_param_text(msb__dsq_t *q, const char *s, size_t n)
{
    msb__dsq_param_t *p = new_param(q);
    if (p == NULL) {
        return;
    }
    p->type = DSQ_TEXT;
    p->s = msb__strndup(s, n);
    p->n = n;
    if (p->s == NULL) {
        fail(q, MSB_ENOMEM, "out of memory building a query");
    }
}

void msb__dsq_param_int(msb__dsq_t *q, int64_t v)
{
    msb__dsq_param_t *p = new_param(q);
    if (p != NULL) {
        p->type = DSQ_INT;
        p->i = v;
    }
}

msb_status_t msb__dsq_param_json(msb__dsq_t *q, const json_t *v)
{
    if (json_is_string(v)) {
        msb__dsq_param_text(q, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        msb__dsq_param_int(q, (int64_t)json_integer_value(v));
    } else if (json_is_real(v)) {
        msb__dsq_param_t *p = new_param(q);
        if (p != NULL) {
            p->type = DSQ_REAL;
            p->d = json_real_value(v);
        }
    } else if (json_is_boolean(v)) {
        msb__dsq_param_int(q, json_is_true(v) ? 1 : 0);
    } else if (json_is_null(v)) {
        msb__dsq_param_t *p = new_param(q);
        if (p != NULL) {
            p->type = DSQ_NULL;
        }
    } else {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text == NULL) {
            return fail(q, MSB_ENOMEM, "out of memory building a query");
        }
        msb__dsq_param_text(q, text, strlen(text));
        free(text); /* jansson's allocation */
    }
    return q->st;
}

static bool good_path(const char *f)
{
    size_t n = strlen(f);
    if (n == 0 || n > 200 || f[0] == '.' || f[n - 1] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = f[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || (c == '.' && f[i + 1] != '.');
        if (!ok) {
            return false;
        }
    }
    return true;
}

msb_status_t msb__dsq_path(msb__dsq_t *q, const char *field)
{
    if (!good_path(field)) {
        return fail(q, MSB_EINVAL,
                    "docstore: field path \"%.80s\" is not [A-Za-z0-9_] segments joined by dots "
                    "(the SQLite backend's subset)",
                    field);
    }
    msb__buf_printf(&q->sql, "json_extract(doc,'$.%s')", field);
    return q->st;
}

static void type_guard(msb__dsq_t *q, const char *field, const json_t *v)
{
    msb__buf_printf(&q->sql, " AND json_type(doc,'$.%s')", field);
    msb__buf_puts(&q->sql, json_is_string(v) ? "='text'" : " IN ('integer','real')");
}

/* field = v (scalars and documents), NULL-safe in the way MongoDB matches null. */
static msb_status_t eq(msb__dsq_t *q, const char *field, const json_t *v)
{
    if (strcmp(field, "_id") == 0) {
        msb__dsq_sql(q, "(id=");
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text == NULL) {
            return fail(q, MSB_ENOMEM, "out of memory building a query");
        }
        msb__dsq_param_text(q, text, strlen(text));
        free(text);
        msb__dsq_sql(q, ")");
        return q->st;
    }
    if (!good_path(field)) {
        return msb__dsq_path(q, field);
    }
    if (json_is_null(v)) {
        msb__buf_printf(&q->sql, "(json_type(doc,'$.%s') IS NULL OR json_type(doc,'$.%s')='null')",
                        field, field);
    } else if (json_is_boolean(v)) {
        msb__buf_printf(&q->sql, "(json_type(doc,'$.%s')='%s')", field,
                        json_is_true(v) ? "true" : "false");
    } else {
        msb__dsq_sql(q, "(");
        msb__dsq_path(q, field);
        msb__dsq_sql(q, "=");
        msb__dsq_param_json(q, v);
        if (!json_is_string(v) && !json_is_number(v)) {
            msb__buf_printf(&q->sql, " AND json_type(doc,'$.%s') IN ('object','array')", field);
        }
        msb__dsq_sql(q, ")");
    }
    return q->st;
}

static msb_status_t range(msb__dsq_t *q, const char *field, const char *op, const char *sqlop,
                          const json_t *v)
{
    if (!json_is_string(v) && !json_is_number(v)) {
        return fail(q, MSB_ENOTSUP,
                    "docstore: %s takes a number or a string in the SQLite backend's subset", op);
    }
    msb__dsq_sql(q, "(");
    if (strcmp(field, "_id") == 0) {
        return fail(q, MSB_ENOTSUP, "docstore: %s on _id is outside the SQLite backend's subset",
                    op);
    }
    msb__dsq_path(q, field);
    msb__dsq_sql(q, sqlop);
    msb__dsq_param_json(q, v);
    type_guard(q, field, v);
    msb__dsq_sql(q, ")");
    return q->st;
}

static msb_status_t in_list(msb__dsq_t *q, const char *field, const json_t *arr, bool negate)
{
    const char *op = negate ? "$nin" : "$in";
    if (!json_is_array(arr)) {
        return fail(q, MSB_EINVAL, "docstore: %s needs an array", op);
    }
    msb__dsq_sql(q, negate ? "(NOT coalesce((" : "((");
    if (json_array_size(arr) == 0) {
        msb__dsq_sql(q, "0");
    }
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (i > 0) {
            msb__dsq_sql(q, " OR ");
        }
        eq(q, field, v);
    }
    msb__dsq_sql(q, negate ? "),0))" : "))");
    return q->st;
}

static msb_status_t op_expr(msb__dsq_t *q, const char *field, const char *op, const json_t *v)
{
    static const struct {
        const char *op;
        const char *sql;
    } ranges[] = {{"$gt", ">"}, {"$gte", ">="}, {"$lt", "<"}, {"$lte", "<="}};
    for (size_t i = 0; i < MSB_ARRAY_LEN(ranges); i++) {
        if (strcmp(op, ranges[i].op) == 0) {
            return range(q, field, op, ranges[i].sql, v);
        }
    }
    if (strcmp(op, "$eq") == 0) {
        return eq(q, field, v);
    }
    if (strcmp(op, "$ne") == 0) {
        msb__dsq_sql(q, "(NOT coalesce(");
        eq(q, field, v);
        msb__dsq_sql(q, ",0))");
        return q->st;
    }
    if (strcmp(op, "$in") == 0 || strcmp(op, "$nin") == 0) {
        return in_list(q, field, v, op[1] == 'n');
    }
    if (strcmp(op, "$exists") == 0) {
        if (!good_path(field)) {
            return msb__dsq_path(q, field);
        }
        msb__buf_printf(&q->sql, "(json_type(doc,'$.%s') IS %s)", field,
                        json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0)
                            ? "NOT NULL"
                            : "NULL");
        return q->st;
    }
    return fail(q, MSB_ENOTSUP,
                "docstore: operator %.40s is outside the SQLite backend's subset (see "
                "docs/docstore.md)",
                op);
}

/* Extended JSON type wrappers ({"$oid": …}, {"$date": …}) are values, not operators. */
static bool is_type_wrapper(const char *key)
{
    static const char *const wrappers[] = {"$oid",       "$date",         "$numberLong",
                                           "$numberInt", "$numberDouble", "$numberDecimal",
                                           "$binary",    "$timestamp",    "$uuid"};
    for (size_t i = 0; i < MSB_ARRAY_LEN(wrappers); i++) {
        if (strcmp(key, wrappers[i]) == 0) {
            return true;
        }
    }
    return false;
}

static msb_status_t field_expr(msb__dsq_t *q, const char *field, const json_t *v)
{
    const char *first = NULL;
    if (json_is_object(v) && json_object_size(v) > 0) {
        first = json_object_iter_key(json_object_iter((json_t *)v));
    }
    if (first == NULL || first[0] != '$' || is_type_wrapper(first)) {
        return eq(q, field, v);
    }
    msb__dsq_sql(q, "(1");
    const char *op;
    const json_t *arg;
    json_object_foreach((json_t *)v, op, arg)
    {
        msb__dsq_sql(q, " AND ");
        op_expr(q, field, op, arg);
    }
    msb__dsq_sql(q, ")");
    return q->st;
}

static msb_status_t logical(msb__dsq_t *q, const char *op, const json_t *arr)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        return fail(q, MSB_EINVAL, "docstore: %s needs a non-empty array of filters", op);
    }
    bool nor = strcmp(op, "$nor") == 0;
    const char *join = strcmp(op, "$and") == 0 ? " AND " : " OR ";
    msb__dsq_sql(q, nor ? "(NOT (" : "(");
    size_t i;
    const json_t *f;
    json_array_foreach(arr, i, f)
    {
        if (i > 0) {
            msb__dsq_sql(q, join);
        }
        msb__dsq_where(q, f);
    }
    msb__dsq_sql(q, nor ? "))" : ")");
    return q->st;
}

msb_status_t msb__dsq_where(msb__dsq_t *q, const json_t *filter)
{
    if (filter == NULL || (json_is_object(filter) && json_object_size(filter) == 0)) {
        msb__dsq_sql(q, "1");
        return q->st;
    }
    if (!json_is_object(filter)) {
        return fail(q, MSB_EINVAL, "docstore: a filter must be a JSON object");
    }
    msb__dsq_sql(q, "(1");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)filter, key, v)
    {
        msb__dsq_sql(q, " AND ");
        if (strcmp(key, "$and") == 0 || strcmp(key, "$or") == 0 || strcmp(key, "$nor") == 0) {
            logical(q, key, v);
        } else if (key[0] == '$') {
            fail(q, MSB_ENOTSUP,
                 "docstore: operator %.40s is outside the SQLite backend's subset (see "
                 "docs/docstore.md)",
                 key);
        } else {
            field_expr(q, key, v);
        }
    }
    msb__dsq_sql(q, ")");
    return q->st;
}

msb_status_t msb__dsq_order(msb__dsq_t *q, const json_t *sort)
{
    if (sort == NULL) {
        return q->st;
    }
    if (!json_is_object(sort)) {
        return fail(q, MSB_EINVAL, "docstore: sort must be a JSON object");
    }
    const char *field;
    const json_t *dir;
    bool first = true;
    json_object_foreach((json_t *)sort, field, dir)
    {
        if (!json_is_integer(dir) ||
            (json_integer_value(dir) != 1 && json_integer_value(dir) != -1)) {
            return fail(q, MSB_EINVAL, "docstore: sort direction of %.80s must be 1 or -1", field);
        }
        msb__dsq_sql(q, first ? " ORDER BY " : ", ");
        first = false;
        if (strcmp(field, "_id") == 0) {
            msb__dsq_sql(q, "id");
        } else {
            msb__dsq_path(q, field);
        }
        msb__dsq_sql(q, json_integer_value(dir) == 1 ? " ASC" : " DESC");
    }
    return q->st;
}
