/* The msb-config command-line tool, run from the build tree. */
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/config_test.h"

/* Run the tool with args; capture stdout and stderr together; return the exit status. */
static int run(const char *const *args, char *out, size_t size)
{
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    cr_assert_gt(n, 0);
    self[n] = '\0';
    char tool[1200];
    snprintf(tool, sizeof(tool), "%s/../../src/msb-config", dirname(self));
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        const char *argv[16] = {tool};
        for (int i = 0; args[i] != NULL && i < 14; i++) {
            argv[i + 1] = args[i];
        }
        execv(tool, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < size && (r = read(fds[0], out + len, size - 1 - len)) > 0) {
        len += (size_t)r;
    }
    out[len] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(config_tool, check)
{
    ct_dir_t d;
    ct_dir_init(&d);
    const char *good =
        ct_write(&d, "good.json", "{\"http\": {\"listen\": \"x\"}, \"a.b\": [\"c\"]}");
    const char *dup = ct_write(&d, "dup.json", "{\"http.listen\": 1,\n\"http\": {\"listen\": 2}}");
    const char *name = ct_write(&d, "name.json", "{\"Http\": {\"listen\": 1}}");
    const char *syntax = ct_write(&d, "syntax.json", "{\"a\": }");
    const char *nested = ct_write(&d, "nested.json", "{\"a\": [[\"x\"]]}");
    char out[4096];
    char want[1024];
    cr_assert_eq(run((const char *[]){"check", good, NULL}, out, sizeof(out)), 0, "%s", out);
    snprintf(want, sizeof(want), "%s: ok\n", good);
    cr_assert_str_eq(out, want);
    cr_assert_eq(run((const char *[]){"check", dup, NULL}, out, sizeof(out)), 1);
    snprintf(want, sizeof(want), "\"http.listen\" is set twice in %s (lines 1 and 2)\n", dup);
    cr_assert_str_eq(out, want);
    cr_assert_eq(run((const char *[]){"check", name, NULL}, out, sizeof(out)), 1);
    snprintf(want, sizeof(want),
             "%s:1: \"Http.listen\" is not a valid key name ([a-z0-9] words joined by _, "
             "sections by .)\n",
             name);
    cr_assert_str_eq(out, want);
    cr_assert_eq(run((const char *[]){"check", syntax, NULL}, out, sizeof(out)), 1);
    snprintf(want, sizeof(want), "%s:1:7: invalid JSON: unexpected token near '}'\n", syntax);
    cr_assert_str_eq(out, want);
    cr_assert_eq(run((const char *[]){"check", nested, NULL}, out, sizeof(out)), 1);
    snprintf(want, sizeof(want), "%s:1: \"a\": a list holds strings, not objects or arrays\n",
             nested);
    cr_assert_str_eq(out, want);
    ct_dir_free(&d);
}

Test(config_tool, keys_and_env)
{
    ct_dir_t d;
    ct_dir_init(&d);
    const char *f = ct_write(&d, "app.json",
                             "{\n\"http\": {\"listen\": \"0.0.0.0:80\"},\n"
                             "\"db.dsn\": \"it's\", \"tags\": [\"a,b\", \"c\"],\n"
                             "\"n\": 8, \"off\": null}");
    char out[4096];
    char want[2048];
    cr_assert_eq(run((const char *[]){"keys", f, NULL}, out, sizeof(out)), 0, "%s", out);
    snprintf(want, sizeof(want),
             "http.listen = \"0.0.0.0:80\"  # %s:2\n"
             "db.dsn = \"it's\"  # %s:3\n"
             "tags = [\"a,b\",\"c\"]  # %s:3\n"
             "n = 8  # %s:4\n"
             "off = null  # %s:4\n",
             f, f, f, f, f);
    cr_assert_str_eq(out, want);
    cr_assert_eq(run((const char *[]){"env", f, NULL}, out, sizeof(out)), 0, "%s", out);
    cr_assert_str_eq(out, "MSB_HTTP__LISTEN='0.0.0.0:80'\n"
                          "MSB_DB__DSN='it'\\''s'\n"
                          "MSB_TAGS='a\\,b,c'\n"
                          "MSB_N='8'\n");
    cr_assert_eq(run((const char *[]){"env", "--prefix=APP_", f, NULL}, out, sizeof(out)), 0);
    cr_assert_eq(strncmp(out, "APP_HTTP__LISTEN='0.0.0.0:80'\n", 30), 0, "%s", out);
    ct_dir_free(&d);
}

Test(config_tool, usage)
{
    char out[4096];
    cr_assert_eq(run((const char *[]){"--help", NULL}, out, sizeof(out)), 0);
    cr_assert_eq(strncmp(out, "Usage: msb-config check FILE...\n", 32), 0);
    cr_assert_eq(run((const char *[]){NULL}, out, sizeof(out)), 2);
    cr_assert_eq(run((const char *[]){"frobnicate", "x", NULL}, out, sizeof(out)), 2);
    cr_assert_eq(run((const char *[]){"keys", "a", "b", NULL}, out, sizeof(out)), 2);
    cr_assert_eq(run((const char *[]){"check", "/nonexistent/x.json", NULL}, out, sizeof(out)), 1);
    cr_assert_str_eq(out,
                     "msb-config: cannot read /nonexistent/x.json: No such file or directory\n");
}
