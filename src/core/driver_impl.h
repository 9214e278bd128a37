/* Shared between driver_common.c and the two lookups (driver_dl.c, driver_static.c). */
#ifndef MSB_CORE_DRIVER_IMPL_H
#define MSB_CORE_DRIVER_IMPL_H

#include "core/driver.h"
#include "core/error.h"

typedef struct msb__backend_info {
    const char *name;   /* folder and plugin name: libmsb-<name>.so */
    const char *option; /* the CMake option that builds it */
    const char *title;  /* for messages */
    bool built;
} msb__backend_info_t;

MSB_INTERNAL const msb__backend_info_t *msb__backend_info(const char *backend);
/* MSB_OK when the backend is known and built, else MSB_ENOTSUP with the option to turn on. */
MSB_INTERNAL msb_status_t msb__backend_check(const char *backend, msb_error_t *err);

#endif
