#!/usr/bin/env bash
# Builds our Python language host (toolchain/langhost-python) into $PULUMI_ROOT/bin.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/versions.env"
: "${PULUMI_ROOT:?}"
out="$PULUMI_ROOT/bin/pulumi-language-python"
stamp="$PULUMI_ROOT/bin/.langhost-$(cat "$here"/langhost-python/{go.mod,go.sum,main.go} | sha256sum | cut -c1-16)"
if [ -x "$out" ] && [ -f "$stamp" ]; then exit 0; fi
cd "$here/langhost-python"
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_CLI_VERSION" \
  -o "$out.tmp" .
mv "$out.tmp" "$out"
rm -f "$PULUMI_ROOT"/bin/.langhost-*; touch "$stamp"
