#include <criterion/criterion.h>
#include <string.h>

#include "core/driver.h"
#include "msb_build_config.h"

Test(core_driver, unknown_backend_is_enotsup)
{
    msb_error_t err = MSB_ERROR_INIT;
    const void *drv = NULL;
    cr_assert_eq(msb__driver_get("events", "carrierpigeon", &drv, &err), MSB_ENOTSUP);
    cr_assert_not_null(strstr(err.message, "carrierpigeon"), "%s", err.message);
    cr_assert_null(drv);
}

Test(core_driver, missing_driver_in_a_backend_names_it)
{
    msb_error_t err = MSB_ERROR_INIT;
    const void *drv = NULL;
    msb_status_t rc = msb__driver_get("nosuchfamily", "sqlite", &drv, &err);
#if MSB_HAVE_SQLITE
    /* Either the plugin is not built yet (no sqlite sources) or it lacks this family. */
    cr_assert(rc == MSB_ENOTSUP || rc == MSB_EUNAVAIL, "rc %d: %s", rc, err.message);
    cr_assert(strstr(err.message, "sqlite") != NULL, "%s", err.message);
#else
    cr_assert_eq(rc, MSB_ENOTSUP);
    cr_assert_not_null(strstr(err.message, "-DMSB_WITH_SQLITE=ON"), "%s", err.message);
#endif
    cr_assert_null(drv);
}

Test(core_driver, backend_built_matches_options)
{
    cr_assert_eq(msb__backend_built("kafka"), MSB_HAVE_KAFKA == 1);
    cr_assert_eq(msb__backend_built("postgres"), MSB_HAVE_POSTGRES == 1);
    cr_assert_not(msb__backend_built("nope"));
}
