#!/usr/bin/env bash
# Installs the pre-commit framework at the two versions pinned in conformance/versions.env
# (PRE_COMMIT_3_VERSION, PRE_COMMIT_4_VERSION), for npm run test:adoption, which installs
# this repository's hooks with each. Needs only Python (the version the locks are resolved
# for) and pip; the hooks themselves need Node and npm. Under
# $KFM_CONFORMANCE_CACHE/pre-commit/ (default .cache/conformance/pre-commit/):
#
#   3/, 4/     one virtualenv per major version, installed with pip --require-hashes
#              from conformance/pre-commit/requirements-3.lock and requirements-4.lock
#   bootstrap/ a virtualenv holding only uv (pinned; --relock only)
#   stamp      hash of every input; when it matches, the script returns at once
#
#   bash conformance/pre-commit/setup.sh            install or update (no-op when up to date)
#   bash conformance/pre-commit/setup.sh --relock   rewrite the locks from versions.env (needs PyPI)
#   bash conformance/pre-commit/setup.sh --print-env   the paths the tests use, as KEY=value lines
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONF="$(cd "$HERE/.." && pwd)"
ROOT="$(cd "$CONF/.." && pwd)"
CACHE="${KFM_CONFORMANCE_CACHE:-$ROOT/.cache/conformance}/pre-commit"
PYTHON="${KFM_PYTHON:-python3}"

die() {
  echo "pre-commit setup: error: $*" >&2
  exit 1
}
step() { echo "pre-commit setup: $*" >&2; }

RELOCK=0
for arg in "$@"; do
  case "$arg" in
    --relock) RELOCK=1 ;;
    --print-env)
      echo "KFM_PRE_COMMIT_3=$CACHE/3/bin/pre-commit"
      echo "KFM_PRE_COMMIT_4=$CACHE/4/bin/pre-commit"
      exit 0
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument $arg (see --help)" ;;
  esac
done

# shellcheck source=conformance/versions.env
source "$CONF/versions.env"
for v in UV_VERSION PYTHON_VERSION PRE_COMMIT_3_VERSION PRE_COMMIT_4_VERSION; do
  [[ -n "${!v:-}" ]] || die "versions.env does not set $v"
done
[[ "${PRE_COMMIT_3_VERSION%%.*}" == 3 && "${PRE_COMMIT_4_VERSION%%.*}" == 4 ]] ||
  die "PRE_COMMIT_3_VERSION must be a 3.x and PRE_COMMIT_4_VERSION a 4.x version"

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (the locks need Python $PYTHON_VERSION)"
PY_HAVE="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
[[ "$PY_HAVE" == "$PYTHON_VERSION" ]] ||
  die "$PYTHON is Python $PY_HAVE, but the locks are resolved for $PYTHON_VERSION (set KFM_PYTHON, or change PYTHON_VERSION and run --relock)"
export PIP_DISABLE_PIP_VERSION_CHECK=1
mkdir -p "$CACHE"

if [[ $RELOCK -eq 1 ]]; then
  UV="$CACHE/bootstrap/bin/uv"
  if [[ ! -x "$UV" ]] || [[ "$("$UV" --version 2>/dev/null | awk '{print $2}')" != "$UV_VERSION" ]]; then
    step "bootstrap venv with uv $UV_VERSION"
    rm -rf "$CACHE/bootstrap"
    "$PYTHON" -m venv "$CACHE/bootstrap" || die "cannot create the bootstrap venv"
    "$CACHE/bootstrap/bin/python" -m pip install --quiet "uv==$UV_VERSION" || die "pip install uv==$UV_VERSION failed"
  fi
  for major in 3 4; do
    version_var="PRE_COMMIT_${major}_VERSION"
    step "resolving requirements-$major.lock (pre-commit ${!version_var})"
    (cd "$HERE" && echo "pre-commit==${!version_var}" | UV_CACHE_DIR="$CACHE/uv-cache" "$UV" pip compile - --quiet \
      --python-version "$PYTHON_VERSION" --generate-hashes --no-header -o "requirements-$major.lock") ||
      die "uv pip compile failed"
    sed -i "1i # Resolved from conformance/versions.env by \`bash conformance/pre-commit/setup.sh --relock\`." "$HERE/requirements-$major.lock"
  done
fi

for major in 3 4; do
  version_var="PRE_COMMIT_${major}_VERSION"
  grep -qx "pre-commit==${!version_var} \\\\" "$HERE/requirements-$major.lock" ||
    die "requirements-$major.lock does not pin pre-commit==${!version_var}: run bash conformance/pre-commit/setup.sh --relock"
done

inputs_hash() {
  {
    echo "python $("$PYTHON" -c 'import sys; print(sys.version)')"
    (cd "$CONF" && sha256sum pre-commit/setup.sh pre-commit/requirements-3.lock pre-commit/requirements-4.lock versions.env)
  } | sha256sum | awk '{print $1}'
}
HASH="$(inputs_hash)"
STAMP="$CACHE/stamp"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" && -x "$CACHE/3/bin/pre-commit" && -x "$CACHE/4/bin/pre-commit" ]]; then
  step "up to date ($CACHE)"
  exit 0
fi
rm -f "$STAMP"

for major in 3 4; do
  version_var="PRE_COMMIT_${major}_VERSION"
  step "installing pre-commit ${!version_var}"
  rm -rf "$CACHE/$major"
  "$PYTHON" -m venv "$CACHE/$major" || die "cannot create the venv for pre-commit $major"
  "$CACHE/$major/bin/python" -m pip install --quiet --require-hashes --no-deps -r "$HERE/requirements-$major.lock" ||
    die "pip install -r requirements-$major.lock failed"
  [[ "$("$CACHE/$major/bin/pre-commit" --version)" == "pre-commit ${!version_var}" ]] ||
    die "the venv does not run pre-commit ${!version_var}"
done

echo "$HASH" >"$STAMP"
step "ready: $CACHE"
