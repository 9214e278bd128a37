// msb-test: backends kafka
/* Kafka (KRaft, one node) through librdkafka: the broker does not create topics on its own;
 * a topic made through the admin API takes idempotent produces, and a consumer group reads them
 * back in order per key and commits its offsets. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "it_kafka.h"

#define KEYS     5
#define PER_KEY  8
#define MESSAGES (KEYS * PER_KEY)

Test(kafka_smoke, topic_auto_creation_is_off, .timeout = 60)
{
    rd_kafka_t *p = it_kafka_new(RD_KAFKA_PRODUCER, NULL);
    it_kafka_require_up(p);

    /* The broker's own setting, read through the admin API. */
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, "1");
    rd_kafka_queue_t *q = rd_kafka_queue_new(p);
    rd_kafka_DescribeConfigs(p, &res, 1, NULL, q);
    rd_kafka_event_t *e = it_kafka_admin_wait(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT);
    size_t nres = 0;
    const rd_kafka_ConfigResource_t **out =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(e), &nres);
    cr_assert_eq(nres, 1);
    size_t nentries = 0;
    const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(out[0], &nentries);
    const char *auto_create = NULL;
    for (size_t i = 0; i < nentries; i++) {
        if (strcmp(rd_kafka_ConfigEntry_name(entries[i]), "auto.create.topics.enable") == 0) {
            auto_create = rd_kafka_ConfigEntry_value(entries[i]);
        }
    }
    cr_assert_not_null(auto_create, "the broker did not report auto.create.topics.enable");
    cr_assert_str_eq(auto_create, "false");
    rd_kafka_event_destroy(e);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);

    /* A producer's metadata request asks the broker to create the topic; it must not. */
    char topic[96];
    msb_it_unique(topic, sizeof(topic), "it_kafka_absent");
    rd_kafka_topic_t *t = rd_kafka_topic_new(p, topic, NULL);
    for (int attempt = 0; attempt < 2; attempt++) {
        const struct rd_kafka_metadata *md = NULL;
        cr_assert_eq(rd_kafka_metadata(p, 0, t, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
        cr_assert_eq(md->topic_cnt, 1);
        cr_assert_eq(md->topics[0].err, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "topic %s: %s",
                     topic, rd_kafka_err2str(md->topics[0].err));
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(t);
    rd_kafka_destroy(p);
}

struct seen {
    int next[KEYS]; /* the next sequence number expected per key */
    int total;
};

static void check_order(const rd_kafka_message_t *m, void *user)
{
    struct seen *s = user;
    char key[16];
    char val[32];
    snprintf(key, sizeof(key), "%.*s", (int)m->key_len, (const char *)m->key);
    snprintf(val, sizeof(val), "%.*s", (int)m->len, (const char *)m->payload);
    int k = (int)strtol(key + 1, NULL, 10);
    int seq = (int)strtol(val, NULL, 10);
    cr_assert(k >= 0 && k < KEYS, "unexpected key %s", key);
    cr_assert_eq(seq, s->next[k], "key %s: got %d, expected %d (per-key order)", key, seq,
                 s->next[k]);
    s->next[k]++;
    s->total++;
}

Test(kafka_smoke, produce_and_consume_in_a_group, .timeout = 120)
{
    const char *const pconf[] = {"enable.idempotence", "true", "acks", "all",
                                 "linger.ms",          "5",    NULL};
    rd_kafka_t *p = it_kafka_new(RD_KAFKA_PRODUCER, pconf);
    it_kafka_require_up(p);
    char topic[96];
    char group[96];
    msb_it_unique(topic, sizeof(topic), "it_kafka");
    msb_it_unique(group, sizeof(group), "it_group");
    it_kafka_create_topic(p, topic, 3);

    it_kafka_delivered = 0;
    for (int seq = 0; seq < PER_KEY; seq++) {
        for (int k = 0; k < KEYS; k++) {
            char key[16];
            char val[16];
            snprintf(key, sizeof(key), "k%d", k);
            snprintf(val, sizeof(val), "%d", seq);
            cr_assert_eq(
                rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                  RD_KAFKA_V_VALUE(val, strlen(val)),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                RD_KAFKA_RESP_ERR_NO_ERROR);
        }
    }
    cr_assert_eq(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR, "flush");
    cr_assert_eq(it_kafka_delivered, MESSAGES, "delivered %d of %d: %s", it_kafka_delivered,
                 MESSAGES, rd_kafka_err2str(it_kafka_last_dr_err));

    const char *const cconf[] = {
        "group.id", group, "auto.offset.reset", "earliest", "enable.auto.commit", "false", NULL};
    rd_kafka_t *c = it_kafka_new(RD_KAFKA_CONSUMER, cconf);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    cr_assert_eq(rd_kafka_subscribe(c, sub), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(sub);

    struct seen s = {{0}, 0};
    cr_assert_eq(it_kafka_consume(c, MESSAGES, 60000, check_order, &s), MESSAGES,
                 "the group consumed %d of %d messages in 60 s", s.total, MESSAGES);
    cr_assert_eq(rd_kafka_commit(c, NULL, 0), RD_KAFKA_RESP_ERR_NO_ERROR, "synchronous commit");

    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(3);
    for (int i = 0; i < 3; i++) {
        rd_kafka_topic_partition_list_add(parts, topic, i);
    }
    cr_assert_eq(rd_kafka_committed(c, parts, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    int64_t sum = 0;
    for (int i = 0; i < parts->cnt; i++) {
        sum += parts->elems[i].offset > 0 ? parts->elems[i].offset : 0;
    }
    cr_assert_eq(sum, MESSAGES, "committed offsets add up to the messages read");
    rd_kafka_topic_partition_list_destroy(parts);

    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    it_kafka_delete_topic(p, topic);
    rd_kafka_destroy(p);
}
