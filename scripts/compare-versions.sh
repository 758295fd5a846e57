#!/usr/bin/env bash
# Compares this working tree's MemoryStore with the one at another commit, both linked
# into one binary and run in alternating blocks (same process, same moment, same
# noise), then prints each workload's median ns/op and the ratio new/old.
#
#   scripts/compare-versions.sh 4c59ee6        # 0.1 against the working tree
#   scripts/compare-versions.sh 4c59ee6 201    # more rounds
#   scripts/compare-versions.sh 4c59ee6 201 get_many   # workloads starting with get_many
#
# The method's own error shows in an A/A run (`scripts/compare-versions.sh HEAD`, the same
# code on both sides): up to ±4.5% per workload on this machine, from where the linker
# puts each copy's hot loops. Differences smaller than that need instruction counts:
#
# The workloads use calls both versions have (get, put, delete, ttl, and the batch
# forms over slices). Under valgrind: target/compare/bench/target/release/compare new "get hit" 20000
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: scripts/compare-versions.sh <old-commit> [rounds]}
rounds=${2:-101}
only=${3:-}
root=$PWD
work=$root/target/compare
mkdir -p "$work/bench/src"
if [ -d "$work/old" ]; then
  git -C "$work/old" checkout -q -f --detach "$rev"
else
  git worktree add -q --detach "$work/old" "$rev"
fi
# Two path packages of one name need two versions: rename the old one's.
sed -i '0,/^version = /s/^version = .*/version = "0.0.0-old"/' "$work/old/Cargo.toml"
cp scripts/compare-versions/main.rs "$work/bench/src/main.rs"
cat > "$work/bench/Cargo.toml" <<TOML
[package]
name = "compare"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
old = { package = "kv-store-adapter", path = "$work/old", default-features = false, features = ["memory"] }
new = { package = "kv-store-adapter", path = "$root", default-features = false, features = ["memory"] }
tokio = { version = "1", features = ["rt", "macros"] }
bytes = "1"

[profile.release]
debug = 1

[workspace]
TOML
cargo build --release --quiet --manifest-path "$work/bench/Cargo.toml"
echo "old = $(git rev-parse --short "$rev"), new = working tree ($(git rev-parse --short HEAD))"
"$work/bench/target/release/compare" "$rounds" ${only:+"$only"}
