#!/usr/bin/env bash
# The one command that runs the whole test suite: it starts every test server the
# suite needs (scripts/servers.sh: Redis, Redis over TLS, a Redis Cluster, Valkey,
# Memcached, a MongoDB-wire and an OpenSearch-API server), then checks formatting and
# lints and runs every test (the library's and the `suite` member's) and doc test,
# every example (scripts/examples.sh), each Cargo feature alone (scripts/features.sh),
# the docs as docs.rs builds them and a dry-run publish. `.ci/run` calls exactly this.
#
# With KV_REQUIRE_SERVERS=1 (as CI sets it), a store test whose server does not
# answer fails instead of being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/servers.sh
# On a failure, each test server's last log lines: a server that stalled or died under
# the suite says why in them, and CI keeps only this output.
show_server_logs() {
  for log in target/test-servers/*.log target/test-servers/*/log; do
    [ -s "$log" ] && { echo "== $log"; tail -n 15 "$log"; }
  done
}
trap 'show_server_logs >&2' ERR
# shellcheck disable=SC1091
source target/test-servers/env

cargo fmt --all -- --check
cargo clippy --workspace --all-features --all-targets -- -D warnings
# Most test time is spent waiting for TTLs to pass: run more tests than cores.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-8}"
cargo test --workspace --all-features
scripts/examples.sh
scripts/features.sh
# The docs as docs.rs builds them (nightly, `--cfg docsrs`: each item marked with its
# feature), without a warning; stable rustdoc when no nightly is installed.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  RUSTDOCFLAGS="--cfg docsrs -D warnings" cargo +nightly doc -q --no-deps --all-features -p kv-store-adapter
else
  RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps --all-features -p kv-store-adapter
fi
# The package as it would be published: only what a user needs, and it builds alone.
cargo publish -q --dry-run --allow-dirty -p kv-store-adapter
