/* Shared helpers of the integration tests. */
#ifndef MSB_IT_HARNESS_H
#define MSB_IT_HARNESS_H

/* The value of environment variable `name`, or `fallback` when it is unset or empty (the
 * variables and defaults printed by `scripts/infra env`). */
const char *msb_it_env(const char *name, const char *fallback);

#endif
