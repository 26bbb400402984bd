#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager $KUBE_APISERVER_VERSION from the
# k8s.io/kubernetes Go module into $KAFKAMIG_CACHE/kubernetes-$KUBE_APISERVER_VERSION/bin
# (idempotent): the real API server the Kubernetes runtime's integration tests start on
# loopback (local_runtime/kube_apiserver.py), and the controller manager they run with its
# garbage collector only: the kubernetes provider deletes with foreground propagation, and
# only the garbage collector removes the `foregroundDeletion` finalizer that puts on an object
# (without it every delete waits for its 10-minute timeout).
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod requires the k8s.io staging
# modules (k8s.io/api, k8s.io/apiserver, ...) at v0.0.0 and replaces them with relative
# paths into its own tree. A throwaway wrapper module pins each of those to the matching
# published tag (v1.X.Y -> v0.X.Y) and builds the command package from the dependency.
# The version ldflags make /version report the release (the kubernetes provider reads it).
# First build of both: ~9 min on 2 cores (Go module cache warm), then seconds (Go build cache).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${KAFKAMIG_CACHE:-$HOME/.cache/kafka-migration}
bin="$cache/kubernetes-$KUBE_APISERVER_VERSION/bin"
commands="kube-apiserver kube-controller-manager"
want="k8s.io/kubernetes@$KUBE_APISERVER_VERSION $commands"
if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] \
  && [ "$(cat "$bin/.built-from" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
mkdir -p "$bin"
# shellcheck source=go-wrapper.sh
source "$here/go-wrapper.sh"
wrapper_module kube-apiserver
# Every replace of k8s.io/kubernetes that points into its own tree, pinned to the tag instead.
module_replaces "k8s.io/kubernetes@$KUBE_APISERVER_VERSION" pin "v0.${KUBE_APISERVER_VERSION#v1.}" >>go.mod
go get "k8s.io/kubernetes@$KUBE_APISERVER_VERSION"
minor=${KUBE_APISERVER_VERSION#v1.}; minor=${minor%%.*}
v=k8s.io/component-base/version
mkdir -p "$work/out"
# shellcheck disable=SC2086 # the command list splits on purpose
go build -trimpath \
  -ldflags "-s -w -X $v.gitVersion=$KUBE_APISERVER_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
  -o "$work/out/" $(printf 'k8s.io/kubernetes/cmd/%s ' $commands)
for c in $commands; do mv "$work/out/$c" "$bin/$c"; "$bin/$c" --version; done
echo "$want" >"$bin/.built-from"
