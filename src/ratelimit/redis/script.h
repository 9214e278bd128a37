/* The rate limit's Lua script and its arguments (Redis backend, in libmsb-redis.so). */
#ifndef MSB_RATELIMIT_REDIS_SCRIPT_H
#define MSB_RATELIMIT_REDIS_SCRIPT_H

#include <hiredis/hiredis.h>

#include "ratelimit/driver.h"

#define MSB__RL_PREFIX_MAX 256
#define MSB__RL_KEY_MAX    1024

/* The script's fixed arguments (ARGV[1..4]) for a limit, as strings. */
typedef struct msb__rl_script_args {
    char mode[2];
    char a[40];
    char b[24];
    char burst[24];
} msb__rl_script_args_t;

/* A command ready to send: EVALSHA sha 1 key mode a b burst n (EVAL script … after NOSCRIPT). */
typedef struct msb__rl_command {
    const char *argv[9];
    size_t lens[9];
    char n[24];
    char key[MSB__RL_PREFIX_MAX + MSB__RL_KEY_MAX];
} msb__rl_command_t;

MSB_INTERNAL void msb__rl_script_args(const msb__rl_params_t *p, msb__rl_script_args_t *out);
/* The script's SHA-1 in hex (40 characters and a NUL), computed once. */
MSB_INTERNAL const char *msb__rl_script_sha(void);
/* Fill `cmd` for prefix + key and n permits; with `eval`, the EVAL form. */
MSB_INTERNAL void msb__rl_command(msb__rl_command_t *cmd, const msb__rl_script_args_t *args,
                                  const char *prefix, size_t prefix_len, const void *key,
                                  size_t key_len, uint64_t n, bool eval);
/* Whether an error reply is NOSCRIPT (the server lost or never had the script: send EVAL). */
MSB_INTERNAL bool msb__rl_noscript(const redisReply *r);
/* Read the script's reply. MSB_OK; or the error reply's status (see msb__redis_error_status)
 * or MSB_EPROTO for a reply of the wrong shape, with the detail. */
MSB_INTERNAL msb_status_t msb__rl_script_reply(const redisReply *r, const char *where,
                                               msb__rl_reply_t *out, msb_error_t *err);

#endif
