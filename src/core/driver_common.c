/* What the shared and static driver lookups have in common: the list of backends. */
#include <string.h>

#include "core/driver_impl.h"
#include "msb_build_config.h"

static const msb__backend_info_t backends[] = {
    {"postgres", "MSB_WITH_POSTGRES", "PostgreSQL", MSB_HAVE_POSTGRES},
    {"mongo", "MSB_WITH_MONGO", "MongoDB", MSB_HAVE_MONGO},
    {"redis", "MSB_WITH_REDIS", "Redis", MSB_HAVE_REDIS},
    {"rabbitmq", "MSB_WITH_RABBITMQ", "RabbitMQ", MSB_HAVE_RABBITMQ},
    {"kafka", "MSB_WITH_KAFKA", "Kafka", MSB_HAVE_KAFKA},
    {"curl", "MSB_WITH_CURL", "libcurl", MSB_HAVE_CURL},
    {"sqlite", "MSB_WITH_SQLITE", "SQLite", MSB_HAVE_SQLITE},
};

const msb__backend_info_t *msb__backend_info(const char *backend)
{
    for (size_t i = 0; i < MSB_ARRAY_LEN(backends); i++) {
        if (strcmp(backends[i].name, backend) == 0) {
            return &backends[i];
        }
    }
    return NULL;
}

bool msb__backend_built(const char *backend)
{
    const msb__backend_info_t *info = msb__backend_info(backend);
    return info != NULL && info->built;
}

msb_status_t msb__backend_check(const char *backend, msb_error_t *err)
{
    const msb__backend_info_t *info = msb__backend_info(backend);
    if (info == NULL) {
        return msb__err(err, MSB_ENOTSUP, "unknown backend \"%s\"", backend);
    }
    if (!info->built) {
        return msb__err(err, MSB_ENOTSUP,
                        "this libmsb was built without %s support: configure it with -D%s=ON",
                        info->title, info->option);
    }
    return MSB_OK;
}
