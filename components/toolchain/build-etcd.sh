#!/usr/bin/env bash
# Builds etcd $ETCD_VERSION from go.etcd.io/etcd/server/v3 into
# $KAFKAMIG_CACHE/etcd-$ETCD_VERSION/bin/etcd (idempotent): the store of the test API
# server. etcd's own main module (go.etcd.io/etcd/v3) replaces its siblings with relative
# paths, so a throwaway wrapper module with a two-line main (etcdmain.Main, what etcd's
# main.go calls) builds it from the server module instead. Debian's etcd-server is 3.4,
# older than Kubernetes 1.37 supports; $ETCD_VERSION is the one k8s.io/kubernetes requires.
# First build: ~1 min on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${KAFKAMIG_CACHE:-$HOME/.cache/kafka-migration}
out="$cache/etcd-$ETCD_VERSION/bin/etcd"
if [ -x "$out" ] && [ "$(cat "$out.built-from" 2>/dev/null)" = "go.etcd.io/etcd/server/v3@$ETCD_VERSION" ]; then
  exit 0
fi
mkdir -p "$(dirname "$out")"
# shellcheck source=go-wrapper.sh
source "$here/go-wrapper.sh"
wrapper_module etcd
cat >main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
go mod tidy
go build -trimpath -ldflags "-s -w" -o "$out.tmp" .
mv "$out.tmp" "$out"
echo "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >"$out.built-from"
"$out" --version
