/*
 * The schema the config fuzz targets load against: every type, bounds, choices, a secret, nested
 * sections. Each KEY_file is declared as an ordinary key too, so no input makes the loader read
 * a file named by the fuzzer (/dev/stdin would block the run).
 */
#ifndef MSB_FUZZ_CONFIG_SCHEMA_H
#define MSB_FUZZ_CONFIG_SCHEMA_H

#include "msb/config.h"

static const msb_config_key_t fuzz_keys[] = {
    {.name = "http.listen", .type = MSB_CONFIG_STRING, .default_value = "127.0.0.1:8080"},
    {.name = "http.listen_file", .type = MSB_CONFIG_STRING},
    {.name = "http.timeout",
     .type = MSB_CONFIG_DURATION,
     .default_value = "5s",
     .min = "1ms",
     .max = "10m",
     .flags = MSB_CONFIG_RELOADABLE},
    {.name = "http.timeout_file", .type = MSB_CONFIG_STRING},
    {.name = "http.max_body", .type = MSB_CONFIG_SIZE, .default_value = "1MiB", .min = "1KiB"},
    {.name = "http.max_body_file", .type = MSB_CONFIG_STRING},
    {.name = "db.read_replica.dsn", .type = MSB_CONFIG_STRING},
    {.name = "db.read_replica.dsn_file", .type = MSB_CONFIG_STRING},
    {.name = "db.password", .type = MSB_CONFIG_STRING, .flags = MSB_CONFIG_SECRET},
    {.name = "db.password_file", .type = MSB_CONFIG_STRING},
    {.name = "log.level",
     .type = MSB_CONFIG_STRING,
     .default_value = "info",
     .choices = "debug|info|warn|error"},
    {.name = "log.level_file", .type = MSB_CONFIG_STRING},
    {.name = "workers", .type = MSB_CONFIG_INT, .default_value = "4", .min = "1", .max = "1024"},
    {.name = "workers_file", .type = MSB_CONFIG_STRING},
    {.name = "ratio", .type = MSB_CONFIG_DOUBLE, .default_value = "0.5", .min = "0", .max = "1"},
    {.name = "ratio_file", .type = MSB_CONFIG_STRING},
    {.name = "debug", .type = MSB_CONFIG_BOOL, .default_value = "false"},
    {.name = "debug_file", .type = MSB_CONFIG_STRING},
    {.name = "cors.origins", .type = MSB_CONFIG_LIST},
    {.name = "cors.origins_file", .type = MSB_CONFIG_STRING},
};

#endif
