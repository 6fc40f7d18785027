#!/usr/bin/env bash
# The project's test command; CI runs exactly this (through .ci/run). Works on a fresh clone:
# it creates the emulator's venv (.venv, ~30 s the first time) and builds everything it needs.
#   1. scripts/emulator-venv.sh               the Python venv with the pinned moto and linters (no-op when current)
#   2. scripts/lint-ci.sh                     the CI examples (examples/ci/) pass actionlint and the CI schemas, offline
#   3. tests/emulator/check_patched.py        the emulator patches still hold (own server, stopped after)
#      tests/emulator/check_proxy.py          the latency/fault proxy of the benchmark works (same server)
#   4. cargo fmt --check
#   5. cargo clippy --all-targets -- -D warnings
#   6. scripts/check-planner-imports.sh       the planner and the model stay pure
#   7. cargo test --all-targets               integration tests start their own emulator (tests/support)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

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

step "cargo test --all-targets"
cargo test --all-targets

step "all passed in $(( $(date +%s) - started )) s"
