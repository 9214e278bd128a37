// msb-test: backends mongo
/* The MongoDB wire-protocol server (FerretDB) killed with SIGKILL: an operation fails while it is
 * down, the same mongoc client reconnects on its own once it is back (server selection), and
 * the document written before the crash is still there (SQLite). */
#include <criterion/criterion.h>
#include <mongoc/mongoc.h>

#include "harness.h"

static void restore(void)
{
    msb_it_infra_restore("mongo");
}

static bool found_doc(void *arg)
{
    mongoc_collection_t *coll = arg;
    bson_t *filter = BCON_NEW("_id", BCON_UTF8("kept"));
    bson_error_t err;
    int64_t n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &err);
    bson_destroy(filter);
    return n == 1;
}

Test(mongo_fault, client_reconnects_after_kill, .timeout = 180, .fini = restore)
{
    mongoc_init();
    const char *uri_text = msb_it_env("MSB_MONGO__URI", "mongodb://127.0.0.1:57017/msb");
    bson_error_t err;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_text, &err);
    cr_assert_not_null(uri, "MSB_MONGO__URI %s: %s", uri_text, err.message);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 2000);
    /* Single-threaded clients retry server selection only after this many ms (default 5 s). */
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_HEARTBEATFREQUENCYMS, 500);
    mongoc_client_t *client = mongoc_client_new_from_uri(uri);
    cr_assert_not_null(client);
    char name[96];
    msb_it_unique(name, sizeof(name), "it_mongo_fault");
    const char *db = mongoc_uri_get_database(uri);
    mongoc_collection_t *coll = mongoc_client_get_collection(client, db != NULL ? db : "msb", name);
    bson_t *doc = BCON_NEW("_id", BCON_UTF8("kept"), "v", BCON_INT32(1));
    bool ok = mongoc_collection_insert_one(coll, doc, NULL, NULL, &err);
    bson_destroy(doc);
    MSB_IT_REQUIRE("mongo", ok, "insert into %s: %s", uri_text, err.message);

    MSB_IT_INFRA("kill", "mongo");
    cr_assert_not(found_doc(coll), "a read must fail while the server is down");

    MSB_IT_INFRA("start", "mongo");
    cr_assert(msb_it_wait_until(found_doc, coll, 60000, 200),
              "the client did not read the document within 60 s of the restart");

    mongoc_collection_drop(coll, NULL);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
}
