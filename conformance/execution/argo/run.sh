#!/usr/bin/env bash
# Runs one scenario through Argo's controller: the generated Argo file, scenario.json in,
# observed.json out (the harness contract of conformance/execution/README.md).
#
#   bash conformance/execution/argo/run.sh <argo-file.yaml> <scenario.json> <observed.json>
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
CACHE="${KFM_CONFORMANCE_CACHE:-$ROOT/.cache/conformance}"
[[ $# -eq 3 ]] || {
  echo "usage: run.sh <argo-file.yaml> <scenario.json> <observed.json>" >&2
  exit 2
}
BIN="$CACHE/bin/argo-exec"
[[ -x "$BIN" ]] || {
  echo "argo execution harness: $BIN is missing: run bash conformance/setup.sh" >&2
  exit 2
}
abs() { (cd "$(dirname "$1")" && echo "$PWD/$(basename "$1")"); }
export KFM_EXEC_WORKFLOW KFM_EXEC_SCENARIO KFM_EXEC_OBSERVED
KFM_EXEC_WORKFLOW="$(abs "$1")"
KFM_EXEC_SCENARIO="$(abs "$2")"
KFM_EXEC_OBSERVED="$(abs "$3")"
# The package's tests read files relative to their folder; ours reads none. A private
# working folder keeps anything the test binary writes out of the caller's.
WORKDIR="$(mktemp -d)"
trap 'rm -rf "$WORKDIR"' EXIT
cd "$WORKDIR"
# A documented controller setting (docs/environment-variables.md): write each workflow
# update back to the informer instead of sleeping 1 s after it (persistUpdates in
# workflow/controller/operator.go, v4.0's default), which would add a second to every
# step of a run on the harness's real clock. README.md, "Clock". KFM_ARGO_INFORMER_WRITE_BACK=false
# runs with v4.0's default instead.
export INFORMER_WRITE_BACK="${KFM_ARGO_INFORMER_WRITE_BACK:-true}"
"$BIN" -test.run '^TestKfmExecution$' -test.count=1 >"$WORKDIR/log" 2>&1 || {
  tail -n 40 "$WORKDIR/log" >&2
  exit 1
}
[[ -s "$KFM_EXEC_OBSERVED" ]] || {
  tail -n 40 "$WORKDIR/log" >&2
  echo "argo execution harness: no observed.json written" >&2
  exit 1
}
