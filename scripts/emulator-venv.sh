#!/usr/bin/env bash
# Create or update the emulator's Python venv (<repo>/.venv) from tests/emulator/requirements.txt.
# Idempotent: a stamp file in the venv holds the hash of the requirements and of the interpreter;
# when it matches, nothing is installed (takes a few milliseconds).
# env: C3_PYTHON  the interpreter to build the venv with (default: python3.11, else python3; needs >= 3.11)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/tests/emulator/requirements.txt"
STAMP="$VENV/.c3-requirements.stamp"

if [ -n "${C3_PYTHON:-}" ]; then
  PY="$C3_PYTHON"
elif command -v python3.11 >/dev/null 2>&1; then
  PY=python3.11
else
  PY=python3
fi

if [ -x "$VENV/bin/python" ]; then
  VPY="$VENV/bin/python"
else
  VPY="$PY"
fi
if ! "$VPY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "emulator-venv: $VPY is not Python >= 3.11 (the pinned requirements need it); set C3_PYTHON" >&2
  exit 1
fi

want="$(cat "$REQ"; "$VPY" -c 'import sys; print(sys.version)')"
want="$(printf '%s' "$want" | "$VPY" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "emulator venv up to date: $VENV"
  exit 0
fi

start=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  echo "emulator-venv: creating $VENV with $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')" >&2
  "$PY" -m venv "$VENV"
fi
rm -f "$STAMP"
echo "emulator-venv: installing $REQ" >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$REQ"
echo "$want" >"$STAMP"
echo "emulator venv ready in $(( $(date +%s) - start )) s: $VENV"
