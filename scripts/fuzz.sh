#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for SECONDS each, one after the
# other, and prints each target's executions and findings. Needs the nightly
# toolchain (rustup) and cargo-fuzz, installed here if missing.
#
#   scripts/fuzz.sh            300 s per target
#   scripts/fuzz.sh 60 names   60 s, one target
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(names entries compress encrypt memcached_answers)
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
mkdir -p logs
status=0
for target in "${targets[@]}"; do
  log="logs/$target.log"
  if cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
      >"$log" 2>&1; then
    outcome="no findings"
  else
    outcome="FINDING (see fuzz/$log and fuzz/artifacts/$target)"; status=1
  fi
  runs=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 || true)
  printf '%-10s %s; %s; %s\n' "$target" "${runs:-no summary}" "${cov:-}" "$outcome"
done
exit $status
