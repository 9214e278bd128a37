/* TTLs on the manual clock: expiry, jitter, stale-while-revalidate, negative caching,
 * write-through. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "msb/cache.h"

static msb_clock_t *clk;

static void setup(void)
{
    cr_assert_eq(msb_clock_manual_new(1000 * MSB_SEC, INT64_C(1795507200) * MSB_SEC, &clk), MSB_OK);
}

static void teardown(void)
{
    msb_clock_manual_free(clk);
}

TestSuite(cache_ttl, .init = setup, .fini = teardown);

static msb_cache_t *make(double jitter, int64_t stale, int64_t negative)
{
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.clock = clk;
    o.ttl_jitter = jitter;
    o.stale_ns = stale;
    o.negative_ttl_ns = negative;
    o.default_ttl_ns = 10 * MSB_SEC;
    msb_cache_t *c = NULL;
    cr_assert_eq(msb_cache_new(&o, &c, NULL), MSB_OK);
    return c;
}

static bool present(msb_cache_t *c, const char *k)
{
    msb_cache_value_t *v = NULL;
    msb_status_t rc = msb_cache_get(c, k, strlen(k), &v, NULL);
    msb_cache_value_release(v);
    return rc == MSB_OK;
}

Test(cache_ttl, explicit_default_and_none)
{
    msb_cache_t *c = make(0, 0, 0);
    cr_assert_eq(msb_cache_set(c, "short", 5, "v", 1, 2 * MSB_SEC, NULL), MSB_OK);
    cr_assert_eq(msb_cache_set(c, "default", 7, "v", 1, MSB_CACHE_TTL_DEFAULT, NULL), MSB_OK);
    cr_assert_eq(msb_cache_set(c, "forever", 7, "v", 1, MSB_CACHE_TTL_NONE, NULL), MSB_OK);
    msb_clock_manual_advance(clk, 2 * MSB_SEC - 1);
    cr_assert(present(c, "short"));
    msb_clock_manual_advance(clk, 1);
    cr_assert_not(present(c, "short"), "gone exactly at its TTL");
    msb_clock_manual_advance(clk, 8 * MSB_SEC);
    cr_assert_not(present(c, "default"));
    msb_clock_manual_advance(clk, 1000000 * MSB_SEC);
    cr_assert(present(c, "forever"));
    msb_cache_stats_t s;
    msb_cache_stats(c, &s);
    cr_assert_eq(s.expirations, 2);
    cr_assert_eq(s.entries, 1);
    msb_cache_free(c);
}

Test(cache_ttl, jitter_only_shortens_and_spreads)
{
    msb_cache_t *c = make(0.5, 0, 0);
    char k[16];
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        cr_assert_eq(msb_cache_set(c, k, strlen(k), "v", 1, 100 * MSB_SEC, NULL), MSB_OK);
    }
    msb_clock_manual_advance(clk, 50 * MSB_SEC);
    int alive = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        alive += present(c, k) ? 1 : 0;
    }
    cr_assert_eq(alive, 200, "jitter never cuts more than half");
    msb_clock_manual_advance(clk, 25 * MSB_SEC);
    alive = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        alive += present(c, k) ? 1 : 0;
    }
    cr_assert(alive > 40 && alive < 160, "entries expire spread out: %d of 200 alive", alive);
    msb_clock_manual_advance(clk, 25 * MSB_SEC);
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        cr_assert_not(present(c, k));
    }
    msb_cache_free(c);
}

typedef struct loader {
    int calls;
    msb_status_t answer;
    char value[32];
} loader_t;

static msb_status_t load(void *user, const void *key, size_t key_len, msb_cache_fill_t *fill,
                         msb_error_t *err)
{
    loader_t *l = user;
    (void)key;
    (void)key_len;
    l->calls++;
    if (l->answer == MSB_OK) {
        return msb_cache_fill_value(fill, l->value, strlen(l->value));
    }
    if (l->answer != MSB_ENOTFOUND) {
        snprintf(err->message, sizeof(err->message), "database down");
        err->code = l->answer;
    }
    return l->answer;
}

static msb_status_t gol(msb_cache_t *c, loader_t *l, char *out, msb_error_t *err)
{
    msb_cache_value_t *v = NULL;
    msb_status_t rc = msb_cache_get_or_load(c, "k", 1, load, l, &v, err);
    if (rc == MSB_OK) {
        snprintf(out, 32, "%s", (const char *)msb_cache_value_data(v));
        msb_cache_value_release(v);
    }
    return rc;
}

Test(cache_ttl, cache_aside_loads_once_then_hits)
{
    msb_cache_t *c = make(0, 0, 0);
    loader_t l = {0, MSB_OK, "v1"};
    char out[32];
    cr_assert_eq(gol(c, &l, out, NULL), MSB_OK);
    cr_assert_str_eq(out, "v1");
    cr_assert_eq(gol(c, &l, out, NULL), MSB_OK);
    cr_assert_eq(l.calls, 1);
    msb_clock_manual_advance(clk, 10 * MSB_SEC);
    snprintf(l.value, sizeof(l.value), "v2");
    cr_assert_eq(gol(c, &l, out, NULL), MSB_OK);
    cr_assert_str_eq(out, "v2", "reloaded after the TTL");
    cr_assert_eq(l.calls, 2);
    msb_cache_stats_t s;
    msb_cache_stats(c, &s);
    cr_assert_eq(s.loads, 2);
    cr_assert_eq(s.hits, 1);
    cr_assert_eq(s.misses, 2);
    msb_cache_free(c);
}

Test(cache_ttl, stale_while_revalidate)
{
    msb_cache_t *c = make(0, 5 * MSB_SEC, 0);
    loader_t l = {0, MSB_OK, "v1"};
    char out[32];
    cr_assert_eq(gol(c, &l, out, NULL), MSB_OK);
    msb_clock_manual_advance(clk, 12 * MSB_SEC); /* 2 s into the grace window */
    cr_assert_not(present(c, "k"), "plain gets see only fresh values");
    snprintf(l.value, sizeof(l.value), "v2");
    l.answer = MSB_EUNAVAIL;
    msb_error_t err;
    cr_assert_eq(gol(c, &l, out, &err), MSB_OK, "a failed refresh serves stale");
    cr_assert_str_eq(out, "v1");
    cr_assert_eq(l.calls, 2);
    l.answer = MSB_OK;
    cr_assert_eq(gol(c, &l, out, NULL), MSB_OK);
    cr_assert_str_eq(out, "v2", "the refreshing caller gets the new value");
    cr_assert_eq(l.calls, 3);
    cr_assert_eq(gol(c, &l, out, NULL), MSB_OK);
    cr_assert_eq(l.calls, 3, "fresh again");
    msb_clock_manual_advance(clk, 16 * MSB_SEC); /* past fresh + grace */
    l.answer = MSB_EUNAVAIL;
    cr_assert_eq(gol(c, &l, out, &err), MSB_EUNAVAIL, "too old to serve");
    cr_assert_str_eq(err.message, "database down");
    msb_cache_stats_t s;
    msb_cache_stats(c, &s);
    cr_assert_eq(s.stale_hits, 2);
    cr_assert_eq(s.load_errors, 2);
    msb_cache_free(c);
}

static int submitted;
static void (*pending_run)(void *);
static void *pending_arg;

static int executor(void (*run)(void *), void *arg, void *user)
{
    (void)user;
    submitted++;
    pending_run = run;
    pending_arg = arg;
    return 0;
}

Test(cache_ttl, stale_refresh_on_executor_serves_stale_to_everyone)
{
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.clock = clk;
    o.ttl_jitter = 0;
    o.default_ttl_ns = 10 * MSB_SEC;
    o.stale_ns = 5 * MSB_SEC;
    o.executor = executor;
    msb_cache_t *c = NULL;
    cr_assert_eq(msb_cache_new(&o, &c, NULL), MSB_OK);
    loader_t l = {0, MSB_OK, "v1"};
    char out[32];
    cr_assert_eq(gol(c, &l, out, NULL), MSB_OK);
    msb_clock_manual_advance(clk, 11 * MSB_SEC);
    snprintf(l.value, sizeof(l.value), "v2");
    submitted = 0;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(gol(c, &l, out, NULL), MSB_OK);
        cr_assert_str_eq(out, "v1");
    }
    cr_assert_eq(submitted, 1, "one refresh for five stale hits");
    cr_assert_eq(l.calls, 1, "the refresh has not run yet");
    pending_run(pending_arg);
    cr_assert_eq(l.calls, 2);
    cr_assert_eq(gol(c, &l, out, NULL), MSB_OK);
    cr_assert_str_eq(out, "v2");
    msb_cache_free(c);
}

Test(cache_ttl, negative_caching)
{
    msb_cache_t *c = make(0, 0, 3 * MSB_SEC);
    loader_t l = {0, MSB_ENOTFOUND, ""};
    char out[32];
    cr_assert_eq(gol(c, &l, out, NULL), MSB_ENOTFOUND);
    cr_assert_eq(gol(c, &l, out, NULL), MSB_ENOTFOUND);
    cr_assert_eq(l.calls, 1, "not found is remembered");
    cr_assert_not(present(c, "k"));
    msb_clock_manual_advance(clk, 3 * MSB_SEC);
    l.answer = MSB_OK;
    snprintf(l.value, sizeof(l.value), "now");
    cr_assert_eq(gol(c, &l, out, NULL), MSB_OK, "for the negative TTL only");
    cr_assert_str_eq(out, "now");
    cr_assert_eq(l.calls, 2);
    msb_cache_stats_t s;
    msb_cache_stats(c, &s);
    cr_assert_eq(s.negative_hits, 2); /* get_or_load and plain get */
    msb_cache_free(c);

    c = make(0, 0, 0); /* negative caching off */
    l = (loader_t){0, MSB_ENOTFOUND, ""};
    cr_assert_eq(gol(c, &l, out, NULL), MSB_ENOTFOUND);
    cr_assert_eq(gol(c, &l, out, NULL), MSB_ENOTFOUND);
    cr_assert_eq(l.calls, 2);
    msb_cache_free(c);
}

Test(cache_ttl, load_errors_are_not_cached_and_carry_detail)
{
    msb_cache_t *c = make(0, 0, 3 * MSB_SEC);
    loader_t l = {0, MSB_ETIMEDOUT, ""};
    char out[32];
    msb_error_t err;
    cr_assert_eq(gol(c, &l, out, &err), MSB_ETIMEDOUT);
    cr_assert_str_eq(err.message, "database down");
    cr_assert_eq(gol(c, &l, out, &err), MSB_ETIMEDOUT);
    cr_assert_eq(l.calls, 2);
    msb_cache_free(c);
}

static msb_status_t load_nothing(void *user, const void *key, size_t key_len,
                                 msb_cache_fill_t *fill, msb_error_t *err)
{
    (void)user;
    (void)key;
    (void)key_len;
    (void)fill;
    (void)err;
    return MSB_OK;
}

static msb_status_t load_huge(void *user, const void *key, size_t key_len, msb_cache_fill_t *fill,
                              msb_error_t *err)
{
    (void)user;
    (void)key;
    (void)key_len;
    (void)err;
    static char big[2 << 20];
    return msb_cache_fill_value(fill, big, sizeof(big));
}

Test(cache_ttl, loader_misuse)
{
    msb_cache_t *c = make(0, 0, 0);
    msb_cache_value_t *v = NULL;
    msb_error_t err;
    cr_assert_eq(msb_cache_get_or_load(c, "k", 1, load_nothing, NULL, &v, &err), MSB_EINVAL);
    cr_assert(strstr(err.message, "msb_cache_fill_value") != NULL, "%s", err.message);
    cr_assert_eq(msb_cache_get_or_load(c, "k", 1, load_huge, NULL, &v, &err), MSB_ETOOBIG);
    msb_cache_free(c);
}

static int stored;
static msb_status_t store_ok(void *user, const void *key, size_t key_len, const void *value,
                             size_t value_len, msb_error_t *err)
{
    (void)user;
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    (void)err;
    stored++;
    return MSB_OK;
}

static msb_status_t store_fail(void *user, const void *key, size_t key_len, const void *value,
                               size_t value_len, msb_error_t *err)
{
    (void)user;
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    snprintf(err->message, sizeof(err->message), "constraint violated");
    err->code = MSB_ECONFLICT;
    return MSB_ECONFLICT;
}

Test(cache_ttl, write_through)
{
    msb_cache_t *c = make(0, 0, 0);
    cr_assert_eq(msb_cache_set(c, "k", 1, "old", 3, 0, NULL), MSB_OK);
    stored = 0;
    cr_assert_eq(msb_cache_write_through(c, "k", 1, "new", 3, 0, store_ok, NULL, NULL), MSB_OK);
    cr_assert_eq(stored, 1);
    msb_cache_value_t *v = NULL;
    cr_assert_eq(msb_cache_get(c, "k", 1, &v, NULL), MSB_OK);
    cr_assert_str_eq(msb_cache_value_data(v), "new");
    msb_cache_value_release(v);
    msb_error_t err;
    cr_assert_eq(msb_cache_write_through(c, "k", 1, "bad", 3, 0, store_fail, NULL, &err),
                 MSB_ECONFLICT);
    cr_assert_str_eq(err.message, "constraint violated");
    cr_assert_eq(msb_cache_get(c, "k", 1, &v, NULL), MSB_OK);
    cr_assert_str_eq(msb_cache_value_data(v), "new", "a failed store leaves the cache alone");
    msb_cache_value_release(v);
    cr_assert_eq(msb_cache_write_through(c, "k", 1, "x", 1, 0, NULL, NULL, &err), MSB_EINVAL);
    msb_cache_free(c);
}
