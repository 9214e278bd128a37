// msb-test: backends redis
/* Redis through hiredis: both instances of scripts/infra answer, the first has AOF on, and the
 * commands the library builds on (strings with TTL, counters, hashes, lists, Lua, pub/sub-free
 * pipelines) work. */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define REDIS_DEFAULT  "redis://127.0.0.1:56379/0"
#define REDIS2_DEFAULT "redis://127.0.0.1:56380/0"

static redisContext *connect_url(const char *server, const char *var, const char *def)
{
    const char *url = msb_it_env(var, def);
    msb_it_url_t u;
    cr_assert(msb_it_url_parse(url, &u) && strcmp(u.scheme, "redis") == 0, "bad %s: %s", var, url);
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout(u.host, u.port > 0 ? u.port : 6379, tv);
    MSB_IT_REQUIRE(server, c != NULL && c->err == 0, "connect to %s: %s", url,
                   c != NULL ? c->errstr : "out of memory");
    if (u.path[0] != '\0' && strcmp(u.path, "0") != 0) {
        redisReply *r = redisCommand(c, "SELECT %s", u.path);
        cr_assert(r != NULL && r->type == REDIS_REPLY_STATUS, "SELECT %s", u.path);
        freeReplyObject(r);
    }
    return c;
}

/* Runs a command and checks the reply's type; the caller frees the reply. */
static redisReply *cmd_expect(redisContext *c, int type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert(r != NULL, "%s: %s", fmt, c->errstr);
    cr_assert_eq(r->type, type, "%s: reply type %d (%s)", fmt, r->type,
                 r->type == REDIS_REPLY_ERROR ? r->str : "");
    return r;
}

Test(redis_smoke, primary_has_aof_and_basic_commands)
{
    redisContext *c = connect_url("redis", "MSB_REDIS__URL", REDIS_DEFAULT);
    redisReply *r = cmd_expect(c, REDIS_REPLY_STATUS, "PING");
    cr_assert_str_eq(r->str, "PONG");
    freeReplyObject(r);

    r = cmd_expect(c, REDIS_REPLY_ARRAY, "CONFIG GET appendonly");
    cr_assert_eq(r->elements, 2);
    cr_assert_str_eq(r->element[1]->str, "yes", "AOF must be on");
    freeReplyObject(r);

    r = cmd_expect(c, REDIS_REPLY_STRING, "INFO server");
    cr_assert_not_null(strstr(r->str, "redis_version:7."), "Redis 7 expected");
    freeReplyObject(r);

    char key[96];
    msb_it_unique(key, sizeof(key), "it_redis");
    freeReplyObject(cmd_expect(c, REDIS_REPLY_STATUS, "SET %s %b EX 60", key, "v\0x", (size_t)3));
    r = cmd_expect(c, REDIS_REPLY_STRING, "GET %s", key);
    cr_assert_eq(r->len, 3);
    cr_assert_eq(memcmp(r->str, "v\0x", 3), 0, "binary-safe value");
    freeReplyObject(r);
    r = cmd_expect(c, REDIS_REPLY_INTEGER, "TTL %s", key);
    cr_assert(r->integer > 0 && r->integer <= 60, "TTL %lld", r->integer);
    freeReplyObject(r);

    char ctr[112];
    snprintf(ctr, sizeof(ctr), "%s:ctr", key);
    /* Pipelined: three INCRs in one round trip. */
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(redisAppendCommand(c, "INCR %s", ctr), REDIS_OK);
    }
    for (long long want = 1; want <= 3; want++) {
        void *reply = NULL;
        cr_assert_eq(redisGetReply(c, &reply), REDIS_OK);
        cr_assert_eq(((redisReply *)reply)->integer, want);
        freeReplyObject(reply);
    }

    r = cmd_expect(c, REDIS_REPLY_INTEGER, "EVAL %s 1 %s",
                   "return redis.call('INCRBY', KEYS[1], 10)", ctr);
    cr_assert_eq(r->integer, 13, "Lua sees the counter");
    freeReplyObject(r);

    char hash[112];
    snprintf(hash, sizeof(hash), "%s:h", key);
    freeReplyObject(cmd_expect(c, REDIS_REPLY_INTEGER, "HSET %s a 1 b 2", hash));
    r = cmd_expect(c, REDIS_REPLY_ARRAY, "HGETALL %s", hash);
    cr_assert_eq(r->elements, 4);
    freeReplyObject(r);

    r = cmd_expect(c, REDIS_REPLY_INTEGER, "DEL %s %s %s", key, ctr, hash);
    cr_assert_eq(r->integer, 3);
    freeReplyObject(r);
    redisFree(c);
}

static void run_id(redisContext *c, char *buf, size_t len)
{
    redisReply *r = cmd_expect(c, REDIS_REPLY_STRING, "INFO server");
    const char *p = strstr(r->str, "run_id:");
    cr_assert_not_null(p, "INFO server has no run_id");
    p += strlen("run_id:");
    size_t n = strcspn(p, "\r\n");
    cr_assert_lt(n, len);
    memcpy(buf, p, n);
    buf[n] = '\0';
    freeReplyObject(r);
}

Test(redis_smoke, second_instance_is_independent)
{
    redisContext *a = connect_url("redis", "MSB_REDIS__URL", REDIS_DEFAULT);
    redisContext *b = connect_url("redis2", "MSB_TEST__REDIS2__URL", REDIS2_DEFAULT);
    char key[96];
    msb_it_unique(key, sizeof(key), "it_redis2");
    freeReplyObject(cmd_expect(b, REDIS_REPLY_STATUS, "SET %s only-here EX 60", key));
    redisReply *r = cmd_expect(b, REDIS_REPLY_STRING, "GET %s", key);
    cr_assert_str_eq(r->str, "only-here");
    freeReplyObject(r);
    freeReplyObject(cmd_expect(a, REDIS_REPLY_NIL, "GET %s", key));
    /* Another server, not the same one under another name. */
    char id_a[64] = "";
    char id_b[64] = "";
    run_id(a, id_a, sizeof(id_a));
    run_id(b, id_b, sizeof(id_b));
    cr_assert_str_neq(id_a, id_b, "redis and redis2 are the same server (run_id %s)", id_a);
    freeReplyObject(cmd_expect(b, REDIS_REPLY_INTEGER, "DEL %s", key));
    redisFree(a);
    redisFree(b);
}
