#!/usr/bin/env bash
# Starts and stops a throwaway Kubernetes API server for the deployability check: etcd and
# kube-apiserver (built by conformance/kube/setup.sh) on 127.0.0.1 only, on free ports, with
# their data in a temporary folder; the Argo, Argo Events, Tekton and Tekton Triggers CRDs from the pinned Go modules;
# a namespace enforcing the `restricted` Pod Security Standard. No controller-manager or
# scheduler: objects are stored and admitted, never run.
#
#   eval "$(bash conformance/kube/cluster.sh start)"   start; prints export KUBECONFIG=... lines
#   kubectl --namespace "$KFM_KUBE_NAMESPACE" apply -f out/argo/
#   bash conformance/kube/cluster.sh stop              stop ($KFM_KUBE_DIR) and delete its folder
#
#   start [--owner PID] [DIR]   DIR (new or empty) defaults to a new temporary folder; with --owner, the
#                               cluster stops by itself once process PID has exited
#   stop [DIR]                  DIR defaults to $KFM_KUBE_DIR
#   namespace NAME...           create namespaces like the one start makes (restricted, with a
#                               `default` ServiceAccount; uses $KUBECONFIG)
#
# Who is who: the kubeconfig's user is `kfm-admin` (static token, group system:masters);
# authorization is RBAC, so `kubectl auth can-i --as=...` answers as a real cluster would.
# The serving certificate is the API server's own self-signed one (--cert-dir).
set -euo pipefail

KUBE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONF="$(cd "$KUBE/.." && pwd)"
ROOT="$(cd "$CONF/.." && pwd)"
CACHE="${KFM_CONFORMANCE_CACHE:-$ROOT/.cache/conformance}"
BIN="$CACHE/bin"
NAMESPACE=kfm-restricted
# Bounded waits (seconds): a loaded 2-core machine takes ~10-40 s to readiness.
READY_TIMEOUT="${KFM_KUBE_READY_TIMEOUT:-180}"
STOP_TIMEOUT=20

die() {
  echo "kube cluster: error: $*" >&2
  exit 1
}
step() { echo "kube cluster: $*" >&2; }

gomodfile() { # module version relative-path -> absolute path in the module cache
  local f="$CACHE/go/mod/$1@$2/$3"
  [[ -e "$f" ]] || die "$f is missing: run bash conformance/setup.sh (it downloads $1 $2)"
  echo "$f"
}

# --- the supervisor: runs in its own session, so one signal to its process group ends all ---------

run() { # DIR OWNER
  local dir="$1" owner="$2" etcd api
  # shellcheck source=/dev/null
  source "$dir/ports.env"
  ps -o pgid= -p $$ | tr -d ' ' >"$dir/pgid.new" && mv "$dir/pgid.new" "$dir/pgid"
  "$BIN/etcd" --name kfm --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "kfm=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn \
    >"$dir/etcd.log" 2>&1 </dev/null &
  etcd=$!
  # PodSecurity is in the default admission set; it is named so that the check does not
  # silently lose it if the defaults change. The `kubernetes` Service's endpoint reconciler
  # refuses a loopback advertise address, and nothing here needs that Service: off.
  "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --cert-dir "$dir/pki" --token-auth-file "$dir/tokens.csv" --anonymous-auth=false \
    --authorization-mode RBAC --enable-admission-plugins PodSecurity \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$dir/sa.pub" --service-account-signing-key-file "$dir/sa.key" \
    --service-cluster-ip-range 10.96.0.0/24 --profiling=false \
    --endpoint-reconciler-type none \
    >"$dir/kube-apiserver.log" 2>&1 </dev/null &
  api=$!
  # The API server first (it may still write to etcd while it drains), then etcd.
  shutdown() {
    local i
    trap "" TERM INT
    kill -TERM "$api" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
      kill -0 "$api" 2>/dev/null || break
      sleep 0.25
    done
    kill -KILL "$api" 2>/dev/null || true
    kill -TERM "$etcd" 2>/dev/null || true
    wait
    exit 0
  }
  trap shutdown TERM INT
  while sleep 1; do
    kill -0 "$etcd" 2>/dev/null || {
      echo "etcd exited" >>"$dir/supervisor.log"
      break
    }
    kill -0 "$api" 2>/dev/null || {
      echo "kube-apiserver exited" >>"$dir/supervisor.log"
      break
    }
    if [[ -n "$owner" ]] && ! kill -0 "$owner" 2>/dev/null; then
      echo "owner $owner exited" >>"$dir/supervisor.log"
      break
    fi
  done
  shutdown
}

# --- stop ------------------------------------------------------------------------------------------

stop() { # DIR
  local dir="$1" pgid i
  [[ -d "$dir" ]] || die "no cluster folder $dir"
  if [[ -f "$dir/pgid" ]]; then
    pgid="$(cat "$dir/pgid")"
    # The supervisor (the group's leader) stops its children in order; the whole group gets
    # SIGKILL if anything is left after STOP_TIMEOUT.
    kill -TERM "$pgid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 4; i++)); do
      kill -0 -- "-$pgid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 -- "-$pgid" 2>/dev/null; then
      step "still running after ${STOP_TIMEOUT}s, SIGKILL: $(ps -o comm= -g "$pgid" | tr '\n' ' ')"
      kill -KILL -- "-$pgid" 2>/dev/null || true
      for ((i = 0; i < 20; i++)); do
        kill -0 -- "-$pgid" 2>/dev/null || break
        sleep 0.25
      done
      ! kill -0 -- "-$pgid" 2>/dev/null || die "process group $pgid survives SIGKILL"
    fi
  fi
  # Only ever a folder this script created (it holds our marker).
  [[ -f "$dir/.kfm-kube-cluster" ]] && rm -rf "$dir"
  return 0
}

# --- namespaces that enforce, warn and audit the `restricted` Pod Security Standard -----------------

namespaces() { # NAME... (uses $KUBECONFIG)
  local n
  for n in "$@"; do
    cat <<EOF
---
apiVersion: v1
kind: Namespace
metadata:
  name: $n
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/warn-version: latest
    pod-security.kubernetes.io/audit: restricted
    pod-security.kubernetes.io/audit-version: latest
---
# What the controller-manager's service-account controller would create (none runs here);
# the ServiceAccount admission plugin refuses Pods in a namespace without it.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: $n
EOF
  done | "$BIN/kubectl" --request-timeout 30s apply --field-manager kfm-conformance -f -
}

# --- start -----------------------------------------------------------------------------------------

start() { # OWNER [DIR]
  local owner="$1" dir="${2:-}" token
  for b in etcd kube-apiserver kubectl; do
    [[ -x "$BIN/$b" ]] || die "$BIN/$b is not built: run bash conformance/kube/setup.sh"
  done
  command -v setsid >/dev/null || die "setsid not found (util-linux)"
  # shellcheck source=conformance/versions.env
  source "$CONF/versions.env"
  if [[ -z "$dir" ]]; then
    dir="$(mktemp -d "${TMPDIR:-/tmp}/kfm-kube.XXXXXX")"
  else
    # stop deletes the folder, so it must be the cluster's alone.
    [[ ! -e "$dir" || -z "$(ls -A "$dir")" ]] || die "$dir exists and is not empty"
    mkdir -p "$dir"
  fi
  dir="$(cd "$dir" && pwd)"
  touch "$dir/.kfm-kube-cluster"
  mkdir -p "$dir/pki"
  chmod 700 "$dir"

  # shellcheck disable=SC2016 # JavaScript, not shell
  # Three free loopback ports, chosen by the kernel (a tiny race with other processes remains;
  # the API server then fails to bind, and start reports its log).
  node -e '
    const net = require("node:net");
    const names = ["ETCD_CLIENT_PORT", "ETCD_PEER_PORT", "API_PORT"];
    const servers = names.map(() => net.createServer());
    let n = 0;
    for (const s of servers) s.listen(0, "127.0.0.1", () => {
      if (++n < servers.length) return;
      names.forEach((k, i) => console.log(`${k}=${servers[i].address().port}`));
      servers.forEach((x) => x.close());
    });' >"$dir/ports.env"
  # shellcheck source=/dev/null
  source "$dir/ports.env"

  # The service-account signing key pair and the admin's bearer token.
  node -e '
    const { generateKeyPairSync, randomBytes } = require("node:crypto");
    const fs = require("node:fs");
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    fs.writeFileSync(process.argv[1] + "/sa.key", privateKey.export({ type: "pkcs1", format: "pem" }), { mode: 0o600 });
    fs.writeFileSync(process.argv[1] + "/sa.pub", publicKey.export({ type: "spki", format: "pem" }));
    fs.writeFileSync(process.argv[1] + "/token", randomBytes(32).toString("hex"), { mode: 0o600 });' "$dir"
  token="$(cat "$dir/token")"
  # token,user,uid,"groups" (the --token-auth-file format).
  printf '%s,kfm-admin,kfm-admin,"system:masters"\n' "$token" >"$dir/tokens.csv"
  cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: kfm
    cluster:
      server: https://127.0.0.1:$API_PORT
      certificate-authority: $dir/pki/apiserver.crt
users:
  - name: kfm-admin
    user:
      token: $token
contexts:
  - name: kfm
    context:
      cluster: kfm
      user: kfm-admin
      namespace: $NAMESPACE
current-context: kfm
EOF
  chmod 600 "$dir/kubeconfig"

  setsid bash "$0" _run "$dir" "$owner" >>"$dir/supervisor.log" 2>&1 </dev/null &
  local kubectl=("$BIN/kubectl" --kubeconfig "$dir/kubeconfig" --request-timeout 90s) t0=$SECONDS ready=0
  while ((SECONDS - t0 < READY_TIMEOUT)); do
    if [[ -f "$dir/pki/apiserver.crt" ]] && "${kubectl[@]}" get --raw /readyz >/dev/null 2>&1; then
      ready=1
      break
    fi
    grep -q exited "$dir/supervisor.log" 2>/dev/null && break
    sleep 0.5
  done
  if ((ready == 0)); then
    {
      if grep -q exited "$dir/supervisor.log" 2>/dev/null; then
        echo "kube cluster: error: $(grep exited "$dir/supervisor.log" | head -n1) before it was ready"
      else
        echo "kube cluster: error: the API server did not become ready within ${READY_TIMEOUT}s"
      fi
      for f in supervisor etcd kube-apiserver; do
        echo "--- $f.log (last 20 lines)"
        tail -n 20 "$dir/$f.log" 2>/dev/null || true
      done
    } >&2
    stop "$dir"
    exit 1
  fi
  step "ready in $((SECONDS - t0))s at https://127.0.0.1:$API_PORT ($dir)"

  # The upstream CRDs, from the same module versions the runner checks use. Argo's `full`
  # CRDs carry the whole OpenAPI schema, so the API server validates every field (upstream
  # says to apply them server-side: they exceed the client-side apply annotation's size).
  # Argo Events' CRDs (EventSource, Sensor, EventBus: event triggers) keep `spec` unvalidated
  # (x-kubernetes-preserve-unknown-fields); conformance/go/argo-events checks what is in it.
  # Tekton Triggers' CRDs likewise (event triggers; conformance/go/tekton-triggers checks their specs).
  local argo events tekton triggers f crds=()
  argo="$(gomodfile github.com/argoproj/argo-workflows/v4 "$ARGO_WORKFLOWS_VERSION" manifests/base/crds/full)"
  events="$(gomodfile github.com/argoproj/argo-events "$ARGO_EVENTS_VERSION" manifests/base/crds)"
  tekton="$(gomodfile github.com/tektoncd/pipeline "$TEKTON_PIPELINE_VERSION" config/300-crds)"
  triggers="$(gomodfile github.com/tektoncd/triggers "$TEKTON_TRIGGERS_VERSION" config)"
  for f in "$argo"/argoproj.io_*.yaml "$events"/argoproj.io_*.yaml "$tekton"/300-*.yaml "$triggers"/300-*.yaml; do crds+=(-f "$f"); done
  # Tekton Triggers' ClusterRoles (an installation's, README precondition): an event trigger's file binds
  # tekton-triggers-eventlistener-roles in the namespace, and the check asks what that binding grants.
  crds+=(-f "$triggers/200-clusterrole.yaml")
  # Argo's full CRDs are large: on a loaded machine one apply takes longer than the readiness probe's 10 s (the last --request-timeout wins).
  "${kubectl[@]}" --request-timeout 120s apply --server-side --field-manager kfm-conformance "${crds[@]}" >"$dir/crds.log" 2>&1 || {
    cat "$dir/crds.log" >&2
    stop "$dir"
    die "installing the Argo and Tekton CRDs failed"
  }
  # kubectl wait fails at once on a CRD whose status has no conditions yet (".status.conditions
  # accessor error"), which the API server writes a moment after the apply: try again a few times.
  local tries=0
  until "${kubectl[@]}" wait --for condition=Established --timeout 60s crd --all >>"$dir/crds.log" 2>&1; do
    tries=$((tries + 1))
    [[ $tries -lt 5 ]] || break
    sleep 2
  done
  [[ $tries -lt 5 ]] || {
    cat "$dir/crds.log" >&2
    stop "$dir"
    die "the CRDs did not become established"
  }
  KUBECONFIG="$dir/kubeconfig" namespaces "$NAMESPACE" >>"$dir/crds.log" 2>&1 || {
    cat "$dir/crds.log" >&2
    stop "$dir"
    die "creating namespace $NAMESPACE failed"
  }
  step "Argo and Tekton CRDs established, namespace $NAMESPACE created: $((SECONDS - t0))s in all"

  echo "export KUBECONFIG=$dir/kubeconfig"
  echo "export KFM_KUBE_DIR=$dir"
  echo "export KFM_KUBE_NAMESPACE=$NAMESPACE"
  echo "export KFM_KUBECTL=$BIN/kubectl"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  start)
    owner=""
    if [[ "${1:-}" == "--owner" ]]; then
      owner="${2:?--owner needs a PID}"
      shift 2
    fi
    start "$owner" "${1:-}"
    ;;
  stop) stop "${1:-${KFM_KUBE_DIR:?stop needs a folder (or KFM_KUBE_DIR)}}" ;;
  namespace)
    [[ -n "${KUBECONFIG:-}" && $# -gt 0 ]] || die "namespace needs KUBECONFIG and at least one NAME"
    namespaces "$@"
    ;;
  _run) run "$1" "$2" ;;
  -h | --help | "")
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    [[ -n "$cmd" ]]
    ;;
  *) die "unknown command $cmd (see --help)" ;;
esac
