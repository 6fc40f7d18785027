#!/usr/bin/env bash
# The whole story of c3 in about a minute, against the local AWS emulator:
# plan an example estate, apply it, plan again (no differences), make drift by hand,
# plan (what will be fixed, what is only reported), apply, plan once more.
# Builds c3 and installs the emulator (.venv) when needed; stops the emulator at the end.
#   usage: scripts/demo.sh [examples/multi-account.toml]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
CONFIG="${1:-examples/multi-account.toml}"

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
  step() { printf '\n==> %s\n' "$*"; }
fi
run() { printf '$ %s\n' "$*"; "$@"; }

step "build c3 (cargo build)"
cargo build --quiet
C3="$ROOT/target/debug/c3"

step "start the local AWS emulator (moto, patched to behave like AWS where c3 needs it)"
export C3_EMULATOR_NAME=demo
trap 'scripts/emulator.sh stop' EXIT
eval "$(scripts/emulator.sh start)"
# Clear anything that could point c3 at real AWS: only the emulator is reached.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=eu-west-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
echo "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"

step "validate the file (no AWS call)"
run "$C3" validate -c "$CONFIG"

step "plan against empty accounts: everything is to be created"
run "$C3" plan -c "$CONFIG" || true

step "apply it"
run "$C3" apply -c "$CONFIG" --auto-approve

step "plan again: no differences (exit code 0 with --detailed-exitcode)"
run "$C3" plan -c "$CONFIG" --detailed-exitcode
echo "exit code: $?"

step "drift by hand in account 111111111111, eu-west-1"
ENDPOINT="$AWS_ENDPOINT_URL" .venv/bin/python tests/emulator/drift.py 111111111111 eu-west-1

step "plan: what apply will fix, and what it only reports"
set +e
run "$C3" plan -c "$CONFIG" --detailed-exitcode
echo "exit code: $? (2: differences)"
set -e

step "apply: rotation back on, key restored; the foreign statement is kept and reported"
run "$C3" apply -c "$CONFIG" --auto-approve

step "plan once more: only the reported difference is left"
set +e
run "$C3" plan -c "$CONFIG" --detailed-exitcode
echo "exit code: $? (2: a reported difference remains, by design)"
set -e

step "done; the emulator is stopped"
