#!/usr/bin/env bash
# The project's test command; CI runs exactly this (through .ci/run). Works on a fresh clone:
# it creates the emulator's venv (.venv, ~30 s the first time) and builds everything it needs.
#   1. cargo test --lib                       unit and property tests, first: a broken planner
#                                             fails here, before the venv, the emulator and the builds
#   2. scripts/emulator-venv.sh               the Python venv with the pinned moto and linters (no-op when current)
#   3. scripts/lint-ci.sh                     the CI examples (examples/ci/) pass actionlint and the CI schemas, offline
#   4. tests/emulator/check_patched.py        the emulator patches still hold (own server, stopped after)
#      tests/emulator/check_proxy.py          the latency/fault proxy of the benchmark works (same server)
#   5. cargo fmt --check
#   6. cargo clippy --all-targets -- -D warnings
#   7. scripts/check-planner-imports.sh       the planner and the model stay pure
#   8. the integration tests (tests/main.rs, the only test target; they start their own emulator):
#      cargo nextest run --test integration   when cargo-nextest (>= 0.9.99) is installed: one emulator
#                                             for the run (.config/nextest.toml), longest tests first
#      cargo test --test integration          otherwise
#   9. cargo test --doc                       documentation examples (nextest does not run them)
# Each test runs once: the unit tests in 1 only. There are no examples or benches to build (examples/
# holds keys.toml files), and src/main.rs has no tests.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)
# Integration tests that wait on c3, the emulator or a proxy more than they compute: 4 at a time
# even on 2 cores (the nextest profile says the same).
TEST_THREADS=4

step "cargo test --lib"
cargo test --lib

step "emulator venv (scripts/emulator-venv.sh)"
scripts/emulator-venv.sh

step "CI examples (scripts/lint-ci.sh)"
scripts/lint-ci.sh

step "emulator checks (tests/emulator/check_patched.py against a launcher of its own)"
export C3_EMULATOR_NAME=check-patched # its own state files under .c3-tmp/, apart from a developer's server
trap 'scripts/emulator.sh stop' EXIT
exports="$(scripts/emulator.sh start)"
endpoint="$(sed -n 's/^export AWS_ENDPOINT_URL=//p' <<<"$exports")"
log="$(sed -n 's/^export C3_EMULATOR_LOG=//p' <<<"$exports")"
ENDPOINT="$endpoint" C3_EMULATOR_LOG="$log" .venv/bin/python tests/emulator/check_patched.py
ENDPOINT="$endpoint" .venv/bin/python tests/emulator/check_proxy.py
scripts/emulator.sh stop
trap - EXIT
unset C3_EMULATOR_NAME

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

step "scripts/check-planner-imports.sh"
scripts/check-planner-imports.sh

if cargo nextest show-config version >/dev/null 2>&1; then
  step "cargo nextest run --test integration"
  cargo nextest run --test integration
else
  step "cargo test --test integration -- --test-threads $TEST_THREADS (cargo-nextest >= 0.9.99 not found)"
  cargo test --test integration -- --test-threads "$TEST_THREADS"
fi

step "cargo test --doc"
cargo test --doc

step "all passed in $(( $(date +%s) - started )) s"
