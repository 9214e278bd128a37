/* The document store on MongoDB (mongo-c-driver's client pool): shared by its files. */
#ifndef MSB_DOCSTORE_MONGO_INTERNAL_H
#define MSB_DOCSTORE_MONGO_INTERNAL_H

#include <jansson.h>
#include <mongoc/mongoc.h>
#include <pthread.h>

#include "docstore/driver.h"

typedef struct msb__dsm {
    mongoc_uri_t *uri;
    mongoc_client_pool_t *pool;
    char db[128];
    pthread_mutex_t mu;
    bool probed;
    unsigned caps;
    char server[64]; /* "MongoDB 7.0" or "FerretDB v1.24.2", for messages */
} msb__dsm_t;

/* A collection handle on a pooled client; give both back with msb__dsm_put. */
typedef struct msb__dsm_coll {
    mongoc_client_t *client;
    mongoc_collection_t *coll;
} msb__dsm_coll_t;

MSB_INTERNAL msb_status_t msb__dsm_get(msb__dsm_t *m, const char *coll, msb__dsm_coll_t *out,
                                       msb_error_t *err);
MSB_INTERNAL void msb__dsm_put(msb__dsm_t *m, msb__dsm_coll_t *c);
/* The status of a driver or server error, with its message. */
MSB_INTERNAL msb_status_t msb__dsm_error(const bson_error_t *e, const char *doing,
                                         msb_error_t *err);
/* JSON text (an object) to BSON; NULL text gives an empty document. */
MSB_INTERNAL msb_status_t msb__dsm_bson(const char *json, const char *what, bson_t **out,
                                        msb_error_t *err);
/* Append every document of a cursor to r (relaxed Extended JSON). */
MSB_INTERNAL msb_status_t msb__dsm_drain(mongoc_cursor_t *cur, msb_docstore_result_t *r,
                                         msb_error_t *err);
MSB_INTERNAL msb_status_t msb__dsm_caps(void *h, unsigned *out, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__dsm_find_bson(msb__dsm_t *m, const char *coll, const bson_t *filter,
                                             const msb_docstore_find_opts_t *o,
                                             msb_docstore_result_t *r, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__dsm_search(void *h, const char *coll, const char *text,
                                          const char *const *fields, size_t nfields,
                                          const char *filter, const msb_docstore_find_opts_t *o,
                                          msb_docstore_result_t *r, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__dsm_aggregate(void *h, const char *coll, const char *pipeline,
                                             msb_docstore_result_t *r, msb_error_t *err);
MSB_INTERNAL msb_status_t msb__dsm_index(void *h, const char *coll, const char *keys, bool unique,
                                         msb_error_t *err);

#endif
