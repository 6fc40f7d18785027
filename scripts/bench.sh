#!/usr/bin/env bash
# The performance benchmark (docs/performance.md). One command from a fresh clone:
#
#   scripts/bench.sh            # full: 3 estates x (grants read, read_grants = false) x (0 ms, 30 ms) x 3 runs,
#                               # 10,000 keys, apply
#   scripts/bench.sh --quick    # smoke: small estates, one run each (~25 s once built)
#   scripts/bench.sh --only A,C --runs 5    # a subset (A, B, C, M, W, R, I, U); other flags go to bench.py
#
# It builds c3 in release mode, creates the emulator venv if needed, starts its own emulator
# (C3_EMULATOR_NAME=bench, state in .c3-tmp/bench.*) and, from bench.py, its own proxies; everything
# is stopped on exit. Results: printed as markdown tables and written to .c3-tmp/bench-results/
# (results.md, results.json, the estates' keys.toml files). A benchmark, not a test: it fails only
# if c3 fails, the seeded estates do not plan clean, or apply does not converge.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
OUT="${C3_BENCH_OUT:-$ROOT/.c3-tmp/bench-results}"

echo "==> cargo build --release" >&2
cargo build --release --quiet
echo "==> emulator venv" >&2
scripts/emulator-venv.sh >&2

export C3_EMULATOR_NAME=bench
trap 'scripts/emulator.sh stop' EXIT
exports="$(scripts/emulator.sh start)"
endpoint="$(sed -n 's/^export AWS_ENDPOINT_URL=//p' <<<"$exports")"
log="$(sed -n 's/^export C3_EMULATOR_LOG=//p' <<<"$exports")"

mkdir -p "$OUT"
.venv/bin/python tests/emulator/bench.py --c3 "$ROOT/target/release/c3" --endpoint "$endpoint" \
  --log "$log" --out "$OUT" "$@"
echo "results: $OUT/results.md" >&2
