#!/usr/bin/env bash
# Idempotent set-up of everything the tests and `make run` need from the host:
#   - the Docker engine (Debian's docker.io) installed and answering on /var/run/docker.sock,
#   - the local test image ecsd-test/busybox:latest (busybox-static rootfs + `docker import`, no registry),
#   - busybox-static, the reference CNI plugins and promtool for the tests that use them.
# Safe to run again and again: every step checks before it acts. Needs root on Debian 12.
set -euo pipefail

log() { printf 'ensure-docker: %s\n' "$*" >&2; }

SOCK=/var/run/docker.sock
TEST_IMAGE=${ECSD_TEST_IMAGE:-ecsd-test/busybox:latest}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/ecsd-dockerd.log}

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need_pkgs+=(busybox-static)
[ -x /usr/lib/cni/bridge ] || need_pkgs+=(containernetworking-plugins)
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
command -v nsenter >/dev/null 2>&1 || need_pkgs+=(util-linux)
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
command -v pgrep >/dev/null 2>&1 || need_pkgs+=(procps)

if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d blocks service starts on these machines; we start dockerd ourselves below.
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

ping_engine() { curl -sf --max-time 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }

if ! ping_engine; then
  # A killed dockerd leaves its pid files behind and a new one refuses to start (toolchain note).
  for pidfile in /var/run/docker.pid /run/docker/containerd/containerd.pid; do
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile" 2>/dev/null || true)
      if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
        log "removing stale $pidfile"
        rm -f "$pidfile"
      fi
    fi
  done
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    log "starting dockerd (log: $DOCKERD_LOG)"
    rm -f "$SOCK"
    nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 120); do
    ping_engine && break
    sleep 0.5
  done
  if ! ping_engine; then
    log "dockerd did not answer on $SOCK within 60s; last log lines:"
    tail -n 30 "$DOCKERD_LOG" >&2 || true
    exit 1
  fi
fi
log "engine answers: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"

if ! docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
  log "building $TEST_IMAGE from busybox-static"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/data" "$root/var/www"
  cp /bin/busybox "$root/bin/busybox"
  # Relative symlinks: `busybox --install -s` would write absolute host paths (toolchain note).
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  echo 'ecsd test image' >"$root/var/www/index.html"
  tar -C "$root" -cf "$root.tar" .
  docker import -c 'ENV PATH=/bin' "$root.tar" "$TEST_IMAGE" >/dev/null
  rm -f "$root.tar"
fi
log "test image $TEST_IMAGE ready"

# The real-registry tests (issue 12) need docker-registry and htpasswd; kept in its own script.
bash "$(dirname "$0")/ensure-registry.sh"
