/**
 * @file baggage.h
 * @brief W3C Baggage: user-defined key/value pairs that travel with a request, parsed from and
 * written to the `baggage` header (part of the tracing module; see trace.h and docs/tracing.md).
 */
#ifndef MSB_BAGGAGE_H
#define MSB_BAGGAGE_H

#include <stddef.h>

#include "msb/error.h"

MSB_BEGIN_DECLS

/* ------------------------------------------------------------------------------------------ */
/* W3C Baggage                                                                                */
/* ------------------------------------------------------------------------------------------ */

/**
 * @brief A W3C Baggage set: ordered key/value members with optional properties.
 * @since 0.1
 */
typedef struct msb_baggage msb_baggage_t;

/** Most list-members in a baggage (the specification's ABNF: `list-member 0*179(...)`). */
#define MSB_BAGGAGE_MAX_MEMBERS 180
/** Largest serialised baggage, in bytes (the specification's propagation limit). */
#define MSB_BAGGAGE_MAX_BYTES 8192

/**
 * @brief Create an empty baggage.
 * @param out receives the baggage; free it with msb_baggage_free().
 * @return #MSB_OK or #MSB_ENOMEM.
 * Ownership: *out is new. Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_baggage_new(msb_baggage_t **out);

/**
 * @brief Free a baggage. NULL is a no-op.
 * Thread-safety: no other thread may use it.
 * @since 0.1
 */
MSB_API void msb_baggage_free(msb_baggage_t *bag);

/**
 * @brief Parse one `baggage` header field and append its members.
 *
 * Call once per header field, in order (multiple fields form one list). Keys are RFC 7230 tokens;
 * values are `baggage-octet`s with percent-encoding, decoded here (sequences that are not UTF-8
 * become U+FFFD, as the specification says). Properties are kept as written, without optional
 * whitespace. Malformed input (a bad key, a character outside `baggage-octet`, a `%` not followed
 * by two hex digits, an empty member) rejects the whole field: nothing is appended. Members that
 * would take the combined list past #MSB_BAGGAGE_MAX_MEMBERS or #MSB_BAGGAGE_MAX_BYTES are dropped
 * whole (never partially) and counted in msb_baggage_dropped().
 *
 * @param bag the baggage to extend.
 * @param value the header value.
 * @param len its length.
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EPROTO naming the offending member, #MSB_ENOMEM, #MSB_EINVAL.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_baggage_parse(msb_baggage_t *bag, const char *value, size_t len,
                                       msb_error_t *err);

/**
 * @brief Set a member (replacing every member with that key), appended at the end.
 * @param bag the baggage.
 * @param key an RFC 7230 token.
 * @param value any bytes (UTF-8 expected), percent-encoded on output.
 * @param properties NULL, or properties as written after the value (`k1=v1;k2`), validated.
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EINVAL (bad key or properties), #MSB_ELIMIT (the member would exceed a
 * limit), #MSB_ENOMEM.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_baggage_set(msb_baggage_t *bag, const char *key, const char *value,
                                     const char *properties, msb_error_t *err);

/**
 * @brief Look up the first member with a key.
 * @param bag the baggage.
 * @param key the key.
 * @param value receives the decoded value (NUL-terminated).
 * @return #MSB_OK or #MSB_ENOTFOUND.
 * Ownership: *value is borrowed, valid until the baggage changes or is freed.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_baggage_get(const msb_baggage_t *bag, const char *key, const char **value);

/**
 * @brief Remove every member with a key; nothing happens when it is absent.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API void msb_baggage_remove(msb_baggage_t *bag, const char *key);

/**
 * @brief Number of members.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API size_t msb_baggage_count(const msb_baggage_t *bag);

/**
 * @brief Read member `i` (0 ≤ i < msb_baggage_count()).
 * @param bag the baggage.
 * @param i the index.
 * @param key receives the key; may be NULL.
 * @param value receives the decoded value; may be NULL.
 * @param properties receives the properties as written ("" when none); may be NULL.
 * @return #MSB_OK or #MSB_ERANGE.
 * Ownership: the strings are borrowed, valid until the baggage changes or is freed.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_baggage_member(const msb_baggage_t *bag, size_t i, const char **key,
                                        const char **value, const char **properties);

/**
 * @brief Members dropped by msb_baggage_parse() because of the limits.
 * Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API size_t msb_baggage_dropped(const msb_baggage_t *bag);

/**
 * @brief Serialise as a `baggage` header value (values percent-encoded).
 * @param bag the baggage.
 * @param out receives a NUL-terminated string (empty for an empty baggage); free it with
 * msb_trace_string_free().
 * @param len receives its length; may be NULL.
 * @return #MSB_OK or #MSB_ENOMEM.
 * Ownership: *out is new. Thread-safety: one baggage, one thread at a time.
 * @since 0.1
 */
MSB_API msb_status_t msb_baggage_format(const msb_baggage_t *bag, char **out, size_t *len);

/**
 * @brief Free a string returned by this module. NULL is a no-op.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API void msb_trace_string_free(char *s);

MSB_END_DECLS

#endif /* MSB_BAGGAGE_H */
