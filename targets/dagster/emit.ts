/**
 * IR -> one Dagster Python module holding `defs = Definitions(...)`. Everything is decided
 * here: the view model holds finished Python source (every string already a Python literal,
 * every long value already laid out as `ruff format` leaves it), and `module.py.hbs` only
 * places it. README.md beside this file says how each feature maps and where Dagster's
 * source says so.
 */
import { lazyTemplate } from "../template.js";
import { dstGuard, everyHour, gapSlotsOnTheHour, parseCron, type DstGuard } from "../../src/cron.js";
import { hashComment, headerLines } from "../../src/header.js";
import { retryWaits, type CronSchedule, type EnvVar, type Job, type Notification, type Template, type UpstreamWorkflow, type Workflow } from "../../src/ir.js";
import { kubeName, NOTIFY_CURL_IMAGE } from "../../src/names.js";
import { NOTIFY_SCRIPT, NOTIFY_TASK_SECONDS, notifyInputs } from "../../src/notify.js";
import { RESTRICTED_CONTAINER_SECURITY_CONTEXT, RESTRICTED_POD_SECURITY_CONTEXT } from "../kubernetes.js";
// Python literals and layout as ruff format leaves them: one writer of Python for both Python targets.
import { INDENT, LINE_LENGTH, layout, pyCall, pyDict, pyJson, pyList, pyNum, pyStr, valueAt, type Py } from "../python.js";
import { DEFAULT_OPTIONS, type DagsterOptions } from "./options.js";

export const TARGET_NAME = "dagster";

/** The run tag holding the logical date (the template writes it; lift.ts and runs.ts read it). */
export const LOGICAL_DATE_TAG = "kfm-compile.dev/logical-date";

/**
 * The run tag Dagster's run monitoring reads as the run's time limit in seconds
 * (`dagster/_core/storage/tags.py` MAX_RUNTIME_SECONDS_TAG; `dagster/_daemon/monitoring/run_monitoring.py`
 * cancels a run past it).
 */
export const MAX_RUNTIME_TAG = "dagster/max_runtime";

/** The op tag holding the job's spec name (Dagster names read `-` as `_`). */
export const JOB_TAG = "kfm-compile.dev/job";

/**
 * The run tag the instance's run queue limits (max_active_runs): its value is the workflow's
 * name, and the QueuedRunCoordinator's `tag_concurrency_limits` entry for that key and value
 * (`dagster/_utils/tags.py` TagConcurrencyLimitsCounter: a limit with a string `value` counts
 * only runs with that key-value pair) keeps a run QUEUED while N runs carrying it are in
 * progress (`dagster/_daemon/run_coordinator/queued_run_coordinator_daemon.py`). The job's
 * metadata under the same key states N for the UI and the lift.
 */
export const QUEUE_TAG = "kfm-compile.dev/max-active-runs";

/** The resource key of the launcher every op takes (a test swaps the resource under it). */
export const LAUNCHER_KEY = "kfm_launcher";

/**
 * A Dagster name (`dagster/_core/definitions/utils.py` VALID_NAME_REGEX `^[A-Za-z0-9_]+$`):
 * spec names are `[a-z][a-z0-9_-]*`, so `-` becomes `_`. Two spec names that map to the same
 * one also map to the same Kubernetes name, which the core already refuses (src/names.ts
 * NAME_SPACES).
 */
export function dagsterName(specName: string): string {
  return specName.replace(/-/g, "_");
}

/** The Python function of a job's op (a suffix keeps it clear of keywords and imported names). */
export function opFunction(specName: string): string {
  return `${dagsterName(specName)}_op`;
}

/** The Nothing input of an op that waits for `upstream`. */
export function afterInput(upstream: string): string {
  return `after_${dagsterName(upstream)}`;
}

/** The job's variable holding an op's (Nothing) output inside the job body. */
function doneVariable(specName: string): string {
  return `${dagsterName(specName)}_done`;
}

/**
 * The Dagster job's name (and function): the workflow's with `_job`, since op and job names
 * share one namespace in a code location (`repository_data.py` `_check_node_defs`) and a lone
 * job is named as its workflow.
 */
export function jobFunction(workflow: string): string {
  return `${dagsterName(workflow)}_job`;
}

export function scheduleName(workflow: string): string {
  return `${dagsterName(workflow)}_schedule`;
}

/** The sensor that starts every slot of a `catchup: true` schedule (see catchupView). */
export function catchupName(workflow: string): string {
  return `${dagsterName(workflow)}_catchup`;
}

// ---------------------------------------------------------------- text

/**
 * A template as a Python expression over the op's `values` (the template's `kfm_values`):
 * literal text as a string literal, one variable as `values["ds"]`, a mix as a format string
 * (`{` and `}` doubled) with `.format_map(values)`. Kubernetes expands `$(VAR)` and `$$` in
 * command, args and env values (`dollars`), so literal `$` is doubled there.
 */
export function pyTemplate(t: Template, dollars: boolean): Py {
  const literal = (text: string): string => (dollars ? text.replace(/\$/g, "$$$$") : text);
  if (t.length === 0) return '""';
  if (t.every((s) => "text" in s)) return pyStr(t.map((s) => literal((s as { text: string }).text)).join(""));
  if (t.length === 1 && "variable" in t[0]!) return `values[${pyStr(t[0].variable)}]`;
  const format = t.map((s) => ("variable" in s ? `{${s.variable}}` : literal(s.text).replace(/\{/g, "{{").replace(/\}/g, "}}"))).join("");
  return { open: `${pyStr(format)}.format_map(`, items: [{ prefix: "", value: "values" }], close: ")" };
}

function pyTemplates(ts: readonly Template[] | null): Py {
  return ts === null ? "None" : pyList(ts.map((t) => pyTemplate(t, true)));
}

/** One Kubernetes `EnvVar`, as execute_k8s_job's `container_config` takes it (camelCase keys, plain dicts: dagster#28663). */
function pyEnvVar(e: EnvVar): Py {
  if ("value" in e)
    return pyDict([
      ['"name"', pyStr(e.name)],
      ['"value"', pyTemplate(e.value, true)],
    ]);
  return pyDict([
    ['"name"', pyStr(e.name)],
    [
      '"valueFrom"',
      pyDict([
        [
          '"secretKeyRef"',
          pyDict([
            ['"name"', pyStr(e.secretRef.secret)],
            ['"key"', pyStr(e.secretRef.key)],
          ]),
        ],
      ]),
    ],
  ]);
}

/** Requests equal to limits (the IR's meaning of `cpu` and `memory`), or None. */
function pyResources(job: Job): Py {
  const q: [string, Py][] = [];
  if (job.resources.cpu !== null) q.push(['"cpu"', pyStr(job.resources.cpu)]);
  if (job.resources.memory !== null) q.push(['"memory"', pyStr(job.resources.memory)]);
  if (q.length === 0) return "None";
  return pyDict([
    ['"requests"', pyDict(q)],
    ['"limits"', pyDict(q)],
  ]);
}

// ---------------------------------------------------------------- view model

interface OpView {
  readonly name: string;
  readonly description: string;
  readonly ins: string;
  readonly tags: string;
  /** `def <job>_op(context, kfm_launcher: KfmLauncher):`, split as ruff would when long. */
  readonly signature: string;
  readonly waits: string;
  readonly image: string;
  readonly command: string;
  readonly args: string;
  readonly env: string;
  readonly resources: string;
  readonly timeout: string;
  /** on_upstream_failure: continue: the `out=` line of an op a continue job waits for (0 or 1). */
  readonly outs: readonly string[];
  /** The call running the attempts: `kfm_attempt`, or `yield from kfm_attempt_then_end` (continue). */
  readonly attempt: string;
}

/** dependencies (other workflows): one op waiting for an upstream workflow's run. */
interface WaitView {
  readonly name: string;
  readonly description: string;
  readonly fn: string;
  /** `kfm_wait_for_upstream(context, workflow=..., job=..., timeout=...)`, laid out at the op body's depth. */
  readonly call: string;
}

interface ScheduleView {
  readonly name: string;
  readonly job: string;
  readonly cron: string;
  readonly timezone: string;
  /** `def <workflow>_schedule(context: ScheduleEvaluationContext):`, split as ruff would when long. */
  readonly signature: string;
  readonly window: readonly { readonly condition: string }[];
  /** One item when the schedule function keeps the meaning's daylight-saving instants (`dagsterDstGuard`). */
  readonly dstGuard: readonly object[];
}

interface ModuleView {
  readonly header: string;
  readonly imports: string;
  readonly workflow: string;
  readonly runTokenSeed: string;
  readonly period: readonly string[];
  readonly windowLines: readonly string[];
  /** The daylight-saving guard's constants (`dstGuardLines`), and one item for its functions when there is one. */
  readonly dstLines: readonly string[];
  readonly dstGuard: readonly object[];
  readonly ops: readonly OpView[];
  readonly jobName: string;
  readonly jobDescription: string;
  readonly jobTags: string;
  /** max_active_runs: the comment above `@job` and its `metadata=` (none without a limit). */
  readonly queue: readonly { readonly comment: string; readonly metadata: string }[];
  readonly jobFunction: string;
  readonly calls: readonly string[];
  readonly schedules: readonly ScheduleView[];
  readonly scheduleList: string;
  /** The `KfmApproval` resource class when the workflow has approval gates (0 or 1). */
  readonly approvalClass: readonly true[];
  /** One op per approval gate (see gateOpView). */
  readonly gates: readonly GateOpView[];
  /** The catch-up sensor of a `catchup: true` schedule, in place of the `@schedule` (0 or 1). */
  readonly catchups: readonly CatchupView[];
  /** `sensors=[<workflow>_catchup],` in `Definitions(...)` (0 or 1). */
  /** The `sensors=[...]` line of `Definitions` (0 or 1): the catch-up sensor, the failure notifications' sensor. */
  readonly sensorList: readonly string[];
  /** `{"kfm_launcher": KfmLauncher(...)}`, laid out at the `Definitions(` keyword depth. */
  readonly resources: string;
  /** on_upstream_failure: continue: one item when a job continues (the helper and KFM_EXECUTOR are written). */
  readonly continuation: readonly string[];
  /** dependencies (other workflows): one item when there are any (the poll helper is written), and the wait ops. */
  readonly upstreamHelper: readonly string[];
  readonly upstreamWaits: readonly WaitView[];
  /** `[<workflow>_job]`, and the notification job when there is one. */
  readonly jobList: string;
  /** The failure notifications' sensor, job and ops (0 or 1): README "Failure notifications". */
  readonly notify: readonly NotifyModuleView[];
}

/** Jobs in an order where every job comes after the jobs it depends on (spec order otherwise). */
export function topological(jobs: readonly Job[]): Job[] {
  const done = new Set<string>();
  const out: Job[] = [];
  while (out.length < jobs.length) {
    const before = out.length;
    for (const j of jobs) {
      if (!done.has(j.name) && j.dependsOn.every((d) => done.has(d))) {
        done.add(j.name);
        out.push(j);
      }
    }
    if (out.length === before) throw new Error("kfm-compile bug: a dependency cycle reached the dagster backend");
  }
  return out;
}

function opView(job: Job, ending: ReadonlySet<string>, waits: readonly string[]): OpView {
  return {
    name: pyStr(dagsterName(job.name)),
    description: job.description === null ? "None" : valueAt(pyStr(job.description), 1, "description="),
    ins: valueAt(pyDict(opWaitsFor(job, waits).map((d) => [pyStr(afterInput(d)), pyCall("In", ["Nothing"])])), 1, "ins="),
    tags: valueAt(pyDict([[pyStr(JOB_TAG), pyStr(job.name)]]), 1, "tags="),
    signature: layout(
      { open: `def ${opFunction(job.name)}(`, items: ["context", "kfm_launcher: KfmLauncher"].map((value) => ({ prefix: "", value })), close: "):" },
      0,
    ).join("\n"),
    waits: valueAt(pyList(retryWaits(job.retry).map(pyNum)), 2, "waits="),
    image: valueAt(pyStr(job.image), 2, "image="),
    command: valueAt(pyTemplates(job.command), 2, "command="),
    args: valueAt(pyTemplates(job.args), 2, "args="),
    env: valueAt(pyList(job.env.map(pyEnvVar)), 2, "env="),
    resources: valueAt(pyResources(job), 2, "resources="),
    timeout: job.timeoutSeconds === null ? "None" : pyNum(job.timeoutSeconds),
    ...continueOpView(job, ending),
  };
}

/** The job body: one call per op, its output kept in a variable when a later op waits for it. */
function calls(jobs: readonly Job[], waits: readonly string[]): string[] {
  const waitedFor = new Set(jobs.flatMap((j) => j.dependsOn));
  // The `result` output is kept only when a job that stops after a failure waits for it; a
  // continue job takes `ended`. An unused unpacked name is `_` (ruff RUF059).
  const resultUsed = new Set(jobs.filter((j) => j.runWhen !== "all_done").flatMap((j) => j.dependsOn));
  const ending = endingJobs(jobs);
  const waitCalls = waits.map((w) => {
    const prefix = `${doneVariable(w)} = `;
    const one = `${INDENT}${prefix}${opFunction(w)}()`;
    return one.length > LINE_LENGTH ? `${prefix}(\n${INDENT.repeat(2)}${opFunction(w)}()\n${INDENT})` : one.slice(INDENT.length);
  });
  return [
    ...waitCalls,
    ...topological(jobs).map((j) => {
      const call = pyCall(
        opFunction(j.name),
        [],
        opWaitsFor(j, waits).map((d) => [afterInput(d), j.runWhen === "all_done" && !waits.includes(d) ? endedVariable(d) : doneVariable(d)]),
      );
      const prefix = ending.has(j.name)
        ? `${resultUsed.has(j.name) ? doneVariable(j.name) : "_"}, ${endedVariable(j.name)} = `
        : waitedFor.has(j.name)
          ? `${doneVariable(j.name)} = `
          : "";
      const one = `${INDENT}${prefix}${opFunction(j.name)}()`;
      // A call without arguments cannot split; ruff wraps a long right-hand side in parentheses.
      if (j.dependsOn.length === 0 && prefix !== "" && one.length > LINE_LENGTH) return `${prefix}(\n${INDENT.repeat(2)}${opFunction(j.name)}()\n${INDENT})`;
      return layout(call, 1, prefix).join("\n").slice(INDENT.length);
    }),
  ];
}

/** `datetime(Y, M, D, h, m, s, tzinfo=KFM_ZONE)` for a window bound (`YYYY-MM-DDTHH:MM:SS`) local to the schedule's zone. */
function windowBound(constant: string, local: string): string {
  const fields = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)$/.exec(local);
  if (fields === null) throw new Error(`kfm-compile bug: window bound ${local}`);
  return `${constant} = datetime(${fields
    .slice(1)
    .map((f) => String(Number(f)))
    .join(", ")}, tzinfo=KFM_ZONE)`;
}

function windowLines(s: CronSchedule | null): string[] {
  if (s === null || (s.start === null && s.end === null)) return [];
  return [
    "# The workflow's window, read in the schedule's time zone: a slot outside it starts no run.",
    `KFM_ZONE = ZoneInfo(${pyStr(s.timezone)})`,
    ...(s.start === null ? [] : [windowBound("KFM_WINDOW_START", s.start)]),
    ...(s.end === null ? [] : [windowBound("KFM_WINDOW_END", s.end)]),
  ];
}

function scheduleView(ir: Workflow, s: CronSchedule): ScheduleView {
  const conditions = [...(s.start === null ? [] : ["fire < KFM_WINDOW_START"]), ...(s.end === null ? [] : ["fire > KFM_WINDOW_END"])];
  return {
    name: pyStr(scheduleName(ir.name)),
    job: jobFunction(ir.name),
    cron: pyStr(dagsterDstGuard(s)?.cron ?? s.cron),
    timezone: pyStr(s.timezone),
    signature: layout({ open: `def ${scheduleName(ir.name)}(`, items: [{ prefix: "", value: "context: ScheduleEvaluationContext" }], close: "):" }, 0).join(
      "\n",
    ),
    window: conditions.length === 0 ? [] : [{ condition: conditions.join(" or ") }],
    dstGuard: dagsterDstGuard(s) === null ? [] : [{}],
  };
}

/** The imports the module uses, as `ruff format` leaves them (stdlib, then third party). */
function imports(ir: Workflow, s: CronSchedule | null): string {
  // A catch-up workflow has a sensor in place of the schedule (catchup section below).
  const catchup = s !== null && s.catchup;
  const scheduled = s !== null && !s.catchup;
  // The daylight-saving guard reads the zone (ZoneInfo), steps an hour back (timedelta) and skips ticks (SkipReason).
  const guard = scheduled && dagsterDstGuard(s) !== null;
  const window = windowLines(s).length > 0 || guard;
  const period = catchup || (s !== null && s.periodSeconds !== null) || guard;
  const deps = ir.jobs.some((j) => j.dependsOn.length > 0) || ir.upstream.length > 0;
  const upstream = ir.upstream.length > 0;
  const continues = endingJobs(ir.jobs).size > 0;
  const gates = hasGates(ir);
  const stdlib = [
    "import hashlib",
    ...(upstream || gates ? ["import time"] : []),
    `from datetime import ${["UTC", "datetime", ...(period ? ["timedelta"] : [])].join(", ")}`,
  ];
  if (window) stdlib.push("from zoneinfo import ZoneInfo");
  // Failure notifications: the run failure sensor and its notification job (README "Failure notifications").
  const notify = ir.notifications.length > 0;
  // In the order ruff's isort keeps them: classes, then functions, each alphabetical.
  const names = [
    "ConfigurableResource",
    ...(notify ? ["DagsterEventType"] : []),
    ...(upstream ? ["DagsterRunStatus"] : []),
    ...(scheduled ? ["DefaultScheduleStatus"] : []),
    ...(catchup || notify ? ["DefaultSensorStatus"] : []),
    "Definitions",
    ...(upstream || gates ? ["Failure"] : []),
    ...(deps ? ["In", "Nothing"] : []),
    ...(continues ? ["Out", "Output"] : []),
    "RetryRequested",
    ...(notify ? ["RunFailureSensorContext"] : []),
    ...(s !== null || notify ? ["RunRequest"] : []),
    ...(upstream ? ["RunsFilter"] : []),
    ...(scheduled ? ["ScheduleEvaluationContext"] : []),
    ...(catchup ? ["SensorEvaluationContext", "SensorResult"] : []),
    ...(window && scheduled ? ["SkipReason"] : []),
    "job",
    ...(continues ? ["multiprocess_executor"] : []),
    "op",
    ...(notify ? ["run_failure_sensor"] : []),
    ...(scheduled ? ["schedule"] : []),
    ...(catchup ? ["sensor"] : []),
  ];
  const dagster = layout({ open: "from dagster import (", items: names.map((value) => ({ prefix: "", value })), close: ")" }, 0);
  const one = `from dagster import ${names.join(", ")}`;
  return [
    ...stdlib,
    "",
    ...(gates ? ["import kubernetes"] : []),
    ...(one.length <= 88 ? [one] : dagster),
    // The scheduler's own tick iterator, which the catch-up sensor walks (internal to Dagster: pinned to 1.13).
    ...(catchup ? ["from dagster._utils.schedules import schedule_execution_time_iterator"] : []),
    "from dagster_k8s import execute_k8s_job",
  ].join("\n");
}

/** The module's sensors, for `Definitions(sensors=[...])`: the catch-up sensor (in place of the schedule), the run failure sensor. */
function sensorList(ir: Workflow, s: CronSchedule | null): string[] {
  const sensors = [...(s !== null && s.catchup ? [catchupName(ir.name)] : []), ...(ir.notifications.length > 0 ? [NOTIFY_SENSOR] : [])];
  return sensors.length === 0 ? [] : [`sensors=${valueAt(pyList(sensors), 1, "sensors=")},`];
}

function viewModel(ir: Workflow, options: DagsterOptions): ModuleView {
  const s = ir.schedule?.kind === "cron" ? ir.schedule : null;
  // "0" when the workflow has no timeout: run monitoring reads a falsy limit as none, where a
  // missing tag would take the instance's `run_monitoring.max_runtime_seconds` default.
  const tags: [string, Py][] = [[pyStr(MAX_RUNTIME_TAG), pyStr(pyNum(ir.timeoutSeconds ?? 0))]];
  if (ir.maxActiveRuns !== null) tags.push([pyStr(QUEUE_TAG), pyStr(ir.name)]);
  const launcher: [string, Py][] = [];
  if (options.namespace !== undefined) launcher.push(["namespace", pyStr(options.namespace)]);
  if (options.serviceAccount !== undefined) launcher.push(["service_account_name", pyStr(options.serviceAccount)]);
  return {
    header: hashComment(headerLines(ir, TARGET_NAME)),
    imports: imports(ir, s),
    workflow: pyStr(ir.name),
    runTokenSeed: pyStr(ir.runTokenSeed),
    period: s !== null && s.periodSeconds !== null ? [pyNum(s.periodSeconds)] : [],
    windowLines: windowLines(s),
    dstLines: s === null || s.catchup ? [] : dstGuardLines(s),
    dstGuard: s !== null && !s.catchup && dagsterDstGuard(s) !== null ? [{}] : [],
    ops: ir.jobs.filter((j) => j.approval === null).map((j) => opView(j, endingJobs(ir.jobs), upstreamWaitOps(ir))),
    approvalClass: hasGates(ir) ? [true] : [],
    gates: ir.jobs.filter((j) => j.approval !== null).map((j) => gateOpView(j, upstreamWaitOps(ir))),
    jobName: pyStr(jobFunction(ir.name)),
    jobDescription: ir.description === null ? "None" : valueAt(pyStr(ir.description), 1, "description="),
    jobTags: valueAt(pyDict(tags), 1, "tags="),
    queue: queueView(ir),
    jobFunction: jobFunction(ir.name),
    calls: calls(ir.jobs, upstreamWaitOps(ir)),
    schedules: s === null || s.catchup ? [] : [scheduleView(ir, s)],
    scheduleList: s === null || s.catchup ? "[]" : `[${scheduleName(ir.name)}]`,
    catchups: s !== null && s.catchup ? [catchupView(ir, s)] : [],
    resources: valueAt(
      pyDict([
        [pyStr(LAUNCHER_KEY), pyCall("KfmLauncher", [], launcher)],
        ...(hasGates(ir)
          ? [[pyStr(APPROVAL_KEY), pyCall("KfmApproval", [], options.namespace === undefined ? [] : [["namespace", pyStr(options.namespace)]])] as [string, Py]]
          : []),
      ]),
      1,
      "resources=",
    ),
    continuation: endingJobs(ir.jobs).size > 0 ? ["KFM_EXECUTOR"] : [],
    upstreamHelper: ir.upstream.length > 0 ? ["kfm_wait_for_upstream"] : [],
    upstreamWaits: ir.upstream.map(waitView),
    sensorList: sensorList(ir, s),
    jobList: `[${[jobFunction(ir.name), ...(ir.notifications.length > 0 ? [NOTIFY_JOB] : [])].join(", ")}]`,
    notify: ir.notifications.length === 0 ? [] : [notifyModuleView(ir)],
  };
}

// ---------------------------------------------------------------- failure notifications

/** The job that sends the failure notifications of a failed run (README "Failure notifications"). */
export const NOTIFY_JOB = "kfm_notify_job";

/** The run failure sensor that starts NOTIFY_JOB once per failed run. */
export const NOTIFY_SENSOR = "kfm_failure_sensor";

/** The op that sends failure notification `index` (0-based, spec order). */
export function notifyOp(index: number): string {
  return `kfm_notify_${index + 1}`;
}

/** The run tags the sensor gives a notification run: the failed run's id and its failed jobs (space-separated). */
export const FAILED_RUN_TAG = "kfm-compile.dev/failed-run";
export const FAILED_JOBS_TAG = "kfm-compile.dev/failed-jobs";

/** How a notification op reads a run tag the sensor set (a literal key, as lift.ts reads it back). */
export function runTag(tag: string): string {
  return `context.run_tags[${pyStr(tag)}]`;
}

interface NotifyOpView {
  readonly name: string;
  readonly description: string;
  readonly function: string;
  readonly env: string;
  readonly timeout: string;
}

interface NotifyModuleView {
  readonly jobTag: string;
  readonly image: string;
  readonly script: string;
  readonly restrictedPod: string;
  readonly restrictedContainer: string;
  readonly ops: readonly NotifyOpView[];
  readonly jobName: string;
  readonly jobDescription: string;
  readonly jobFunction: string;
  readonly calls: readonly string[];
  readonly sensorName: string;
  readonly sensorFunction: string;
}

/** One notification's env: the shared inputs (src/notify.ts), the failed jobs and the run from the sensor's tags. */
function notifyEnv(ir: Workflow, n: Notification): Py {
  const inputs = notifyInputs(
    n,
    ir.name,
    (t) => pyTemplate(t, true),
    (text) => pyTemplate([{ text }], true),
    runTag(FAILED_JOBS_TAG),
    runTag(FAILED_RUN_TAG),
  );
  return pyList(
    inputs.map((v) =>
      "secret" in v
        ? pyEnvVar({ name: v.name, secretRef: v.secret })
        : pyDict([
            ['"name"', pyStr(v.name)],
            ['"value"', v.value],
          ]),
    ),
  );
}

function notifyModuleView(ir: Workflow): NotifyModuleView {
  return {
    jobTag: pyStr(JOB_TAG),
    image: pyStr(NOTIFY_CURL_IMAGE),
    // Kubernetes expands $(VAR) and $$ in a container's command: every $ is doubled.
    script: pyStr(NOTIFY_SCRIPT.replace(/\$/g, "$$$$")),
    restrictedPod: valueAt(pyJson(RESTRICTED_POD_SECURITY_CONTEXT), 0, "KFM_RESTRICTED_POD = "),
    restrictedContainer: valueAt(pyJson(RESTRICTED_CONTAINER_SECURITY_CONTEXT), 0, "KFM_RESTRICTED_CONTAINER = "),
    ops: ir.notifications.map((n, i) => ({
      name: pyStr(notifyOp(i)),
      description: valueAt(
        pyStr(
          `Sends failure notification ${i + 1} of ${ir.name}: ${n.kind === "slack" ? `a Slack message to ${n.channel}` : `an email to ${n.recipients.join(", ")}`}.`,
        ),
        1,
        "description=",
      ),
      function: `${notifyOp(i)}_op`,
      env: valueAt(notifyEnv(ir, n), 2, "env="),
      timeout: pyNum(NOTIFY_TASK_SECONDS),
    })),
    jobName: pyStr(NOTIFY_JOB),
    jobDescription: valueAt(pyStr(`The failure notifications of a failed run of ${jobFunction(ir.name)}, started by ${NOTIFY_SENSOR}.`), 1, "description="),
    jobFunction: NOTIFY_JOB,
    calls: ir.notifications.map((_, i) => `${notifyOp(i)}_op()`),
    sensorName: pyStr(NOTIFY_SENSOR),
    sensorFunction: NOTIFY_SENSOR,
  };
}

// ---------------------------------------------------------------- catch-up (catchup: true)

/**
 * `catchup: true`: a sensor in place of the schedule. A Dagster schedule never starts every
 * slot since the start date: without partitions it launches only the latest missed tick, and
 * with them at most `max_catchup_runs` (default 5) of the ticks missed since the schedule was
 * turned on, never one before (`dagster/_scheduler/scheduler.py`
 * `launch_scheduled_runs_for_schedule_iterator`: the `tick_times[-1:]` and
 * `tick_times[-max_catchup_runs:]` cuts; its start is the instigator state's `start_timestamp`). The sensor walks the scheduler's own tick iterator
 * (`dagster/_utils/schedules.py` `schedule_execution_time_iterator`, the function behind
 * `RemoteSchedule.execution_time_iterator`) from the start date, or from its cursor (the
 * instant through which it already requested every slot), to now, and requests one run per
 * slot, oldest first, each tagged with its logical date; the run key is the slot, so a slot
 * requested twice starts one run (`dagster/_daemon/sensor.py` `fetch_existing_runs`).
 */
interface CatchupView {
  readonly name: string;
  readonly job: string;
  readonly cron: string;
  readonly timezone: string;
  /** `def <workflow>_catchup(context: SensorEvaluationContext):`, split as ruff would when long. */
  readonly signature: string;
  /** Where the first evaluation starts: the window's start, or (no start date) its own time. */
  readonly first: string;
  /** `max(KFM_WINDOW_START, ...)` when the workflow has a start date (0 or 1 line). */
  readonly notBefore: readonly string[];
  /** The loop's stop: past now, or past the window's end. */
  readonly stop: string;
}

function catchupView(ir: Workflow, s: CronSchedule): CatchupView {
  return {
    name: pyStr(catchupName(ir.name)),
    job: jobFunction(ir.name),
    cron: pyStr(s.cron),
    timezone: pyStr(s.timezone),
    signature: layout({ open: `def ${catchupName(ir.name)}(`, items: [{ prefix: "", value: "context: SensorEvaluationContext" }], close: "):" }, 0).join("\n"),
    first: s.start === null ? "now" : "KFM_WINDOW_START",
    notBefore: s.start === null ? [] : ["begin = max(begin, KFM_WINDOW_START)"],
    stop: s.end === null ? "fire > now" : "fire > now or fire > KFM_WINDOW_END",
  };
}

// ---------------------------------------------------------------- approval gates

/** The resource key of the approval resource every gate op takes (a test swaps the Kubernetes API under it). */
export const APPROVAL_KEY = "kfm_approval";

/** The ConfigMap annotation a person sets to `approve` or `reject` (README "Approval gates"). */
export const DECISION_ANNOTATION = "kfm-compile.dev/decision";

/** The label holding a gate's ConfigMap's gate (its Kubernetes name). */
export const GATE_LABEL = "kfm-compile.dev/gate";

/** The label holding a gate's ConfigMap's Dagster run id. */
export const RUN_LABEL = "kfm-compile.dev/run-id";

/** Seconds between two reads of a gate's ConfigMap. */
export const GATE_POLL_SECONDS = 5;

export function hasGates(ir: Workflow): boolean {
  return ir.jobs.some((j) => j.approval !== null);
}

/**
 * An approval gate: an op that asks `KfmApproval` for the decision. Dagster has no op that
 * waits for a person and its API cannot change a running run (no GraphQL mutation sets a
 * run's tags: dagster-graphql `schema/roots/mutation.py`), so the decision is a Kubernetes
 * ConfigMap the gate creates, named for the run and the gate, which a person annotates with
 * `kubectl annotate` (README "Approval gates"). The op has no retries: a failed gate is final.
 */
interface GateOpView {
  readonly name: string;
  readonly description: string;
  readonly ins: string;
  readonly tags: string;
  /** `def <gate>_op(context, kfm_approval: KfmApproval):`, split as ruff would when long. */
  readonly signature: string;
  readonly gate: string;
  readonly about: string;
  readonly timeout: string;
}

function gateOpView(job: Job, waits: readonly string[]): GateOpView {
  return {
    name: pyStr(dagsterName(job.name)),
    description: job.description === null ? "None" : valueAt(pyStr(job.description), 1, "description="),
    ins: valueAt(pyDict(opWaitsFor(job, waits).map((d) => [pyStr(afterInput(d)), pyCall("In", ["Nothing"])])), 1, "ins="),
    tags: valueAt(pyDict([[pyStr(JOB_TAG), pyStr(job.name)]]), 1, "tags="),
    signature: layout(
      { open: `def ${opFunction(job.name)}(`, items: ["context", "kfm_approval: KfmApproval"].map((value) => ({ prefix: "", value })), close: "):" },
      0,
    ).join("\n"),
    gate: valueAt(pyStr(kubeName(job.name)), 2, "gate="),
    about: valueAt(job.description === null ? "None" : pyStr(job.description), 2, "description="),
    timeout: job.approval!.timeoutSeconds === null ? "None" : pyNum(job.approval!.timeoutSeconds),
  };
}

// ---------------------------------------------------------------- on_upstream_failure: continue

/**
 * The op output a continue job waits for: yielded once the job has ended, succeeded or
 * failed for good, where `result` (what every other dependent waits for) is yielded on
 * success only. README.md "on_upstream_failure: continue".
 */
export const ENDED_OUTPUT = "ended";

/** The job's variable holding an op's `ended` output inside the job body. */
function endedVariable(specName: string): string {
  return `${dagsterName(specName)}_ended`;
}

/** The jobs a continue job waits for: their ops have the `ended` output too. */
export function endingJobs(jobs: readonly Job[]): Set<string> {
  return new Set(jobs.filter((j) => j.runWhen === "all_done").flatMap((j) => j.dependsOn));
}

/**
 * Whether a job's op runs in every run that reaches it (check.ts): a root, or a continue job
 * whose upstream ops all run. Only such an op can yield `ended` after an earlier failure: an
 * op downstream of an op that failed without yielding its input is abandoned
 * (`dagster/_core/execution/plan/active.py` `_all_upstream_outputs_failed_or_abandoned`).
 */
export function alwaysRuns(job: Job, byName: ReadonlyMap<string, Job>): boolean {
  if (job.dependsOn.length === 0) return true;
  return job.runWhen === "all_done" && job.dependsOn.every((d) => alwaysRuns(byName.get(d)!, byName));
}

function continueOpView(job: Job, ending: ReadonlySet<string>): Pick<OpView, "outs" | "attempt"> {
  if (!ending.has(job.name)) return { outs: [], attempt: "kfm_attempt" };
  const outs = pyDict([
    ['"result"', pyCall("Out", ["Nothing"])],
    [pyStr(ENDED_OUTPUT), pyCall("Out", ["Nothing"])],
  ]);
  return { outs: [valueAt(outs, 1, "out=")], attempt: "yield from kfm_attempt_then_end" };
}

// ---------------------------------------------------------------- dependencies (other workflows)

/**
 * The op waiting for an upstream workflow's run of the same logical date (README.md
 * "Cross-workflow dependencies"); check.ts refuses a job of the same name.
 */
export function waitOpName(upstream: string): string {
  return `kfm_wait_${dagsterName(upstream)}`;
}

/** The wait ops of a workflow, one per upstream workflow, in spec order. */
function upstreamWaitOps(ir: Workflow): string[] {
  return ir.upstream.map((u) => waitOpName(u.workflow));
}

/** What an op waits for: its jobs, and every wait op when it is a root. */
function opWaitsFor(job: Job, waits: readonly string[]): string[] {
  return job.dependsOn.length === 0 ? [...waits] : [...job.dependsOn];
}

function waitView(u: UpstreamWorkflow): WaitView {
  const call = pyCall(
    "kfm_wait_for_upstream",
    ["context"],
    [
      ["workflow", pyStr(u.workflow)],
      ["job", pyStr(jobFunction(u.workflow))],
      ["timeout", u.timeoutSeconds === null ? "None" : pyNum(u.timeoutSeconds)],
    ],
  );
  return {
    name: pyStr(waitOpName(u.workflow)),
    description: valueAt(pyStr(`Waits for the run of workflow ${u.workflow} of the same logical date to succeed.`), 1, "description="),
    fn: opFunction(waitOpName(u.workflow)),
    call: layout(call, 1).join("\n").slice(INDENT.length),
  };
}

// ---------------------------------------------------------------- daylight saving

/**
 * The daylight-saving guard of a schedule (README "Schedules", daylight saving), or null when
 * Dagster's own iterator already fires the meaning's instants: a cron firing every hour, a cron
 * whose gap slots are all on the hour (Dagster fires them at the end of the gap, the meaning's
 * instant too), a cron with fold slots only (Dagster fires the later occurrence,
 * `dagster/_utils/schedules.py` `_apply_fold`), or none in a change. Otherwise Dagster fires a
 * gap slot not on the hour at the end of the gap (`apply_post_transition`: 02:30 at 03:00),
 * where the meaning fires it an hour late (03:30): the schedule gets the hour after each gap
 * slot (src/cron.ts `dstGuard`, as Argo and Tekton) and the schedule function keeps a tick only
 * when it is a slot of the cron at the meaning's instant (`kfm_is_slot` in module.py.hbs).
 * Null too when one added hour cannot fire a gap slot (`gapHourShift`): the core refuses that
 * (KFM220, index.ts `DAGSTER_CRON`).
 */
export function dagsterDstGuard(s: Pick<CronSchedule, "cron" | "timezone" | "start" | "end">): DstGuard | null {
  const c = parseCron(s.cron);
  if (typeof c === "string" || everyHour(c) || gapSlotsOnTheHour(c, s.timezone, s)) return null;
  return dstGuard(c, s.timezone, s);
}

/** The guard's constants: the zone (unless the window's lines hold it), the cron's own hours and minutes. */
function dstGuardLines(s: CronSchedule): string[] {
  const guard = dagsterDstGuard(s);
  if (guard === null) return [];
  const c = parseCron(s.cron);
  if (typeof c === "string") return [];
  const set = (name: string, values: readonly number[]) =>
    layout({ open: `${name} = {`, items: values.map((v) => ({ prefix: "", value: String(v) })), close: "}" }, 0).join("\n");
  return [
    "# Daylight saving: Dagster's cron iterator fires a slot in a gap (a wall time that does",
    "# not exist) at the end of the gap, on the hour (dagster/_utils/schedules.py",
    "# apply_post_transition), where the workflow fires it an hour late, at its wall time read",
    "# with the offset before the gap. So the schedule also holds the hour after such a slot,",
    "# and kfm_is_slot keeps the ticks that are the cron's own slots (these hours and",
    "# minutes) at the instants the workflow fires them.",
    ...(windowLines(s).length > 0 ? [] : [`KFM_ZONE = ZoneInfo(${pyStr(s.timezone)})`]),
    set("KFM_SLOT_HOURS", guard.hours),
    set("KFM_SLOT_MINUTES", c.minutes),
  ];
}

// ---------------------------------------------------------------- max_active_runs

/**
 * The job's run queue: job tags reach every run of the job (the schedule's runs,
 * `dagster/_scheduler/scheduler.py` `{**remote_job.run_tags, ...}`; `dagster job launch`,
 * `dagster/_cli/job.py` `_check_execute_remote_job_args`), and the instance's limit for the
 * tag is a prerequisite (prerequisites.ts `queuePrerequisite`).
 */
function queueView(ir: Workflow): ModuleView["queue"] {
  const n = ir.maxActiveRuns;
  if (n === null) return [];
  const runs = n === 1 ? "1 run" : `${n} runs`;
  const comment = [
    `# At most ${runs} of this job at once. Every run carries the run tag`,
    `# ${QUEUE_TAG}, and the instance's QueuedRunCoordinator keeps a new`,
    `# run QUEUED while ${runs} with the tag ${n === 1 ? "is" : "are"} in progress (its tag_concurrency_limits in`,
    "# dagster.yaml: `kfm-compile explain --target dagster` prints the entry). Queued runs",
    "# start in order, each with its own logical date; the DefaultRunCoordinator ignores",
    "# the tag.",
  ];
  return [{ comment: comment.join("\n"), metadata: valueAt(pyDict([[pyStr(QUEUE_TAG), pyNum(n)]]), 1, "metadata=") }];
}

// ---------------------------------------------------------------- template

export const TEMPLATE_PATH = "targets/dagster/module.py.hbs";

const template = lazyTemplate<ModuleView>(TEMPLATE_PATH);

export function emit(ir: Workflow, options: DagsterOptions = DEFAULT_OPTIONS): string {
  return template(viewModel(ir, options));
}
