/* Logs joined to traces: the logger's context hook, filled from the thread's current span. */
#include "msb/log.h"
#include "trace/internal.h"

size_t msb_trace_log_context(struct msb_log_field *out, size_t max, void *user)
{
    MSB_UNUSED(user);
    msb_span_t *s = *msb__trace_current_slot();
    if (s == NULL || out == NULL || max < 2) {
        return 0;
    }
    char *tid = msb__trace_tls_hex(0);
    char *sid = msb__trace_tls_hex(1);
    msb__hex_encode(s->trace_id, 16, tid);
    msb__hex_encode(s->span_id, 8, sid);
    out[0].key = "trace_id";
    out[0].type = MSB_LOG_STRING;
    out[0].v.s.ptr = tid;
    out[0].v.s.len = 32;
    out[1].key = "span_id";
    out[1].type = MSB_LOG_STRING;
    out[1].v.s.ptr = sid;
    out[1].v.s.len = 16;
    return 2;
}

msb_status_t msb_trace_install_log_hook(void)
{
    msb_log_set_context_hook(msb_trace_log_context, NULL);
    return MSB_OK;
}
