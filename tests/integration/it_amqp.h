/* rabbitmq-c helpers for the RabbitMQ integration tests (header-only: static inline; a test that
 * includes it says `// msb-test: backends rabbitmq`). */
#ifndef MSB_IT_AMQP_H
#define MSB_IT_AMQP_H

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "harness.h"

#define IT_AMQP_DEFAULT "amqp://msb:msb@127.0.0.1:55672/msb"

/** Text for a failed RPC reply, into buf. */
static inline const char *it_amqp_reply_text(amqp_rpc_reply_t r, char *buf, size_t len)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        snprintf(buf, len, "ok");
        break;
    case AMQP_RESPONSE_NONE:
        snprintf(buf, len, "no reply");
        break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(buf, len, "%s", amqp_error_string2(r.library_error));
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *m = r.reply.decoded;
            snprintf(buf, len, "connection closed %u: %.*s", m->reply_code, (int)m->reply_text.len,
                     (const char *)m->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *m = r.reply.decoded;
            snprintf(buf, len, "channel closed %u: %.*s", m->reply_code, (int)m->reply_text.len,
                     (const char *)m->reply_text.bytes);
        } else {
            snprintf(buf, len, "server exception, method 0x%08x", r.reply.id);
        }
        break;
    }
    return buf;
}

#define IT_AMQP_OK(conn, what)                                                                     \
    do {                                                                                           \
        char it_amqp_buf_[256];                                                                    \
        amqp_rpc_reply_t it_amqp_r_ = amqp_get_rpc_reply(conn);                                    \
        cr_assert_eq(it_amqp_r_.reply_type, AMQP_RESPONSE_NORMAL, "%s: %s", (what),                \
                     it_amqp_reply_text(it_amqp_r_, it_amqp_buf_, sizeof(it_amqp_buf_)));          \
    } while (0)

/** Connects, logs in and opens channel 1; on failure returns NULL with the reason in err. */
static inline amqp_connection_state_t it_amqp_try_connect(const char *url, char *err, size_t len)
{
    char *copy = strdup(url);
    struct amqp_connection_info ci;
    if (copy == NULL || amqp_parse_url(copy, &ci) != AMQP_STATUS_OK) {
        snprintf(err, len, "cannot parse %s", url);
        free(copy);
        return NULL;
    }
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(c);
    struct timeval tv = {3, 0};
    int rc = sock != NULL ? amqp_socket_open_noblock(sock, ci.host, ci.port, &tv)
                          : AMQP_STATUS_NO_MEMORY;
    if (rc != AMQP_STATUS_OK) {
        snprintf(err, len, "connect to %s:%d: %s", ci.host, ci.port, amqp_error_string2(rc));
        goto fail;
    }
    amqp_set_rpc_timeout(c, &tv);
    amqp_rpc_reply_t r =
        amqp_login(c, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        char why[200];
        snprintf(err, len, "login to vhost %s as %s: %s", ci.vhost, ci.user,
                 it_amqp_reply_text(r, why, sizeof(why)));
        goto fail;
    }
    amqp_channel_open(c, 1);
    r = amqp_get_rpc_reply(c);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        snprintf(err, len, "channel.open failed");
        goto fail;
    }
    free(copy);
    return c;
fail:
    amqp_destroy_connection(c);
    free(copy);
    return NULL;
}

/** Connects to $MSB_AMQP__URL or fails the test naming the server. */
static inline amqp_connection_state_t it_amqp_connect(void)
{
    const char *url = msb_it_env("MSB_AMQP__URL", IT_AMQP_DEFAULT);
    char err[512];
    amqp_connection_state_t c = it_amqp_try_connect(url, err, sizeof(err));
    MSB_IT_REQUIRE("rabbitmq", c != NULL, "%s", err);
    return c;
}

static inline void it_amqp_close(amqp_connection_state_t c)
{
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
}

/** Publishes a persistent message on channel 1 (which must be in confirm mode) and waits for
 *  the broker's basic.ack. Returns false on a nack, a return or a broken connection. */
static inline bool it_amqp_publish_confirmed(amqp_connection_state_t c, const char *exchange,
                                             const char *key, const char *body)
{
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof(props));
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    props.content_type = amqp_cstring_bytes("text/plain");
    if (amqp_basic_publish(c, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes(key), 1, 0,
                           &props, amqp_cstring_bytes(body)) != AMQP_STATUS_OK) {
        return false;
    }
    for (;;) {
        amqp_frame_t f;
        struct timeval tv = {10, 0};
        if (amqp_simple_wait_frame_noblock(c, &f, &tv) != AMQP_STATUS_OK ||
            f.frame_type != AMQP_FRAME_METHOD) {
            return false;
        }
        if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            return true;
        }
        if (f.payload.method.id == AMQP_BASIC_NACK_METHOD ||
            f.payload.method.id == AMQP_BASIC_RETURN_METHOD ||
            f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
            return false;
        }
    }
}

/** basic.get on channel 1 with manual ack: true and the body in buf when a message was there;
 *  *x_death (when not NULL) tells whether it carries the x-death header of a dead letter. */
static inline bool it_amqp_get(amqp_connection_state_t c, const char *queue, char *buf, size_t len,
                               bool *x_death)
{
    amqp_rpc_reply_t r = amqp_basic_get(c, 1, amqp_cstring_bytes(queue), 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL || r.reply.id != AMQP_BASIC_GET_OK_METHOD) {
        return false;
    }
    uint64_t tag = ((amqp_basic_get_ok_t *)r.reply.decoded)->delivery_tag;
    amqp_message_t m;
    r = amqp_read_message(c, 1, &m, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        return false;
    }
    snprintf(buf, len, "%.*s", (int)m.body.len, (const char *)m.body.bytes);
    if (x_death != NULL) {
        *x_death = false;
        if ((m.properties._flags & AMQP_BASIC_HEADERS_FLAG) != 0) {
            for (int i = 0; i < m.properties.headers.num_entries; i++) {
                amqp_bytes_t k = m.properties.headers.entries[i].key;
                if (k.len == 7 && memcmp(k.bytes, "x-death", 7) == 0) {
                    *x_death = true;
                }
            }
        }
    }
    amqp_destroy_message(&m);
    return amqp_basic_ack(c, 1, tag, 0) == AMQP_STATUS_OK;
}

#endif /* MSB_IT_AMQP_H */
