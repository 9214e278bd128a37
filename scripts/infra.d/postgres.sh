# PostgreSQL 15 (Debian): a primary on 55432 and a streaming read replica on 55433 made with
# `pg_basebackup -R`. Both run as the `postgres` user (PostgreSQL refuses root).
# shellcheck shell=bash

PG_BIN=/usr/lib/postgresql/15/bin
PG_SOCKETS=$MSB_INFRA_RUN/postgres
PG_REPL_USER=msb_repl
PG_REPL_PASS=msb_repl
PG_SLOT=msb_replica

pg_port() { if [ "$1" = postgres ]; then echo 55432; else echo 55433; fi; }
pg_data() { echo "$MSB_INFRA_DIR/$1/data"; }
pg_psql() { # pg_psql PORT SQL: as the postgres superuser over the unix socket
  setpriv --reuid=postgres --regid=postgres --init-groups -- \
    "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_SOCKETS" -p "$1" -d postgres -c "$2"
}

pkgs_postgres() { echo postgresql-15 postgresql-client-15; }
pkgs_postgres_replica() { pkgs_postgres; }
log_postgres() { echo "$MSB_INFRA_LOGS/postgres.log"; }
log_postgres_replica() { echo "$MSB_INFRA_LOGS/postgres-replica.log"; }
ports_postgres() { echo 55432; }
ports_postgres_replica() { echo 55433; }
deps_postgres_replica() { echo postgres; }
timeout_postgres() { echo 60; }
timeout_postgres_replica() { echo 90; }

# The settings both instances share; the port is each one's own. fsync=off: a killed server
# loses nothing (the kernel still holds its writes), only a crash of the machine would.
pg_write_conf() {
  local name=$1 data
  data=$(pg_data "$name")
  cat >"$data/msb.conf" <<EOF
# Written by scripts/infra on every start; edit scripts/infra.d/postgres.sh instead.
listen_addresses = '$INFRA_HOST'
port = $(pg_port "$name")
unix_socket_directories = '$PG_SOCKETS'
max_connections = 200
shared_buffers = 128MB
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 1s
fsync = off
log_line_prefix = '%m [%p] %q%u@%d '
log_connections = off
EOF
  grep -q "^include_if_exists 'msb.conf'" "$data/postgresql.conf" ||
    echo "include_if_exists 'msb.conf'" >>"$data/postgresql.conf"
  cat >"$data/pg_hba.conf" <<EOF
# Written by scripts/infra on every start.
local all postgres peer
host all all $INFRA_HOST/32 scram-sha-256
host replication $PG_REPL_USER $INFRA_HOST/32 scram-sha-256
EOF
  chown postgres:postgres "$data/msb.conf" "$data/pg_hba.conf"
}

pg_common_dirs() {
  infra_own_dirs postgres "$MSB_INFRA_DIR/$1" "$PG_SOCKETS"
  infra_own_file postgres "$(infra_log "$1")"
}

prepare_postgres() {
  local data
  data=$(pg_data postgres)
  pg_common_dirs postgres
  if [ ! -s "$data/PG_VERSION" ]; then
    rm -rf "$data"
    infra_own_dirs postgres "$data"
    chmod 700 "$data"
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$PG_BIN/initdb" -D "$data" \
      -U postgres --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
      --no-instructions >>"$(log_postgres)" 2>&1 || { infra_fail postgres "initdb failed"; return 1; }
  fi
  pg_write_conf postgres
}

prepare_postgres_replica() {
  local data
  data=$(pg_data postgres-replica)
  pg_common_dirs postgres-replica
  if [ ! -s "$data/PG_VERSION" ] || [ ! -e "$data/standby.signal" ]; then
    # A fresh copy of the primary, streaming from a physical slot so that it can always catch up.
    rm -rf "$data"
    pg_psql 55432 "SELECT pg_drop_replication_slot('$PG_SLOT') FROM pg_replication_slots
                   WHERE slot_name = '$PG_SLOT'" >/dev/null
    PGPASSWORD=$PG_REPL_PASS setpriv --reuid=postgres --regid=postgres --init-groups -- \
      "$PG_BIN/pg_basebackup" -h "$INFRA_HOST" -p 55432 -U "$PG_REPL_USER" -D "$data" -R \
      -X stream -C -S "$PG_SLOT" --checkpoint=fast >>"$(log_postgres_replica)" 2>&1 ||
      { infra_fail postgres-replica "pg_basebackup from the primary failed"; return 1; }
    chmod 700 "$data"
  fi
  pg_write_conf postgres-replica
}

pg_pid() { pid_from_file "$(pg_data "$1")/postmaster.pid" postgres; }
pid_postgres() { pg_pid postgres; }
pid_postgres_replica() { pg_pid postgres-replica; }

pg_launch() {
  # Not running (pid_<id> said so), so a lock file left by a killed postmaster is stale.
  rm -f "$(pg_data "$1")/postmaster.pid"
  setpriv --reuid=postgres --regid=postgres --init-groups -- "$PG_BIN/pg_ctl" start -W \
    -D "$(pg_data "$1")" -l "$(infra_log "$1")" >/dev/null
}
launch_postgres() { pg_launch postgres; }
launch_postgres_replica() { pg_launch postgres-replica; }

probe_postgres() { "$PG_BIN/pg_isready" -q -h "$INFRA_HOST" -p 55432 -t 2; }
# Ready when it accepts connections and its WAL receiver streams from the primary.
probe_postgres_replica() {
  "$PG_BIN/pg_isready" -q -h "$INFRA_HOST" -p 55433 -t 2 &&
    [ "$(pg_psql 55433 "SELECT status FROM pg_stat_wal_receiver")" = streaming ]
}

# The roles and database the tests use (once; the marker lives in the data directory).
after_postgres() {
  local data
  data=$(pg_data postgres)
  [ -e "$data/msb-initialized" ] && return 0
  pg_psql 55432 "CREATE ROLE msb LOGIN CREATEDB PASSWORD 'msb'" &&
    pg_psql 55432 "GRANT pg_signal_backend, pg_read_all_stats TO msb" &&
    pg_psql 55432 "CREATE DATABASE msb OWNER msb" &&
    pg_psql 55432 "CREATE ROLE $PG_REPL_USER LOGIN REPLICATION PASSWORD '$PG_REPL_PASS'" ||
    { infra_fail postgres "creating the msb role and database failed"; return 1; }
  touch "$data/msb-initialized"
}

pg_stop() { # SIGINT: PostgreSQL's "fast" shutdown
  local pid
  pid=$(pg_pid "$1") && kill -INT "$pid"
}
stop_postgres() { pg_stop postgres; }
stop_postgres_replica() { pg_stop postgres-replica; }
