// msb-test: backends mongo
/* The MongoDB wire-protocol server (FerretDB with SQLite) through mongo-c-driver: insert, find
 * with a filter and a sort, update, create and list an index, count, and an aggregation with
 * $match and $group ($sum and $count).
 *
 * What FerretDB 1.24 cannot do, and so what this test does not try: text indexes ($text),
 * $lookup, $group accumulators other than $sum and $count ($avg, $min, $max, $push, ...), and
 * more than one accumulator in one $group (only the first is computed, the others come back
 * as 0); see docs/operations.md. */
#include <criterion/criterion.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define MONGO_DEFAULT "mongodb://127.0.0.1:57017/msb"

static mongoc_client_t *client;
static mongoc_collection_t *coll;
static char coll_name[96];

static void setup(void)
{
    mongoc_init();
    const char *uri_text = msb_it_env("MSB_MONGO__URI", MONGO_DEFAULT);
    bson_error_t err;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_text, &err);
    cr_assert_not_null(uri, "MSB_MONGO__URI %s: %s", uri_text, err.message);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 5000);
    client = mongoc_client_new_from_uri(uri);
    cr_assert_not_null(client);
    mongoc_client_set_appname(client, "msb-integration");
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    bool up = mongoc_client_command_simple(client, "admin", ping, NULL, NULL, &err);
    bson_destroy(ping);
    MSB_IT_REQUIRE("mongo", up, "ping %s: %s", uri_text, err.message);
    const char *db = mongoc_uri_get_database(uri);
    msb_it_unique(coll_name, sizeof(coll_name), "it_mongo");
    coll = mongoc_client_get_collection(client, db != NULL ? db : "msb", coll_name);
    mongoc_uri_destroy(uri);
}

static void teardown(void)
{
    if (coll != NULL) {
        mongoc_collection_drop(coll, NULL);
        mongoc_collection_destroy(coll);
    }
    mongoc_client_destroy(client);
    mongoc_cleanup();
}

static void insert_items(void)
{
    static const struct {
        const char *name;
        const char *cat;
        int qty;
    } items[] = {{"a", "tools", 1}, {"b", "tools", 5}, {"c", "food", 3},
                 {"d", "food", 7},  {"e", "toys", 2},  {"f", "tools", 4}};
    bson_t *docs[6];
    for (int i = 0; i < 6; i++) {
        docs[i] = BCON_NEW("name", BCON_UTF8(items[i].name), "cat", BCON_UTF8(items[i].cat), "qty",
                           BCON_INT32(items[i].qty));
    }
    bson_t reply;
    bson_error_t err;
    bool ok = mongoc_collection_insert_many(coll, (const bson_t **)docs, 6, NULL, &reply, &err);
    cr_assert(ok, "insert_many: %s", err.message);
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, &reply, "insertedCount") && bson_iter_as_int64(&it) == 6);
    bson_destroy(&reply);
    for (int i = 0; i < 6; i++) {
        bson_destroy(docs[i]);
    }
}

static int64_t int_field(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, doc, key), "no %s in the document", key);
    return bson_iter_as_int64(&it);
}

static const char *str_field(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    cr_assert(bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it), "no %s", key);
    return bson_iter_utf8(&it, NULL);
}

/* $match qty >= 3, $group by cat with "v": @p acc (taken), $sort by cat: food, tools. */
static void group_by_cat(bson_t *acc, int out[2])
{
    bson_t pipeline = BSON_INITIALIZER;
    bson_t stages;
    bson_t stage;
    bson_t group;
    BSON_APPEND_ARRAY_BEGIN(&pipeline, "pipeline", &stages);
    bson_t *match = BCON_NEW("$match", "{", "qty", "{", "$gte", BCON_INT32(3), "}", "}");
    BSON_APPEND_DOCUMENT(&stages, "0", match);
    bson_destroy(match);
    BSON_APPEND_DOCUMENT_BEGIN(&stages, "1", &stage);
    BSON_APPEND_DOCUMENT_BEGIN(&stage, "$group", &group);
    BSON_APPEND_UTF8(&group, "_id", "$cat");
    BSON_APPEND_DOCUMENT(&group, "v", acc);
    bson_append_document_end(&stage, &group);
    bson_append_document_end(&stages, &stage);
    bson_t *sort = BCON_NEW("$sort", "{", "_id", BCON_INT32(1), "}");
    BSON_APPEND_DOCUMENT(&stages, "2", sort);
    bson_destroy(sort);
    bson_append_array_end(&pipeline, &stages);
    bson_destroy(acc);

    mongoc_cursor_t *cur =
        mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, &pipeline, NULL, NULL);
    const bson_t *doc;
    const char *cats[2] = {"food", "tools"};
    int n = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        cr_assert_lt(n, 2, "too many groups");
        cr_assert_str_eq(str_field(doc, "_id"), cats[n]);
        out[n] = (int)int_field(doc, "v");
        n++;
    }
    bson_error_t err;
    cr_assert_not(mongoc_cursor_error(cur, &err), "aggregate: %s", err.message);
    cr_assert_eq(n, 2);
    mongoc_cursor_destroy(cur);
    bson_destroy(&pipeline);
}

Test(mongo_smoke, crud_index_count_aggregate, .init = setup, .fini = teardown, .timeout = 60)
{
    insert_items();
    bson_error_t err;

    /* find: qty > 2, highest first */
    bson_t *filter = BCON_NEW("qty", "{", "$gt", BCON_INT32(2), "}");
    bson_t *opts = BCON_NEW("sort", "{", "qty", BCON_INT32(-1), "}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
    const bson_t *doc;
    const char *want[] = {"d", "b", "f", "c"};
    int n = 0;
    while (mongoc_cursor_next(cur, &doc)) {
        cr_assert_lt(n, 4, "too many documents");
        cr_assert_str_eq(str_field(doc, "name"), want[n], "position %d of the sorted result", n);
        n++;
    }
    cr_assert_not(mongoc_cursor_error(cur, &err), "find: %s", err.message);
    cr_assert_eq(n, 4);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    bson_destroy(opts);

    /* update */
    bson_t *sel = BCON_NEW("name", BCON_UTF8("a"));
    bson_t *upd = BCON_NEW("$set", "{", "qty", BCON_INT32(10), "}");
    bson_t reply;
    cr_assert(mongoc_collection_update_one(coll, sel, upd, NULL, &reply, &err), "%s", err.message);
    cr_assert_eq(int_field(&reply, "matchedCount"), 1);
    cr_assert_eq(int_field(&reply, "modifiedCount"), 1);
    bson_destroy(&reply);
    bson_destroy(sel);
    bson_destroy(upd);

    /* create an index (the createIndexes command) and find it in listIndexes */
    bson_t *cmd =
        BCON_NEW("createIndexes", BCON_UTF8(coll_name), "indexes", "[", "{", "key", "{", "cat",
                 BCON_INT32(1), "qty", BCON_INT32(-1), "}", "name", BCON_UTF8("cat_qty"), "}", "]");
    cr_assert(mongoc_collection_write_command_with_opts(coll, cmd, NULL, NULL, &err), "%s",
              err.message);
    bson_destroy(cmd);
    cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
    bool found = false;
    while (mongoc_cursor_next(cur, &doc)) {
        found = found || strcmp(str_field(doc, "name"), "cat_qty") == 0;
    }
    cr_assert_not(mongoc_cursor_error(cur, &err), "listIndexes: %s", err.message);
    mongoc_cursor_destroy(cur);
    cr_assert(found, "the index cat_qty is not listed");

    /* count */
    filter = BCON_NEW("cat", BCON_UTF8("tools"));
    int64_t count = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &err);
    cr_assert_eq(count, 3, "count_documents: %s", err.message);
    bson_destroy(filter);

    /* aggregate: qty >= 3, per category: summed, then counted (two pipelines: FerretDB 1.24
     * computes only the first accumulator of a $group; the others come back as 0) */
    static const struct {
        const char *cat;
        int total;
        int n;
    } groups[] = {{"food", 10, 2}, {"tools", 19, 3}};
    int totals[2];
    int counts[2];
    group_by_cat(BCON_NEW("$sum", BCON_UTF8("$qty")), totals);
    group_by_cat(BCON_NEW("$count", "{", "}"), counts);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(totals[i], groups[i].total, "total of %s", groups[i].cat);
        cr_assert_eq(counts[i], groups[i].n, "count of %s", groups[i].cat);
    }

    /* the $count stage */
    bson_t *pipeline =
        BCON_NEW("pipeline", "[", "{", "$match", "{", "qty", "{", "$gte", BCON_INT32(3), "}", "}",
                 "}", "{", "$count", BCON_UTF8("matched"), "}", "]");
    cur = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    cr_assert(mongoc_cursor_next(cur, &doc), "$count returned nothing");
    cr_assert_eq(int_field(doc, "matched"), 5);
    cr_assert_not(mongoc_cursor_next(cur, &doc));
    cr_assert_not(mongoc_cursor_error(cur, &err), "aggregate: %s", err.message);
    mongoc_cursor_destroy(cur);
    bson_destroy(pipeline);
}
