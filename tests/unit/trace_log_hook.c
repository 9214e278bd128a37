/* Logs joined to traces: the hook fills trace_id and span_id from the current span.
 * log.h is not in this tree yet, so its two types are declared here exactly as log.h specifies
 * them, and the hook is called directly, as the logger will call it. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "msb/trace.h"

typedef enum msb_log_type {
    MSB_LOG_STRING,
    MSB_LOG_INT,
    MSB_LOG_DOUBLE,
    MSB_LOG_BOOL
} msb_log_type_t;
typedef struct msb_log_field {
    const char *key;
    msb_log_type_t type;
    union {
        struct {
            const char *ptr;
            size_t len;
        } s;
        int64_t i;
        double d;
        bool b;
    } v;
} msb_log_field_t;
typedef size_t (*msb_log_context_fn)(msb_log_field_t *out, size_t max, void *user);

Test(trace_log_hook, fields_follow_the_current_span)
{
    msb_log_context_fn hook = msb_trace_log_context; /* the logger's hook type */
    msb_log_field_t f[4];
    cr_expect_eq(hook(f, 4, NULL), 0, "no current span: no fields");
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "svc";
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);
    msb_span_t *s = msb_span_start(t, "request", NULL);
    msb_span_activate(s);
    cr_assert_eq(hook(f, 4, NULL), 2);
    msb_trace_ctx_t c;
    msb_span_get_ctx(s, &c);
    char tid[33], sid[17];
    msb_trace_ctx_trace_id_hex(&c, tid);
    msb_trace_ctx_span_id_hex(&c, sid);
    cr_expect_str_eq(f[0].key, "trace_id");
    cr_expect_eq(f[0].type, MSB_LOG_STRING);
    cr_expect_eq(f[0].v.s.len, 32);
    cr_expect_eq(memcmp(f[0].v.s.ptr, tid, 32), 0);
    cr_expect_str_eq(f[1].key, "span_id");
    cr_expect_eq(f[1].v.s.len, 16);
    cr_expect_eq(memcmp(f[1].v.s.ptr, sid, 16), 0);
    msb_span_t *child = msb_span_start(t, "db", NULL);
    msb_span_activate(child);
    cr_assert_eq(hook(f, 2, NULL), 2);
    msb_span_get_ctx(child, &c);
    msb_trace_ctx_span_id_hex(&c, sid);
    cr_expect_eq(memcmp(f[1].v.s.ptr, sid, 16), 0, "the innermost span");
    cr_expect_eq(memcmp(f[0].v.s.ptr, tid, 32), 0, "same trace");
    cr_expect_eq(hook(f, 1, NULL), 0, "no room for both fields");
    cr_expect_eq(hook(NULL, 4, NULL), 0);
    msb_span_end(child);
    msb_span_end(s);
    cr_expect_eq(hook(f, 4, NULL), 0);
    msb_tracer_provider_free(p);
}

Test(trace_log_hook, install_reports_whether_a_logger_exists)
{
#if __has_include("msb/log.h")
    cr_expect_eq(msb_trace_install_log_hook(), MSB_OK);
#else
    cr_expect_eq(msb_trace_install_log_hook(), MSB_ENOTSUP, "no logger in this tree yet");
#endif
}
