/* Inside the libcurl driver of the HTTP client (plugin libmsb-curl). */
#ifndef MSB_CLIENT_CURL_INT_H
#define MSB_CLIENT_CURL_INT_H

#include <curl/curl.h>

#include "client/driver.h"

/* One attempt's libcurl state: the easy handle and what its options point to. */
typedef struct msb__curl_xfer {
    CURL *easy;
    struct curl_slist *headers;
    const msb__client_xfer_t *x;
    bool aborted; /* a core callback returned non-zero */
    bool nomem;   /* loop: its socket could not be watched (no memory); the reaper ends it */
    char errbuf[CURL_ERROR_SIZE];
    /* loop transports only */
    void *loop;
    msb__client_done_fn done;
    struct msb__curl_xfer *prev, *next;
} msb__curl_xfer_t;

/* Set every option of the attempt on xf->easy (a fresh or reset handle). */
MSB_INTERNAL msb_status_t msb__curl_setup(msb__curl_xfer_t *xf, const msb__client_xfer_t *x,
                                          const msb__client_pool_t *pool, msb_error_t *err);
/* Fill *res from the transfer's CURLcode and info; frees the header list. */
MSB_INTERNAL void msb__curl_result(msb__curl_xfer_t *xf, CURLcode cc, msb__client_result_t *res);
/* Drop the header list of an attempt that will not complete. */
MSB_INTERNAL void msb__curl_release(msb__curl_xfer_t *xf);

MSB_INTERNAL msb_status_t msb__curl_loop_new(struct event_base *base,
                                             const msb__client_pool_t *pool, void **out,
                                             msb_error_t *err);
MSB_INTERNAL void msb__curl_loop_free(void *loop);
MSB_INTERNAL msb_status_t msb__curl_loop_start(void *loop, const msb__client_xfer_t *x,
                                               msb__client_done_fn done, void **handle,
                                               msb_error_t *err);
MSB_INTERNAL void msb__curl_loop_cancel(void *loop, void *handle);

MSB_INTERNAL msb_status_t msb__curl_slot_new(const msb__client_pool_t *pool, void *share,
                                             void **out, msb_error_t *err);
MSB_INTERNAL void msb__curl_slot_free(void *slot);
MSB_INTERNAL msb_status_t msb__curl_slot_perform(void *slot, const msb__client_xfer_t *x,
                                                 msb__client_result_t *res, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__curl_share_new(void **out, msb_error_t *err);
MSB_INTERNAL void msb__curl_share_free(void *share);
/* The CURLSH inside a share (NULL for NULL). */
MSB_INTERNAL CURLSH *msb__curl_share_handle(void *share);

#endif
