#!/usr/bin/env bash
# The Dagster venv of the conformance suite: dagster and dagster-k8s from the hashed
# conformance/dagster/requirements.lock (versions in conformance/versions.env), in
# $KFM_CONFORMANCE_CACHE/dagster, with its own stamp so that only its inputs re-sync it.
# Called by conformance/setup.sh; `--relock` rewrites requirements.in/.lock from versions.env.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONF="$(dirname "$HERE")"
# shellcheck source=../versions.env
source "$CONF/versions.env"
CACHE="${KFM_CONFORMANCE_CACHE:?set KFM_CONFORMANCE_CACHE}"
UV="$CACHE/bootstrap/bin/uv"
PYTHON="${KFM_PYTHON:-python3}"
step() { echo "conformance/dagster: $*" >&2; }
die() { echo "conformance/dagster: $*" >&2; exit 1; }
[[ -x "$UV" ]] || die "no uv at $UV: run bash conformance/setup.sh"
export UV_CACHE_DIR="$CACHE/uv-cache"

if [[ "${1:-}" == "--relock" ]]; then
  step "writing requirements.in and resolving requirements.lock"
  cat >"$HERE/requirements.in" <<EOT
# Top-level pins for the Dagster checks, written from conformance/versions.env by
# \`bash conformance/setup.sh --relock\`; requirements.lock is resolved from it.
dagster==$DAGSTER_VERSION
dagster-k8s==$DAGSTER_K8S_VERSION
EOT
  (cd "$HERE" && "$UV" pip compile requirements.in --quiet --python-version "$PYTHON_VERSION" \
    --generate-hashes --custom-compile-command "bash conformance/setup.sh --relock" \
    -o requirements.lock) || die "uv pip compile failed"
fi

for pin in "dagster==$DAGSTER_VERSION" "dagster-k8s==$DAGSTER_K8S_VERSION"; do
  grep -qx "$pin \\\\" "$HERE/requirements.lock" || die "requirements.lock does not pin $pin: run bash conformance/setup.sh --relock"
done

HASH="$({ "$PYTHON" -c 'import sys; print(sys.version)'; sha256sum "$HERE/requirements.lock" "$HERE/setup.sh"; } | sha256sum | awk '{print $1}')"
STAMP="$CACHE/dagster/.kfm-stamp"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" && -x "$CACHE/dagster/bin/python" ]]; then
  exit 0
fi
if [[ ! -x "$CACHE/dagster/bin/python" ]] ||
  [[ "$("$CACHE/dagster/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null)" != "$("$PYTHON" -c 'import sys; print(sys.version)')" ]]; then
  step "creating the Dagster venv"
  rm -rf "$CACHE/dagster"
  "$UV" venv --quiet --python "$(command -v "$PYTHON")" "$CACHE/dagster" || die "uv venv failed"
fi
step "syncing the Dagster venv with dagster/requirements.lock (dagster $DAGSTER_VERSION, dagster-k8s $DAGSTER_K8S_VERSION)"
VIRTUAL_ENV="$CACHE/dagster" "$UV" pip sync --quiet --require-hashes --compile-bytecode \
  --python "$CACHE/dagster/bin/python" "$HERE/requirements.lock" || die "uv pip sync failed"
"$CACHE/dagster/bin/python" -c "import dagster, dagster_k8s, sys; sys.exit(dagster.__version__ != '$DAGSTER_VERSION' or dagster_k8s.__version__ != '$DAGSTER_K8S_VERSION')" ||
  die "the venv does not import dagster $DAGSTER_VERSION and dagster-k8s $DAGSTER_K8S_VERSION"
echo "$HASH" >"$STAMP"
