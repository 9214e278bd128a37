/*
 * The numbers of HTTP's Retry-After (RFC 9110, section 10.2.3: delay-seconds) and of the
 * RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-headers-09, which are
 * structured-field lists (RFC 8941): a String naming the policy, then Integer parameters.
 */
#include <stdio.h>

#include "core/error.h"
#include "ratelimit/internal.h"

#define NAME_MAX_LEN 64
/* RFC 8941 Integers have at most 15 digits. */
#define SF_INT_MAX INT64_C(999999999999999)

static int64_t ceil_seconds(int64_t ns)
{
    if (ns <= 0) {
        return 0;
    }
    return ns / MSB_SEC + (ns % MSB_SEC != 0 ? 1 : 0);
}

static int64_t sf_int(uint64_t v)
{
    return v > (uint64_t)SF_INT_MAX ? SF_INT_MAX : (int64_t)v;
}

int64_t msb_ratelimit_retry_after_s(const msb_ratelimit_result_t *res)
{
    if (res == NULL || res->allowed) {
        return 0;
    }
    if (res->retry_after_ns < 0) {
        return -1;
    }
    int64_t s = ceil_seconds(res->retry_after_ns);
    return s < 1 ? 1 : s;
}

/* The policy name as an sf-string: printable ASCII, with '"' and '\' escaped. */
static bool quote_name(const char *name, char *out, size_t size)
{
    size_t n = 0;
    size_t len = 0;
    out[n++] = '"';
    for (const char *c = name; *c != '\0'; c++, len++) {
        if (len >= NAME_MAX_LEN || *c < 0x20 || *c > 0x7e) {
            return false;
        }
        if (*c == '"' || *c == '\\') {
            out[n++] = '\\';
        }
        out[n++] = *c;
    }
    if (len == 0 || n + 2 > size) {
        return false;
    }
    out[n++] = '"';
    out[n] = '\0';
    return true;
}

static msb_status_t put(char *buf, size_t size, const char *name, char k1, int64_t v1, char k2,
                        int64_t v2)
{
    if (buf == NULL) {
        return MSB_OK;
    }
    int n = snprintf(buf, size, "%s;%c=%lld;%c=%lld", name, k1, (long long)v1, k2, (long long)v2);
    if (n < 0 || (size_t)n >= size) {
        if (size > 0) {
            buf[0] = '\0';
        }
        return MSB_ETOOBIG;
    }
    return MSB_OK;
}

msb_status_t msb_ratelimit_format_headers(const msb_ratelimit_result_t *res, const char *name,
                                          char *policy, size_t policy_size, char *state,
                                          size_t state_size)
{
    char quoted[2 * NAME_MAX_LEN + 3];
    if (res == NULL || name == NULL || !quote_name(name, quoted, sizeof(quoted))) {
        return MSB_EINVAL;
    }
    int64_t window = ceil_seconds(res->window_ns);
    msb_status_t rc =
        put(policy, policy_size, quoted, 'q', sf_int(res->limit), 'w', window < 1 ? 1 : window);
    if (rc != MSB_OK) {
        return rc;
    }
    return put(state, state_size, quoted, 'r', sf_int(res->remaining), 't',
               ceil_seconds(res->reset_ns));
}
