# Jaeger 2 (the Go module github.com/jaegertracing/jaeger, command cmd/jaeger) with in-memory
# storage: OTLP/gRPC on 4317, OTLP/HTTP on 4318, the query API and UI on 16686 (its gRPC query
# API on 16685). Nothing else listens (no zipkin, no jaeger thrift, no internal metrics port).
# shellcheck shell=bash

# The Go proxy here serves only the tagged versions v1.42.0, v1.61.0, v1.62.0 and v1.76.0 of this
# module (and no pseudo-version of a later commit, so no v2.14.0+ commit can be named); every tag
# has a `replace` directive, which `go install module@version` refuses. v1.76.0 is the same commit
# as Jaeger v2.13.0 (the v2 tags are not module versions: the module path has no /v2), and it is
# built from its own module directory, where the replace directive applies.
JAEGER_VERSION=v1.76.0
JAEGER_BIN=$MSB_CACHE/jaeger/$JAEGER_VERSION/jaeger
JAEGER_DIR=$MSB_INFRA_DIR/jaeger

log_jaeger() { echo "$MSB_INFRA_LOGS/jaeger.log"; }
ports_jaeger() { echo "4317 4318 16686 (16685)"; }
timeout_jaeger() { echo 60; }

build_jaeger() {
  [ -x "$JAEGER_BIN" ] && return 0
  local mod log=$MSB_CACHE/build/jaeger.log
  mkdir -p "${JAEGER_BIN%/*}" "$MSB_CACHE/build"
  if ! mod=$(go_module_dir github.com/jaegertracing/jaeger "$JAEGER_VERSION" 2>"$log") || [ ! -d "$mod" ]; then
    cat "$log" >&2
    infra_fail jaeger "downloading Jaeger $JAEGER_VERSION failed ($log)"
    return 1
  fi
  if ! (cd "$mod" && go build -ldflags='-s -w' -o "$JAEGER_BIN.tmp" ./cmd/jaeger) >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    infra_fail jaeger "building Jaeger $JAEGER_VERSION failed ($log)"
    return 1
  fi
  mv "$JAEGER_BIN.tmp" "$JAEGER_BIN"
}

prepare_jaeger() {
  mkdir -p "$JAEGER_DIR"
  : >>"$(log_jaeger)"
  cat >"$JAEGER_DIR/jaeger.yaml" <<EOF
# Written by scripts/infra on every start; edit scripts/infra.d/jaeger.sh instead.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: $INFRA_HOST:16686
    grpc:
      endpoint: $INFRA_HOST:16685
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: $INFRA_HOST:4317
      http:
        endpoint: $INFRA_HOST:4318
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
EOF
}

pid_jaeger() {
  pid_from_file "$(run_pidfile jaeger)" jaeger || pid_from_cmdline jaeger "$JAEGER_DIR/jaeger.yaml"
}

launch_jaeger() { launch_bg jaeger root "$JAEGER_BIN" --config "file:$JAEGER_DIR/jaeger.yaml"; }

# Both sides: the query API answers, and the OTLP/HTTP receiver accepts an (empty) export.
probe_jaeger() {
  http_ok "http://$INFRA_HOST:16686/api/services" &&
    curl -fsS -o /dev/null --max-time 3 -X POST -H 'Content-Type: application/json' -d '{}' \
      "http://$INFRA_HOST:4318/v1/traces" 2>/dev/null
}

stop_jaeger() { local p; p=$(pid_jaeger) && kill -TERM "$p"; }
