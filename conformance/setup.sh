#!/usr/bin/env bash
# Installs the runners' own code for the conformance checks, at the versions pinned
# in conformance/versions.env, under .cache/conformance/ (or $KFM_CONFORMANCE_CACHE):
#
#   bootstrap/   a virtualenv holding only uv (pinned)
#   venv/        Airflow + the cncf.kubernetes provider, synced from airflow/requirements.lock
#   lint/        ruff and yamllint, synced from lint/requirements.lock
#   execution/airflow/airflow-<version>.db   the migrated metadata database the execution
#                harness copies for each run (conformance/execution/airflow/run.py --prepare)
#   go/mod, go/build   GOMODCACHE and GOCACHE (keep them between CI runs)
#   bin/         argo-check, argo-events-check, tekton-check, tekton-triggers-check, tekton-states, k8syaml, kustomize-check (built from conformance/go/*), actionlint,
#                act (nektos/act, the GitHub Actions engine of the execution suite),
#                argo-exec (Argo's workflow/controller tests with conformance/execution/argo, execution/argo/build.sh),
#                tekton-exec (the execution suite's Tekton engine: go test -c of conformance/go/tekton-exec)
#   stamp        hash of every input below; when it matches, the script returns at once
#
# Safe to re-run; exits non-zero with a message on the first failure.
#
#   bash conformance/setup.sh            install or update (no-op when up to date)
#   bash conformance/setup.sh --force    ignore the stamp and re-check every step
#   bash conformance/setup.sh --relock   rewrite requirements.in/.lock and the go.mod
#                                        pins from versions.env (needs the registries), then install
#   bash conformance/setup.sh --print-env   print the paths the tools use, as KEY=value lines
set -euo pipefail

CONF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$CONF/.." && pwd)"
CACHE="${KFM_CONFORMANCE_CACHE:-$ROOT/.cache/conformance}"
PYTHON="${KFM_PYTHON:-python3}"

die() {
  echo "conformance setup: error: $*" >&2
  exit 1
}
step() { echo "conformance setup: $*" >&2; }

FORCE=0
RELOCK=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --relock) RELOCK=1 FORCE=1 ;;
    --print-env)
      echo "KFM_CONFORMANCE_CACHE=$CACHE"
      echo "KFM_AIRFLOW_PYTHON=$CACHE/venv/bin/python"
      echo "KFM_ARGO_CHECK=$CACHE/bin/argo-check"
      echo "KFM_ARGO_EXEC=$CACHE/bin/argo-exec"
      echo "KFM_TEKTON_CHECK=$CACHE/bin/tekton-check"
      echo "KFM_TEKTON_STATES=$CACHE/bin/tekton-states"
      echo "KFM_TEKTON_EXEC=$CACHE/bin/tekton-exec"
      echo "KFM_K8SYAML=$CACHE/bin/k8syaml"
      echo "KFM_KUSTOMIZE_CHECK=$CACHE/bin/kustomize-check"
      echo "KFM_ACTIONLINT=$CACHE/bin/actionlint"
      echo "KFM_ACT=$CACHE/bin/act"
      echo "KFM_RUFF=$CACHE/lint/bin/ruff"
      echo "KFM_YAMLLINT=$CACHE/lint/bin/yamllint"
      exit 0
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument $arg (see --help)" ;;
  esac
done

[[ -f "$CONF/versions.env" ]] || die "missing $CONF/versions.env"
# shellcheck source=conformance/versions.env
source "$CONF/versions.env"
for v in UV_VERSION PYTHON_VERSION AIRFLOW_VERSION AIRFLOW_PROVIDERS_CNCF_KUBERNETES_VERSION RUFF_VERSION YAMLLINT_VERSION \
  ARGO_WORKFLOWS_VERSION ROBFIG_CRON_VERSION TEKTON_PIPELINE_VERSION K8S_YAML_VERSION K8S_API_VERSION KUSTOMIZE_API_VERSION ACTIONLINT_VERSION \
  NEKTOS_ACT_VERSION GO_MIN_VERSION ACTIONS_WORKFLOW_PARSER_VERSION; do
  [[ -n "${!v:-}" ]] || die "versions.env does not set $v"
done

# --- toolchains ---------------------------------------------------------------------------------

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (the Airflow lock needs Python $PYTHON_VERSION)"
PY_HAVE="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
[[ "$PY_HAVE" == "$PYTHON_VERSION" ]] ||
  die "$PYTHON is Python $PY_HAVE, but airflow/requirements.lock is resolved for $PYTHON_VERSION (set KFM_PYTHON, or change PYTHON_VERSION and run --relock)"
command -v go >/dev/null || die "go not found (need Go >= $GO_MIN_VERSION)"
GO_HAVE="$(go env GOVERSION)"
GO_HAVE="${GO_HAVE#go}"
[[ "$(printf '%s\n%s\n' "$GO_MIN_VERSION" "$GO_HAVE" | sort -V | head -n1)" == "$GO_MIN_VERSION" ]] ||
  die "Go $GO_HAVE is older than $GO_MIN_VERSION"
command -v node >/dev/null || die "node not found"

export GOMODCACHE="$CACHE/go/mod"
export GOCACHE="$CACHE/go/build"
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly"
export UV_CACHE_DIR="$CACHE/uv-cache"
export UV_PYTHON_DOWNLOADS=never
export UV_NO_PROGRESS=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
BIN="$CACHE/bin"
UV="$CACHE/bootstrap/bin/uv"
mkdir -p "$CACHE" "$BIN" "$GOMODCACHE" "$GOCACHE"

# --- derived pins must agree with versions.env ----------------------------------------------------

go_require() { # module go.mod-file -> version required there
  awk -v m="$1" '$1 == m { print $2 } $1 == "require" && $2 == m { print $3 }' "$2" | head -n1
}

ensure_bootstrap() {
  if [[ ! -x "$UV" ]] || [[ "$("$UV" --version 2>/dev/null | awk '{print $2}')" != "$UV_VERSION" ]]; then
    step "bootstrap venv with uv $UV_VERSION"
    rm -rf "$CACHE/bootstrap"
    "$PYTHON" -m venv "$CACHE/bootstrap" || die "cannot create the bootstrap venv"
    "$CACHE/bootstrap/bin/python" -m pip install --quiet "uv==$UV_VERSION" || die "pip install uv==$UV_VERSION failed"
  fi
}

lock_linters() {
  step "writing lint/requirements.in and resolving lint/requirements.lock"
  cat >"$CONF/lint/requirements.in" <<EOF
# The linters run over generated files, written from conformance/versions.env by
# \`bash conformance/setup.sh --relock\`; requirements.lock is resolved from it.
ruff==$RUFF_VERSION
yamllint==$YAMLLINT_VERSION
EOF
  (cd "$CONF/lint" && "$UV" pip compile requirements.in --quiet --python-version "$PYTHON_VERSION" \
    --generate-hashes --custom-compile-command "bash conformance/setup.sh --relock" \
    -o requirements.lock) || die "uv pip compile (lint) failed"
}

relock() {
  ensure_bootstrap
  step "writing airflow/requirements.in and resolving airflow/requirements.lock"
  cat >"$CONF/airflow/requirements.in" <<EOF
# Top-level pins for the Airflow runner check, written from conformance/versions.env
# by \`bash conformance/setup.sh --relock\`; requirements.lock is resolved from it.
apache-airflow==$AIRFLOW_VERSION
apache-airflow-providers-cncf-kubernetes==$AIRFLOW_PROVIDERS_CNCF_KUBERNETES_VERSION
EOF
  (cd "$CONF/airflow" && "$UV" pip compile requirements.in --quiet --python-version "$PYTHON_VERSION" \
    --generate-hashes --custom-compile-command "bash conformance/setup.sh --relock" \
    -o requirements.lock) || die "uv pip compile failed"
  lock_linters
  step "pinning the Go modules"
  (cd "$CONF/go/argo" && GOFLAGS=-mod=mod go get "github.com/argoproj/argo-workflows/v4@$ARGO_WORKFLOWS_VERSION" \
    "github.com/robfig/cron/v3@$ROBFIG_CRON_VERSION" && GOFLAGS=-mod=mod go mod tidy) || die "go get (argo) failed"
  (cd "$CONF/go/argo-events" && GOFLAGS=-mod=mod go get "github.com/argoproj/argo-events@$ARGO_EVENTS_VERSION" &&
    GOFLAGS=-mod=mod go mod tidy) || die "go get (argo-events) failed"
  (cd "$CONF/go/tekton-triggers" && GOFLAGS=-mod=mod go get "github.com/tektoncd/triggers@$TEKTON_TRIGGERS_VERSION" &&
    GOFLAGS=-mod=mod go mod tidy) || die "go get (tekton-triggers) failed"
  (cd "$CONF/go/tekton" && GOFLAGS=-mod=mod go get "github.com/tektoncd/pipeline@$TEKTON_PIPELINE_VERSION" \
    "github.com/robfig/cron/v3@$ROBFIG_CRON_VERSION" && GOFLAGS=-mod=mod go mod tidy) || die "go get (tekton) failed"
  (cd "$CONF/go/tekton-states" && GOFLAGS=-mod=mod go get "github.com/tektoncd/pipeline@$TEKTON_PIPELINE_VERSION" &&
    GOFLAGS=-mod=mod go mod tidy) || die "go get (tekton-states) failed"
  (cd "$CONF/go/tekton-exec" && GOFLAGS=-mod=mod go get "github.com/tektoncd/pipeline@$TEKTON_PIPELINE_VERSION" &&
    GOFLAGS=-mod=mod go mod tidy) || die "go get (tekton-exec) failed"
  (cd "$CONF/go/k8syaml" && GOFLAGS=-mod=mod go get "sigs.k8s.io/yaml@$K8S_YAML_VERSION" "k8s.io/api@$K8S_API_VERSION" &&
    GOFLAGS=-mod=mod go mod tidy) || die "go get (k8syaml) failed"
  (cd "$CONF/go/kustomize" && GOFLAGS=-mod=mod go get "sigs.k8s.io/kustomize/api@$KUSTOMIZE_API_VERSION" \
    "sigs.k8s.io/kustomize/kyaml@$KUSTOMIZE_API_VERSION" && GOFLAGS=-mod=mod go mod tidy) || die "go get (kustomize) failed"
  step "pinning @actions/workflow-parser"
  (cd "$ROOT" && npm install --save-dev --save-exact --no-audit --no-fund \
    "@actions/workflow-parser@$ACTIONS_WORKFLOW_PARSER_VERSION" >&2) || die "npm install failed"
}

[[ $RELOCK -eq 1 ]] && relock

check_pins() {
  local lock="$CONF/airflow/requirements.lock" got
  grep -qx "apache-airflow==$AIRFLOW_VERSION \\\\" "$lock" ||
    die "airflow/requirements.lock does not pin apache-airflow==$AIRFLOW_VERSION: run bash conformance/setup.sh --relock"
  grep -qx "apache-airflow-providers-cncf-kubernetes==$AIRFLOW_PROVIDERS_CNCF_KUBERNETES_VERSION \\\\" "$lock" ||
    die "airflow/requirements.lock does not pin apache-airflow-providers-cncf-kubernetes==$AIRFLOW_PROVIDERS_CNCF_KUBERNETES_VERSION: run --relock"
  for pin in "ruff==$RUFF_VERSION" "yamllint==$YAMLLINT_VERSION"; do
    grep -qx "$pin \\\\" "$CONF/lint/requirements.lock" || die "lint/requirements.lock does not pin $pin: run bash conformance/setup.sh --relock"
  done
  got="$(go_require github.com/argoproj/argo-workflows/v4 "$CONF/go/argo/go.mod")"
  [[ "$got" == "$ARGO_WORKFLOWS_VERSION" ]] || die "go/argo/go.mod requires argo-workflows $got, versions.env says $ARGO_WORKFLOWS_VERSION: run --relock"
  got="$(go_require github.com/argoproj/argo-events "$CONF/go/argo-events/go.mod")"
  [[ "$got" == "$ARGO_EVENTS_VERSION" ]] || die "go/argo-events/go.mod requires argo-events $got, versions.env says $ARGO_EVENTS_VERSION: run --relock"
  got="$(go_require github.com/tektoncd/triggers "$CONF/go/tekton-triggers/go.mod")"
  [[ "$got" == "$TEKTON_TRIGGERS_VERSION" ]] || die "go/tekton-triggers/go.mod requires tektoncd/triggers $got, versions.env says $TEKTON_TRIGGERS_VERSION: run --relock"
  for m in tekton tekton-states tekton-exec; do
    got="$(go_require github.com/tektoncd/pipeline "$CONF/go/$m/go.mod")"
    [[ "$got" == "$TEKTON_PIPELINE_VERSION" ]] || die "go/$m/go.mod requires tektoncd/pipeline $got, versions.env says $TEKTON_PIPELINE_VERSION: run --relock"
  done
  got="$(go_require sigs.k8s.io/yaml "$CONF/go/k8syaml/go.mod")"
  [[ "$got" == "$K8S_YAML_VERSION" ]] || die "go/k8syaml/go.mod requires sigs.k8s.io/yaml $got, versions.env says $K8S_YAML_VERSION: run --relock"
  got="$(go_require k8s.io/api "$CONF/go/k8syaml/go.mod")"
  [[ "$got" == "$K8S_API_VERSION" ]] || die "go/k8syaml/go.mod requires k8s.io/api $got, versions.env says $K8S_API_VERSION: run --relock"
  for m in api kyaml; do
    got="$(go_require sigs.k8s.io/kustomize/$m "$CONF/go/kustomize/go.mod")"
    [[ "$got" == "$KUSTOMIZE_API_VERSION" ]] || die "go/kustomize/go.mod requires sigs.k8s.io/kustomize/$m $got, versions.env says $KUSTOMIZE_API_VERSION: run --relock"
  done
  for m in argo tekton; do
    got="$(go_require github.com/robfig/cron/v3 "$CONF/go/$m/go.mod")"
    [[ "$got" == "$ROBFIG_CRON_VERSION" ]] || die "go/$m/go.mod requires robfig/cron $got, versions.env says $ROBFIG_CRON_VERSION: run --relock"
  done
  got="$(node -e 'const p=require(process.argv[1]); console.log((p.devDependencies||{})["@actions/workflow-parser"]||"")' "$ROOT/package.json")"
  [[ "$got" == "$ACTIONS_WORKFLOW_PARSER_VERSION" ]] ||
    die "package.json pins @actions/workflow-parser '$got', versions.env says $ACTIONS_WORKFLOW_PARSER_VERSION: run --relock"
}
check_pins

# --- stamp: skip everything when no input changed ---------------------------------------------------

inputs_hash() {
  {
    echo "python $("$PYTHON" -c 'import sys; print(sys.version)')"
    echo "go $(go env GOVERSION)"
    echo "node $(node --version)"
    (cd "$CONF" && find setup.sh versions.env airflow/requirements.lock lint/requirements.lock go execution/argo -type f \
      \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' -o -name '*.sh' -o -name '*.env' -o -name '*.lock' \) \
      -print | LC_ALL=C sort | xargs sha256sum)
  } | sha256sum | awk '{print $1}'
}

HASH="$(inputs_hash)"
STAMP="$CACHE/stamp"
outputs_present() {
  [[ -x "$CACHE/venv/bin/python" && -f "$CACHE/execution/airflow/airflow-$AIRFLOW_VERSION.db" && -x "$CACHE/lint/bin/ruff" && -x "$CACHE/lint/bin/yamllint" && -x "$BIN/argo-check" && -x "$BIN/argo-events-check" && -x "$BIN/tekton-check" && -x "$BIN/tekton-triggers-check" && -x "$BIN/tekton-states" && -x "$BIN/tekton-exec" && -x "$BIN/k8syaml" && -x "$BIN/kustomize-check" && -x "$BIN/actionlint" && -x "$BIN/act" && -x "$BIN/argo-exec" ]]
}
parser_installed() {
  local v
  v="$(node -e 'try{const p=require(require("path").join(process.argv[1],"node_modules/@actions/workflow-parser/package.json"));console.log(p.version)}catch{console.log("")}' "$ROOT")"
  [[ "$v" == "$ACTIONS_WORKFLOW_PARSER_VERSION" ]] ||
    die "node_modules has @actions/workflow-parser '${v:-none}', need $ACTIONS_WORKFLOW_PARSER_VERSION: run npm ci"
}
parser_installed

# The Dagster venv has its own stamp (conformance/dagster/setup.sh): only its lock re-syncs it.
ensure_bootstrap
KFM_CONFORMANCE_CACHE="$CACHE" KFM_PYTHON="$PYTHON" bash "$CONF/dagster/setup.sh" $([[ $RELOCK -eq 1 ]] && echo --relock) ||
  die "setting up the Dagster venv failed"

if [[ $FORCE -eq 0 && -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" ]] && outputs_present; then
  step "up to date ($CACHE)"
  exit 0
fi
rm -f "$STAMP"

# --- Python: Airflow ------------------------------------------------------------------------------

ensure_bootstrap
if [[ ! -x "$CACHE/venv/bin/python" ]] ||
  [[ "$("$CACHE/venv/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null)" != "$("$PYTHON" -c 'import sys; print(sys.version)')" ]]; then
  step "creating the Airflow venv"
  rm -rf "$CACHE/venv"
  "$UV" venv --quiet --python "$(command -v "$PYTHON")" "$CACHE/venv" || die "uv venv failed"
fi
step "syncing the Airflow venv with airflow/requirements.lock (Airflow $AIRFLOW_VERSION)"
VIRTUAL_ENV="$CACHE/venv" "$UV" pip sync --quiet --require-hashes --compile-bytecode \
  --python "$CACHE/venv/bin/python" "$CONF/airflow/requirements.lock" || die "uv pip sync failed"
"$CACHE/venv/bin/python" -c "import airflow, sys; sys.exit(airflow.__version__ != '$AIRFLOW_VERSION')" ||
  die "the venv does not import Airflow $AIRFLOW_VERSION"
# The execution suite's Airflow harness copies one migrated metadata database per run
# (conformance/execution/airflow/README.md); Airflow's own initdb makes it once per version.
if [[ ! -f "$CACHE/execution/airflow/airflow-$AIRFLOW_VERSION.db" ]]; then
  step "migrating the execution harness's Airflow metadata database (Airflow $AIRFLOW_VERSION)"
  KFM_CONFORMANCE_CACHE="$CACHE" "$CACHE/venv/bin/python" "$CONF/execution/airflow/run.py" --prepare ||
    die "preparing the Airflow metadata database failed"
fi

# --- Python: the linters -------------------------------------------------------------------------

if [[ ! -x "$CACHE/lint/bin/python" ]] ||
  [[ "$("$CACHE/lint/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null)" != "$("$PYTHON" -c 'import sys; print(sys.version)')" ]]; then
  step "creating the linters' venv"
  rm -rf "$CACHE/lint"
  "$UV" venv --quiet --python "$(command -v "$PYTHON")" "$CACHE/lint" || die "uv venv (lint) failed"
fi
step "syncing the linters' venv with lint/requirements.lock (ruff $RUFF_VERSION, yamllint $YAMLLINT_VERSION)"
VIRTUAL_ENV="$CACHE/lint" "$UV" pip sync --quiet --require-hashes \
  --python "$CACHE/lint/bin/python" "$CONF/lint/requirements.lock" || die "uv pip sync (lint) failed"
[[ "$("$CACHE/lint/bin/ruff" --version)" == "ruff $RUFF_VERSION" ]] || die "the linters' venv does not hold ruff $RUFF_VERSION"
[[ "$("$CACHE/lint/bin/yamllint" --version)" == "yamllint $YAMLLINT_VERSION" ]] || die "the linters' venv does not hold yamllint $YAMLLINT_VERSION"

# --- Go: argo-check, tekton-check, k8syaml, kustomize-check, actionlint ----------------------------

build() { # module-dir binary
  step "building $2 (go/$1)"
  (cd "$CONF/go/$1" && go mod download && go build -trimpath -o "$BIN/$2.new" .) || die "building $2 failed"
  mv -f "$BIN/$2.new" "$BIN/$2"
}
build argo argo-check
build argo-events argo-events-check
build tekton tekton-check
build tekton-triggers tekton-triggers-check
build tekton-states tekton-states
# The execution suite's Tekton engine is test code (Tekton's reconciler test kit takes a
# *testing.T), compiled into a test binary; the Tekton version is stamped in for its reports.
step "building tekton-exec (go/tekton-exec, go test -c)"
(cd "$CONF/go/tekton-exec" && go mod download && go test -c -trimpath \
  -ldflags "-X kfm-compile/conformance/tekton-exec.tektonVersion=$TEKTON_PIPELINE_VERSION" -o "$BIN/tekton-exec.new" .) ||
  die "building tekton-exec failed"
mv -f "$BIN/tekton-exec.new" "$BIN/tekton-exec"
build k8syaml k8syaml
build kustomize kustomize-check
# The Argo execution harness (test:execution): its own stamp, so only its inputs rebuild it.
bash "$CONF/execution/argo/build.sh" || die "building the Argo execution harness failed"

if [[ ! -x "$BIN/actionlint" ]] || [[ "$("$BIN/actionlint" --version 2>/dev/null | head -n1)" != "$ACTIONLINT_VERSION" ]]; then
  step "installing actionlint $ACTIONLINT_VERSION"
  # go install pkg@version builds with actionlint's own go.mod, not ours.
  GOBIN="$BIN" GOFLAGS='' go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" ||
    die "go install actionlint@$ACTIONLINT_VERSION failed"
fi

if [[ ! -x "$BIN/act" ]] || [[ "$("$BIN/act" --version 2>/dev/null)" != "act version ${NEKTOS_ACT_VERSION#v}" ]]; then
  step "installing nektos/act $NEKTOS_ACT_VERSION"
  GOBIN="$BIN" GOFLAGS='' go install "github.com/nektos/act@$NEKTOS_ACT_VERSION" ||
    die "go install nektos/act@$NEKTOS_ACT_VERSION failed"
fi

# --- smoke: every tool answers --------------------------------------------------------------------

"$BIN/argo-check" --cron-next "0 2 * * *" --tz Etc/UTC --from 2024-01-01T00:00:00Z --n 1 >/dev/null ||
  die "argo-check does not run"
"$BIN/tekton-check" /dev/null >/dev/null 2>&1 || [[ $? -eq 1 ]] || die "tekton-check does not run"
"$BIN/tekton-states" /dev/null >/dev/null 2>&1 || [[ $? -eq 1 ]] || die "tekton-states does not run"
[[ "$("$BIN/tekton-exec" -test.run '^TestExecute$' -test.v 2>&1)" == *"SKIP: TestExecute"* ]] || die "tekton-exec does not run"
[[ "$(echo '"a: 0X1F"' | "$BIN/k8syaml")" == '{"docs":[{"json":{"a":31}}]}' ]] || die "k8syaml does not run"
SMOKE="$(mktemp -d)"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: smoke\n' >"$SMOKE/cm.yaml"
printf 'resources:\n  - cm.yaml\nnamespace: smoke-ns\n' >"$SMOKE/kustomization.yaml"
got="$("$BIN/kustomize-check" "$SMOKE" 2>&1)" || true
rm -rf "$SMOKE"
[[ "$got" == *'"ok": true'* && "$got" == *'namespace: smoke-ns'* ]] || die "kustomize-check does not run: $got"
[[ "$("$BIN/actionlint" --version | head -n1)" == "$ACTIONLINT_VERSION" ]] || die "actionlint is not $ACTIONLINT_VERSION"
[[ "$("$BIN/act" --version)" == "act version ${NEKTOS_ACT_VERSION#v}" ]] || die "act is not $NEKTOS_ACT_VERSION"
# Without its inputs the harness test skips itself.
(cd "$CACHE" && "$BIN/argo-exec" -test.run '^TestKfmExecution$' >/dev/null) || die "argo-exec does not run"

echo "$HASH" >"$STAMP"
step "ready: $CACHE"
