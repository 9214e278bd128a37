// msb-test: backends kafka
/* The Kafka broker killed with SIGKILL: a message produced while it is down waits in the
 * producer, which reconnects on its own once the broker is back and delivers it; a consumer
 * group then reads the messages from before and during the outage. */
#include <criterion/criterion.h>

#include "it_kafka.h"

static void restore(void)
{
    msb_it_infra_restore("kafka");
}

struct bodies {
    char got[4][32];
    int n;
};

static void collect(const rd_kafka_message_t *m, void *user)
{
    struct bodies *b = user;
    if (b->n < 4) {
        snprintf(b->got[b->n], sizeof(b->got[0]), "%.*s", (int)m->len, (const char *)m->payload);
    }
    b->n++;
}

Test(kafka_fault, producer_reconnects_after_kill, .fini = restore, .timeout = 300)
{
    const char *const pconf[] = {
        "enable.idempotence",       "true", "acks", "all", "message.timeout.ms", "180000",
        "reconnect.backoff.max.ms", "1000", NULL};
    rd_kafka_t *p = it_kafka_new(RD_KAFKA_PRODUCER, pconf);
    it_kafka_require_up(p);
    char topic[96];
    char group[96];
    msb_it_unique(topic, sizeof(topic), "it_kafka_fault");
    msb_it_unique(group, sizeof(group), "it_group_fault");
    it_kafka_create_topic(p, topic, 1);
    cr_assert_eq(it_kafka_produce_sync(p, topic, "k", "before", 30000), RD_KAFKA_RESP_ERR_NO_ERROR,
                 "produce before the kill");

    MSB_IT_INFRA("kill", "kafka");
    it_kafka_delivered = 0;
    cr_assert_eq(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY("k", 1),
                                   RD_KAFKA_V_VALUE("during", 6),
                                   RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                 RD_KAFKA_RESP_ERR_NO_ERROR, "the producer queues while the broker is down");
    cr_assert_eq(rd_kafka_flush(p, 2000), RD_KAFKA_RESP_ERR__TIMED_OUT,
                 "nothing can be delivered while the broker is down");
    cr_assert_eq(it_kafka_delivered, 0);

    MSB_IT_INFRA("start", "kafka");
    cr_assert_eq(rd_kafka_flush(p, 120000), RD_KAFKA_RESP_ERR_NO_ERROR,
                 "the queued message was not delivered within 120 s of the restart");
    cr_assert_eq(it_kafka_delivered, 1, "delivery report: %s",
                 rd_kafka_err2str(it_kafka_last_dr_err));

    const char *const cconf[] = {"group.id", group, "auto.offset.reset", "earliest", NULL};
    rd_kafka_t *c = it_kafka_new(RD_KAFKA_CONSUMER, cconf);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    cr_assert_eq(rd_kafka_subscribe(c, sub), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(sub);
    struct bodies b = {{""}, 0};
    cr_assert_eq(it_kafka_consume(c, 2, 60000, collect, &b), 2, "read %d of 2 messages", b.n);
    cr_assert_str_eq(b.got[0], "before");
    cr_assert_str_eq(b.got[1], "during");

    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    it_kafka_delete_topic(p, topic);
    rd_kafka_destroy(p);
}
