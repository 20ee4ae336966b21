#!/usr/bin/env bash
# Make sure a Docker engine answers. On Debian as root: install docker.io if dockerd is
# missing, and start dockerd in the background if it is not running. Idempotent.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  echo "docker: engine running"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "docker: no engine answers and this is not root; start Docker (or install it:" \
       "https://docs.docker.com/engine/install/) and run again" >&2
  exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker: installing docker.io from Debian (about a minute)…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
echo "docker: starting dockerd (log: /var/log/sale-tui-dockerd.log)…"
nohup dockerd >/var/log/sale-tui-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "docker: engine ready"
    exit 0
  fi
  sleep 1
done
echo "docker: dockerd did not start; see /var/log/sale-tui-dockerd.log" >&2
exit 1
