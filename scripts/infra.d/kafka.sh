# Apache Kafka, one KRaft node (broker and controller in one process), from the jars on Maven
# Central: org.apache.kafka:kafka_2.13 and its runtime dependencies (`mvn
# dependency:copy-dependencies`), plus log4j-slf4j-impl + log4j-core as the logging binding, which
# the jars do not bring. Broker on 59092, controller on 59093. Topic auto-creation is off: tests
# create topics through the admin API.
# shellcheck shell=bash

KAFKA_VERSION=4.1.1
KAFKA_LOG4J_VERSION=2.24.3
KAFKA_HOME=$MSB_CACHE/kafka/$KAFKA_VERSION
KAFKA_DIR=$MSB_INFRA_DIR/kafka

pkgs_kafka() {
  echo kcat
  command -v java >/dev/null || echo openjdk-17-jre-headless
  command -v mvn >/dev/null || echo maven
}
log_kafka() { echo "$MSB_INFRA_LOGS/kafka.log"; }
ports_kafka() { echo "59092 (controller 59093)"; }
timeout_kafka() { echo 120; }

build_kafka() {
  [ -e "$KAFKA_HOME/.complete" ] && return 0
  mkdir -p "$KAFKA_HOME"
  cat >"$KAFKA_HOME/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>msb.infra</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- Kafka logs through SLF4J 1.7; this binds it to log4j2. -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$KAFKA_LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$KAFKA_LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  rm -rf "$KAFKA_HOME/libs.tmp"
  if ! mvn -B -q -f "$KAFKA_HOME/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_HOME/libs.tmp" >"$KAFKA_HOME/mvn.log" 2>&1; then
    tail -n 20 "$KAFKA_HOME/mvn.log" >&2
    infra_fail kafka "fetching the Kafka $KAFKA_VERSION jars with Maven failed ($KAFKA_HOME/mvn.log)"
    return 1
  fi
  rm -rf "$KAFKA_HOME/libs"
  mv "$KAFKA_HOME/libs.tmp" "$KAFKA_HOME/libs"
  touch "$KAFKA_HOME/.complete"
}

# The JVM with Kafka's classpath and our logging configuration. 768 MiB of heap is plenty here.
KAFKA_JVM=(java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties"
  "-Dkafka.logs.dir=$KAFKA_DIR/logs" -cp "$KAFKA_HOME/libs/*")

prepare_kafka() {
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  : >>"$(log_kafka)"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by scripts/infra on every start; edit scripts/infra.d/kafka.sh instead.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$INFRA_HOST:59093
listeners=PLAINTEXT://$INFRA_HOST:59092,CONTROLLER://$INFRA_HOST:59093
advertised.listeners=PLAINTEXT://$INFRA_HOST:59092
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.segment.bytes=67108864
EOF
  cat >"$KAFKA_DIR/log4j2.properties" <<EOF
# Everything to standard output, which scripts/infra appends to $(log_kafka).
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.controller.name = org.apache.kafka.controller
logger.controller.level = info
logger.kafka_request.name = kafka.request.logger
logger.kafka_request.level = warn
EOF
  if [ ! -s "$KAFKA_DIR/data/meta.properties" ]; then
    local cluster_id
    # A KRaft cluster id is 16 random bytes in URL-safe base64 without padding.
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    "${KAFKA_JVM[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" \
      >>"$(log_kafka)" 2>&1 || { infra_fail kafka "formatting the KRaft storage failed"; return 1; }
  fi
}

pid_kafka() {
  pid_from_file "$(run_pidfile kafka)" java || pid_from_cmdline java "$KAFKA_DIR/server.properties"
}

launch_kafka() { launch_bg kafka root "${KAFKA_JVM[@]}" kafka.Kafka "$KAFKA_DIR/server.properties"; }

# Metadata through librdkafka (kcat): the broker is listed once it has registered with the
# controller and serves clients.
probe_kafka() {
  timeout 5 kcat -b "$INFRA_HOST:59092" -L -m 3 2>/dev/null | grep -q '^ *broker 1 at'
}

# SIGTERM: a controlled shutdown.
stop_kafka() { local p; p=$(pid_kafka) && kill -TERM "$p"; }
