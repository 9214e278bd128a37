/*
 * The document store's backend table. The core (docstore.c, submit.c) checks arguments, picks
 * the backend by URL scheme and runs loop work on its threads; a backend runs each call against
 * its server. MongoDB lives in src/docstore/mongo/ (libmsb-mongo.so), SQLite in
 * src/docstore/sqlite/ (libmsb-sqlite.so); the core finds them with
 * msb__driver_get("docstore", "mongo" | "sqlite", ...).
 */
#ifndef MSB_DOCSTORE_DRIVER_H
#define MSB_DOCSTORE_DRIVER_H

#include "core/common.h"
#include "msb/docstore.h"

#define MSB__DOCSTORE_DRIVER_ABI 1

typedef struct msb__docstore_cfg {
    const char *url;
    size_t pool_size;
    int64_t timeout_ns;
} msb__docstore_cfg_t;

/* Every function: blocking, thread-safe; collection names were checked by the core; JSON text
 * may still be invalid (MSB_EINVAL naming what). Results are appended with
 * msb__docstore_result_add(). */
typedef struct msb__docstore_driver {
    uint32_t abi;
    msb_status_t (*open)(const msb__docstore_cfg_t *cfg, void **out, msb_error_t *err);
    void (*close)(void *h);
    msb_status_t (*caps)(void *h, unsigned *out, msb_error_t *err);
    msb_status_t (*insert)(void *h, const char *coll, const char *doc, char **id_out,
                           msb_error_t *err);
    msb_status_t (*find)(void *h, const char *coll, const char *filter,
                         const msb_docstore_find_opts_t *o, msb_docstore_result_t *r,
                         msb_error_t *err);
    msb_status_t (*count)(void *h, const char *coll, const char *filter, int64_t *out,
                          msb_error_t *err);
    msb_status_t (*update)(void *h, const char *coll, const char *filter, const char *update,
                           bool many, int64_t *matched, msb_error_t *err);
    msb_status_t (*del)(void *h, const char *coll, const char *filter, bool many, int64_t *deleted,
                        msb_error_t *err);
    msb_status_t (*create_index)(void *h, const char *coll, const char *keys, bool unique,
                                 msb_error_t *err);
    msb_status_t (*search)(void *h, const char *coll, const char *text, const char *const *fields,
                           size_t nfields, const char *filter, const msb_docstore_find_opts_t *o,
                           msb_docstore_result_t *r, msb_error_t *err);
    msb_status_t (*aggregate)(void *h, const char *coll, const char *pipeline,
                              msb_docstore_result_t *r, msb_error_t *err);
    msb_status_t (*drop)(void *h, const char *coll, msb_error_t *err);
} msb__docstore_driver_t;

/* Append a copy of json[0..len) (NUL-terminated in the result). MSB_ENOMEM. */
MSB_INTERNAL msb_status_t msb__docstore_result_add(msb_docstore_result_t *r, const char *json,
                                                   size_t len);
/* A new ObjectId as 24 lowercase hex digits and a NUL: 4 bytes of seconds, 5 random bytes
 * (per process), a 3-byte counter. */
MSB_INTERNAL void msb__docstore_oid(char out[25]);
/* Escape `text` for a regular expression (every non-alphanumeric byte gets a backslash) or for
 * LIKE (`%`, `_` and `\` get a backslash) into a new string. NULL: out of memory. */
MSB_INTERNAL char *msb__docstore_escape_regex(const char *text);
MSB_INTERNAL char *msb__docstore_escape_like(const char *text);

#endif
