#!/usr/bin/env bash
# The ABI check: every symbol listed in libmsb.symbols must still be exported by libmsb.so (one
# disappearing breaks programs linked against an earlier version: that needs a major version
# bump). Every exported symbol must carry the msb_ prefix. Symbols exported but not yet listed
# are printed so they can be added (scripts/update-symbols).
set -euo pipefail
lib=$1
list=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | sort -u)
public=$(printf '%s\n' "$exported" | grep -E '^msb_[a-z0-9]' || true)
bad=$(printf '%s\n' "$exported" | grep -vE '^(msb_|msb__|_init$|_fini$|_edata$|_end$|__bss_start$)' || true)
rc=0
if [ -n "$bad" ]; then
  echo "exported symbols without the msb_ prefix:"; printf '  %s\n' $bad; rc=1
fi
missing=$(comm -23 <(grep -v '^#' "$list" | sort -u) <(printf '%s\n' "$public"))
if [ -n "$missing" ]; then
  echo "symbols that disappeared from $(basename "$lib") (an ABI break):"; printf '  %s\n' $missing; rc=1
fi
new=$(comm -13 <(grep -v '^#' "$list" | sort -u) <(printf '%s\n' "$public"))
if [ -n "$new" ]; then
  echo "exported but not yet in $(basename "$list") (add them: scripts/update-symbols):"
  printf '  %s\n' $new
fi
[ $rc -eq 0 ] && echo "symbols ok: $(printf '%s\n' "$public" | wc -l) public symbols"
exit $rc
