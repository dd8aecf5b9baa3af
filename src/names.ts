/**
 * Every generated name comes from here, so a spec name maps to the same target name
 * in every backend and in every file that refers to it (semantics, rule 3).
 */

/** A Kubernetes object or Argo/Tekton task name: DNS-1123 label, `_` read as `-`. */
export function kubeName(specName: string): string {
  return specName.replace(/_/g, "-");
}

/** An Airflow `dag_id` / `task_id`: spec names are already valid (`^[\w.-]+$`). */
export function airflowId(specName: string): string {
  return specName;
}

/** A GitHub Actions job id: spec names already fit `^[A-Za-z_][A-Za-z0-9_-]*$`. */
export function githubJobId(specName: string): string {
  return specName;
}

/** Internal jobs and tasks the compiler adds start with this; spec names may not (a semantic check refuses `kfm-` and `kfm_`). */
export const RESERVED_PREFIX = "kfm-";

/** The output file's base name for a workflow on any target. */
export function outputBaseName(specName: string): string {
  return specName;
}

/** Windows device names: no file on Windows may be named so, whatever its extension (`nul.yaml` is the null device too). */
export function isWindowsDeviceName(name: string): boolean {
  return /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i.test(name.split(".")[0]!.trimEnd());
}

/** Target name spaces with their mapping, for collision checks over a workflow's jobs. */
export const NAME_SPACES: ReadonlyArray<{ readonly label: string; readonly map: (n: string) => string }> = [
  { label: "Kubernetes names (Argo, Tekton)", map: kubeName },
  { label: "Airflow task ids", map: airflowId },
  { label: "GitHub Actions job ids", map: githubJobId },
];

// --- Tekton (targets/tekton) -------------------------------------------------------------

/** The Pipeline parameter (and Argo/Tekton run parameter) that carries a run's logical date. */
export const LOGICAL_DATE_PARAM = "logical-date";

/** The internal first Tekton task that turns the logical date into the runtime values (`$(tasks.kfm-context.results.ds)`). */
export const TEKTON_CONTEXT_TASK = `${RESERVED_PREFIX}context`;

/** Step names inside generated Tekton tasks (DNS-1123 labels, unique per task; Tekton prefixes `step-` in the pod). */
export const TEKTON_STEPS = {
  /** The step of `kfm-context` that computes the runtime values. */
  context: `${RESERVED_PREFIX}context`,
  /** The step that waits before a retry (emulated retry delay). */
  wait: `${RESERVED_PREFIX}wait`,
  /** The step that runs the job's container. */
  job: "job",
  /** The step after the job that turns its exit code into the task's `ok` result (failure emulation). */
  status: `${RESERVED_PREFIX}status`,
} as const;

/** The result of a Tekton job task that is `true` when the job succeeded (and `false` after its last failed attempt, when retried). */
export const TEKTON_OK_RESULT = "ok";

/**
 * The task param of a Tekton job task whose default is `$$`: literal text holding a
 * Tekton variable reference such as `$(params.x)` is written with its `$` as
 * `$(params.kfm-dollar)`, which Tekton's single-pass substitution turns into `$$` and
 * Kubernetes into `$` (targets/tekton/README.md, Literal text).
 */
export const TEKTON_DOLLAR_PARAM = `${RESERVED_PREFIX}dollar`;

/** The step result of the `kfm-wait` step holding the 1-based attempt number (`KFM_ATTEMPT`). */
export const TEKTON_ATTEMPT_RESULT = "attempt";

/** The Tekton `finally` task that fails the run when `$(tasks.status)` is Failed: a job's TaskRun, or a `kfm-failed-<n>` task, failed. */
export const TEKTON_RUN_STATUS_TASK = `${RESERVED_PREFIX}run-status`;

/**
 * The Tekton Pipeline parameter (an array) that names who may approve or reject the
 * approval gates of a run: user names and `group:<name>` entries, as the
 * manual-approval-gate controller reads its `approvers` param (targets/tekton/README.md).
 */
export const TEKTON_APPROVERS_PARAM = "approvers";

/** The Tekton `finally` task that sends failure notification `index` (0-based, spec order). */
export function tektonNotifyTaskName(index: number): string {
  return `${RESERVED_PREFIX}notify-${index + 1}`;
}

/**
 * The Tekton task that fails (its failure ignored, `onError: continue`) when the retried job
 * at `index` (0-based, spec order) ended with `ok` false: the job's failure as a Failed
 * TaskRun, which also makes `$(tasks.status)` read `Failed`. Named by index: `kfm-failed-`
 * plus a 63-character job name would not be a DNS-1123 label.
 */
export function tektonFailedTaskName(index: number): string {
  return `${RESERVED_PREFIX}failed-${index + 1}`;
}

/** The container of the CronJob's pod that creates a scheduled PipelineRun. */
export const TEKTON_CREATOR_CONTAINER = `${RESERVED_PREFIX}create-run`;

/**
 * The ServiceAccount (and its Role and RoleBinding) the scheduled-run creator of a workflow
 * runs as, generated beside its CronJob unless an option names an existing account
 * (targets/tekton/README.md, "Accounts"). One per workflow, so that two workflows in one
 * namespace do not write the same object.
 */
export function tektonCreatorAccount(specName: string): string {
  return `${kubeName(specName)}-run-creator`;
}

/**
 * The Tekton run queue of `max_active_runs` (targets/tekton/README.md, "Concurrency"): the
 * `finally` task (and its step, and the creator pod's container) that starts the oldest
 * pending PipelineRuns of the workflow; the ServiceAccount it runs as, separate from the
 * user's pods; the coordination.k8s.io Lease that serialises the starters of one workflow;
 * and the `generateName` of the starter Job the runs folder's files create.
 */
export const TEKTON_START_RUNS_TASK = `${RESERVED_PREFIX}start-runs`;
export function tektonStarterAccount(specName: string): string {
  return `${kubeName(specName)}-run-starter`;
}
/** Tekton: the pipeline task that waits for one upstream workflow's run (README "Cross-workflow dependencies"). */
export function tektonUpstreamWaitTask(workflow: string): string {
  return `${RESERVED_PREFIX}wait-${kubeName(workflow)}`;
}
/** Tekton: the ServiceAccount of the upstream waits, allowed only to `get` PipelineRuns. */
export function tektonWaiterAccount(specName: string): string {
  return `${kubeName(specName)}-run-waiter`;
}
export function tektonRunQueueLease(specName: string): string {
  return `${kubeName(specName)}-run-queue`;
}
export function tektonStarterGenerateName(specName: string): string {
  return `${kubeName(specName)}-start-runs-`;
}

/**
 * The ServiceAccount an event-triggered workflow's Tekton Triggers EventListener runs as
 * (bound to Tekton Triggers' own EventListener roles), and the name of its trigger.
 */
export function tektonListenerAccount(specName: string): string {
  return `${kubeName(specName)}-listener`;
}
export const TEKTON_EVENT_TRIGGER = "s3-file-arrival";

/** `metadata.generateName` of a manual Tekton PipelineRun of a workflow. */
export function tektonRunGenerateName(specName: string): string {
  return `${kubeName(specName)}-`;
}

/**
 * GitHub Actions: the internal first job that computes the run's logical date and
 * hands it to every other job as outputs (targets/github-actions/README.md), and its
 * step's id. Spec names cannot start with `kfm-`, so neither collides with a job.
 */
export const GITHUB_CONTEXT_JOB = `${RESERVED_PREFIX}context`;
export const GITHUB_CONTEXT_STEP = `${RESERVED_PREFIX}context`;

/**
 * The `repository_dispatch` event type (`on.repository_dispatch.types`) an event-triggered
 * (`s3_file_arrival`) workflow runs on: named for the workflow, so a relay posting one
 * workflow's object-store events starts no other workflow of the repository. At most 68
 * characters (a workflow name has at most 52); GitHub takes up to 100 (`event_type`,
 * github/rest-api-description descriptions/api.github.com/api.github.com.json, repos/create-dispatch-event).
 */
export function githubDispatchType(specName: string): string {
  return `${specName}-s3-file-arrival`;
}

/**
 * GitHub Actions: prefix of the step variables the generated fixed scripts read
 * (image, argv, env, attempts, waits, timeouts). The job's own variables are never
 * step variables, so no spec name can clash with these or reach the container.
 */
export const GITHUB_INTERNAL_ENV_PREFIX = "KFMI_";

/**
 * GitHub Actions: the docker container name of one attempt, as the fixed run script builds
 * it at run time (shell syntax). Every job runs the same reusable workflow, whose job id
 * (`GITHUB_JOB`) is the same in all of them, so a random UUID keeps the names of jobs that
 * share one Docker daemon (self-hosted runners) apart.
 */
export const GITHUB_CONTAINER_NAME_SHELL = "kfm-$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT-$(</proc/sys/kernel/random/uuid)";

/** Argo Workflows: the DAG template every generated workflow enters through (reserved prefix, so no job template can take it). */
export const ARGO_DAG_TEMPLATE = "kfm-dag";

/** Argo Workflows: the workflow parameter a manual run's logical date is given in (`argo submit --from workflowtemplate/<name> -p logical-date=...`). */
export const ARGO_LOGICAL_DATE_PARAMETER = "logical-date";

/** Argo Workflows: the annotation that carries the spec name on the generated object and on each job template, so `lift` recovers spec names (`_` is lost by `kubeName`). */
export const ARGO_SPEC_NAME_ANNOTATION = "kfm-compile.dev/name";

/** Argo Workflows: the main container of a container template (Argo names it `main` whatever is written). */
export const ARGO_MAIN_CONTAINER = "main";

/**
 * GitHub Actions: the repository or organisation secret a secret reference reads
 * (`${{ secrets.<name> }}`): `<secret>_<key>` upper-cased, every character outside
 * `[A-Z0-9_]` written `_` (spec secret names and keys are ASCII, so each character
 * maps to exactly one). targets/github-actions/check.ts refuses two references that
 * map to one name, and names GitHub does not allow (a leading digit, `GITHUB_`).
 */
export function githubSecretName(secret: string, key: string): string {
  return `${secret}_${key}`.replace(/[a-z]/g, (c) => c.toUpperCase()).replace(/[^A-Z0-9_]/g, "_");
}

/**
 * Argo Workflows: the internal last DAG task (and its template) added when a job runs after
 * upstream failures (`on_upstream_failure: continue`): it depends on every job, so a failed
 * job keeps the run Failed (targets/argo/README.md, "Dependencies and failure").
 */
export const ARGO_RUN_STATUS_TASK = `${RESERVED_PREFIX}run-status`;

/**
 * Argo Workflows: the workflow-level mutex (`max_active_runs: 1`) or semaphore ConfigMap
 * (`max_active_runs` > 1) that queues a workflow's runs; one per workflow, in the run's namespace.
 */
export function argoConcurrencyLockName(specName: string): string {
  return `${RESERVED_PREFIX}${kubeName(specName)}-runs`;
}

/** Argo Workflows: the key of the semaphore ConfigMap that holds `max_active_runs`. */
export const ARGO_CONCURRENCY_KEY = "max-active-runs";

/**
 * Argo Workflows: the ServiceAccount, Role and RoleBinding written beside a workflow (each its
 * own kind, so one name serves all three) when no existing account is named: the account
 * every pod of its runs uses, allowed what Argo's executor does and nothing else
 * (targets/argo/README.md, "Accounts").
 */
export function argoExecutorAccountName(specName: string): string {
  return `${kubeName(specName)}-executor`;
}

/**
 * The ServiceAccount (and its Role and RoleBinding) an event-triggered workflow's Argo
 * Events Sensor runs as: allowed to create the workflow's runs and nothing else.
 */
export function argoSensorAccountName(specName: string): string {
  return `${kubeName(specName)}-sensor`;
}

/** The name of the Argo Events event (and the webhook path) an `s3_file_arrival` trigger listens to. */
export const ARGO_EVENT_NAME = "s3-file-arrival";
/** The port of the Argo Events webhook EventSource (the port of Argo Events' own webhook examples). */
export const ARGO_EVENT_PORT = 12000;

// --- Airflow (targets/airflow) -----------------------------------------------------------

/**
 * Airflow: the internal last task added when a job runs after upstream failures
 * (`on_upstream_failure: continue`): downstream of every task, `trigger_rule="one_failed"`,
 * and it fails, so a run in which any job failed ends failed although an always-run leaf
 * succeeded (targets/airflow/README.md, "Failure"). The reserved prefix keeps it apart
 * from every spec job.
 */
export const AIRFLOW_FAIL_RUN_TASK = `${RESERVED_PREFIX}fail-run`;

/**
 * GitHub Actions: the deployment environment an approval gate's job references
 * (`jobs.<id>.environment`). Its required reviewers are repository settings the
 * compiler cannot create (targets/github-actions/README.md, "Approval gates"). `.`
 * cannot occur in spec names, so workflow and gate never blur into another pair.
 */
export function githubApprovalEnvironment(workflow: string, gate: string): string {
  return `${workflow}.${gate}`;
}

/**
 * GitHub Actions: the concurrency group of a workflow with `max_active_runs: 1`, in which its
 * runs queue (`concurrency: {group, queue: max}`). Groups are per repository, across workflows
 * (github/docs "Control the concurrency of workflows and jobs"): the workflow's name, which is
 * unique in its folder, after the reserved prefix no spec name starts with.
 */
export function githubConcurrencyGroup(workflow: string): string {
  return `${RESERVED_PREFIX}${workflow}`;
}

/** GitHub Actions: the job that sends failure notification `index` (0-based, spec order). */
export function githubNotifyJob(index: number): string {
  return `${RESERVED_PREFIX}notify-${index + 1}`;
}

/**
 * The pinned image that sends failure notifications on the Kubernetes targets (a container
 * running curl with a fixed script; contract 9.2). Alpine-based, so it has `sh`, `sed` and `awk`.
 */
export const NOTIFY_CURL_IMAGE = "docker.io/curlimages/curl:8.11.1";

/** Airflow: the KubernetesPodOperator task that sends failure notification `index` (0-based, spec order). */
export function airflowNotifyTask(index: number): string {
  return `${RESERVED_PREFIX}notify-${index + 1}`;
}

/**
 * Airflow: the no-op task (`EmptyOperator`, `trigger_rule="one_failed"`) that runs when a task
 * of the run failed; the notification tasks wait for it and for every task (`none_skipped`),
 * so they run once, after everything else, and only in a failed run.
 */
export const AIRFLOW_RUN_FAILED_TASK = `${RESERVED_PREFIX}run-failed`;

/**
 * Airflow, with a workflow timeout and notifications: the no-op task (`EmptyOperator`,
 * `trigger_rule="all_done"`) that ends once every task of the workflow has, whatever its
 * state. The notification tasks wait for it instead of for every task, since a job that
 * the run's timeout keeps from starting is `skipped`, and `none_skipped` would then skip them.
 */
export const AIRFLOW_RUN_DONE_TASK = `${RESERVED_PREFIX}run-done`;

/**
 * Airflow: the first task of a scheduled workflow with a start date and `catchup: false`
 * (a `ShortCircuitOperator`): a scheduled run before the start skips every task, so the
 * window starts there rather than at the DAG's `start_date` (targets/airflow/README.md,
 * "First run after deployment").
 */
export const AIRFLOW_WINDOW_TASK = `${RESERVED_PREFIX}window`;

/** Airflow: the `ExternalTaskSensor` that waits for `workflow`'s run of the same logical date (contract 8.2). */
export function airflowUpstreamSensorTask(workflow: string): string {
  return `${RESERVED_PREFIX}upstream-${workflow}`;
}

/** Argo Workflows: the DAG task (and template) that waits for `workflow`'s run of the same logical date (contract 8.2). */
export function argoUpstreamWaitTask(workflow: string): string {
  return `${RESERVED_PREFIX}wait-${kubeName(workflow)}`;
}

/**
 * Argo Workflows: the output parameter (`valueFrom.supplied`, no default) of an approval
 * gate's suspend template. It has no default on purpose: a gate whose `suspend.duration`
 * runs out without a decision then errors instead of resuming (targets/argo/README.md,
 * "Approval gates"), and a bare `argo resume <run>` cannot approve every gate at once.
 */
export const ARGO_APPROVAL_OUTPUT = "approved-by";

/** Argo Workflows: the `onExit` template that sends the failure notifications (a DAG of one task per notification). */
export const ARGO_EXIT_TEMPLATE = `${RESERVED_PREFIX}on-exit`;

/** Argo Workflows: the exit-handler task and template that sends failure notification `index` (0-based, spec order). */
export function argoNotifyTask(index: number): string {
  return `${RESERVED_PREFIX}notify-${index + 1}`;
}

// --- Backfill (src/backfill.ts, targets/<name>/runs.ts) ----------------------------------

/** Kubernetes annotation on every backfill run object: its logical date, `YYYY-MM-DDTHH:MM:SSZ`. */
export const BACKFILL_LOGICAL_DATE_ANNOTATION = "kfm-compile.dev/logical-date";

/** Kubernetes label (and annotation) on every backfill run object: its run token, so `kubectl get -l` finds a run by token. */
export const BACKFILL_RUN_TOKEN_LABEL = "kfm-compile.dev/run-token";

/**
 * The name of the Argo Workflow or Tekton PipelineRun that backfills one logical date:
 * `<workflow>-<minutes since the epoch>`, never `generateName`, so submitting the same
 * range twice fails on the existing names instead of running twice. It is the name the
 * Kubernetes CronJob controller gives the Job of that slot (`<cronjob>-<minutes>`), which
 * the Tekton backend reuses for scheduled PipelineRuns, so a backfill of a slot that
 * already ran on schedule collides with that run too. At most 52 + 1 + 8 characters.
 */
export function backfillRunName(specName: string, logicalMs: number): string {
  return `${kubeName(specName)}-${Math.floor(logicalMs / 60000)}`;
}

/** Airflow: the `run_id` of the DAG run that backfills one logical date (`ts`, `YYYY-MM-DDTHH:MM:SS+00:00`). */
export function airflowBackfillRunId(ts: string): string {
  return `kfm_backfill__${ts}`;
}
