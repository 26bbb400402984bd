#!/usr/bin/env bash
# Builds the Pulumi CLI from its Go module into $PULUMI_ROOT/bin (idempotent).
# `go install pkg@ver` refuses modules with replace directives, so we build from a
# throwaway wrapper module that requires pkg/v3 and sdk/v3 at the same version and
# copies pkg's non-relative replaces from its downloaded go.mod.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
: "${PULUMI_ROOT:?}"
bin="$PULUMI_ROOT/bin"
if [ -x "$bin/pulumi" ] && "$bin/pulumi" version 2>/dev/null | grep -qx "$PULUMI_CLI_VERSION"; then
  exit 0
fi
mkdir -p "$bin"
# shellcheck source=go-wrapper.sh
source "$here/go-wrapper.sh"
wrapper_module pulumi-cli
# Copy every replace whose target is a module (not a relative path).
module_replaces "github.com/pulumi/pulumi/pkg/v3@$PULUMI_CLI_VERSION" modules >>go.mod
go get "github.com/pulumi/pulumi/pkg/v3@$PULUMI_CLI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_CLI_VERSION"
go build -trimpath -tags osusergo,grpcnotrace \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_CLI_VERSION" \
  -o "$bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
mv "$bin/pulumi.tmp" "$bin/pulumi"
# Helper scripts shipped in the sdk/v3 module zip: the language host's exec shim and
# the launcher the engine runs for Python dynamic providers. The module cache drops
# exec bits, hence install -m 0755.
sdkdir=$(go list -m -f '{{.Dir}}' "github.com/pulumi/pulumi/sdk/v3")
install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$bin/pulumi-language-python-exec"
install -m 0755 "$sdkdir/python/dist/pulumi-resource-pulumi-python" "$bin/pulumi-resource-pulumi-python"
[ -f "$sdkdir/python/dist/pulumi-analyzer-policy-python" ] && install -m 0755 "$sdkdir/python/dist/pulumi-analyzer-policy-python" "$bin/" || true
"$bin/pulumi" version
