# Helpers shared by scripts/infra and the per-server files beside this one.
# shellcheck shell=bash
#
# Each server NAME (postgres, postgres-replica, redis, redis2, rabbitmq, kafka, mongo, prometheus,
# jaeger, nginx) is described by functions named <fn>_<id>, where <id> is NAME with '-' as '_':
#   pkgs_<id>     Debian packages it needs (installed by `up` with one apt-get call)
#   build_<id>    makes sure built binaries / downloaded jars are in $MSB_CACHE (may be slow)
#   prepare_<id>  creates its directories and writes its configuration (cheap, idempotent)
#   pid_<id>      prints the pid of its main process and succeeds when it runs
#   launch_<id>   starts it (does not wait)
#   probe_<id>    one readiness check on its real protocol
#   after_<id>    one-time set-up once it answers (users, vhosts, ...), idempotent
#   stop_<id>     asks it to stop gracefully (does not wait)
#   log_<id>      prints the path of its log file
#   ports_<id>    prints its ports, for `status`
#   deps_<id>     other servers that must be ready first (optional)
#   timeout_<id>  seconds to wait for readiness (optional, default 90)
#   grace_<id>    seconds its process may take to appear after launch_<id> (optional, default 10)

# Where servers keep their data and logs: outside root's home (PostgreSQL refuses root, RabbitMQ
# runs as `rabbitmq`), machine-wide like the servers' fixed ports.
MSB_INFRA_DIR=${MSB_INFRA_DIR:-/var/lib/msb-infra}
MSB_INFRA_LOGS=${MSB_INFRA_LOGS:-/var/log/msb-infra}
MSB_INFRA_RUN=$MSB_INFRA_DIR/run
# shellcheck disable=SC2034 # used by the per-server files
INFRA_HOST=127.0.0.1

infra_id() { echo "${1//-/_}"; }

# infra_call FN NAME [ARGS...]: calls FN_<id> if it is defined (succeeds when it is not).
infra_call() {
  local fn
  fn=$1_$(infra_id "$2")
  shift 2
  if declare -F "$fn" >/dev/null; then
    "$fn" "$@"
  fi
}

infra_log() { infra_call log "$1"; }

# infra_fail NAME MESSAGE: the error every failure ends in, naming the server and its log.
infra_fail() {
  local name=$1 log
  shift
  log=$(infra_log "$name")
  printf 'error: %s: %s\n  log: %s (scripts/infra logs %s)\n' "$name" "$*" "$log" "$name" >&2
  if [ -s "$log" ]; then
    printf -- '--- last lines of %s ---\n' "$log" >&2
    tail -n 25 "$log" >&2
    printf -- '---\n' >&2
  fi
  return 1
}

# infra_own USER PATH...: directories (created) and files owned by USER.
infra_own_dirs() {
  local user=$1
  shift
  mkdir -p "$@"
  chown "$user:$user" "$@"
}
infra_own_file() {
  local user=$1 f=$2
  [ -e "$f" ] || : >"$f"
  chown "$user:$user" "$f"
}

# running PID: PID exists and is not a zombie (a killed server whose parent has not reaped it).
running() {
  local state
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# pid_alive PID COMM: succeeds when PID runs and its command name is COMM (guards against a
# stale pid file whose number was reused by something else).
pid_alive() {
  local pid=$1 comm=$2 c
  [ -n "$pid" ] && [ "$pid" -gt 0 ] 2>/dev/null || return 1
  c=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [ "$c" = "$comm" ] && running "$pid"
}

# pid_from_file FILE COMM: prints the pid in FILE's first line when that process runs.
pid_from_file() {
  local file=$1 comm=$2 pid
  [ -r "$file" ] || return 1
  read -r pid <"$file" || [ -n "$pid" ] || return 1
  pid_alive "$pid" "$comm" || return 1
  echo "$pid"
}

# pid_from_cmdline COMM TEXT: prints the oldest process named COMM whose command line contains
# TEXT (for servers that have not written their pid file yet).
pid_from_cmdline() {
  local comm=$1 text=$2 p
  for p in $(pgrep -x "$comm" 2>/dev/null | sort -n); do
    running "$p" || continue
    if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF -- "$text"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# descendants PID: PID's children, grandchildren, ... (one per line).
descendants() {
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}

# wait_gone SECONDS PID...: succeeds when none of the PIDs runs any more.
wait_gone() {
  local deadline=$(($(date +%s) + $1)) p alive
  shift
  while :; do
    alive=0
    for p in "$@"; do
      running "$p" && alive=1
    done
    [ $alive -eq 0 ] && return 0
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# wait_reaped SECONDS PID...: waits until the PIDs are gone from the process table, zombies
# included: a killed server whose parent exited is reaped by init, which here takes a second or
# two, and until then some servers (PostgreSQL) take the zombie for a live owner of their lock.
wait_reaped() {
  local deadline=$(($(date +%s) + $1)) p left
  shift
  while :; do
    left=0
    for p in "$@"; do
      [ -d "/proc/$p" ] && left=1
    done
    [ $left -eq 0 ] && return 0
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# wait_ready NAME: polls probe_<id> until it succeeds or the server's timeout passes. A server
# whose process has been missing for grace_<id> seconds (default 10; a detached start takes a
# while to show its process, longer on a loaded machine) has exited.
wait_ready() {
  local name=$1 id timeout grace now deadline pid="" missing_since=""
  id=$(infra_id "$name")
  timeout=$(infra_call timeout "$name")
  grace=$(infra_call grace "$name")
  deadline=$(($(date +%s) + ${timeout:-90}))
  while ! "probe_$id" 2>/dev/null; do
    now=$(date +%s)
    if pid=$("pid_$id"); then
      missing_since=""
    elif [ -z "$missing_since" ]; then
      missing_since=$now
    elif [ $((now - missing_since)) -ge "${grace:-10}" ]; then
      infra_fail "$name" "the server exited while starting"
      return 1
    fi
    if [ "$now" -ge "$deadline" ]; then
      infra_fail "$name" "not ready after ${timeout:-90}s (pid ${pid:-none}; if it hangs: scripts/infra restart $name)"
      return 1
    fi
    sleep 0.2
  done
}

# tcp_exchange HOST PORT HEX_REQUEST: sends the bytes and prints the reply's first bytes as hex.
tcp_exchange() {
  local host=$1 port=$2 req=$3
  # shellcheck disable=SC2016 # expanded by the inner shell
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "%b" "$3" >&3
    dd bs=4096 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d " \n"
  ' _ "$host" "$port" "$req" 2>/dev/null
}

# http_ok URL: a 2xx answer from URL.
http_ok() { curl -fsS -o /dev/null --max-time 3 "$1" 2>/dev/null; }

# Pid file of a server that scripts/infra launches itself.
run_pidfile() { echo "$MSB_INFRA_RUN/$1.pid"; }

# launch_bg NAME USER CMD...: starts CMD detached (own session, no terminal) as USER, appending
# its output to the server's log, and records its pid.
launch_bg() {
  local name=$1 user=$2 log
  shift 2
  log=$(infra_log "$name")
  if [ "$user" = root ]; then
    setsid "$@" >>"$log" 2>&1 </dev/null &
  else
    setsid setpriv --reuid="$user" --regid="$user" --init-groups -- "$@" >>"$log" 2>&1 </dev/null &
  fi
  echo $! >"$(run_pidfile "$name")"
}

# infra_build NAME: build_<id> under a per-server lock, so that a build started early in the
# background (`up` starts the slow ones before installing packages) and the server's own
# bring-up never build twice: the second waits for the first, then finds the result cached.
infra_build() {
  local id
  id=$(infra_id "$1")
  declare -F "build_$id" >/dev/null || return 0
  mkdir -p "$MSB_CACHE/build"
  (
    flock 8
    "build_$id"
  ) 8>"$MSB_CACHE/build/$1.lock"
}

# go_module_dir MODULE VERSION: downloads MODULE@VERSION through the Go module proxy into Go's
# module cache (machine-wide, read-only) and prints its directory.
go_module_dir() {
  command -v go >/dev/null || { echo "go is not installed (Go >= 1.24 is needed)" >&2; return 1; }
  (cd "$MSB_CACHE" && GOFLAGS=-mod=mod go mod download -json "$1@$2") |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}
