/*
 * The MongoDB document store against the wire-protocol server of scripts/infra (FerretDB 1.24,
 * MSB_MONGO__URI, default mongodb://127.0.0.1:57017/msb): every operation, the capability
 * probe, and the fallbacks for what FerretDB lacks (text indexes, $lookup, $group accumulators
 * other than $sum and $count).
 */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <time.h>
#include <unistd.h>

#include "integration/harness.h"
#include "support/docstore_suite.h"

static msb_docstore_t *ds;
static char coll[64];

static const char *env_uri(void)
{
    return msb_it_env("MSB_MONGO__URI", "mongodb://127.0.0.1:57017/msb");
}

static void setup(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(coll, sizeof(coll), "t_%d_%ld", (int)getpid(), (long)(ts.tv_nsec % 1000000));
    msb_docstore_opts_t o = MSB_DOCSTORE_OPTS_INIT;
    o.url = env_uri();
    o.timeout_ns = 5 * INT64_C(1000000000);
    msb_error_t err;
    cr_assert_eq(msb_docstore_new(&o, &ds, &err), MSB_OK, "%s", err.message);
    unsigned caps = 0;
    if (msb_docstore_caps(ds, &caps, &err) != MSB_OK) {
        cr_assert_fail("the MongoDB wire-protocol server (%s) is unreachable: %s. Start it with "
                       "scripts/infra up mongo; its log: scripts/infra logs mongo",
                       env_uri(), err.message);
    }
}

static void teardown(void)
{
    if (ds != NULL) {
        msb_docstore_drop(ds, coll, NULL);
        msb_docstore_free(ds);
        ds = NULL;
    }
}

TestSuite(mongo_docstore, .init = setup, .fini = teardown, .timeout = 60);

Test(mongo_docstore, crud)
{
    ds_check_crud(ds, coll);
}

Test(mongo_docstore, queries_sort_paging_count_projection)
{
    ds_check_queries(ds, coll);
}

Test(mongo_docstore, indexes)
{
    ds_check_indexes(ds, coll);
}

Test(mongo_docstore, search_falls_back_to_a_case_insensitive_regex)
{
    ds_check_search_fallback(ds, coll);
}

Test(mongo_docstore, group_with_sum_and_count)
{
    ds_check_group(ds, coll);
}

Test(mongo_docstore, bad_input)
{
    ds_check_bad_input(ds, coll);
}

Test(mongo_docstore, ferretdb_capabilities_are_probed_and_respected)
{
    unsigned caps = 0;
    msb_error_t err;
    cr_assert_eq(msb_docstore_caps(ds, &caps, &err), MSB_OK);
    cr_assert_eq(caps, MSB_DOCSTORE_CAP_REGEX | MSB_DOCSTORE_CAP_AGGREGATE,
                 "FerretDB 1.24: regex and aggregation, no text index, $lookup or full $group "
                 "(caps %#x)",
                 caps);
    cr_assert_eq(msb_docstore_create_index(ds, coll, "{\"name\":\"text\"}", false, &err),
                 MSB_ENOTSUP);
    cr_assert(strstr(err.message, "FerretDB") != NULL, "%s", err.message);
    msb_docstore_result_t *r = NULL;
    cr_assert_eq(msb_docstore_search(ds, coll, "lamp", NULL, 0, NULL, NULL, &r, &err), MSB_EINVAL);
    cr_assert(strstr(err.message, "fields") != NULL, "%s", err.message);
    cr_assert_eq(msb_docstore_aggregate(ds, coll,
                                        "[{\"$lookup\":{\"from\":\"x\",\"localField\":\"a\","
                                        "\"foreignField\":\"b\",\"as\":\"c\"}}]",
                                        &r, &err),
                 MSB_ENOTSUP);
    cr_assert(strstr(err.message, "$lookup") != NULL, "%s", err.message);
    cr_assert_eq(msb_docstore_aggregate(ds, coll,
                                        "[{\"$group\":{\"_id\":null,\"a\":{\"$avg\":\"$price\"}}}]",
                                        &r, &err),
                 MSB_ENOTSUP);
    cr_assert(strstr(err.message, "$avg") != NULL, "%s", err.message);
    cr_assert_eq(msb_docstore_aggregate(ds, coll,
                                        "[{\"$group\":{\"_id\":null,\"a\":{\"$sum\":\"$p\"},"
                                        "\"n\":{\"$sum\":1}}}]",
                                        &r, &err),
                 MSB_ENOTSUP, "FerretDB answers 0 for the second accumulator: refused");
    cr_assert(strstr(err.message, "one accumulator") != NULL, "%s", err.message);
}

Test(mongo_docstore, regex_filters_and_extended_json_pass_through)
{
    ds_seed(ds, coll);
    msb_docstore_result_t *r = NULL;
    msb_error_t err;
    cr_assert_eq(msb_docstore_find(ds, coll, "{\"name\":{\"$regex\":\"^lamp\",\"$options\":\"i\"}}",
                                   NULL, &r, &err),
                 MSB_OK, "%s", err.message);
    cr_assert_eq(msb_docstore_result_count(r), 1);
    msb_docstore_result_free(r);
    cr_assert_eq(msb_docstore_insert(ds, coll, "{\"when\":{\"$date\":\"2026-01-02T03:04:05Z\"}}",
                                     NULL, &err),
                 MSB_OK, "%s", err.message);
    cr_assert_eq(msb_docstore_find(ds, coll, "{\"when\":{\"$exists\":true}}", NULL, &r, &err),
                 MSB_OK);
    cr_assert_eq(msb_docstore_result_count(r), 1);
    cr_assert(strstr(msb_docstore_result_doc(r, 0, NULL), "$date") != NULL, "%s",
              msb_docstore_result_doc(r, 0, NULL));
    msb_docstore_result_free(r);
}

Test(mongo_docstore, unreachable_server_is_eunavail)
{
    msb_docstore_opts_t o = MSB_DOCSTORE_OPTS_INIT;
    o.url = "mongodb://127.0.0.1:1/msb";
    o.timeout_ns = 300 * INT64_C(1000000);
    msb_docstore_t *x = NULL;
    msb_error_t err;
    cr_assert_eq(msb_docstore_new(&o, &x, &err), MSB_OK, "connections are made on first use");
    cr_assert_eq(msb_docstore_insert(x, "c", "{}", NULL, &err), MSB_EUNAVAIL, "%s", err.message);
    msb_docstore_free(x);
    o.url = "mongodb://user:secret@host:notaport/db";
    cr_assert_eq(msb_docstore_new(&o, &x, &err), MSB_EINVAL);
    cr_assert(strstr(err.message, "secret") == NULL, "never echoes a password: %s", err.message);
}

typedef struct job {
    int64_t n;
    struct event_base *base;
    int done;
} job_t;

static msb_status_t work(msb_docstore_t *store, void *arg, msb_error_t *err)
{
    job_t *j = arg;
    msb_status_t rc = msb_docstore_insert(store, coll, "{\"a\":1}", NULL, err);
    return rc == MSB_OK ? msb_docstore_count(store, coll, NULL, &j->n, err) : rc;
}

static void done(msb_status_t status, const msb_error_t *err, void *arg)
{
    job_t *j = arg;
    cr_assert_eq(status, MSB_OK, "%s", err != NULL ? err->message : "");
    j->done = 1;
    event_base_loopbreak(j->base);
}

Test(mongo_docstore, submit_from_a_loop)
{
    job_t j = {0, event_base_new(), 0};
    cr_assert_eq(msb_docstore_submit(ds, j.base, work, done, &j, NULL), MSB_OK);
    event_base_dispatch(j.base);
    cr_assert_eq(j.done, 1);
    cr_assert_eq(j.n, 1);
    msb_docstore_drop(ds, coll, NULL);
    msb_docstore_free(ds);
    ds = NULL;
    event_base_free(j.base);
}
