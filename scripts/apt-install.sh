#!/usr/bin/env bash
# Installs the Debian packages named as arguments with apt-get (through sudo when not root), or says which are
# missing and exits 1 where there is no apt-get. Shared by setup-toolchains.sh, setup-browser.sh and
# setup-postgres.sh.
set -euo pipefail
if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing: $* (install them with your package manager; these are the Debian package names)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing: $*"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
