/**
 * @file docstore.h
 * @brief A document store: MongoDB (mongo-c-driver's client pool, plugin libmsb-mongo) or,
 * as the embedded default, JSON documents in SQLite (plugin libmsb-sqlite), chosen by URL.
 *
 * @code
 * msb_docstore_opts_t o = MSB_DOCSTORE_OPTS_INIT;
 * o.url = "sqlite:/var/lib/products/docs.db";   // or "mongodb://127.0.0.1:57017/msb"
 * msb_docstore_t *ds;
 * if (msb_docstore_new(&o, &ds, &err) != MSB_OK) { ... }
 * msb_docstore_insert(ds, "products", "{\"name\":\"Lamp\",\"price\":25}", NULL, &err);
 * msb_docstore_find_opts_t f = MSB_DOCSTORE_FIND_OPTS_INIT;
 * f.sort = "{\"price\":-1}";
 * f.limit = 20;
 * msb_docstore_result_t *r;
 * msb_docstore_find(ds, "products", "{\"price\":{\"$lt\":100}}", &f, &r, &err);
 * for (size_t i = 0; i < msb_docstore_result_count(r); i++)
 *     puts(msb_docstore_result_doc(r, i, NULL));
 * msb_docstore_result_free(r);
 * @endcode
 *
 * **JSON in, JSON out.** Documents, filters, updates, sort and projection specifications and
 * pipelines are JSON text in MongoDB's query language (Extended JSON v2 for BSON types:
 * `{"$oid":"…"}`, `{"$date":"…"}`). Results are JSON text owned by an #msb_docstore_result_t.
 * The API takes text, not jansson `json_t`, so a program needs no JSON library of ours and the
 * same strings work over both backends; parse results with any JSON parser.
 *
 * **Ids.** A document inserted without `_id` gets a new ObjectId, `{"$oid":"<24 hex>"}`, on
 * both backends.
 *
 * **Backends differ** in what they support: `docs/docstore.md` has the feature matrix (MongoDB,
 * FerretDB 1.24, SQLite). The SQLite backend implements the subset the product service needs
 * and returns #MSB_ENOTSUP naming the operator for anything else. msb_docstore_caps() tells
 * what the connected server can do (probed once, on first use).
 *
 * Thread-safety: an #msb_docstore_t is safe from any thread. Every call blocks the calling
 * thread (network or disk I/O): from an event loop, use msb_docstore_submit(), which runs the
 * call on the store's worker threads and completes on the loop.
 */
#ifndef MSB_DOCSTORE_H
#define MSB_DOCSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msb/error.h"

MSB_BEGIN_DECLS

struct event_base;

/** @brief A document store (opaque). @since 0.1 */
typedef struct msb_docstore msb_docstore_t;

/** @brief Documents returned by a query (opaque). @since 0.1 */
typedef struct msb_docstore_result msb_docstore_result_t;

/** @brief Options of msb_docstore_new(). Initialise with #MSB_DOCSTORE_OPTS_INIT. @since 0.1 */
typedef struct msb_docstore_opts {
    size_t size; /**< sizeof(msb_docstore_opts_t) */
    /** "mongodb://…" (the database is the URL's path, default "msb") or "sqlite:PATH"
     *  ("sqlite::memory:" for a private in-memory store). Required. */
    const char *url;
    size_t pool_size;   /**< MongoDB: clients in the pool at most (default 16) */
    int64_t timeout_ns; /**< server selection / busy timeout (default 5 s) */
    unsigned workers;   /**< threads of msb_docstore_submit() (default 2; started on first use) */
} msb_docstore_opts_t;

/** Defaults: pool of 16, 5 s timeout, 2 workers. */
#define MSB_DOCSTORE_OPTS_INIT                                                                     \
    {                                                                                              \
        .size = sizeof(msb_docstore_opts_t), .url = NULL, .pool_size = 16,                         \
        .timeout_ns = 5 * INT64_C(1000000000), .workers = 2                                        \
    }

/** @brief Options of queries. Initialise with #MSB_DOCSTORE_FIND_OPTS_INIT. @since 0.1 */
typedef struct msb_docstore_find_opts {
    size_t size;            /**< sizeof(msb_docstore_find_opts_t) */
    const char *sort;       /**< JSON `{"field": 1 | -1, …}` or NULL */
    const char *projection; /**< JSON `{"field": 1, …}` (inclusion) or `{"field": 0}`, or NULL */
    int64_t limit;          /**< at most this many documents; 0: no limit */
    int64_t skip;           /**< skip this many first */
} msb_docstore_find_opts_t;

/** No sort, no projection, no limit, no skip. */
#define MSB_DOCSTORE_FIND_OPTS_INIT                                                                \
    {                                                                                              \
        .size = sizeof(msb_docstore_find_opts_t), .sort = NULL, .projection = NULL, .limit = 0,    \
        .skip = 0                                                                                  \
    }

/** @name Capabilities (msb_docstore_caps())
 * @{ */
#define MSB_DOCSTORE_CAP_TEXT_INDEX 0x01u /**< text indexes and `$text` (MongoDB) */
#define MSB_DOCSTORE_CAP_REGEX      0x02u /**< `$regex` in filters (MongoDB, FerretDB) */
#define MSB_DOCSTORE_CAP_AGGREGATE  0x04u /**< aggregation pipelines (MongoDB, FerretDB) */
#define MSB_DOCSTORE_CAP_LOOKUP     0x08u /**< the `$lookup` stage (MongoDB) */
#define MSB_DOCSTORE_CAP_GROUP_ALL                                                                 \
    0x10u /**< every `$group` accumulator (MongoDB; FerretDB                                       \
               has only `$count` and `$sum`) */
/** @} */

/**
 * @brief Open a document store.
 *
 * MongoDB: the pool is created and the server is probed on first use (a server that is down
 * does not fail this call). SQLite: the file is opened (created if needed) in WAL mode.
 * @param opts options; `url` is required.
 * @param out receives the store.
 * @param err optional detail.
 * @return #MSB_OK; #MSB_EINVAL (bad URL, naming what); #MSB_ENOTSUP (unknown scheme, or the
 *   backend left out of this build); #MSB_EUNAVAIL (plugin cannot be loaded); #MSB_EIO (SQLite
 *   file cannot be opened); #MSB_ENOMEM.
 * Ownership: *out is new; free it with msb_docstore_free().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_new(const msb_docstore_opts_t *opts, msb_docstore_t **out,
                                      msb_error_t *err);

/**
 * @brief Close the store; submitted calls finish first. NULL is a no-op.
 * Thread-safety: no other call may be using it.
 * @since 0.1
 */
MSB_API void msb_docstore_free(msb_docstore_t *ds);

/**
 * @brief What the server supports (#MSB_DOCSTORE_CAP_TEXT_INDEX, …): probed once and cached.
 * @param ds the store.
 * @param out receives the flags.
 * @param err optional detail.
 * @return #MSB_OK or the probe's failure (#MSB_EUNAVAIL …).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_caps(msb_docstore_t *ds, unsigned *out, msb_error_t *err);

/**
 * @brief Insert one document.
 * @param ds the store.
 * @param coll the collection (`[A-Za-z0-9_.-]`, 1–64 bytes; `system.` reserved).
 * @param doc a JSON object.
 * @param id_out optional: receives the `_id` as JSON text (new; free with msb_docstore_str_free()).
 * @param err optional detail.
 * @return #MSB_OK; #MSB_EEXIST (duplicate `_id` or unique index); #MSB_EINVAL (not a JSON
 *   object, bad collection name); backend failures.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_insert(msb_docstore_t *ds, const char *coll, const char *doc,
                                         char **id_out, msb_error_t *err);

/**
 * @brief Find documents matching a filter.
 * @param ds the store.
 * @param coll the collection.
 * @param filter a JSON filter (NULL or "{}": every document).
 * @param opts sort, projection, limit, skip (NULL: none).
 * @param out receives the documents.
 * @param err optional detail.
 * @return #MSB_OK (possibly no documents); #MSB_EINVAL (bad JSON, bad field path);
 *   #MSB_ENOTSUP (an operator this backend lacks, named); backend failures.
 * Ownership: *out is new; free it with msb_docstore_result_free().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_find(msb_docstore_t *ds, const char *coll, const char *filter,
                                       const msb_docstore_find_opts_t *opts,
                                       msb_docstore_result_t **out, msb_error_t *err);

/**
 * @brief Find the first document matching a filter.
 * @param ds the store.
 * @param coll the collection.
 * @param filter a JSON filter.
 * @param doc_out receives the document (new; free with msb_docstore_str_free()).
 * @param err optional detail.
 * @return #MSB_OK, #MSB_ENOTFOUND, or as msb_docstore_find().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_find_one(msb_docstore_t *ds, const char *coll, const char *filter,
                                           char **doc_out, msb_error_t *err);

/**
 * @brief Count the documents matching a filter.
 * @param ds the store.
 * @param coll the collection.
 * @param filter a JSON filter (NULL: all).
 * @param out receives the count.
 * @param err optional detail.
 * @return as msb_docstore_find().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_count(msb_docstore_t *ds, const char *coll, const char *filter,
                                        int64_t *out, msb_error_t *err);

/**
 * @brief Update the first (or every) document matching a filter.
 *
 * `update` is either an update document with operators — `$set`, `$unset`, `$inc` on every
 * backend — or a replacement document without operators (many must be false); `_id` cannot be
 * changed.
 * @param ds the store.
 * @param coll the collection.
 * @param filter a JSON filter.
 * @param update the JSON update or replacement.
 * @param many update every match (else the first).
 * @param matched optional: receives how many documents matched.
 * @param err optional detail.
 * @return #MSB_OK (also when nothing matched), #MSB_EINVAL, #MSB_ENOTSUP, #MSB_EEXIST (unique
 *   index), backend failures.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_update(msb_docstore_t *ds, const char *coll, const char *filter,
                                         const char *update, bool many, int64_t *matched,
                                         msb_error_t *err);

/**
 * @brief Delete the first (or every) document matching a filter.
 * @param ds the store.
 * @param coll the collection.
 * @param filter a JSON filter ("{}" with many: every document).
 * @param many delete every match (else the first).
 * @param deleted optional: receives how many were deleted.
 * @param err optional detail.
 * @return as msb_docstore_find().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_delete(msb_docstore_t *ds, const char *coll, const char *filter,
                                         bool many, int64_t *deleted, msb_error_t *err);

/**
 * @brief Create an index (a no-op when it exists).
 *
 * `keys` is `{"field": 1 | -1, …}`; a text index is `{"field": "text", …}` (MongoDB: a real
 * text index; FerretDB: #MSB_ENOTSUP; SQLite: the fields become msb_docstore_search()'s
 * defaults).
 * @param ds the store.
 * @param coll the collection.
 * @param keys the JSON key specification.
 * @param unique reject duplicates.
 * @param err optional detail.
 * @return #MSB_OK, #MSB_EINVAL, #MSB_ENOTSUP, #MSB_EEXIST (unique, and duplicates exist).
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_create_index(msb_docstore_t *ds, const char *coll,
                                               const char *keys, bool unique, msb_error_t *err);

/**
 * @brief Text search: documents matching `filter` whose text matches `text`.
 *
 * MongoDB with a text index on the collection: `$text` (word matching, stemming). Otherwise
 * (FerretDB, SQLite, or no text index): a case-insensitive substring match of `text` on any of
 * `fields` (`$regex` with the text escaped, or SQLite LIKE). Give `fields` for the fallback
 * (SQLite also takes the fields of its text index).
 * @param ds the store.
 * @param coll the collection.
 * @param text the words to look for (non-empty).
 * @param fields the fields to match for the fallback, or NULL.
 * @param nfields how many.
 * @param filter an additional JSON filter, or NULL.
 * @param opts sort, projection, limit, skip (NULL: none).
 * @param out receives the documents.
 * @param err optional detail.
 * @return as msb_docstore_find(); #MSB_EINVAL when the fallback has no fields.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_search(msb_docstore_t *ds, const char *coll, const char *text,
                                         const char *const *fields, size_t nfields,
                                         const char *filter, const msb_docstore_find_opts_t *opts,
                                         msb_docstore_result_t **out, msb_error_t *err);

/**
 * @brief Run an aggregation pipeline (a JSON array of stages).
 *
 * MongoDB: any pipeline. FerretDB: no `$lookup`; `$group` only with `$count` and `$sum`
 * (checked before sending: #MSB_ENOTSUP naming the stage or accumulator). SQLite: `$match`,
 * `$group` (with `$sum`, `$count`, `$avg`, `$min`, `$max`; `_id` a field path or null),
 * `$sort`, `$skip`, `$limit`, in the order `$match`, `$group`, then the others.
 * @param ds the store.
 * @param coll the collection.
 * @param pipeline the JSON array.
 * @param out receives the documents.
 * @param err optional detail.
 * @return as msb_docstore_find().
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_aggregate(msb_docstore_t *ds, const char *coll,
                                            const char *pipeline, msb_docstore_result_t **out,
                                            msb_error_t *err);

/**
 * @brief Drop a collection and its indexes (absent: a no-op).
 * @param ds the store.
 * @param coll the collection.
 * @param err optional detail.
 * @return #MSB_OK or the failure.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_drop(msb_docstore_t *ds, const char *coll, msb_error_t *err);

/* ---- results ------------------------------------------------------------------------------ */

/**
 * @brief The number of documents in a result.
 * @param r the result.
 * @return the count.
 * @since 0.1
 */
MSB_API size_t msb_docstore_result_count(const msb_docstore_result_t *r);

/**
 * @brief The i-th document as JSON text.
 * @param r the result.
 * @param i below msb_docstore_result_count().
 * @param len optional: receives its length.
 * @return NUL-terminated JSON, borrowed until msb_docstore_result_free(); NULL when out of range.
 * @since 0.1
 */
MSB_API const char *msb_docstore_result_doc(const msb_docstore_result_t *r, size_t i, size_t *len);

/**
 * @brief Free a result. NULL is a no-op.
 * @since 0.1
 */
MSB_API void msb_docstore_result_free(msb_docstore_result_t *r);

/**
 * @brief Free a string returned by the store (ids, msb_docstore_find_one()). NULL is a no-op.
 * @since 0.1
 */
MSB_API void msb_docstore_str_free(char *s);

/* ---- from an event loop ------------------------------------------------------------------- */

/**
 * @brief Work for msb_docstore_submit(): runs on a worker thread, may call any blocking
 * function of the store, and returns a status.
 * @param ds the store.
 * @param arg the caller's pointer.
 * @param err detail to fill on failure.
 * @since 0.1
 */
typedef msb_status_t (*msb_docstore_work_fn)(msb_docstore_t *ds, void *arg, msb_error_t *err);

/**
 * @brief Completion of msb_docstore_submit(), on the loop's thread.
 * @param status what the work returned.
 * @param err its detail on failure, else NULL.
 * @param arg the caller's pointer.
 * @since 0.1
 */
typedef void (*msb_docstore_done_fn)(msb_status_t status, const msb_error_t *err, void *arg);

/**
 * @brief Run blocking store calls off the loop: `work` runs on one of the store's worker
 * threads, then `done` runs on `base`'s thread. Nothing blocks the loop.
 *
 * The loop must be running (or run later) for `done` to be called. Internally the store keeps
 * a small thread pool behind one function, to be replaced by the service's worker pool.
 * @param ds the store.
 * @param base the loop that receives the completion.
 * @param work the blocking part.
 * @param done the completion.
 * @param arg passed to both.
 * @param err optional detail.
 * @return #MSB_OK (done will run), #MSB_EINVAL, #MSB_ENOMEM, #MSB_ECLOSED.
 * Thread-safety: safe from any thread; `base` must be used by one thread.
 * @since 0.1
 */
MSB_API msb_status_t msb_docstore_submit(msb_docstore_t *ds, struct event_base *base,
                                         msb_docstore_work_fn work, msb_docstore_done_fn done,
                                         void *arg, msb_error_t *err);

MSB_END_DECLS

#endif /* MSB_DOCSTORE_H */
