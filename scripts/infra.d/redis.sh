# Redis 7 (Debian): `redis` on 56379 with AOF on, and a second independent instance `redis2` on
# 56380 (also AOF) for failover and multi-node tests. Both run as the `redis` user.
# shellcheck shell=bash

redis_port() { if [ "$1" = redis ]; then echo 56379; else echo 56380; fi; }
redis_conf() { echo "$MSB_INFRA_DIR/$1/redis.conf"; }

pkgs_redis() { echo redis-server redis-tools; }
pkgs_redis2() { pkgs_redis; }
log_redis() { echo "$MSB_INFRA_LOGS/redis.log"; }
log_redis2() { echo "$MSB_INFRA_LOGS/redis2.log"; }
ports_redis() { echo 56379; }
ports_redis2() { echo 56380; }
timeout_redis() { echo 60; }
timeout_redis2() { echo 60; }

redis_prepare() {
  local name=$1 dir=$MSB_INFRA_DIR/$1
  infra_own_dirs redis "$dir" "$dir/data"
  infra_own_file redis "$(infra_log "$name")"
  cat >"$(redis_conf "$name")" <<EOF
# Written by scripts/infra on every start; edit scripts/infra.d/redis.sh instead.
bind $INFRA_HOST
port $(redis_port "$name")
protected-mode yes
daemonize yes
supervised no
pidfile $dir/redis.pid
logfile $(infra_log "$name")
loglevel notice
dir $dir/data
appendonly yes
appendfilename "appendonly.aof"
appenddirname "appendonlydir"
appendfsync everysec
save ""
databases 16
maxclients 10000
set-proc-title yes
proc-title-template "{title} {listen-addr} {config-file}"
EOF
}
prepare_redis() { redis_prepare redis; }
prepare_redis2() { redis_prepare redis2; }

redis_pid() {
  pid_from_file "$MSB_INFRA_DIR/$1/redis.pid" redis-server ||
    pid_from_cmdline redis-server "$(redis_conf "$1")"
}
pid_redis() { redis_pid redis; }
pid_redis2() { redis_pid redis2; }

redis_launch() {
  setpriv --reuid=redis --regid=redis --init-groups -- redis-server "$(redis_conf "$1")" \
    >>"$(infra_log "$1")" 2>&1 </dev/null
}
launch_redis() { redis_launch redis; }
launch_redis2() { redis_launch redis2; }

# PONG only once the AOF is loaded (until then Redis answers -LOADING).
redis_probe() {
  [ "$(timeout 3 redis-cli -h "$INFRA_HOST" -p "$(redis_port "$1")" PING 2>/dev/null)" = PONG ]
}
probe_redis() { redis_probe redis; }
probe_redis2() { redis_probe redis2; }

# SIGTERM: Redis flushes the AOF and exits.
stop_redis() { local p; p=$(pid_redis) && kill -TERM "$p"; }
stop_redis2() { local p; p=$(pid_redis2) && kill -TERM "$p"; }
