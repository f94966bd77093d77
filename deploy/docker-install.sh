#!/bin/sh
# Installs a packed vaultgate (`npm pack` → vaultgate-<version>.tgz) into PREFIX, as the Docker image
# does (deploy/Dockerfile) and as a systemd host does (deploy/vaultgate.service, PREFIX=/opt/vaultgate):
#
#   deploy/docker-install.sh vaultgate-0.1.0.tgz /opt/vaultgate
#
# Afterwards PREFIX/node_modules/.bin/vaultgate is the command, and PREFIX/healthcheck.mjs the probe the
# image's HEALTHCHECK runs. The production dependencies are installed from the npm registry;
# better-sqlite3 downloads a prebuilt binary or, failing that, compiles (python3, make and g++ needed).
# test/release.pack.test.ts runs this script for real.
set -eu

if [ "$#" -ne 2 ]; then
  echo "usage: $0 TARBALL PREFIX" >&2
  exit 2
fi
tarball=$(realpath "$1")
prefix=$2
here=$(dirname "$(realpath "$0")")

mkdir -p "$prefix"
cd "$prefix"
# A package.json of its own, so the install stays in PREFIX instead of climbing to a parent project.
[ -f package.json ] || printf '{ "name": "vaultgate-install", "private": true }\n' >package.json
npm install --omit=dev --no-audit --no-fund --prefer-offline "$tarball"
cp "$here/healthcheck.mjs" "$prefix/healthcheck.mjs"
"$prefix/node_modules/.bin/vaultgate" --version
