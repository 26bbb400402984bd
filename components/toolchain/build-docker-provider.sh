#!/usr/bin/env bash
# Builds the `docker` resource provider plugin (toolchain/docker-provider) and installs
# it as $PULUMI_ROOT/providers/pulumi-resource-docker. Two steps, as for kafka: tfgen
# writes the Pulumi schema, then the provider is built with that schema embedded.
# Built with the no_compose tag: upstream's docker_compose resource (its plugin-framework
# half, which pulumi-docker does not bridge) then leaves docker/compose out of the binary.
# Rebuilt when the plugin version or the module's sources change. First build on 2 cores:
# ~3 min to download the modules, ~5 min to compile (the moby client, buildx, the bridge);
# then seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
: "${PULUMI_ROOT:?}"
src="$here/docker-provider"
out="$PULUMI_ROOT/providers/pulumi-resource-docker"
grep -q "github.com/kreuzwerker/terraform-provider-docker $TF_DOCKER_VERSION\$" "$src/go.mod" ||
  { echo "docker-provider/go.mod does not pin kreuzwerker/terraform-provider-docker $TF_DOCKER_VERSION" >&2; exit 1; }
want="$DOCKER_PLUGIN_VERSION $(cd "$src" && find . -name '*.go' -o -name 'go.*' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)"
mkdir -p "$PULUMI_ROOT/providers"
if [ -x "$out" ] && "$out" -version 2>/dev/null | grep -qx "$DOCKER_PLUGIN_VERSION" &&
  [ "$(cat "$out.built-from" 2>/dev/null)" = "$want" ]; then exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src/." "$work/"
cd "$work"
ldflags="-s -w -X kafkamig.local/docker-provider.Version=$DOCKER_PLUGIN_VERSION"
export CGO_ENABLED=0
go build -tags no_compose -trimpath -ldflags "$ldflags" -o "$work/tfgen" ./cmd/pulumi-tfgen-docker
"$work/tfgen" schema --out "$work/schema" >"$work/tfgen.log" 2>&1 || { cat "$work/tfgen.log"; exit 1; }
cp "$work/schema/schema.json" cmd/pulumi-resource-docker/schema-embed.json
go build -tags no_compose -trimpath -ldflags "$ldflags" -o "$out.tmp" ./cmd/pulumi-resource-docker
mv "$out.tmp" "$out"
echo "$want" >"$out.built-from"
