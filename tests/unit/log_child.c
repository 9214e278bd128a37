/* Child loggers, the context hook and the process default logger. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "msb/log.h"
#include "support/log_capture.h"

static capture_t cap;

static void setup(void)
{
    capture_init(&cap);
}

static void teardown(void)
{
    msb_log_set_context_hook(NULL, NULL);
    capture_fini(&cap);
}

static msb_log_t *logger(void)
{
    msb_log_opts_t o = MSB_LOG_OPTS_INIT;
    o.synchronous = true;
    return capture_logger(&cap, &o);
}

/* The part of record i after `"service":"svc"`. */
static const char *fields_of(size_t i)
{
    const char *p = strstr(cap.recs[i], "\"service\":\"svc\"");
    cr_assert_not_null(p);
    return p + strlen("\"service\":\"svc\"");
}

TestSuite(log_child, .init = setup, .fini = teardown);

Test(log_child, bound_fields_come_first_and_children_nest)
{
    msb_log_t *root = logger();
    msb_log_t *a;
    msb_log_t *b;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_log_child(root, MSB_LOG_FIELDS(MSB_LOG_STR("req", "r1"), MSB_LOG_I64("n", 1)),
                               &a, &err),
                 MSB_OK, "%s", err.message);
    cr_assert_eq(
        msb_log_child(a, MSB_LOG_FIELDS(MSB_LOG_F64("x", 0.5), MSB_LOG_BOOLEAN("y", 1)), &b, &err),
        MSB_OK, "%s", err.message);
    msb_log_write(b, MSB_LOG_INFO, "m", MSB_LOG_FIELDS(MSB_LOG_STR("own", "o")));
    msb_log_write(a, MSB_LOG_INFO, "m", NULL, 0);
    msb_log_write(root, MSB_LOG_INFO, "m", NULL, 0);
    cr_assert_str_eq(fields_of(0), ",\"req\":\"r1\",\"n\":1,\"x\":0.5,\"y\":true,\"own\":\"o\"}");
    cr_assert_str_eq(fields_of(1), ",\"req\":\"r1\",\"n\":1}");
    cr_assert_str_eq(fields_of(2), "}");
    /* Free in any order: the family's core lives until its last logger. */
    msb_log_free(root);
    msb_log_free(a);
    msb_log_write(b, MSB_LOG_INFO, "after", NULL, 0);
    msb_log_free(b);
    cr_assert_eq(capture_count(&cap), 4);
}

Test(log_child, overrides_last_wins)
{
    msb_log_t *root = logger();
    msb_log_t *a;
    msb_log_t *b;
    cr_assert_eq(
        msb_log_child(root,
                      MSB_LOG_FIELDS(MSB_LOG_I64("k", 1), MSB_LOG_I64("j", 2), MSB_LOG_I64("k", 3)),
                      &a, NULL),
        MSB_OK);
    cr_assert_eq(msb_log_child(a, MSB_LOG_FIELDS(MSB_LOG_STR("j", "child")), &b, NULL), MSB_OK);
    msb_log_write(a, MSB_LOG_INFO, "m", NULL, 0);
    msb_log_write(b, MSB_LOG_INFO, "m", NULL, 0);
    msb_log_write(b, MSB_LOG_INFO, "m", MSB_LOG_FIELDS(MSB_LOG_I64("k", 9), MSB_LOG_I64("z", 0)));
    cr_assert_str_eq(fields_of(0), ",\"j\":2,\"k\":3}");
    cr_assert_str_eq(fields_of(1), ",\"k\":3,\"j\":\"child\"}");
    cr_assert_str_eq(fields_of(2), ",\"j\":\"child\",\"k\":9,\"z\":0}");
    msb_log_free(b);
    msb_log_free(a);
    msb_log_free(root);
}

Test(log_child, child_shares_level_and_counters)
{
    msb_log_t *root = logger();
    msb_log_t *a;
    cr_assert_eq(msb_log_child(root, NULL, 0, &a, NULL), MSB_OK);
    msb_log_set_level(a, MSB_LOG_ERROR);
    cr_assert_eq(msb_log_get_level(root), MSB_LOG_ERROR);
    msb_log_write(root, MSB_LOG_WARN, "filtered", NULL, 0);
    msb_log_write(a, MSB_LOG_ERROR, "kept", NULL, 0);
    msb_log_stats_t st = {.size = sizeof(st)};
    msb_log_stats(root, &st);
    cr_assert_eq(st.written, 1);
    msb_log_free(a);
    msb_log_free(root);
}

static size_t hook(msb_log_field_t *out, size_t max, void *user)
{
    cr_assert_eq(max, MSB_LOG_CONTEXT_MAX);
    const char *trace = user;
    out[0] = MSB_LOG_STR("trace_id", trace);
    out[1] = MSB_LOG_STRN("span_id", "00f067aa0ba902b7xx", 16);
    out[2] = MSB_LOG_I64("k", 1);
    return 3;
}

Test(log_child, context_hook_adds_fields_after_bound_ones)
{
    msb_log_t *root = logger();
    msb_log_t *a;
    cr_assert_eq(
        msb_log_child(root, MSB_LOG_FIELDS(MSB_LOG_I64("k", 0), MSB_LOG_I64("b", 0)), &a, NULL),
        MSB_OK);
    char trace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
    msb_log_set_context_hook(hook, trace);
    msb_log_write(a, MSB_LOG_INFO, "m", MSB_LOG_FIELDS(MSB_LOG_I64("own", 1)));
    msb_log_write(a, MSB_LOG_INFO, "m", MSB_LOG_FIELDS(MSB_LOG_I64("k", 2)));
    msb_log_set_context_hook(NULL, NULL);
    msb_log_write(a, MSB_LOG_INFO, "m", NULL, 0);
    cr_assert_str_eq(fields_of(0), ",\"b\":0,\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
                                   "\"span_id\":\"00f067aa0ba902b7\",\"k\":1,\"own\":1}");
    cr_assert_str_eq(fields_of(1), ",\"b\":0,\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
                                   "\"span_id\":\"00f067aa0ba902b7\",\"k\":2}");
    cr_assert_str_eq(fields_of(2), ",\"k\":0,\"b\":0}");
    msb_log_free(a);
    msb_log_free(root);
}

static size_t greedy_hook(msb_log_field_t *out, size_t max, void *user)
{
    msb_log_t *lg = user;
    for (size_t i = 0; i < max; i++) {
        static const char *const keys[] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7",
                                           "c8", "c9", "ca", "cb", "cc", "cd", "ce", "cf"};
        out[i] = MSB_LOG_I64(keys[i], i);
    }
    /* A hook that logs gets no context for its own record (no recursion). */
    msb_log_write(lg, MSB_LOG_INFO, "from the hook", NULL, 0);
    return max + 100;
}

Test(log_child, hook_may_log_and_overstating_is_clamped)
{
    msb_log_t *root = logger();
    msb_log_set_context_hook(greedy_hook, root);
    msb_log_write(root, MSB_LOG_INFO, "outer", NULL, 0);
    msb_log_set_context_hook(NULL, NULL);
    cr_assert_eq(capture_count(&cap), 2);
    json_t *inner = capture_json(&cap, 0);
    json_t *outer = capture_json(&cap, 1);
    cr_assert_str_eq(json_string_value(json_object_get(inner, "msg")), "from the hook");
    cr_assert_eq(json_object_size(inner), 4);
    cr_assert_eq(json_object_size(outer), 4 + MSB_LOG_CONTEXT_MAX);
    json_decref(inner);
    json_decref(outer);
    msb_log_free(root);
}

Test(log_child, child_errors)
{
    msb_log_t *root = logger();
    msb_log_t *c = NULL;
    msb_error_t err = MSB_ERROR_INIT;
    cr_assert_eq(msb_log_child(root, NULL, 0, NULL, &err), MSB_EINVAL);
    cr_assert_eq(msb_log_child(root, NULL, 2, &c, &err), MSB_EINVAL);
    cr_assert_eq(msb_log_child(root, MSB_LOG_FIELDS(MSB_LOG_I64(NULL, 1)), &c, &err), MSB_EINVAL);
    cr_assert_not_null(strstr(err.message, "empty key"), "%s", err.message);
    cr_assert_eq(msb_log_child(root, MSB_LOG_FIELDS(MSB_LOG_I64("", 1)), &c, &err), MSB_EINVAL);
    cr_assert_eq(msb_log_child(root, MSB_LOG_FIELDS(MSB_LOG_I64("msg", 1)), &c, &err), MSB_EINVAL);
    cr_assert_not_null(strstr(err.message, "reserved"), "%s", err.message);
    cr_assert_eq(msb_log_child(root, MSB_LOG_FIELDS(MSB_LOG_I64("a\xff", 1)), &c, &err),
                 MSB_EINVAL);
    cr_assert_not_null(strstr(err.message, "UTF-8"), "%s", err.message);
    msb_log_field_t bt = MSB_LOG_I64("t", 1);
    bt.type = (msb_log_type_t)9;
    cr_assert_eq(msb_log_child(root, &bt, 1, &c, &err), MSB_EINVAL);
    cr_assert_not_null(strstr(err.message, "type"), "%s", err.message);
    msb_log_field_t many[MSB_LOG_MAX_FIELDS + 1];
    char keys[MSB_LOG_MAX_FIELDS + 1][8];
    for (size_t i = 0; i <= MSB_LOG_MAX_FIELDS; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
        many[i] = MSB_LOG_I64(keys[i], i);
    }
    cr_assert_eq(msb_log_child(root, many, MSB_LOG_MAX_FIELDS + 1, &c, &err), MSB_EINVAL);
    /* 100 + 100 distinct bound keys over two generations exceed the limit too. */
    msb_log_t *half;
    cr_assert_eq(msb_log_child(root, many, 100, &half, &err), MSB_OK);
    for (size_t i = 0; i < 100; i++) {
        keys[i][0] = 'j';
    }
    cr_assert_eq(msb_log_child(half, many, 100, &c, &err), MSB_EINVAL);
    cr_assert_not_null(strstr(err.message, "at most"), "%s", err.message);
    cr_assert_null(c);
    msb_log_free(half);
    msb_log_free(root);
}

Test(log_child, default_logger_writes_to_stderr_synchronously)
{
    char path[] = "/tmp/msb_log_stderr_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    msb_log_t *d = msb_log_default();
    cr_assert_not_null(d);
    cr_assert_eq(msb_log_get_level(NULL), MSB_LOG_INFO);
    msb_log_write(NULL, MSB_LOG_DEBUG, "filtered", NULL, 0);
    msb_log_write(NULL, MSB_LOG_INFO, "to stderr", MSB_LOG_FIELDS(MSB_LOG_I64("n", 5)));
    msb_log_t *c;
    cr_assert_eq(msb_log_child(NULL, MSB_LOG_FIELDS(MSB_LOG_STR("sub", "x")), &c, NULL), MSB_OK);
    msb_log_write(c, MSB_LOG_WARN, "child of default", NULL, 0);
    msb_log_free(c);
    cr_assert_eq(msb_log_flush(NULL, 0), MSB_OK);
    cr_assert_eq(msb_log_reopen(NULL, NULL), MSB_OK);
    msb_log_free(d); /* a no-op for the built-in logger */
    dup2(saved, 2);
    close(saved);
    char buf[4096];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    close(fd);
    unlink(path);
    char *nl = strchr(buf, '\n');
    cr_assert_not_null(nl);
    json_error_t jerr;
    json_t *j = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);
    cr_assert_not_null(j, "%s: %s", jerr.text, buf);
    cr_assert_str_eq(json_string_value(json_object_get(j, "msg")), "to stderr");
    cr_assert_str_eq(json_string_value(json_object_get(j, "service")),
                     program_invocation_short_name);
    cr_assert_eq(json_integer_value(json_object_get(j, "n")), 5);
    json_decref(j);
    char *second = nl + 1;
    nl = strchr(second, '\n');
    cr_assert_not_null(nl);
    j = json_loadb(second, (size_t)(nl - second), 0, &jerr);
    cr_assert_not_null(j, "%s: %s", jerr.text, second);
    cr_assert_str_eq(json_string_value(json_object_get(j, "sub")), "x");
    cr_assert_str_eq(nl + 1, "", "exactly two records");
    json_decref(j);
}

Test(log_child, set_default_routes_null_and_free_restores)
{
    msb_log_t *lg = logger();
    msb_log_t *builtin = msb_log_default();
    msb_log_set_default(lg);
    cr_assert_eq(msb_log_default(), lg);
    msb_log_write(NULL, MSB_LOG_INFO, "via default", NULL, 0);
    cr_assert_eq(capture_count(&cap), 1);
    msb_log_free(lg);
    cr_assert_eq(msb_log_default(), builtin);
    msb_log_set_default(NULL);
    cr_assert_eq(msb_log_default(), builtin);
}
