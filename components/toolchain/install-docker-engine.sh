#!/usr/bin/env bash
# Installs Debian's Docker engine (docker.io: dockerd, containerd, runc and a docker client)
# and busybox-static (the shell and wget of the Docker runtime's Kafka image) when missing.
# Nothing is started: the tests run a private dockerd of their own (local_runtime/docker_engine.py).
set -euo pipefail
missing=()
{ command -v dockerd && command -v docker; } >/dev/null || missing+=(docker.io)
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=(busybox-static)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-docker-engine: ${missing[*]} missing and this is not root; run as root, or: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${missing[@]}" || { apt-get update -q && apt-get install -y -q "${missing[@]}"; }
