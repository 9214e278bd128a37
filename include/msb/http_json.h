/**
 * @file http_json.h
 * @brief JSON bodies with jansson: decoding with limits, answering, and validation whose errors
 * list every bad field in the problem's `errors` member.
 *
 * @code
 * json_t *body;
 * msb_status_t rc = msb_http_req_json(req, &body);
 * if (rc != MSB_OK) {
 *     return rc; // 400/413/415 problem already sent
 * }
 * msb_http_check_t *c = msb_http_check_begin(req);
 * const char *name = msb_http_check_string(c, body, "name", true, 1, 100);
 * int64_t age = 0;
 * msb_http_check_int(c, body, "age", false, 0, 150, &age);
 * rc = msb_http_check_end(c); // 422 with {"errors":[{"field":…,"message":…}]} when any failed
 * if (rc == MSB_OK) { ... }
 * json_decref(body);
 * return rc;
 * @endcode
 *
 * Every function here is for the request's loop thread. Included by http.h.
 */
#ifndef MSB_HTTP_JSON_H
#define MSB_HTTP_JSON_H

#include <jansson.h>

#include "msb/http.h"

MSB_BEGIN_DECLS

/**
 * @brief Decode the request body as JSON.
 *
 * The Content-Type must be application/json or a +json type (else 415); the body must be one
 * JSON value in valid UTF-8 nested no deeper than the group's `json_max_depth` (default 64),
 * checked before jansson sees it, so 10 000 nested brackets are a 400 and not a deep recursion.
 * On failure the problem response has been sent and the status is returned for the handler to
 * return.
 * @param req the request.
 * @param out receives the value.
 * @return #MSB_OK, #MSB_EPROTO (400 or 415 sent), #MSB_ENOMEM (500 sent).
 * Ownership: *out is a new reference (json_decref()). Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_req_json(msb_http_req_t *req, json_t **out);

/**
 * @brief Answer with `json` serialized compactly as application/json.
 * @param req the request.
 * @param status the status.
 * @param json the value (borrowed; not stolen).
 * @return as msb_http_respond(). Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_respond_json(msb_http_req_t *req, int status, const json_t *json);

/** @brief A validation in progress (per request). @since 0.1 */
typedef struct msb_http_check msb_http_check_t;

/**
 * @brief Start validating; errors accumulate until msb_http_check_end().
 * @return the check, in the request's memory (never NULL: an allocation failure is reported by
 * msb_http_check_end()). Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API msb_http_check_t *msb_http_check_begin(msb_http_req_t *req);

/**
 * @brief Record an error about `field` ("address.city", "items[2].qty").
 * Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API void msb_http_check_fail(msb_http_check_t *c, const char *field, const char *fmt, ...)
    MSB_PRINTF(3, 4);

/**
 * @brief Check that `obj` is an object (else one error on `field`, "" for the body itself).
 * @return true when it is. Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API bool msb_http_check_object(msb_http_check_t *c, const json_t *obj, const char *field);

/**
 * @brief A string member of `obj` with a length in [min_len, max_len] code points.
 * @param c the check.
 * @param obj the object (not an object: the member counts as missing).
 * @param field the member name.
 * @param required whether absence (or null) is an error.
 * @param min_len minimum length in Unicode code points.
 * @param max_len maximum length (0: no maximum).
 * @return the string (borrowed from obj), or NULL when absent or invalid.
 * Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_check_string(msb_http_check_t *c, const json_t *obj, const char *field,
                                          bool required, size_t min_len, size_t max_len);

/**
 * @brief An integer member in [min, max].
 * @return true when present and valid (*out set); false otherwise (*out untouched).
 * Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API bool msb_http_check_int(msb_http_check_t *c, const json_t *obj, const char *field,
                                bool required, int64_t min, int64_t max, int64_t *out);

/**
 * @brief A number member (integer or real) in [min, max].
 * @return true when present and valid (*out set). Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API bool msb_http_check_number(msb_http_check_t *c, const json_t *obj, const char *field,
                                   bool required, double min, double max, double *out);

/**
 * @brief A boolean member.
 * @return true when present and valid (*out set). Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API bool msb_http_check_bool(msb_http_check_t *c, const json_t *obj, const char *field,
                                 bool required, bool *out);

/**
 * @brief A string member that is one of `allowed` (NULL-ended).
 * @return the string, or NULL. Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API const char *msb_http_check_enum(msb_http_check_t *c, const json_t *obj, const char *field,
                                        bool required, const char *const *allowed);

/**
 * @brief Report every member of `obj` not named in `known` (NULL-ended) as an error.
 * Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API void msb_http_check_no_extra(msb_http_check_t *c, const json_t *obj,
                                     const char *const *known);

/**
 * @brief The number of errors so far.
 * Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API size_t msb_http_check_errors(const msb_http_check_t *c);

/**
 * @brief Finish: with errors, answer 422 problem+json whose `errors` member lists
 * `{"field","message"}` for each, and return #MSB_EINVAL; without, return #MSB_OK.
 * @return #MSB_OK, #MSB_EINVAL (422 sent), #MSB_ENOMEM (500 sent).
 * Thread-safety: the loop thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_http_check_end(msb_http_check_t *c);

MSB_END_DECLS

#endif /* MSB_HTTP_JSON_H */
