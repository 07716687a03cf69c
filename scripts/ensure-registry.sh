#!/usr/bin/env bash
# Idempotent install of what the real-registry tests need (test/helpers/registry.ts):
#   - Debian's docker-registry (the Distribution registry), run by the tests themselves as
#     `docker-registry serve CONFIG.yml` on 127.0.0.1 — nothing is started here (no systemd; policy-rc.d
#     blocks service starts, so the package's own service stays down),
#   - apache2-utils for `htpasswd -B`: the registry's htpasswd auth accepts bcrypt only (toolchain note).
# Safe to run again and again: it installs only what is missing. Needs root on Debian 12.
set -euo pipefail

log() { printf 'ensure-registry: %s\n' "$*" >&2; }

need_pkgs=()
command -v docker-registry >/dev/null 2>&1 || need_pkgs+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || need_pkgs+=(apache2-utils)

if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
log "docker-registry and htpasswd ready"
