#!/usr/bin/env bash
# The one command that runs the whole test suite: it starts every test server the
# suite needs (scripts/servers.sh: Redis, a Redis Cluster, Valkey, Memcached), then
# checks formatting and lints and runs every test, doc test and example. `.ci/run`
# calls exactly this.
#
# With KV_REQUIRE_SERVERS=1 (as CI sets it), a store test whose server does not
# answer fails instead of being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/servers.sh
# shellcheck disable=SC1091
source target/test-servers/env

cargo fmt --all -- --check
cargo clippy --all-features --all-targets -- -D warnings
# Most test time is spent waiting for TTLs to pass: run more tests than cores.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-8}"
cargo test --all-features
cargo run --quiet --example quickstart > /dev/null
