/*
 * Every allocation of libmsb on the config paths failed in turn: each failure is reported as
 * MSB_ENOMEM, nothing leaks, and a failed reload leaves the configuration as it was.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "msb/msb.h"
#include "support/config_test.h"
#include "support/failing_alloc.h"

static const msb_config_key_t keys[] = {
    {.name = "log.level",
     .type = MSB_CONFIG_STRING,
     .default_value = "info",
     .choices = "debug|info|warn",
     .flags = MSB_CONFIG_RELOADABLE},
    {.name = "http.listen", .type = MSB_CONFIG_STRING, .default_value = "127.0.0.1:8080"},
    {.name = "http.timeout", .type = MSB_CONFIG_DURATION, .default_value = "5s", .min = "1ms"},
    {.name = "http.max_body", .type = MSB_CONFIG_SIZE, .default_value = "1MiB"},
    {.name = "db.password", .type = MSB_CONFIG_STRING, .flags = MSB_CONFIG_SECRET},
    {.name = "tags",
     .type = MSB_CONFIG_LIST,
     .default_value = "a,b",
     .flags = MSB_CONFIG_RELOADABLE},
    {.name = "workers", .type = MSB_CONFIG_INT, .default_value = "4"},
    {.name = "debug", .type = MSB_CONFIG_BOOL, .default_value = "false"},
    {.name = "ratio", .type = MSB_CONFIG_DOUBLE, .default_value = "0.5"},
};

static const char v1[] = "{\"http\": {\"listen\": \"0.0.0.0:1\", \"timeout\": \"1m\"}, "
                         "\"tags\": [\"x\", \"y\"], \"db.password_file\": \"pw\"}";
static const char v2[] = "{\"http\": {\"listen\": \"0.0.0.0:1\", \"timeout\": \"1m\"}, "
                         "\"tags\": [\"z\"], \"log\": {\"level\": \"debug\"}, "
                         "\"db.password_file\": \"pw\"}";

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void ignore_change(void *user, const char *key, msb_config_change_t change)
{
    (void)user;
    (void)key;
    (void)change;
}

/* The whole life of a configuration; returns the first failure. */
static msb_status_t flow(const char *file, msb_error_t *err)
{
    char *env[] = {"MSB_HTTP__MAX_BODY=64KiB", "MSB_TAGS=p,q\\,r", NULL};
    const char *argv[] = {"prog", "--workers=8", "--debug", "--profile=prod", "pos", NULL};
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.file = file;
    o.envp = env;
    msb_config_t *cfg = NULL;
    msb_status_t rc = msb_config_new(&o, &cfg, err);
    if (rc == MSB_OK) {
        rc = msb_config_add_keys(cfg, MSB_CONFIG_KEYS(keys), err);
    }
    if (rc == MSB_OK) {
        rc = msb_config_load(cfg, 5, argv, err);
    }
    if (rc == MSB_OK) {
        FILE *sink = fopen("/dev/null", "w");
        rc = msb_config_print(cfg, sink, 0, err);
        if (rc == MSB_OK) {
            rc = msb_config_print(cfg, sink, MSB_CONFIG_PRINT_JSON, err);
        }
        if (rc == MSB_OK) {
            rc = msb_config_print_help(cfg, sink, err);
        }
        fclose(sink);
    }
    if (rc == MSB_OK) {
        rc = msb_config_watch(cfg, "log.", ignore_change, NULL, NULL, err);
    }
    if (rc == MSB_OK) {
        put(file, v2);
        rc = msb_config_reload(cfg, ignore_change, NULL, err);
        const char *level = NULL;
        cr_assert_eq(msb_config_get_string(cfg, "log.level", &level, NULL), MSB_OK);
        cr_assert_str_eq(level, rc == MSB_OK ? "debug" : "info", "a failed reload changes nothing");
        put(file, v1);
    }
    if (rc == MSB_OK) {
        rc = msb_config_reload(cfg, NULL, NULL, err); /* changes back */
    }
    msb_config_free(cfg);
    return rc;
}

Test(config_alloc, every_failure_is_enomem_without_leaks)
{
    ct_dir_t d;
    ct_dir_init(&d);
    const char *file = ct_write(&d, "app.json", v1);
    ct_write(&d, "app.prod.json", "{\"http.timeout\": \"2m\"}");
    ct_write(&d, "pw", "secret\n");
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(flow(file, &err), MSB_OK, "%s", err.message);
    long failures = 0;
    MSB_FAILING_ALLOC_LOOP(n)
    {
        err = (msb_error_t)MSB_ERROR_INIT;
        failing_alloc_install(n);
        msb_status_t rc = flow(file, &err);
        bool fired = failing_alloc_fired();
        failing_alloc_remove();
        cr_assert_eq(failing_alloc_live(), 0, "leak when allocation %ld fails", n);
        if (!fired) {
            cr_assert_eq(rc, MSB_OK, "%s", err.message);
            break;
        }
        failures++;
        cr_assert_eq(rc, MSB_ENOMEM, "allocation %ld failed but the status is %s: %s", n,
                     msb_status_name(rc), err.message);
        cr_assert_eq(err.code, MSB_ENOMEM);
        cr_assert_neq(err.message[0], '\0');
        put(file, v1);
    }
    cr_assert_gt(failures, 50, "the flow makes many allocations; only %ld failed", failures);
    ct_dir_free(&d);
}

Test(config_alloc, parsers_and_unknown_keys)
{
    /* error paths allocate too: each failure there is ENOMEM, never swallowed */
    const char *argv[] = {"prog", "--tags=a,,b", NULL};
    MSB_FAILING_ALLOC_LOOP(n)
    {
        msb_error_t err = MSB_ERROR_INIT;
        failing_alloc_install(n);
        msb_config_t *cfg = NULL;
        char *env[] = {NULL};
        msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
        o.envp = env;
        msb_status_t rc = msb_config_new(&o, &cfg, &err);
        if (rc == MSB_OK) {
            rc = msb_config_add_keys(cfg, MSB_CONFIG_KEYS(keys), &err);
        }
        if (rc == MSB_OK) {
            rc = msb_config_load(cfg, 2, argv, &err);
        }
        msb_config_free(cfg);
        bool fired = failing_alloc_fired();
        failing_alloc_remove();
        cr_assert_eq(failing_alloc_live(), 0, "leak when allocation %ld fails", n);
        if (!fired) {
            cr_assert_eq(rc, MSB_EINVAL);
            cr_assert_str_eq(err.message,
                             "tags: empty item 2 in a comma-separated list (from --tags)");
            break;
        }
        cr_assert_eq(rc, MSB_ENOMEM, "allocation %ld failed but the status is %s: %s", n,
                     msb_status_name(rc), err.message);
    }
}
