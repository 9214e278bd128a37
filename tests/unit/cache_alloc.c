/* Allocation failures in turn on the in-process paths: MSB_ENOMEM, never a crash or a leak. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <event2/event.h>
#include <string.h>

#include "msb/cache_loop.h"
#include "support/failing_alloc.h"

static msb_status_t load(void *user, const void *key, size_t key_len, msb_cache_fill_t *fill,
                         msb_error_t *err)
{
    (void)user;
    (void)key;
    (void)key_len;
    (void)err;
    return msb_cache_fill_value(fill, "loaded", 6);
}

/* Everything a program does with an in-process cache, stopping at the first failure. */
static msb_status_t scenario(void)
{
    msb_cache_opts_t o = MSB_CACHE_OPTS_INIT;
    o.max_entries = 4;
    o.shards = 2;
    o.negative_ttl_ns = MSB_SEC;
    msb_cache_t *c = NULL;
    msb_status_t rc = msb_cache_new(&o, &c, NULL);
    if (rc != MSB_OK) {
        return rc;
    }
    char key[16];
    for (int i = 0; i < 8 && rc == MSB_OK; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        rc = msb_cache_set(c, key, strlen(key), "value", 5, 0, NULL);
    }
    msb_cache_value_t *v = NULL;
    if (rc == MSB_OK) {
        rc = msb_cache_get_or_load(c, "L", 1, load, NULL, &v, NULL);
        msb_cache_value_release(v);
    }
    const void *keys[] = {"a", "b"};
    size_t lens[] = {1, 1};
    if (rc == MSB_OK) {
        rc = msb_cache_set_many(c, 2, keys, lens, keys, lens, 0, NULL);
    }
    msb_cache_value_t *out[2] = {NULL, NULL};
    if (rc == MSB_OK) {
        rc = msb_cache_get_many(c, 2, keys, lens, out, NULL);
        msb_cache_value_release(out[0]);
        msb_cache_value_release(out[1]);
    }
    if (rc == MSB_OK) {
        rc = msb_cache_write_through(c, "w", 1, "x", 1, 0, NULL, NULL, NULL) == MSB_EINVAL
                 ? MSB_OK
                 : MSB_EINTERNAL;
    }
    msb_cache_free(c);
    return rc;
}

Test(cache_alloc, every_failure_is_enomem_without_leak)
{
    MSB_FAILING_ALLOC_LOOP(n)
    {
        failing_alloc_install(n);
        msb_status_t rc = scenario();
        bool fired = failing_alloc_fired();
        failing_alloc_remove();
        cr_assert_eq(failing_alloc_live(), 0, "leak when allocation %ld fails", n);
        if (!fired) {
            cr_assert_eq(rc, MSB_OK);
            break;
        }
        cr_assert(rc == MSB_ENOMEM || rc == MSB_OK, "allocation %ld: status %d", n, rc);
    }
}

static void on_get(msb_status_t status, msb_cache_value_t *value, const msb_error_t *err,
                   void *user)
{
    (void)value;
    (void)err;
    *(msb_status_t *)user = status;
}

static void async_load(void *user, const void *key, size_t key_len, msb_cache_fill_t *fill)
{
    (void)user;
    (void)key;
    (void)key_len;
    msb_status_t rc = msb_cache_fill_value(fill, "v", 1);
    msb_cache_fill_done(fill, rc, NULL);
}

static msb_status_t loop_scenario(struct event_base *base)
{
    msb_cache_t *c = NULL;
    msb_status_t rc = msb_cache_new(NULL, &c, NULL);
    if (rc != MSB_OK) {
        return rc;
    }
    msb_cache_loop_t *l = NULL;
    rc = msb_cache_loop_new(c, base, &l, NULL);
    msb_status_t got = MSB_EINTERNAL;
    if (rc == MSB_OK) {
        rc = msb_cache_loop_set(l, "k", 1, "v", 1, 0, NULL, NULL, NULL);
    }
    if (rc == MSB_OK) {
        rc = msb_cache_loop_get_or_load(l, "x", 1, async_load, NULL, on_get, &got, NULL);
        event_base_dispatch(base);
        if (rc == MSB_OK && got != MSB_OK) {
            rc = got;
        }
    }
    msb_cache_loop_free(l);
    msb_cache_free(c);
    return rc;
}

Test(cache_alloc, loop_paths)
{
    struct event_base *base = event_base_new();
    MSB_FAILING_ALLOC_LOOP(n)
    {
        failing_alloc_install(n);
        msb_status_t rc = loop_scenario(base);
        bool fired = failing_alloc_fired();
        failing_alloc_remove();
        cr_assert_eq(failing_alloc_live(), 0, "leak when allocation %ld fails", n);
        if (!fired) {
            cr_assert_eq(rc, MSB_OK);
            break;
        }
        cr_assert(rc == MSB_ENOMEM || rc == MSB_OK, "allocation %ld: status %d", n, rc);
    }
    event_base_free(base);
}
