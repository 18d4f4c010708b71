#!/usr/bin/env bash
# Install the Debian packages the test suite needs, when missing: chromium (browser tests)
# and redis-server (the shared-cache tests start their own on loopback).
# apt-get needs root: run as root, or this script uses sudo.
set -euo pipefail

packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)

if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
else
  echo "Installing ${packages[*]} with apt-get needs root; using sudo." >&2
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" fonts-dejavu-core >/dev/null
