/* The client's configuration keys: the table is valid, and only what an operator set changes
 * the options. */
#include <criterion/criterion.h>
#include <string.h>

#include "msb/client.h"

static msb_config_t *load(int argc, const char *const *argv, char **envp)
{
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    o.envp = envp;
    msb_config_t *cfg = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_config_new(&o, &cfg, &err), MSB_OK, "%s", err.message);
    size_t n = 0;
    size_t elem = 0;
    const msb_config_key_t *keys = msb_client_config_keys(&n, &elem);
    cr_assert_eq(n, 13);
    cr_assert_eq(elem, sizeof(msb_config_key_t));
    cr_assert_eq(msb_config_add_keys(cfg, keys, n, elem, &err), MSB_OK, "%s", err.message);
    cr_assert_eq(msb_config_load(cfg, argc, argv, &err), MSB_OK, "%s", err.message);
    return cfg;
}

Test(client_config, defaults_change_nothing)
{
    const char *argv[] = {"prog"};
    char *env[] = {NULL};
    msb_config_t *cfg = load(1, argv, env);
    msb_client_opts_t co = MSB_CLIENT_OPTS_INIT;
    co.max_connections = 999; /* set in code */
    msb_client_upstream_opts_t uo = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    uo.timeout_ns = 3 * MSB_SEC;
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    cr_assert_eq(msb_client_config_apply(cfg, &co, &uo, &ro, NULL), MSB_OK);
    cr_assert_eq(co.max_connections, 999);
    cr_assert_eq(uo.timeout_ns, 3 * MSB_SEC);
    cr_assert_eq(ro.max_attempts, 3);
    cr_assert_null(co.deadline_header);
    msb_config_free(cfg);
}

Test(client_config, operator_settings_apply)
{
    const char *argv[] = {"prog",
                          "--client.timeout=250ms",
                          "--client.max_connections=12",
                          "--client.max_response_size=64KiB",
                          "--client.retry.max_attempts=5",
                          "--client.retry.initial_backoff=20ms",
                          "--client.idle_timeout=2m",
                          "--client.max_redirects=3"};
    char *env[] = {"MSB_CLIENT__DEADLINE_HEADER=X-Deadline-Ms",
                   "MSB_CLIENT__CONNECT_TIMEOUT=1s",
                   "MSB_CLIENT__CALL_TIMEOUT=30s",
                   "MSB_CLIENT__MAX_HOST_CONNECTIONS=4",
                   "MSB_CLIENT__MAX_IDLE_CONNECTIONS=2",
                   "MSB_CLIENT__RETRY__MAX_BACKOFF=3s",
                   NULL};
    msb_config_t *cfg = load(8, argv, env);
    msb_client_opts_t co = MSB_CLIENT_OPTS_INIT;
    msb_client_upstream_opts_t uo = MSB_CLIENT_UPSTREAM_OPTS_INIT;
    msb_retry_opts_t ro = MSB_RETRY_OPTS_INIT;
    cr_assert_eq(msb_client_config_apply(cfg, &co, &uo, &ro, NULL), MSB_OK);
    cr_assert_eq(uo.timeout_ns, 250 * MSB_MSEC);
    cr_assert_eq(uo.connect_timeout_ns, MSB_SEC);
    cr_assert_eq(uo.call_timeout_ns, 30 * MSB_SEC);
    cr_assert_eq(uo.max_response_bytes, 65536);
    cr_assert_eq(uo.max_redirects, 3);
    cr_assert_eq(co.max_connections, 12);
    cr_assert_eq(co.max_host_connections, 4);
    cr_assert_eq(co.max_idle_connections, 2);
    cr_assert_eq(co.idle_timeout_ns, 120 * MSB_SEC);
    cr_assert_str_eq(co.deadline_header, "X-Deadline-Ms");
    cr_assert_eq(ro.max_attempts, 5);
    cr_assert_eq(ro.initial_backoff_ns, 20 * MSB_MSEC);
    cr_assert_eq(ro.max_backoff_ns, 3 * MSB_SEC);
    /* each part is optional */
    cr_assert_eq(msb_client_config_apply(cfg, NULL, NULL, NULL, NULL), MSB_OK);
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_client_config_apply(NULL, &co, NULL, NULL, &err), MSB_EINVAL);
    cr_assert_str_eq(err.message, "client: configuration must not be NULL");
    /* the options made from it are accepted */
    uo.retry = &ro;
    msb_client_upstream_t *u = NULL;
    cr_assert_eq(msb_client_upstream_new(&uo, &u, &err), MSB_OK, "%s", err.message);
    msb_client_t *c = NULL;
    cr_assert_eq(msb_client_new(&co, &c, &err), MSB_OK, "%s", err.message);
    msb_client_free(c);
    msb_client_upstream_free(u);
    msb_config_free(cfg);
}

Test(client_config, out_of_range_values_fail_at_load)
{
    msb_config_opts_t o = MSB_CONFIG_OPTS_INIT;
    char *env[] = {NULL};
    o.envp = env;
    msb_config_t *cfg = NULL;
    cr_assert_eq(msb_config_new(&o, &cfg, NULL), MSB_OK);
    size_t n = 0;
    size_t elem = 0;
    const msb_config_key_t *keys = msb_client_config_keys(&n, &elem);
    cr_assert_eq(msb_config_add_keys(cfg, keys, n, elem, NULL), MSB_OK);
    const char *argv[] = {"prog", "--client.max_connections=0"};
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_config_load(cfg, 2, argv, &err), MSB_ERANGE);
    cr_assert_str_eq(err.message, "client.max_connections: 0 is below the minimum 1 (from "
                                  "--client.max_connections)");
    msb_config_free(cfg);
}
