#!/usr/bin/env bash
# Start or stop the patched AWS emulator (tests/emulator/moto_c3_server.py) for manual use.
#
#   eval "$(scripts/emulator.sh start)"   # starts it on 127.0.0.1:<free port>, prints export lines
#   scripts/emulator.sh stop
#
# State lives in .c3-tmp/: <name>.pid, <name>.port, <name>.out (server output) and
# <name>.requests.jsonl (the request log, one JSON line per AWS call).
# env: C3_EMULATOR_NAME  names the state files (default "emulator"), so several servers can coexist.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NAME="${C3_EMULATOR_NAME:-emulator}"
STATE="$ROOT/.c3-tmp"
PIDFILE="$STATE/$NAME.pid"
PORTFILE="$STATE/$NAME.port"
PY="$ROOT/.venv/bin/python"

print_env() {
  local port="$1"
  echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$port"
  echo "export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1"
  echo "export C3_EMULATOR_LOG=$STATE/$NAME.requests.jsonl"
}

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

case "${1:-}" in
start)
  if running; then
    echo "emulator: already running (pid $(cat "$PIDFILE"))" >&2
    print_env "$(cat "$PORTFILE")"
    exit 0
  fi
  "$ROOT/scripts/emulator-venv.sh" >&2
  mkdir -p "$STATE"
  port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  : >"$STATE/$NAME.requests.jsonl"
  # setsid + nohup: the server outlives this script and the shell that ran it.
  # MOTO_ACCOUNT_ID would disable moto's account switching: never pass it on.
  C3_EMULATOR_LOG="$STATE/$NAME.requests.jsonl" env -u MOTO_ACCOUNT_ID \
    setsid nohup "$PY" "$ROOT/tests/emulator/moto_c3_server.py" -H 127.0.0.1 -p "$port" \
    >"$STATE/$NAME.out" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PIDFILE"
  echo "$port" >"$PORTFILE"
  if ! "$PY" "$ROOT/tests/emulator/wait_up.py" "$port" "$pid"; then
    echo "emulator: did not come up; its output ($STATE/$NAME.out):" >&2
    tail -n 30 "$STATE/$NAME.out" >&2 || true
    kill "$pid" 2>/dev/null || true
    rm -f "$PIDFILE" "$PORTFILE"
    exit 1
  fi
  echo "emulator: pid $pid on http://127.0.0.1:$port (output: $STATE/$NAME.out)" >&2
  print_env "$port"
  ;;
stop)
  if [ ! -f "$PIDFILE" ]; then
    echo "emulator: not running (no $PIDFILE)" >&2
    exit 0
  fi
  pid="$(cat "$PIDFILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
    fi
    echo "emulator: stopped pid $pid" >&2
  else
    echo "emulator: pid $pid was not running" >&2
  fi
  rm -f "$PIDFILE" "$PORTFILE"
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
