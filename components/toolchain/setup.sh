#!/usr/bin/env bash
# Installs everything the project runs, idempotently, into a cache outside the work
# tree (KAFKAMIG_CACHE, default ~/.cache/kafka-migration):
#   - the Pulumi CLI, built from its Go module;
#   - our Python language host and the exec/dynamic-provider scripts next to it;
#   - the kafka resource provider plugin, built from Go modules and installed into
#     PULUMI_HOME with `pulumi plugin install --file` (never downloaded);
#   - Kafka's jars (brokers, tools, Connect, MirrorMaker 2, JMX exporter) via mvn;
#   - with `setup.sh kubernetes` (or KAFKAMIG_WITH=kubernetes) also the kubernetes
#     provider plugin, the slowest build, which only the Kubernetes runtime needs, and
#     etcd, kube-apiserver and kube-controller-manager (its garbage collector), the real
#     API server its integration tests run against (one step builds both Kubernetes commands);
#   - with `setup.sh docker` (or KAFKAMIG_WITH=docker) also the docker provider plugin
#     (pulumi-docker's tokens over the upstream Terraform provider, built from Go modules like
#     the kafka one), and Debian's Docker engine (docker.io) and busybox-static, installed with
#     apt-get as root when missing (nothing is started: the tests run a private dockerd).
# Each step prints one line with its elapsed time; a failed step prints where its log is.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
cache=${KAFKAMIG_CACHE:-$HOME/.cache/kafka-migration}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
export KAFKAMIG_CACHE="$cache"
export PULUMI_ROOT="$cache/pulumi-$PULUMI_CLI_VERSION"
export PULUMI_HOME=${PULUMI_HOME:-$cache/pulumi-home}
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
extras=" ${*:-} ${KAFKAMIG_WITH:-} "

for tool in go java mvn python3; do
  command -v "$tool" >/dev/null || { echo "setup: '$tool' is not installed; it is needed to build the toolchain" >&2; exit 1; }
done

t0=$(date +%s)
# step NAME LOG COMMAND...: runs COMMAND with its output in LOG.
step() {
  local name=$1 log="$cache/$2"; shift 2
  local s; s=$(date +%s)
  printf '[setup] %-38s ' "$name"
  if "$@" >"$log" 2>&1; then
    printf 'ok (%ss)\n' "$(( $(date +%s) - s ))"
  else
    printf 'FAILED after %ss; log: %s\n' "$(( $(date +%s) - s ))" "$log"
    tail -30 "$log" | sed 's/^/[setup]   /'
    exit 1
  fi
}
if [ ! -x "$PULUMI_ROOT/bin/pulumi" ]; then
  echo "[setup] first run: building the Pulumi toolchain from Go modules into $cache"
  echo "[setup] on 2 cores expect ~5 min (CLI), ~1 min (language host), ~3 min (kafka plugin), ~1 min (jars)"
fi

step "pulumi CLI $PULUMI_CLI_VERSION" build-cli.log "$here/build-pulumi-cli.sh"
step "python language host" build-langhost.log "$here/build-langhost.sh"

# install_plugin NAME VERSION UPSTREAM_MODULE UPSTREAM_VERSION [TAGS]: builds
# $PULUMI_ROOT/providers/pulumi-resource-NAME (build-bridged-provider.sh) and installs it into
# PULUMI_HOME when the installed copy differs.
install_plugin() {
  local name=$1 version=$2
  "$here/build-bridged-provider.sh" "$@"
  local built="$PULUMI_ROOT/providers/pulumi-resource-$name" plugin_dir="$PULUMI_HOME/plugins/resource-$name-v$version"
  if ! cmp -s "$built" "$plugin_dir/pulumi-resource-$name" 2>/dev/null; then
    rm -rf "$plugin_dir" "$plugin_dir.lock"
    "$PULUMI_ROOT/bin/pulumi" plugin install resource "$name" "$version" --file "$built"
  fi
}
step "kafka provider plugin $KAFKA_PLUGIN_VERSION" build-kafka-provider.log \
  install_plugin kafka "$KAFKA_PLUGIN_VERSION" github.com/Mongey/terraform-provider-kafka "$TF_KAFKA_VERSION"

if [[ "$extras" == *" kubernetes "* ]]; then
  step "kubernetes provider plugin $KUBERNETES_PLUGIN_VERSION" build-kubernetes-provider.log \
    "$here/build-kubernetes-provider.sh"
  step "etcd $ETCD_VERSION" build-etcd.log "$here/build-etcd.sh"
  step "kube-apiserver $KUBE_APISERVER_VERSION" build-kube-apiserver.log "$here/build-kube-apiserver.sh"
fi

if [[ "$extras" == *" docker "* ]]; then
  step "docker provider plugin $DOCKER_PLUGIN_VERSION" build-docker-provider.log \
    install_plugin docker "$DOCKER_PLUGIN_VERSION" github.com/kreuzwerker/terraform-provider-docker \
    "$TF_DOCKER_VERSION" no_compose
  step "docker engine (Debian docker.io)" install-docker-engine.log "$here/install-docker-engine.sh"
fi

fetch_jars() {
  local libs="$cache/kafka-$KAFKA_VERSION/libs"
  local stamp="$libs/.pom-$(sha256sum "$here/kafka/pom.xml" | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  rm -rf "$libs"
  (cd "$here/kafka" && mvn -B -q dependency:copy-dependencies -Dkafka.version="$KAFKA_VERSION" \
      -DoutputDirectory="$libs")
  touch "$stamp"
}
step "kafka $KAFKA_VERSION jars (maven)" maven.log fetch_jars
echo "[setup] toolchain ready in $(( $(date +%s) - t0 ))s: $PULUMI_ROOT/bin, $cache/kafka-$KAFKA_VERSION/libs"
