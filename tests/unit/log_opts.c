/* Every error path of the options, and every allocation failed in turn. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log/log_impl.h"
#include "msb/log.h"
#include "support/failing_alloc.h"

static void sink(const char *rec, size_t len, void *user)
{
    (void)rec;
    (void)len;
    (void)user;
}

/* msb_log_new must fail with EINVAL and a message containing `needle`. */
static void rejects(const msb_log_opts_t *o, const char *needle)
{
    msb_log_t *lg = (msb_log_t *)&lg;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_log_new(o, &lg, &err), MSB_EINVAL, "accepted (%s)", needle);
    cr_assert_eq(err.code, MSB_EINVAL);
    cr_assert_not_null(strstr(err.message, needle), "message \"%s\" lacks \"%s\"", err.message,
                       needle);
    cr_assert_eq(lg, (msb_log_t *)&lg, "*out written on failure");
}

Test(log_opts, every_invalid_option_is_named)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.size = 0;
    rejects(&o, "opts.size");

    o = (msb_log_opts_t)MSB_LOG_OPTS_INIT;
    o.level = (msb_log_level_t)6;
    rejects(&o, "opts.level");
    o.level = (msb_log_level_t)-1;
    rejects(&o, "opts.level");

    o = (msb_log_opts_t)MSB_LOG_OPTS_INIT;
    o.sink = (msb_log_sink_kind_t)3;
    rejects(&o, "opts.sink");

    o = (msb_log_opts_t)MSB_LOG_OPTS_INIT;
    o.sink = MSB_LOG_SINK_FILE;
    rejects(&o, "opts.path");
    o.path = "";
    rejects(&o, "opts.path");
    o.path = "/tmp/x.log";
    o.file_mode = 010000;
    rejects(&o, "opts.file_mode");

    o = (msb_log_opts_t)MSB_LOG_OPTS_INIT;
    o.sink = MSB_LOG_SINK_CALLBACK;
    rejects(&o, "opts.callback");

    o = (msb_log_opts_t)MSB_LOG_OPTS_INIT;
    o.queue_size = 4095;
    rejects(&o, "opts.queue_size");
    o.queue_size = ((size_t)1 << 30) + 1;
    rejects(&o, "opts.queue_size");

    o = (msb_log_opts_t)MSB_LOG_OPTS_INIT;
    o.buffer_size = 0;
    rejects(&o, "opts.buffer_size");
    o.buffer_size = o.queue_size / 2 + 1;
    rejects(&o, "opts.buffer_size");

    o = (msb_log_opts_t)MSB_LOG_OPTS_INIT;
    o.flush_interval_ms = 0;
    rejects(&o, "opts.flush_interval_ms");

    o = (msb_log_opts_t)MSB_LOG_OPTS_INIT;
    o.overflow = (msb_log_overflow_t)2;
    rejects(&o, "opts.overflow");

    o = (msb_log_opts_t)MSB_LOG_OPTS_INIT;
    o.sample_first = 10;
    o.sample_tick_ms = 0;
    rejects(&o, "opts.sample_tick_ms");

    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_log_new(NULL, NULL, &err), MSB_EINVAL);
    cr_assert_not_null(strstr(err.message, "out"));
}

Test(log_opts, queue_options_are_ignored_when_synchronous)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.synchronous = true;
    o.queue_size = 0;
    o.buffer_size = 0;
    o.flush_interval_ms = 0;
    o.overflow = (msb_log_overflow_t)7;
    msb_log_t *lg;
    cr_assert_eq(msb_log_new(&o, &lg, NULL), MSB_OK);
    msb_log_free(lg);
}

Test(log_opts, an_older_shorter_struct_gets_defaults_for_the_rest)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.size = offsetof(msb_log_opts_t, sink); /* a program built before `sink` existed */
    o.level = MSB_LOG_ERROR;
    o.sink = (msb_log_sink_kind_t)99; /* not read */
    msb_log_t *lg;
    cr_assert_eq(msb_log_new(&o, &lg, NULL), MSB_OK);
    cr_assert_eq(msb_log_get_level(lg), MSB_LOG_ERROR);
    cr_assert_eq(lg->core->kind, MSB_LOG_SINK_STDERR);
    msb_log_free(lg);
    cr_assert_eq(msb_log_new(NULL, &lg, NULL), MSB_OK);
    cr_assert_eq(msb_log_get_level(lg), MSB_LOG_INFO);
    cr_assert(lg->core->async);
    msb_log_free(lg);
}

static msb_status_t new_full_logger(msb_log_t **lg, const char *path, bool synchronous)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.sink = MSB_LOG_SINK_FILE;
    o.path = path;
    o.service = "svc";
    o.sample_first = 5;
    o.synchronous = synchronous;
    return msb_log_new(&o, lg, NULL);
}

static void new_fails_cleanly(bool synchronous)
{
    char path[] = "/tmp/msb_log_nomem_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    long n;
    for (n = 0; n < 100; n++) {
        failing_alloc_install(n);
        msb_log_t *lg = NULL;
        msb_status_t st = new_full_logger(&lg, path, synchronous);
        bool fired = failing_alloc_fired();
        if (st == MSB_OK) {
            msb_log_write(lg, MSB_LOG_INFO, "ok", NULL, 0);
            msb_log_free(lg);
        }
        failing_alloc_remove();
        cr_assert_eq(failing_alloc_live(), 0, "leak with allocation %ld failed", n);
        if (!fired) {
            cr_assert_eq(st, MSB_OK);
            break;
        }
        cr_assert_eq(st, MSB_ENOMEM, "allocation %ld failed: %d", n, st);
    }
    cr_assert_gt(n, 3, "msb_log_new allocates several blocks");
    unlink(path);
}

Test(log_opts, new_fails_cleanly_on_every_allocation)
{
    new_fails_cleanly(false);
    new_fails_cleanly(true);
}

static void nop_sink_logger(msb_log_t **lg)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.sink = MSB_LOG_SINK_CALLBACK;
    o.callback = sink;
    o.synchronous = true;
    cr_assert_eq(msb_log_new(&o, lg, NULL), MSB_OK);
}

Test(log_opts, child_fails_cleanly_on_every_allocation)
{
    failing_alloc_install(-1);
    msb_log_t *root;
    nop_sink_logger(&root);
    msb_log_t *parent;
    cr_assert_eq(msb_log_child(root, MSB_LOG_FIELDS(MSB_LOG_STR("a", "x"), MSB_LOG_I64("b", 1)),
                               &parent, NULL),
                 MSB_OK);
    long base = failing_alloc_live();
    long n;
    for (n = 0; n < 100; n++) {
        failing_alloc_install(n);
        msb_log_t *c = NULL;
        msb_error_t err = MSB_ERROR_INIT;
        msb_status_t st = msb_log_child(
            parent, MSB_LOG_FIELDS(MSB_LOG_STR("a", "y"), MSB_LOG_F64("c", 2.5)), &c, &err);
        bool fired = failing_alloc_fired();
        failing_alloc_install(-1);
        msb_log_free(c);
        cr_assert_eq(failing_alloc_live(), base, "leak with allocation %ld failed", n);
        if (!fired) {
            cr_assert_eq(st, MSB_OK);
            break;
        }
        cr_assert_eq(st, MSB_ENOMEM);
        cr_assert_not_null(strstr(err.message, "child"), "%s", err.message);
        cr_assert_null(c);
    }
    cr_assert_gt(n, 2);
    msb_log_free(parent);
    msb_log_free(root);
    failing_alloc_remove();
    cr_assert_eq(failing_alloc_live(), 0);
}

Test(log_opts, write_without_memory_for_a_large_record_counts_it)
{
    failing_alloc_install(-1);
    msb_log_t *lg;
    nop_sink_logger(&lg);
    static char big[100000];
    memset(big, 'x', sizeof(big));
    long base = failing_alloc_live();
    failing_alloc_install(0); /* the heap buffer of the large record fails */
    msb_log_write(lg, MSB_LOG_INFO, "big", MSB_LOG_FIELDS(MSB_LOG_STRN("v", big, sizeof(big))));
    cr_assert(failing_alloc_fired());
    failing_alloc_install(-1);
    cr_assert_eq(failing_alloc_live(), base);
    msb_log_write(lg, MSB_LOG_INFO, "small needs no memory", NULL, 0);
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(lg, &st);
    cr_assert_eq(st.format_failed, 1);
    cr_assert_eq(st.written, 1);
    msb_log_free(lg);
    failing_alloc_remove();
    cr_assert_eq(failing_alloc_live(), 0);
}

Test(log_opts, ordinary_records_allocate_nothing)
{
    msb_log_t *lg;
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.sink = MSB_LOG_SINK_CALLBACK;
    o.callback = sink;
    cr_assert_eq(msb_log_new(&o, &lg, NULL), MSB_OK);
    failing_alloc_install(0); /* any allocation from here on fails */
    for (int i = 0; i < 1000; i++) {
        msb_log_write(lg, MSB_LOG_INFO, "hot path",
                      MSB_LOG_FIELDS(MSB_LOG_STR("s", "v"), MSB_LOG_I64("i", i),
                                     MSB_LOG_F64("d", 0.5), MSB_LOG_BOOLEAN("b", i & 1)));
    }
    cr_assert(!failing_alloc_fired(), "the hot path allocated");
    failing_alloc_remove();
    msb_log_flush(lg, -1);
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(lg, &st);
    cr_assert_eq(st.written, 1000);
    msb_log_free(lg);
}
