/* File and stderr sinks: records in the file, reopen after a rename (logrotate), errors. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msb/log.h"

static char dir[64];
static char path[128];
static char rotated[128];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/msb_log_file_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/app.log", dir);
    snprintf(rotated, sizeof(rotated), "%s/app.log.1", dir);
}

static void teardown(void)
{
    unlink(path);
    unlink(rotated);
    rmdir(dir);
}

TestSuite(log_file, .init = setup, .fini = teardown);

/* The messages of the records in a file, in order, joined by ','. */
static void messages(const char *file, char *out, size_t size)
{
    FILE *f = fopen(file, "r");
    cr_assert_not_null(f, "%s", file);
    out[0] = '\0';
    char line[1024];
    while (fgets(line, sizeof(line), f) != NULL) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        cr_assert_not_null(j, "%s: %s", jerr.text, line);
        if (out[0] != '\0') {
            strncat(out, ",", size - strlen(out) - 1);
        }
        strncat(out, json_string_value(json_object_get(j, "msg")), size - strlen(out) - 1);
        json_decref(j);
    }
    fclose(f);
}

static msb_log_t *file_logger(bool synchronous)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.sink = MSB_LOG_SINK_FILE;
    o.path = path;
    o.file_mode = 0600;
    o.synchronous = synchronous;
    msb_log_t *lg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_log_new(&o, &lg, &err), MSB_OK, "%s", err.message);
    return lg;
}

static void reopen_after_rename(bool synchronous)
{
    msb_log_t *lg = file_logger(synchronous);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600);
    msb_log_write(lg, MSB_LOG_INFO, "a", NULL, 0);
    cr_assert_eq(msb_log_flush(lg, -1), MSB_OK);
    cr_assert_eq(rename(path, rotated), 0); /* logrotate moves the file away */
    msb_log_write(lg, MSB_LOG_INFO, "b", NULL, 0);
    cr_assert_eq(msb_log_flush(lg, -1), MSB_OK); /* still the old file until reopened */
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_log_reopen(lg, &err), MSB_OK, "%s", err.message);
    msb_log_write(lg, MSB_LOG_INFO, "c", NULL, 0);
    msb_log_write(lg, MSB_LOG_INFO, "d", NULL, 0);
    msb_log_free(lg);
    char got[256];
    messages(rotated, got, sizeof(got));
    cr_assert_str_eq(got, "a,b");
    messages(path, got, sizeof(got));
    cr_assert_str_eq(got, "c,d");
}

Test(log_file, reopen_after_rename_async)
{
    reopen_after_rename(false);
}

Test(log_file, reopen_after_rename_sync)
{
    reopen_after_rename(true);
}

Test(log_file, appends_to_an_existing_file)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    cr_assert_eq(write(fd, "{\"msg\":\"old\"}\n", 14), 14);
    close(fd);
    msb_log_t *lg = file_logger(false);
    msb_log_write(lg, MSB_LOG_INFO, "new", NULL, 0);
    msb_log_free(lg);
    char got[256];
    messages(path, got, sizeof(got));
    cr_assert_str_eq(got, "old,new");
}

Test(log_file, reopen_failure_keeps_the_old_file)
{
    msb_log_t *lg = file_logger(false);
    msb_log_write(lg, MSB_LOG_INFO, "a", NULL, 0);
    msb_log_flush(lg, -1);
    cr_assert_eq(rename(path, rotated), 0);
    cr_assert_eq(mkdir(path, 0700), 0); /* the path cannot be opened for writing */
    msb_error_t err = MSB_ERROR_INIT;
    msb_status_t st = msb_log_reopen(lg, &err);
    rmdir(path);
    cr_assert_eq(st, MSB_EIO);
    cr_assert_not_null(strstr(err.message, path), "%s", err.message);
    msb_log_write(lg, MSB_LOG_INFO, "b", NULL, 0);
    msb_log_free(lg);
    char got[256];
    messages(rotated, got, sizeof(got));
    cr_assert_str_eq(got, "a,b");
}

Test(log_file, open_failure_names_the_path)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.sink = MSB_LOG_SINK_FILE;
    o.path = "/nonexistent-dir/x.log";
    msb_log_t *lg = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_log_new(&o, &lg, &err), MSB_EIO);
    cr_assert_null(lg);
    cr_assert_not_null(strstr(err.message, "/nonexistent-dir/x.log"), "%s", err.message);
}

Test(log_file, write_errors_are_counted)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.sink = MSB_LOG_SINK_FILE;
    o.path = "/dev/full";
    msb_log_t *lg;
    cr_assert_eq(msb_log_new(&o, &lg, NULL), MSB_OK);
    for (int i = 0; i < 5; i++) {
        msb_log_write(lg, MSB_LOG_INFO, "lost", NULL, 0);
    }
    msb_log_flush(lg, -1);
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(lg, &st);
    cr_assert_eq(st.queued, 5);
    cr_assert_eq(st.written, 0);
    cr_assert_eq(st.write_failed, 5);
    msb_log_free(lg);
}

Test(log_file, stderr_sink_async)
{
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    msb_log_t *lg;
    cr_assert_eq(msb_log_new(NULL, &lg, NULL), MSB_OK);
    msb_log_write(lg, MSB_LOG_WARN, "on stderr", NULL, 0);
    cr_assert_eq(msb_log_reopen(lg, NULL), MSB_OK); /* nothing to reopen */
    msb_log_free(lg);
    dup2(saved, 2);
    close(saved);
    close(fd);
    char got[256];
    messages(path, got, sizeof(got));
    cr_assert_str_eq(got, "on stderr");
}
