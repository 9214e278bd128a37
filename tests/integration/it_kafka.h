/* librdkafka helpers for the Kafka integration tests (header-only: static inline; a test that
 * includes it says `// msb-test: backends kafka`). */
#ifndef MSB_IT_KAFKA_H
#define MSB_IT_KAFKA_H

#include <criterion/criterion.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define IT_KAFKA_DEFAULT "127.0.0.1:59092"

static inline const char *it_kafka_brokers(void)
{
    return msb_it_env("MSB_KAFKA__BROKERS", IT_KAFKA_DEFAULT);
}

/** The error of the last delivery report (producers made by it_kafka_new record it). */
static rd_kafka_resp_err_t it_kafka_last_dr_err;
static int it_kafka_delivered;

static inline void it_kafka_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    it_kafka_last_dr_err = m->err;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        it_kafka_delivered++;
    }
}

/** A client of @p type with bootstrap.servers set and the given extra key/value pairs
 *  (NULL-terminated); fails the test on a bad setting. Producers record delivery reports in
 *  it_kafka_last_dr_err and it_kafka_delivered. */
static inline rd_kafka_t *it_kafka_new(rd_kafka_type_t type, const char *const *kv)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", it_kafka_brokers(), err, sizeof(err)),
                 RD_KAFKA_CONF_OK, "%s", err);
    for (; kv != NULL && kv[0] != NULL; kv += 2) {
        cr_assert_eq(rd_kafka_conf_set(conf, kv[0], kv[1], err, sizeof(err)), RD_KAFKA_CONF_OK,
                     "%s=%s: %s", kv[0], kv[1], err);
    }
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set_dr_msg_cb(conf, it_kafka_on_delivery);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    cr_assert_not_null(rk, "rd_kafka_new: %s", err);
    return rk;
}

/** Fails the test naming the server unless the cluster answers a metadata request. */
static inline void it_kafka_require_up(rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, 10000);
    MSB_IT_REQUIRE("kafka", e == RD_KAFKA_RESP_ERR_NO_ERROR && md->broker_cnt > 0,
                   "metadata from %s: %s", it_kafka_brokers(), rd_kafka_err2str(e));
    rd_kafka_metadata_destroy(md);
}

/** Waits for the admin result event of type @p ev on @p q (up to 30 s). */
static inline rd_kafka_event_t *it_kafka_admin_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t ev)
{
    rd_kafka_event_t *e = rd_kafka_queue_poll(q, 30000);
    cr_assert_not_null(e, "no admin result within 30 s");
    cr_assert_eq(rd_kafka_event_type(e), ev, "admin event %s: %s", rd_kafka_event_name(e),
                 rd_kafka_event_error_string(e));
    cr_assert_eq(rd_kafka_event_error(e), RD_KAFKA_RESP_ERR_NO_ERROR, "%s",
                 rd_kafka_event_error_string(e));
    return e;
}

/** Creates @p topic with @p partitions partitions (replication factor 1) through the admin API
 *  and waits until the controller has it. */
static inline void it_kafka_create_topic(rd_kafka_t *rk, const char *topic, int partitions)
{
    char err[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof(err));
    cr_assert_not_null(nt, "%s", err);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opt, 20000, err, sizeof(err));
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, opt, q);
    rd_kafka_event_t *e = it_kafka_admin_wait(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT);
    size_t n = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(e), &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(rd_kafka_topic_result_error(res[0]), RD_KAFKA_RESP_ERR_NO_ERROR,
                 "CreateTopics %s: %s", topic, rd_kafka_topic_result_error_string(res[0]));
    rd_kafka_event_destroy(e);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_NewTopic_destroy(nt);
}

static inline void it_kafka_delete_topic(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopics(rk, &dt, 1, NULL, q);
    rd_kafka_event_t *e = it_kafka_admin_wait(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT);
    size_t n = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(e), &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(rd_kafka_topic_result_error(res[0]), RD_KAFKA_RESP_ERR_NO_ERROR,
                 "DeleteTopics %s: %s", topic, rd_kafka_topic_result_error_string(res[0]));
    rd_kafka_event_destroy(e);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy(dt);
}

/** Produces one message and waits for its delivery report; returns the report's error (or the
 *  flush's, when none came within @p timeout_ms). */
static inline rd_kafka_resp_err_t it_kafka_produce_sync(rd_kafka_t *p, const char *topic,
                                                        const char *key, const char *value,
                                                        int timeout_ms)
{
    it_kafka_last_dr_err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    rd_kafka_resp_err_t e =
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return e;
    }
    e = rd_kafka_flush(p, timeout_ms);
    return e != RD_KAFKA_RESP_ERR_NO_ERROR ? e : it_kafka_last_dr_err;
}

/** Polls @p c until @p want messages arrived or @p timeout_ms passed; calls @p on_msg for each
 *  (with @p user). Returns how many arrived. */
static inline int it_kafka_consume(rd_kafka_t *c, int want, int timeout_ms,
                                   void (*on_msg)(const rd_kafka_message_t *m, void *user),
                                   void *user)
{
    int got = 0;
    int64_t deadline = msb_it_now_ms() + timeout_ms;
    while (got < want && msb_it_now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (m == NULL) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            on_msg(m, user);
            got++;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            cr_log_warn("consumer: %s", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    return got;
}

#endif /* MSB_IT_KAFKA_H */
