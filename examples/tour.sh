#!/usr/bin/env bash
# The main job of zczk on the embedded emulator, with no server: import the example tree into
# file: storage, export it back, resolve a link, read properties, print the service graph.
#
#   examples/tour.sh [CONNECTION]     (default: file: storage in a fresh temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet --bin zczk
zczk="${CARGO_TARGET_DIR:-target}/release/zczk"
if [ $# -gt 0 ]; then
  zk=$1
else
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  zk="file:$dir/zk.json"
fi
export ZC_ZK_CONNECTION_STRING=$zk
step() { printf '\n$ %s\n' "$*"; "$@"; }

step $zczk validate examples/services.zk
step $zczk import examples/services.zk
step $zczk export /
step $zczk import --dry-run examples/services.zk
step $zczk set-property /config/web threads=8 'owner="ops"'
step $zczk get /web
step $zczk import --dry-run examples/services.zk
step $zczk resolve /lb/web
step $zczk walk /databases
step $zczk graph examples/services.zk
