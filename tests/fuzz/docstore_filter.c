// msb-test: backends sqlite
/*
 * Fuzz the SQLite document store's translation of MongoDB filters, updates and pipelines into
 * SQL: whatever JSON comes in, the answer is a result, MSB_EINVAL or MSB_ENOTSUP — never SQL
 * that SQLite refuses (a translation bug), a crash or a leak. The input is used as a filter, an
 * update document, a pipeline and a search text against a small in-memory collection.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msb/docstore.h"

static msb_docstore_t *ds;

static void setup(void)
{
    msb_docstore_opts_t o = MSB_DOCSTORE_OPTS_INIT;
    o.url = "sqlite::memory:";
    if (msb_docstore_new(&o, &ds, NULL) != MSB_OK) {
        abort();
    }
    const char *docs[] = {"{\"_id\":1,\"a\":1,\"b\":\"x\",\"c\":{\"d\":[1,2]},\"e\":true}",
                          "{\"_id\":\"two\",\"a\":2.5,\"b\":null}", "{\"a\":\"1\",\"f\":[]}"};
    for (size_t i = 0; i < 3; i++) {
        msb_docstore_insert(ds, "c", docs[i], NULL, NULL);
    }
    msb_docstore_create_index(ds, "c", "{\"a\":1,\"b\":-1}", false, NULL);
}

/* A status the SQLite backend may answer with for any input. */
static void expect_sane(msb_status_t rc, const msb_error_t *err)
{
    if (rc != MSB_OK && rc != MSB_EINVAL && rc != MSB_ENOTSUP && rc != MSB_EEXIST) {
        abort();
    }
    if (rc != MSB_OK && strncmp(err->message, "docstore: sqlite: prepare", 25) == 0) {
        abort(); /* our SQL was malformed */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ds == NULL) {
        setup();
    }
    char *text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    msb_error_t err = MSB_ERROR_INIT;
    msb_docstore_result_t *r = NULL;
    msb_docstore_find_opts_t fo = MSB_DOCSTORE_FIND_OPTS_INIT;
    fo.sort = "{\"a\":1}";
    fo.limit = 5;
    expect_sane(msb_docstore_find(ds, "c", text, &fo, &r, &err), &err);
    msb_docstore_result_free(r);
    int64_t n = 0;
    expect_sane(msb_docstore_count(ds, "c", text, &n, &err), &err);
    /* as an update of a document that does not exist: the statement is still prepared */
    expect_sane(msb_docstore_update(ds, "c", "{\"_id\":\"none\"}", text, false, &n, &err), &err);
    r = NULL;
    expect_sane(msb_docstore_aggregate(ds, "c", text, &r, &err), &err);
    msb_docstore_result_free(r);
    fo.sort = text;
    r = NULL;
    expect_sane(msb_docstore_find(ds, "c", "{}", &fo, &r, &err), &err);
    msb_docstore_result_free(r);
    if (size > 0 && memchr(text, '\0', size) == NULL) {
        const char *fields[] = {"b"};
        r = NULL;
        expect_sane(msb_docstore_search(ds, "c", text, fields, 1, NULL, NULL, &r, &err), &err);
        msb_docstore_result_free(r);
    }
    free(text);
    return 0;
}
