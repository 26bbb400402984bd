#!/usr/bin/env bash
# Installs everything the project runs, idempotently, into a cache outside the work
# tree (KAFKAMIG_CACHE, default ~/.cache/kafka-migration):
#   - the Pulumi CLI, built from its Go module (first run: a few minutes);
#   - our Python language host and the exec/dynamic-provider scripts next to it;
#   - the kafka resource provider plugin, built from Go modules and installed into
#     PULUMI_HOME with `pulumi plugin install --file` (never downloaded);
#   - Kafka's jars (brokers, tools, Connect, MirrorMaker 2, JMX exporter) via mvn.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
cache=${KAFKAMIG_CACHE:-$HOME/.cache/kafka-migration}
export PULUMI_ROOT="$cache/pulumi-$PULUMI_CLI_VERSION"
export PULUMI_HOME=${PULUMI_HOME:-$cache/pulumi-home}
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

for tool in go java mvn python3; do
  command -v "$tool" >/dev/null || { echo "setup: '$tool' is not installed; it is needed to build the toolchain" >&2; exit 1; }
done

step() { printf '[setup] %-40s' "$1"; }
t0=$(date +%s)

step "pulumi CLI $PULUMI_CLI_VERSION"
"$here/build-pulumi-cli.sh" >"$cache/build-cli.log" 2>&1 || { echo FAILED; tail -30 "$cache/build-cli.log"; exit 1; }
echo ok

step "python language host"
"$here/build-langhost.sh" >"$cache/build-langhost.log" 2>&1 || { echo FAILED; tail -30 "$cache/build-langhost.log"; exit 1; }
echo ok

step "kafka provider plugin $KAFKA_PLUGIN_VERSION"
"$here/build-kafka-provider.sh" >"$cache/build-kafka-provider.log" 2>&1 || { echo FAILED; tail -30 "$cache/build-kafka-provider.log"; exit 1; }
plugin_dir="$PULUMI_HOME/plugins/resource-kafka-v$KAFKA_PLUGIN_VERSION"
if ! cmp -s "$PULUMI_ROOT/providers/pulumi-resource-kafka" "$plugin_dir/pulumi-resource-kafka" 2>/dev/null; then
  rm -rf "$plugin_dir" "$plugin_dir.lock"
  "$PULUMI_ROOT/bin/pulumi" plugin install resource kafka "$KAFKA_PLUGIN_VERSION" \
    --file "$PULUMI_ROOT/providers/pulumi-resource-kafka" >"$cache/plugin-install.log" 2>&1 \
    || { echo FAILED; cat "$cache/plugin-install.log"; exit 1; }
fi
echo ok

step "kubernetes provider plugin $KUBERNETES_PLUGIN_VERSION"
"$here/build-kubernetes-provider.sh" >"$cache/build-kubernetes-provider.log" 2>&1 \
  || { echo FAILED; tail -30 "$cache/build-kubernetes-provider.log"; exit 1; }
echo ok

step "kafka $KAFKA_VERSION jars (maven)"
libs="$cache/kafka-$KAFKA_VERSION/libs"
stamp="$libs/.pom-$(sha256sum "$here/kafka/pom.xml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  rm -rf "$libs"
  (cd "$here/kafka" && mvn -B -q dependency:copy-dependencies -Dkafka.version="$KAFKA_VERSION" \
      -DoutputDirectory="$libs") >"$cache/maven.log" 2>&1 || { echo FAILED; tail -30 "$cache/maven.log"; exit 1; }
  touch "$stamp"
fi
echo ok
echo "[setup] toolchain ready in $(( $(date +%s) - t0 ))s: $PULUMI_ROOT/bin, $libs"
