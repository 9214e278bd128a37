#!/usr/bin/env bash
# A build with every backend compiled out (MSB_WITH_*=OFF) still configures, links and works: the
# backends' entry points return MSB_ENOTSUP naming the option (checked by unit.core_driver, run
# here against the minimal build).
set -euo pipefail
src=$1
dir=$2
opts=()
for b in POSTGRES MONGO REDIS RABBITMQ KAFKA CURL SQLITE; do opts+=("-DMSB_WITH_$b=OFF"); done
cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMSB_BUILD_SERVICES=OFF \
  -DMSB_BUILD_EXAMPLES=OFF "${opts[@]}" >/dev/null
cmake --build "$dir" --target msb msb_static unit_core_driver >/dev/null
if ls "$dir"/src/libmsb-*.so* >/dev/null 2>&1; then
  echo "plugins were built although every backend is off"; exit 1
fi
"$dir/tests/unit/unit_core_driver" --short-filename
echo "minimal build ok"
