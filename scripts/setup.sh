#!/usr/bin/env bash
# Installs what relaybench needs beyond Go: tor and tor-gencert (Debian's
# `tor` package), and with `setup.sh test` also Debian's `chromium`, which
# the test suite uses to render report.html headless, and `prometheus`
# (prometheus and promtool), which checks deploy/prometheus's rules and
# scrapes a run in the deploy tests. Idempotent: installs
# only what is missing. The Debian package starts no daemon in containers,
# and relaybench never relies on a system tor: it starts and stops its own
# processes.
set -euo pipefail

packages=()
if ! command -v tor >/dev/null 2>&1 || ! command -v tor-gencert >/dev/null 2>&1; then
  packages+=(tor)
fi
if [ "${1:-}" = "test" ] && ! command -v chromium >/dev/null 2>&1; then
  packages+=(chromium)
fi
if [ "${1:-}" = "test" ] && { ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; }; then
  packages+=(prometheus)
fi
if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: ${packages[*]} missing and apt-get is not available; install them from your distribution" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "setup: installing ${packages[*]} needs root: run 'apt-get install ${packages[*]}' as root" >&2
    exit 1
  fi
fi

echo "setup: installing ${packages[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
tor --version | head -n 1 >&2
