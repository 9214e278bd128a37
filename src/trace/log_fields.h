/*
 * The two types of log.h that the trace log hook writes, exactly as log.h specifies them, for
 * builds of this branch made before log.h is in the tree (log_hook.c uses msb/log.h as soon as it
 * exists). Not installed; remove once log.h has landed.
 */
#ifndef MSB_TRACE_LOG_FIELDS_H
#define MSB_TRACE_LOG_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum msb_log_type {
    MSB_LOG_STRING,
    MSB_LOG_INT,
    MSB_LOG_DOUBLE,
    MSB_LOG_BOOL
} msb_log_type_t;
typedef struct msb_log_field {
    const char *key;
    msb_log_type_t type;
    union {
        struct {
            const char *ptr;
            size_t len;
        } s;
        int64_t i;
        double d;
        bool b;
    } v;
} msb_log_field_t;

#endif
