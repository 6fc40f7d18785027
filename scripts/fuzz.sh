#!/usr/bin/env bash
# Fuzzes the keys.toml loader (fuzz/fuzz_targets/load.rs) for a bounded time.
#   scripts/fuzz.sh [SECONDS=60]
# Needs a nightly toolchain (cargo-fuzz builds with -Zsanitizer=address) and cargo-fuzz, which it
# installs from crates.io when missing. The corpus (fuzz/corpus/load, kept between runs, ignored by
# git) is seeded from tests/fixtures/**/*.toml and examples/*.toml. Crashing inputs land in
# fuzz/artifacts/load/; reproduce one with
#   cargo +nightly fuzz run load fuzz/artifacts/load/<file>
# Exit status: 0 when the run ends without a crash, 1 otherwise.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

SECONDS_TO_RUN="${1:-60}"
case "$SECONDS_TO_RUN" in
  ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS=60]" >&2; exit 1 ;;
esac
TOOLCHAIN="${C3_FUZZ_TOOLCHAIN:-nightly}"

if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
  cat >&2 <<EOF
scripts/fuzz.sh: the '$TOOLCHAIN' toolchain is not installed, and cargo-fuzz needs nightly
(libFuzzer and the address sanitizer are nightly-only flags). Install it with
  rustup toolchain install nightly --profile minimal
or name another nightly with C3_FUZZ_TOOLCHAIN=nightly-YYYY-MM-DD. Nothing was fuzzed.
The stable toolchain still runs the loader's fixture tests (cargo test --test integration config)
and the planner's property tests (cargo test --lib plan::proptests).
EOF
  exit 1
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  cargo +"$TOOLCHAIN" install cargo-fuzz --locked
fi

CORPUS=fuzz/corpus/load
mkdir -p "$CORPUS" fuzz/artifacts/load
seeded=0
while IFS= read -r -d '' f; do
  # Named by content, so re-seeding does not duplicate.
  cp "$f" "$CORPUS/seed-$(sha1sum "$f" | cut -c1-16)"
  seeded=$((seeded + 1))
done < <(find tests/fixtures examples -name '*.toml' -print0)
echo "==> corpus: $seeded seed file(s) from tests/fixtures and examples; $(find "$CORPUS" -type f | wc -l) input(s) in $CORPUS"

LOG="fuzz/artifacts/load/last-run.log"
echo "==> cargo +$TOOLCHAIN fuzz run load for ${SECONDS_TO_RUN}s (log: $LOG)"
set +e
# The target writes non-UTF-8 inputs to a scratch file (to go through `load`): keep it in fuzz/target.
mkdir -p fuzz/target/tmp
TMPDIR="$ROOT/fuzz/target/tmp" cargo +"$TOOLCHAIN" fuzz run load "$CORPUS" -- \
  -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -print_final_stats=1 2>&1 | tee "$LOG" \
  | grep -E '^#[0-9]+[[:space:]]+(INITED|DONE|pulse)|^Done|^stat::|panicked|ERROR|SUMMARY|Test unit written'
status=${PIPESTATUS[0]}
set -e

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -1)
cov=$(grep -oE 'cov: [0-9]+' "$LOG" | tail -1 | cut -d' ' -f2)
ft=$(grep -oE 'ft: [0-9]+' "$LOG" | tail -1 | cut -d' ' -f2)
corpus=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$LOG" | tail -1 | cut -d' ' -f2)
crashes=$(find fuzz/artifacts/load -type f ! -name '*.log' | wc -l)
echo
echo "==> result: exit $status; ${execs:-?} executions in ${SECONDS_TO_RUN}s; coverage ${cov:-?} edges, ${ft:-?} features; corpus ${corpus:-?}; ${crashes} crash/timeout artifact(s) in fuzz/artifacts/load"
if [ "$status" -ne 0 ]; then
  echo "==> the fuzzer found a failure: see $LOG and fuzz/artifacts/load/" >&2
  exit 1
fi
