#!/usr/bin/env bash
# kv-store-adapter beside openkeyv, OpenDAL and the raw clients, in one run.
#
#   peers/run.sh [memory|disk|redis]   # one group, or all of them
#
# Builds the harness (its own Cargo project, outside the repository's workspace: the
# test command never builds it), starts a private redis-server on a free port of
# 127.0.0.1 (stopped on exit), and with SPIN=1 keeps the other core awake with a
# nice-19 busy loop, as the benchmarks run. Prints a Markdown report.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --quiet
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$dir" \
  --daemonize no > "$dir/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$port" ping > /dev/null 2>&1 && break; sleep 0.1; done
if [ "${SPIN:-0}" = 1 ]; then
  nice -n 19 sh -c 'while :; do :; done' &
  pids+=($!)
fi
PEERS_REDIS_URL="redis://127.0.0.1:$port/" ./target/release/kv-peers "$@"
