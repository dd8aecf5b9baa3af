/**
 * IR -> Tekton Pipelines v1 YAML: one stream of objects to apply (what a GitOps tool syncs):
 * a `Pipeline` (inline `taskSpec`s) and, for a scheduled workflow, a `CronJob` that creates
 * the scheduled `PipelineRun`s with the ServiceAccount, Role and RoleBinding it runs as. The
 * `PipelineRun` of a manual run is a separate file (`manualRun`), for `kubectl create`.
 * Every mapping decision, with the upstream source it relies on, is in README.md beside
 * this file.
 */
import type {
  V1Container,
  V1CronJob,
  V1Job,
  V1EnvVar,
  V1PodSecurityContext,
  V1ResourceRequirements,
  V1Role,
  V1RoleBinding,
  V1SecurityContext,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import { createHash } from "node:crypto";
import { hashComment, headerLines } from "../../src/header.js";
import { dstGuard, parseCron, type Cron, type DstGuard } from "../../src/cron.js";
import { posixTz } from "../../src/tzrule.js";
import {
  RUNTIME_VARIABLES,
  retryWaits,
  type CronSchedule,
  type EventSchedule,
  type Job,
  type Notification,
  type RuntimeVariable,
  type StandardVariable,
  type Template,
  type UpstreamWorkflow,
  type Workflow,
} from "../../src/ir.js";
import {
  kubeName,
  LOGICAL_DATE_PARAM,
  NOTIFY_CURL_IMAGE,
  TEKTON_APPROVERS_PARAM,
  TEKTON_ATTEMPT_RESULT,
  TEKTON_CONTEXT_TASK,
  TEKTON_CREATOR_CONTAINER,
  TEKTON_DOLLAR_PARAM,
  tektonCreatorAccount,
  TEKTON_EVENT_TRIGGER,
  tektonListenerAccount,
  TEKTON_OK_RESULT,
  TEKTON_RUN_STATUS_TASK,
  TEKTON_STEPS,
  tektonFailedTaskName,
  tektonNotifyTaskName,
  tektonRunGenerateName,
  tektonRunQueueLease,
  tektonStarterAccount,
  tektonUpstreamWaitTask,
  tektonWaiterAccount,
  tektonStarterGenerateName,
  TEKTON_START_RUNS_TASK,
} from "../../src/names.js";
import { NOTIFY_TASK_SECONDS, notifyInputs, notifyScript } from "../../src/notify.js";
import { compareStrings } from "../../src/summary.js";
import { toYamlStream } from "../../src/yaml.js";
import { DEFAULT_OPTIONS, KUBECTL_IMAGE, SHELL_IMAGE, type TektonOptions } from "./options.js";
import { bucketPattern, keyPattern, OBJECT_CREATED_PATTERN } from "../events.js";
import { accountObjects, MANAGED_BY, MANAGED_BY_LABEL, objectLabels, RESTRICTED_CONTAINER_SECURITY_CONTEXT, TARGET_LABEL } from "../kubernetes.js";

export const TARGET = "tekton";
export const TEKTON_API = "tekton.dev/v1";

/** The labels of a workflow's objects (targets/kubernetes.ts): the workflow is named by its object name. Not on runs: a PipelineRun is created, never applied or pruned. */
export function workflowLabels(ir: Workflow): Record<string, string> {
  return objectLabels(kubeName(ir.name), TARGET);
}

/**
 * The container securityContext of every helper the compiler adds (context, wait, status,
 * failed marker, run status, notifications, the CronJob's creator): Pod Security
 * `restricted`, all on the container (targets/kubernetes.ts), so that the pod-level context
 * stays the user's. The images' own users are root (busybox, the kubectl image) or a name
 * (`curl_user`), which the kubelet cannot verify as non-root: the numeric HELPER_UID is set.
 */
function restricted(): V1SecurityContext {
  return structuredClone(RESTRICTED_CONTAINER_SECURITY_CONTEXT) as unknown as V1SecurityContext;
}

// The helper images' defaults, SHELL_IMAGE and KUBECTL_IMAGE, are the options' (options.ts).
export { KUBECTL_IMAGE, SHELL_IMAGE } from "./options.js";

/**
 * How late (seconds) the CronJob controller may still start a slot it missed; older slots
 * are skipped, which is the meaning of `catchup: false` (missed slots are not run).
 */
export const STARTING_DEADLINE_SECONDS = 300;

/** Attempts the creator Job gets (it is idempotent: a retry finds its PipelineRun already there). */
export const CREATOR_BACKOFF_LIMIT = 3;

/** The annotation the CronJob controller writes on each Job: the slot, RFC 3339 in the CronJob's zone (Kubernetes 1.28+). */
export const SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/** The label the Job controller puts on each of its pods (Kubernetes 1.27+). */
export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";

/** Environment names of the generated containers (data in, fixed scripts read them). */
export const ENV = {
  logicalDateParam: "KFM_LOGICAL_DATE_PARAM",
  periodSeconds: "KFM_PERIOD_SECONDS",
  retryCount: "KFM_RETRY_COUNT",
  retryWaits: "KFM_RETRY_WAITS",
  jobName: "KFM_JOB_NAME",
  namespace: "KFM_NAMESPACE",
  windowStart: "KFM_WINDOW_START",
  windowEnd: "KFM_WINDOW_END",
  tzRule: "KFM_TZ_RULE",
  slotHours: "KFM_SLOT_HOURS",
  pipelineRun: "KFM_PIPELINERUN",
  runTokenSeed: "KFM_RUN_TOKEN_SEED",
  attemptPath: "KFM_ATTEMPT_PATH",
  exitCodePath: "KFM_EXIT_CODE_PATH",
  retries: "KFM_RETRIES",
  okPath: "KFM_OK_PATH",
  jobSpecName: "KFM_JOB_NAME",
  pipeline: "KFM_PIPELINE",
  maxActiveRuns: "KFM_MAX_ACTIVE_RUNS",
  ownRun: "KFM_OWN_RUN",
  lease: "KFM_LEASE",
  upstreamPipeline: "KFM_UPSTREAM_PIPELINE",
  waitTimeoutSeconds: "KFM_WAIT_TIMEOUT_SECONDS",
  pollSeconds: "KFM_POLL_SECONDS",
} as const;

/**
 * The manual-approval-gate custom task (openshift-pipelines/manual-approval-gate): a pipeline
 * task whose `taskRef` has this apiVersion and kind becomes a `CustomRun` that its controller
 * reconciles (README "Approval gates").
 */
export const APPROVAL_TASK_REF = { apiVersion: "openshift-pipelines.org/v1alpha1", kind: "ApprovalTask" } as const;
/** Params the ApprovalTask controller reads (`pkg/reconciler/approvaltask/approvaltask.go` constants). */
export const APPROVAL_PARAMS = { approvers: "approvers", required: "numberOfApprovalsRequired", description: "description" } as const;
/** One approval is enough: the first approve starts the downstream; any reject fails the gate. */
export const APPROVALS_REQUIRED = "1";

/**
 * The `when` of `kfm-run-status` and the notification tasks: the aggregate status of the
 * run's DAG tasks is `Failed` (only `finally` tasks may read it, and only in params and
 * `when`: `pkg/reconciler/pipelinerun/resources/apply.go` `ApplyPipelineTaskStateContext`).
 */
export const RUN_FAILED_WHEN: TektonWhen = { input: "$(tasks.status)", operator: "in", values: ["Failed"] };

/** Variables `kfm-context` computes as task results: the runtime values and the run token. */
export type ContextVariable = RuntimeVariable | "run_token";
export const CONTEXT_VARIABLES: readonly ContextVariable[] = [...RUNTIME_VARIABLES, "run_token"];

/** Env variable of `kfm-context` holding the path of the result for `variable`. */
export function resultPathEnv(variable: ContextVariable): string {
  return `KFM_RESULT_${variable.toUpperCase()}`;
}

/**
 * `kfm-context`: validates the logical date (fail closed) and writes the runtime values in
 * Airflow's formats, in UTC. Pure POSIX sh arithmetic (no `date` parsing quirks): civil
 * date <-> day number after H. Hinnant's algorithms. Fixed text; its inputs are env values.
 */
export const CONTEXT_SCRIPT = `set -eu
fail() { echo "kfm-context: $*" >&2; exit 1; }
in=$KFM_LOGICAL_DATE_PARAM
case $in in
  '') fail "the run has no logical date: set the PipelineRun parameter ${LOGICAL_DATE_PARAM} to YYYY-MM-DDTHH:MM:SSZ (UTC) or YYYY-MM-DDTHH:MM:SS+HH:MM" ;;
  [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z) off=Z ;;
  [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9][+-][0-9][0-9]:[0-9][0-9]) off=\${in#???????????????????} ;;
  *) fail "logical date '$in' is not YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DDTHH:MM:SS+HH:MM" ;;
esac
IFS='-T:'
set -- \${in%"$off"}
IFS=' '
y=$((1$1 - 10000)); mo=$((1$2 - 100)); d=$((1$3 - 100)); h=$((1$4 - 100)); mi=$((1$5 - 100)); s=$((1$6 - 100))
case $mo in 1|3|5|7|8|10|12) dim=31 ;; 4|6|9|11) dim=30 ;; 2) dim=$((28 + ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))) ;; *) dim=0 ;; esac
[ "$y" -ge 1 ] && [ "$mo" -ge 1 ] && [ "$d" -ge 1 ] && [ "$d" -le "$dim" ] && [ "$h" -le 23 ] && [ "$mi" -le 59 ] && [ "$s" -le 59 ] || fail "logical date '$in' is not a valid date and time"
shift_s=0
if [ "$off" != Z ]; then
  sign=\${off%"\${off#?}"}
  IFS=':'
  set -- \${off#?}
  IFS=' '
  oh=$((1$1 - 100)); om=$((1$2 - 100))
  [ "$oh" -le 23 ] && [ "$om" -le 59 ] || fail "logical date '$in' has an invalid UTC offset"
  shift_s=$((oh * 3600 + om * 60))
  if [ "$sign" = - ]; then shift_s=$((0 - shift_s)); fi
fi
yy=$((y - (mo <= 2)))
era=$((yy / 400)); yoe=$((yy - era * 400))
doy=$(((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1))
doe=$((yoe * 365 + yoe / 4 - yoe / 100 + doy))
epoch=$(((era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + s - shift_s))
fmt() {
  t=$1
  [ "$t" -ge 0 ] || fail "$2 falls before 1970-01-01"
  z=$((t / 86400 + 719468)); sod=$((t % 86400))
  era=$((z / 146097)); doe=$((z - era * 146097))
  yoe=$(((doe - doe / 1460 + doe / 36524 - doe / 146096) / 365))
  doy=$((doe - (365 * yoe + yoe / 4 - yoe / 100)))
  mp=$(((5 * doy + 2) / 153))
  fd=$((doy - (153 * mp + 2) / 5 + 1))
  fm=$((mp < 10 ? mp + 3 : mp - 9))
  fy=$((yoe + era * 400 + (fm <= 2)))
  [ "$fy" -le 9999 ] || fail "$2 falls after 9999-12-31"
  out=$(printf '%04d-%02d-%02dT%02d:%02d:%02d+00:00' "$fy" "$fm" "$fd" $((sod / 3600)) $((sod % 3600 / 60)) $((sod % 60)))
}
put() {
  [ -n "$2" ] || return 0
  printf '%s' "$3" > "$2"
  echo "kfm-context: $1 = $3"
}
fmt "$epoch" "the logical date"
ts=$out
put execution_date "\${KFM_RESULT_EXECUTION_DATE:-}" "$ts"
put ds "\${KFM_RESULT_DS:-}" "\${ts%%T*}"
put ts "\${KFM_RESULT_TS:-}" "$ts"
if [ -n "\${KFM_RESULT_RUN_TOKEN:-}" ]; then
  token=$(printf '%s%s' "$KFM_RUN_TOKEN_SEED" "$ts" | sha256sum | cut -c1-32)
  case $token in *[!0-9a-f]*|'') fail "could not compute the run token" ;; esac
  [ \${#token} -eq 32 ] || fail "could not compute the run token"
  put run_token "$KFM_RESULT_RUN_TOKEN" "$token"
fi
if [ -n "\${KFM_RESULT_PREV_EXECUTION_DATE:-}\${KFM_RESULT_NEXT_EXECUTION_DATE:-}" ]; then
  p=\${KFM_PERIOD_SECONDS:-}
  case $p in ''|*[!0-9]*) fail "previous/next dates need the schedule period, got '$p'" ;; esac
  fmt $((epoch - p)) "prev_execution_date"
  put prev_execution_date "\${KFM_RESULT_PREV_EXECUTION_DATE:-}" "$out"
  fmt $((epoch + p)) "next_execution_date"
  put next_execution_date "\${KFM_RESULT_NEXT_EXECUTION_DATE:-}" "$out"
fi
put ok "\${KFM_OK_PATH:-}" true
`;

/**
 * `kfm-wait`: the retry delay Tekton lacks (tektoncd/pipeline#1209). Attempt k+1 (retry
 * count k >= 1) sleeps the k-th entry of the waits list; the first attempt does not wait.
 * It also writes the 1-based attempt number as its step result `attempt`, which the job
 * step reads as `KFM_ATTEMPT` (a step env value cannot do arithmetic on the retry count).
 */
export const WAIT_SCRIPT = `set -eu
set -f
n=$KFM_RETRY_COUNT
case $n in ''|*[!0-9]*) echo "kfm-wait: retry count '$n' is not a number" >&2; exit 1 ;; esac
printf '%s' $((n + 1)) > "$KFM_ATTEMPT_PATH"
if [ "$n" -eq 0 ]; then echo "kfm-wait: first attempt, no wait"; exit 0; fi
set -- $KFM_RETRY_WAITS
if [ "$n" -gt $# ]; then echo "kfm-wait: no wait listed for attempt $((n + 1)) in '$KFM_RETRY_WAITS'" >&2; exit 1; fi
shift $((n - 1))
echo "kfm-wait: attempt $((n + 1)) starts after a wait of $1 s"
sleep "$1"
`;

/**
 * `kfm-status` (failure emulation, after the job step): a job that succeeded writes the task
 * result `ok` = `true`. A failed attempt that is not the last fails the TaskRun, so
 * Tekton retries it. The last failed attempt of a retried job writes `ok` = `false` and
 * succeeds, because a TaskRun that fails for good would stop every other branch; its
 * `kfm-failed-<n>` task then fails in its place. A job without retries fails its TaskRun,
 * which its pipeline task's `onError: continue` keeps from stopping the others.
 */
export const STATUS_SCRIPT = `set -eu
code=$(cat "$KFM_EXIT_CODE_PATH")
n=$KFM_RETRY_COUNT
case $n in ''|*[!0-9]*) echo "kfm-status: retry count '$n' is not a number" >&2; exit 1 ;; esac
if [ "$code" = 0 ]; then
  printf true > "$KFM_OK_PATH"
  echo "kfm-status: the job succeeded"
  exit 0
fi
if [ "$n" -lt "$KFM_RETRIES" ]; then
  echo "kfm-status: attempt $((n + 1)) failed (exit code $code); Tekton retries the task" >&2
  exit 1
fi
if [ "$KFM_RETRIES" -eq 0 ]; then
  echo "kfm-status: the job failed (exit code $code)" >&2
  exit 1
fi
printf false > "$KFM_OK_PATH"
echo "kfm-status: the last attempt ($((n + 1))) failed (exit code $code): the job failed; its task kfm-failed fails for it, its downstream jobs are skipped and the run will end failed" >&2
`;

/**
 * `kfm-run-status` (finally, failure emulation): runs only when `$(tasks.status)` is `Failed`
 * (a job's TaskRun failed, even one whose failure `onError: continue` ignored), and fails the
 * run. Skipped, it starts no pod.
 */
export const RUN_STATUS_SCRIPT = `echo "kfm-run-status: a job failed: the run fails" >&2
exit 1
`;

/**
 * `kfm-failed-<n>` (failure emulation): runs only when the retried job ended with `ok` =
 * `false`, and fails. It is the job's failure as Tekton shows it: a Failed TaskRun named
 * after the job in the dashboard, `tkn` and the TaskRun metrics, where the job's own TaskRun
 * (whose last attempt had to succeed) shows Succeeded. Its pipeline task has `onError:
 * continue`, so the failure stops nothing, but it makes `$(tasks.status)` `Failed`, which
 * `kfm-run-status` and the notifications read.
 */
export const FAILED_SCRIPT = `echo "kfm-failed: job '$KFM_JOB_NAME' failed after its last attempt" >&2
exit 1
`;

/**
 * The prelude of the notification script on Tekton: the `job-statuses` param holds one
 * `<spec name>=<status>` word per job, the status `$(tasks.<task>.status)` (Succeeded,
 * Failed or None, `pipelinerunstate.go` `GetPipelineTaskStatus`); it keeps the jobs whose
 * status is Failed, the shared script's `KFM_NOTIFY_FAILED`.
 */
export const NOTIFY_PRELUDE = `failed=
for s in $KFM_NOTIFY_FAILED; do
  case $s in *=Failed) failed="$failed \${s%=Failed}" ;; esac
done
KFM_NOTIFY_FAILED=$failed
`;

/**
 * The CronJob's run creator: reads the slot from its Job's scheduled-timestamp annotation
 * (fail closed when absent), skips slots outside the start/end window (compared as local
 * wall-clock times in the schedule's zone, the form the annotation and the window share),
 * and creates the PipelineRun held in KFM_PIPELINERUN, named after the Job (one name per
 * slot, so a retried Job cannot start a second run) with the slot as its logical date.
 */
export const CREATOR_SCRIPT = `set -euo pipefail
export LC_ALL=C
job=$KFM_JOB_NAME
slot=$(kubectl get job "$job" --namespace "$KFM_NAMESPACE" --output 'jsonpath={.metadata.annotations.${SCHEDULED_TIMESTAMP_ANNOTATION.replace(/\./g, "\\.")}}')
if [[ ! $slot =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$ ]]; then
  echo "kfm: Job $job has no usable ${SCHEDULED_TIMESTAMP_ANNOTATION} annotation ('$slot'): Kubernetes 1.28 or later is required" >&2
  exit 1
fi
local_time=\${slot:0:19}
if [[ -n $KFM_WINDOW_START && $local_time < $KFM_WINDOW_START ]]; then
  echo "kfm: slot $slot is before the schedule's start $KFM_WINDOW_START: no run"
  exit 0
fi
if [[ -n $KFM_WINDOW_END && $local_time > $KFM_WINDOW_END ]]; then
  echo "kfm: slot $slot is after the schedule's end $KFM_WINDOW_END: no run"
  exit 0
fi
run=$(jq --compact-output --arg name "$job" --arg date "$slot" \\
  '.metadata = {name: $name} | .spec.params = [.spec.params[] | if .name == "${LOGICAL_DATE_PARAM}" then .value = $date else . end]' <<<"$KFM_PIPELINERUN")
if out=$(kubectl create --namespace "$KFM_NAMESPACE" --filename - <<<"$run" 2>&1); then
  echo "$out"
elif [[ $out == *AlreadyExists* || $out == *"already exists"* ]]; then
  echo "kfm: PipelineRun $job already exists (this Job was retried): $out"
else
  echo "$out" >&2
  exit 1
fi
`;

/** Seconds between two looks at an upstream run (Airflow's sensor pokes every 60 s too, as Argo's wait retries). */
export const UPSTREAM_POLL_SECONDS = 60;

/**
 * `kfm-wait-<upstream>` (README "Cross-workflow dependencies"): waits for the upstream
 * workflow's PipelineRun of this run's logical date, named `<upstream>-<unix minutes>` (the
 * CronJob's Job name the run creator gives each scheduled run, kubernetes
 * pkg/controller/cronjob/utils.go `getJobName`, `getTimeHashInMinutes`; backfill runs use the
 * same form, src/names.ts `backfillRunName`). It reads the run's `Succeeded` condition every
 * KFM_POLL_SECONDS: True succeeds, False fails (the run then stops before any job), a run that
 * does not exist yet (NotFound) or has not finished is looked at again, until
 * KFM_WAIT_TIMEOUT_SECONDS (empty: no limit) have passed; then it fails. Fixed text: data in env.
 */
export const UPSTREAM_WAIT_SCRIPT = `set -euo pipefail
export LC_ALL=C
if ! seconds=$(date --utc --date="$KFM_LOGICAL_DATE_PARAM" +%s); then
  echo "kfm-wait: cannot read the logical date '$KFM_LOGICAL_DATE_PARAM'" >&2
  exit 1
fi
run=$KFM_UPSTREAM_PIPELINE-$((seconds / 60))
poll=$KFM_POLL_SECONDS
deadline=
if [[ -n $KFM_WAIT_TIMEOUT_SECONDS ]]; then
  deadline=$(($(date +%s) + KFM_WAIT_TIMEOUT_SECONDS))
fi
echo "kfm-wait: waiting for PipelineRun $run (the run of $KFM_LOGICAL_DATE_PARAM) to succeed"
while true; do
  if out=$(kubectl get pipelinerun "$run" --namespace "$KFM_NAMESPACE" --output 'jsonpath={.status.conditions[?(@.type=="Succeeded")].status}' 2>&1); then
    case $out in
      True)
        echo "kfm-wait: PipelineRun $run succeeded"
        exit 0
        ;;
      False)
        echo "kfm-wait: PipelineRun $run failed: this run fails before any job" >&2
        exit 1
        ;;
    esac
    echo "kfm-wait: PipelineRun $run has not finished yet"
  elif [[ $out == *NotFound* ]]; then
    echo "kfm-wait: PipelineRun $run does not exist yet"
  else
    echo "$out" >&2
    exit 1
  fi
  now=$(date +%s)
  step=$poll
  if [[ -n $deadline ]]; then
    if ((now >= deadline)); then
      echo "kfm-wait: PipelineRun $run did not succeed within $KFM_WAIT_TIMEOUT_SECONDS s: this run fails before any job" >&2
      exit 1
    fi
    if ((deadline - now < step)); then
      step=$((deadline - now))
    fi
  fi
  sleep "$step"
done
`;

/** The PipelineRun `spec.status` of a run that waits in the queue (`PipelineRunSpecStatusPending`, pkg/apis/pipeline/v1/pipelinerun_types.go). */
export const PENDING_STATUS = "PipelineRunPending";
/** How long a starter holds the run-queue Lease at most (a starter that dies holding it blocks the others this long). */
export const LEASE_SECONDS = 60;
/** How long a starter tries to take the Lease (1 s apart) before it gives up and fails. */
export const LEASE_TRIES = 150;
/** The bound of the `kfm-start-runs` finally task: the Lease tries and a few API calls (README, Concurrency). */
export const STARTER_TASK_SECONDS = 300;

/**
 * The run starter of `max_active_runs` (README, "Concurrency"): every run is created with
 * `spec.status: PipelineRunPending`, which Tekton's reconciler leaves untouched (no TaskRun,
 * no `startTime`: pkg/reconciler/pipelinerun/pipelinerun.go `reconcile` and `ReconcileKind`).
 * Holding the workflow's coordination.k8s.io Lease (taken by create, or by an update carrying
 * the read `resourceVersion` once it is free or expired, so two starters never hold it at
 * once: the API server refuses a stale update with a Conflict), it lists the workflow's
 * PipelineRuns (by `spec.pipelineRef.name`: a pending run has no `tekton.dev/pipeline` label
 * yet, the reconciler adds it after the pending check), counts those started and not done
 * (not pending, no final `Succeeded` condition, not `KFM_OWN_RUN`: the run whose `finally`
 * task this is), and starts the oldest pending ones (logical date, then name) while fewer than
 * `KFM_MAX_ACTIVE_RUNS` are active, by removing `spec.status` with a JSON patch whose `test`
 * makes it a no-op on a run no longer pending. Then it releases the Lease. Fixed text: data
 * comes in env values.
 */
export const STARTER_SCRIPT = `set -euo pipefail
export LC_ALL=C
ns=$KFM_NAMESPACE
max=$KFM_MAX_ACTIVE_RUNS
if [[ ! $max =~ ^[1-9][0-9]*$ ]]; then
  echo "kfm-start-runs: the run limit '$max' is not a positive number" >&2
  exit 1
fi
me="\${HOSTNAME:-kfm-start-runs}-$$-$RANDOM"
lease() {
  jq --compact-output --arg me "$me" --arg now "$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)" \\
    '.spec.holderIdentity = $me | .spec.leaseDurationSeconds = ${LEASE_SECONDS} | .spec.acquireTime = $now | .spec.renewTime = $now'
}
taken=
for ((try = 0; try < ${LEASE_TRIES}; try++)); do
  if out=$(lease <<<"{\\"apiVersion\\":\\"coordination.k8s.io/v1\\",\\"kind\\":\\"Lease\\",\\"metadata\\":{\\"name\\":\\"$KFM_LEASE\\"}}" | kubectl create --namespace "$ns" --filename - 2>&1); then
    taken=1
    break
  fi
  if [[ $out != *AlreadyExists* && $out != *"already exists"* ]]; then
    echo "$out" >&2
    exit 1
  fi
  current=$(kubectl get lease "$KFM_LEASE" --namespace "$ns" --output json)
  if jq --exit-status '(.spec.holderIdentity // "") == "" or ((.spec.renewTime // "1970-01-01T00:00:00Z" | sub("[.][0-9]+"; "") | fromdateiso8601) + (.spec.leaseDurationSeconds // 0) < now)' <<<"$current" >/dev/null; then
    if lease <<<"$current" | kubectl replace --namespace "$ns" --filename - >/dev/null 2>&1; then
      taken=1
      break
    fi
  fi
  sleep 1
done
if [[ -z $taken ]]; then
  echo "kfm-start-runs: could not take Lease $KFM_LEASE: another starter holds it" >&2
  exit 1
fi
release() {
  local current
  current=$(kubectl get lease "$KFM_LEASE" --namespace "$ns" --output json) || return 0
  if jq --exit-status --arg me "$me" '.spec.holderIdentity == $me' <<<"$current" >/dev/null; then
    jq 'del(.spec.holderIdentity)' <<<"$current" | kubectl replace --namespace "$ns" --filename - >/dev/null || true
  fi
}
trap release EXIT
echo "kfm-start-runs: holding Lease $KFM_LEASE as $me"
names=$(kubectl get pipelineruns --namespace "$ns" --output json | jq --raw-output --arg pipeline "$KFM_PIPELINE" --arg own "$KFM_OWN_RUN" --argjson max "$max" '
  def epoch:
    if test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$") then
      ((.[0:19] + "Z") | fromdateiso8601) - (if .[19:] == "Z" then 0 else (if .[19:20] == "-" then -1 else 1 end) * ((.[20:22] | tonumber) * 3600 + (.[23:25] | tonumber) * 60) end)
    else -1e18 end;
  [.items[] | select(.spec.pipelineRef.name? == $pipeline and .metadata.name != $own and .metadata.deletionTimestamp == null)] as $runs
  | [$runs[] | select(.spec.status != "${PENDING_STATUS}" and ([.status.conditions[]? | select(.type == "Succeeded" and .status != "Unknown")] | length) == 0)] as $active
  | [$runs[] | select(.spec.status == "${PENDING_STATUS}")]
  | sort_by([([.spec.params[]? | select(.name == "${LOGICAL_DATE_PARAM}") | .value][0] // "" | epoch), .metadata.name])
  | .[0:([$max - ($active | length), 0] | max)][]
  | .metadata.name')
for run in $names; do
  if out=$(kubectl patch pipelinerun "$run" --namespace "$ns" --type json \\
    --patch '[{"op":"test","path":"/spec/status","value":"${PENDING_STATUS}"},{"op":"remove","path":"/spec/status"}]' 2>&1); then
    echo "kfm-start-runs: started PipelineRun $run"
  else
    echo "kfm-start-runs: PipelineRun $run was not started (no longer pending?): $out" >&2
  fi
done
[[ -n $names ]] || echo "kfm-start-runs: no run to start (at most $max active)"
`;

/** The creator script's line after which the daylight-saving guard goes (`creatorScript`). */
const DST_GUARD_AFTER = "local_time=${slot:0:19}\n";

/**
 * The creator's daylight-saving guard (README "Schedules"), for a schedule with a `dstGuard`
 * (src/cron.ts): the CronJob's robfig/cron fires a fold slot at both occurrences and a gap
 * slot never, so the schedule also holds the hour after each gap slot, and this keeps the
 * meaning's instants only, as Argo's `when` does (targets/argo/emit.ts `windowGuard`). It
 * reads the zone's wall clock an hour after and before the slot from KFM_TZ_RULE, the zone's
 * POSIX TZ rule (src/tzrule.ts), which glibc's `date` applies without a tz database (the
 * kubectl image has none). A fire in one of the cron's hours (KFM_SLOT_HOURS) is the first
 * occurrence of a fold when the clock an hour later reads the same hour: no run. A fire in
 * an added hour stands for a gap slot only when the clock an hour earlier read two hours
 * less (the hour between did not exist); its window is compared at the gap slot's wall time.
 */
const DST_GUARD_SCRIPT = `# Daylight saving: robfig/cron fires a repeated hour twice and a missing one never, so the schedule
# also holds the hour after the slot; the zone's clock an hour after and before a fire, read from its
# POSIX TZ rule (glibc's date needs no tz database for it), tells which fires are the slots.
hour=$((10#\${slot:11:2}))
seconds=$(date --date="$slot" +%s)
hour_at() { TZ=$KFM_TZ_RULE date --date="@$1" +%-H; }
if [[ " $KFM_SLOT_HOURS " == *" $hour "* ]]; then
  if (( $(hour_at $((seconds + 3600))) == hour )); then
    echo "kfm: slot $slot is the first occurrence of a repeated hour: the run starts at the second"
    exit 0
  fi
elif (( $(hour_at $((seconds - 3600))) == (hour + 22) % 24 )); then
  local_time=\${slot:0:11}$(printf %02d $((hour - 1)))\${slot:13:6}
  echo "kfm: $slot is the slot $local_time, which a daylight-saving gap skipped, an hour late"
else
  echo "kfm: $slot is in the hour after a daylight-saving gap slot, and the clocks did not change: no run"
  exit 0
fi
`;

/** The creator script of a CronJob, with the daylight-saving guard when the schedule has one (`DST_GUARD_SCRIPT`). */
export function creatorScript(dst: DstGuard | null): string {
  if (dst === null) return CREATOR_SCRIPT;
  if (!CREATOR_SCRIPT.includes(DST_GUARD_AFTER)) throw new Error("the creator script no longer sets local_time");
  return CREATOR_SCRIPT.replace(DST_GUARD_AFTER, DST_GUARD_AFTER + DST_GUARD_SCRIPT);
}

/**
 * The CronJob's schedule, daylight-saving guard and the zone's POSIX TZ rule for it: the
 * cron with the hour after each gap slot added (`dstGuard`, src/cron.ts), or the cron alone.
 */
export function cronJobSchedule(schedule: Pick<CronSchedule, "cron" | "timezone" | "start" | "end">): {
  cron: string;
  dst: DstGuard | null;
  tzRule: string | null;
} {
  const dst = dstGuard(parseCron(schedule.cron) as Cron, schedule.timezone, schedule);
  if (dst === null) return { cron: schedule.cron, dst, tzRule: null };
  const tz = posixTz(schedule.timezone);
  // check refuses (KFM220) a zone without a rule: lower.ts `daylightSavingProblem`.
  if ("problem" in tz) throw new Error(`${schedule.timezone}: ${tz.problem}`);
  return { cron: dst.cron, dst, tzRule: tz.rule };
}

/**
 * Kubernetes expands `$(VAR)` and turns `$$` into `$` in a container's command, args and
 * env values; doubling every `$` makes it yield the text unchanged. (A function replacer:
 * in a replacement string `$$` itself means one `$`.)
 */
export function k8sLiteral(text: string): string {
  return text.replace(/\$/g, () => "$$");
}

// The notification script, escaped once.
const NOTIFY_COMMAND = k8sLiteral(notifyScript(NOTIFY_PRELUDE));

/**
 * The notification script, written once per document under an anchor when a workflow has
 * several notifications (README, "File size"). Kubernetes readers (sigs.k8s.io/yaml, so
 * kubectl and Tekton's own decoding) expand aliases, so the objects are the same.
 */
const SCRIPT_ANCHORS: ReadonlyMap<string, string> = new Map([[NOTIFY_COMMAND, "kfm-notify"]]);

/** The Tekton reference to the `kfm-context` result holding `variable`. */
export function resultRef(variable: ContextVariable): string {
  return `$(tasks.${TEKTON_CONTEXT_TASK}.results.${variable})`;
}

/** The step-result reference to the attempt number written by `kfm-wait` (substituted by the entrypoint, `pkg/entrypoint/entrypointer.go` `replaceEnv`). */
export const ATTEMPT_REF = `$(steps.${TEKTON_STEPS.wait}.results.${TEKTON_ATTEMPT_RESULT})`;

/**
 * Variable roots Tekton substitutes as `$(root.…)` or `$(root[…])` in step fields, with no
 * escape (`pkg/substitution/replacements.go` is a plain string replacer; doubling `$` for
 * Kubernetes does not help, `$$(params.x)` still contains `$(params.x)`).
 */
export const TEKTON_VARIABLE_ROOTS = [
  "params",
  "context",
  "tasks",
  "results",
  "steps",
  "step",
  "workspaces",
  "credentials",
  "artifacts",
  "inputs",
  "outputs",
] as const;

/** Text Tekton would read as a variable reference. */
export const TEKTON_VARIABLE = new RegExp(`\\$\\((?:${TEKTON_VARIABLE_ROOTS.join("|")})[.[]`);

/** At `lastIndex`: a Kubernetes-escaped `$$` that Tekton would still read as the start of a variable reference. */
export const ESCAPED_VARIABLE_AT = new RegExp(`\\$\\$\\((?:${TEKTON_VARIABLE_ROOTS.join("|")})[.[]`, "y");

/** The text a job step writes for `$`: the param whose default is `$$` (README, Literal text). */
export const DOLLAR_REF = `$(params.${TEKTON_DOLLAR_PARAM})`;

/** In Kubernetes-escaped text, the `$$` that starts a Tekton variable reference. */
const ESCAPED_VARIABLE = new RegExp(`\\$\\$(?=\\((?:${TEKTON_VARIABLE_ROOTS.join("|")})[.[])`, "g");

/**
 * Literal text of a job step (README, Literal text): Kubernetes-escaped, and the `$` of
 * every Tekton variable reference written as `$(params.kfm-dollar)`. Tekton substitutes a
 * field's params in one pass (`pkg/substitution/replacements.go` `ApplyReplacements`, a
 * `strings.Replacer`), so the `$$` it puts there is not read again as a param reference;
 * the kubelet then turns `$$` into `$`. (Only `$$` pairs precede a `(` in escaped text, so
 * the match is always the pair that stands for the reference's own `$`.)
 */
export function jobLiteral(text: string): string {
  return k8sLiteral(text).replace(ESCAPED_VARIABLE, () => DOLLAR_REF);
}

/** A literal `$(params.<name>)` reference in the one form the job step can carry (README, Literal text). */
export const LITERAL_PARAM_REF = /\$\(params\.([_a-zA-Z][_a-zA-Z0-9-]*)\)/g;

/**
 * The task params a job step's literal text needs: after substitution the TaskRun validates
 * that every `$(params.<name>)` left in a step names a declared param
 * (`pkg/reconciler/taskrun/taskrun.go` `createPod`, `ValidateUsageOfDeclaredParameters`), so
 * each name a literal reference holds is declared, with the default "" (never substituted:
 * the pass that could has already run).
 */
export function literalParamNames(templates: readonly Template[]): string[] {
  const names = new Set<string>();
  for (const t of templates) {
    // Adjacent text segments are one text (as `renderTemplate` writes them); a runtime value ends a text.
    const text = t.map((seg) => ("text" in seg ? seg.text : "\n")).join("");
    for (const m of text.matchAll(LITERAL_PARAM_REF)) names.add(m[1]!);
  }
  names.delete(TEKTON_DOLLAR_PARAM);
  return [...names].sort(compareStrings);
}

/**
 * A template as a command/args/env string: literal text escaped (`literal`), runtime values as
 * `kfm-context` result references, the attempt as `attempt` (the `kfm-wait` step result, or
 * `1` for a job that has a single attempt and hence no wait step).
 */
export function renderTemplate(t: Template, attempt: string = ATTEMPT_REF, literal: (text: string) => string = k8sLiteral): string {
  // Adjacent text segments are escaped as one text: a reference split across two (`$`, then
  // `(params.x)`) is still one reference to Tekton.
  let out = "";
  let text = "";
  for (const s of t) {
    if ("text" in s) {
      text += s.text;
      continue;
    }
    out += literal(text) + (s.variable === "attempt" ? attempt : resultRef(s.variable));
    text = "";
  }
  return out + literal(text);
}

/** The attempt text of a job: its wait step's result, or `1` when it has one attempt. */
export function attemptText(job: Job): string {
  return job.retry.maxAttempts > 1 ? ATTEMPT_REF : "1";
}

/** Seconds as a Go duration (`metav1.Duration`): `1h30m`, `45s`; 0 is `0s`, which Tekton reads as "no timeout". */
export function goDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return (h > 0 ? `${h}h` : "") + (m > 0 ? `${m}m` : "") + (s > 0 ? `${s}s` : "");
}

/** A timeout that may be unbounded: null is written as Tekton's explicit "no timeout", `0s`. */
export function timeoutField(seconds: number | null): string {
  return seconds === null ? "0s" : goDuration(seconds);
}

/** A retry wait in seconds as plain decimal text (`5`, `7.5`), the form `sleep` reads. */
export function waitText(seconds: number): string {
  return String(seconds);
}

// ---- Tekton object shapes (only the fields this backend writes) ----

/**
 * A Tekton step: Kubernetes container fields plus Tekton's `computeResources`, `timeout`,
 * `onError` and step `results`; or a step that runs a StepAction (`ref`, with `params`),
 * which then takes none of the container fields (pkg/apis/pipeline/v1/container_validation.go).
 */
export type TektonStep = Partial<Pick<V1Container, "image" | "command" | "args" | "env" | "securityContext">> & {
  name: string;
  ref?: { name: string };
  params?: { name: string; value: string }[];
  computeResources?: V1ResourceRequirements;
  timeout?: string;
  onError?: "continue";
  results?: { name: string; type: "string" }[];
};

export interface TektonWhen {
  input: string;
  operator: "in";
  values: string[];
}

interface TektonParam {
  name: string;
  value: string | string[];
}

interface TektonTaskSpec {
  params?: { name: string; type: "string"; description?: string; default?: string }[];
  /** A result a StepAction's step writes is the task's through `value` (`$(steps.<step>.results.<name>)`). */
  results?: { name: string; type: "string"; description?: string; value?: string }[];
  steps: TektonStep[];
}

export interface TektonPipelineTask {
  name: string;
  displayName: string;
  description?: string;
  runAfter?: string[];
  when?: TektonWhen[];
  taskRef?: { apiVersion: string; kind: string };
  params?: TektonParam[];
  onError?: "continue";
  retries?: number;
  timeout?: string;
  taskSpec?: TektonTaskSpec;
}

export interface TektonPipeline {
  apiVersion: typeof TEKTON_API;
  kind: "Pipeline";
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: {
    displayName: string;
    description?: string;
    params: { name: string; type: "string" | "array"; description: string }[];
    tasks: TektonPipelineTask[];
    finally?: TektonPipelineTask[];
  };
}

/** `PipelineRun.spec.taskRunTemplate`: what every TaskRun of the run gets (deployment options only). */
export interface TektonTaskRunTemplate {
  serviceAccountName?: string;
  podTemplate?: { securityContext?: V1PodSecurityContext; imagePullSecrets?: { name: string }[] };
}

export interface TektonPipelineRun {
  apiVersion: typeof TEKTON_API;
  kind: "PipelineRun";
  metadata: { generateName?: string; name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    pipelineRef: { name: string };
    params: TektonParam[];
    status?: typeof PENDING_STATUS;
    timeouts: { pipeline: string; tasks?: string; finally?: string };
    taskRunTemplate?: TektonTaskRunTemplate;
    taskRunSpecs?: { pipelineTaskName: string; serviceAccountName: string }[];
  };
}

// ---- shared helper steps (StepActions) ----

/**
 * The helper steps every job, marker and run-status task would repeat are written once per
 * output folder as StepActions (README, "Shared helper steps"), and a step runs one by
 * `ref`. Tekton v1.15 serves StepAction as tekton.dev/v1beta1, its stored version
 * (config/300-crds/300-stepaction.yaml), and StepActions are stable: the
 * `enable-step-actions` flag is a no-op that defaults to "true"
 * (pkg/apis/config/feature_flags.go, config/config-feature-flags.yaml).
 *
 * How the TaskRun reconciler runs a `ref` step (pkg/reconciler/taskrun/taskrun.go calls
 * resources.GetStepActionsData; pkg/reconciler/taskrun/resources/taskspec.go
 * `resolveStepRef`): it fetches the StepAction from the TaskRun's namespace, substitutes the
 * step's `params` (apply.go `applyStepActionParameters`), and takes the StepAction's image,
 * command, env, results and securityContext for the step, keeping the step's name and
 * `onError`. Only then does it substitute the task's contexts, results and step exit-code
 * paths in every step (taskrun.go `applyParamsContextsResultsAndWorkspaces`), so the
 * StepActions' env may read `$(context.task.retry-count)` and
 * `$(steps.step-job.exitCode.path)` as the inline steps did. A StepAction writes step
 * results (`$(step.results.<name>.path)`); a task result it computes is the task's through
 * the result's `value` (docs/stepactions.md, "Fetching Emitted Results from StepActions").
 */
export const STEP_ACTION_API = "tekton.dev/v1beta1";
/** The folder file that holds the StepActions. */
export const STEP_ACTIONS_FILE = "kfm-step-actions.yaml";

export type Helper = "wait" | "status" | "failed" | "runStatus";

export interface TektonStepAction {
  apiVersion: typeof STEP_ACTION_API;
  kind: "StepAction";
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  spec: {
    description: string;
    image: string;
    command: string[];
    params?: { name: string; type: "string"; description: string }[];
    results?: { name: string; type: "string"; description: string }[];
    env?: V1EnvVar[];
    securityContext: V1SecurityContext;
  };
}

/** Params the helper StepActions take: what differs between the steps that run them. */
export const HELPER_PARAMS = { waits: "waits", retries: "retries", job: "job" } as const;

interface HelperDecl {
  readonly base: string;
  readonly description: string;
  readonly image: (o: TektonOptions) => string;
  readonly script: string;
  readonly params: readonly { name: string; description: string }[];
  readonly results: readonly { name: string; description: string }[];
  readonly env: readonly V1EnvVar[];
}

const HELPERS: Readonly<Record<Helper, HelperDecl>> = {
  wait: {
    base: TEKTON_STEPS.wait,
    description: "Waits the retry delay before attempt 2, 3, ... and writes the attempt number (kfm-compile).",
    image: (o) => o.shellImage ?? SHELL_IMAGE,
    script: WAIT_SCRIPT,
    params: [{ name: HELPER_PARAMS.waits, description: "The wait before each retry in seconds, space-separated." }],
    results: [{ name: TEKTON_ATTEMPT_RESULT, description: "The 1-based attempt number." }],
    env: [
      { name: ENV.retryCount, value: "$(context.task.retry-count)" },
      { name: ENV.retryWaits, value: `$(params.${HELPER_PARAMS.waits})` },
      { name: ENV.attemptPath, value: `$(step.results.${TEKTON_ATTEMPT_RESULT}.path)` },
    ],
  },
  status: {
    base: TEKTON_STEPS.status,
    description: "Turns the exit code of the step `job` into the result ok, or fails the attempt so that Tekton retries it (kfm-compile).",
    image: (o) => o.shellImage ?? SHELL_IMAGE,
    script: STATUS_SCRIPT,
    params: [{ name: HELPER_PARAMS.retries, description: "The job task's retries." }],
    results: [{ name: TEKTON_OK_RESULT, description: "true when the job succeeded, false when its last attempt failed." }],
    env: [
      { name: ENV.exitCodePath, value: `$(steps.step-${TEKTON_STEPS.job}.exitCode.path)` },
      { name: ENV.retryCount, value: "$(context.task.retry-count)" },
      { name: ENV.retries, value: `$(params.${HELPER_PARAMS.retries})` },
      { name: ENV.okPath, value: `$(step.results.${TEKTON_OK_RESULT}.path)` },
    ],
  },
  failed: {
    base: tektonFailedTaskName(0).replace(/-1$/, ""),
    description: "Fails: the Failed TaskRun of a job that failed after its last attempt (kfm-compile).",
    image: (o) => o.shellImage ?? SHELL_IMAGE,
    script: FAILED_SCRIPT,
    params: [{ name: HELPER_PARAMS.job, description: "The job's name in the spec." }],
    results: [],
    env: [{ name: ENV.jobSpecName, value: `$(params.${HELPER_PARAMS.job})` }],
  },
  runStatus: {
    base: TEKTON_RUN_STATUS_TASK,
    description: "Fails the run when a job failed (kfm-compile).",
    image: (o) => o.shellImage ?? SHELL_IMAGE,
    script: RUN_STATUS_SCRIPT,
    params: [],
    results: [],
    env: [],
  },
};

/**
 * A helper's StepAction. Its name is the helper's with a digest of everything it runs
 * (script, image, env, securityContext): projects compiled with other helper images or by
 * another kfm-compile version keep their own StepActions in a shared namespace, and a
 * workflow file and the folder file it was written with always agree.
 */
export function stepAction(helper: Helper, o: TektonOptions): TektonStepAction {
  const h = HELPERS[helper];
  const spec: TektonStepAction["spec"] = {
    description: h.description,
    image: h.image(o),
    command: ["sh", "-c", k8sLiteral(h.script)],
    ...(h.params.length > 0 ? { params: h.params.map((p) => ({ name: p.name, type: "string" as const, description: p.description })) } : {}),
    ...(h.results.length > 0 ? { results: h.results.map((r) => ({ name: r.name, type: "string" as const, description: r.description })) } : {}),
    ...(h.env.length > 0 ? { env: h.env.map((e) => ({ ...e })) } : {}),
    securityContext: restricted(),
  };
  const digest = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 8);
  return {
    apiVersion: STEP_ACTION_API,
    kind: "StepAction",
    metadata: { name: `${h.base}-${digest}`, ...(o.namespace === undefined ? {} : { namespace: o.namespace }), labels: sharedLabels() },
    spec,
  };
}

/** The names of the helpers' StepActions for a deployment, worked out once per file. */
export type HelperNames = Readonly<Record<Helper, string>>;
export function helperNames(o: TektonOptions): HelperNames {
  return {
    wait: stepAction("wait", o).metadata.name,
    status: stepAction("status", o).metadata.name,
    failed: stepAction("failed", o).metadata.name,
    runStatus: stepAction("runStatus", o).metadata.name,
  };
}

/** Whether a StepAction name is the helper's (its base and a digest): what lift can tell without the folder file. */
export function isHelperName(name: string | undefined, helper: Helper): boolean {
  return name !== undefined && new RegExp(`^${HELPERS[helper].base}-[0-9a-f]{8}$`).test(name);
}

/**
 * The labels of the shared objects: managed by kfm-compile, written by this target, and no
 * workflow label: they belong to the folder, so `kfm-compile apply --prune` of one workflow
 * never takes them.
 */
function sharedLabels(): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [TARGET_LABEL]: TARGET };
}

/** The folder file: every helper's StepAction, for the workflows of the folder to run by `ref`. */
export function stepActionsFile(o: TektonOptions, header: readonly string[]): string {
  const helpers: Helper[] = ["wait", "status", "failed", "runStatus"];
  return (
    hashComment([
      ...header,
      "The helper steps the Tekton files of this folder run by `ref`: apply this file with them",
      '(README, Tekton, "Shared helper steps").',
    ]) + toYamlStream(helpers.map((h) => stepAction(h, o)))
  );
}

/** A step that runs a helper's StepAction, with its params. */
function helperRef(name: string, helper: Helper, names: HelperNames, params: Record<string, string> = {}): TektonStep {
  const list = Object.entries(params).map(([n, value]) => ({ name: n, value }));
  return { name, ref: { name: names[helper] }, ...(list.length > 0 ? { params: list } : {}) };
}

// ---- emit ----

/** The objects to apply: the Pipeline and, for a cron schedule, the CronJob and (unless an option names one) its account. */
export function emit(ir: Workflow, o: TektonOptions = DEFAULT_OPTIONS): string {
  const docs: unknown[] = [buildPipeline(ir, o)];
  if (ir.schedule?.kind === "cron") {
    docs.push(buildCronJob(ir, ir.schedule, o));
    if (o.serviceAccount === undefined) docs.push(...creatorAccount(ir, o));
  }
  if (ir.maxActiveRuns !== null && o.starterServiceAccount === undefined) docs.push(...starterAccount(ir, o));
  if (ir.upstream.length > 0) docs.push(...waiterAccount(ir, o));
  if (ir.schedule?.kind === "event") docs.push(...triggerObjects(ir, ir.schedule, o));
  return hashComment(headerLines(ir, TARGET)) + toYamlStream(docs, { anchors: SCRIPT_ANCHORS });
}

/**
 * The manual run, a file for `kubectl create -f` (never applied: `generateName` gives each
 * run its own name, which `kubectl apply` refuses, kubernetes#88998): the PipelineRun with an
 * empty `logical-date` for the user to fill in.
 */
export function manualRun(ir: Workflow, o: TektonOptions = DEFAULT_OPTIONS): string {
  const metadata = { generateName: tektonRunGenerateName(ir.name), ...(o.namespace === undefined ? {} : { namespace: o.namespace }) };
  // The header says not to edit the file, so say how a run is started from it: `check`
  // would report an edited copy in place as changed by hand.
  const usage = [
    "To start a run: copy this file, write the run's logical date as logical-date's value",
    "(for example 2024-01-01T00:00:00Z), and kubectl create -f the copy. kfm-compile backfill",
    "writes such files for a range of dates.",
  ];
  const queue =
    ir.maxActiveRuns === null
      ? []
      : [
          `The run is created pending (max_active_runs: ${ir.maxActiveRuns}); the Job after it starts it`,
          "when fewer runs are active (README, Tekton, Concurrency).",
        ];
  const docs: unknown[] = [buildPipelineRun(ir, metadata, o), ...(ir.maxActiveRuns === null ? [] : [starterJob(ir, o)])];
  return hashComment([...headerLines(ir, TARGET), ...usage, ...queue]) + toYamlStream(docs);
}
/** The `kfm-context` variables any job of the workflow uses, in `CONTEXT_VARIABLES` order (`attempt` is not one). */
export function usedVariables(ir: Workflow): ContextVariable[] {
  const used = new Set<RuntimeVariable | StandardVariable>();
  const visit = (t: Template) => t.forEach((s) => "variable" in s && used.add(s.variable));
  for (const job of ir.jobs) {
    job.command?.forEach(visit);
    job.args?.forEach(visit);
    job.env.forEach((e) => "value" in e && visit(e.value));
  }
  ir.notifications.forEach((n) => visit(n.message));
  return CONTEXT_VARIABLES.filter((v) => used.has(v));
}

/**
 * Whether Tekton's own failure handling already has the spec's meaning. On a failure Tekton
 * creates no new task (`pkg/reconciler/pipelinerun/resources/pipelinerunstate.go` `IsStopping`,
 * `DAGExecutionQueue`; the task is skipped as `StoppingSkip`, `pipelinerunresolution.go` `skip`),
 * but the TaskRuns already created run to the end, retries included (nothing cancels them, and
 * the TaskRun reconciler retries by itself, `pkg/reconciler/taskrun/taskrun.go`
 * `finishReconcileUpdateEmitEvents` -> `retryTaskRun`). The reconciler creates every task whose
 * parents are done in the same pass (`pkg/reconciler/pipelinerun/pipelinerun.go`
 * `runNextSchedulableTask` over `DAGExecutionQueue`). So stopping is the meaning exactly when no
 * job runs after an upstream failure (`all_done`) and the jobs are `layered`: then a job neither
 * upstream nor downstream of the failed one had its parents done before the failed one was
 * created, so it was created no later and still ends as the meaning says, and every job not yet
 * created is downstream of the failed one. Otherwise the failure emulation is emitted (README
 * "Failure behaviour").
 */
export function emulatesFailure(ir: Workflow): boolean {
  if (ir.jobs.some((j) => j.runWhen === "all_done")) return true;
  return !layered(ir.jobs);
}

/**
 * Whether every job neither upstream nor downstream of a job X has all its parents upstream of
 * X (the condition of `emulatesFailure`, for every X). Applied both ways it says two such jobs
 * have the same upstream jobs, so the jobs fall into layers run one after the other: with a
 * job's level the longest chain of parents above it, every job of level k > 0 has every job of
 * level k - 1 as a direct parent (a chain of jobs is one job per layer; a diamond's branches
 * share a layer). One walk, for any number of jobs (`test/graph-walks.test.ts` checks it
 * against the pairwise definition).
 */
export function layered(jobs: readonly Pick<Job, "name" | "dependsOn">[]): boolean {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const level = new Map<string, number>();
  const levelOf = (name: string): number => {
    const known = level.get(name);
    if (known !== undefined) return known;
    // Iterative post-order: a 10,000-job chain must not overflow the stack.
    const stack = [name];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (level.has(top)) {
        stack.pop();
        continue;
      }
      const pending = byName.get(top)!.dependsOn.filter((d) => !level.has(d));
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      stack.pop();
      level.set(top, Math.max(-1, ...byName.get(top)!.dependsOn.map((d) => level.get(d)!)) + 1);
    }
    return level.get(name)!;
  };
  const size = new Map<number, number>();
  for (const j of jobs) {
    const l = levelOf(j.name);
    size.set(l, (size.get(l) ?? 0) + 1);
  }
  return jobs.every((j) => {
    const l = level.get(j.name)!;
    if (l === 0) return true;
    const above = new Set(j.dependsOn.filter((d) => level.get(d) === l - 1));
    return above.size === size.get(l - 1);
  });
}

/**
 * The tasks whose `ok` result an `all_succeeded` task's `when` requires under the failure
 * emulation: each task it runs after (`runAfterOf`: kfm-context for a root), except that an approval gate,
 * which writes no result, is replaced by the tasks that guard the gate itself. A gate that
 * ran and failed stops the run (its downstream never starts); a gate skipped by its `when`
 * does not skip its children (`WhenExpressionsSkip` is not inherited), so they read the same
 * guards and are skipped by them. Returns the guards of a job; each gate's are worked out once.
 */
/**
 * What a job's task runs after: its parents; a root, kfm-context. Every other job runs
 * after kfm-context through its parents (a chain of parents ends at a root), so kfm-context
 * is not repeated there: if it fails, the run stops before any job starts (Tekton skips
 * every task not yet started once a task fails, pipelinerunstate.go `IsStopping`), and under
 * the failure emulation its `ok` guards the roots, whose own `ok` guards their children.
 */
export function runAfterOf(job: Job, waits: readonly string[] = []): string[] {
  return job.dependsOn.length === 0 ? [TEKTON_CONTEXT_TASK, ...waits] : job.dependsOn.map(kubeName);
}

/** The upstream waits' task names (README "Cross-workflow dependencies"): every root job runs after them all. */
export function upstreamWaits(ir: Pick<Workflow, "upstream">): string[] {
  return ir.upstream.map((u) => tektonUpstreamWaitTask(u.workflow));
}

export function okGuards(jobs: readonly Job[]): (job: Job) => string[] {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const ofGate = new Map<string, string[]>();
  const guards = (job: Job): string[] => {
    const out = new Set<string>(job.dependsOn.length === 0 ? [TEKTON_CONTEXT_TASK] : []);
    for (const d of job.dependsOn) {
      const parent = byName.get(d)!;
      if (parent.approval === null) {
        out.add(kubeName(d));
        continue;
      }
      let names = ofGate.get(d);
      if (names === undefined) {
        names = guards(parent);
        ofGate.set(d, names);
      }
      for (const n of names) out.add(n);
    }
    return [...out];
  };
  return guards;
}

function buildPipeline(ir: Workflow, o: TektonOptions): TektonPipeline {
  const emulated = emulatesFailure(ir);
  const guards = okGuards(ir.jobs);
  const names = helperNames(o);
  const waits = upstreamWaits(ir);
  const finallyList = [
    ...(emulated ? [runStatusTask(names)] : []),
    ...ir.notifications.map((n, i) => notifyTask(ir, n, i, emulated, o)),
    ...(ir.maxActiveRuns === null ? [] : [starterTask(ir, ir.maxActiveRuns, o)]),
  ];
  return {
    apiVersion: TEKTON_API,
    kind: "Pipeline",
    metadata: objectMeta(ir, kubeName(ir.name), o),
    spec: {
      displayName: ir.name,
      ...(ir.description === null ? {} : { description: ir.description }),
      params: [
        {
          name: LOGICAL_DATE_PARAM,
          type: "string",
          description: "The run's logical date: YYYY-MM-DDTHH:MM:SSZ (UTC) or YYYY-MM-DDTHH:MM:SS+HH:MM.",
        },
        ...(hasGates(ir)
          ? [
              {
                name: TEKTON_APPROVERS_PARAM,
                type: "array" as const,
                description: "Who may approve or reject the approval gates: user names and group:<name> entries.",
              },
            ]
          : []),
      ],
      tasks: [
        contextTask(ir, emulated, o),
        ...ir.upstream.map((u) => upstreamWaitTask(u, o)),
        ...ir.jobs.map((j) => (j.approval === null ? jobTask(j, emulated, guards, o, names, waits) : gateTask(j, emulated, guards, waits))),
        ...(emulated ? failedMarkerTasks(ir, names) : []),
      ],
      ...(finallyList.length > 0 ? { finally: finallyList } : {}),
    },
  };
}

export function hasGates(ir: Workflow): boolean {
  return ir.jobs.some((j) => j.approval !== null);
}

/**
 * An approval gate: the manual-approval-gate custom task. Its controller creates an
 * `ApprovalTask` for the approvers; one approval succeeds the `CustomRun`, a rejection or the
 * pipeline task's `timeout` (copied to the CustomRun's `spec.timeout`) fails it. No `onError`:
 * a failed gate stops the run (check refuses the workflows where that would stop an
 * independent job).
 */
function gateTask(job: Job, emulated: boolean, guards: (job: Job) => string[], waits: readonly string[]): TektonPipelineTask {
  const runAfter = runAfterOf(job, waits);
  return {
    name: kubeName(job.name),
    displayName: job.name,
    ...(job.description === null ? {} : { description: job.description }),
    runAfter,
    ...(emulated ? { when: guards(job).map(okWhen) } : {}),
    taskRef: { ...APPROVAL_TASK_REF },
    params: [
      { name: APPROVAL_PARAMS.approvers, value: [`$(params.${TEKTON_APPROVERS_PARAM}[*])`] },
      { name: APPROVAL_PARAMS.required, value: APPROVALS_REQUIRED },
      { name: APPROVAL_PARAMS.description, value: job.description ?? job.name },
    ],
    retries: 0,
    // check refuses a gate without a timeout: the controller reads a missing one as 60 minutes.
    timeout: goDuration(job.approval!.timeoutSeconds ?? 0),
  };
}

function okWhen(task: string): TektonWhen {
  return { input: `$(tasks.${task}.results.${TEKTON_OK_RESULT})`, operator: "in", values: ["true"] };
}

/** A step of a helper the compiler adds: a fixed script in a helper image, restricted. */
function helperStep(name: string, image: string, command: string, env: V1EnvVar[]): TektonStep {
  return { name, image, command: ["sh", "-c", command], ...(env.length > 0 ? { env } : {}), securityContext: restricted() };
}

/** `kfm-failed-<n>` for each retried job (failure emulation): the job's failure as a Failed TaskRun. */
function failedMarkerTasks(ir: Workflow, names: HelperNames): TektonPipelineTask[] {
  const out: TektonPipelineTask[] = [];
  ir.jobs.forEach((job, index) => {
    if (job.approval !== null || job.retry.maxAttempts === 1) return;
    const name = tektonFailedTaskName(index);
    out.push({
      name,
      // Its script exits at once: Tekton's default retries (0) and TaskRun timeout (60 min) need no override.
      displayName: `${job.name} failed`,
      runAfter: [kubeName(job.name)],
      when: [{ input: `$(tasks.${kubeName(job.name)}.results.${TEKTON_OK_RESULT})`, operator: "in", values: ["false"] }],
      onError: "continue",
      taskSpec: { steps: [helperRef(name, "failed", names, { [HELPER_PARAMS.job]: k8sLiteral(job.name) })] },
    });
  });
  return out;
}

/** Params of a notification task: the jobs' statuses and the run (README "Failure notifications"). */
export const NOTIFY_PARAMS = { failed: "job-statuses", run: "run" } as const;

/**
 * The `<spec name>=$(tasks.<task>.status)` words of a notification: every job's task, and
 * under the failure emulation the `kfm-failed-<n>` marker of each retried job too, since
 * such a job's last failed attempt leaves its own TaskRun Succeeded with `ok` = `false`.
 */
export function jobStatuses(ir: Workflow, emulated: boolean): string {
  const words: string[] = [];
  ir.jobs.forEach((job, index) => {
    words.push(`${job.name}=$(tasks.${kubeName(job.name)}.status)`);
    if (emulated && job.approval === null && job.retry.maxAttempts > 1) words.push(`${job.name}=$(tasks.${tektonFailedTaskName(index)}.status)`);
  });
  return words.join(" ");
}

/**
 * The run: a link into the Tekton Dashboard (`<base>/#/namespaces/<namespace>/pipelineruns/<name>`)
 * when its URL is given, else the PipelineRun's namespace and name.
 */
export function runParam(dashboardUrl: string | null): string {
  const ns = "$(context.pipelineRun.namespace)";
  const name = "$(context.pipelineRun.name)";
  return dashboardUrl === null ? `PipelineRun ${ns}/${name}` : `${dashboardUrl.replace(/\/+$/, "")}/#/namespaces/${ns}/pipelineruns/${name}`;
}

/** A failure notification: a `finally` task that runs only when `$(tasks.status)` is `Failed`, bounded by its `timeout`. */
function notifyTask(ir: Workflow, n: Notification, index: number, emulated: boolean, o: TektonOptions): TektonPipelineTask {
  const name = tektonNotifyTaskName(index);
  const env: V1EnvVar[] = notifyInputs(
    n,
    ir.name,
    (t) => renderTemplate(t, "1"),
    k8sLiteral,
    `$(params.${NOTIFY_PARAMS.failed})`,
    `$(params.${NOTIFY_PARAMS.run})`,
  ).map((v) => ("value" in v ? { name: v.name, value: v.value } : { name: v.name, valueFrom: { secretKeyRef: { name: v.secret.secret, key: v.secret.key } } }));
  return {
    name,
    displayName: name,
    description: `Sends failure notification ${index + 1} (${n.kind}) when the run failed (kfm-compile).`,
    when: [{ ...RUN_FAILED_WHEN, values: [...RUN_FAILED_WHEN.values] }],
    params: [
      { name: NOTIFY_PARAMS.failed, value: jobStatuses(ir, emulated) },
      { name: NOTIFY_PARAMS.run, value: runParam(o.dashboardUrl ?? null) },
    ],
    retries: 0,
    timeout: goDuration(NOTIFY_TASK_SECONDS),
    taskSpec: {
      params: [
        { name: NOTIFY_PARAMS.failed, type: "string" },
        { name: NOTIFY_PARAMS.run, type: "string" },
      ],
      steps: [helperStep(name, o.curlImage ?? NOTIFY_CURL_IMAGE, NOTIFY_COMMAND, env)],
    },
  };
}

/** `kfm-run-status` (failure emulation): fails the run when a job failed, and is skipped otherwise. */
function runStatusTask(names: HelperNames): TektonPipelineTask {
  return {
    name: TEKTON_RUN_STATUS_TASK,
    displayName: TEKTON_RUN_STATUS_TASK,
    description: "Fails the run when a job failed (kfm-compile).",
    when: [{ ...RUN_FAILED_WHEN, values: [...RUN_FAILED_WHEN.values] }],
    retries: 0,
    timeout: timeoutField(null),
    taskSpec: { steps: [helperRef(TEKTON_RUN_STATUS_TASK, "runStatus", names)] },
  };
}

/**
 * `kfm-context`. Under the failure emulation it also writes `ok` = `true`, so that "runs only
 * when every parent succeeded" is the same `when` for every job, roots included, and a job
 * without it runs whatever its parents did (`on_upstream_failure: continue`).
 */
function contextTask(ir: Workflow, emulated: boolean, o: TektonOptions): TektonPipelineTask {
  const variables = usedVariables(ir);
  const period = ir.schedule?.kind === "cron" && ir.schedule.periodSeconds !== null ? String(ir.schedule.periodSeconds) : "";
  const env: V1EnvVar[] = [
    { name: ENV.logicalDateParam, value: `$(params.${LOGICAL_DATE_PARAM})` },
    { name: ENV.periodSeconds, value: period },
    { name: ENV.runTokenSeed, value: k8sLiteral(ir.runTokenSeed) },
    ...variables.map((v): V1EnvVar => ({ name: resultPathEnv(v), value: `$(results.${v}.path)` })),
    ...(emulated ? [{ name: ENV.okPath, value: `$(results.${TEKTON_OK_RESULT}.path)` }] : []),
  ];
  return {
    name: TEKTON_CONTEXT_TASK,
    displayName: TEKTON_CONTEXT_TASK,
    description: "Computes the run's time values from its logical date (kfm-compile).",
    params: [{ name: LOGICAL_DATE_PARAM, value: `$(params.${LOGICAL_DATE_PARAM})` }],
    retries: 0,
    timeout: timeoutField(null),
    taskSpec: {
      params: [{ name: LOGICAL_DATE_PARAM, type: "string" }],
      results: [...variables, ...(emulated ? [TEKTON_OK_RESULT] : [])].map((v) => ({ name: v, type: "string" as const })),
      steps: [helperStep(TEKTON_STEPS.context, o.shellImage ?? SHELL_IMAGE, k8sLiteral(CONTEXT_SCRIPT), env)],
    },
  };
}

/**
 * `kfm-wait-<upstream>` (README "Cross-workflow dependencies"): after kfm-context (the logical
 * date is valid), before every root job; `UPSTREAM_WAIT_SCRIPT` in the kubectl image, under the waiter
 * account (`taskRunSpecs`, `buildPipelineRun`). No TaskRun timeout (Tekton's default is 60 min):
 * the script ends at the dependency's timeout.
 */
function upstreamWaitTask(u: UpstreamWorkflow, o: TektonOptions): TektonPipelineTask {
  const name = tektonUpstreamWaitTask(u.workflow);
  const env: V1EnvVar[] = [
    { name: ENV.namespace, value: "$(context.pipelineRun.namespace)" },
    { name: ENV.upstreamPipeline, value: kubeName(u.workflow) },
    { name: ENV.logicalDateParam, value: `$(params.${LOGICAL_DATE_PARAM})` },
    { name: ENV.waitTimeoutSeconds, value: u.timeoutSeconds === null ? "" : String(u.timeoutSeconds) },
    { name: ENV.pollSeconds, value: String(UPSTREAM_POLL_SECONDS) },
  ];
  return {
    name,
    displayName: u.workflow,
    description: `Waits until the run of ${u.workflow} for the same logical date has succeeded (kfm-compile).`,
    runAfter: [TEKTON_CONTEXT_TASK],
    params: [{ name: LOGICAL_DATE_PARAM, value: `$(params.${LOGICAL_DATE_PARAM})` }],
    retries: 0,
    timeout: timeoutField(null),
    taskSpec: {
      params: [{ name: LOGICAL_DATE_PARAM, type: "string" }],
      steps: [
        {
          ...helperStep(name, o.kubectlImage ?? KUBECTL_IMAGE, k8sLiteral(UPSTREAM_WAIT_SCRIPT), env),
          command: ["/bin/bash", "-c", k8sLiteral(UPSTREAM_WAIT_SCRIPT)],
        },
      ],
    },
  };
}

function jobTask(
  job: Job,
  emulated: boolean,
  guards: (job: Job) => string[],
  o: TektonOptions,
  names: HelperNames,
  upstream: readonly string[],
): TektonPipelineTask {
  const steps: TektonStep[] = [];
  const retries = job.retry.maxAttempts - 1;
  const waits = retryWaits(job.retry);
  if (waits.length > 0) steps.push(helperRef(TEKTON_STEPS.wait, "wait", names, { [HELPER_PARAMS.waits]: waits.map(waitText).join(" ") }));
  const main = jobStep(job, o);
  steps.push(main);
  // Literal text with a Tekton variable reference takes its `$` from this param (README, Literal text).
  const dollar = [...(main.command ?? []), ...(main.args ?? []), ...(main.env ?? []).map((e) => e.value ?? "")].some((t) => t.includes(DOLLAR_REF));
  const params = dollar
    ? [
        { name: TEKTON_DOLLAR_PARAM, type: "string" as const, default: "$$" },
        ...literalParamNames([...(job.command ?? []), ...(job.args ?? []), ...job.env.flatMap((e) => ("value" in e ? [e.value] : []))]).map((name) => ({
          name,
          type: "string" as const,
          default: "",
        })),
      ]
    : undefined;
  const task: TektonPipelineTask = {
    name: kubeName(job.name),
    displayName: job.name,
    ...(job.description === null ? {} : { description: job.description }),
    runAfter: runAfterOf(job, upstream),
    retries,
    // The TaskRun's own timeout would count the retry wait and default to 60 min: no limit
    // here, the attempt is bounded on the job step below.
    timeout: timeoutField(null),
    taskSpec: { ...(params === undefined ? {} : { params }), steps },
  };
  if (!emulated) return task;

  // Failure emulation (README "Failure behaviour").
  if (job.runWhen === "all_succeeded") task.when = guards(job).map(okWhen);
  if (retries === 0) task.onError = "continue";
  else main.onError = "continue";
  // kfm-status writes its step result ok; the task's result is that value.
  task.taskSpec!.results = [{ name: TEKTON_OK_RESULT, type: "string", value: `$(steps.${TEKTON_STEPS.status}.results.${TEKTON_OK_RESULT})` }];
  steps.push(helperRef(TEKTON_STEPS.status, "status", names, { [HELPER_PARAMS.retries]: String(retries) }));
  // `onError` and `retries` are a pair Tekton rejects (pipeline_validation.go `ValidateOnError`).
  const ordered: TektonPipelineTask = {
    name: task.name,
    displayName: task.displayName,
    ...(task.description === undefined ? {} : { description: task.description }),
    runAfter: task.runAfter,
    ...(task.when === undefined ? {} : { when: task.when }),
    ...(task.onError === undefined ? {} : { onError: task.onError }),
    retries: task.retries,
    timeout: task.timeout,
    taskSpec: { ...(params === undefined ? {} : { params }), results: task.taskSpec!.results, steps },
  };
  return ordered;
}

function jobStep(job: Job, o: TektonOptions): TektonStep {
  const step: TektonStep = { name: TEKTON_STEPS.job, image: job.image };
  const attempt = attemptText(job);
  const render = (t: Template) => renderTemplate(t, attempt, jobLiteral);
  if (job.command !== null) step.command = job.command.map(render);
  if (job.args !== null) step.args = job.args.map(render);
  step.env = job.env.map((e): V1EnvVar =>
    "value" in e ? { name: e.name, value: render(e.value) } : { name: e.name, valueFrom: { secretKeyRef: { name: e.secretRef.secret, key: e.secretRef.key } } },
  );
  const quantities: Record<string, string> = {};
  if (job.resources.cpu !== null) quantities.cpu = job.resources.cpu;
  if (job.resources.memory !== null) quantities.memory = job.resources.memory;
  if (Object.keys(quantities).length > 0) step.computeResources = { requests: { ...quantities }, limits: { ...quantities } };
  if (o.jobSecurityContext !== undefined) step.securityContext = structuredClone(o.jobSecurityContext) as V1SecurityContext;
  step.timeout = timeoutField(job.timeoutSeconds);
  return step;
}

/** What every TaskRun of a run gets from the deployment options (none by default). */
function taskRunTemplate(o: TektonOptions): TektonTaskRunTemplate | null {
  const podTemplate: NonNullable<TektonTaskRunTemplate["podTemplate"]> = {};
  if (o.podSecurityContext !== undefined) podTemplate.securityContext = structuredClone(o.podSecurityContext) as V1PodSecurityContext;
  if (o.imagePullSecrets.length > 0) podTemplate.imagePullSecrets = o.imagePullSecrets.map((name) => ({ name }));
  const t: TektonTaskRunTemplate = {};
  if (o.taskServiceAccount !== undefined) t.serviceAccountName = o.taskServiceAccount;
  if (Object.keys(podTemplate).length > 0) t.podTemplate = podTemplate;
  return Object.keys(t).length > 0 ? t : null;
}

/**
 * The run's timeouts. With failure notifications the workflow timeout T is `timeouts.tasks`,
 * not `timeouts.pipeline`: when `timeouts.pipeline` fires Tekton skips every finally task
 * (PipelineTimedOutSkip), but when `timeouts.tasks` fires it times out the running TaskRuns
 * and CustomRuns, skips the tasks not started (TasksTimedOutSkip) and still runs `finally`,
 * then marks the run Failed (reason PipelineRunTimeout) (tektoncd/pipeline
 * pkg/reconciler/pipelinerun/pipelinerun.go `HaveTasksTimedOut`, resources/pipelinerunstate.go
 * `GetPipelineConditionStatus`, resources/pipelinerunresolution.go `skip`). `finally` gets
 * the notification task's own bound, and `pipeline` is the sum, as Tekton's validation
 * requires (pkg/apis/pipeline/v1/pipelinerun_validation.go). README, "Timeouts".
 */
export function runTimeouts(ir: Workflow): TektonPipelineRun["spec"]["timeouts"] {
  if (ir.timeoutSeconds === null || !splitTimeouts(ir)) return { pipeline: timeoutField(ir.timeoutSeconds) };
  return {
    pipeline: goDuration(ir.timeoutSeconds + NOTIFY_TASK_SECONDS),
    tasks: goDuration(ir.timeoutSeconds),
    finally: goDuration(NOTIFY_TASK_SECONDS),
  };
}

/**
 * Whether a workflow timeout is written as `timeouts.tasks` (then `finally` and `pipeline`):
 * when a `finally` task must still run once it fires, the notifications and the run starter
 * of `max_active_runs` (a run whose `timeouts.pipeline` fired runs no `finally` task, so its
 * queue would wait for the next creator).
 */
export function splitTimeouts(ir: Workflow): boolean {
  return ir.notifications.length > 0 || ir.maxActiveRuns !== null;
}

export function buildPipelineRun(ir: Workflow, metadata: TektonPipelineRun["metadata"], o: TektonOptions = DEFAULT_OPTIONS): TektonPipelineRun {
  const template = taskRunTemplate(o);
  const queued = ir.maxActiveRuns !== null;
  return {
    apiVersion: TEKTON_API,
    kind: "PipelineRun",
    metadata,
    spec: {
      pipelineRef: { name: kubeName(ir.name) },
      params: [{ name: LOGICAL_DATE_PARAM, value: "" }, ...(hasGates(ir) ? [{ name: TEKTON_APPROVERS_PARAM, value: [...o.approvers] }] : [])],
      // max_active_runs: the run waits in the queue until a starter clears this (README, Concurrency).
      ...(queued ? { status: PENDING_STATUS } : {}),
      timeouts: runTimeouts(ir),
      ...(template === null ? {} : { taskRunTemplate: template }),
      // The starter's TaskRun runs as the starter's account, every other one as the template's
      // (`PipelineRun.GetTaskRunSpec`, pkg/apis/pipeline/v1/pipelinerun_types.go; a finally
      // task may be named, pkg/reconciler/pipelinerun/resources/pipelinerunresolution.go `ValidateTaskRunSpecs`).
      // The upstream waits run as the waiter account, allowed only to get PipelineRuns.
      ...(queued || ir.upstream.length > 0
        ? {
            taskRunSpecs: [
              ...upstreamWaits(ir).map((pipelineTaskName) => ({ pipelineTaskName, serviceAccountName: tektonWaiterAccount(ir.name) })),
              ...(queued ? [{ pipelineTaskName: TEKTON_START_RUNS_TASK, serviceAccountName: starterServiceAccount(ir, o) }] : []),
            ],
          }
        : {}),
    },
  };
}

/** The API of Tekton Triggers' objects. */
export const TRIGGERS_API = "triggers.tekton.dev/v1beta1";
/** The ClusterRole Tekton Triggers installs for an EventListener's namespaced reads and the runs it creates (config/200-clusterrole.yaml). */
export const LISTENER_CLUSTER_ROLE = "tekton-triggers-eventlistener-roles";
/** The CEL interceptor's extension holding the run's logical date. */
export const LOGICAL_DATE_EXTENSION = "logical_date";

/** A CEL string literal (single quotes; CEL's backslash escapes, cel-spec syntax "String and Bytes Literals"). */
export function celString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** The CEL filter that passes a new object's S3 event record in the bucket under the prefix. */
export function eventFilter(e: EventSchedule): string {
  const r = "body.Records[0]";
  return [
    `${r}.eventName.matches(${celString(OBJECT_CREATED_PATTERN)})`,
    `${r}.s3.bucket.name.matches(${celString(bucketPattern(e))})`,
    `${r}.s3.object.key.matches(${celString(keyPattern(e))})`,
  ].join(" && ");
}

/**
 * The record's eventTime as the Pipeline's logical-date form: CEL's `timestamp()` parses it
 * (RFC 3339, with S3's milliseconds), `int()` drops the fraction (whole seconds since the
 * epoch), and `string()` of a timestamp writes RFC 3339 in UTC, `Z` and no fraction for a
 * whole second (cel-go common/types/timestamp.go ConvertToType: time.RFC3339Nano in UTC).
 */
export const LOGICAL_DATE_EXPRESSION = "string(timestamp(int(timestamp(body.Records[0].eventTime))))";

/**
 * Tekton Triggers' objects for an event trigger (README "Event triggers"): the
 * EventListener's account, bound to Triggers' own EventListener ClusterRole in the
 * namespace; a TriggerBinding and a TriggerTemplate creating the manual PipelineRun with
 * the logical date from the interceptor; and the EventListener whose CEL interceptor passes
 * a new object's record in the bucket under the prefix and writes its time.
 */
export function triggerObjects(ir: Workflow, e: EventSchedule, o: TektonOptions = DEFAULT_OPTIONS): unknown[] {
  const name = kubeName(ir.name);
  const account = tektonListenerAccount(ir.name);
  const namespace = o.namespace === undefined ? {} : { namespace: o.namespace };
  const meta = (n: string) => ({ name: n, ...namespace, labels: workflowLabels(ir) });
  const run = buildPipelineRun(ir, { generateName: tektonRunGenerateName(ir.name), ...namespace }, o);
  run.spec.params = run.spec.params.map((p) => (p.name === LOGICAL_DATE_PARAM ? { name: p.name, value: `$(tt.params.${LOGICAL_DATE_PARAM})` } : p));
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(account) },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(account),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: LISTENER_CLUSTER_ROLE },
      subjects: [{ kind: "ServiceAccount", name: account, ...namespace }],
    },
    {
      apiVersion: TRIGGERS_API,
      kind: "TriggerBinding",
      metadata: meta(name),
      spec: { params: [{ name: LOGICAL_DATE_PARAM, value: `$(extensions.${LOGICAL_DATE_EXTENSION})` }] },
    },
    {
      apiVersion: TRIGGERS_API,
      kind: "TriggerTemplate",
      metadata: meta(name),
      spec: {
        params: [{ name: LOGICAL_DATE_PARAM, description: "The run's logical date: the S3 event's time, YYYY-MM-DDTHH:MM:SSZ." }],
        resourcetemplates: [run],
      },
    },
    {
      apiVersion: TRIGGERS_API,
      kind: "EventListener",
      metadata: meta(name),
      spec: {
        serviceAccountName: account,
        triggers: [
          {
            name: TEKTON_EVENT_TRIGGER,
            interceptors: [
              {
                ref: { name: "cel", kind: "ClusterInterceptor" },
                params: [
                  { name: "filter", value: eventFilter(e) },
                  { name: "overlays", value: [{ key: LOGICAL_DATE_EXTENSION, expression: LOGICAL_DATE_EXPRESSION }] },
                ],
              },
            ],
            // Written out: Validate refuses a binding without its kind (pkg/apis/triggers/v1beta1/event_listener_validation.go),
            // which only the webhook's defaulting fills in (event_listener_defaults.go).
            bindings: [{ ref: name, kind: "TriggerBinding" }],
            template: { ref: name },
          },
        ],
      },
    },
  ];
}

/** An object's metadata: its name, the namespace option, the workflow's labels. */
function objectMeta(ir: Workflow, name: string, o: TektonOptions): { name: string; namespace?: string; labels: Record<string, string> } {
  return { name, ...(o.namespace === undefined ? {} : { namespace: o.namespace }), labels: workflowLabels(ir) };
}

/** The ServiceAccount the CronJob's creator runs as. */
export function creatorServiceAccount(ir: Workflow, o: TektonOptions): string {
  return o.serviceAccount ?? tektonCreatorAccount(ir.name);
}

/**
 * What the creator's script does on the API server, and nothing more: `kubectl get job` of
 * its own Job (the slot annotation) and `kubectl create` of the PipelineRun.
 */
export const CREATOR_RULES = [
  { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["create"] },
  { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get"] },
] as const;

/**
 * What the run starter does on the API server (README, Concurrency): list the PipelineRuns and
 * read and patch the pending ones it starts; create the run-queue Lease, and read and update only that
 * one (a `create` cannot be limited by name: the authorizer sees no name on a create,
 * kubernetes.io/docs/reference/access-authn-authz/rbac "Referring to resources").
 */
export function starterRules(ir: Pick<Workflow, "name">): { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[] {
  return [
    // `kubectl patch` reads the object before it patches it (get).
    { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["get", "list", "patch"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [tektonRunQueueLease(ir.name)], verbs: ["get", "update"] },
  ];
}

/** The creator's rules: its own, and with `max_active_runs` the starter's, which runs in the same pod. */
export function creatorRules(
  ir: Pick<Workflow, "name" | "maxActiveRuns">,
): { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[] {
  return [
    ...CREATOR_RULES.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })),
    ...(ir.maxActiveRuns === null ? [] : starterRules(ir)),
  ];
}

/** The generated account of the creator: a ServiceAccount, a Role with `creatorRules`, and the RoleBinding between them (targets/kubernetes.ts). */
function creatorAccount(ir: Workflow, o: TektonOptions): [V1ServiceAccount, V1Role, V1RoleBinding] {
  // The creator reads its Job through the API, never a Secret or a mounted file of its own.
  return accountObjects(tektonCreatorAccount(ir.name), o.namespace ?? null, workflowLabels(ir), creatorRules(ir));
}

/** The ServiceAccount the run starter's TaskRun and Job run as. */
export function starterServiceAccount(ir: Workflow, o: TektonOptions): string {
  return o.starterServiceAccount ?? tektonStarterAccount(ir.name);
}

/** The generated account of the run starter (`starterRules`); the user's pods get no right on PipelineRuns. */
function starterAccount(ir: Workflow, o: TektonOptions): [V1ServiceAccount, V1Role, V1RoleBinding] {
  return accountObjects(tektonStarterAccount(ir.name), o.namespace ?? null, workflowLabels(ir), starterRules(ir));
}

/** What the upstream waits do on the API server: `kubectl get pipelinerun <name>`, nothing more. */
export const WAITER_RULES = [{ apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["get"] }] as const;

/** The generated account of the upstream waits (`WAITER_RULES`); the user's pods get no right on PipelineRuns. */
function waiterAccount(ir: Workflow, o: TektonOptions): [V1ServiceAccount, V1Role, V1RoleBinding] {
  const rules = WAITER_RULES.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] }));
  return accountObjects(tektonWaiterAccount(ir.name), o.namespace ?? null, workflowLabels(ir), rules);
}

/** The starter's env: the namespace, the Pipeline, the limit, the run it ends (empty: none), the Lease. */
function starterEnv(ir: Workflow, max: number, namespace: V1EnvVar, ownRun: V1EnvVar): V1EnvVar[] {
  return [
    namespace,
    { name: ENV.pipeline, value: kubeName(ir.name) },
    { name: ENV.maxActiveRuns, value: String(max) },
    ownRun,
    { name: ENV.lease, value: tektonRunQueueLease(ir.name) },
  ];
}

/** The starter as a container of a pod (the creator's, the runs folder's Job): no own run. */
function starterContainer(ir: Workflow, max: number, o: TektonOptions): V1Container {
  return {
    name: TEKTON_START_RUNS_TASK,
    image: o.kubectlImage ?? KUBECTL_IMAGE,
    command: ["/bin/bash", "-c", k8sLiteral(STARTER_SCRIPT)],
    env: starterEnv(ir, max, { name: ENV.namespace, valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }, { name: ENV.ownRun }),
    securityContext: restricted(),
  };
}

/**
 * The `finally` task that starts the next queued runs when this one ends (its jobs are done).
 * No `when`: it runs whatever the jobs did. Its step's `onError: continue` keeps a starter
 * that failed (a Lease held too long) from failing a run whose jobs succeeded; the next
 * starter starts the runs it left.
 */
function starterTask(ir: Workflow, max: number, o: TektonOptions): TektonPipelineTask {
  const env = starterEnv(
    ir,
    max,
    { name: ENV.namespace, value: "$(context.pipelineRun.namespace)" },
    { name: ENV.ownRun, value: "$(context.pipelineRun.name)" },
  );
  return {
    name: TEKTON_START_RUNS_TASK,
    displayName: TEKTON_START_RUNS_TASK,
    description: `Starts the oldest pending runs of this workflow while fewer than ${max} are active (kfm-compile).`,
    retries: 0,
    timeout: goDuration(STARTER_TASK_SECONDS),
    taskSpec: {
      steps: [
        {
          ...helperStep(TEKTON_START_RUNS_TASK, o.kubectlImage ?? KUBECTL_IMAGE, k8sLiteral(STARTER_SCRIPT), env),
          command: ["/bin/bash", "-c", k8sLiteral(STARTER_SCRIPT)],
          onError: "continue",
        },
      ],
    },
  };
}

/** Seconds a finished starter Job (of the runs folder's files) is kept before Kubernetes deletes it (`ttlSecondsAfterFinished`). */
export const STARTER_JOB_TTL_SECONDS = 86400;

/** The starter Job of the runs folder's files (manual run, backfill): starts the runs they create when the queue has room. */
export function starterJob(ir: Workflow, o: TektonOptions): V1Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { generateName: tektonStarterGenerateName(ir.name), ...(o.namespace === undefined ? {} : { namespace: o.namespace }) },
    spec: {
      backoffLimit: CREATOR_BACKOFF_LIMIT,
      ttlSecondsAfterFinished: STARTER_JOB_TTL_SECONDS,
      template: {
        spec: {
          serviceAccountName: starterServiceAccount(ir, o),
          restartPolicy: "Never",
          ...(o.imagePullSecrets.length > 0 ? { imagePullSecrets: o.imagePullSecrets.map((name) => ({ name })) } : {}),
          containers: [starterContainer(ir, ir.maxActiveRuns!, o)],
        },
      },
    },
  };
}

function buildCronJob(ir: Workflow, schedule: CronSchedule, o: TektonOptions): V1CronJob {
  const run = buildPipelineRun(ir, {}, o);
  const env: V1EnvVar[] = [
    { name: ENV.jobName, valueFrom: { fieldRef: { fieldPath: `metadata.labels['${JOB_NAME_LABEL}']` } } },
    { name: ENV.namespace, valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    // No bound: the variable without a value, which the container sees as empty. The API
    // server drops an empty `value` (omitempty), so writing `value: ""` would make every
    // client-side apply report the CronJob configured.
    schedule.start === null ? { name: ENV.windowStart } : { name: ENV.windowStart, value: k8sLiteral(schedule.start) },
    schedule.end === null ? { name: ENV.windowEnd } : { name: ENV.windowEnd, value: k8sLiteral(schedule.end) },
    { name: ENV.pipelineRun, value: k8sLiteral(JSON.stringify(run)) },
  ];
  const { cron, dst, tzRule } = cronJobSchedule(schedule);
  if (dst !== null && tzRule !== null) {
    // Data of the daylight-saving guard (creatorScript).
    env.push({ name: ENV.tzRule, value: k8sLiteral(tzRule) }, { name: ENV.slotHours, value: dst.hours.join(" ") });
  }
  const creator: V1Container = {
    name: TEKTON_CREATOR_CONTAINER,
    image: o.kubectlImage ?? KUBECTL_IMAGE,
    command: ["/bin/bash", "-c", k8sLiteral(creatorScript(dst))],
    env,
    securityContext: restricted(),
  };
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: objectMeta(ir, kubeName(ir.name), o),
    spec: {
      schedule: cron,
      timeZone: schedule.timezone,
      concurrencyPolicy: "Allow",
      startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        spec: {
          backoffLimit: CREATOR_BACKOFF_LIMIT,
          template: {
            spec: {
              serviceAccountName: creatorServiceAccount(ir, o),
              restartPolicy: "Never",
              ...(o.imagePullSecrets.length > 0 ? { imagePullSecrets: o.imagePullSecrets.map((name) => ({ name })) } : {}),
              // max_active_runs: the creator creates its run pending, then the starter runs (README, Concurrency).
              ...(ir.maxActiveRuns === null
                ? { containers: [creator] }
                : { initContainers: [creator], containers: [starterContainer(ir, ir.maxActiveRuns, o)] }),
            },
          },
        },
      },
    },
  };
}
