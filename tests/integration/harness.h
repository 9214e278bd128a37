/* Helpers for the integration tests (tests/integration/<server>_*.c), compiled into each of them.
 *
 * The servers are the real ones that `scripts/infra up` runs on 127.0.0.1 (docs/operations.md).
 * A test reads where they are from the environment, with the same defaults `scripts/infra env`
 * prints, so it also runs against remote servers:
 *
 *     const char *url = msb_it_env("MSB_REDIS__URL", "redis://127.0.0.1:56379/0");
 *
 * A test that cannot reach its server FAILS (it never skips), naming the server and where to look:
 *
 *     redisContext *c = redisConnectWithTimeout(host, port, tv);
 *     MSB_IT_REQUIRE("redis", c != NULL && c->err == 0, "connect to %s: %s", url, ...);
 *
 * Fault tests (<server>_fault_*.c: label `fault`, a ctest RESOURCE_LOCK on <server>, run one at a
 * time by scripts/test) stop and start servers with `scripts/infra` from the source tree named by
 * MSB_SOURCE_DIR (ctest sets it):
 *
 *     MSB_IT_INFRA("kill", "redis");    // SIGKILL, as a crash would
 *     MSB_IT_INFRA("start", "redis");   // returns once the server answers again
 *
 * and restore the server in a Criterion .fini with msb_it_infra_restore(), so that a failing
 * fault test never leaves it down for the tests after it.
 *
 * Everything here runs in the test's own process; nothing is thread-safe unless it says so.
 */
#ifndef MSB_IT_HARNESS_H
#define MSB_IT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MSB_IT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MSB_IT_NORETURN     __attribute__((noreturn))
#else
#define MSB_IT_PRINTF(f, a)
#define MSB_IT_NORETURN
#endif

/** Reads a setting: the value of environment variable @p name, or @p fallback when it is unset
 *  or empty. Returns a borrowed string (the environment's, or @p fallback). */
const char *msb_it_env(const char *name, const char *fallback);

/** Fails the current test (and ends it) because @p server cannot be reached: the message names
 *  the server, the test's source location, the detail formatted from @p fmt, and the commands
 *  to bring it up and to read its log (`scripts/infra up|logs <server>`). Use MSB_IT_REQUIRE. */
MSB_IT_NORETURN void msb_it_unreachable(const char *file, int line, const char *server,
                                        const char *fmt, ...) MSB_IT_PRINTF(4, 5);

/** Ends the test with msb_it_unreachable() unless @p cond holds. */
#define MSB_IT_REQUIRE(server, cond, ...)                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            msb_it_unreachable(__FILE__, __LINE__, (server), __VA_ARGS__);                         \
        }                                                                                          \
    } while (0)

/** Runs `$MSB_SOURCE_DIR/scripts/infra <verb> <server>` and waits for it (for `start` and
 *  `restart` that is until the server answers again). Returns its exit status (0 on success),
 *  or -1 with a message on stderr when it could not be run (MSB_SOURCE_DIR unset, ...). */
int msb_it_infra_run(const char *verb, const char *server);

/** Like msb_it_infra_run(), but fails (and ends) the test when the command does not succeed. */
void msb_it_infra(const char *file, int line, const char *verb, const char *server);
#define MSB_IT_INFRA(verb, server) msb_it_infra(__FILE__, __LINE__, (verb), (server))

/** For a fault test's .fini: `scripts/infra start <server>` whatever happened, so that the next
 *  test finds it up. Reports a failure on stderr, never fails the test. */
void msb_it_infra_restore(const char *server);

/** Milliseconds on the monotonic clock. */
int64_t msb_it_now_ms(void);

/** A condition to wait for: returns true once it holds. */
typedef bool (*msb_it_probe_fn)(void *user);

/** Calls @p probe (with @p user) every @p interval_ms until it returns true (returns true) or
 *  @p timeout_ms have passed (returns false). This waits on a condition; it is not a sleep. */
bool msb_it_wait_until(msb_it_probe_fn probe, void *user, int timeout_ms, int interval_ms);

/** Writes "<prefix>_<pid>_<counter>_<8 random hex digits>" into @p buf (@p len bytes): a name for
 *  a table, key, queue or topic that no other test run (here or in parallel) uses. */
void msb_it_unique(char *buf, size_t len, const char *prefix);

/** The parts of `scheme://[user[:password]@]host[:port][/path]`. */
typedef struct msb_it_url {
    char scheme[16];
    char user[64];
    char password[64];
    char host[256];
    int port;       /**< -1 when the URL has none */
    char path[256]; /**< after the '/' that follows the authority; "" when none */
} msb_it_url_t;

/** Splits @p url (no percent-decoding; IPv6 hosts in brackets). Returns false for a URL of
 *  another shape or with a part too long for its field. */
bool msb_it_url_parse(const char *url, msb_it_url_t *out);

/** Runs @p argv (argv[0] looked up on PATH) with @p input (may be NULL) on its standard input and
 *  its standard output and error captured into @p out (NUL-terminated, truncated to @p out_len).
 *  Returns its exit status, or -1 when it could not be run or was killed by a signal. */
int msb_it_run(const char *const argv[], const char *input, char *out, size_t out_len);

/** A tiny HTTP/1.1 server on 127.0.0.1 (an ephemeral port) answering every request with one
 *  fixed body, on a thread of its own: a scrape target for Prometheus, an upstream for nginx. */
typedef struct msb_it_http_server msb_it_http_server_t;

/** Starts a server answering 200 with @p body and @p content_type; NULL when it cannot. The
 *  strings are copied. Free with msb_it_http_server_stop(). */
msb_it_http_server_t *msb_it_http_server_start(const char *body, const char *content_type);

/** The port the server listens on. */
int msb_it_http_server_port(const msb_it_http_server_t *s);

/** How many requests it has answered (safe from any thread). */
long msb_it_http_server_hits(const msb_it_http_server_t *s);

/** Stops the server and frees it; NULL is a no-op. */
void msb_it_http_server_stop(msb_it_http_server_t *s);

/** Registers a Prometheus scrape target: writes `<name>.json` (file_sd) into
 *  $MSB_TEST__PROMETHEUS__TARGETS_DIR for 127.0.0.1:@p port with label job=@p job, atomically
 *  (@p name and @p job: letters, digits, '_' and '-'; msb_it_unique() makes such names).
 *  Prometheus picks it up within about a second and scrapes it every second. Returns false
 *  (with a message on stderr) when the file cannot be written. */
bool msb_it_prom_target_add(const char *name, int port, const char *job);

/** Removes the target file written by msb_it_prom_target_add(). */
void msb_it_prom_target_remove(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* MSB_IT_HARNESS_H */
