/*
 * Helpers shared by the integration tests (linked into each of them as harness.c).
 * Tests read the server settings printed by `scripts/infra env` and fall back to the fixed
 * defaults; a server that cannot be reached fails the test, naming it and its log.
 */
#ifndef MSB_TEST_HARNESS_H
#define MSB_TEST_HARNESS_H

#include <criterion/criterion.h>

/* The environment variable `name`, or `fallback` when it is unset or empty. */
const char *harness_env(const char *name, const char *fallback);

/* Fail the current test: `server` could not be reached (with the detail), and where to look. */
#define harness_unreachable(server, ...)                                                           \
    cr_assert_fail(                                                                                \
        "%s is unreachable (%s): start it with `scripts/infra up %s`, see `scripts/infra "         \
        "logs %s`",                                                                                \
        server, harness_detail(__VA_ARGS__), server, server)

/* printf into a static buffer (for harness_unreachable's detail). */
const char *harness_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
