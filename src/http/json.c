/*
 * JSON bodies. The nesting depth is measured by a linear scan before jansson parses (jansson
 * recurses per level): 10 000 nested brackets are a 400, not a deep stack.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/chars.h"
#include "http/internal.h"

/* Deepest nesting of arrays and objects, ignoring brackets inside strings; stops past max. */
static uint32_t depth_of(const char *s, size_t n, uint32_t max)
{
    uint32_t depth = 0;
    uint32_t deepest = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest) {
                deepest = depth;
                if (deepest > max) {
                    return deepest;
                }
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

static bool is_json_type(const char *ct)
{
    if (ct == NULL) {
        return false;
    }
    size_t n = strcspn(ct, ";");
    while (n > 0 && msb__is_ows((unsigned char)ct[n - 1])) {
        n--;
    }
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0) {
        return true;
    }
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

msb_status_t msb_http_req_json(msb_http_req_t *req, json_t **out)
{
    if (req == NULL || out == NULL) {
        return MSB_EINVAL;
    }
    *out = NULL;
    if (!is_json_type(msb_http_req_header(req, "Content-Type"))) {
        msb__http_fail(req, 415, "the body must be application/json");
        return MSB_EPROTO;
    }
    size_t len;
    const char *body = msb_http_req_body(req, &len);
    if (body == NULL || len == 0) {
        msb__http_fail(req, 400, "the JSON body is empty");
        return MSB_EPROTO;
    }
    uint32_t max = req->group != NULL ? req->group->json_max_depth : 64;
    if (depth_of(body, len, max) > max) {
        msb_http_respond_problemf(req, 400, "the JSON body is nested deeper than %u levels", max);
        return MSB_EPROTO;
    }
    json_error_t e;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (j == NULL) {
        if (json_error_code(&e) == json_error_out_of_memory) {
            msb__http_fail(req, 500, "out of memory decoding the JSON body");
            return MSB_ENOMEM;
        }
        msb_http_respond_problemf(req, 400, "invalid JSON at line %d, column %d: %s", e.line,
                                  e.column, e.text);
        return MSB_EPROTO;
    }
    *out = j;
    return MSB_OK;
}

msb_status_t msb_http_respond_json(msb_http_req_t *req, int status, const json_t *json)
{
    if (req == NULL || json == NULL) {
        return MSB_EINVAL;
    }
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
    size_t n = json_dumpb(json, NULL, 0, flags);
    if (n == 0) {
        return msb__http_fail(req, 500, "the response could not be encoded as JSON");
    }
    char *buf = msb_http_req_alloc(req, n);
    if (buf == NULL) {
        return msb__http_fail(req, 500, "out of memory encoding the response");
    }
    n = json_dumpb(json, buf, n, flags);
    return msb_http_respond(req, status, "application/json", buf, n);
}
