# nginx (Debian) on 58080: the master runs as root with its own configuration (never
# /etc/nginx/nginx.conf), workers as www-data. It answers /healthz, proxies /_msb/self/ to an
# upstream of its own (a unix socket, so that the proxy path is exercised without another port),
# and includes configuration snippets that later work drops in:
#   $NGINX_DIR/conf.d/http/*.conf    at http level (upstreams, servers on other ports)
#   $NGINX_DIR/conf.d/server/*.conf  inside the 58080 server (locations)
# then `scripts/infra reload nginx`.
# shellcheck shell=bash

NGINX_DIR=$MSB_INFRA_DIR/nginx
NGINX_SELF_SOCK=$MSB_INFRA_RUN/nginx-self.sock

pkgs_nginx() { echo nginx; }
log_nginx() { echo "$MSB_INFRA_LOGS/nginx.log"; }
ports_nginx() { echo 58080; }
timeout_nginx() { echo 30; }

prepare_nginx() {
  mkdir -p "$NGINX_DIR/conf.d/http" "$NGINX_DIR/conf.d/server"
  infra_own_dirs www-data "$NGINX_DIR/tmp"
  : >>"$(log_nginx)"
  cat >"$NGINX_DIR/nginx.conf" <<EOF
# Written by scripts/infra on every start; edit scripts/infra.d/nginx.sh instead.
user www-data;
worker_processes auto;
pid $MSB_INFRA_RUN/nginx.pid;
error_log $(log_nginx) notice;
events {
    worker_connections 4096;
}
http {
    default_type application/octet-stream;
    access_log $MSB_INFRA_LOGS/nginx-access.log combined buffer=64k flush=1s;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 10000;
    client_body_temp_path $NGINX_DIR/tmp/client_body;
    proxy_temp_path $NGINX_DIR/tmp/proxy;
    fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
    uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
    scgi_temp_path $NGINX_DIR/tmp/scgi;

    upstream msb_self {
        server unix:$NGINX_SELF_SOCK;
        keepalive 16;
    }
    # The upstream of /_msb/self/: echoes what the proxy passed on.
    server {
        listen unix:$NGINX_SELF_SOCK;
        location / {
            default_type application/json;
            return 200 '{"upstream":"msb_self","uri":"\$request_uri","x_forwarded_for":"\$http_x_forwarded_for","x_request_id":"\$http_x_request_id"}\n';
        }
    }
    server {
        listen $INFRA_HOST:58080 default_server;
        server_name _;
        location = /healthz {
            default_type text/plain;
            return 200 "ok\n";
        }
        location = /nginx_status {
            stub_status;
        }
        location /_msb/self/ {
            proxy_pass http://msb_self/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Request-Id \$request_id;
        }
        include $NGINX_DIR/conf.d/server/*.conf;
        location / {
            return 404;
        }
    }
    include $NGINX_DIR/conf.d/http/*.conf;
}
EOF
  nginx -t -q -e "$(log_nginx)" -c "$NGINX_DIR/nginx.conf" >>"$(log_nginx)" 2>&1 ||
    { infra_fail nginx "nginx -t rejects $NGINX_DIR/nginx.conf"; return 1; }
}

pid_nginx() {
  pid_from_file "$MSB_INFRA_RUN/nginx.pid" nginx || pid_from_cmdline nginx "$NGINX_DIR/nginx.conf"
}

launch_nginx() {
  # A socket left behind by a killed nginx would make bind() fail.
  rm -f "$NGINX_SELF_SOCK"
  nginx -e "$(log_nginx)" -c "$NGINX_DIR/nginx.conf" >>"$(log_nginx)" 2>&1 </dev/null
}

probe_nginx() { http_ok "http://$INFRA_HOST:58080/healthz"; }
# SIGQUIT: workers finish the requests in flight, then exit.
stop_nginx() { local p; p=$(pid_nginx) && kill -QUIT "$p"; }
reload_nginx() {
  prepare_nginx && nginx -s reload -e "$(log_nginx)" -c "$NGINX_DIR/nginx.conf"
}
