# RabbitMQ 3.10 (Debian): node msb@localhost, AMQP on 55672, Erlang distribution on 55673,
# vhost `msb`, user msb/msb and the durable queue `msb.it.durable` (from definitions.json, imported
# on every boot; no guest user, no `/` vhost). Started through Debian's wrapper, which switches to
# the `rabbitmq` user and its Erlang cookie (/var/lib/rabbitmq/.erlang.cookie).
# shellcheck shell=bash

RMQ_DIR=$MSB_INFRA_DIR/rabbitmq

pkgs_rabbitmq() { echo rabbitmq-server openssl; }
log_rabbitmq() { echo "$MSB_INFRA_LOGS/rabbitmq.log"; }
ports_rabbitmq() { echo "55672 (dist 55673)"; }
timeout_rabbitmq() { echo 180; }
# The wrapper, su, the start scripts and `erl -detached` come before the node's own process.
grace_rabbitmq() { echo 60; }

# The environment that places this node; rabbitmqctl reads the same to find it.
rmq_env() {
  export RABBITMQ_NODENAME=msb@localhost
  export RABBITMQ_NODE_IP_ADDRESS=$INFRA_HOST
  export RABBITMQ_NODE_PORT=55672
  export RABBITMQ_DIST_PORT=55673
  export RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia
  export RABBITMQ_LOG_BASE=$RMQ_DIR/log
  export RABBITMQ_LOGS=$MSB_INFRA_LOGS/rabbitmq.log
  export RABBITMQ_PID_FILE=$RMQ_DIR/rabbitmq.pid
  export RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_DIR/enabled_plugins
  export RABBITMQ_CONFIG_FILE=$RMQ_DIR/rabbitmq.conf
  export RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ_DIR/advanced.config
  export RABBITMQ_CONF_ENV_FILE=$RMQ_DIR/rabbitmq-env.conf
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export ERL_EPMD_ADDRESS=$INFRA_HOST
}

# RabbitMQ's rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)), 4-byte salt.
rmq_password_hash() {
  local salt
  salt=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/../\\x&/g')
  { printf '%b' "$salt"; { printf '%b' "$salt"; printf '%s' "$1"; } | openssl dgst -sha256 -binary; } |
    base64 -w0
}

prepare_rabbitmq() {
  infra_own_dirs rabbitmq "$RMQ_DIR" "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
  infra_own_file rabbitmq "$(log_rabbitmq)"
  echo '[].' >"$RMQ_DIR/enabled_plugins"
  echo '[].' >"$RMQ_DIR/advanced.config"
  # Sourced by the start scripts (instead of /etc/rabbitmq/rabbitmq-env.conf). `su` leaves the
  # node a soft limit of 1024 open files, which RabbitMQ turns into 927 file handles: a few
  # dozen quorum queues use them up, and then new connections hang in the AMQP handshake.
  echo 'ulimit -S -n "$(ulimit -H -n)"' >"$RMQ_DIR/rabbitmq-env.conf"
  # Imported on every boot: the vhost, the user, and a durable queue that exists before any test
  # runs (a queue declared just before a SIGKILL can be lost with the node's last Mnesia writes;
  # the fault test needs one whose declaration is long on disk).
  cat >"$RMQ_DIR/definitions.json" <<EOF
{
  "vhosts": [{"name": "msb"}],
  "users": [{"name": "msb", "password_hash": "$(rmq_password_hash msb)",
             "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"],
             "limits": {}}],
  "permissions": [{"user": "msb", "vhost": "msb", "configure": ".*", "write": ".*", "read": ".*"}],
  "queues": [{"name": "msb.it.durable", "vhost": "msb", "durable": true, "auto_delete": false,
              "arguments": {}}],
  "exchanges": [],
  "bindings": []
}
EOF
  cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# Written by scripts/infra on every start; edit scripts/infra.d/rabbitmq.sh instead.
listeners.tcp.default = $INFRA_HOST:55672
load_definitions = $RMQ_DIR/definitions.json
log.console = false
log.file.level = info
disk_free_limit.absolute = 100MB
EOF
  chown rabbitmq:rabbitmq "$RMQ_DIR"/{enabled_plugins,advanced.config,rabbitmq-env.conf} \
    "$RMQ_DIR"/{rabbitmq.conf,definitions.json}
  chmod 600 "$RMQ_DIR/definitions.json"
}

pid_rabbitmq() {
  pid_from_file "$RMQ_DIR/rabbitmq.pid" beam.smp ||
    pid_from_cmdline beam.smp "$RMQ_DIR/mnesia"
}

launch_rabbitmq() {
  (rmq_env && cd "$RMQ_DIR" && /usr/sbin/rabbitmq-server -detached >>"$(log_rabbitmq)" 2>&1 </dev/null)
}

# The AMQP 0-9-1 protocol header; a ready broker answers with a Connection.Start method frame
# (type 1 on channel 0). The listener opens only once the node has booted.
probe_rabbitmq() {
  local reply
  reply=$(tcp_exchange "$INFRA_HOST" 55672 'AMQP\x00\x00\x09\x01') || return 1
  [ "${reply:0:6}" = 010000 ]
}

# SIGTERM: the Erlang VM stops the node gracefully.
stop_rabbitmq() { local p; p=$(pid_rabbitmq) && kill -TERM "$p"; }

# epmd is started by the first Erlang node; stop it when no node is registered with it any more.
rmq_stop_epmd() {
  pgrep -x epmd >/dev/null || return 0
  if ! epmd -names 2>/dev/null | grep -q '^name '; then
    epmd -kill >/dev/null 2>&1 || true
  fi
}
