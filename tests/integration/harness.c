/*
 * Linked into every integration test program by tests/integration/CMakeLists.txt. The shared
 * helpers for the integration tests belong to the infrastructure work (scripts/infra); until they
 * land, the tests carry what they need themselves and this unit only satisfies the build.
 */
#include <stddef.h>

/* The size of the environment variable prefix the tests read (MSB_...). */
extern const size_t msb_it_env_prefix_len;
const size_t msb_it_env_prefix_len = sizeof("MSB_") - 1;
