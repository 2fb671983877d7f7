#!/usr/bin/env bash
# Installs what relaybench needs beyond Go: tor and tor-gencert (Debian's
# `tor` package). Idempotent: does nothing when both are on PATH. The Debian
# package starts no daemon in containers, and relaybench never relies on a
# system tor: it starts and stops its own processes.
set -euo pipefail

if command -v tor >/dev/null 2>&1 && command -v tor-gencert >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: tor is not installed and apt-get is not available; install tor (with tor-gencert) from your distribution" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "setup: installing tor needs root: run 'apt-get install tor' as root" >&2
    exit 1
  fi
fi

echo "setup: installing tor with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends tor >/dev/null
tor --version | head -n 1 >&2
