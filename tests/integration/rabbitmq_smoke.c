// msb-test: backends rabbitmq
/* RabbitMQ through rabbitmq-c: in the msb vhost as user msb, a quorum queue with a dead-letter
 * exchange; publish with publisher confirms, consume with manual ack, and a rejected message
 * lands in the dead-letter queue. */
#include <criterion/criterion.h>

#include "it_amqp.h"

struct names {
    char dlx[96];
    char dlq[96];
    char queue[96];
};

static void declare_topology(amqp_connection_state_t c, const struct names *n)
{
    amqp_exchange_declare(c, 1, amqp_cstring_bytes(n->dlx), amqp_cstring_bytes("fanout"), 0, 1, 0,
                          0, amqp_empty_table);
    IT_AMQP_OK(c, "exchange.declare (dead-letter exchange)");
    amqp_queue_declare(c, 1, amqp_cstring_bytes(n->dlq), 0, 1, 0, 0, amqp_empty_table);
    IT_AMQP_OK(c, "queue.declare (dead-letter queue)");
    amqp_queue_bind(c, 1, amqp_cstring_bytes(n->dlq), amqp_cstring_bytes(n->dlx),
                    amqp_cstring_bytes(""), amqp_empty_table);
    IT_AMQP_OK(c, "queue.bind");

    amqp_table_entry_t args[2];
    args[0].key = amqp_cstring_bytes("x-queue-type");
    args[0].value.kind = AMQP_FIELD_KIND_UTF8;
    args[0].value.value.bytes = amqp_cstring_bytes("quorum");
    args[1].key = amqp_cstring_bytes("x-dead-letter-exchange");
    args[1].value.kind = AMQP_FIELD_KIND_UTF8;
    args[1].value.value.bytes = amqp_cstring_bytes(n->dlx);
    amqp_table_t table = {2, args};
    amqp_queue_declare(c, 1, amqp_cstring_bytes(n->queue), 0, 1, 0, 0, table);
    IT_AMQP_OK(c, "queue.declare (quorum queue with a dead-letter exchange)");
}

/* Waits for the next delivery of the consumer on channel 1; its body goes into buf. */
static uint64_t next_delivery(amqp_connection_state_t c, char *buf, size_t len)
{
    amqp_envelope_t env;
    struct timeval tv = {10, 0};
    amqp_maybe_release_buffers(c);
    amqp_rpc_reply_t r = amqp_consume_message(c, &env, &tv, 0);
    char why[256];
    cr_assert_eq(r.reply_type, AMQP_RESPONSE_NORMAL, "no delivery within 10 s: %s",
                 it_amqp_reply_text(r, why, sizeof(why)));
    snprintf(buf, len, "%.*s", (int)env.message.body.len, (const char *)env.message.body.bytes);
    uint64_t tag = env.delivery_tag;
    amqp_destroy_envelope(&env);
    return tag;
}

struct dlq_wait {
    amqp_connection_state_t conn;
    const char *queue;
    char body[128];
    bool x_death;
};

static bool dead_letter_arrived(void *arg)
{
    struct dlq_wait *w = arg;
    return it_amqp_get(w->conn, w->queue, w->body, sizeof(w->body), &w->x_death);
}

Test(rabbitmq_smoke, quorum_queue_confirms_acks_and_dead_letters, .timeout = 60)
{
    amqp_connection_state_t c = it_amqp_connect();
    struct names n;
    msb_it_unique(n.dlx, sizeof(n.dlx), "it_dlx");
    msb_it_unique(n.dlq, sizeof(n.dlq), "it_dlq");
    msb_it_unique(n.queue, sizeof(n.queue), "it_quorum");
    declare_topology(c, &n);

    amqp_confirm_select(c, 1);
    IT_AMQP_OK(c, "confirm.select");
    cr_assert(it_amqp_publish_confirmed(c, "", n.queue, "first"), "publish 1 not confirmed");
    cr_assert(it_amqp_publish_confirmed(c, "", n.queue, "second"), "publish 2 not confirmed");

    amqp_basic_qos(c, 1, 0, 1, 0);
    IT_AMQP_OK(c, "basic.qos");
    amqp_basic_consume(c, 1, amqp_cstring_bytes(n.queue), amqp_empty_bytes, 0, 0, 0,
                       amqp_empty_table);
    IT_AMQP_OK(c, "basic.consume");

    char body[128];
    uint64_t tag = next_delivery(c, body, sizeof(body));
    cr_assert_str_eq(body, "first", "deliveries keep their order");
    cr_assert_eq(amqp_basic_ack(c, 1, tag, 0), AMQP_STATUS_OK);
    tag = next_delivery(c, body, sizeof(body));
    cr_assert_str_eq(body, "second");
    cr_assert_eq(amqp_basic_reject(c, 1, tag, 0), AMQP_STATUS_OK, "reject without requeue");

    struct dlq_wait w = {c, n.dlq, "", false};
    cr_assert(msb_it_wait_until(dead_letter_arrived, &w, 10000, 50),
              "the rejected message did not reach the dead-letter queue");
    cr_assert_str_eq(w.body, "second");
    cr_assert(w.x_death, "a dead letter carries the x-death header");

    amqp_queue_delete(c, 1, amqp_cstring_bytes(n.queue), 0, 0);
    IT_AMQP_OK(c, "queue.delete");
    amqp_queue_delete(c, 1, amqp_cstring_bytes(n.dlq), 0, 0);
    IT_AMQP_OK(c, "queue.delete");
    amqp_exchange_delete(c, 1, amqp_cstring_bytes(n.dlx), 0);
    IT_AMQP_OK(c, "exchange.delete");
    it_amqp_close(c);
}
