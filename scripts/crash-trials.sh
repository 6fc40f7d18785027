#!/usr/bin/env bash
# Crash trials of `c3 apply`: N times, SIGKILL an apply at a random moment, rerun it, and check
# that the accounts converged with exactly one key per (name, generation, account, region), no
# two versions of a managed policy with the same document, and nothing deleted.
#
#   scripts/crash-trials.sh [N=20]
#
# It builds c3, starts an emulator of its own (scripts/emulator.sh, stopped on exit), measures a
# full apply of the estate (2 accounts x 2 regions x 3 keys, writes_per_second = 2) on fresh
# accounts, then runs the trials, each on fresh account ids (from the trial number and the time),
# with a delay drawn uniformly from [0, measured duration]. Checks: tests/emulator/crash_check.py.
# Prints one line per trial and a final "N trials: X converged, Y with duplicates"; exits 1 if
# any trial failed. env: CRASH_SEED (the random seed; printed, so a run can be repeated).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
N="${1:-20}"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N=20]" >&2; exit 2; }
SEED="${CRASH_SEED:-$(date +%s)}"
REGIONS="eu-west-1,eu-central-1"
KEYS="payments,orders,logs"
ALL_KEYS=12      # 2 accounts x 2 regions x 3 keys
ALL_POLICIES=18  # 2 accounts x 3 keys x 3 policies
SETTLE=0.3       # after the kill: the emulator finishes what it had received (so would AWS)

# Hermetic: nothing of the caller's AWS or c3 configuration reaches c3.
for v in $(compgen -e | grep -E '^(AWS_|C3_)' || true); do unset "$v"; done

echo "building c3" >&2
cargo build --quiet --bin c3
C3="$ROOT/target/debug/c3"
PY="$ROOT/.venv/bin/python"
CHECK="$ROOT/tests/emulator/crash_check.py"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/c3-crash.XXXXXX")"
export C3_EMULATOR_NAME="crash-trials-$$"
cleanup() {
  local rc=$?
  scripts/emulator.sh stop >/dev/null 2>&1 || true
  if [ "$rc" -eq 0 ]; then
    rm -rf "$WORK" "$ROOT/.c3-tmp/$C3_EMULATOR_NAME".*
  else
    echo "kept for a look: $WORK (configs and c3 output), $ROOT/.c3-tmp/$C3_EMULATOR_NAME.* (emulator)" >&2
  fi
}
trap cleanup EXIT
eval "$(scripts/emulator.sh start)"   # AWS_ENDPOINT_URL, dummy credentials, C3_EMULATOR_LOG
export HOME="$WORK/home" AWS_EC2_METADATA_DISABLED=true NO_COLOR=1
mkdir -p "$HOME"
LOG="$C3_EMULATOR_LOG"

STAMP="$(printf '%07d' $(( $(date +%s) % 10000000 )))"
# account <trial> <index>: 9 + 7 digits of the time + 3 of the trial + 1 of the index.
account() { printf '9%s%03d%d' "$STAMP" "$1" "$2"; }

# estate <dir> <account>...: writes <dir>/keys.toml.
estate() {
  local dir="$1"; shift
  mkdir -p "$dir"
  {
    printf 'version = 1\n\n[settings]\nwrites_per_second = 2\n\n'
    local i=0
    for id in "$@"; do
      printf '[accounts.a%d]\nid = "%s"\nrole_arn = "arn:aws:iam::%s:role/c3"\nregions = ["eu-west-1", "eu-central-1"]\n\n' "$i" "$id" "$id"
      i=$((i + 1))
    done
    printf '[classifications.confidential]\nrotation_days = 180\nvia_services = ["secretsmanager"]\n\n'
    for name in ${KEYS//,/ }; do
      printf '[[keys]]\nname = "%s"\nclassification = "confidential"\ntags = { team = "%s" }\n\n' "$name" "$name"
    done
  } >"$dir/keys.toml"
}

now() { date +%s.%N; }

# The duration of a full apply, on accounts of its own.
m0="$(account 0 0)"; m1="$(account 0 1)"
estate "$WORK/measure" "$m0" "$m1"
t0="$(now)"
if ! "$C3" apply --auto-approve -c "$WORK/measure/keys.toml" >"$WORK/measure/apply.out" 2>&1; then
  echo "the measuring apply failed:" >&2
  cat "$WORK/measure/apply.out" >&2
  exit 1
fi
DURATION="$("$PY" -c "print(f'{$(now) - $t0:.3f}')")"
echo "full apply of the estate: ${DURATION}s; delays uniform over [0, ${DURATION}]s; seed $SEED"
DELAYS="$("$PY" -c "
import random
r = random.Random($SEED)
print(' '.join(f'{r.uniform(0, $DURATION):.3f}' for _ in range($N)))")"
read -r -a DELAY <<<"$DELAYS"

converged=0 duplicated=0 failed=0 halfdone=0
for t in $(seq 1 "$N"); do
  a0="$(account "$t" 0)"; a1="$(account "$t" 1)"
  dir="$WORK/trial-$t"
  estate "$dir" "$a0" "$a1"
  cfg="$dir/keys.toml"
  delay="${DELAY[$((t - 1))]}"

  "$C3" apply --auto-approve -c "$cfg" >"$dir/killed.out" 2>&1 &
  pid=$!
  sleep "$delay"
  # Until `wait` reaps it the pid cannot be reused, so this reaches c3 or its zombie.
  kill -KILL "$pid" 2>/dev/null || true
  status=0; { wait "$pid"; } 2>/dev/null || status=$?   # (no "Killed" job notice)
  finished=""; [ "$status" -ne 137 ] && finished=" (had finished: exit $status)"
  sleep "$SETTLE"
  ops="$("$PY" "$CHECK" ops --log "$LOG" --accounts "$a0,$a1")"
  read -r ck rot al pol < <("$PY" -c "
import json, sys
o = json.loads(sys.argv[1])
print(o.get('CreateKey', 0), o.get('EnableKeyRotation', 0), o.get('CreateAlias', 0), o.get('CreatePolicy', 0))" "$ops")
  if [ "$ck" -gt 0 ] && [ "$pol" -lt "$ALL_POLICIES" ]; then
    halfdone=$((halfdone + 1)); phase="half-done"
  elif [ "$ck" -eq 0 ]; then phase="before any key"
  else phase="after every write"; fi

  rerun=0; "$C3" apply --auto-approve -c "$cfg" >"$dir/rerun.out" 2>&1 || rerun=$?
  conv="no"
  if [ "$rerun" -eq 0 ] && grep -qE 'Converged|Nothing to apply\.' "$dir/rerun.out"; then conv="yes"; fi
  plan=0; "$C3" plan --detailed-exitcode -c "$cfg" >"$dir/plan.out" 2>&1 || plan=$?
  census_rc=0
  census="$("$PY" "$CHECK" check --endpoint "$AWS_ENDPOINT_URL" --log "$LOG" \
    --accounts "$a0,$a1" --regions "$REGIONS" --keys "$KEYS" --rotation-days 180)" || census_rc=$?
  read -r kmin kmax ktot dupk dupv nprob < <("$PY" -c "
import json, sys
c = json.loads(sys.argv[1])
print(c['keys_min'], c['keys_max'], c['keys_total'], c['duplicate_keys'], c['duplicate_versions'], len(c['problems']))" "$census")

  ok="ok"
  if [ "$conv" != "yes" ] || [ "$plan" -ne 0 ] || [ "$census_rc" -ne 0 ]; then ok="FAILED"; fi
  [ "$conv" = "yes" ] && converged=$((converged + 1))
  if [ "$dupk" -gt 0 ] || [ "$dupv" -gt 0 ]; then duplicated=$((duplicated + 1)); fi
  printf 'trial %2d/%d  delay %6.3fs%s  at kill: CreateKey %2d/%d EnableKeyRotation %2d CreateAlias %2d CreatePolicy %2d/%d (%s)  converged %s  plan exit %d  keys per (name,gen,account,region) %d..%d (%d keys)  duplicates: %d keys, %d policy versions  %s\n' \
    "$t" "$N" "$delay" "$finished" "$ck" "$ALL_KEYS" "$rot" "$al" "$pol" "$ALL_POLICIES" "$phase" \
    "$conv" "$plan" "$kmin" "$kmax" "$ktot" "$dupk" "$dupv" "$ok"
  if [ "$ok" != "ok" ]; then
    failed=$((failed + 1))
    echo "  census: $census"
    echo "  rerun (exit $rerun), last lines:"; tail -n 15 "$dir/rerun.out" | sed 's/^/    /'
    [ "$plan" -ne 0 ] && { echo "  plan (exit $plan):"; tail -n 15 "$dir/plan.out" | sed 's/^/    /'; }
  fi
done

echo
echo "$N trials: $converged converged, $duplicated with duplicates ($halfdone killed half-done, $failed failed; seed $SEED)"
[ "$failed" -eq 0 ]
