/*
 * Redis connections shared by every Redis driver (rate limiter, cache, events): URL parsing,
 * blocking connections with timeouts and AUTH/SELECT, a pool that backs off while the server is
 * down and reconnects when it returns, and an asynchronous connection on a libevent loop.
 * Part of the redis plugin (libmsb-redis.so): only code built into the plugin includes it.
 *
 * hiredis 0.14 (Debian 12) speaks RESP2 without TLS. Host names are resolved by hiredis with
 * getaddrinfo, synchronously, even by the asynchronous connection: give an address to keep a
 * loop from ever waiting on DNS.
 */
#ifndef MSB_REDIS_REDIS_H
#define MSB_REDIS_REDIS_H

#include <hiredis/hiredis.h>

#include "core/common.h"
#include "msb/clock.h"

struct event_base;

/* ---- URL: redis://[[user][:password]@]host[:port][/db] ------------------------------------ */

#define MSB__REDIS_HOST_MAX 256 /* buffer sizes, NUL included */
#define MSB__REDIS_CRED_MAX 256
#define MSB__REDIS_PORT_DEF 6379

typedef struct msb__redis_url {
    char host[MSB__REDIS_HOST_MAX]; /* name or address; an IPv6 address without brackets */
    int port;
    int db;
    bool has_user; /* ACL user name given (Redis 6+: AUTH user password) */
    bool has_password;
    char user[MSB__REDIS_CRED_MAX]; /* percent-decoded */
    char password[MSB__REDIS_CRED_MAX];
} msb__redis_url_t;

/*
 * Parse `url` (NUL-terminated) strictly: scheme "redis" (case-insensitive; "rediss" is refused:
 * hiredis 0.14 has no TLS), optional userinfo with %XX escapes, a host (name, IPv4, or [IPv6]),
 * a port 1..65535 (default 6379), an optional database number 0..2147483647 (default 0). No
 * query or fragment. MSB_EINVAL or MSB_ENOTSUP with the reason; the message never contains the
 * password.
 */
MSB_INTERNAL msb_status_t msb__redis_url_parse(const char *url, msb__redis_url_t *out,
                                               msb_error_t *err);
/* "host:port" or "[v6]:port", for messages. */
MSB_INTERNAL void msb__redis_url_where(const msb__redis_url_t *u, char *buf, size_t size);

/* ---- blocking connections -------------------------------------------------------------------- */

typedef struct msb__redis_timeouts {
    int64_t connect_ns; /* > 0 */
    int64_t command_ns; /* > 0: each command, read and write */
} msb__redis_timeouts_t;

/* Connect, set the timeouts and TCP keep-alive, AUTH and SELECT. MSB_EUNAVAIL (cannot connect),
 * MSB_ETIMEDOUT, MSB_EAUTH (AUTH refused), MSB_EINVAL (SELECT refused: no such database) or
 * MSB_ENOMEM, naming host:port. */
MSB_INTERNAL msb_status_t msb__redis_connect(const msb__redis_url_t *u,
                                             const msb__redis_timeouts_t *t, redisContext **out,
                                             msb_error_t *err);

/*
 * Send one command and read its reply. MSB_OK: *out is the reply (free with freeReplyObject; it
 * may be an error reply). Otherwise the connection is broken and must be freed: MSB_ETIMEDOUT,
 * MSB_EUNAVAIL (closed or reset), MSB_ENOMEM.
 */
MSB_INTERNAL msb_status_t msb__redis_command(redisContext *c, int argc, const char **argv,
                                             const size_t *lens, redisReply **out,
                                             msb_error_t *err);

/* The status an error reply deserves: MSB_EUNAVAIL for a server that cannot serve now (LOADING,
 * BUSY, MASTERDOWN, READONLY: a replica after a failover, TRYAGAIN, CLUSTERDOWN), MSB_EAUTH for
 * NOAUTH/WRONGPASS/NOPERM, else MSB_EPROTO. */
MSB_INTERNAL msb_status_t msb__redis_error_status(const redisReply *r);

/* ---- backoff between reconnection attempts -----------------------------------------------------
 */

typedef struct msb__redis_backoff {
    int64_t min_ns;
    int64_t max_ns;
    int64_t cur_ns;   /* the next delay before jitter; 0 after a success */
    uint64_t next_at; /* monotonic ns of the next attempt; 0: now */
} msb__redis_backoff_t;

/* A failure at `now`: the next attempt waits the current delay with jitter in [d/2, d], and the
 * delay doubles up to max. Returns the wait. */
MSB_INTERNAL int64_t msb__redis_backoff_fail(msb__redis_backoff_t *b, uint64_t now);
MSB_INTERNAL void msb__redis_backoff_ok(msb__redis_backoff_t *b);

/* ---- a pool of blocking connections -------------------------------------------------------------
 */

typedef struct msb__redis_pool msb__redis_pool_t;

typedef struct msb__redis_pool_opts {
    const msb__redis_url_t *url;
    msb__redis_timeouts_t timeouts;
    size_t size;            /* connections at most, >= 1 */
    int64_t backoff_min_ns; /* first wait after a failure */
    int64_t backoff_max_ns;
    const msb_clock_t *clock;
} msb__redis_pool_opts_t;

MSB_INTERNAL msb_status_t msb__redis_pool_new(const msb__redis_pool_opts_t *o,
                                              msb__redis_pool_t **out, msb_error_t *err);
/* Every connection must have been put back. */
MSB_INTERNAL void msb__redis_pool_free(msb__redis_pool_t *p);
/*
 * Borrow a connection: an idle one, or a new one. While the server is down and its next attempt
 * is not due, fails at once with MSB_EUNAVAIL (the last failure's message); only one caller
 * probes a server that is down. With every connection busy, waits up to the command timeout
 * (MSB_EBUSY). Thread-safe.
 */
MSB_INTERNAL msb_status_t msb__redis_pool_get(msb__redis_pool_t *p, redisContext **out,
                                              msb_error_t *err);
/* Give a connection back. `broken` (a command failed on it): free it, close the idle ones too
 * (they lead to the same server), and back off. */
MSB_INTERNAL void msb__redis_pool_put(msb__redis_pool_t *p, redisContext *c, bool broken,
                                      const msb_error_t *why);
/* Whether the last attempt to reach the server succeeded. */
MSB_INTERNAL bool msb__redis_pool_up(msb__redis_pool_t *p);
/* Nanoseconds until the next connection attempt (0 when up or due). */
MSB_INTERNAL int64_t msb__redis_pool_retry_in(msb__redis_pool_t *p);

/* ---- an asynchronous connection on a libevent loop ----------------------------------------------
 */

typedef struct msb__redis_async msb__redis_async_t;
typedef struct msb__redis_req msb__redis_req_t;

/*
 * One request. The caller embeds it in its own struct and sets the two callbacks:
 *   on_reply  runs inside hiredis with the reply (NULL when none came: the connection failed or
 *             closed). It may only read the reply (freed when it returns), never call libmsb.
 *   on_done   runs once, on the loop's thread, outside hiredis, with MSB_OK when a reply came,
 *             else MSB_EUNAVAIL, MSB_ETIMEDOUT or MSB_ECANCELED (the connection was freed), and
 *             a borrowed error detail. It may send new requests or free the connection.
 */
struct msb__redis_req {
    void (*on_reply)(msb__redis_req_t *req, const redisReply *reply);
    void (*on_done)(msb__redis_req_t *req, msb_status_t status, const msb_error_t *err);
    /* private to async.c */
    msb__redis_req_t *next;
    uint64_t sent_at;
    msb_status_t status;
};

typedef struct msb__redis_async_opts {
    const msb__redis_url_t *url;
    msb__redis_timeouts_t timeouts;
    int64_t backoff_min_ns;
    int64_t backoff_max_ns;
} msb__redis_async_opts_t;

/* Create the connection and start connecting (it reconnects by itself, with backoff). Bound to
 * `base`: every other call happens on the thread running that loop. */
MSB_INTERNAL msb_status_t msb__redis_async_new(struct event_base *base,
                                               const msb__redis_async_opts_t *o,
                                               msb__redis_async_t **out, msb_error_t *err);
/* Pending requests complete with MSB_ECANCELED, inside this call. May be called from on_done. */
MSB_INTERNAL void msb__redis_async_free(msb__redis_async_t *a);
/* Send a command. MSB_OK: on_done will run (never inside this call). MSB_EUNAVAIL when there is
 * no connection now (nothing will run), MSB_ENOMEM. */
MSB_INTERNAL msb_status_t msb__redis_async_send(msb__redis_async_t *a, msb__redis_req_t *req,
                                                int argc, const char **argv, const size_t *lens,
                                                msb_error_t *err);
/* Complete `req` with `status` without Redis: on_done runs from the loop, later. */
MSB_INTERNAL void msb__redis_async_complete(msb__redis_async_t *a, msb__redis_req_t *req,
                                            msb_status_t status);
MSB_INTERNAL bool msb__redis_async_up(const msb__redis_async_t *a);

#endif
