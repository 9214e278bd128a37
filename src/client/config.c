/* The client's configuration keys (docs/configuration.md, "client"). */
#include <string.h>

#include "client/internal.h"
#include "core/error.h"

static const msb_config_key_t keys[] = {
    {.name = "client.connect_timeout",
     .type = MSB_CONFIG_DURATION,
     .default_value = "2s",
     .min = "1ms",
     .max = "24h",
     .description = "Bound on DNS, TCP and TLS set-up of one outbound HTTP attempt."},
    {.name = "client.timeout",
     .type = MSB_CONFIG_DURATION,
     .default_value = "10s",
     .min = "1ms",
     .max = "24h",
     .description = "Bound on one outbound HTTP attempt, connection included."},
    {.name = "client.call_timeout",
     .type = MSB_CONFIG_DURATION,
     .default_value = "0s",
     .min = "0s",
     .max = "24h",
     .description = "Bound on a whole outbound call, retries and backoff included; 0: none."},
    {.name = "client.max_response_size",
     .type = MSB_CONFIG_SIZE,
     .default_value = "8MiB",
     .description = "Largest response (headers and body) accepted; 0: no limit."},
    {.name = "client.max_redirects",
     .type = MSB_CONFIG_INT,
     .default_value = "0",
     .min = "0",
     .max = "50",
     .description = "Redirects followed; 0: a 3xx is the response."},
    {.name = "client.max_connections",
     .type = MSB_CONFIG_INT,
     .default_value = "256",
     .min = "1",
     .max = "100000",
     .description = "Open outbound connections per client (calls at once, blocking client)."},
    {.name = "client.max_host_connections",
     .type = MSB_CONFIG_INT,
     .default_value = "64",
     .min = "1",
     .max = "100000",
     .description = "Open outbound connections per host and port."},
    {.name = "client.max_idle_connections",
     .type = MSB_CONFIG_INT,
     .default_value = "64",
     .min = "1",
     .max = "100000",
     .description = "Idle connections a loop client keeps for reuse."},
    {.name = "client.idle_timeout",
     .type = MSB_CONFIG_DURATION,
     .default_value = "60s",
     .min = "1s",
     .max = "24h",
     .description = "Idle connections older than this are closed instead of reused."},
    {.name = "client.deadline_header",
     .type = MSB_CONFIG_STRING,
     .default_value = MSB_CLIENT_DEADLINE_HEADER,
     .description = "Header carrying the remaining time in milliseconds; empty: not sent."},
    {.name = "client.retry.max_attempts",
     .type = MSB_CONFIG_INT,
     .default_value = "3",
     .min = "1",
     .max = "1000",
     .description = "Attempts per outbound call, the first included."},
    {.name = "client.retry.initial_backoff",
     .type = MSB_CONFIG_DURATION,
     .default_value = "100ms",
     .min = "1ms",
     .max = "1h",
     .description = "Backoff before the first retry (then doubled, with full jitter)."},
    {.name = "client.retry.max_backoff",
     .type = MSB_CONFIG_DURATION,
     .default_value = "10s",
     .min = "1ms",
     .max = "1h",
     .description = "Longest backoff between two attempts."},
};

const msb_config_key_t *msb_client_config_keys(size_t *count, size_t *elem_size)
{
    if (count != NULL) {
        *count = MSB_ARRAY_LEN(keys);
    }
    if (elem_size != NULL) {
        *elem_size = sizeof(keys[0]);
    }
    return keys;
}

/* Whether a layer above the defaults set the key; a missing key is not an error here. */
static bool is_set(const msb_config_t *cfg, const char *key)
{
    msb_config_layer_t layer = MSB_CONFIG_LAYER_NONE;
    if (msb_config_get_source(cfg, key, &layer, NULL, 0, NULL) != MSB_OK) {
        return false;
    }
    return layer > MSB_CONFIG_LAYER_DEFAULT;
}

static msb_status_t get_ns(const msb_config_t *cfg, const char *key, uint64_t *out,
                           msb_error_t *err)
{
    if (!is_set(cfg, key)) {
        return MSB_OK;
    }
    int64_t v = 0;
    msb_status_t rc = msb_config_get_duration(cfg, key, &v, err);
    if (rc == MSB_OK) {
        *out = v < 0 ? 0 : (uint64_t)v;
    }
    return rc;
}

static msb_status_t get_u32(const msb_config_t *cfg, const char *key, uint32_t *out,
                            msb_error_t *err)
{
    if (!is_set(cfg, key)) {
        return MSB_OK;
    }
    int64_t v = 0;
    msb_status_t rc = msb_config_get_int(cfg, key, &v, err);
    if (rc == MSB_OK) {
        *out = v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    }
    return rc;
}

static msb_status_t apply_client(const msb_config_t *cfg, msb_client_opts_t *o, msb_error_t *err)
{
    msb_status_t rc = get_u32(cfg, "client.max_connections", &o->max_connections, err);
    if (rc == MSB_OK) {
        rc = get_u32(cfg, "client.max_host_connections", &o->max_host_connections, err);
    }
    if (rc == MSB_OK) {
        rc = get_u32(cfg, "client.max_idle_connections", &o->max_idle_connections, err);
    }
    if (rc == MSB_OK) {
        rc = get_ns(cfg, "client.idle_timeout", &o->idle_timeout_ns, err);
    }
    if (rc == MSB_OK && is_set(cfg, "client.deadline_header")) {
        rc = msb_config_get_string(cfg, "client.deadline_header", &o->deadline_header, err);
    }
    return rc;
}

static msb_status_t apply_upstream(const msb_config_t *cfg, msb_client_upstream_opts_t *o,
                                   msb_error_t *err)
{
    msb_status_t rc = get_ns(cfg, "client.connect_timeout", &o->connect_timeout_ns, err);
    if (rc == MSB_OK) {
        rc = get_ns(cfg, "client.timeout", &o->timeout_ns, err);
    }
    if (rc == MSB_OK) {
        rc = get_ns(cfg, "client.call_timeout", &o->call_timeout_ns, err);
    }
    if (rc == MSB_OK && is_set(cfg, "client.max_response_size")) {
        rc = msb_config_get_size(cfg, "client.max_response_size", &o->max_response_bytes, err);
    }
    if (rc == MSB_OK) {
        rc = get_u32(cfg, "client.max_redirects", &o->max_redirects, err);
    }
    return rc;
}

static msb_status_t apply_retry(const msb_config_t *cfg, msb_retry_opts_t *o, msb_error_t *err)
{
    msb_status_t rc = get_u32(cfg, "client.retry.max_attempts", &o->max_attempts, err);
    if (rc == MSB_OK) {
        rc = get_ns(cfg, "client.retry.initial_backoff", &o->initial_backoff_ns, err);
    }
    if (rc == MSB_OK) {
        rc = get_ns(cfg, "client.retry.max_backoff", &o->max_backoff_ns, err);
    }
    return rc;
}

msb_status_t msb_client_config_apply(const msb_config_t *cfg, msb_client_opts_t *copts,
                                     msb_client_upstream_opts_t *uopts, msb_retry_opts_t *ropts,
                                     msb_error_t *err)
{
    if (cfg == NULL) {
        return msb__err(err, MSB_EINVAL, "client: configuration must not be NULL");
    }
    msb_status_t rc = MSB_OK;
    if (copts != NULL) {
        rc = apply_client(cfg, copts, err);
    }
    if (rc == MSB_OK && uopts != NULL) {
        rc = apply_upstream(cfg, uopts, err);
    }
    if (rc == MSB_OK && ropts != NULL) {
        rc = apply_retry(cfg, ropts, err);
    }
    return rc;
}
