/* msb_config_reload() and watches. */
#include <criterion/criterion.h>
#include <string.h>

#include "msb/msb.h"
#include "support/config_test.h"

static const msb_config_key_t keys[] = {
    {.name = "log.level",
     .type = MSB_CONFIG_STRING,
     .default_value = "info",
     .flags = MSB_CONFIG_RELOADABLE},
    {.name = "http.listen", .type = MSB_CONFIG_STRING, .default_value = "127.0.0.1:8080"},
    {.name = "http.timeout",
     .type = MSB_CONFIG_DURATION,
     .default_value = "5s",
     .flags = MSB_CONFIG_RELOADABLE},
    {.name = "db.password",
     .type = MSB_CONFIG_STRING,
     .flags = MSB_CONFIG_SECRET | MSB_CONFIG_RELOADABLE},
    {.name = "tags", .type = MSB_CONFIG_LIST, .flags = MSB_CONFIG_RELOADABLE},
    {.name = "workers", .type = MSB_CONFIG_INT, .default_value = "4"},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

typedef struct changes {
    int n;
    char keys[16][64];
    msb_config_change_t kinds[16];
} changes_t;

static void record(void *user, const char *key, msb_config_change_t change)
{
    changes_t *c = user;
    cr_assert_lt(c->n, 16);
    snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", key);
    c->kinds[c->n] = change;
    c->n++;
}

static const char *str(const msb_config_t *cfg, const char *key)
{
    const char *s = NULL;
    cr_assert_eq(msb_config_get_string(cfg, key, &s, NULL), MSB_OK);
    return s;
}

typedef struct fixture {
    ct_dir_t d;
    const char *file;
    msb_config_t *cfg;
} fixture_t;

static void setup(fixture_t *f, const char *json, char *const *env, const char *const *argv)
{
    ct_dir_init(&f->d);
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    f->file = ct_write(&f->d, "app.json", json);
    o.file = f->file;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(ct_load(&o, keys, NKEYS, argv, env, &f->cfg, &err), MSB_OK, "%s", err.message);
}

/* Rewrite the configuration file in place. */
static void rewrite(fixture_t *f, const char *json)
{
    FILE *fp = fopen(f->file, "w");
    cr_assert_not_null(fp);
    fputs(json, fp);
    fclose(fp);
}

static void teardown(fixture_t *f)
{
    msb_config_free(f->cfg);
    ct_dir_free(&f->d);
}

Test(config_reload, applies_reloadable_and_holds_the_rest)
{
    fixture_t f;
    setup(&f, "{\"log\": {\"level\": \"info\"}, \"http.listen\": \"a:1\", \"tags\": [\"x\"]}", NULL,
          NULL);
    const char *old_level = str(f.cfg, "log.level");
    msb_config_list_t old_tags;
    cr_assert_eq(msb_config_get_list(f.cfg, "tags", &old_tags, NULL), MSB_OK);
    rewrite(&f, "{\"log\": {\"level\": \"debug\"},\n\"http.listen\": \"b:2\", \"tags\": [\"y\", "
                "\"z\"]}");
    changes_t c = {0};
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_config_reload(f.cfg, record, &c, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(c.n, 3);
    cr_assert_str_eq(c.keys[0], "http.listen");
    cr_assert_eq(c.kinds[0], MSB_CONFIG_CHANGE_NEEDS_RESTART);
    cr_assert_str_eq(c.keys[1], "log.level");
    cr_assert_eq(c.kinds[1], MSB_CONFIG_CHANGE_APPLIED);
    cr_assert_str_eq(c.keys[2], "tags");
    cr_assert_eq(c.kinds[2], MSB_CONFIG_CHANGE_APPLIED);
    cr_assert_str_eq(str(f.cfg, "log.level"), "debug");
    cr_assert_str_eq(str(f.cfg, "http.listen"), "a:1", "not reloadable: the old value stays");
    char src[256];
    char want[256];
    msb_config_get_source(f.cfg, "http.listen", NULL, src, sizeof(src), NULL);
    snprintf(want, sizeof(want), "%s:1", f.file);
    cr_assert_str_eq(src, want, "and so does its source");
    msb_config_list_t tags;
    cr_assert_eq(msb_config_get_list(f.cfg, "tags", &tags, NULL), MSB_OK);
    cr_assert_eq(tags.count, 2);
    /* what readers held before the reload is still valid */
    cr_assert_str_eq(old_level, "info");
    cr_assert_eq(old_tags.count, 1);
    cr_assert_str_eq(old_tags.items[0], "x");
    teardown(&f);
}

Test(config_reload, nothing_changed)
{
    fixture_t f;
    setup(&f, "{\"log\": {\"level\": \"warn\"}}", NULL, NULL);
    const char *before = str(f.cfg, "log.level");
    /* same value, now on another line: no change, the source follows */
    rewrite(&f, "{\n\n\"log.level\": \"warn\"}");
    changes_t c = {0};
    cr_assert_eq(msb_config_reload(f.cfg, record, &c, NULL), MSB_OK);
    cr_assert_eq(c.n, 0);
    cr_assert_eq(str(f.cfg, "log.level"), before, "unchanged strings keep their pointer");
    char src[256];
    char want[256];
    msb_config_get_source(f.cfg, "log.level", NULL, src, sizeof(src), NULL);
    snprintf(want, sizeof(want), "%s:3", f.file);
    cr_assert_str_eq(src, want);
    cr_assert_eq(msb_config_reload(f.cfg, NULL, NULL, NULL), MSB_OK);
    teardown(&f);
}

Test(config_reload, invalid_configuration_changes_nothing)
{
    fixture_t f;
    setup(&f, "{\"log\": {\"level\": \"warn\"}}", NULL, NULL);
    rewrite(&f, "{\"log\": {\"level\": \"debug\"}, \"http\": {\"timeout\": \"soon\"}}");
    changes_t c = {0};
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_config_reload(f.cfg, record, &c, &err), MSB_EINVAL);
    char want[256];
    snprintf(want, sizeof(want),
             "http.timeout: expected a duration such as 250ms, 2s or 1m30s, got \"soon\" (from "
             "%s:1)",
             f.file);
    cr_assert_str_eq(err.message, want);
    cr_assert_eq(c.n, 0);
    cr_assert_str_eq(str(f.cfg, "log.level"), "warn");
    rewrite(&f, "{\"log\": ");
    cr_assert_eq(msb_config_reload(f.cfg, record, &c, &err), MSB_EINVAL);
    unlink(f.file);
    cr_assert_eq(msb_config_reload(f.cfg, record, &c, &err), MSB_ENOTFOUND,
                 "a file that existed at load is required by a reload");
    snprintf(want, sizeof(want),
             "configuration file: cannot read %s: No such file or directory (from the options)",
             f.file);
    cr_assert_str_eq(err.message, want);
    cr_assert_eq(c.n, 0);
    cr_assert_str_eq(str(f.cfg, "log.level"), "warn");
    teardown(&f);
}

Test(config_reload, environment_secrets_and_command_line)
{
    ct_dir_t d;
    ct_dir_init(&d);
    const char *pw = ct_write(&d, "pw", "old-secret\n");
    char pwvar[200];
    snprintf(pwvar, sizeof(pwvar), "MSB_DB__PASSWORD_FILE=%s", pw);
    char level[64] = "MSB_LOG__LEVEL=warn";
    char *env[] = {pwvar, level, NULL};
    const char *argv[] = {"prog", "--http.timeout=1s", "--workers=8", NULL};
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(ct_load(&o, keys, NKEYS, argv, env, &cfg, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "db.password"), "old-secret");

    /* the secret rotates, the environment changes; the command line stays as loaded */
    FILE *fp = fopen(pw, "w");
    fputs("new-secret\n", fp);
    fclose(fp);
    snprintf(level, sizeof(level), "MSB_LOG__LEVEL=error");
    changes_t c = {0};
    cr_assert_eq(msb_config_reload(cfg, record, &c, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(c.n, 2);
    cr_assert_str_eq(c.keys[0], "db.password");
    cr_assert_str_eq(c.keys[1], "log.level");
    cr_assert_str_eq(str(cfg, "db.password"), "new-secret");
    cr_assert_str_eq(str(cfg, "log.level"), "error");
    int64_t ns;
    int64_t w;
    msb_config_get_duration(cfg, "http.timeout", &ns, NULL);
    cr_assert_eq(ns, MSB_SEC);
    msb_config_get_int(cfg, "workers", &w, NULL);
    cr_assert_eq(w, 8);

    /* a secret that vanished fails the reload and keeps the old value */
    unlink(pw);
    cr_assert_eq(msb_config_reload(cfg, record, &c, &err), MSB_ENOTFOUND);
    cr_assert_str_eq(str(cfg, "db.password"), "new-secret");
    msb_config_free(cfg);
    ct_dir_free(&d);
}

typedef struct watcher {
    int calls;
    char last[64];
    msb_config_t *cfg;
    msb_status_t nested[3];
    char seen_level[32];
} watcher_t;

static void on_change(void *user, const char *key, msb_config_change_t change)
{
    watcher_t *w = user;
    cr_assert_eq(change, MSB_CONFIG_CHANGE_APPLIED);
    w->calls++;
    snprintf(w->last, sizeof(w->last), "%s", key);
    if (w->cfg != NULL) {
        w->nested[0] = msb_config_reload(w->cfg, NULL, NULL, NULL);
        w->nested[1] = msb_config_watch(w->cfg, "", on_change, w, NULL, NULL);
        w->nested[2] = msb_config_unwatch(w->cfg, 1);
        const char *lvl = "";
        msb_config_get_string(w->cfg, "log.level", &lvl, NULL);
        snprintf(w->seen_level, sizeof(w->seen_level), "%s", lvl);
    }
}

Test(config_reload, watches)
{
    fixture_t f;
    setup(&f, "{\"log.level\": \"info\", \"http.timeout\": \"1s\"}", NULL, NULL);
    watcher_t logw = {0};
    watcher_t httpw = {0};
    watcher_t all = {0};
    uint64_t id_log = 0;
    uint64_t id_http = 0;
    msb_error_t err = MSB_ERROR_INIT;
    all.cfg = f.cfg;
    cr_assert_eq(msb_config_watch(f.cfg, "log.level", on_change, &logw, &id_log, &err), MSB_OK);
    cr_assert_eq(msb_config_watch(f.cfg, "http.", on_change, &httpw, &id_http, &err), MSB_OK);
    cr_assert_eq(msb_config_watch(f.cfg, "", on_change, &all, NULL, &err), MSB_OK);
    cr_assert_neq(id_log, id_http);

    rewrite(&f, "{\"log.level\": \"debug\", \"http.timeout\": \"1s\", \"http.listen\": \"x\"}");
    cr_assert_eq(msb_config_reload(f.cfg, NULL, NULL, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(logw.calls, 1);
    cr_assert_str_eq(logw.last, "log.level");
    cr_assert_eq(httpw.calls, 0, "http.listen needs a restart: watches hear applied changes only");
    cr_assert_eq(all.calls, 1);
    cr_assert_eq(all.nested[0], MSB_EBUSY);
    cr_assert_eq(all.nested[1], MSB_EBUSY);
    cr_assert_eq(all.nested[2], MSB_EBUSY);
    cr_assert_str_eq(all.seen_level, "debug", "callbacks see the new values");

    cr_assert_eq(msb_config_unwatch(f.cfg, id_log), MSB_OK);
    cr_assert_eq(msb_config_unwatch(f.cfg, id_log), MSB_ENOTFOUND);
    rewrite(&f, "{\"log.level\": \"warn\", \"http.timeout\": \"2s\"}");
    cr_assert_eq(msb_config_reload(f.cfg, NULL, NULL, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(logw.calls, 1);
    cr_assert_eq(httpw.calls, 1);
    cr_assert_str_eq(httpw.last, "http.timeout");
    cr_assert_eq(all.calls, 3);

    cr_assert_eq(msb_config_watch(f.cfg, NULL, on_change, NULL, NULL, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config: cfg, prefix and cb must not be NULL");
    cr_assert_eq(msb_config_watch(f.cfg, "x", NULL, NULL, NULL, &err), MSB_EINVAL);
    cr_assert_eq(msb_config_unwatch(NULL, 1), MSB_EINVAL);
    teardown(&f);
}

Test(config_reload, profile_overlay_appears_and_vanishes)
{
    ct_dir_t d;
    ct_dir_init(&d);
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/app.json", d.path);
    o.file = missing;
    o.profile = "prod";
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    /* files that did not exist at load may appear later ... */
    const char *overlay = ct_write(&d, "app.prod.json", "{\"log.level\": \"error\"}");
    cr_assert_eq(msb_config_reload(cfg, NULL, NULL, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "log.level"), "error");
    /* ... and go again, since they were optional at load */
    unlink(overlay);
    cr_assert_eq(msb_config_reload(cfg, NULL, NULL, &err), MSB_OK, "%s", err.message);
    cr_assert_str_eq(str(cfg, "log.level"), "info");
    msb_config_free(cfg);
    ct_dir_free(&d);
}

Test(config_reload, before_load)
{
    msb_config_t *cfg = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_config_new(NULL, &cfg, NULL), MSB_OK);
    cr_assert_eq(msb_config_reload(cfg, NULL, NULL, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config: not loaded; call msb_config_load first");
    cr_assert_eq(msb_config_reload(NULL, NULL, NULL, &err), MSB_EINVAL);
    msb_config_free(cfg);
}
