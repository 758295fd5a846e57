#!/usr/bin/env bash
# Runs the whole criterion suite (every bench in suite/benches/) for the stores whose servers
# are up, after starting them with scripts/servers.sh, then prints one table of every
# comparison: workload, this library's ops/s, the raw client's ops/s, the deciding
# ratio (interleaved where measured), the target and pass/fail.
#
#   scripts/bench.sh              everything
#   scripts/bench.sh redis disk   only these bench targets
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/servers.sh >&2
# shellcheck disable=SC1091
source target/test-servers/env
report=target/bench-report.tsv
rm -f "$report"
if [ $# -eq 0 ]; then
  cargo bench -p kv-store-adapter-suite
else
  cargo bench -p kv-store-adapter-suite $(printf -- '--bench %s ' "$@")
fi
echo
echo "=== kv-store-adapter vs raw clients, same run (ratio = ours / raw throughput) ==="
{
  printf 'store\tworkload\tours ops/s\traw ops/s\tratio\ttarget\tresult\n'
  cat "$report"
} | column -t -s $'\t'
if grep -q $'\tFAIL$' "$report"; then
  echo "some targets were missed (FAIL rows above)"
fi
