/* Logs joined to traces: the hook fills trace_id and span_id from the current span, and every
 * record a logger writes while a span is current carries them. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "msb/log.h"
#include "msb/trace.h"
#include "support/log_capture.h"

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

Test(trace_log_hook, records_written_under_a_span_carry_its_ids)
{
    capture_t cap;
    capture_init(&cap);
    msb_log_t *lg = capture_logger(&cap, NULL);
    msb_tracer_provider_opts_t o = MSB_TRACER_PROVIDER_OPTS_INIT;
    o.service_name = "svc"; /* log_hook defaults to true: the provider installs the hook */
    msb_tracer_provider_t *p = NULL;
    cr_assert_eq(msb_tracer_provider_new(&o, &p, NULL), MSB_OK);
    msb_tracer_t *t = msb_tracer_provider_tracer(p, NULL, NULL);

    msb_log_write(lg, MSB_LOG_INFO, "outside", NULL, 0);
    msb_span_t *s = msb_span_start(t, "request", NULL);
    msb_span_activate(s);
    msb_log_write(lg, MSB_LOG_INFO, "inside", NULL, 0);
    msb_trace_ctx_t c;
    msb_span_get_ctx(s, &c);
    char tid[33], sid[17];
    msb_trace_ctx_trace_id_hex(&c, tid);
    msb_trace_ctx_span_id_hex(&c, sid);
    msb_span_end(s);
    msb_log_flush(lg, 5000);
    capture_wait(&cap, 2);

    json_t *out = capture_json(&cap, 0);
    cr_expect_null(json_object_get(out, "trace_id"), "no span, no trace_id");
    json_decref(out);
    json_t *in = capture_json(&cap, 1);
    cr_expect_str_eq(json_string_value(json_object_get(in, "trace_id")), tid);
    cr_expect_str_eq(json_string_value(json_object_get(in, "span_id")), sid);
    json_decref(in);

    msb_log_set_context_hook(NULL, NULL);
    msb_log_free(lg);
    msb_tracer_provider_free(p);
    capture_fini(&cap);
}

Test(trace_log_hook, install_sets_the_hook)
{
    cr_expect_eq(msb_trace_install_log_hook(), MSB_OK);
    msb_log_set_context_hook(NULL, NULL);
}
