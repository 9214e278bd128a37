/**
 * @file http_response.h
 * @brief Answering a request: status, headers, a body at once or as a chunked stream, problem
 * details (RFC 9457), and answering later (asynchronously) from the same loop.
 *
 * A request is answered exactly once: by msb_http_respond() (or its JSON and problem variants),
 * or by a stream (msb_http_stream_begin() … msb_http_stream_end()). Response headers are added
 * before that. The server adds `Date`, `Content-Length` (or `Transfer-Encoding: chunked`) and
 * `Connection` itself; middleware adds theirs as the response passes back through the chain.
 * Every function here is for the request's loop thread. Included by http.h.
 */
#ifndef MSB_HTTP_RESPONSE_H
#define MSB_HTTP_RESPONSE_H

#include "msb/http.h"

MSB_BEGIN_DECLS

/**
 * @brief Add a response header field (another field of the same name may exist).
 *
 * @param req the request.
 * @param name a token; the server's framing fields (Content-Length, Transfer-Encoding,
 * Connection, Date) are refused.
 * @param value visible ASCII, spaces and tabs (no CR, LF or other controls).
 * @return #MSB_OK, #MSB_EINVAL (invalid name or value: nothing is added), #MSB_ENOMEM,
 * #MSB_ECLOSED (the response head was already sent).
 * Ownership: both strings are copied. Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_resp_header_add(msb_http_req_t *req, const char *name,
                                              const char *value);

/**
 * @brief Set a response header field, replacing every field of that name.
 * @return as msb_http_resp_header_add(). Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_resp_header_set(msb_http_req_t *req, const char *name,
                                              const char *value);

/**
 * @brief The value of the first response header called `name` (case-insensitive), or NULL.
 * @return borrowed until the response is finished. Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_resp_header_get(const msb_http_req_t *req, const char *name);

/**
 * @brief Remove every response header called `name`.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API void msb_http_resp_header_remove(msb_http_req_t *req, const char *name);

/**
 * @brief Answer with a status, an optional content type and a body.
 *
 * The response passes back through the middleware (which may add headers or compress the body)
 * and is queued for writing. For HEAD the body is dropped and its length kept.
 * @param req the request.
 * @param status 100 … 599 (1xx other than 101 are not final: refused with #MSB_EINVAL).
 * @param content_type the Content-Type, or NULL for none.
 * @param body the content (copied), NULL when len is 0.
 * @param len its length; 204 and 304 must have none.
 * @return #MSB_OK (also when the client went away: the answer is then dropped), #MSB_EINVAL,
 * #MSB_EEXIST (already answered), #MSB_ENOMEM (the connection is closed).
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_respond(msb_http_req_t *req, int status, const char *content_type,
                                      const void *body, size_t len);

/**
 * @brief Answer with an RFC 9457 problem: `application/problem+json` with type "about:blank",
 * the status' title, `detail` (may be NULL), and the request id when there is one.
 * @return as msb_http_respond(). Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_respond_problem(msb_http_req_t *req, int status, const char *detail);

/**
 * @brief msb_http_respond_problem() with a printf-style detail.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_respond_problemf(msb_http_req_t *req, int status, const char *fmt,
                                               ...) MSB_PRINTF(3, 4);

/** @brief Told when a deferred request is abandoned. @since 0.1 */
typedef void (*msb_http_abort_fn)(msb_http_req_t *req, msb_status_t why, void *user);

/**
 * @brief Promise to answer later (asynchronously), from the same loop.
 *
 * The handler returns #MSB_OK after this call and answers later with a respond or stream
 * function, on the request's loop thread (use msb_http_loop_post() from other threads). If the
 * client goes away (#MSB_ECANCELED), the handler deadline passes (#MSB_ETIMEDOUT: the server
 * answers 503/504 itself) or the server stops (#MSB_ECLOSED), `on_abort` is called; the handler
 * must still answer once (the answer is then dropped) so that the request's memory is released.
 * @param req the request.
 * @param on_abort optional; called at most once, on the loop thread.
 * @param user passed to on_abort.
 * @return #MSB_OK, #MSB_EEXIST (already answered or deferred).
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_defer(msb_http_req_t *req, msb_http_abort_fn on_abort, void *user);

/**
 * @brief Whether the request has been answered (a response or a stream was started).
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API bool msb_http_responded(const msb_http_req_t *req);

/**
 * @brief Start a streamed response: the head is sent with `Transfer-Encoding: chunked` (or, to
 * an HTTP/1.0 client, without a length, closing the connection at the end).
 * Streams are not compressed by the gzip middleware.
 * @return as msb_http_respond(). Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_stream_begin(msb_http_req_t *req, int status,
                                           const char *content_type);

/**
 * @brief Send one chunk of a streamed response (empty writes are ignored).
 *
 * Data is queued; watch msb_http_stream_pending() and wait for msb_http_stream_on_drain() to
 * bound memory with a slow client.
 * @return #MSB_OK (dropped if the client went away), #MSB_EINVAL (no stream), #MSB_ENOMEM.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_stream_write(msb_http_req_t *req, const void *data, size_t len);

/**
 * @brief End a streamed response (the last chunk); the request is finished.
 * @return #MSB_OK or #MSB_EINVAL (no stream). Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_stream_end(msb_http_req_t *req);

/**
 * @brief Bytes queued on the connection and not yet accepted by the peer.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API size_t msb_http_stream_pending(const msb_http_req_t *req);

/** @brief Called when a stream's queue has drained. @since 0.1 */
typedef void (*msb_http_drain_fn)(msb_http_req_t *req, void *user);

/**
 * @brief Ask to be called (once) when the queued bytes have all been written.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API void msb_http_stream_on_drain(msb_http_req_t *req, msb_http_drain_fn fn, void *user);

/**
 * @brief The status of the response being finished (for middleware hooks), 0 before.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API int msb_http_resp_status(const msb_http_req_t *req);

/**
 * @brief The body of the response being finished (for middleware hooks).
 * @param req the request.
 * @param len receives the length.
 * @return borrowed until the response is queued; NULL for a stream.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const void *msb_http_resp_body(const msb_http_req_t *req, size_t *len);

/**
 * @brief Replace the body of the response being finished (in an on_response hook).
 * @return #MSB_OK, #MSB_EINVAL (not inside on_response, or a stream), #MSB_ENOMEM.
 * Ownership: the bytes are copied. Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_resp_set_body(msb_http_req_t *req, const void *body, size_t len);

/**
 * @brief The Content-Type of the response being finished, or NULL.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_resp_content_type(const msb_http_req_t *req);

MSB_END_DECLS

#endif /* MSB_HTTP_RESPONSE_H */
