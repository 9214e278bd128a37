# Prometheus 2.42 (Debian) on 59090, running as the `prometheus` user. It scrapes itself and every
# target listed in a file dropped into the targets directory (file_sd: <name>.json, re-read within
# a second), every second. promtool comes with it.
# shellcheck shell=bash

PROM_DIR=$MSB_INFRA_DIR/prometheus
PROM_TARGETS=$PROM_DIR/targets

pkgs_prometheus() { echo prometheus; }
log_prometheus() { echo "$MSB_INFRA_LOGS/prometheus.log"; }
ports_prometheus() { echo 59090; }
timeout_prometheus() { echo 60; }

prepare_prometheus() {
  infra_own_dirs prometheus "$PROM_DIR" "$PROM_DIR/data"
  # Tests (of any user) drop target files here; Prometheus only reads them.
  mkdir -p "$PROM_TARGETS"
  chmod 1777 "$PROM_TARGETS"
  : >>"$(log_prometheus)"
  cat >"$PROM_DIR/prometheus.yml" <<EOF
# Written by scripts/infra on every start; edit scripts/infra.d/prometheus.sh instead.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['$INFRA_HOST:59090']
  # Test targets: drop $PROM_TARGETS/<name>.json, e.g.
  # [{"targets": ["127.0.0.1:PORT"], "labels": {"job": "NAME"}}]
  - job_name: msb
    file_sd_configs:
      - files: ['$PROM_TARGETS/*.json']
        refresh_interval: 1s
EOF
  chown prometheus:prometheus "$PROM_DIR/prometheus.yml"
  promtool check config "$PROM_DIR/prometheus.yml" >/dev/null 2>&1 ||
    { infra_fail prometheus "the generated $PROM_DIR/prometheus.yml is invalid"; return 1; }
}

pid_prometheus() {
  pid_from_file "$(run_pidfile prometheus)" prometheus ||
    pid_from_cmdline prometheus "$PROM_DIR/prometheus.yml"
}

launch_prometheus() {
  launch_bg prometheus prometheus /usr/bin/prometheus --config.file="$PROM_DIR/prometheus.yml" \
    --storage.tsdb.path="$PROM_DIR/data" --storage.tsdb.retention.time=2d \
    --web.listen-address="$INFRA_HOST:59090" --web.enable-lifecycle --log.level=info \
    --enable-feature=exemplar-storage
}

probe_prometheus() { http_ok "http://$INFRA_HOST:59090/-/ready"; }
stop_prometheus() { local p; p=$(pid_prometheus) && kill -TERM "$p"; }
reload_prometheus() { curl -fsS -X POST --max-time 10 "http://$INFRA_HOST:59090/-/reload"; }
