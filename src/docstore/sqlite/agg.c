/*
 * Aggregation on SQLite: `$match` stages (before any `$group`) become the WHERE clause; one
 * `$group` becomes GROUP BY with SUM/AVG/MIN/MAX/COUNT; `$sort`, `$skip` and `$limit` apply to
 * the output. Other stages are MSB_ENOTSUP naming them.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "docstore/sqlite/internal.h"

typedef struct plan {
    json_t *match; /* {"$and": [...]} of the $match stages */
    const json_t *group;
    const json_t *sort;
    int64_t skip;
    int64_t limit;
} plan_t;

static msb_status_t read_stage(plan_t *p, const json_t *stage, msb_error_t *err)
{
    if (!json_is_object(stage) || json_object_size(stage) != 1) {
        return msb__err(err, MSB_EINVAL, "docstore: each pipeline stage is an object with one key");
    }
    const char *name = json_object_iter_key(json_object_iter((json_t *)stage));
    const json_t *arg = json_object_iter_value(json_object_iter((json_t *)stage));
    bool after = p->group != NULL || p->sort != NULL || p->skip > 0 || p->limit > 0;
    if (strcmp(name, "$match") == 0 && !after) {
        return json_array_append(json_object_get(p->match, "$and"), (json_t *)arg) == 0
                   ? MSB_OK
                   : msb__err_nomem(err, "a pipeline");
    }
    if (strcmp(name, "$group") == 0 && p->group == NULL && p->sort == NULL && p->skip == 0 &&
        p->limit == 0 && json_is_object(arg)) {
        p->group = arg;
        return MSB_OK;
    }
    if (strcmp(name, "$sort") == 0 && p->sort == NULL && p->skip == 0 && p->limit == 0) {
        p->sort = arg;
        return MSB_OK;
    }
    if ((strcmp(name, "$skip") == 0 || strcmp(name, "$limit") == 0) && json_is_integer(arg) &&
        json_integer_value(arg) >= 0) {
        if (name[1] == 's') {
            p->skip += json_integer_value(arg);
        } else {
            p->limit = p->limit == 0 || json_integer_value(arg) < p->limit ? json_integer_value(arg)
                                                                           : p->limit;
        }
        return MSB_OK;
    }
    return msb__err(err, MSB_ENOTSUP,
                    "docstore: pipeline stage %.40s (here) is outside the SQLite backend's "
                    "subset ($match, $group, $sort, $skip, $limit in that order)",
                    name);
}

static msb_status_t set_st(msb__dsq_t *q, msb_status_t st)
{
    if (q->st == MSB_OK) {
        q->st = st;
    }
    return q->st;
}

/* An accumulator's argument: "$field" or a number. */
static msb_status_t acc_arg(msb__dsq_t *q, const json_t *arg, const char *op)
{
    if (json_is_string(arg) && json_string_value(arg)[0] == '$') {
        return msb__dsq_path(q, json_string_value(arg) + 1);
    }
    if (json_is_number(arg)) {
        return msb__dsq_param_json(q, arg);
    }
    return set_st(
        q, msb__err(q->err, MSB_ENOTSUP, "docstore: %s takes \"$field\" or a number here", op));
}

static msb_status_t accumulator(msb__dsq_t *q, const char *name, const json_t *spec, size_t i)
{
    static const struct {
        const char *op;
        const char *fn;
    } fns[] = {{"$sum", "total"}, {"$avg", "avg"}, {"$min", "min"}, {"$max", "max"}};
    if (!json_is_object(spec) || json_object_size(spec) != 1) {
        return set_st(q, msb__err(q->err, MSB_EINVAL,
                                  "docstore: $group field %.80s needs one accumulator", name));
    }
    const char *op = json_object_iter_key(json_object_iter((json_t *)spec));
    const json_t *arg = json_object_iter_value(json_object_iter((json_t *)spec));
    msb__dsq_sql(q, ", ");
    if (strcmp(op, "$count") == 0) {
        msb__dsq_sql(q, "count(*)");
    } else {
        size_t k = 0;
        while (k < MSB_ARRAY_LEN(fns) && strcmp(op, fns[k].op) != 0) {
            k++;
        }
        if (k == MSB_ARRAY_LEN(fns)) {
            return set_st(
                q, msb__err(q->err, MSB_ENOTSUP,
                            "docstore: accumulator %.40s is outside the SQLite backend's subset "
                            "($sum, $avg, $min, $max, $count)",
                            op));
        }
        msb__buf_printf(&q->sql, "%s(", fns[k].fn);
        acc_arg(q, arg, op);
        msb__dsq_sql(q, ")");
    }
    msb__buf_printf(&q->sql, " AS a%zu", i);
    return q->st;
}

/* SELECT json_object('_id', g, name, aN, ...) FROM (SELECT id AS g, ... GROUP BY g) */
static msb_status_t group_sql(msb__dsq_t *q, const char *coll, const plan_t *p)
{
    const char *name;
    const json_t *spec;
    size_t i = 0;
    msb__dsq_sql(q, "SELECT json_object('_id', g");
    json_object_foreach((json_t *)p->group, name, spec)
    {
        if (strcmp(name, "_id") != 0) {
            msb__dsq_sql(q, ", ");
            msb__dsq_param_text(q, name, strlen(name));
            msb__buf_printf(&q->sql, ", a%zu", i++);
        }
    }
    msb__dsq_sql(q, ") FROM (SELECT ");
    const json_t *id = json_object_get(p->group, "_id");
    if (id == NULL) {
        return set_st(q, msb__err(q->err, MSB_EINVAL, "docstore: $group needs an _id"));
    }
    if (json_is_string(id) && json_string_value(id)[0] == '$') {
        msb__dsq_path(q, json_string_value(id) + 1);
    } else if (json_is_null(id) || json_is_string(id) || json_is_number(id)) {
        msb__dsq_param_json(q, id);
    } else {
        return set_st(q,
                      msb__err(q->err, MSB_ENOTSUP,
                               "docstore: $group _id must be \"$field\", a constant or null here"));
    }
    msb__dsq_sql(q, " AS g");
    i = 0;
    json_object_foreach((json_t *)p->group, name, spec)
    {
        if (strcmp(name, "_id") != 0) {
            accumulator(q, name, spec, i++);
        }
    }
    msb__dsq_sql(q, " FROM ");
    msb__dsq_table(q, coll);
    msb__dsq_sql(q, " WHERE ");
    msb__dsq_where(q, p->match);
    msb__dsq_sql(q, " GROUP BY g)");
    return q->st;
}

/* ORDER BY on the group's output: "_id" is g, a field its aN. */
static msb_status_t group_order(msb__dsq_t *q, const plan_t *p)
{
    const char *field;
    const json_t *dir;
    bool first = true;
    json_object_foreach((json_t *)p->sort, field, dir)
    {
        long long d = json_is_integer(dir) ? json_integer_value(dir) : 0;
        if (d != 1 && d != -1) {
            return set_st(
                q, msb__err(q->err, MSB_EINVAL, "docstore: $sort direction must be 1 or -1"));
        }
        size_t i = 0;
        const char *name;
        const json_t *spec;
        bool found = strcmp(field, "_id") == 0;
        msb__dsq_sql(q, first ? " ORDER BY " : ", ");
        first = false;
        if (found) {
            msb__dsq_sql(q, "g");
        }
        json_object_foreach((json_t *)p->group, name, spec)
        {
            if (strcmp(name, "_id") == 0) {
                continue;
            }
            if (!found && strcmp(name, field) == 0) {
                msb__buf_printf(&q->sql, "a%zu", i);
                found = true;
            }
            i++;
        }
        if (!found) {
            return set_st(q, msb__err(q->err, MSB_EINVAL,
                                      "docstore: $sort field %.80s is not in $group", field));
        }
        msb__dsq_sql(q, d == 1 ? " ASC" : " DESC");
    }
    return q->st;
}

static msb_status_t build(msb__dsq_t *q, const char *coll, const plan_t *p)
{
    if (p->group != NULL) {
        group_sql(q, coll, p);
        if (p->sort != NULL && json_is_object(p->sort)) {
            group_order(q, p);
        }
    } else {
        msb__dsq_sql(q, "SELECT doc FROM ");
        msb__dsq_table(q, coll);
        msb__dsq_sql(q, " WHERE ");
        msb__dsq_where(q, p->match);
        msb__dsq_order(q, p->sort);
    }
    if (p->limit > 0 || p->skip > 0) {
        msb__dsq_sql(q, " LIMIT ");
        msb__dsq_param_int(q, p->limit > 0 ? p->limit : -1);
        msb__dsq_sql(q, " OFFSET ");
        msb__dsq_param_int(q, p->skip);
    }
    return msb__dsq_status(q);
}

msb_status_t msb__dss_aggregate(void *h, const char *coll, const char *pipeline,
                                msb_docstore_result_t *r, msb_error_t *err)
{
    msb__dss_t *s = h;
    json_t *pl = NULL;
    msb_status_t rc = msb__dss_parse(pipeline, "pipeline", &pl, err);
    if (rc == MSB_OK && !json_is_array(pl)) {
        rc = msb__err(err, MSB_EINVAL, "docstore: a pipeline must be a JSON array");
    }
    plan_t p = {json_pack("{s:[]}", "$and"), NULL, NULL, 0, 0};
    if (rc == MSB_OK && p.match == NULL) {
        rc = msb__err_nomem(err, "a pipeline");
    }
    size_t i;
    json_t *stage;
    json_array_foreach(pl, i, stage)
    {
        if (rc == MSB_OK) {
            rc = read_stage(&p, stage, err);
        }
    }
    if (rc == MSB_OK && json_array_size(json_object_get(p.match, "$and")) == 0) {
        json_object_clear(p.match);
    }
    msb__dsq_t q;
    msb__dsq_init(&q, err);
    if (rc == MSB_OK) {
        rc = build(&q, coll, &p);
    }
    if (rc == MSB_OK) {
        pthread_mutex_lock(&s->mu);
        rc = msb__dss_ensure(s, coll, err);
        if (rc == MSB_OK) {
            rc = msb__dss_collect(s, &q, NULL, r, err);
        }
        pthread_mutex_unlock(&s->mu);
    }
    msb__dsq_free(&q);
    json_decref(p.match);
    json_decref(pl);
    return rc;
}
