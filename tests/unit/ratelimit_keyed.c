/* The keyed limiter: independence of keys, the memory bound, eviction order, options. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rand.h"
#include "msb/core.h"
#include "msb/ratelimit.h"

#define MS INT64_C(1000000)

static msb_clock_t *clk;
static msb_ratelimit_opts_t limit;

static void setup(void)
{
    cr_assert_eq(msb_clock_manual_new(UINT64_C(5) * MSB_SEC, 0, &clk), MSB_OK);
    limit = (msb_ratelimit_opts_t)MSB_RATELIMIT_OPTS_INIT;
    limit.rate = 1;
    limit.period_ns = MSB_SEC;
    limit.burst = 2;
    limit.clock = clk;
}

static void teardown(void)
{
    msb_clock_manual_free(clk);
}

TestSuite(ratelimit_keyed, .init = setup, .fini = teardown);

static msb_ratelimit_keyed_t *make(size_t max_keys, size_t shards)
{
    msb_ratelimit_keyed_opts_t o = MSB_RATELIMIT_KEYED_OPTS_INIT;
    o.limit = &limit;
    o.max_keys = max_keys;
    o.shards = shards;
    msb_ratelimit_keyed_t *kl = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_ratelimit_keyed_new(&o, &kl, &err), MSB_OK, "%s", err.message);
    return kl;
}

static bool allow(msb_ratelimit_keyed_t *kl, const char *key)
{
    return msb_ratelimit_keyed_allow(kl, key, strlen(key));
}

static bool held(msb_ratelimit_keyed_t *kl, const char *key)
{
    /* A peek reports a key that is not held as full, so test with forget + re-add. */
    msb_ratelimit_result_t res;
    cr_assert_eq(msb_ratelimit_keyed_take(kl, key, strlen(key), 0, &res), MSB_OK);
    return res.remaining < res.limit;
}

static msb_ratelimit_keyed_stats_t stats(msb_ratelimit_keyed_t *kl)
{
    msb_ratelimit_keyed_stats_t s;
    msb_ratelimit_keyed_stats(kl, &s);
    return s;
}

Test(ratelimit_keyed, keys_are_independent)
{
    msb_ratelimit_keyed_t *kl = make(100, 0);
    cr_assert(allow(kl, "10.0.0.1"));
    cr_assert(allow(kl, "10.0.0.1"));
    cr_assert_not(allow(kl, "10.0.0.1"));
    cr_assert(allow(kl, "10.0.0.2"));
    msb_ratelimit_result_t res;
    cr_assert_eq(msb_ratelimit_keyed_take(kl, "10.0.0.1", 8, 1, &res), MSB_EREJECTED);
    cr_assert_eq(res.retry_after_ns, MSB_SEC); /* TAT 2 s + 1 s - now > tolerance 2 s by 1 s */
    msb_clock_manual_advance(clk, MSB_SEC);
    cr_assert(allow(kl, "10.0.0.1"));
    cr_assert_not(allow(kl, "10.0.0.1"));
    cr_assert_eq(stats(kl).keys, 2);
    msb_ratelimit_keyed_free(kl);
}

Test(ratelimit_keyed, binary_keys_and_prefixes_differ)
{
    msb_ratelimit_keyed_t *kl = make(100, 1);
    const unsigned char a[] = {0, 1, 2, 0};
    const unsigned char b[] = {0, 1, 2, 0, 0};
    for (int i = 0; i < 2; i++) {
        cr_assert(msb_ratelimit_keyed_allow(kl, a, sizeof(a)));
    }
    cr_assert_not(msb_ratelimit_keyed_allow(kl, a, sizeof(a)));
    cr_assert(msb_ratelimit_keyed_allow(kl, b, sizeof(b)));
    cr_assert(msb_ratelimit_keyed_allow(kl, a, 3));
    msb_ratelimit_keyed_free(kl);
}

Test(ratelimit_keyed, peek_does_not_add)
{
    msb_ratelimit_keyed_t *kl = make(100, 0);
    msb_ratelimit_result_t res;
    cr_assert_eq(msb_ratelimit_keyed_take(kl, "u1", 2, 0, &res), MSB_OK);
    cr_assert_eq(res.remaining, 2);
    cr_assert_eq(msb_ratelimit_keyed_take(kl, "u1", 2, 3, &res), MSB_ERANGE);
    cr_assert_eq(res.retry_after_ns, -1);
    cr_assert_eq(stats(kl).keys, 0);
    msb_ratelimit_keyed_free(kl);
}

Test(ratelimit_keyed, forget)
{
    msb_ratelimit_keyed_t *kl = make(100, 0);
    cr_assert(allow(kl, "alice"));
    cr_assert(allow(kl, "alice"));
    cr_assert_not(allow(kl, "alice"));
    cr_assert_eq(msb_ratelimit_keyed_forget(kl, "alice", 5), MSB_OK);
    cr_assert_eq(msb_ratelimit_keyed_forget(kl, "alice", 5), MSB_ENOTFOUND);
    cr_assert(allow(kl, "alice"));
    cr_assert_eq(stats(kl).keys, 1);
    msb_ratelimit_keyed_free(kl);
}

Test(ratelimit_keyed, bad_keys)
{
    msb_ratelimit_keyed_opts_t o = MSB_RATELIMIT_KEYED_OPTS_INIT;
    o.limit = &limit;
    o.key_max = 8;
    msb_ratelimit_keyed_t *kl = NULL;
    cr_assert_eq(msb_ratelimit_keyed_new(&o, &kl, NULL), MSB_OK);
    cr_assert_eq(msb_ratelimit_keyed_take(kl, "123456789", 9, 1, NULL), MSB_ETOOBIG);
    cr_assert_eq(msb_ratelimit_keyed_take(kl, "12345678", 8, 1, NULL), MSB_OK);
    cr_assert_eq(msb_ratelimit_keyed_take(kl, "", 0, 1, NULL), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_keyed_take(kl, NULL, 3, 1, NULL), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_keyed_take(NULL, "a", 1, 1, NULL), MSB_EINVAL);
    cr_assert_eq(msb_ratelimit_keyed_forget(kl, "123456789", 9), MSB_ETOOBIG);
    cr_assert_eq(msb_ratelimit_keyed_forget(kl, NULL, 1), MSB_EINVAL);
    cr_assert_not(msb_ratelimit_keyed_allow(kl, "123456789", 9));
    msb_ratelimit_keyed_stats(kl, NULL);
    msb_ratelimit_keyed_stats_t s;
    msb_ratelimit_keyed_stats(NULL, &s);
    cr_assert_eq(s.keys, 0);
    msb_ratelimit_keyed_free(kl);
    msb_ratelimit_keyed_free(NULL);
}

/* Many distinct keys (a scan from many addresses): the number held never exceeds max_keys. */
Test(ratelimit_keyed, memory_is_bounded)
{
    msb_ratelimit_keyed_t *kl = make(100, 0);
    cr_assert_eq(stats(kl).capacity, 100);
    char key[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "198.51.%d.%d", i / 256, i % 256);
        cr_assert(allow(kl, key), "a new key starts full");
        cr_assert_leq(stats(kl).keys, 100);
    }
    msb_ratelimit_keyed_stats_t s = stats(kl);
    cr_assert_eq(s.keys, 100);
    cr_assert_eq(s.evictions, 20000 - 100);
    cr_assert_eq(s.evictions_active, s.evictions, "no key was full again: time stood still");
    msb_ratelimit_keyed_free(kl);
}

/* One shard of four, all keys used since the hand last passed: the first turn clears every
 * mark, the second takes the first entry. */
Test(ratelimit_keyed, clock_eviction_order)
{
    msb_ratelimit_keyed_t *kl = make(4, 1);
    const char *keys[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        cr_assert(allow(kl, keys[i]));
    }
    cr_assert(allow(kl, "e"));
    cr_assert_not(held(kl, "a"));
    cr_assert(held(kl, "b") && held(kl, "c") && held(kl, "d") && held(kl, "e"));
    msb_ratelimit_keyed_stats_t s = stats(kl);
    cr_assert_eq(s.evictions, 1);
    cr_assert_eq(s.evictions_active, 1);
    msb_ratelimit_keyed_free(kl);
}

Test(ratelimit_keyed, second_chance)
{
    msb_ratelimit_keyed_t *kl = make(4, 1);
    cr_assert(allow(kl, "a")); /* entries 0..3 = a b c d, all marked */
    cr_assert(allow(kl, "b"));
    cr_assert(allow(kl, "c"));
    cr_assert(allow(kl, "d"));
    cr_assert(allow(kl, "e")); /* sweep clears a b c d, takes a: e in entry 0, hand at b */
    cr_assert(allow(kl, "b")); /* b marked again */
    cr_assert(allow(kl, "f")); /* hand: b marked -> cleared; c unmarked -> taken */
    cr_assert_eq(msb_ratelimit_keyed_forget(kl, "c", 1), MSB_ENOTFOUND);
    cr_assert_eq(msb_ratelimit_keyed_forget(kl, "b", 1), MSB_OK);
    cr_assert_eq(msb_ratelimit_keyed_forget(kl, "d", 1), MSB_OK);
    cr_assert_eq(msb_ratelimit_keyed_forget(kl, "e", 1), MSB_OK);
    cr_assert_eq(msb_ratelimit_keyed_forget(kl, "f", 1), MSB_OK);
    msb_ratelimit_keyed_free(kl);
}

/* A key that is full again is forgotten first, whatever its mark: that loses nothing. */
Test(ratelimit_keyed, full_keys_go_first)
{
    msb_ratelimit_keyed_t *kl = make(3, 1);
    cr_assert(allow(kl, "old")); /* TAT = now + 1 s */
    msb_clock_manual_advance(clk, 2 * MSB_SEC);
    cr_assert(allow(kl, "x"));
    cr_assert(allow(kl, "y"));
    cr_assert(allow(kl, "z")); /* full shard: "old" is full again and goes, though marked */
    msb_ratelimit_keyed_stats_t s = stats(kl);
    cr_assert_eq(s.evictions, 1);
    cr_assert_eq(s.evictions_active, 0);
    cr_assert_eq(msb_ratelimit_keyed_forget(kl, "old", 3), MSB_ENOTFOUND);
    cr_assert_eq(msb_ratelimit_keyed_forget(kl, "x", 1), MSB_OK);
    msb_ratelimit_keyed_free(kl);
}

/* The index against a plain model under random inserts, forgets and evictions: every key the
 * model holds is found with its own state, and no other. */
Test(ratelimit_keyed, index_matches_a_model)
{
    enum { UNIVERSE = 64, MAXK = 24 };
    limit.burst = 1000;
    msb_ratelimit_keyed_t *kl = make(MAXK, 1);
    int used[UNIVERSE] = {0}; /* permits taken by each key while held; 0: not held */
    char key[16];
    for (int step = 0; step < 20000; step++) {
        int k = (int)msb__rand_below(UNIVERSE);
        snprintf(key, sizeof(key), "k%d", k);
        if (msb__rand_below(5) == 0) {
            msb_status_t st = msb_ratelimit_keyed_forget(kl, key, strlen(key));
            cr_assert_eq(st, used[k] ? MSB_OK : MSB_ENOTFOUND, "step %d key %d", step, k);
            used[k] = 0;
            continue;
        }
        msb_ratelimit_result_t res;
        cr_assert_eq(msb_ratelimit_keyed_take(kl, key, strlen(key), 1, &res), MSB_OK);
        if (used[k] > 0) {
            cr_assert_eq(res.remaining, (uint64_t)(1000 - used[k] - 1), "step %d key %d", step, k);
            used[k]++;
        } else {
            cr_assert_eq(res.remaining, 999);
            used[k] = 1;
        }
        /* Evictions: resynchronise the model from the limiter for keys it dropped. */
        for (int j = 0; j < UNIVERSE; j++) {
            snprintf(key, sizeof(key), "k%d", j);
            msb_ratelimit_result_t peek;
            msb_ratelimit_keyed_take(kl, key, strlen(key), 0, &peek);
            if (used[j] > 0 && peek.remaining == 1000) {
                used[j] = 0; /* evicted */
            }
            cr_assert_eq(peek.remaining, (uint64_t)(1000 - used[j]), "step %d key %d", step, j);
        }
        cr_assert_leq(stats(kl).keys, MAXK);
    }
    msb_ratelimit_keyed_free(kl);
}

Test(ratelimit_keyed, many_shards_spread)
{
    msb_ratelimit_keyed_t *kl = make(4096, 64);
    char key[32];
    for (int i = 0; i < 2048; i++) {
        snprintf(key, sizeof(key), "user-%d", i);
        cr_assert(allow(kl, key));
    }
    msb_ratelimit_keyed_stats_t s = stats(kl);
    cr_assert_eq(s.capacity, 4096);
    /* SipHash spreads 2048 keys over 64 shards of 64: a few shards may overflow, not many. */
    cr_assert_geq(s.keys, 2000);
    msb_ratelimit_keyed_free(kl);
}

static void expect_einval(const msb_ratelimit_keyed_opts_t *o, const char *field)
{
    msb_ratelimit_keyed_t *kl = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_ratelimit_keyed_new(o, &kl, &err), MSB_EINVAL, "%s", field);
    cr_assert_not_null(strstr(err.message, field), "message \"%s\" should name %s", err.message,
                       field);
    cr_assert_null(kl);
}

Test(ratelimit_keyed, every_option_error)
{
    msb_ratelimit_keyed_t *kl = NULL;
    cr_assert_eq(msb_ratelimit_keyed_new(NULL, &kl, NULL), MSB_EINVAL);
    msb_ratelimit_keyed_opts_t o = MSB_RATELIMIT_KEYED_OPTS_INIT;
    expect_einval(&o, "limit");
    o.limit = &limit;
    cr_assert_eq(msb_ratelimit_keyed_new(&o, NULL, NULL), MSB_EINVAL);
    o.max_keys = 0;
    expect_einval(&o, "max_keys");
    o.max_keys = (size_t)1 << 29;
    expect_einval(&o, "max_keys");
    o.max_keys = 100;
    o.key_max = 0;
    expect_einval(&o, "key_max");
    o.key_max = 4097;
    expect_einval(&o, "key_max");
    o.key_max = 64;
    o.shards = 3;
    expect_einval(&o, "shards");
    o.shards = 128;
    expect_einval(&o, "shards");
    o.shards = 0;
    msb_ratelimit_opts_t bad = limit;
    bad.rate = 0;
    o.limit = &bad;
    expect_einval(&o, "limit.rate");
    bad.rate = 1;
    bad.period_ns = -1;
    expect_einval(&o, "limit.period_ns");
}

Test(ratelimit_keyed, small_max_keys_gets_few_shards)
{
    msb_ratelimit_keyed_t *kl = make(1, 0);
    cr_assert(allow(kl, "a"));
    cr_assert(allow(kl, "b"));
    msb_ratelimit_keyed_stats_t s = stats(kl);
    cr_assert_eq(s.capacity, 1);
    cr_assert_eq(s.keys, 1);
    msb_ratelimit_keyed_free(kl);
}

static int fail_at;
static int calls;

static void *fail_malloc(size_t n, void *u)
{
    (void)u;
    return ++calls == fail_at ? NULL : malloc(n);
}

static void *fail_realloc(void *p, size_t n, void *u)
{
    (void)u;
    return ++calls == fail_at ? NULL : realloc(p, n);
}

static void plain_free(void *p, void *u)
{
    (void)u;
    free(p);
}

Test(ratelimit_keyed, out_of_memory_at_each_allocation)
{
    msb_allocator_t a = {fail_malloc, fail_realloc, plain_free, NULL};
    cr_assert_eq(msb_set_allocator(&a), MSB_OK);
    msb_ratelimit_keyed_opts_t o = MSB_RATELIMIT_KEYED_OPTS_INIT;
    o.limit = &limit;
    for (fail_at = 1;; fail_at++) {
        calls = 0;
        msb_ratelimit_keyed_t *kl = NULL;
        msb_status_t st = msb_ratelimit_keyed_new(&o, &kl, NULL);
        if (st == MSB_OK) {
            /* and no allocation afterwards, on any path */
            int before = calls;
            cr_assert(allow(kl, "k"));
            msb_ratelimit_keyed_forget(kl, "k", 1);
            cr_assert_eq(calls, before);
            msb_ratelimit_keyed_free(kl);
            break;
        }
        cr_assert_eq(st, MSB_ENOMEM);
        cr_assert_null(kl);
    }
    cr_assert_eq(fail_at, 5, "four allocations: the handle, shards, entries, index");
    msb_set_allocator(NULL);
}
