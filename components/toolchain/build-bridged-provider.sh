#!/usr/bin/env bash
# build-bridged-provider.sh NAME VERSION UPSTREAM_MODULE UPSTREAM_VERSION [GO_BUILD_TAGS]
# Builds a resource provider plugin that maps a Terraform provider onto a Pulumi package's
# tokens through the Terraform bridge (toolchain/NAME-provider: kafka, docker) and installs
# it as $PULUMI_ROOT/providers/pulumi-resource-NAME. Two steps, as upstream does it: tfgen
# writes the Pulumi schema, then the provider is built with that schema embedded.
# Refuses a go.mod that does not pin UPSTREAM_MODULE at UPSTREAM_VERSION (versions.env is the
# one place versions are set). Rebuilt when VERSION or the module's sources change.
set -euo pipefail
name=$1 version=$2 upstream=$3 upstream_version=$4 tags=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
: "${PULUMI_ROOT:?}"
src="$here/$name-provider"
out="$PULUMI_ROOT/providers/pulumi-resource-$name"
grep -q "$upstream $upstream_version\$" "$src/go.mod" ||
  { echo "$name-provider/go.mod does not pin $upstream $upstream_version (versions.env)" >&2; exit 1; }
want="$version $(cd "$src" && find . -name '*.go' -o -name 'go.*' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)"
mkdir -p "$PULUMI_ROOT/providers"
if [ -x "$out" ] && "$out" -version 2>/dev/null | grep -qx "$version" &&
  [ "$(cat "$out.built-from" 2>/dev/null)" = "$want" ]; then exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src/." "$work/"
cd "$work"
ldflags="-s -w -X kafkamig.local/$name-provider.Version=$version"
export CGO_ENABLED=0
go build -tags "$tags" -trimpath -ldflags "$ldflags" -o "$work/tfgen" "./cmd/pulumi-tfgen-$name"
"$work/tfgen" schema --out "$work/schema" >"$work/tfgen.log" 2>&1 || { cat "$work/tfgen.log"; exit 1; }
cp "$work/schema/schema.json" "cmd/pulumi-resource-$name/schema-embed.json"
go build -tags "$tags" -trimpath -ldflags "$ldflags" -o "$out.tmp" "./cmd/pulumi-resource-$name"
mv "$out.tmp" "$out"
echo "$want" >"$out.built-from"
