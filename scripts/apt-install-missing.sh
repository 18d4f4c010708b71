#!/usr/bin/env bash
# Install Debian packages whose command is missing: apt-install-missing.sh COMMAND=PACKAGE ...
# e.g. `chromium=chromium redis-server=redis-server`. apt-get needs root: run as root, or this
# script uses sudo. Nothing is downloaded when every command is already there.
set -euo pipefail

packages=()
for pair in "$@"; do
  command -v "${pair%%=*}" >/dev/null 2>&1 || packages+=("${pair#*=}")
done
[ ${#packages[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
else
  echo "Installing ${packages[*]} with apt-get needs root; using sudo." >&2
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
