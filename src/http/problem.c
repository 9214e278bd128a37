/*
 * Status lines and reason phrases (RFC 9110 §15), the mapping of libmsb statuses to HTTP ones,
 * and problem details (RFC 9457): every error the server produces is application/problem+json.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "http/internal.h"

const char *msb__http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 203:
        return "Non-Authoritative Information";
    case 204:
        return "No Content";
    case 205:
        return "Reset Content";
    case 206:
        return "Partial Content";
    case 300:
        return "Multiple Choices";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 407:
        return "Proxy Authentication Required";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Content";
    case 425:
        return "Too Early";
    case 426:
        return "Upgrade Required";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 451:
        return "Unavailable For Legal Reasons";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "";
    }
}

size_t msb__http_status_line(int status, char *buf)
{
    if (status == 200) {
        msb__http_put(buf, "HTTP/1.1 200 OK\r\n", 17);
        return 17;
    }
    int n = snprintf(buf, 64, "HTTP/1.1 %03d %s\r\n", status, msb__http_reason(status));
    return n > 0 && n < 64 ? (size_t)n : 0;
}

int msb__http_status_of(msb_status_t rc)
{
    switch (rc) {
    case MSB_EINVAL:
    case MSB_EPROTO:
        return 400;
    case MSB_EAUTH:
        return 401;
    case MSB_EPERM:
        return 403;
    case MSB_ENOTFOUND:
        return 404;
    case MSB_EEXIST:
    case MSB_ECONFLICT:
        return 409;
    case MSB_ETOOBIG:
        return 413;
    case MSB_EREJECTED:
    case MSB_ELIMIT:
        return 429;
    case MSB_EUNAVAIL:
    case MSB_EBUSY:
    case MSB_ECLOSED:
        return 503;
    case MSB_ETIMEDOUT:
        return 504;
    default:
        return 500;
    }
}

msb_status_t msb__http_problem(msb_http_req_t *req, int status, const char *detail,
                               const char *errors_json, size_t errors_len)
{
    msb__buf_t b = MSB__BUF_INIT;
    const char *title = msb__http_reason(status);
    msb__buf_puts(&b, "{\"type\":\"about:blank\",\"title\":");
    msb__buf_put_json_str(&b, title, strlen(title));
    msb__buf_puts(&b, ",\"status\":");
    msb__buf_put_i64(&b, status);
    if (detail != NULL) {
        msb__buf_puts(&b, ",\"detail\":");
        msb__buf_put_json_str(&b, detail, strlen(detail));
    }
    if (req->id_len > 0) {
        msb__buf_puts(&b, ",\"request_id\":");
        msb__buf_put_json_str(&b, req->id, req->id_len);
    }
    if (errors_json != NULL) {
        msb__buf_puts(&b, ",\"errors\":");
        msb__buf_append(&b, errors_json, errors_len);
    }
    msb__buf_putc(&b, '}');
    msb_status_t rc;
    if (msb__buf_status(&b) != MSB_OK) {
        static const char oom[] = "{\"type\":\"about:blank\",\"title\":\"Internal Server Error\","
                                  "\"status\":500,\"detail\":\"out of memory\"}";
        rc = msb_http_respond(req, 500, "application/problem+json", oom, sizeof(oom) - 1);
    } else {
        rc = msb_http_respond(req, status, "application/problem+json", b.data, b.len);
    }
    msb__buf_free(&b);
    return rc;
}

msb_status_t msb_http_respond_problem(msb_http_req_t *req, int status, const char *detail)
{
    if (req == NULL || status < 400 || status > 599) {
        return MSB_EINVAL;
    }
    return msb__http_fail(req, status, detail);
}

msb_status_t msb_http_respond_problemf(msb_http_req_t *req, int status, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return msb_http_respond_problem(req, status, n >= 0 ? detail : NULL);
}
