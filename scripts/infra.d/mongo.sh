# A MongoDB wire-protocol server: FerretDB v1.24.2 (a Go module) with its SQLite backend, on 57017.
# What FerretDB 1.24 does not do (docs/operations.md): text indexes, $lookup, and $group
# accumulators other than $count and $sum.
# shellcheck shell=bash

FERRETDB_VERSION=v1.24.2
FERRETDB_BIN=$MSB_CACHE/ferretdb/$FERRETDB_VERSION/ferretdb
MONGO_DIR=$MSB_INFRA_DIR/mongo

log_mongo() { echo "$MSB_INFRA_LOGS/mongo.log"; }
ports_mongo() { echo 57017; }
timeout_mongo() { echo 60; }

# `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` does not work: the proxy here
# refuses the module's version list, which go install reads for deprecations, and a binary built
# from the module as it is panics at start because build/version/version.txt (generated from git
# in FerretDB's own tree) is missing. So: the module from the Go proxy, copied, with that file.
build_mongo() {
  [ -x "$FERRETDB_BIN" ] && return 0
  local mod src=$MSB_CACHE/build/ferretdb-src log=$MSB_CACHE/build/ferretdb.log
  mkdir -p "${FERRETDB_BIN%/*}" "$MSB_CACHE/build"
  if ! mod=$(go_module_dir github.com/FerretDB/FerretDB "$FERRETDB_VERSION" 2>"$log") || [ ! -d "$mod" ]; then
    cat "$log" >&2
    infra_fail mongo "downloading FerretDB $FERRETDB_VERSION failed ($log)"
    return 1
  fi
  rm -rf "$src"
  cp -r "$mod" "$src" && chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  if ! (cd "$src" && go build -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    infra_fail mongo "building FerretDB $FERRETDB_VERSION failed ($log)"
    return 1
  fi
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
  rm -rf "$src"
}

prepare_mongo() {
  mkdir -p "$MONGO_DIR/data" "$MONGO_DIR/state"
  : >>"$(log_mongo)"
}

pid_mongo() {
  pid_from_file "$(run_pidfile mongo)" ferretdb ||
    pid_from_cmdline ferretdb "$MONGO_DIR/state"
}

# The trailing slash of --sqlite-url matters: it names a directory, one SQLite file per database.
launch_mongo() {
  launch_bg mongo root "$FERRETDB_BIN" --handler=sqlite --sqlite-url="file:$MONGO_DIR/data/" \
    --listen-addr="$INFRA_HOST:57017" --state-dir="$MONGO_DIR/state" --debug-addr=- \
    --telemetry=disable --log-level=info
}

# An OP_MSG {ping: 1, $db: "admin"}; the reply must carry ok: 1.0 (the double 0x3ff0000000000000).
# shellcheck disable=SC2016 # "$db" is a BSON key, not a variable
probe_mongo() {
  local msg reply
  msg='\x33\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00' # length 51, OP_MSG 2013
  msg+='\x00\x00\x00\x00\x00'                                            # flags, section kind 0
  msg+='\x1e\x00\x00\x00\x10ping\x00\x01\x00\x00\x00'                    # {ping: 1,
  msg+='\x02$db\x00\x06\x00\x00\x00admin\x00\x00'                        #  $db: "admin"}
  reply=$(tcp_exchange "$INFRA_HOST" 57017 "$msg") || return 1
  [[ $reply == *016f6b00000000000000f03f* ]]
}

stop_mongo() { local p; p=$(pid_mongo) && kill -TERM "$p"; }
