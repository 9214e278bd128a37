/*
 * The SQLite document store (the embedded default): the shared backend checks, its subset's
 * limits (MSB_ENOTSUP naming the operator), text-index fields, the $group subset, persistence,
 * the expression index being used, and submit() from a loop.
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <stdlib.h>
#include <unistd.h>

#include "support/docstore_suite.h"

static msb_docstore_t *ds;
static char path[64];

static void setup(void)
{
    snprintf(path, sizeof(path), "/tmp/msb-docstore-%d-XXXXXX", (int)getpid());
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    char url[96];
    snprintf(url, sizeof(url), "sqlite:%s", path);
    msb_docstore_opts_t o = MSB_DOCSTORE_OPTS_INIT;
    o.url = url;
    msb_error_t err;
    cr_assert_eq(msb_docstore_new(&o, &ds, &err), MSB_OK, "%s", err.message);
}

static void teardown(void)
{
    msb_docstore_free(ds);
    char p[96];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

TestSuite(docstore_sqlite, .init = setup, .fini = teardown);

Test(docstore_sqlite, crud)
{
    ds_check_crud(ds, "items");
}

Test(docstore_sqlite, queries)
{
    ds_check_queries(ds, "products");
}

Test(docstore_sqlite, indexes)
{
    ds_check_indexes(ds, "products");
}

Test(docstore_sqlite, search)
{
    ds_check_search_fallback(ds, "products");
}

Test(docstore_sqlite, group)
{
    ds_check_group(ds, "products");
}

Test(docstore_sqlite, bad_input)
{
    ds_check_bad_input(ds, "products");
}

Test(docstore_sqlite, outside_the_subset_is_enotsup_naming_the_operator)
{
    ds_seed(ds, "p");
    msb_docstore_result_t *r = NULL;
    msb_error_t err;
    cr_assert_eq(msb_docstore_find(ds, "p", "{\"name\":{\"$regex\":\"^L\"}}", NULL, &r, &err),
                 MSB_ENOTSUP);
    cr_assert(strstr(err.message, "$regex") != NULL, "%s", err.message);
    cr_assert_eq(msb_docstore_find(ds, "p", "{\"$where\":\"1\"}", NULL, &r, &err), MSB_ENOTSUP);
    cr_assert(strstr(err.message, "$where") != NULL, "%s", err.message);
    cr_assert_eq(
        msb_docstore_update(ds, "p", "{}", "{\"$push\":{\"tags\":\"x\"}}", false, NULL, &err),
        MSB_ENOTSUP);
    cr_assert(strstr(err.message, "$push") != NULL, "%s", err.message);
    cr_assert_eq(msb_docstore_aggregate(ds, "p", "[{\"$lookup\":{}}]", &r, &err), MSB_ENOTSUP);
    cr_assert(strstr(err.message, "$lookup") != NULL, "%s", err.message);
    cr_assert_eq(msb_docstore_aggregate(
                     ds, "p", "[{\"$group\":{\"_id\":null,\"x\":{\"$push\":\"$a\"}}}]", &r, &err),
                 MSB_ENOTSUP);
    cr_assert(strstr(err.message, "$push") != NULL, "%s", err.message);
    cr_assert_eq(msb_docstore_find(ds, "p", "{\"a b\":1}", NULL, &r, &err), MSB_EINVAL,
                 "field paths are checked before they reach SQL");
    cr_assert_eq(msb_docstore_find(ds, "p", "{\"a')--\":1}", NULL, &r, &err), MSB_EINVAL);
    cr_assert_eq(msb_docstore_update(ds, "p", "{}", "{\"$set\":{\"_id\":1}}", false, NULL, &err),
                 MSB_EINVAL);
    cr_assert_eq(msb_docstore_create_index(ds, "p", "{\"loc\":\"2dsphere\"}", false, &err),
                 MSB_ENOTSUP);
    unsigned caps = 99;
    cr_assert_eq(msb_docstore_caps(ds, &caps, &err), MSB_OK);
    cr_assert_eq(caps, 0);
}

Test(docstore_sqlite, text_index_fields_are_search_defaults)
{
    ds_seed(ds, "p");
    msb_error_t err;
    msb_docstore_result_t *r = NULL;
    cr_assert_eq(msb_docstore_search(ds, "p", "lamp", NULL, 0, NULL, NULL, &r, &err), MSB_EINVAL,
                 "no fields and no text index");
    cr_assert_eq(msb_docstore_create_index(ds, "p", "{\"name\":\"text\"}", false, &err), MSB_OK,
                 "%s", err.message);
    cr_assert_eq(msb_docstore_search(ds, "p", "lamp", NULL, 0, NULL, NULL, &r, &err), MSB_OK);
    cr_assert_eq(msb_docstore_result_count(r), 2);
    msb_docstore_result_free(r);
}

Test(docstore_sqlite, group_avg_min_max_and_paging)
{
    ds_seed(ds, "p");
    msb_docstore_result_t *r = NULL;
    msb_error_t err;
    const char *pl = "[{\"$group\":{\"_id\":null,\"avg\":{\"$avg\":\"$price\"},\"lo\":{\"$min\":"
                     "\"$price\"},\"hi\":{\"$max\":\"$price\"},\"n\":{\"$count\":{}}}}]";
    cr_assert_eq(msb_docstore_aggregate(ds, "p", pl, &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_docstore_result_count(r), 1);
    const char *d = msb_docstore_result_doc(r, 0, NULL);
    cr_assert_float_eq(ds_num(d, "avg"), (25 + 149.5 + 4 + 12 + 9.99) / 5, 1e-9);
    cr_assert_eq(ds_num(d, "lo"), 4);
    cr_assert_eq(ds_num(d, "hi"), 149.5);
    cr_assert_eq(ds_num(d, "n"), 5);
    msb_docstore_result_free(r);
    pl = "[{\"$group\":{\"_id\":\"$category\",\"n\":{\"$sum\":1}}},{\"$sort\":{\"n\":-1}},"
         "{\"$limit\":1}]";
    cr_assert_eq(msb_docstore_aggregate(ds, "p", pl, &r, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_docstore_result_count(r), 1);
    char id[16];
    ds_str(msb_docstore_result_doc(r, 0, NULL), "_id", id, sizeof(id));
    cr_assert_str_eq(id, "office");
    msb_docstore_result_free(r);
    cr_assert_eq(
        msb_docstore_aggregate(ds, "p", "[{\"$match\":{\"category\":\"home\"}}]", &r, &err),
        MSB_OK);
    cr_assert_eq(msb_docstore_result_count(r), 2);
    msb_docstore_result_free(r);
}

Test(docstore_sqlite, persists_across_reopen_and_drop)
{
    msb_error_t err;
    cr_assert_eq(msb_docstore_insert(ds, "keep", "{\"_id\":1,\"v\":\"é\"}", NULL, &err), MSB_OK);
    msb_docstore_free(ds);
    char url[96];
    snprintf(url, sizeof(url), "sqlite:%s", path);
    msb_docstore_opts_t o = MSB_DOCSTORE_OPTS_INIT;
    o.url = url;
    cr_assert_eq(msb_docstore_new(&o, &ds, &err), MSB_OK);
    char *doc = NULL;
    cr_assert_eq(msb_docstore_find_one(ds, "keep", "{\"_id\":1}", &doc, &err), MSB_OK);
    char v[16];
    ds_str(doc, "v", v, sizeof(v));
    cr_assert_str_eq(v, "é");
    msb_docstore_str_free(doc);
    cr_assert_eq(msb_docstore_drop(ds, "keep", &err), MSB_OK);
    cr_assert_eq(msb_docstore_find_one(ds, "keep", "{}", &doc, &err), MSB_ENOTFOUND);
    cr_assert_eq(msb_docstore_drop(ds, "never", &err), MSB_OK);
}

Test(docstore_sqlite, urls)
{
    msb_docstore_t *x = NULL;
    msb_error_t err;
    msb_docstore_opts_t o = MSB_DOCSTORE_OPTS_INIT;
    cr_assert_eq(msb_docstore_new(&o, &x, &err), MSB_EINVAL, "url required");
    o.url = "couchdb://h";
    cr_assert_eq(msb_docstore_new(&o, &x, &err), MSB_ENOTSUP);
    cr_assert(strstr(err.message, "couchdb") != NULL, "%s", err.message);
    o.url = "sqlite:";
    cr_assert_eq(msb_docstore_new(&o, &x, &err), MSB_EINVAL);
    o.url = "sqlite:/nonexistent-dir/x/y.db";
    cr_assert_eq(msb_docstore_new(&o, &x, &err), MSB_EIO);
    o.url = "sqlite::memory:";
    cr_assert_eq(msb_docstore_new(&o, &x, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_docstore_insert(x, "m", "{\"a\":1}", NULL, &err), MSB_OK);
    msb_docstore_free(x);
    msb_docstore_free(NULL);
}

typedef struct job {
    int64_t n;
    struct event_base *base;
} job_t;

static msb_status_t work(msb_docstore_t *store, void *arg, msb_error_t *err)
{
    job_t *j = arg;
    msb_status_t rc = msb_docstore_insert(store, "async", "{\"a\":1}", NULL, err);
    if (rc == MSB_OK) {
        rc = msb_docstore_count(store, "async", NULL, &j->n, err);
    }
    return rc;
}

static int done_calls;
static void done(msb_status_t status, const msb_error_t *err, void *arg)
{
    job_t *j = arg;
    cr_assert_eq(status, MSB_OK, "%s", err != NULL ? err->message : "");
    if (++done_calls == 3) {
        event_base_loopbreak(j->base);
    }
}

Test(docstore_sqlite, submit_runs_off_the_loop_and_completes_on_it)
{
    job_t ctx[3];
    struct event_base *base = event_base_new();
    done_calls = 0;
    for (int i = 0; i < 3; i++) {
        ctx[i].n = 0;
        ctx[i].base = base;
        cr_assert_eq(msb_docstore_submit(ds, base, work, done, &ctx[i], NULL), MSB_OK);
    }
    cr_assert_eq(done_calls, 0);
    event_base_dispatch(base);
    cr_assert_eq(done_calls, 3);
    int64_t biggest = 0;
    for (int i = 0; i < 3; i++) {
        biggest = ctx[i].n > biggest ? ctx[i].n : biggest;
    }
    cr_assert_eq(biggest, 3);
    msb_error_t err;
    cr_assert_eq(msb_docstore_submit(ds, NULL, work, done, NULL, &err), MSB_EINVAL);
    msb_docstore_free(ds); /* the mailbox's event goes before its loop */
    ds = NULL;
    event_base_free(base);
}
