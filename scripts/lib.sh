# Shared by the scripts: paths, logging, and "install only what is missing".
# shellcheck shell=bash
MSB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Machine-wide cache outside the clone: built servers, downloaded jars, lint results. CI's fresh
# clone on the same machine finds them here.
MSB_CACHE=${MSB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/msb}
mkdir -p "$MSB_CACHE"

msb_say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
msb_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# msb_apt PKG... : install the Debian packages that are not installed yet; a no-op (one dpkg-query)
# when all are there. Never starts the packaged daemons (policy-rc.d denies it when present; see
# docs/operations.md for what the project does with them).
msb_apt() {
  local missing=()
  local status
  for p in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  msb_say "apt-get install ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/msb-apt.log 2>&1; then
    $sudo apt-get update -q >/tmp/msb-apt-update.log 2>&1 || true
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/msb-apt.log 2>&1 ||
      { tail -n 30 /tmp/msb-apt.log >&2; msb_die "apt-get install failed (log: /tmp/msb-apt.log)"; }
  fi
}

# Everything needed to build libmsb and run its tests (servers are scripts/infra's business).
MSB_BUILD_PKGS=(build-essential cmake ninja-build pkg-config ccache git
  clang clang-tidy clang-format cppcheck doxygen valgrind llvm libclang-rt-14-dev
  libevent-dev libcurl4-openssl-dev libpq-dev libmongoc-dev libbson-dev libhiredis-dev
  librabbitmq-dev librdkafka-dev libjansson-dev libjwt-dev libssl-dev libcriterion-dev
  libsqlite3-dev zlib1g-dev
  prometheus) # promtool: the metrics unit tests check expositions with it

msb_timer_start() { MSB_T0=$(date +%s.%N); }
msb_timer_end() { awk -v a="$MSB_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
