/**
 * IR -> Argo Workflows YAML (argoproj.io/v1alpha1, designed for Argo Workflows 3.7 and v4).
 * A scheduled workflow becomes one CronWorkflow; an unscheduled one a WorkflowTemplate
 * (submitted with `argo submit --from workflowtemplate/<name> -p logical-date=...`); an
 * event-triggered one that WorkflowTemplate plus an Argo Events EventSource and Sensor
 * that submit it with the event's time as the logical date.
 * Every mapping decision, with the upstream source it rests on, is in README.md.
 */
import type { V1ConfigMap, V1Container, V1EnvVar, V1SecurityContext } from "@kubernetes/client-node";

import { hashComment, headerLines } from "../../src/header.js";
import {
  STANDARD_ENV,
  type CronSchedule,
  type EventSchedule,
  type Job,
  type Notification,
  type Retry,
  type RuntimeVariable,
  type StandardVariable,
  type Template,
  type UpstreamWorkflow,
  type Workflow,
} from "../../src/ir.js";
import {
  ARGO_APPROVAL_OUTPUT,
  ARGO_CONCURRENCY_KEY,
  ARGO_EXIT_TEMPLATE,
  ARGO_DAG_TEMPLATE,
  ARGO_LOGICAL_DATE_PARAMETER,
  ARGO_MAIN_CONTAINER,
  ARGO_RUN_STATUS_TASK,
  ARGO_SPEC_NAME_ANNOTATION,
  argoConcurrencyLockName,
  ARGO_EVENT_NAME,
  ARGO_EVENT_PORT,
  argoExecutorAccountName,
  argoSensorAccountName,
  argoNotifyTask,
  argoUpstreamWaitTask,
  kubeName,
  NOTIFY_CURL_IMAGE,
} from "../../src/names.js";
import { dstGuard, parseCron, type Cron, type DstGuard } from "../../src/cron.js";
import { NOTIFY_SCRIPT, NOTIFY_TASK_SECONDS, notifyInputs } from "../../src/notify.js";
import { toYamlStream } from "../../src/yaml.js";
import { bucketPattern, keyPattern, OBJECT_CREATED_PATTERN } from "../events.js";
import { accountObjects as kubernetesAccount, objectLabels, RESTRICTED_CONTAINER_SECURITY_CONTEXT } from "../kubernetes.js";
import { DEFAULT_OPTIONS, type ArgoOptions } from "./options.js";

/** A template's container: Argo names it `main` whatever is written (createWorkflowPod, workflow/controller/workflowpod.go), so no name is written. */
type ArgoContainer = Omit<V1Container, "name">;

export const TARGET_NAME = "argo";
export const API_VERSION = "argoproj.io/v1alpha1";
/** Argo's own annotation for a human description, shown by the UI. */
export const DESCRIPTION_ANNOTATION = "workflows.argoproj.io/description";
/** Written out on every CronWorkflow (README "Schedules"). */
export const CONCURRENCY_POLICY = "Allow";
export const STARTING_DEADLINE_SECONDS = 0;

/** Where a run's logical date comes from: the CronWorkflow's slot, or the `logical-date` parameter of a manual run. */
export type DateSource = "scheduled" | "parameter";

/** Go layouts (time.Format): RFC 3339 as Argo writes `workflow.scheduledTime`; Airflow's `ds` and `ts` (`-07:00` prints `+00:00` in UTC). */
export const RFC3339_LAYOUT = "2006-01-02T15:04:05Z07:00";
export const DS_LAYOUT = "2006-01-02";
export const TS_LAYOUT = "2006-01-02T15:04:05-07:00";
/** Go layout of the IR's local `start`/`end` bounds. */
export const LOCAL_LAYOUT = "2006-01-02T15:04:05";

/** The expression (expr-lang, Argo expression tags) that yields the run's logical date as a Go time.Time. */
export function logicalDateExpression(source: DateSource): string {
  const raw = source === "scheduled" ? "workflow.scheduledTime" : `workflow.parameters['${ARGO_LOGICAL_DATE_PARAMETER}']`;
  return `sprig.mustToDate('${RFC3339_LAYOUT}', ${raw})`;
}

/**
 * An expr-lang string literal (single quotes; expr-lang's lexer unescapes `\\`, `\'`
 * and `\n`, parser/lexer/utils.go). Argo hands the expression over JSON-unmarshalled
 * (util/template/expression_template.go), so these escapes reach expr-lang as written.
 */
export function exprString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n")}'`;
}

/** What a runtime expression needs besides the variable: where the date comes from, the period, the run-token seed. */
export interface RenderContext {
  readonly source: DateSource;
  readonly periodSeconds: number | null;
  readonly runTokenSeed: string;
}

/**
 * The expression that renders one runtime variable, dates always in UTC. `attempt` is
 * Argo's `retries` (0-based, set for each attempt of a template with a retryStrategy,
 * which every job template has) plus one; `run_token` is the first 32 hex digits of
 * sha256(seed + ts).
 */
export function variableExpression(variable: RuntimeVariable | StandardVariable, ctx: RenderContext): string {
  const { source, periodSeconds } = ctx;
  const date = logicalDateExpression(source);
  switch (variable) {
    case "attempt":
      return "string(int(retries) + 1)";
    case "run_token":
      return `sprig.trunc(32, sprig.sha256sum(${exprString(ctx.runTokenSeed)} + sprig.dateInZone('${TS_LAYOUT}', ${date}, 'UTC')))`;
    case "ds":
      return `sprig.dateInZone('${DS_LAYOUT}', ${date}, 'UTC')`;
    case "ts":
    case "execution_date":
      return `sprig.dateInZone('${TS_LAYOUT}', ${date}, 'UTC')`;
    case "prev_execution_date":
    case "next_execution_date": {
      if (periodSeconds === null) throw new Error(`${variable} without a regular schedule reached the Argo backend`);
      const shift = variable === "prev_execution_date" ? `-${periodSeconds}s` : `${periodSeconds}s`;
      return `sprig.dateInZone('${TS_LAYOUT}', sprig.dateModify('${shift}', ${date}), 'UTC')`;
    }
  }
}

/**
 * One expression tag. The leading comment names the spec variable (`ts` and
 * `execution_date` render the same string, and lift must tell them apart); `brace`
 * prepends a literal `{` that stood right before the value in the spec, because
 * `{` followed by `{{` would make Argo's tokenizer start the tag one brace early.
 */
export function runtimeTag(variable: RuntimeVariable | StandardVariable, ctx: RenderContext, brace: boolean): string {
  return `{{=/*${variable}*/ ${brace ? "'{' + " : ""}${variableExpression(variable, ctx)}}}`;
}

/** Kubernetes expands `$(VAR)` and turns `$$` into `$` in command, args and env values: every literal `$` is doubled. */
export function escapeDollars(text: string): string {
  return text.split("$").join("$$");
}

/** A Template as an Argo container string: literal text with `$` doubled, runtime values as expression tags. */
export function renderTemplate(template: Template, ctx: RenderContext): string {
  let out = "";
  let brace = false;
  template.forEach((segment, i) => {
    if ("text" in segment) {
      let text = segment.text;
      const next = template[i + 1];
      if (next !== undefined && "variable" in next && text.endsWith("{")) {
        text = text.slice(0, -1);
        brace = true;
      }
      out += escapeDollars(text);
    } else {
      out += runtimeTag(segment.variable, ctx, brace);
      brace = false;
    }
  });
  return out;
}

/** `retryStrategy.backoff` for a retry policy; `factor` must be an integer (README "Retries"), `cap` only with max_delay. */
export interface ArgoBackoff {
  readonly duration: string;
  readonly factor: number;
  readonly cap?: string;
}

/**
 * The backoff written for a policy. A non-integer multiplier is written as 1; check()
 * refuses it whenever that changes a wait (it cannot when there is at most one retry
 * or max_delay flattens every wait).
 */
export function backoffFor(retry: Retry): ArgoBackoff {
  const factor = Number.isInteger(retry.multiplier) ? retry.multiplier : 1;
  return {
    duration: `${retry.delaySeconds}s`,
    factor,
    ...(retry.maxDelaySeconds !== null ? { cap: `${retry.maxDelaySeconds}s` } : {}),
  };
}

/**
 * The CronWorkflow `when` guard (README "Schedules"), or null when every fire of the
 * schedule starts a run: slots outside [start, end] start none, and with a `dstGuard`
 * (src/cron.ts) only the meaning's daylight-saving instants do. `when` is an expr-lang
 * expression the controller evaluates as the schedule fires (workflow/cron/operator.go
 * `shouldExecute`), `now()` being then; expr's `timezone()` and Go's `time.Time` methods
 * read the wall clock. A fire in one of the cron's own hours runs unless the same wall
 * hour comes again an hour later (the first occurrence of a fold); a fire in an hour
 * `dstGuard` added runs only when the wall clock an hour earlier read two hours less
 * (the hour before was a gap).
 */
export function windowGuard(schedule: CronSchedule, dst: DstGuard | null = null): string | null {
  const slot = "now().Truncate(duration('1m'))";
  const bound = (local: string) => `date('${local}', '${LOCAL_LAYOUT}', '${schedule.timezone}')`;
  const conditions: string[] = [];
  if (dst !== null) conditions.push(dstCondition(schedule.timezone, dst));
  if (schedule.start !== null) conditions.push(`${slot} >= ${bound(schedule.start)}`);
  if (schedule.end !== null) conditions.push(`${slot} <= ${bound(schedule.end)}`);
  return conditions.length === 0 ? null : `{{= ${conditions.join(" && ")} }}`;
}

/** The daylight-saving part of the `when` guard (see `windowGuard`). */
function dstCondition(zone: string, dst: DstGuard): string {
  const hour = (shift: string) => `now()${shift === "" ? "" : `.Add(duration('${shift}'))`}.In(timezone('${zone}')).Hour()`;
  const notFirstOccurrence = `${hour("1h")} != ${hour("")}`;
  if (dst.addedHours.length === 0) return notFirstOccurrence;
  return `(${hour("")} in [${dst.hours.join(", ")}] ? ${notFirstOccurrence} : ${hour("-1h")} == (${hour("")} + 22) % 24)`;
}

/**
 * The `when` of each root task of a manual run: true for a well-formed logical date,
 * an evaluation error (the task errors, nothing downstream runs) otherwise.
 */
export function logicalDateGuard(): string {
  return `{{=sprig.dateInZone('${TS_LAYOUT}', ${logicalDateExpression("parameter")}, 'UTC') != ''}}`;
}

/** One env entry of a job's container as written. */
function envVar(e: Job["env"][number], ctx: RenderContext): V1EnvVar {
  return "value" in e
    ? { name: e.name, value: renderTemplate(e.value, ctx) }
    : { name: e.name, valueFrom: { secretKeyRef: { name: e.secretRef.secret, key: e.secretRef.key } } };
}

/**
 * The standard variables every job's container gets with the same value (the workflow,
 * the logical date, the run token), written once in `spec.templateDefaults.container.env`.
 * The controller merges templateDefaults into each template with a strategic merge patch
 * whose `env` list merges by name (mergedTemplateDefaultsInto in
 * workflow/controller/operator.go; `patchMergeKey:"name"` on corev1.Container.Env), and
 * only into templates of the same type (container). KFM_ATTEMPT reads `retries`, which
 * exists only in a template with a retryStrategy, and KFM_JOB differs per job: both stay
 * in each template. Only the compiler's own `KFM_` variables are shared, so the
 * notification containers, which get them too, see nothing their script or curl reads.
 */
export function sharedEnv(ir: Workflow, ctx: RenderContext): V1EnvVar[] {
  const containers = ir.jobs.filter((j) => j.approval === null);
  if (containers.length === 0) return [];
  const rendered = containers.map((j) => new Map(j.env.map((e) => [e.name, JSON.stringify(envVar(e, ctx))])));
  return containers[0]!.env
    .filter(
      (e) =>
        (STANDARD_ENV as readonly string[]).includes(e.name) &&
        "value" in e &&
        !e.value.some((seg) => "variable" in seg && seg.variable === "attempt") &&
        rendered.every((m) => m.get(e.name) === rendered[0]!.get(e.name)),
    )
    .map((e) => envVar(e, ctx));
}

function container(job: Job, ctx: RenderContext, shared: ReadonlySet<string>): ArgoContainer {
  const render = (t: Template) => renderTemplate(t, ctx);
  const amounts: Record<string, string> = {};
  if (job.resources.cpu !== null) amounts["cpu"] = job.resources.cpu;
  if (job.resources.memory !== null) amounts["memory"] = job.resources.memory;
  const env = job.env.filter((e) => !shared.has(e.name)).map((e) => envVar(e, ctx));
  return {
    image: job.image,
    ...(job.command !== null ? { command: job.command.map(render) } : {}),
    ...(job.args !== null ? { args: job.args.map(render) } : {}),
    ...(env.length > 0 ? { env } : {}),
    ...(Object.keys(amounts).length > 0 ? { resources: { requests: { ...amounts }, limits: { ...amounts } } } : {}),
  };
}

/**
 * An approval gate: a suspend template (no pod). Approve: `argo resume <run>
 * --node-field-selector displayName=<gate>` (Succeeded); reject: `argo stop <run>
 * --node-field-selector displayName=<gate>` (Failed). With a timeout, `suspend.duration`
 * is the timeout and the supplied output parameter has no default: when the duration
 * runs out without a decision the controller cannot fill the parameter and errors the
 * node (executeSuspend, OverrideOutputParametersWithDefault) instead of resuming it.
 */
export function gateTemplate(job: Job, timeoutSeconds: number | null): Record<string, unknown> {
  return {
    name: kubeName(job.name),
    ...specNameMetadata(job.name),
    suspend: timeoutSeconds === null ? {} : { duration: `${timeoutSeconds}s` },
    outputs: { parameters: [{ name: ARGO_APPROVAL_OUTPUT, valueFrom: { supplied: {} } }] },
  };
}

/** The template's spec name, when its Kubernetes name does not say it (`_` becomes `-`): lift reads it back, and the pods carry it. */
function specNameMetadata(specName: string): Record<string, unknown> {
  return kubeName(specName) === specName ? {} : { metadata: { annotations: { [ARGO_SPEC_NAME_ANNOTATION]: specName } } };
}

/**
 * A job's retryStrategy (README "Retries"). `limit` is always written: without it Argo
 * retries without end. With no retry, `limit: 0` alone (the policy and the backoff then
 * decide nothing); with retries, `retryPolicy: Always` (the default OnFailure does not
 * retry errors), and a backoff only when there is a wait, its factor only when not 1
 * (no factor, or 1, waits `duration` each time: processNodeRetries).
 */
export function retryStrategy(retry: Retry): Record<string, unknown> {
  const limit = retry.maxAttempts - 1;
  if (limit === 0) return { limit: 0 };
  const b = backoffFor(retry);
  const backoff =
    retry.delaySeconds === 0 ? null : { duration: b.duration, ...(b.factor !== 1 ? { factor: b.factor } : {}), ...(b.cap !== undefined ? { cap: b.cap } : {}) };
  return { limit, retryPolicy: "Always", ...(backoff !== null ? { backoff } : {}) };
}

function jobTemplate(job: Job, ctx: RenderContext, shared: ReadonlySet<string>): Record<string, unknown> {
  if (job.approval !== null) return gateTemplate(job, job.approval.timeoutSeconds);
  return {
    name: kubeName(job.name),
    ...specNameMetadata(job.name),
    retryStrategy: retryStrategy(job.retry),
    ...(job.timeoutSeconds !== null ? { activeDeadlineSeconds: job.timeoutSeconds } : {}),
    container: container(job, ctx, shared),
  };
}

/** `depends` term of a dependency for a job that runs only after its success. */
export function succeededTerm(specName: string): string {
  return `${kubeName(specName)}.Succeeded`;
}

/**
 * `depends` term of a dependency for a job that runs once it finished in any state
 * (`on_upstream_failure: continue`): every phase a fulfilled, non-daemoned task can
 * end in (TaskResults in workflow/controller/dag.go).
 */
export function finishedTerm(specName: string): string {
  const t = kubeName(specName);
  return `(${t}.Succeeded || ${t}.Failed || ${t}.Errored || ${t}.Skipped || ${t}.Omitted)`;
}

/**
 * The `when` of a `continue` task in a workflow with a run timeout: it starts only while
 * the run is younger than its timeout, so one reached at or after the deadline is Skipped
 * (README "Timeouts"). Without it the controller creates the task's nodes at the deadline
 * and fails them without a pod (failNodesWithoutCreatedPodsAfterDeadlineOrShutdown and
 * processNodeRetries in workflow/controller/operator.go). `workflow.duration` is set from
 * status.startedAt at the start of each operate() (setGlobalRuntimeParameters) and
 * substituted when the task's dependencies are met (resolveDependencyReferences in
 * workflow/controller/dag.go). The guard rebuilds the run's start from it and truncates
 * it to the second, as getWorkflowDeadline does (the API server stores startedAt to the
 * second anyway), and turns false RUN_DEADLINE_MARGIN_SECONDS before the deadline: the
 * controller cuts a pod's activeDeadlineSeconds to whole seconds of the time left, so the
 * attempt the run's timeout stops ends up to a second early, and it refuses to create a
 * pod with a second or less left, failing its node ("exceeded its deadline";
 * createWorkflowPod in workflow/controller/workflowpod.go). A task reached in the last
 * two seconds could only fail; the meaning is that it never starts.
 */
export function runDeadlineGuard(timeoutSeconds: number): string {
  const started = "now().Add(duration('-' + workflow.duration + 's')).Truncate(duration('1s'))";
  return `{{= now().Before(${started}.Add(duration('${timeoutSeconds}s')).Add(duration('-${RUN_DEADLINE_MARGIN_SECONDS}s'))) }}`;
}

/** Seconds before the run's deadline from which a `continue` task no longer starts (runDeadlineGuard). */
export const RUN_DEADLINE_MARGIN_SECONDS = 2;

/** Seconds between two looks for an upstream run that does not exist yet (Airflow's sensor pokes every 60 s too). */
export const UPSTREAM_POLL_SECONDS = 60;

/** `retryStrategy.limit` of a wait without a timeout: the largest int32, as the controller reads it (intstr.Int32). */
export const UPSTREAM_NO_LIMIT_RETRIES = 2147483647;

/** The retry expression: look again only while the upstream run does not exist (kubectl's `Error from server (NotFound)`). */
export const UPSTREAM_RETRY_EXPRESSION = "lastRetry.message contains '(NotFound)'";

/** The resource conditions: the upstream Workflow's phase (labels.Parse syntax, gjson paths). */
export const UPSTREAM_SUCCESS_CONDITION = "status.phase == Succeeded";
export const UPSTREAM_FAILURE_CONDITION = "status.phase in (Failed, Error)";

/**
 * The name of the upstream workflow's run of this run's logical date, as an expression
 * tag: a scheduled run looks for the CronWorkflow's run of the same slot, named
 * `<cron workflow>-<unix seconds of the slot>` (getChildWorkflowName, workflow/cron/operator.go;
 * `workflow.scheduledTime` is that slot), and a manual run for the upstream's backfill
 * run of its date, named `<workflow>-<unix minutes>` (src/names.ts `backfillRunName`).
 */
export function upstreamRunName(workflow: string, source: DateSource): string {
  const epoch = `sprig.unixEpoch(${logicalDateExpression(source)})`;
  return `${kubeName(workflow)}-{{=${source === "scheduled" ? epoch : `sprig.div(${epoch}, 60)`}}}`;
}

/**
 * The template that waits for one upstream workflow's run of the same logical date
 * (README "Cross-workflow dependencies"): a resource `get` of that Workflow, waiting in
 * its pod until `status.phase` is Succeeded (the task succeeds) or Failed/Error (it
 * fails) (ExecResource, WaitResource in workflow/executor/resource.go). A run that does
 * not exist yet fails the `kubectl get` at once; the retry strategy looks again every
 * minute for that failure only (`expression` on `lastRetry.message`, processNodeRetries
 * in workflow/controller/operator.go). The timeout bounds the whole wait: the first pod's
 * `activeDeadlineSeconds`, and `backoff.maxDuration` from the first attempt's start for
 * the retries and their pods.
 */
export function upstreamWaitTemplate(u: UpstreamWorkflow, source: DateSource): Record<string, unknown> {
  const name = argoUpstreamWaitTask(u.workflow);
  const t = u.timeoutSeconds;
  const manifest = `apiVersion: ${API_VERSION}\nkind: Workflow\nmetadata:\n  name: ${upstreamRunName(u.workflow, source)}\n`;
  return {
    name,
    metadata: { annotations: { [ARGO_SPEC_NAME_ANNOTATION]: u.workflow } },
    retryStrategy: {
      limit: t === null ? UPSTREAM_NO_LIMIT_RETRIES : Math.max(1, Math.ceil(t / UPSTREAM_POLL_SECONDS)),
      retryPolicy: "Always",
      expression: UPSTREAM_RETRY_EXPRESSION,
      backoff: { duration: String(UPSTREAM_POLL_SECONDS), ...(t !== null ? { maxDuration: String(t) } : {}) },
    },
    ...(t !== null ? { activeDeadlineSeconds: t } : {}),
    resource: { action: "get", successCondition: UPSTREAM_SUCCESS_CONDITION, failureCondition: UPSTREAM_FAILURE_CONDITION, manifest },
  };
}

function upstreamWaitTask(u: UpstreamWorkflow, source: DateSource): Record<string, unknown> {
  const name = argoUpstreamWaitTask(u.workflow);
  return { name, template: name, ...(source === "parameter" ? { when: logicalDateGuard() } : {}) };
}

function dagTask(job: Job, source: DateSource, timeoutSeconds: number | null, waits: readonly string[]): Record<string, unknown> {
  const task: Record<string, unknown> = { name: kubeName(job.name), template: kubeName(job.name) };
  if (job.dependsOn.length === 0 && waits.length > 0) {
    // Every other workflow's run must have succeeded before any job starts: each root job
    // depends on every wait (the waits carry the manual run's logical-date guard).
    task["depends"] = waits.map((w) => `${w}.Succeeded`).join(" && ");
  } else if (job.dependsOn.length > 0) {
    task["depends"] = job.dependsOn.map(job.runWhen === "all_done" ? finishedTerm : succeededTerm).join(" && ");
    if (job.runWhen === "all_done" && timeoutSeconds !== null) task["when"] = runDeadlineGuard(timeoutSeconds);
  } else if (source === "parameter") {
    task["when"] = logicalDateGuard();
  }
  return task;
}

/**
 * The last task when some job runs after upstream failures: it depends on the success of
 * every job, so it is Omitted as soon as one failed, and an Omitted leaf takes the phase
 * of its failed parent (assessDAGPhase); when all succeeded it runs a zero-length suspend
 * (no pod). Without it, a succeeding `continue` leaf would turn the run green.
 */
function runStatusTask(ir: Workflow): Record<string, unknown> {
  return { name: ARGO_RUN_STATUS_TASK, template: ARGO_RUN_STATUS_TASK, depends: ir.jobs.map((j) => succeededTerm(j.name)).join(" && ") };
}

export const RUN_STATUS_TEMPLATE = { name: ARGO_RUN_STATUS_TASK, suspend: { duration: "0" } } as const;

function needsRunStatus(ir: Workflow): boolean {
  return ir.jobs.some((j) => j.runWhen === "all_done");
}

/** Workflow-level `synchronization` for `max_active_runs` (README "Concurrency"); null without a limit. */
export function synchronization(ir: Workflow): Record<string, unknown> | null {
  if (ir.maxActiveRuns === null) return null;
  const lock = argoConcurrencyLockName(ir.name);
  return ir.maxActiveRuns === 1 ? { mutexes: [{ name: lock }] } : { semaphores: [{ configMapKeyRef: { name: lock, key: ARGO_CONCURRENCY_KEY } }] };
}

/** The ConfigMap that holds a semaphore's limit, emitted in the same file; null unless `max_active_runs` > 1. */
export function concurrencyConfigMap(ir: Workflow, options: ArgoOptions = DEFAULT_OPTIONS): V1ConfigMap | null {
  if (ir.maxActiveRuns === null || ir.maxActiveRuns === 1) return null;
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: objectMetadata(ir, argoConcurrencyLockName(ir.name), options, { [ARGO_SPEC_NAME_ANNOTATION]: ir.name }),
    data: { [ARGO_CONCURRENCY_KEY]: String(ir.maxActiveRuns) },
  };
}

/** The notification script, written once per file under an anchor when several notifications run it. */
const NOTIFY_ANCHOR: ReadonlyMap<string, string> = new Map([[escapeDollars(NOTIFY_SCRIPT), "kfm-notify"]]);

/** `$0` of the notification script. */
export const NOTIFY_ARGV0 = "kfm-notify";

/** The exit-handler `when`: true once the run has ended Failed or Error (`workflow.status` in an onExit handler). */
export const NOTIFY_WHEN = "{{workflow.status}} != Succeeded";

/**
 * Pod Security `restricted` for the containers the compiler adds (the notification
 * senders): targets/kubernetes.ts, set on the container so that it holds whatever the pod
 * sets (the podSecurityContext option is the workflow's and reaches every pod).
 */
function restrictedContainerSecurityContext(): V1SecurityContext {
  return structuredClone(RESTRICTED_CONTAINER_SECURITY_CONTEXT) as unknown as V1SecurityContext;
}

/** Node selector values as Kubernetes label values (text): a YAML `true` or `3` in the config is meant as written. */
function labelValues(selector: Readonly<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(Object.entries(selector).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

/**
 * The failed jobs, from `workflow.failures` (README "Failure notifications"). In an exit
 * handler the controller sets it to the Go-quoted JSON of every node that ended Failed or
 * Error (workflow/controller/operator.go: `strconv.Quote(json.Marshal(failures))`), so it
 * is decoded twice; `"null"` when none failed. A job is its task's node (its display name
 * is the task's; the attempts are `<task>(0)`, `<task>(1)`, ...); the DAG node is left out
 * by its template. Task names are spec names with `_` as `-`: those are mapped back.
 *
 * No `??` on `workflow.failures`: Argo treats a variable under `??` as optional
 * (util/template/expression_template.go `guardVisitor`), so the controller's first pass
 * over the whole spec, when the run starts and `workflow.failures` is not set yet, would
 * evaluate the tag to an empty string for good; unguarded, the tag waits for the exit
 * handler. No `}}` occurs inside the tag (it would end it).
 */
export function failedJobsTag(jobs: readonly { readonly name: string }[]): string {
  const renamed = jobs.filter((j) => kubeName(j.name) !== j.name).map((j) => `${exprString(kubeName(j.name))}: ${exprString(j.name)}`);
  const name = renamed.length === 0 ? "#.displayName" : `{${renamed.join(", ")}}[#.displayName] ?? #.displayName`;
  const jobNodes = `filter(sprig.fromJson(sprig.fromJson(workflow.failures)), { #.templateName != ${exprString(ARGO_DAG_TEMPLATE)} && !(#.displayName contains '(') })`;
  return `{{=workflow.failures == '"null"' ? '' : join(map(${jobNodes}, { ${name} }), ' ')}}`;
}

/**
 * The run: a link into the Argo UI (`<base>/workflows/<namespace>/<name>`, the UI's route
 * for a workflow) when its URL is given, else the Workflow's namespace and name.
 */
export function runTag(uiUrl: string | null): string {
  const run = "{{workflow.namespace}}/{{workflow.name}}";
  return uiUrl === null ? `Workflow ${run}` : `${escapeDollars(uiUrl.replace(/\/+$/, ""))}/workflows/${run}`;
}

function notifyTemplate(ir: Workflow, n: Notification, index: number, ctx: RenderContext, uiUrl: string | null, image: string): Record<string, unknown> {
  const env: V1EnvVar[] = notifyInputs(n, ir.name, (t) => renderTemplate(t, ctx), escapeDollars, failedJobsTag(ir.jobs), runTag(uiUrl)).map((v) =>
    "value" in v ? { name: v.name, value: v.value } : { name: v.name, valueFrom: { secretKeyRef: { name: v.secret.secret, key: v.secret.key } } },
  );
  // No retryStrategy: Argo runs the container once (no retry node), so a notification is never sent twice.
  return {
    name: argoNotifyTask(index),
    activeDeadlineSeconds: NOTIFY_TASK_SECONDS,
    container: {
      name: ARGO_MAIN_CONTAINER,
      image,
      command: ["sh", "-c", escapeDollars(NOTIFY_SCRIPT), NOTIFY_ARGV0],
      env,
      resources: {},
      securityContext: restrictedContainerSecurityContext(),
    } satisfies V1Container,
  };
}

/**
 * The `onExit` handler: one task per notification, each with `when` on the run's final
 * status, so each is sent once, after every job, and only when the run ended Failed or
 * Error. `failFast: false`: one failing notification does not stop the others.
 */
function exitTemplate(ir: Workflow): Record<string, unknown> {
  return {
    name: ARGO_EXIT_TEMPLATE,
    dag: { failFast: false, tasks: ir.notifications.map((_, i) => ({ name: argoNotifyTask(i), template: argoNotifyTask(i), when: NOTIFY_WHEN })) },
  };
}

/**
 * The run's spec. Deployment options land here: the account every pod runs as, the image
 * pull secrets, the job pods' securityContext, node selector and priority class
 * (workflow-level fields the controller puts on each pod: createWorkflowPod,
 * setupServiceAccount in workflowpod.go), and when finished pods and runs are deleted
 * (podGC, ttlStrategy: the controller's garbage collection, after the run has ended).
 */
export function workflowSpec(ir: Workflow, source: DateSource, periodSeconds: number | null, options: ArgoOptions = DEFAULT_OPTIONS): Record<string, unknown> {
  const uiUrl = options.uiUrl ?? null;
  const ctx: RenderContext = { source, periodSeconds, runTokenSeed: ir.runTokenSeed };
  const sync = synchronization(ir);
  const status = needsRunStatus(ir);
  const shared = sharedEnv(ir, ctx);
  const sharedNames = new Set(shared.map((e) => e.name));
  const waits = ir.upstream.map((u) => argoUpstreamWaitTask(u.workflow));
  const defaults: Record<string, unknown> = {
    ...(options.securityContext !== undefined ? { securityContext: options.securityContext } : {}),
    ...(shared.length > 0 ? { env: shared } : {}),
  };
  return {
    entrypoint: ARGO_DAG_TEMPLATE,
    ...(source === "parameter"
      ? {
          arguments: {
            parameters: [
              {
                name: ARGO_LOGICAL_DATE_PARAMETER,
                description: "Logical date of this run, RFC 3339 (for example 2024-01-01T00:00:00Z or 2024-01-01T02:00:00+02:00). Required.",
              },
            ],
          },
        }
      : {}),
    serviceAccountName: options.serviceAccount ?? argoExecutorAccountName(ir.name),
    ...(options.imagePullSecrets.length > 0 ? { imagePullSecrets: options.imagePullSecrets.map((name) => ({ name })) } : {}),
    ...(options.podSecurityContext !== undefined ? { securityContext: options.podSecurityContext } : {}),
    ...(options.nodeSelector !== undefined ? { nodeSelector: labelValues(options.nodeSelector) } : {}),
    ...(options.priorityClassName !== undefined ? { podPriorityClassName: options.priorityClassName } : {}),
    ...(options.podGC !== "Never" ? { podGC: { strategy: options.podGC } } : {}),
    ...(options.ttlSecondsAfterFinished !== undefined ? { ttlStrategy: { secondsAfterCompletion: options.ttlSecondsAfterFinished } } : {}),
    ...(ir.timeoutSeconds !== null ? { activeDeadlineSeconds: ir.timeoutSeconds } : {}),
    ...(sync !== null ? { synchronization: sync } : {}),
    ...(ir.notifications.length > 0 ? { onExit: ARGO_EXIT_TEMPLATE } : {}),
    ...(Object.keys(defaults).length > 0 ? { templateDefaults: { container: defaults } } : {}),
    templates: [
      {
        name: ARGO_DAG_TEMPLATE,
        dag: {
          failFast: false,
          tasks: [
            ...ir.upstream.map((u) => upstreamWaitTask(u, source)),
            ...ir.jobs.map((j) => dagTask(j, source, ir.timeoutSeconds, waits)),
            ...(status ? [runStatusTask(ir)] : []),
          ],
        },
      },
      ...ir.upstream.map((u) => upstreamWaitTemplate(u, source)),
      ...ir.jobs.map((j) => jobTemplate(j, ctx, sharedNames)),
      ...(status ? [RUN_STATUS_TEMPLATE] : []),
      ...(ir.notifications.length > 0
        ? [exitTemplate(ir), ...ir.notifications.map((n, i) => notifyTemplate(ir, n, i, ctx, uiUrl, options.notifyImage ?? NOTIFY_CURL_IMAGE))]
        : []),
    ],
  };
}

/**
 * Metadata of every object in the file: its name, the namespace option, the labels
 * `kfm-compile apply --prune` finds a workflow's objects by, and annotations.
 */
function objectMetadata(ir: Workflow, name: string, options: ArgoOptions, annotations: Record<string, string> = {}): Record<string, unknown> {
  return {
    name,
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    labels: objectLabels(kubeName(ir.name), TARGET_NAME),
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}

/** The Argo object for a workflow, as a plain object (exported for tests). */
export function argoObject(ir: Workflow, options: ArgoOptions = DEFAULT_OPTIONS): Record<string, unknown> {
  const schedule = ir.schedule;
  const runMetadata = { annotations: { [ARGO_SPEC_NAME_ANNOTATION]: ir.name } };
  const metadata = objectMetadata(ir, kubeName(ir.name), options, {
    [ARGO_SPEC_NAME_ANNOTATION]: ir.name,
    ...(ir.description !== null ? { [DESCRIPTION_ANNOTATION]: ir.description } : {}),
  });
  if (schedule === null || schedule.kind === "event") {
    return {
      apiVersion: API_VERSION,
      kind: "WorkflowTemplate",
      metadata,
      spec: { workflowMetadata: runMetadata, ...workflowSpec(ir, "parameter", null, options) },
    };
  }
  if (schedule.kind !== "cron") throw new Error("an event trigger reached the Argo backend (check() refuses it)");
  const dst = dstGuard(parseCron(schedule.cron) as Cron, schedule.timezone, schedule);
  const guard = windowGuard(schedule, dst);
  return {
    apiVersion: API_VERSION,
    kind: "CronWorkflow",
    metadata,
    spec: {
      // A second schedule for the hour after a daylight-saving gap slot (`dstGuard`).
      schedules: dst?.added ? [schedule.cron, dst.added] : [schedule.cron],
      timezone: schedule.timezone,
      concurrencyPolicy: CONCURRENCY_POLICY,
      startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
      suspend: false,
      ...(guard !== null ? { when: guard } : {}),
      workflowMetadata: runMetadata,
      workflowSpec: workflowSpec(ir, "scheduled", schedule.periodSeconds, options),
    },
  };
}

/**
 * What Argo's executor does with the Kubernetes API for these workflows, and nothing
 * more: it creates, then patches, one WorkflowTaskResult per pod (upsertTaskResult in
 * workflow/executor/taskresult.go; docs/workflow-rbac.md, "The minimum for the executor
 * to function", >= v3.4). Its other API calls (artifact Secrets and ConfigMaps, pod
 * annotations, the agent) serve features these files do not use. Approval gates and the
 * run-status task are suspend templates, no pod; the CronWorkflow's runs are created by
 * the controller with its own account.
 */
export const EXECUTOR_RULES = [{ apiGroups: ["argoproj.io"], resources: ["workflowtaskresults"], verbs: ["create", "patch"] }] as const;

/**
 * With `dependencies`, the waits' pods also read the upstream runs: `kubectl get` of one
 * named Workflow, then GETs of its self link (ExecResource, checkResourceState in
 * workflow/executor/resource.go): `get` on `workflows`, nothing else.
 */
export const UPSTREAM_RULE = { apiGroups: ["argoproj.io"], resources: ["workflows"], verbs: ["get"] } as const;

export function executorRules(ir: Workflow): readonly ((typeof EXECUTOR_RULES)[number] | typeof UPSTREAM_RULE)[] {
  return ir.upstream.length > 0 ? [...EXECUTOR_RULES, UPSTREAM_RULE] : EXECUTOR_RULES;
}

/**
 * The ServiceAccount the runs' pods use, its Role and the RoleBinding between them
 * (targets/kubernetes.ts `accountObjects`); none when the serviceAccount option names an
 * existing account.
 */
export function accountObjects(ir: Workflow, options: ArgoOptions = DEFAULT_OPTIONS): Record<string, unknown>[] {
  if (options.serviceAccount !== undefined) return [];
  return kubernetesAccount(
    argoExecutorAccountName(ir.name),
    options.namespace ?? null,
    objectLabels(kubeName(ir.name), TARGET_NAME),
    executorRules(ir),
  ) as unknown as Record<string, unknown>[];
}

/** The Workflow rights of an event-triggered workflow's Sensor: it creates runs (the k8s trigger's create, pkg/sensors/triggers/standard-k8s). */
export const SENSOR_RULES = [{ apiGroups: ["argoproj.io"], resources: ["workflows"], verbs: ["create"] }] as const;

/**
 * Argo Events' objects for an event trigger (README "Event triggers"): a webhook
 * EventSource the object store posts its S3 event notifications to, and a Sensor that,
 * for a record of a new object in the bucket under the prefix, creates a Workflow from
 * the WorkflowTemplate with `logical-date` set to the record's `eventTime`. The Sensor
 * uses the k8s trigger (a create through the Kubernetes API,
 * pkg/sensors/triggers/standard-k8s/standard-k8s.go in argoproj/argo-events), not the
 * argoWorkflow trigger, which shells out to the `argo` CLI bundled in the sensor image.
 */
export function eventObjects(ir: Workflow, event: EventSchedule, options: ArgoOptions = DEFAULT_OPTIONS): Record<string, unknown>[] {
  const name = kubeName(ir.name);
  const labels = objectLabels(name, TARGET_NAME);
  const namespace = options.namespace !== undefined ? { namespace: options.namespace } : {};
  const account = argoSensorAccountName(ir.name);
  const body = "body.Records.0";
  const eventSource = {
    apiVersion: API_VERSION,
    kind: "EventSource",
    metadata: objectMetadata(ir, name, options),
    spec: {
      // A Service in front of the event source's pod, at <name>-eventsource-svc:<port>.
      service: { ports: [{ port: ARGO_EVENT_PORT, targetPort: ARGO_EVENT_PORT }] },
      webhook: { [ARGO_EVENT_NAME]: { port: String(ARGO_EVENT_PORT), endpoint: `/${ARGO_EVENT_NAME}`, method: "POST" } },
    },
  };
  const sensor = {
    apiVersion: API_VERSION,
    kind: "Sensor",
    metadata: objectMetadata(ir, name, options),
    spec: {
      template: { serviceAccountName: account },
      dependencies: [
        {
          name: ARGO_EVENT_NAME,
          eventSourceName: name,
          eventName: ARGO_EVENT_NAME,
          // Data filters match string values as regular expressions (filterData in pkg/sensors/dependencies/filter.go), all of them.
          filters: {
            data: [
              { path: `${body}.eventName`, type: "string", value: [OBJECT_CREATED_PATTERN] },
              { path: `${body}.s3.bucket.name`, type: "string", value: [bucketPattern(event)] },
              { path: `${body}.s3.object.key`, type: "string", value: [keyPattern(event)] },
            ],
          },
        },
      ],
      triggers: [
        {
          template: {
            name: "submit",
            k8s: {
              operation: "create",
              source: {
                resource: {
                  apiVersion: API_VERSION,
                  kind: "Workflow",
                  // No kfm-compile labels: a run is not an object `apply --prune` manages (as a CronWorkflow's runs).
                  metadata: { generateName: `${name}-`, ...namespace, annotations: { [ARGO_SPEC_NAME_ANNOTATION]: ir.name } },
                  spec: { workflowTemplateRef: { name }, arguments: { parameters: [{ name: ARGO_LOGICAL_DATE_PARAMETER }] } },
                },
              },
              // The run's logical date: the record's eventTime (RFC 3339 in UTC), set by the sensor (ApplyParams, pkg/sensors/triggers/params.go).
              parameters: [{ src: { dependencyName: ARGO_EVENT_NAME, dataKey: `${body}.eventTime` }, dest: "spec.arguments.parameters.0.value" }],
            },
          },
        },
      ],
    },
  };
  const accountDocs = kubernetesAccount(account, options.namespace ?? null, labels, SENSOR_RULES) as unknown as Record<string, unknown>[];
  return [...accountDocs, eventSource, sensor];
}

/**
 * Every object of a workflow, in the order one `kubectl apply -f` creates them: the
 * account and its rights, the semaphore's ConfigMap, then the CronWorkflow or
 * WorkflowTemplate that uses them, and for an event trigger the Sensor's account, the
 * EventSource and the Sensor after the WorkflowTemplate they submit.
 */
export function objects(ir: Workflow, options: ArgoOptions = DEFAULT_OPTIONS): Record<string, unknown>[] {
  const configMap = concurrencyConfigMap(ir, options);
  const events = ir.schedule?.kind === "event" ? eventObjects(ir, ir.schedule, options) : [];
  return [...accountObjects(ir, options), ...(configMap !== null ? [configMap as Record<string, unknown>] : []), argoObject(ir, options), ...events];
}

export function emit(ir: Workflow, options: ArgoOptions = DEFAULT_OPTIONS): string {
  // Each document opens with `---`, as yamllint's default `document-start` rule wants.
  return hashComment(headerLines(ir, TARGET_NAME)) + toYamlStream(objects(ir, options), { anchors: NOTIFY_ANCHOR });
}
