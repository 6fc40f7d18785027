#!/usr/bin/env bash
# nextest setup script (.config/nextest.toml): one emulator for the whole `cargo nextest run`.
#
# nextest runs every test in a process of its own, so the harness's shared emulator
# (tests/support/mod.rs, `emulator()`) would start once per test: a second of CPU each. This script
# starts one server (tests/emulator/moto_c3_server.py) on a free port and hands its directory to
# every test as C3_TEST_EMULATOR_DIR (through $NEXTEST_ENV): `port`, `pid`, `requests.jsonl` (the
# request log) and `server.out`. Tests isolate themselves by account, as they do on the shared
# server of one `cargo test` process. The server exits once nextest does (--parent-pid).
#
# The interpreter is C3_EMULATOR_PYTHON, else <repo>/.venv/bin/python (scripts/emulator-venv.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${C3_EMULATOR_PYTHON:-$ROOT/.venv/bin/python}"
if [ ! -x "$PY" ]; then
  echo "the AWS emulator's venv is missing ($PY not found): run scripts/test.sh" \
    "(or scripts/emulator-venv.sh, then cargo nextest run); or set C3_EMULATOR_PYTHON" >&2
  exit 1
fi
if [ -z "${NEXTEST_ENV:-}" ]; then
  echo "$0: NEXTEST_ENV is not set: this is a nextest setup script" >&2
  exit 1
fi
# The process that ran this script is nextest: the server exits when it is gone.
runner="$PPID"
scratch="${CARGO_TARGET_DIR:-$ROOT/target}/tmp"
mkdir -p "$scratch"
# c3-emu-*: the harness removes such directories once they are a day old.
dir="$(mktemp -d "$scratch/c3-emu-nextest-XXXXXX")"
: >"$dir/requests.jsonl"
port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# MOTO_* variables change moto's behaviour (MOTO_ACCOUNT_ID would disable account switching):
# none is passed on.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^MOTO_' || true)
# setsid, and no file descriptor of nextest's: the server is no leak of this script, and a ^C to
# the test run reaches it through --parent-pid only.
C3_EMULATOR_LOG="$dir/requests.jsonl" \
  setsid "$PY" "$ROOT/tests/emulator/moto_c3_server.py" -H 127.0.0.1 -p "$port" \
  --parent-pid "$runner" >"$dir/server.out" 2>&1 </dev/null &
pid=$!
echo "$port" >"$dir/port"
echo "$pid" >"$dir/pid"
if ! "$PY" "$ROOT/tests/emulator/wait_up.py" "$port" "$pid"; then
  echo "the AWS emulator did not come up on port $port; its output ($dir/server.out):" >&2
  tail -n 30 "$dir/server.out" >&2 || true
  kill "$pid" 2>/dev/null || true
  exit 1
fi
echo "C3_TEST_EMULATOR_DIR=$dir" >>"$NEXTEST_ENV"
echo "emulator: pid $pid on http://127.0.0.1:$port for nextest pid $runner ($dir)"
