#!/usr/bin/env bash
# The planner (src/plan/), the domain model (src/model/) and the policy documents (src/policy/) are pure: no AWS SDK, no async
# runtime, no I/O, no clock, no environment; so are the import room (src/import/) and the audit's judging (src/audit/). Fails (exit 1) listing every line that mentions one.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

# The names, plus grouped imports such as `use std::{env, fs};` (on one line).
FORBIDDEN='aws_sdk_|aws_config|aws_smithy|tokio|std::fs|std::env|std::net|std::process|SystemTime|reqwest|hyper'
FORBIDDEN="$FORBIDDEN"'|std::\{[^}]*\b(fs|env|net|process)\b'
# The pure rooms. Each must exist: a room moved or renamed must be named
# here again, so the check can never silently look at nothing.
targets=(src/model src/policy src/plan src/import src/audit)
for t in "${targets[@]}"; do
  if [ ! -d "$t" ]; then
    echo "check-planner-imports: $t does not exist; name the pure rooms of src/ in $0" >&2
    exit 1
  fi
done

# Comments (`//`, `//!`, `///`) may name what is forbidden; code may not.
if offending="$(grep -rnE --include='*.rs' "$FORBIDDEN" "${targets[@]}" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//')"; then
  echo "check-planner-imports: the planner and the model must stay pure; these lines mention a forbidden crate or API:" >&2
  echo "$offending" >&2
  exit 1
fi
echo "check-planner-imports: ${targets[*]} clean"
