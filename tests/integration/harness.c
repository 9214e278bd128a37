/* Shared helpers of the integration tests. */
#include <stdlib.h>

#include "integration/harness.h"

const char *msb_it_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : fallback;
}
