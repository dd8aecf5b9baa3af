#!/usr/bin/env bash
# Builds a real Kubernetes control plane for the deployability check, from Go modules only
# (no binary downloads), at the versions pinned in conformance/versions.env, into the
# conformance cache (.cache/conformance/ or $KFM_CONFORMANCE_CACHE):
#
#   bin/kube-apiserver, bin/kubectl   k8s.io/kubernetes/cmd/... built from kube/apiserver (go.mod
#                                     `tool` packages; every k8s.io/* staging module replaced by its tag)
#   bin/etcd                          etcdmain.Main of go.etcd.io/etcd/server/v3, from kube/etcd
#   go/mod, go/build                  GOMODCACHE and GOCACHE, shared with conformance/setup.sh
#   kube-stamp                        hash of every input; when it matches, the script returns at once
#
# The first build takes 7-10 minutes on 2 cores (conformance/README.md has the measured times).
# Safe to re-run; exits non-zero with a message on the first failure.
#
#   bash conformance/kube/setup.sh            build or update (no-op when up to date)
#   bash conformance/kube/setup.sh --force    ignore the stamp and rebuild
#   bash conformance/kube/setup.sh --relock   rewrite kube/*/go.mod and go.sum from versions.env
#                                             (needs the Go module proxy), then build
#   bash conformance/kube/setup.sh --print-env   print the binaries' paths as KEY=value lines
set -euo pipefail

KUBE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONF="$(cd "$KUBE/.." && pwd)"
ROOT="$(cd "$CONF/.." && pwd)"
CACHE="${KFM_CONFORMANCE_CACHE:-$ROOT/.cache/conformance}"
BIN="$CACHE/bin"

die() {
  echo "kube setup: error: $*" >&2
  exit 1
}
step() { echo "kube setup: $*" >&2; }

FORCE=0
RELOCK=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --relock) RELOCK=1 FORCE=1 ;;
    --print-env)
      echo "KFM_KUBE_APISERVER=$BIN/kube-apiserver"
      echo "KFM_KUBECTL=$BIN/kubectl"
      echo "KFM_ETCD=$BIN/etcd"
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
for v in KUBERNETES_VERSION ETCD_VERSION GO_MIN_VERSION; do
  [[ -n "${!v:-}" ]] || die "versions.env does not set $v"
done
[[ "$KUBERNETES_VERSION" =~ ^v1\.([0-9]+\.[0-9]+)$ ]] || die "KUBERNETES_VERSION $KUBERNETES_VERSION is not v1.MINOR.PATCH"
# k8s.io/kubernetes v1.X.Y publishes its staging modules (k8s.io/api, client-go, ...) as v0.X.Y.
STAGING_VERSION="v0.${BASH_REMATCH[1]}"
# The staging modules k8s.io/kubernetes replaces with ./staging/src/... (its go.mod), less the
# two samples the module proxy does not serve; the build fails loudly if one is missing.
STAGING="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt
  kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver streaming"

command -v go >/dev/null || die "go not found (need Go >= $GO_MIN_VERSION)"
GO_HAVE="$(go env GOVERSION)"
GO_HAVE="${GO_HAVE#go}"
[[ "$(printf '%s\n%s\n' "$GO_MIN_VERSION" "$GO_HAVE" | sort -V | head -n1)" == "$GO_MIN_VERSION" ]] ||
  die "Go $GO_HAVE is older than $GO_MIN_VERSION"

export GOMODCACHE="$CACHE/go/mod"
export GOCACHE="$CACHE/go/build"
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly"
mkdir -p "$BIN" "$GOMODCACHE" "$GOCACHE"

go_require() { # module go.mod-file -> version required there
  awk -v m="$1" '$1 == m { print $2 } $1 == "require" && $2 == m { print $3 }' "$2" | head -n1
}

relock() {
  step "writing kube/apiserver/go.mod (k8s.io/kubernetes $KUBERNETES_VERSION, staging $STAGING_VERSION)"
  {
    cat <<EOF
// Builds the upstream kube-apiserver and kubectl main packages (the \`tool\` packages
// below) for the deployability check; see conformance/README.md. k8s.io/kubernetes
// develops its k8s.io/* modules in staging/ and requires them at v0.0.0 with local
// replaces, which do not apply outside its repository, so each one is replaced here
// by its published tag. Written by \`bash conformance/kube/setup.sh --relock\`.
module kfm-compile/conformance/kube/apiserver

go 1.26.0

tool (
	k8s.io/kubernetes/cmd/kube-apiserver
	k8s.io/kubernetes/cmd/kubectl
)

require k8s.io/kubernetes $KUBERNETES_VERSION

replace (
EOF
    for m in $STAGING; do printf '\tk8s.io/%s => k8s.io/%s %s\n' "$m" "$m" "$STAGING_VERSION"; done
    echo ")"
  } >"$KUBE/apiserver/go.mod"
  rm -f "$KUBE/apiserver/go.sum"
  (cd "$KUBE/apiserver" && GOFLAGS=-mod=mod go mod tidy) || die "go mod tidy (apiserver) failed"
  step "pinning go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  (cd "$KUBE/etcd" && GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" &&
    GOFLAGS=-mod=mod go mod tidy) || die "go get (etcd) failed"
}
[[ $RELOCK -eq 1 ]] && relock

check_pins() {
  local got m
  got="$(go_require k8s.io/kubernetes "$KUBE/apiserver/go.mod")"
  [[ "$got" == "$KUBERNETES_VERSION" ]] ||
    die "kube/apiserver/go.mod requires k8s.io/kubernetes $got, versions.env says $KUBERNETES_VERSION: run --relock"
  for m in $STAGING; do
    grep -qxF "$(printf '\tk8s.io/%s => k8s.io/%s %s' "$m" "$m" "$STAGING_VERSION")" "$KUBE/apiserver/go.mod" ||
      die "kube/apiserver/go.mod does not replace k8s.io/$m by $STAGING_VERSION: run --relock"
  done
  got="$(go_require go.etcd.io/etcd/server/v3 "$KUBE/etcd/go.mod")"
  [[ "$got" == "$ETCD_VERSION" ]] ||
    die "kube/etcd/go.mod requires go.etcd.io/etcd/server/v3 $got, versions.env says $ETCD_VERSION: run --relock"
}
check_pins

inputs_hash() {
  {
    echo "go $(go env GOVERSION)"
    grep -E '^(KUBERNETES_VERSION|ETCD_VERSION)=' "$CONF/versions.env"
    (cd "$KUBE" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name 'setup.sh' \) \
      -print | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | awk '{print $1}'
}
HASH="$(inputs_hash)"
STAMP="$CACHE/kube-stamp"
outputs_present() { [[ -x "$BIN/kube-apiserver" && -x "$BIN/kubectl" && -x "$BIN/etcd" ]]; }

if [[ $FORCE -eq 0 && -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" ]] && outputs_present; then
  step "up to date ($BIN: kube-apiserver, kubectl $KUBERNETES_VERSION; etcd $ETCD_VERSION)"
  exit 0
fi
rm -f "$STAMP"

# Kubernetes' release builds stamp the version into k8s.io/component-base/version with -X
# (hack/lib/version.sh, kube::version::ldflags); without it the binaries call themselves
# v0.0.0-master and kubectl's version-skew warning misfires.
KUBE_MINOR="${KUBERNETES_VERSION#v1.}"
KUBE_MINOR="${KUBE_MINOR%%.*}"
KUBE_LDFLAGS="-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=1"
KUBE_LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=$KUBE_MINOR -X k8s.io/component-base/version.gitTreeState=clean"

build() { # module-dir binary package [ldflags]
  local t0=$SECONDS
  step "building $2 ($3)"
  (cd "$KUBE/$1" && go mod download && go build -trimpath -ldflags "${4:-}" -o "$BIN/$2.new" "$3") ||
    die "building $2 failed"
  mv -f "$BIN/$2.new" "$BIN/$2"
  step "built $2 in $((SECONDS - t0)) s"
}
build etcd etcd .
build apiserver kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$KUBE_LDFLAGS"
build apiserver kubectl k8s.io/kubernetes/cmd/kubectl "$KUBE_LDFLAGS"

# --- smoke: every binary answers with its pinned version -------------------------------------------

# (Captured first: grep -q closing the pipe early would fail the pipeline under pipefail.)
got="$("$BIN/etcd" --version)"
[[ "$got" == *"etcd Version: ${ETCD_VERSION#v}"* ]] || die "bin/etcd is not $ETCD_VERSION"
[[ "$("$BIN/kube-apiserver" --version)" == "Kubernetes $KUBERNETES_VERSION" ]] ||
  die "bin/kube-apiserver is not $KUBERNETES_VERSION"
got="$("$BIN/kubectl" version --client)"
[[ "$got" == *"Client Version: $KUBERNETES_VERSION"* ]] || die "bin/kubectl is not $KUBERNETES_VERSION"

echo "$HASH" >"$STAMP"
step "ready: $BIN (kube-apiserver, kubectl $KUBERNETES_VERSION; etcd $ETCD_VERSION)"
