/*
 * The invalidation subscriber of a two-tier cache: a thread with its own connection, SUBSCRIBEd
 * to the cache's channel, reconnecting with backoff when the connection drops. It waits in
 * poll() on the socket and on a pipe that msb__cache_redis_unsubscribe() writes to, so stopping
 * never waits for a timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <stdatomic.h>
#include <unistd.h>

#include "cache/redis/internal.h"
#include "core/alloc.h"
#include "core/error.h"

typedef struct sub {
    msb__cache_redis_t *r;
    msb__cache_msg_cb on_msg;
    msb__cache_state_cb on_state;
    void *user;
    pthread_t thread;
    int wake[2];
    atomic_bool stop;
    msb__redis_backoff_t backoff;
} sub_t;

/* Wait `ns` or until woken; true when asked to stop. */
static bool nap(sub_t *s, int64_t ns)
{
    struct pollfd p = {s->wake[0], POLLIN, 0};
    int ms = (int)(ns / MSB_MSEC) + 1;
    while (!atomic_load(&s->stop)) {
        int n = poll(&p, 1, ms);
        if (n >= 0 || errno != EINTR) {
            break;
        }
    }
    return atomic_load(&s->stop);
}

static void dispatch(sub_t *s, const redisReply *rep)
{
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3) {
        return;
    }
    const redisReply *kind = rep->element[0];
    const redisReply *data = rep->element[2];
    if (kind->type == REDIS_REPLY_STRING && kind->len == 7 &&
        memcmp(kind->str, "message", 7) == 0 && data->type == REDIS_REPLY_STRING) {
        s->on_msg(s->user, data->str, data->len);
    }
}

/* Read messages until the connection fails or we are told to stop. */
static void listen_on(sub_t *s, redisContext *c)
{
    struct pollfd p[2] = {{c->fd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
    while (!atomic_load(&s->stop)) {
        int n = poll(p, 2, -1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 || (p[1].revents & POLLIN) != 0) {
            return;
        }
        if (redisBufferRead(c) != REDIS_OK) {
            return;
        }
        void *rep = NULL;
        while (redisReaderGetReply(c->reader, &rep) == REDIS_OK && rep != NULL) {
            dispatch(s, rep);
            freeReplyObject(rep);
            rep = NULL;
        }
        if (c->reader->err != 0) {
            return;
        }
    }
}

static void *run(void *arg)
{
    sub_t *s = arg;
    msb__cache_redis_t *r = s->r;
    while (!atomic_load(&s->stop)) {
        redisContext *c = NULL;
        msb_status_t rc = msb__redis_connect(&r->url, &r->timeouts, &c, NULL);
        redisReply *rep = NULL;
        if (rc == MSB_OK) {
            const char *argv[] = {"SUBSCRIBE", r->channel};
            size_t lens[] = {9, r->channel_len};
            rc = msb__redis_command(c, 2, argv, lens, &rep, NULL);
        }
        if (rc == MSB_OK && rep->type == REDIS_REPLY_ARRAY) {
            freeReplyObject(rep);
            msb__redis_backoff_ok(&s->backoff);
            s->on_state(s->user, true);
            listen_on(s, c);
            s->on_state(s->user, false);
        } else if (rep != NULL) {
            freeReplyObject(rep);
        }
        if (c != NULL) {
            redisFree(c);
        }
        if (!atomic_load(&s->stop)) {
            nap(s, msb__redis_backoff_fail(&s->backoff, msb_clock_monotonic_ns(NULL)));
        }
    }
    return NULL;
}

msb_status_t msb__cache_redis_subscribe(void *h, msb__cache_msg_cb on_msg,
                                        msb__cache_state_cb on_state, void *user, void **out,
                                        msb_error_t *err)
{
    sub_t *s = msb__calloc(1, sizeof(*s));
    if (s == NULL) {
        return msb__err_nomem(err, "a cache subscriber");
    }
    s->r = h;
    s->on_msg = on_msg;
    s->on_state = on_state;
    s->user = user;
    s->backoff.min_ns = MSB__CACHE_BACKOFF_MIN;
    s->backoff.max_ns = MSB__CACHE_BACKOFF_MAX;
    atomic_init(&s->stop, false);
    if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        msb__free(s);
        return msb__err(err, MSB_EIO, "cache: cannot create the subscriber's pipe");
    }
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        close(s->wake[0]);
        close(s->wake[1]);
        msb__free(s);
        return msb__err(err, MSB_ENOMEM, "cache: cannot start the subscriber thread");
    }
    *out = s;
    return MSB_OK;
}

void msb__cache_redis_unsubscribe(void *sub)
{
    sub_t *s = sub;
    if (s == NULL) {
        return;
    }
    atomic_store(&s->stop, true);
    char b = 1;
    ssize_t n = write(s->wake[1], &b, 1);
    (void)n;
    pthread_join(s->thread, NULL);
    close(s->wake[0]);
    close(s->wake[1]);
    msb__free(s);
}
