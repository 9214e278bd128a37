/*
 * The distributed limit is one Lua script, run atomically by Redis: it reads the server's clock
 * (TIME, so the processes sharing a limit need not agree on the time), applies the same rule as
 * the local limiters (src/ratelimit/internal.h) and stores the new state with an expiry at the
 * moment the limit would be full again: a key that expires loses nothing.
 *
 * TIME makes the script non-deterministic. Redis 5 and later replicate a script by its effects
 * (the SET it performs), which is always correct; Redis 3.2 and 4 need redis.replicate_commands()
 * before the first write, which the script calls when it exists (Redis 7 keeps it as a no-op
 * that returns true). Redis older than 3.2 refuses the script.
 *
 * Times in the script are microseconds (TIME's resolution) held in Lua's doubles: exact for
 * integers below 2^53, which current Unix times in microseconds (~2^51) are.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "ratelimit/redis/script.h"
#include "redis/redis.h"

static const char script[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local key, mode = KEYS[1], ARGV[1]\n"
    "local a, b = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local burst, n = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local stored = redis.call('GET', key)\n"
    "if mode == 'g' then\n"
    /* GCRA: a = emission interval (us); the state is the theoretical arrival time. */
    "  local cap = burst * a\n"
    "  local tat = now\n"
    "  if stored then tat = math.max(tonumber(stored) or now, now) end\n"
    "  local ahead = tat + n * a - now\n"
    "  if ahead > cap then\n"
    "    return {0, math.floor((cap - (tat - now)) / a + 1e-9), math.ceil(ahead - cap),\n"
    "            math.ceil(tat - now)}\n"
    "  end\n"
    "  if n > 0 then\n"
    "    redis.call('SET', key, string.format('%.17g', tat + n * a), 'PX',\n"
    "               math.ceil(ahead / 1000) + 1)\n"
    "  end\n"
    "  return {1, math.floor((cap - ahead) / a + 1e-9), 0, math.ceil(ahead)}\n"
    "end\n"
    /* Token bucket: a = period (us), b = tokens a period; the state is "period tokens". */
    "local tick = math.floor(now / a)\n"
    "local tokens = burst\n"
    "if stored then\n"
    "  local k, v = string.match(stored, '^(%d+) (%d+)$')\n"
    "  if k then\n"
    "    k = tonumber(k)\n"
    "    if tick < k then tick = k end\n"
    "    tokens = math.min(burst, tonumber(v) + (tick - k) * b)\n"
    "  end\n"
    "end\n"
    "local function wait(missing)\n"
    "  if missing <= 0 then return 0 end\n"
    "  return math.ceil((tick + math.ceil(missing / b)) * a - now)\n"
    "end\n"
    "if n > tokens then\n"
    "  return {0, tokens, wait(n - tokens), wait(burst - tokens)}\n"
    "end\n"
    "if n > 0 then\n"
    "  tokens = tokens - n\n"
    "  redis.call('SET', key, string.format('%d %d', tick, tokens), 'PX',\n"
    "             math.ceil(wait(burst - tokens) / 1000) + 1)\n"
    "end\n"
    "return {1, tokens, 0, wait(burst - tokens)}\n";

static char sha_hex[41];
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;

static void compute_sha(void)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(script, sizeof(script) - 1, md, &len, EVP_sha1(), NULL) != 1 || len != 20) {
        /* EVALSHA with an unknown digest gets NOSCRIPT, and EVAL follows: slower, not wrong */
        memset(sha_hex, '0', 40);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; i++) {
        sha_hex[2 * i] = hex[md[i] >> 4];
        sha_hex[2 * i + 1] = hex[md[i] & 15];
    }
}

const char *msb__rl_script_sha(void)
{
    pthread_once(&sha_once, compute_sha);
    return sha_hex;
}

void msb__rl_script_args(const msb__rl_params_t *p, msb__rl_script_args_t *out)
{
    if (p->algorithm == MSB_RATELIMIT_GCRA) {
        out->mode[0] = 'g';
        snprintf(out->a, sizeof(out->a), "%.17g", (double)p->unit / 1000.0);
        snprintf(out->b, sizeof(out->b), "0");
    } else {
        out->mode[0] = 't';
        snprintf(out->a, sizeof(out->a), "%.17g", (double)p->period / 1000.0);
        snprintf(out->b, sizeof(out->b), "%llu", (unsigned long long)p->rate);
    }
    out->mode[1] = '\0';
    snprintf(out->burst, sizeof(out->burst), "%llu", (unsigned long long)p->burst);
}

void msb__rl_command(msb__rl_command_t *cmd, const msb__rl_script_args_t *args, const char *prefix,
                     size_t prefix_len, const void *key, size_t key_len, uint64_t n, bool eval)
{
    memcpy(cmd->key, prefix, prefix_len);
    memcpy(cmd->key + prefix_len, key, key_len);
    snprintf(cmd->n, sizeof(cmd->n), "%llu", (unsigned long long)n);
    const char *argv[9] = {eval ? "EVAL" : "EVALSHA",
                           eval ? script : msb__rl_script_sha(),
                           "1",
                           cmd->key,
                           args->mode,
                           args->a,
                           args->b,
                           args->burst,
                           cmd->n};
    for (int i = 0; i < 9; i++) {
        cmd->argv[i] = argv[i];
        cmd->lens[i] = strlen(argv[i]);
    }
    cmd->lens[3] = prefix_len + key_len;
}

bool msb__rl_noscript(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_ERROR && r->str != NULL &&
           strncmp(r->str, "NOSCRIPT", 8) == 0;
}

msb_status_t msb__rl_script_reply(const redisReply *r, const char *where, msb__rl_reply_t *out,
                                  msb_error_t *err)
{
    if (r->type == REDIS_REPLY_ERROR) {
        return msb__err(err, msb__redis_error_status(r),
                        "redis %s: the rate limit script failed: %.160s", where, r->str);
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
        return msb__err(err, MSB_EPROTO, "redis %s: unexpected reply to the rate limit script",
                        where);
    }
    for (size_t i = 0; i < 4; i++) {
        if (r->element[i]->type != REDIS_REPLY_INTEGER || r->element[i]->integer < 0) {
            return msb__err(err, MSB_EPROTO, "redis %s: unexpected reply to the rate limit script",
                            where);
        }
    }
    long long us_max = INT64_MAX / 1000;
    out->allowed = r->element[0]->integer == 1;
    out->remaining = (uint64_t)r->element[1]->integer;
    out->retry_after_ns =
        r->element[2]->integer > us_max ? INT64_MAX : r->element[2]->integer * 1000;
    out->reset_ns = r->element[3]->integer > us_max ? INT64_MAX : r->element[3]->integer * 1000;
    return MSB_OK;
}
