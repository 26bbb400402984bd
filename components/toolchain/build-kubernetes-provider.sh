#!/usr/bin/env bash
# Builds the `kubernetes` resource provider plugin from its Go module into
# $PULUMI_ROOT/providers/pulumi-resource-kubernetes and installs it into PULUMI_HOME as
# plugin kubernetes v$KUBERNETES_PLUGIN_VERSION (what pulumi-kubernetes 4.34.2 on PyPI
# asks for) with `pulumi plugin install --file`: never downloaded. Idempotent.
#
# What the Go proxy serves: github.com/pulumi/pulumi-kubernetes/provider/v4 only at the
# pseudo-version below (commit f47bc2d6f199 of 2026-01-15; sdk/v4 v4.25.0 was tagged the
# next day, so this is v4.25.0's provider), no provider/v4 tag. Its go.mod replaces sdk/v4
# with ../sdk, which the module zip lacks: the build requires sdk/v4 v4.25.0 from the
# proxy instead. cmd/pulumi-resource-kubernetes embeds schema-embed.json and
# terraform-mapping-embed.json, which are git-ignored (absent from the zip): they are
# generated from the committed schema.json and terraform-mapping.json with "version" set,
# as upstream's generate.go does. First build: ~9 min on 2 cores, then seconds (Go cache).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
KUBERNETES_PLUGIN_VERSION=${KUBERNETES_PLUGIN_VERSION:-4.34.2}
K8S_PROVIDER_MODULE_VERSION=${K8S_PROVIDER_MODULE_VERSION:-v4.0.0-20260115033456-f47bc2d6f199}
K8S_SDK_VERSION=${K8S_SDK_VERSION:-v4.25.0}
cache=${KAFKAMIG_CACHE:-$HOME/.cache/kafka-migration}
PULUMI_ROOT=${PULUMI_ROOT:-$cache/pulumi-$PULUMI_CLI_VERSION}
export PULUMI_HOME=${PULUMI_HOME:-$cache/pulumi-home}
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

module=github.com/pulumi/pulumi-kubernetes/provider/v4
out="$PULUMI_ROOT/providers/pulumi-resource-kubernetes"
want="$module@$K8S_PROVIDER_MODULE_VERSION sdk/v4@$K8S_SDK_VERSION version=$KUBERNETES_PLUGIN_VERSION"
mkdir -p "$PULUMI_ROOT/providers"
if [ ! -x "$out" ] || [ "$(cat "$out.built-from" 2>/dev/null)" != "$want" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  export CGO_ENABLED=0 GOFLAGS=-mod=mod
  mkdir -p "$work/probe" "$work/src"
  (cd "$work/probe" && go mod init kafkamig.local/k8s-probe >/dev/null 2>&1)
  dir=$(cd "$work/probe" && go mod download -json "$module@$K8S_PROVIDER_MODULE_VERSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  cp -r "$dir/." "$work/src/"
  chmod -R u+w "$work/src"
  cd "$work/src"
  go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4 \
    -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@$K8S_SDK_VERSION"
  python3 - "$KUBERNETES_PLUGIN_VERSION" <<'PY'
import json, sys
cmd = "cmd/pulumi-resource-kubernetes"
schema = json.load(open(f"{cmd}/schema.json"))
schema["version"] = sys.argv[1]
json.dump(schema, open(f"{cmd}/schema-embed.json", "w"))
json.dump(json.load(open(f"{cmd}/terraform-mapping.json")), open(f"{cmd}/terraform-mapping-embed.json", "w"))
PY
  go build -trimpath -ldflags "-s -w -X $module/pkg/version.Version=$KUBERNETES_PLUGIN_VERSION" \
    -o "$out.tmp" ./cmd/pulumi-resource-kubernetes
  mv "$out.tmp" "$out"
  echo "$want" >"$out.built-from"
fi

plugin_dir="$PULUMI_HOME/plugins/resource-kubernetes-v$KUBERNETES_PLUGIN_VERSION"
if ! cmp -s "$out" "$plugin_dir/pulumi-resource-kubernetes" 2>/dev/null; then
  rm -rf "$plugin_dir" "$plugin_dir.lock"
  "$PULUMI_ROOT/bin/pulumi" plugin install resource kubernetes "$KUBERNETES_PLUGIN_VERSION" --file "$out"
fi
