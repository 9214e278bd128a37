/*
 * Backends are loaded on demand.
 *
 * Code that needs a client library (libpq, hiredis, librdkafka, …) lives in a folder named after
 * its backend, `src/<family>/<backend>/`, and is built into that backend's plugin,
 * libmsb-<backend>.so, which links the client library; the core libmsb.so does not. Each such
 * folder defines one function
 *
 *     MSB_INTERNAL const void *msb__<family>_<backend>_driver(void);
 *
 * returning the family's driver table (a struct declared by the family, e.g. src/events/driver.h).
 * The family finds it with msb__driver_get(): from the plugin beside libmsb.so (or in
 * $MSB_PLUGIN_DIR) in the shared build; from a table generated at build time in the static
 * library, which contains every backend. A program therefore pays for a client library only when
 * its configuration names that backend (the footprint rule of docs/architecture.md).
 *
 * Backends: postgres, mongo, redis, rabbitmq, kafka, curl, sqlite.
 */
#ifndef MSB_CORE_DRIVER_H
#define MSB_CORE_DRIVER_H

#include "core/common.h"

/*
 * Find the driver of `family` for `backend`. Returns MSB_OK and *out, or MSB_ENOTSUP (the build
 * left the backend out, naming the CMake option that brings it in; or the backend is unknown) or
 * MSB_EUNAVAIL (the plugin could not be loaded, with the loader's message).
 * Thread-safe; a loaded plugin stays loaded until the process exits.
 */
MSB_INTERNAL msb_status_t msb__driver_get(const char *family, const char *backend, const void **out,
                                          msb_error_t *err);

/* Whether this build includes the backend (its MSB_WITH_<NAME> option was ON). */
MSB_INTERNAL bool msb__backend_built(const char *backend);

#endif
