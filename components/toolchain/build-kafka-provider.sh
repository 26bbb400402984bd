#!/usr/bin/env bash
# Builds the `kafka` resource provider plugin (toolchain/kafka-provider) and installs
# it as $PULUMI_ROOT/bin/pulumi-resource-kafka. Two steps, as upstream does it: tfgen
# writes the Pulumi schema, then the provider is built with that schema embedded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
: "${PULUMI_ROOT:?}"
out="$PULUMI_ROOT/providers/pulumi-resource-kafka"
mkdir -p "$PULUMI_ROOT/providers"
if [ -x "$out" ] && "$out" -version 2>/dev/null | grep -qx "$KAFKA_PLUGIN_VERSION"; then exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/kafka-provider/." "$work/"
cd "$work"
ldflags="-s -w -X kafkamig.local/kafka-provider.Version=$KAFKA_PLUGIN_VERSION"
export CGO_ENABLED=0
go build -trimpath -ldflags "$ldflags" -o "$work/tfgen" ./cmd/pulumi-tfgen-kafka
"$work/tfgen" schema --out "$work/schema" >"$work/tfgen.log" 2>&1 || { cat "$work/tfgen.log"; exit 1; }
cp "$work/schema/schema.json" cmd/pulumi-resource-kafka/schema-embed.json
go build -trimpath -ldflags "$ldflags" -o "$out.tmp" ./cmd/pulumi-resource-kafka
mv "$out.tmp" "$out"
