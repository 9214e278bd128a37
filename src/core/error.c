#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

static const struct {
    const char *name;
    const char *text;
} statuses[] = {
    [MSB_OK] = {"MSB_OK", "success"},
    [MSB_EINVAL] = {"MSB_EINVAL", "invalid argument"},
    [MSB_ENOMEM] = {"MSB_ENOMEM", "out of memory"},
    [MSB_ETIMEDOUT] = {"MSB_ETIMEDOUT", "timed out"},
    [MSB_EUNAVAIL] = {"MSB_EUNAVAIL", "unavailable"},
    [MSB_ENOTSUP] = {"MSB_ENOTSUP", "not supported"},
    [MSB_ENOTFOUND] = {"MSB_ENOTFOUND", "not found"},
    [MSB_EEXIST] = {"MSB_EEXIST", "already exists"},
    [MSB_EIO] = {"MSB_EIO", "I/O error"},
    [MSB_EPROTO] = {"MSB_EPROTO", "protocol error or malformed input"},
    [MSB_ERANGE] = {"MSB_ERANGE", "value out of range"},
    [MSB_EBUSY] = {"MSB_EBUSY", "resource busy"},
    [MSB_ECANCELED] = {"MSB_ECANCELED", "cancelled"},
    [MSB_EREJECTED] = {"MSB_EREJECTED", "rejected"},
    [MSB_ECONFLICT] = {"MSB_ECONFLICT", "conflict"},
    [MSB_EAUTH] = {"MSB_EAUTH", "authentication failed"},
    [MSB_EPERM] = {"MSB_EPERM", "permission denied"},
    [MSB_ECLOSED] = {"MSB_ECLOSED", "closed"},
    [MSB_ETOOBIG] = {"MSB_ETOOBIG", "too big"},
    [MSB_EINTERNAL] = {"MSB_EINTERNAL", "internal error"},
    [MSB_ELIMIT] = {"MSB_ELIMIT", "limit reached"},
};

const char *msb_strerror(msb_status_t status)
{
    if ((unsigned)status >= MSB_ARRAY_LEN(statuses) || statuses[status].text == NULL) {
        return "unknown status";
    }
    return statuses[status].text;
}

const char *msb_status_name(msb_status_t status)
{
    if ((unsigned)status >= MSB_ARRAY_LEN(statuses) || statuses[status].name == NULL) {
        return "MSB_E?";
    }
    return statuses[status].name;
}

MSB_PRINTF(4, 0)
static void set_message(msb_error_t *err, msb_status_t code, const char *prefix, const char *fmt,
                        va_list ap)
{
    char buf[MSB_ERROR_MESSAGE_MAX];
    size_t used = 0;

    buf[0] = '\0';
    if (fmt != NULL && fmt[0] != '\0') {
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        used = n < 0 ? 0 : ((size_t)n >= sizeof(buf) ? sizeof(buf) - 1 : (size_t)n);
    }
    if (used == 0 && prefix == NULL) {
        snprintf(err->message, sizeof(err->message), "%s", msb_strerror(code));
    } else if (prefix != NULL) {
        snprintf(err->message, sizeof(err->message), "%s%s", buf, prefix);
    } else {
        memcpy(err->message, buf, used + 1);
    }
    err->code = code;
}

msb_status_t msb__err(msb_error_t *err, msb_status_t code, const char *fmt, ...)
{
    if (err == NULL) {
        return code;
    }
    va_list ap;
    va_start(ap, fmt);
    set_message(err, code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

msb_status_t msb__err_prefix(msb_error_t *err, msb_status_t code, const char *fmt, ...)
{
    if (err == NULL) {
        return code;
    }
    char old[MSB_ERROR_MESSAGE_MAX];
    if (err->code == MSB_OK || err->message[0] == '\0') {
        snprintf(old, sizeof(old), "%s", msb_strerror(code));
    } else {
        memcpy(old, err->message, sizeof(old));
        code = err->code;
    }
    va_list ap;
    va_start(ap, fmt);
    set_message(err, code, old, fmt, ap);
    va_end(ap);
    return code;
}
