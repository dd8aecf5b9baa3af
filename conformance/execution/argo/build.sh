#!/usr/bin/env bash
# Builds the Argo execution harness: Argo Workflows' own workflow/controller package
# (github.com/argoproj/argo-workflows/v4 at ARGO_WORKFLOWS_VERSION, from the Go module
# cache) compiled as a test binary together with our kfm_execution_test.go, which calls
# the controller's operator and the package's own test helpers (unexported, hence the
# copy of the package). The binary is $CACHE/bin/argo-exec; a stamp of every input
# (the version, the Go toolchain, this script, the test file) skips the build when
# nothing changed. Called by conformance/setup.sh with GOMODCACHE and GOCACHE set.
#
#   bash conformance/execution/argo/build.sh [--force]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONF="$(cd "$HERE/../.." && pwd)"
ROOT="$(cd "$CONF/.." && pwd)"
CACHE="${KFM_CONFORMANCE_CACHE:-$ROOT/.cache/conformance}"
die() {
  echo "argo execution harness: error: $*" >&2
  exit 1
}
# shellcheck source=conformance/versions.env
source "$CONF/versions.env"
[[ -n "${ARGO_WORKFLOWS_VERSION:-}" ]] || die "versions.env does not set ARGO_WORKFLOWS_VERSION"

export GOMODCACHE="${GOMODCACHE:-$CACHE/go/mod}"
export GOCACHE="${GOCACHE:-$CACHE/go/build}"
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly"
BIN="$CACHE/bin"
OUT="$BIN/argo-exec"
WORK="$CACHE/argo-exec"
STAMP="$WORK/stamp"
mkdir -p "$BIN" "$WORK"

HASH="$({
  echo "argo $ARGO_WORKFLOWS_VERSION"
  echo "go $(go env GOVERSION)"
  sha256sum "$HERE/build.sh" "$HERE/kfm_execution_test.go"
} | sha256sum | awk '{print $1}')"
if [[ "${1:-}" != "--force" && -x "$OUT" && -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" ]]; then
  exit 0
fi
rm -f "$STAMP"

MODULE="github.com/argoproj/argo-workflows/v4"
SRC="$GOMODCACHE/$MODULE@$ARGO_WORKFLOWS_VERSION"
if [[ ! -d "$SRC" ]]; then
  echo "argo execution harness: downloading $MODULE@$ARGO_WORKFLOWS_VERSION" >&2
  (cd "$WORK" && GOFLAGS= go mod download "$MODULE@$ARGO_WORKFLOWS_VERSION") || die "go mod download $MODULE@$ARGO_WORKFLOWS_VERSION failed"
fi
echo "argo execution harness: building $OUT (Argo $ARGO_WORKFLOWS_VERSION workflow/controller tests + kfm_execution_test.go)" >&2
# The module cache is read-only: a writable copy of the module, with our test file in the package.
rm -rf "$WORK/module"
cp -r "$SRC" "$WORK/module"
chmod -R u+w "$WORK/module"
cp "$HERE/kfm_execution_test.go" "$WORK/module/workflow/controller/"
# The module's own go.mod and go.sum pin every dependency, test ones included.
(cd "$WORK/module" && go test -vet=off -c -o "$OUT.new" ./workflow/controller) || die "go test -c ./workflow/controller failed"
mv -f "$OUT.new" "$OUT"
rm -rf "$WORK/module"
echo "$HASH" >"$STAMP"
