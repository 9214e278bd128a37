/* Blocking Redis connections: connect with a timeout, AUTH, SELECT; commands; backoff. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/rand.h"
#include "redis/redis.h"

static struct timeval to_timeval(int64_t ns)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ns / MSB_SEC);
    tv.tv_usec = (suseconds_t)((ns % MSB_SEC) / 1000);
    if (tv.tv_sec == 0 && tv.tv_usec == 0) {
        tv.tv_usec = 1;
    }
    return tv;
}

/* Whether hiredis' last failure on `c` was a socket timeout (SO_RCVTIMEO / SO_SNDTIMEO). */
static bool timed_out(const redisContext *c, int saved_errno)
{
    return c->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
                                      saved_errno == ETIMEDOUT || saved_errno == EINPROGRESS);
}

static msb_status_t context_error(const redisContext *c, int saved_errno, const char *where,
                                  const char *doing, msb_error_t *err)
{
    if (c->err == REDIS_ERR_OOM) {
        return msb__err(err, MSB_ENOMEM, "redis %s: out of memory %s", where, doing);
    }
    if (timed_out(c, saved_errno)) {
        return msb__err(err, MSB_ETIMEDOUT, "redis %s: timed out %s", where, doing);
    }
    const char *why = c->errstr[0] != '\0' ? c->errstr : "connection failed";
    if (c->err == REDIS_ERR_EOF) {
        why = "connection closed by the server";
    }
    return msb__err(err, MSB_EUNAVAIL, "redis %s: %s %s", where, why, doing);
}

msb_status_t msb__redis_error_status(const redisReply *r)
{
    static const char *const unavailable[] = {"LOADING",  "BUSY",     "MASTERDOWN",
                                              "READONLY", "TRYAGAIN", "CLUSTERDOWN"};
    static const char *const auth[] = {"NOAUTH", "WRONGPASS", "NOPERM"};
    const char *s = r->str != NULL ? r->str : "";
    for (size_t i = 0; i < MSB_ARRAY_LEN(unavailable); i++) {
        size_t n = strlen(unavailable[i]);
        if (strncmp(s, unavailable[i], n) == 0 && (s[n] == ' ' || s[n] == '\0')) {
            return MSB_EUNAVAIL;
        }
    }
    for (size_t i = 0; i < MSB_ARRAY_LEN(auth); i++) {
        size_t n = strlen(auth[i]);
        if (strncmp(s, auth[i], n) == 0 && (s[n] == ' ' || s[n] == '\0')) {
            return MSB_EAUTH;
        }
    }
    return MSB_EPROTO;
}

msb_status_t msb__redis_command(redisContext *c, int argc, const char **argv, const size_t *lens,
                                redisReply **out, msb_error_t *err)
{
    errno = 0;
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    int saved = errno;
    if (r == NULL) {
        char where[MSB__REDIS_HOST_MAX + 16];
        snprintf(where, sizeof(where), "%s:%d", c->tcp.host != NULL ? c->tcp.host : "?",
                 c->tcp.port);
        return context_error(c, saved, where, "during a command", err);
    }
    *out = r;
    return MSB_OK;
}

/* AUTH or SELECT during the connection set-up; `refused` is the status of an error reply. */
static msb_status_t setup_command(redisContext *c, const char *where, int argc, const char **argv,
                                  msb_status_t refused, msb_error_t *err)
{
    redisReply *r = NULL;
    msb_status_t rc = msb__redis_command(c, argc, argv, NULL, &r, err);
    if (rc != MSB_OK || r == NULL) {
        return rc != MSB_OK ? rc : MSB_EPROTO;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        msb_status_t st = msb__redis_error_status(r);
        if (st == MSB_EPROTO) {
            st = refused;
        }
        rc = msb__err(err, st, "redis %s: %s refused: %.120s", where, argv[0], r->str);
    }
    freeReplyObject(r);
    return rc;
}

static msb_status_t handshake(redisContext *c, const msb__redis_url_t *u, const char *where,
                              msb_error_t *err)
{
    msb_status_t rc = MSB_OK;
    if (u->has_user) {
        const char *argv[] = {"AUTH", u->user, u->password};
        rc = setup_command(c, where, 3, argv, MSB_EAUTH, err);
    } else if (u->has_password) {
        const char *argv[] = {"AUTH", u->password};
        rc = setup_command(c, where, 2, argv, MSB_EAUTH, err);
    }
    if (rc == MSB_OK && u->db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", u->db);
        const char *argv[] = {"SELECT", db};
        rc = setup_command(c, where, 2, argv, MSB_EINVAL, err);
    } else if (rc == MSB_OK && !u->has_password) {
        /* Nothing was asked yet: make sure a server answers (a port that accepts and stays
         * silent is not a server that is up). */
        const char *argv[] = {"PING"};
        rc = setup_command(c, where, 1, argv, MSB_EPROTO, err);
    }
    return rc;
}

msb_status_t msb__redis_connect(const msb__redis_url_t *u, const msb__redis_timeouts_t *t,
                                redisContext **out, msb_error_t *err)
{
    char where[MSB__REDIS_HOST_MAX + 16];
    msb__redis_url_where(u, where, sizeof(where));
    errno = 0;
    redisContext *c = redisConnectWithTimeout(u->host, u->port, to_timeval(t->connect_ns));
    int saved = errno;
    if (c == NULL) {
        return msb__err(err, MSB_ENOMEM, "redis %s: out of memory connecting", where);
    }
    if (c->err != 0) {
        msb_status_t rc = context_error(c, saved, where, "(connecting)", err);
        redisFree(c);
        return rc;
    }
    msb_status_t rc = MSB_OK;
    if (redisSetTimeout(c, to_timeval(t->command_ns)) != REDIS_OK) {
        rc = msb__err(err, MSB_EIO, "redis %s: cannot set the command timeout", where);
    }
    if (rc == MSB_OK) {
        redisEnableKeepAlive(c);
        rc = handshake(c, u, where, err);
    }
    if (rc != MSB_OK) {
        redisFree(c);
        return rc;
    }
    *out = c;
    return MSB_OK;
}

int64_t msb__redis_backoff_fail(msb__redis_backoff_t *b, uint64_t now)
{
    int64_t d = b->cur_ns > 0 ? b->cur_ns : b->min_ns;
    int64_t wait = d / 2 + (int64_t)msb__rand_below((uint64_t)(d - d / 2) + 1);
    b->next_at = now + (uint64_t)wait;
    b->cur_ns = d > b->max_ns / 2 ? b->max_ns : d * 2;
    return wait;
}

void msb__redis_backoff_ok(msb__redis_backoff_t *b)
{
    b->cur_ns = 0;
    b->next_at = 0;
}
