/*
 * The document-store checks every backend must pass (SQLite in tests/unit/docstore_sqlite_*.c,
 * FerretDB in tests/integration/mongo_docstore.c). Each takes an open store and a collection
 * name that is empty at the start. Criterion assertions; header-only, one includer per program.
 */
#ifndef MSB_TEST_DOCSTORE_SUITE_H
#define MSB_TEST_DOCSTORE_SUITE_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "msb/docstore.h"

static json_t *ds_parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    cr_assert_not_null(j, "invalid JSON from the store (%s): %s", je.text, text);
    return j;
}

/* A number field of a JSON document (integers and reals alike). */
static double ds_num(const char *doc, const char *field)
{
    json_t *j = ds_parse(doc);
    json_t *v = json_object_get(j, field);
    cr_assert(json_is_number(v), "%s has no number %s", doc, field);
    double d = json_number_value(v);
    json_decref(j);
    return d;
}

static void ds_str(const char *doc, const char *field, char *out, size_t size)
{
    json_t *j = ds_parse(doc);
    json_t *v = json_object_get(j, field);
    snprintf(out, size, "%s", json_is_string(v) ? json_string_value(v) : "<none>");
    json_decref(j);
}

static void ds_seed(msb_docstore_t *ds, const char *coll)
{
    static const char *const docs[] = {
        "{\"sku\":\"A1\",\"name\":\"Desk Lamp\",\"category\":\"home\",\"price\":25,\"stock\":3,"
        "\"desc\":\"A warm LED lamp\"}",
        "{\"sku\":\"B2\",\"name\":\"Office Chair\",\"category\":\"office\",\"price\":149.5,"
        "\"stock\":0,\"desc\":\"Ergonomic, with lumbar support\"}",
        "{\"sku\":\"C3\",\"name\":\"Notebook\",\"category\":\"office\",\"price\":4,\"stock\":120,"
        "\"desc\":\"Dotted paper, 100%% recycled\"}",
        "{\"sku\":\"D4\",\"name\":\"Lamp Shade\",\"category\":\"home\",\"price\":12,\"stock\":7,"
        "\"desc\":\"Linen shade for a desk lamp\",\"tags\":[\"linen\"]}",
        "{\"sku\":\"E5\",\"name\":\"Stapler\",\"category\":\"office\",\"price\":9.99,\"stock\":15,"
        "\"desc\":\"Robert'); DROP TABLE c_products;--\"}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        msb_error_t err;
        cr_assert_eq(msb_docstore_insert(ds, coll, docs[i], NULL, &err), MSB_OK, "%s", err.message);
    }
}

static size_t ds_find_n(msb_docstore_t *ds, const char *coll, const char *filter, const char *sort,
                        int64_t limit, int64_t skip, char *first, size_t size)
{
    msb_docstore_find_opts_t o = MSB_DOCSTORE_FIND_OPTS_INIT;
    o.sort = sort;
    o.limit = limit;
    o.skip = skip;
    msb_docstore_result_t *r = NULL;
    msb_error_t err;
    cr_assert_eq(msb_docstore_find(ds, coll, filter, &o, &r, &err), MSB_OK, "%s: %s", filter,
                 err.message);
    size_t n = msb_docstore_result_count(r);
    if (first != NULL && n > 0) {
        ds_str(msb_docstore_result_doc(r, 0, NULL), "sku", first, size);
    }
    msb_docstore_result_free(r);
    return n;
}

static void ds_check_crud(msb_docstore_t *ds, const char *coll)
{
    msb_error_t err;
    char *id = NULL;
    cr_assert_eq(msb_docstore_insert(ds, coll, "{\"sku\":\"Z9\",\"price\":1}", &id, &err), MSB_OK,
                 "%s", err.message);
    json_t *idj = ds_parse(id);
    cr_assert(json_is_object(idj) && json_is_string(json_object_get(idj, "$oid")),
              "a generated ObjectId: %s", id);
    cr_assert_eq(strlen(json_string_value(json_object_get(idj, "$oid"))), 24);
    char filter[128];
    snprintf(filter, sizeof(filter), "{\"_id\":%s}", id);
    char *doc = NULL;
    cr_assert_eq(msb_docstore_find_one(ds, coll, filter, &doc, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(ds_num(doc, "price"), 1);
    msb_docstore_str_free(doc);
    json_decref(idj);
    msb_docstore_str_free(id);

    cr_assert_eq(msb_docstore_insert(ds, coll, "{\"_id\":\"fixed\",\"v\":1}", &id, &err), MSB_OK);
    cr_assert_str_eq(id, "\"fixed\"");
    msb_docstore_str_free(id);
    cr_assert_eq(msb_docstore_insert(ds, coll, "{\"_id\":\"fixed\",\"v\":2}", NULL, &err),
                 MSB_EEXIST, "duplicate _id: %s", err.message);

    int64_t n = 0;
    cr_assert_eq(msb_docstore_update(ds, coll, "{\"_id\":\"fixed\"}",
                                     "{\"$set\":{\"v\":5,\"w\":\"x\"},\"$inc\":{\"n\":2}}", false,
                                     &n, &err),
                 MSB_OK, "%s", err.message);
    cr_assert_eq(n, 1);
    cr_assert_eq(msb_docstore_find_one(ds, coll, "{\"_id\":\"fixed\"}", &doc, &err), MSB_OK);
    cr_assert_eq(ds_num(doc, "v"), 5);
    cr_assert_eq(ds_num(doc, "n"), 2);
    msb_docstore_str_free(doc);
    cr_assert_eq(msb_docstore_update(ds, coll, "{\"_id\":\"fixed\"}", "{\"$unset\":{\"w\":\"\"}}",
                                     false, &n, &err),
                 MSB_OK, "%s", err.message);
    cr_assert_eq(msb_docstore_update(ds, coll, "{\"_id\":\"fixed\"}", "{\"v\":9}", false, &n, &err),
                 MSB_OK, "replacement: %s", err.message);
    cr_assert_eq(msb_docstore_find_one(ds, coll, "{\"_id\":\"fixed\"}", &doc, &err), MSB_OK);
    cr_assert_eq(ds_num(doc, "v"), 9);
    json_t *j = ds_parse(doc);
    cr_assert_null(json_object_get(j, "n"), "a replacement drops the other fields: %s", doc);
    cr_assert_null(json_object_get(j, "w"));
    json_decref(j);
    msb_docstore_str_free(doc);
    cr_assert_eq(msb_docstore_update(ds, coll, "{\"_id\":\"nope\"}", "{\"$set\":{\"v\":1}}", false,
                                     &n, &err),
                 MSB_OK);
    cr_assert_eq(n, 0);

    int64_t deleted = 0;
    cr_assert_eq(msb_docstore_delete(ds, coll, "{\"_id\":\"fixed\"}", false, &deleted, &err),
                 MSB_OK);
    cr_assert_eq(deleted, 1);
    cr_assert_eq(msb_docstore_find_one(ds, coll, "{\"_id\":\"fixed\"}", &doc, &err), MSB_ENOTFOUND);
}

static void ds_check_queries(msb_docstore_t *ds, const char *coll)
{
    ds_seed(ds, coll);
    char first[32];
    cr_assert_eq(ds_find_n(ds, coll, NULL, NULL, 0, 0, NULL, 0), 5);
    cr_assert_eq(ds_find_n(ds, coll, "{\"category\":\"office\"}", NULL, 0, 0, NULL, 0), 3);
    cr_assert_eq(ds_find_n(ds, coll, "{\"price\":{\"$gte\":10,\"$lt\":150}}", "{\"price\":1}", 0, 0,
                           first, sizeof(first)),
                 3);
    cr_assert_str_eq(first, "D4");
    cr_assert_eq(ds_find_n(ds, coll, "{\"price\":{\"$gt\":\"9\"}}", NULL, 0, 0, NULL, 0), 0,
                 "strings never compare with numbers");
    cr_assert_eq(
        ds_find_n(ds, coll, "{\"sku\":{\"$in\":[\"A1\",\"C3\",\"X\"]}}", NULL, 0, 0, NULL, 0), 2);
    cr_assert_eq(ds_find_n(ds, coll, "{\"sku\":{\"$nin\":[\"A1\",\"C3\"]}}", NULL, 0, 0, NULL, 0),
                 3);
    cr_assert_eq(ds_find_n(ds, coll, "{\"category\":{\"$ne\":\"office\"}}", NULL, 0, 0, NULL, 0),
                 2);
    cr_assert_eq(ds_find_n(ds, coll, "{\"tags\":{\"$exists\":true}}", NULL, 0, 0, NULL, 0), 1);
    cr_assert_eq(ds_find_n(ds, coll,
                           "{\"$or\":[{\"stock\":0},{\"price\":{\"$lt\":5}}],\"category\":"
                           "\"office\"}",
                           "{\"sku\":1}", 0, 0, first, sizeof(first)),
                 2);
    cr_assert_str_eq(first, "B2");
    cr_assert_eq(ds_find_n(ds, coll, "{\"$and\":[{\"category\":\"home\"},{\"stock\":{\"$gt\":5}}]}",
                           NULL, 0, 0, first, sizeof(first)),
                 1);
    cr_assert_str_eq(first, "D4");
    /* paging over a stable sort */
    cr_assert_eq(ds_find_n(ds, coll, "{}", "{\"price\":-1}", 2, 0, first, sizeof(first)), 2);
    cr_assert_str_eq(first, "B2");
    cr_assert_eq(ds_find_n(ds, coll, "{}", "{\"price\":-1}", 2, 2, first, sizeof(first)), 2);
    cr_assert_str_eq(first, "D4");
    cr_assert_eq(ds_find_n(ds, coll, "{}", "{\"price\":-1}", 2, 4, first, sizeof(first)), 1);
    cr_assert_str_eq(first, "C3");
    /* an injection-shaped string is data */
    cr_assert_eq(ds_find_n(ds, coll, "{\"desc\":\"Robert'); DROP TABLE c_products;--\"}", NULL, 0,
                           0, first, sizeof(first)),
                 1);
    cr_assert_str_eq(first, "E5");
    int64_t n = 0;
    msb_error_t err;
    cr_assert_eq(msb_docstore_count(ds, coll, "{\"category\":\"office\"}", &n, &err), MSB_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(msb_docstore_count(ds, coll, NULL, &n, &err), MSB_OK);
    cr_assert_eq(n, 5);
    /* projection */
    msb_docstore_find_opts_t o = MSB_DOCSTORE_FIND_OPTS_INIT;
    o.projection = "{\"sku\":1,\"_id\":0}";
    msb_docstore_result_t *r = NULL;
    cr_assert_eq(msb_docstore_find(ds, coll, "{\"sku\":\"A1\"}", &o, &r, &err), MSB_OK, "%s",
                 err.message);
    cr_assert_eq(msb_docstore_result_count(r), 1);
    json_t *j = ds_parse(msb_docstore_result_doc(r, 0, NULL));
    cr_assert_eq(json_object_size(j), 1, "%s", msb_docstore_result_doc(r, 0, NULL));
    json_decref(j);
    msb_docstore_result_free(r);
    /* update many */
    cr_assert_eq(msb_docstore_update(ds, coll, "{\"category\":\"office\"}",
                                     "{\"$inc\":{\"stock\":1}}", true, &n, &err),
                 MSB_OK, "%s", err.message);
    cr_assert_eq(n, 3);
    cr_assert_eq(ds_find_n(ds, coll, "{\"stock\":1}", NULL, 0, 0, first, sizeof(first)), 1);
    cr_assert_str_eq(first, "B2");
    cr_assert_eq(msb_docstore_delete(ds, coll, "{\"category\":\"office\"}", true, &n, &err),
                 MSB_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(msb_docstore_count(ds, coll, NULL, &n, &err), MSB_OK);
    cr_assert_eq(n, 2);
}

static void ds_check_indexes(msb_docstore_t *ds, const char *coll)
{
    msb_error_t err;
    cr_assert_eq(msb_docstore_create_index(ds, coll, "{\"sku\":1}", true, &err), MSB_OK, "%s",
                 err.message);
    cr_assert_eq(msb_docstore_create_index(ds, coll, "{\"category\":1,\"price\":-1}", false, &err),
                 MSB_OK, "%s", err.message);
    cr_assert_eq(msb_docstore_create_index(ds, coll, "{\"sku\":1}", true, &err), MSB_OK,
                 "creating it again is a no-op");
    ds_seed(ds, coll);
    cr_assert_eq(msb_docstore_insert(ds, coll, "{\"sku\":\"A1\"}", NULL, &err), MSB_EEXIST,
                 "unique index: %s", err.message);
}

/* Search by substring on named fields: every backend has this fallback. */
static void ds_check_search_fallback(msb_docstore_t *ds, const char *coll)
{
    ds_seed(ds, coll);
    const char *fields[] = {"name", "desc"};
    msb_docstore_result_t *r = NULL;
    msb_error_t err;
    cr_assert_eq(msb_docstore_search(ds, coll, "LAMP", fields, 2, NULL, NULL, &r, &err), MSB_OK,
                 "%s", err.message);
    cr_assert_eq(msb_docstore_result_count(r), 2, "case-insensitive on name and desc");
    msb_docstore_result_free(r);
    cr_assert_eq(msb_docstore_search(ds, coll, "100%", fields, 2, NULL, NULL, &r, &err), MSB_OK);
    cr_assert_eq(msb_docstore_result_count(r), 1, "% is matched literally");
    msb_docstore_result_free(r);
    cr_assert_eq(msb_docstore_search(ds, coll, "a.*b", fields, 2, NULL, NULL, &r, &err), MSB_OK);
    cr_assert_eq(msb_docstore_result_count(r), 0, "no regex injection");
    msb_docstore_result_free(r);
    cr_assert_eq(
        msb_docstore_search(ds, coll, "lamp", fields, 2, "{\"category\":\"home\"}", NULL, &r, &err),
        MSB_OK);
    cr_assert_eq(msb_docstore_result_count(r), 2);
    msb_docstore_result_free(r);
    msb_docstore_find_opts_t o = MSB_DOCSTORE_FIND_OPTS_INIT;
    o.sort = "{\"price\":1}";
    o.limit = 1;
    cr_assert_eq(msb_docstore_search(ds, coll, "lamp", fields, 2, NULL, &o, &r, &err), MSB_OK);
    cr_assert_eq(msb_docstore_result_count(r), 1);
    char sku[16];
    ds_str(msb_docstore_result_doc(r, 0, NULL), "sku", sku, sizeof(sku));
    cr_assert_str_eq(sku, "D4");
    msb_docstore_result_free(r);
    cr_assert_eq(msb_docstore_search(ds, coll, "", fields, 2, NULL, NULL, &r, &err), MSB_EINVAL);
}

/* $match + $group (one accumulator: $sum of a field, then $count) + $sort: the aggregation
 * every backend runs. */
static void ds_group_run(msb_docstore_t *ds, const char *coll, const char *acc, const char *field,
                         double home_want, double office_want)
{
    char pl[512];
    snprintf(pl, sizeof(pl),
             "[{\"$match\":{\"price\":{\"$gt\":5}}},{\"$group\":{\"_id\":\"$category\",\"%s\":%s}},"
             "{\"$sort\":{\"_id\":1}}]",
             field, acc);
    msb_docstore_result_t *r = NULL;
    msb_error_t err;
    cr_assert_eq(msb_docstore_aggregate(ds, coll, pl, &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_docstore_result_count(r), 2);
    const char *home = msb_docstore_result_doc(r, 0, NULL);
    const char *office = msb_docstore_result_doc(r, 1, NULL);
    char id[16];
    ds_str(home, "_id", id, sizeof(id));
    cr_assert_str_eq(id, "home", "%s", home);
    cr_assert_eq(ds_num(home, field), home_want, "%s", home);
    ds_str(office, "_id", id, sizeof(id));
    cr_assert_str_eq(id, "office");
    cr_assert_eq(ds_num(office, field), office_want, "%s", office);
    msb_docstore_result_free(r);
}

static void ds_check_group(msb_docstore_t *ds, const char *coll)
{
    ds_seed(ds, coll);
    ds_group_run(ds, coll, "{\"$sum\":\"$stock\"}", "stock", 10, 15);
    ds_group_run(ds, coll, "{\"$sum\":1}", "n", 2, 2);
    ds_group_run(ds, coll, "{\"$count\":{}}", "n", 2, 2);
}

static void ds_check_bad_input(msb_docstore_t *ds, const char *coll)
{
    msb_error_t err;
    msb_docstore_result_t *r = NULL;
    cr_assert_eq(msb_docstore_insert(ds, coll, "{not json", NULL, &err), MSB_EINVAL);
    cr_assert_eq(msb_docstore_insert(ds, coll, "[1,2]", NULL, &err), MSB_EINVAL);
    cr_assert_eq(msb_docstore_insert(ds, "bad\"name", "{}", NULL, &err), MSB_EINVAL);
    cr_assert(strstr(err.message, "collection") != NULL, "%s", err.message);
    cr_assert_eq(msb_docstore_insert(ds, "", "{}", NULL, &err), MSB_EINVAL);
    cr_assert_eq(msb_docstore_find(ds, coll, "{\"a\":", NULL, &r, &err), MSB_EINVAL);
    msb_docstore_find_opts_t o = MSB_DOCSTORE_FIND_OPTS_INIT;
    o.limit = -1;
    cr_assert_eq(msb_docstore_find(ds, coll, NULL, &o, &r, &err), MSB_EINVAL);
    char *doc = NULL;
    cr_assert_eq(msb_docstore_find_one(ds, coll, "{}", NULL, &err), MSB_EINVAL);
    cr_assert_eq(msb_docstore_find_one(ds, coll, "{\"x\":1}", &doc, &err), MSB_ENOTFOUND);
}

#endif
