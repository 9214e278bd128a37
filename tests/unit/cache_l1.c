/* The in-process cache: get/set/delete, value handles, bounds, eviction order, bad input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "msb/cache.h"
#include "msb/metrics.h"

static msb_cache_t *make(size_t max_entries, size_t max_bytes, unsigned shards)
{
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.max_entries = max_entries;
    o.max_bytes = max_bytes;
    o.max_value_len = max_bytes / 4;
    o.shards = shards;
    msb_cache_t *c = NULL;
    msb_error_t err;
    cr_assert_eq(msb_cache_new(&o, &c, &err), MSB_OK, "%s", err.message);
    return c;
}

static void put(msb_cache_t *c, const char *k, const char *v)
{
    msb_error_t err;
    cr_assert_eq(msb_cache_set(c, k, strlen(k), v, strlen(v), MSB_CACHE_TTL_DEFAULT, &err), MSB_OK,
                 "%s", err.message);
}

static bool has(msb_cache_t *c, const char *k, const char *want)
{
    msb_cache_value_t *v = NULL;
    if (msb_cache_get(c, k, strlen(k), &v, NULL) != MSB_OK) {
        return false;
    }
    bool same = want == NULL || (msb_cache_value_len(v) == strlen(want) &&
                                 memcmp(msb_cache_value_data(v), want, strlen(want)) == 0);
    msb_cache_value_release(v);
    return same;
}

Test(cache_l1, set_get_replace_delete)
{
    msb_cache_t *c = make(100, 1 << 20, 4);
    msb_cache_value_t *v = NULL;
    cr_assert_eq(msb_cache_get(c, "a", 1, &v, NULL), MSB_ENOTFOUND);
    put(c, "a", "one");
    cr_assert(has(c, "a", "one"));
    put(c, "a", "two");
    cr_assert(has(c, "a", "two"));
    cr_assert_eq(msb_cache_delete(c, "a", 1, NULL), MSB_OK);
    cr_assert_not(has(c, "a", NULL));
    cr_assert_eq(msb_cache_delete(c, "a", 1, NULL), MSB_OK, "deleting an absent key succeeds");
    msb_cache_stats_t s;
    msb_cache_stats(c, &s);
    cr_assert_eq(s.hits, 2);
    cr_assert_eq(s.misses, 2);
    cr_assert_eq(s.sets, 2);
    cr_assert_eq(s.deletes, 2);
    cr_assert_eq(s.entries, 0);
    cr_assert_eq(s.bytes, 0);
    msb_cache_free(c);
}

Test(cache_l1, binary_keys_and_values_and_nul_terminator)
{
    msb_cache_t *c = make(100, 1 << 20, 1);
    const char k1[] = {'k', 0, 'x'};
    const char k2[] = {'k', 0, 'y'};
    const char val[] = {1, 0, 2, 0, (char)0xff};
    cr_assert_eq(msb_cache_set(c, k1, 3, val, 5, 0, NULL), MSB_OK);
    cr_assert_eq(msb_cache_set(c, k2, 3, "", 0, 0, NULL), MSB_OK);
    msb_cache_value_t *v = NULL;
    cr_assert_eq(msb_cache_get(c, k1, 3, &v, NULL), MSB_OK);
    cr_assert_eq(msb_cache_value_len(v), 5);
    cr_assert_eq(memcmp(msb_cache_value_data(v), val, 5), 0);
    cr_assert_eq(((const char *)msb_cache_value_data(v))[5], '\0');
    msb_cache_value_release(v);
    cr_assert_eq(msb_cache_get(c, k2, 3, &v, NULL), MSB_OK);
    cr_assert_eq(msb_cache_value_len(v), 0);
    cr_assert_str_eq(msb_cache_value_data(v), "");
    msb_cache_value_release(v);
    msb_cache_free(c);
}

Test(cache_l1, handles_outlive_replacement_and_free)
{
    msb_cache_t *c = make(100, 1 << 20, 2);
    put(c, "k", "first");
    msb_cache_value_t *v = NULL;
    cr_assert_eq(msb_cache_get(c, "k", 1, &v, NULL), MSB_OK);
    msb_cache_value_t *w = msb_cache_value_retain(v);
    put(c, "k", "second");
    cr_assert_str_eq(msb_cache_value_data(v), "first");
    msb_cache_value_release(v);
    msb_cache_free(c);
    cr_assert_str_eq(msb_cache_value_data(w), "first");
    msb_cache_value_release(w);
    msb_cache_value_release(NULL);
}

Test(cache_l1, get_copy)
{
    msb_cache_t *c = make(100, 1 << 20, 2);
    put(c, "k", "hello");
    char buf[8];
    size_t len = 0;
    cr_assert_eq(msb_cache_get_copy(c, "k", 1, buf, sizeof(buf), &len, NULL), MSB_OK);
    cr_assert_eq(len, 5);
    cr_assert_eq(memcmp(buf, "hello", 5), 0);
    msb_error_t err;
    cr_assert_eq(msb_cache_get_copy(c, "k", 1, buf, 3, &len, &err), MSB_ETOOBIG);
    cr_assert_eq(len, 5, "says how much room it needs");
    cr_assert(strstr(err.message, "does not fit") != NULL, "%s", err.message);
    cr_assert_eq(msb_cache_get_copy(c, "nope", 4, buf, sizeof(buf), &len, NULL), MSB_ENOTFOUND);
    msb_cache_free(c);
}

Test(cache_l1, entry_bound_evicts_least_recently_used)
{
    msb_cache_t *c = make(3, 1 << 20, 1);
    put(c, "a", "1");
    put(c, "b", "2");
    put(c, "c", "3");
    cr_assert(has(c, "a", "1")); /* a is now the most recent */
    put(c, "d", "4");            /* evicts b, the least recent */
    cr_assert_not(has(c, "b", NULL));
    cr_assert(has(c, "a", "1"));
    cr_assert(has(c, "c", "3"));
    cr_assert(has(c, "d", "4"));
    msb_cache_stats_t s;
    msb_cache_stats(c, &s);
    cr_assert_eq(s.evictions, 1);
    cr_assert_eq(s.entries, 3);
    msb_cache_free(c);
}

Test(cache_l1, byte_bound_is_never_exceeded)
{
    const size_t max_bytes = 64 * 1024;
    msb_cache_t *c = make(100000, max_bytes, 4);
    char key[32];
    char val[1000];
    memset(val, 'v', sizeof(val));
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        size_t n = (size_t)(i * 37) % sizeof(val);
        cr_assert_eq(msb_cache_set(c, key, strlen(key), val, n, 0, NULL), MSB_OK);
        msb_cache_stats_t s;
        msb_cache_stats(c, &s);
        cr_assert_leq(s.bytes, max_bytes);
    }
    msb_cache_stats_t s;
    msb_cache_stats(c, &s);
    cr_assert_gt(s.evictions, 0);
    cr_assert_gt(s.entries, 10, "the cache keeps what fits");
    cr_assert(has(c, "key-1999", NULL), "the newest entry stays");
    msb_cache_free(c);
}

Test(cache_l1, bad_input_gets_clear_errors)
{
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.max_key_len = 8;
    o.max_value_len = 16;
    msb_cache_t *c = NULL;
    cr_assert_eq(msb_cache_new(&o, &c, NULL), MSB_OK);
    msb_error_t err;
    msb_cache_value_t *v = NULL;
    cr_assert_eq(msb_cache_get(c, "", 0, &v, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "cache: empty key");
    cr_assert_eq(msb_cache_get(c, NULL, 3, &v, &err), MSB_EINVAL);
    cr_assert_eq(msb_cache_set(c, "", 0, "v", 1, 0, &err), MSB_EINVAL);
    cr_assert_eq(msb_cache_set(c, "123456789", 9, "v", 1, 0, &err), MSB_ETOOBIG);
    cr_assert(strstr(err.message, "max_key_len 8") != NULL, "%s", err.message);
    cr_assert_eq(msb_cache_set(c, "k", 1, "0123456789abcdefX", 17, 0, &err), MSB_ETOOBIG);
    cr_assert(strstr(err.message, "value of 17 bytes exceeds max_value_len 16") != NULL, "%s",
              err.message);
    cr_assert_eq(msb_cache_set(c, "k", 1, NULL, 3, 0, &err), MSB_EINVAL);
    cr_assert_eq(msb_cache_set(c, "k", 1, "v", 1, -5, &err), MSB_EINVAL);
    cr_assert(strstr(err.message, "ttl") != NULL, "%s", err.message);
    cr_assert_eq(msb_cache_get(c, "k", 1, NULL, &err), MSB_EINVAL);
    cr_assert_eq(msb_cache_delete(c, "", 0, &err), MSB_EINVAL);
    cr_assert_eq(msb_cache_get_or_load(c, "k", 1, NULL, NULL, &v, &err), MSB_EINVAL);
    msb_cache_free(c);
    msb_cache_free(NULL);
}

Test(cache_l1, options_are_validated)
{
    msb_cache_t *c = NULL;
    msb_error_t err;
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.max_entries = 0;
    cr_assert_eq(msb_cache_new(&o, &c, &err), MSB_EINVAL);
    cr_assert(strstr(err.message, "max_entries") != NULL);
    o = (msb_cache_opts_t)MSB_CACHE_OPTS_INIT;
    o.ttl_jitter = 1.5;
    cr_assert_eq(msb_cache_new(&o, &c, &err), MSB_EINVAL);
    cr_assert(strstr(err.message, "ttl_jitter") != NULL);
    o = (msb_cache_opts_t)MSB_CACHE_OPTS_INIT;
    o.max_value_len = o.max_bytes;
    cr_assert_eq(msb_cache_new(&o, &c, &err), MSB_EINVAL);
    cr_assert(strstr(err.message, "max_value_len") != NULL);
    o = (msb_cache_opts_t)MSB_CACHE_OPTS_INIT;
    o.url = "memcached://127.0.0.1";
    cr_assert_eq(msb_cache_new(&o, &c, &err), MSB_ENOTSUP);
    cr_assert(strstr(err.message, "memcached") != NULL, "%s", err.message);
    o = (msb_cache_opts_t)MSB_CACHE_OPTS_INIT;
    o.url = "redis://user:secret@127.0.0.1:notaport";
    cr_assert_neq(msb_cache_new(&o, &c, &err), MSB_OK);
    cr_assert(strstr(err.message, "secret") == NULL, "never echoes a password: %s", err.message);
    cr_assert_eq(msb_cache_new(NULL, NULL, &err), MSB_EINVAL);
}

Test(cache_l1, old_option_struct_sizes_get_defaults)
{
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.size = offsetof(msb_cache_opts_t, max_entries); /* a program built before max_entries */
    o.max_entries = 0;                                /* not read */
    msb_cache_t *c = NULL;
    cr_assert_eq(msb_cache_new(&o, &c, NULL), MSB_OK);
    put(c, "k", "v");
    cr_assert(has(c, "k", "v"));
    msb_cache_free(c);
    cr_assert_eq(msb_cache_new(NULL, &c, NULL), MSB_OK);
    msb_cache_free(c);
}

Test(cache_l1, many)
{
    msb_cache_t *c = make(100, 1 << 20, 4);
    const void *keys[] = {"a", "b", "c"};
    size_t lens[] = {1, 1, 1};
    const void *vals[] = {"1", "22", "333"};
    size_t vlens[] = {1, 2, 3};
    cr_assert_eq(msb_cache_set_many(c, 2, keys, lens, vals, vlens, 0, NULL), MSB_OK);
    msb_cache_value_t *out[3];
    cr_assert_eq(msb_cache_get_many(c, 3, keys, lens, out, NULL), MSB_OK);
    cr_assert_str_eq(msb_cache_value_data(out[0]), "1");
    cr_assert_str_eq(msb_cache_value_data(out[1]), "22");
    cr_assert_null(out[2]);
    msb_cache_value_release(out[0]);
    msb_cache_value_release(out[1]);
    const void *bad[] = {"a", ""};
    size_t bad_lens[] = {1, 0};
    cr_assert_eq(msb_cache_get_many(c, 2, bad, bad_lens, out, NULL), MSB_EINVAL);
    cr_assert_eq(msb_cache_set_many(c, 2, bad, bad_lens, vals, vlens, 0, NULL), MSB_EINVAL);
    msb_cache_free(c);
}

Test(cache_l1, clear_local)
{
    msb_cache_t *c = make(100, 1 << 20, 4);
    put(c, "a", "1");
    put(c, "b", "2");
    cr_assert_eq(msb_cache_clear_local(c, NULL), MSB_OK);
    cr_assert_not(has(c, "a", NULL));
    cr_assert_not(has(c, "b", NULL));
    msb_cache_value_t *v = NULL;
    put(c, "a", "3");
    cr_assert_eq(msb_cache_peek(c, "a", 1, &v, NULL), MSB_OK);
    cr_assert_str_eq(msb_cache_value_data(v), "3");
    msb_cache_value_release(v);
    msb_cache_free(c);
}

Test(cache_l1, counters_exported_through_metrics)
{
    msb_metrics_t *reg = NULL;
    cr_assert_eq(msb_metrics_new(NULL, &reg, NULL), MSB_OK);
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.metrics = reg;
    o.metrics_prefix = "app_cache";
    msb_cache_t *c = NULL;
    msb_error_t err;
    cr_assert_eq(msb_cache_new(&o, &c, &err), MSB_OK, "%s", err.message);
    put(c, "a", "1");
    cr_assert(has(c, "a", "1"));
    cr_assert_not(has(c, "b", NULL));
    char *text = NULL;
    cr_assert_eq(msb_metrics_render(reg, MSB_METRICS_FORMAT_TEXT, &text, NULL, &err), MSB_OK, "%s",
                 err.message);
    cr_assert(strstr(text, "app_cache_hits_total{tier=\"l1\"} 1") != NULL, "%s", text);
    cr_assert(strstr(text, "app_cache_misses_total 1") != NULL, "%s", text);
    cr_assert(strstr(text, "app_cache_sets_total 1") != NULL, "%s", text);
    cr_assert(strstr(text, "app_cache_entries 1") != NULL, "%s", text);
    msb_metrics_text_free(text);
    msb_cache_free(c);
    cr_assert_eq(msb_metrics_render(reg, MSB_METRICS_FORMAT_TEXT, &text, NULL, &err), MSB_OK);
    cr_assert(strstr(text, "app_cache") == NULL, "the collector leaves with its cache");
    msb_metrics_text_free(text);
    o.metrics_prefix = "";
    cr_assert_eq(msb_cache_new(&o, &c, &err), MSB_EINVAL);
    msb_metrics_free(reg);
}
