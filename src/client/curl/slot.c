/*
 * Blocking slots: an easy handle in a private multi handle, whose connection cache survives
 * from one call to the next. The private multi (rather than curl_easy_perform) lets the wait
 * wake every `poll_ms` to check the caller's cancellation token. libcurl does not support
 * sharing one connection cache between threads, so each slot keeps its own and the core hands
 * a slot back to the host it last talked to (docs/client.md, "Blocking client").
 */
#include <string.h>

#include "client/curl/curl_int.h"
#include "core/alloc.h"
#include "core/error.h"

typedef struct slot {
    CURLM *multi;
    msb__curl_xfer_t xf;
    msb__client_pool_t pool;
    CURLSH *share;
} slot_t;

msb_status_t msb__curl_slot_new(const msb__client_pool_t *pool, void *share, void **out,
                                msb_error_t *err)
{
    slot_t *s = msb__calloc(1, sizeof(*s));
    if (s == NULL) {
        return msb__err_nomem(err, "a client slot");
    }
    s->pool = *pool;
    s->share = msb__curl_share_handle(share);
    s->multi = curl_multi_init();
    s->xf.easy = curl_easy_init();
    if (s->multi == NULL || s->xf.easy == NULL) {
        msb__curl_slot_free(s);
        return msb__err_nomem(err, "a curl handle");
    }
    /* One transfer at a time: a handful of idle connections is plenty. */
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, 4L);
    *out = s;
    return MSB_OK;
}

void msb__curl_slot_free(void *slot)
{
    slot_t *s = slot;
    if (s == NULL) {
        return;
    }
    if (s->multi != NULL) {
        curl_multi_cleanup(s->multi);
    }
    if (s->xf.easy != NULL) {
        curl_easy_cleanup(s->xf.easy);
    }
    msb__free(s);
}

/* Run the multi until the transfer ends or the caller's poll says stop. */
static CURLcode run(slot_t *s, const msb__client_xfer_t *x, bool *stopped)
{
    int running = 1;
    while (running > 0) {
        CURLMcode mc = curl_multi_perform(s->multi, &running);
        if (mc != CURLM_OK) {
            return mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
        }
        if (running == 0) {
            break;
        }
        int wait_ms = x->on_poll != NULL ? (int)x->poll_ms : 1000;
        mc = curl_multi_poll(s->multi, NULL, 0, wait_ms, NULL);
        if (mc != CURLM_OK) {
            return mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
        }
        if (x->on_poll != NULL && x->on_poll(x->user) != 0) {
            *stopped = true;
            return CURLE_ABORTED_BY_CALLBACK;
        }
    }
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE && m->easy_handle == s->xf.easy) {
            return m->data.result;
        }
    }
    return CURLE_FAILED_INIT;
}

msb_status_t msb__curl_slot_perform(void *slot, const msb__client_xfer_t *x,
                                    msb__client_result_t *res, msb_error_t *err)
{
    slot_t *s = slot;
    curl_easy_reset(s->xf.easy);
    msb_status_t rc = msb__curl_setup(&s->xf, x, &s->pool, err);
    if (rc != MSB_OK) {
        return rc;
    }
    if (s->share != NULL) {
        curl_easy_setopt(s->xf.easy, CURLOPT_SHARE, s->share);
    }
    CURLMcode mc = curl_multi_add_handle(s->multi, s->xf.easy);
    if (mc != CURLM_OK) {
        msb__curl_release(&s->xf);
        return mc == CURLM_OUT_OF_MEMORY
                   ? msb__err_nomem(err, "a transfer")
                   : msb__err(err, MSB_EINTERNAL, "client: curl_multi_add_handle: %s",
                              curl_multi_strerror(mc));
    }
    bool stopped = false;
    CURLcode cc = run(s, x, &stopped);
    if (stopped) {
        s->xf.aborted = true;
    }
    msb__curl_result(&s->xf, cc, res);
    curl_multi_remove_handle(s->multi, s->xf.easy);
    return MSB_OK;
}
