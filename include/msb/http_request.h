/**
 * @file http_request.h
 * @brief Reading a request: method, path, parameters, headers, query, body, identity.
 *
 * Every function here is for the request's loop thread. Strings returned are NUL-terminated and
 * borrowed: they stay valid until the response is finished (the request's memory is recycled for
 * the next request on the connection). Most point into the connection's read buffer (no copy).
 * Included by http.h.
 */
#ifndef MSB_HTTP_REQUEST_H
#define MSB_HTTP_REQUEST_H

#include "msb/http.h"

MSB_BEGIN_DECLS

/**
 * @brief The method token as received ("GET"). Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_req_method(const msb_http_req_t *req);

/**
 * @brief The path as received, still percent-encoded ("/v1/users/42"); "*" for `OPTIONS *`.
 *
 * For an absolute-form target ("GET http://host/p") this is its path.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_req_path(const msb_http_req_t *req);

/**
 * @brief The raw query (after '?', still encoded), "" for "/p?", NULL when there is no '?'.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_req_query(const msb_http_req_t *req);

/**
 * @brief The decoded value of the first query parameter `name` (form encoding: '+' is a space).
 *
 * @return the value ("" for "?flag" or "?flag="), or NULL when absent or when the value is not
 * valid percent-encoding or not UTF-8. Decoded into the request's memory.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_req_query_param(msb_http_req_t *req, const char *name);

/**
 * @brief The matched route's pattern with its group prefix ("/v1/users/{id}"), for metrics and
 * logs (bounded cardinality); NULL when no route matched.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_req_route(const msb_http_req_t *req);

/**
 * @brief A path parameter of the matched route, percent-decoded ("{id}" → "42").
 * @return the value, or NULL when the route has no such parameter.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_req_param(const msb_http_req_t *req, const char *name);

/**
 * @brief The value of the first header field called `name` (case-insensitive), trimmed of
 * surrounding whitespace; NULL when absent.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_req_header(const msb_http_req_t *req, const char *name);

/**
 * @brief The number of header fields (in order of arrival, repeated names included).
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API size_t msb_http_req_header_count(const msb_http_req_t *req);

/**
 * @brief Header field number `i` (0 … count-1).
 * @param req the request.
 * @param i the index.
 * @param name receives the name as sent (case preserved).
 * @param value receives the trimmed value.
 * @return true, or false when i is out of range.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API bool msb_http_req_header_at(const msb_http_req_t *req, size_t i, const char **name,
                                    const char **value);

/**
 * @brief The request content, decoded from chunked when it was; NULL with *len 0 when empty.
 *
 * Available to handlers (the body is read before the handler runs, never before middleware).
 * The bytes are followed by a NUL not counted in *len.
 * @param req the request.
 * @param len receives the length; may be NULL.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const void *msb_http_req_body(const msb_http_req_t *req, size_t *len);

/**
 * @brief The request id: the sane `X-Request-Id` received, or the one generated (32 hex
 * digits); "" when the request-id middleware is not in the chain.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_req_id(const msb_http_req_t *req);

/**
 * @brief The host the request names: the authority of an absolute-form target, else the Host
 * field; "" for an HTTP/1.0 request without one.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_req_host(msb_http_req_t *req);

/**
 * @brief The peer's IP address as text ("127.0.0.1", "::1"). Proxies are not trusted here.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_req_peer_ip(msb_http_req_t *req);

/**
 * @brief The minor version of the request: 0 for HTTP/1.0, 1 for HTTP/1.1.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API int msb_http_req_version_minor(const msb_http_req_t *req);

/**
 * @brief Whether the connection is TLS.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API bool msb_http_req_is_tls(const msb_http_req_t *req);

/**
 * @brief Monotonic time (ns, msb_clock_real()'s line) at which the request head was complete.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API uint64_t msb_http_req_start_ns(const msb_http_req_t *req);

/**
 * @brief The handler's deadline on the same time line, 0 when there is none; propagate it to
 * outbound calls.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API uint64_t msb_http_req_deadline_ns(const msb_http_req_t *req);

/**
 * @brief The loop the request runs on (to post work back to it).
 * @return borrowed, valid while the server runs. Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API msb_http_loop_t *msb_http_req_loop(const msb_http_req_t *req);

/**
 * @brief Allocate `size` bytes (aligned for any type) that live as long as the request.
 * @return the memory, or NULL when out of memory. Ownership: freed with the request.
 * Thread-safety: the request's loop thread.
 * @since 0.1
 */
MSB_API void *msb_http_req_alloc(msb_http_req_t *req, size_t size);

MSB_END_DECLS

#endif /* MSB_HTTP_REQUEST_H */
