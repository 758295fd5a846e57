#!/usr/bin/env bash
# Every Cargo feature alone, as a user who enables only that one gets it: the library
# builds without a warning with no feature and with each feature by itself, and each
# backend's own tests pass with only its feature (against the servers of
# scripts/servers.sh, whose env must be sourced). The full suite runs with every feature
# on, which hides a dependency or a feature flag that only another feature brings in:
# this is the check that does not.
#
#   scripts/features.sh          every feature
#   scripts/features.sh redis    only these
set -euo pipefail
cd "$(dirname "$0")/.."

all=(memory disk redis redis-cluster redis-tls valkey memcached mongodb elasticsearch
  json compress encrypt fuzzing testkit metrics serde)
features=("${@:-${all[@]}}")

# The tests of the suite that need nothing but one feature.
declare -A tests=(
  [memory]="memory memory_listing allocations" [disk]="disk multi_disk" [redis]="redis"
  [redis-cluster]="redis_cluster" [redis-tls]="redis_tls" [valkey]="valkey"
  [memcached]="memcached" [mongodb]="mongodb" [elasticsearch]="elasticsearch elasticsearch_proxy"
  [metrics]="metrics"
)

if [ $# -eq 0 ]; then
  echo "[features] none"
  cargo clippy -q -p kv-store-adapter --lib --no-default-features -- -D warnings
fi
for feature in "${features[@]}"; do
  echo "[features] $feature alone"
  cargo clippy -q -p kv-store-adapter --lib --no-default-features --features "$feature" \
    -- -D warnings
  for test in ${tests[$feature]:-}; do
    cargo test -q -p kv-store-adapter-suite --no-default-features --features "$feature" \
      --test "$test"
  done
done
# Two features meant to be used together: a Redis Cluster over TLS.
if [ $# -eq 0 ]; then
  echo "[features] redis-cluster and redis-tls together"
  cargo test -q -p kv-store-adapter-suite --no-default-features \
    --features redis-cluster,redis-tls --test redis_tls_cluster
fi
