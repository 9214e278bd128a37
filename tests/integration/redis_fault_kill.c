// msb-test: backends redis
/* Redis killed with SIGKILL (a crash): the client sees the connection fail, reconnects once the
 * server is back, and finds the key written before the crash (replayed from the AOF). */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <string.h>

#include "harness.h"

static void restore(void)
{
    msb_it_infra_restore("redis");
}

static redisContext *connect_redis(const char *url)
{
    msb_it_url_t u;
    cr_assert(msb_it_url_parse(url, &u), "bad MSB_REDIS__URL: %s", url);
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout(u.host, u.port > 0 ? u.port : 6379, tv);
    MSB_IT_REQUIRE("redis", c != NULL && c->err == 0, "connect to %s: %s", url,
                   c != NULL ? c->errstr : "out of memory");
    return c;
}

/* One reconnection attempt: true once the same context talks to the server again. */
static bool reconnect_and_ping(void *arg)
{
    redisContext *c = arg;
    if (redisReconnect(c) != REDIS_OK) {
        return false;
    }
    redisReply *r = redisCommand(c, "PING");
    bool ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    freeReplyObject(r);
    return ok;
}

Test(redis_fault, reconnects_after_kill_and_keeps_aof_data, .fini = restore, .timeout = 180)
{
    const char *url = msb_it_env("MSB_REDIS__URL", "redis://127.0.0.1:56379/0");
    redisContext *c = connect_redis(url);
    char key[96];
    msb_it_unique(key, sizeof(key), "it_redis_fault");

    /* Every write reaches the AOF before its reply (until the restart re-reads the config), so
     * the key below is in the file when the process dies. */
    redisReply *r = redisCommand(c, "CONFIG SET appendfsync always");
    cr_assert(r != NULL && r->type == REDIS_REPLY_STATUS, "CONFIG SET appendfsync always");
    freeReplyObject(r);
    r = redisCommand(c, "SET %s before-the-crash", key);
    cr_assert(r != NULL && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);

    MSB_IT_INFRA("kill", "redis");
    r = redisCommand(c, "GET %s", key);
    cr_assert_null(r, "a command on the dead server's connection must fail");
    cr_assert_neq(c->err, 0);
    cr_log_info("after the kill: %s", c->errstr);
    cr_assert_eq(reconnect_and_ping(c), false, "nothing listens while Redis is down");

    MSB_IT_INFRA("start", "redis");
    cr_assert(msb_it_wait_until(reconnect_and_ping, c, 30000, 100),
              "the client did not reconnect within 30 s: %s", c->errstr);

    r = redisCommand(c, "GET %s", key);
    cr_assert(r != NULL && r->type == REDIS_REPLY_STRING, "GET after restart");
    cr_assert_str_eq(r->str, "before-the-crash", "the AOF kept the write");
    freeReplyObject(r);
    r = redisCommand(c, "CONFIG GET appendfsync");
    cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    cr_assert_str_eq(r->element[1]->str, "everysec", "the restart re-read the config file");
    freeReplyObject(r);
    freeReplyObject(redisCommand(c, "DEL %s", key));
    redisFree(c);
}
