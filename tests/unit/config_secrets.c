/* KEY_file: values read from files (Kubernetes secret volumes). */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "msb/msb.h"
#include "support/config_test.h"

static const msb_config_key_t keys[] = {
    {.name = "db.password", .type = MSB_CONFIG_STRING, .flags = MSB_CONFIG_SECRET},
    {.name = "db.pin", .type = MSB_CONFIG_INT, .flags = MSB_CONFIG_SECRET},
    {.name = "port", .type = MSB_CONFIG_INT, .default_value = "80"},
    {.name = "tls.cert_file", .type = MSB_CONFIG_STRING},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Load with MSB_DB__PASSWORD_FILE=path (and extra argv); returns the status. */
static msb_status_t load_env_file(const char *path, msb_config_opts_t *o, msb_config_t **cfg,
                                  msb_error_t *err)
{
    char var[256];
    snprintf(var, sizeof(var), "MSB_DB__PASSWORD_FILE=%s", path);
    char *env[] = {var, NULL};
    return ct_load(o, keys, NKEYS, NULL, env, cfg, err);
}

static void expect_password(const char *content, size_t n, const char *want)
{
    ct_dir_t d;
    ct_dir_init(&d);
    const char *p = ct_write_n(&d, "pw", content, n);
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(load_env_file(p, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    const char *s;
    cr_assert_eq(msb_config_get_string(cfg, "db.password", &s, NULL), MSB_OK);
    cr_assert_str_eq(s, want);
    char src[256];
    char expect[256];
    msb_config_layer_t l;
    msb_config_get_source(cfg, "db.password", &l, src, sizeof(src), NULL);
    snprintf(expect, sizeof(expect), "MSB_DB__PASSWORD_FILE (file %s)", p);
    cr_assert_str_eq(src, expect);
    cr_assert_eq(l, MSB_CONFIG_LAYER_ENV);
    msb_config_free(cfg);
    ct_dir_free(&d);
}

Test(config_secrets, trailing_newlines_are_trimmed)
{
    expect_password("hunter2", 7, "hunter2");
    expect_password("hunter2\n", 8, "hunter2");
    expect_password("hunter2\r\n", 9, "hunter2");
    expect_password("hunter2\n\n", 9, "hunter2");
    expect_password(" two words \n", 12, " two words ");
    expect_password("line1\nline2\n", 12, "line1\nline2");
}

static void expect_failure(const char *content, size_t n, size_t max, msb_status_t code,
                           const char *fmt)
{
    ct_dir_t d;
    ct_dir_init(&d);
    const char *p = ct_write_n(&d, "pw", content, n);
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.secret_max = max;
    cr_assert_eq(load_env_file(p, &o, &cfg, &err), code, "%s", err.message);
    char want[512];
    const char *at = strstr(fmt, "%s");
    snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - fmt), fmt, p, at + 2);
    cr_assert_str_eq(err.message, want);
    ct_dir_free(&d);
}

Test(config_secrets, bad_files)
{
    expect_failure("", 0, 64, MSB_EINVAL, "db.password: %s is empty (from MSB_DB__PASSWORD_FILE)");
    expect_failure("\n\r\n", 3, 64, MSB_EINVAL,
                   "db.password: %s is empty (from MSB_DB__PASSWORD_FILE)");
    expect_failure("123456789", 9, 8, MSB_ETOOBIG,
                   "db.password: %s is larger than 8 bytes (from MSB_DB__PASSWORD_FILE)");
    expect_failure("a\0b", 3, 64, MSB_EINVAL,
                   "db.password: %s contains a NUL byte (from MSB_DB__PASSWORD_FILE)");
    /* exactly the limit is fine, newline included */
    ct_dir_t d;
    ct_dir_init(&d);
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.secret_max = 8;
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(load_env_file(ct_write(&d, "pw", "1234567\n"), &o, &cfg, &err), MSB_OK, "%s",
                 err.message);
    msb_config_free(cfg);
    ct_dir_free(&d);
}

Test(config_secrets, missing_file_and_directory)
{
    ct_dir_t d;
    ct_dir_init(&d);
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    char missing[128];
    char want[256];
    snprintf(missing, sizeof(missing), "%s/absent", d.path);
    cr_assert_eq(load_env_file(missing, NULL, &cfg, &err), MSB_ENOTFOUND);
    snprintf(want, sizeof(want),
             "db.password: cannot read %s: No such file or directory (from "
             "MSB_DB__PASSWORD_FILE)",
             missing);
    cr_assert_str_eq(err.message, want);
    cr_assert_eq(load_env_file(d.path, NULL, &cfg, &err), MSB_EIO);
    snprintf(want, sizeof(want),
             "db.password: cannot read %s: it is a directory (from MSB_DB__PASSWORD_FILE)", d.path);
    cr_assert_str_eq(err.message, want);
    cr_assert_eq(load_env_file("", NULL, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "db.password_file: expected a file path, got an empty value "
                                  "(from MSB_DB__PASSWORD_FILE)");
    ct_dir_free(&d);
}

Test(config_secrets, typed_values_and_secret_messages)
{
    ct_dir_t d;
    ct_dir_init(&d);
    const char *port = ct_write(&d, "port", "8080\n");
    const char *pin = ct_write(&d, "pin", "12ab\n");
    const char *badport = ct_write(&d, "badport", "80x");
    char a1[160];
    char a2[160];
    snprintf(a1, sizeof(a1), "--port_file=%s", port);
    const char *argv[] = {"prog", a1, NULL};
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(ct_load(NULL, keys, NKEYS, argv, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    int64_t v;
    cr_assert_eq(msb_config_get_int(cfg, "port", &v, NULL), MSB_OK);
    cr_assert_eq(v, 8080);
    msb_config_free(cfg);

    /* a secret's invalid content is never echoed */
    snprintf(a2, sizeof(a2), "--db.pin_file=%s", pin);
    const char *argv2[] = {"prog", a2, NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, argv2, NULL, &cfg, &err), MSB_EINVAL);
    char want[256];
    snprintf(want, sizeof(want),
             "db.pin: invalid value (not shown: the key is secret); expected an integer (from "
             "--db.pin_file, file %s)",
             pin);
    cr_assert_str_eq(err.message, want);
    cr_assert_null(strstr(err.message, "12ab"));
    char *env[] = {"MSB_DB__PIN=99zz", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, NULL, env, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "db.pin: invalid value (not shown: the key is secret); expected "
                                  "an integer (from MSB_DB__PIN)");

    /* other keys' invalid content is quoted */
    snprintf(a1, sizeof(a1), "--port_file=%s", badport);
    cr_assert_eq(ct_load(NULL, keys, NKEYS, argv, NULL, &cfg, &err), MSB_EINVAL);
    snprintf(want, sizeof(want),
             "port: expected an integer, got \"80x\" (from --port_file, file %s)", badport);
    cr_assert_str_eq(err.message, want);
    ct_dir_free(&d);
}

Test(config_secrets, relative_paths)
{
    ct_dir_t d;
    ct_dir_init(&d);
    ct_write(&d, "pw", "from-dir\n");
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.file = ct_write(&d, "app.json", "{\"db\": {\"password_file\": \"pw\"}}");
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    const char *s;
    msb_config_get_string(cfg, "db.password", &s, NULL);
    cr_assert_str_eq(s, "from-dir", "relative to the configuration file's directory");
    char src[256];
    char want[256];
    msb_config_get_source(cfg, "db.password", NULL, src, sizeof(src), NULL);
    snprintf(want, sizeof(want), "%s:1 (file %s/pw)", o.file, d.path);
    cr_assert_str_eq(src, want);
    msb_config_free(cfg);

    /* on the command line, relative to the working directory */
    char cwd[512];
    cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
    cr_assert_eq(chdir(d.path), 0);
    const char *argv[] = {"prog", "--db.password_file", "pw", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, argv, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    msb_config_get_string(cfg, "db.password", &s, NULL);
    cr_assert_str_eq(s, "from-dir");
    msb_config_free(cfg);
    cr_assert_eq(chdir(cwd), 0);
    ct_dir_free(&d);
}

Test(config_secrets, both_forms_and_layers)
{
    ct_dir_t d;
    ct_dir_init(&d);
    const char *p = ct_write(&d, "pw", "file-secret");
    char var[160];
    snprintf(var, sizeof(var), "MSB_DB__PASSWORD_FILE=%s", p);
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;

    char *both[] = {"MSB_DB__PASSWORD=plain", var, NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, NULL, both, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "db.password and db.password_file are both set; set only one "
                                  "(at MSB_DB__PASSWORD_FILE)");

    /* in different layers the higher one wins, whichever form it uses */
    char *env[] = {var, NULL};
    const char *argv[] = {"prog", "--db.password=from-args", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, argv, env, &cfg, &err), MSB_OK, "%s", err.message);
    const char *s;
    msb_config_get_string(cfg, "db.password", &s, NULL);
    cr_assert_str_eq(s, "from-args");
    msb_config_free(cfg);
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.file = ct_write(&d, "app.json", "{\"db.password\": \"from-file\"}");
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, env, &cfg, &err), MSB_OK, "%s", err.message);
    msb_config_get_string(cfg, "db.password", &s, NULL);
    cr_assert_str_eq(s, "file-secret");
    msb_config_free(cfg);

    o.file = ct_write(&d, "bad.json", "{\"db\": {\"password_file\": 5}}");
    cr_assert_eq(ct_load(&o, keys, NKEYS, NULL, NULL, &cfg, &err), MSB_EINVAL);
    char want[256];
    snprintf(want, sizeof(want), "db.password_file: expected a file path string (from %s:1)",
             o.file);
    cr_assert_str_eq(err.message, want);
    ct_dir_free(&d);
}

Test(config_secrets, declared_file_keys_and_meta_keys)
{
    /* a key that is itself declared with a _file name is an ordinary value */
    const char *argv[] = {"prog", "--tls.cert_file=/etc/tls/cert.pem", NULL};
    msb_config_t *cfg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(ct_load(NULL, keys, NKEYS, argv, NULL, &cfg, &err), MSB_OK, "%s", err.message);
    const char *s;
    msb_config_get_string(cfg, "tls.cert_file", &s, NULL);
    cr_assert_str_eq(s, "/etc/tls/cert.pem");
    msb_config_free(cfg);

    const char *meta[] = {"prog", "--config_file=/x", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, meta, NULL, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "config cannot be read from a file; set config itself (at "
                                  "--config_file)");
    char *env[] = {"MSB_PROFILE_FILE=/x", NULL};
    cr_assert_eq(ct_load(NULL, keys, NKEYS, NULL, env, &cfg, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "profile cannot be read from a file; set profile itself (at "
                                  "MSB_PROFILE_FILE)");
}
