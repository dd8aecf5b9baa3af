/**
 * IR -> one Dagster Python module holding `defs = Definitions(...)`. Everything is decided
 * here: the view model holds finished Python source (every string already a Python literal,
 * every long value already laid out as `ruff format` leaves it), and `module.py.hbs` only
 * places it. README.md beside this file says how each feature maps and where Dagster's
 * source says so.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { assetPath } from "../../src/assets.js";
import { hashComment, headerLines } from "../../src/header.js";
import { retryWaits, type CronSchedule, type EnvVar, type Job, type Notification, type Template, type Workflow } from "../../src/ir.js";
import { NOTIFY_CURL_IMAGE } from "../../src/names.js";
import { NOTIFY_SCRIPT, NOTIFY_TASK_SECONDS, notifyInputs } from "../../src/notify.js";
// The Python literal and layout rules are the Airflow backend's (ruff format's rules, not
// Airflow's): one writer of Python for both Python targets.
import { pyJson, pyNum, pyStr, RESTRICTED_POD_SECURITY_CONTEXT } from "../airflow/emit.js";
import { RESTRICTED_CONTAINER_SECURITY_CONTEXT } from "../kubernetes.js";
import { INDENT, LINE_LENGTH, layout, pyCall, pyDict, pyList, valueAt, type Py } from "../airflow/layout.js";
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
}

interface ScheduleView {
  readonly name: string;
  readonly job: string;
  readonly cron: string;
  readonly timezone: string;
  /** `def <workflow>_schedule(context: ScheduleEvaluationContext):`, split as ruff would when long. */
  readonly signature: string;
  readonly window: readonly { readonly condition: string }[];
}

interface ModuleView {
  readonly header: string;
  readonly imports: string;
  readonly workflow: string;
  readonly runTokenSeed: string;
  readonly period: readonly string[];
  readonly windowLines: readonly string[];
  readonly ops: readonly OpView[];
  readonly jobName: string;
  readonly jobDescription: string;
  readonly jobTags: string;
  readonly jobFunction: string;
  readonly calls: readonly string[];
  readonly schedules: readonly ScheduleView[];
  readonly scheduleList: string;
  /** `{"kfm_launcher": KfmLauncher(...)}`, laid out at the `Definitions(` keyword depth. */
  readonly resources: string;
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

function opView(job: Job): OpView {
  return {
    name: pyStr(dagsterName(job.name)),
    description: job.description === null ? "None" : valueAt(pyStr(job.description), 1, "description="),
    ins: valueAt(pyDict(job.dependsOn.map((d) => [pyStr(afterInput(d)), pyCall("In", ["Nothing"])])), 1, "ins="),
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
  };
}

/** The job body: one call per op, its output kept in a variable when a later op waits for it. */
function calls(jobs: readonly Job[]): string[] {
  const waitedFor = new Set(jobs.flatMap((j) => j.dependsOn));
  return topological(jobs).map((j) => {
    const call = pyCall(
      opFunction(j.name),
      [],
      j.dependsOn.map((d) => [afterInput(d), doneVariable(d)]),
    );
    const prefix = waitedFor.has(j.name) ? `${doneVariable(j.name)} = ` : "";
    const one = `${INDENT}${prefix}${opFunction(j.name)}()`;
    // A call without arguments cannot split; ruff wraps a long right-hand side in parentheses.
    if (j.dependsOn.length === 0 && prefix !== "" && one.length > LINE_LENGTH) return `${prefix}(\n${INDENT.repeat(2)}${opFunction(j.name)}()\n${INDENT})`;
    return layout(call, 1, prefix).join("\n").slice(INDENT.length);
  });
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
    cron: pyStr(s.cron),
    timezone: pyStr(s.timezone),
    signature: layout({ open: `def ${scheduleName(ir.name)}(`, items: [{ prefix: "", value: "context: ScheduleEvaluationContext" }], close: "):" }, 0).join(
      "\n",
    ),
    window: conditions.length === 0 ? [] : [{ condition: conditions.join(" or ") }],
  };
}

/** The imports the module uses, as `ruff format` leaves them (stdlib, then third party). */
function imports(ir: Workflow, s: CronSchedule | null): string {
  const window = windowLines(s).length > 0;
  const period = s !== null && s.periodSeconds !== null;
  const deps = ir.jobs.some((j) => j.dependsOn.length > 0);
  const stdlib = ["import hashlib", `from datetime import ${["UTC", "datetime", ...(period ? ["timedelta"] : [])].join(", ")}`];
  if (window) stdlib.push("from zoneinfo import ZoneInfo");
  const names = [
    "ConfigurableResource",
    ...(s !== null ? ["DefaultScheduleStatus"] : []),
    "Definitions",
    ...(deps ? ["In", "Nothing"] : []),
    "RetryRequested",
    ...(s !== null ? ["RunRequest", "ScheduleEvaluationContext"] : []),
    ...(window ? ["SkipReason"] : []),
    "job",
    "op",
    ...(s !== null ? ["schedule"] : []),
  ];
  // Failure notifications (README "Failure notifications"), each name where ruff's isort puts it.
  if (ir.notifications.length > 0) {
    const after = (name: string, added: string): void => void names.splice(names.indexOf(name) + 1, 0, added);
    after("ConfigurableResource", "DagsterEventType");
    names.splice(names.indexOf("Definitions"), 0, "DefaultSensorStatus");
    if (!names.includes("RunRequest")) after("RetryRequested", "RunRequest");
    names.splice(names.indexOf("RunRequest"), 0, "RunFailureSensorContext");
    after("op", "run_failure_sensor");
  }
  const dagster = layout({ open: "from dagster import (", items: names.map((value) => ({ prefix: "", value })), close: ")" }, 0);
  const one = `from dagster import ${names.join(", ")}`;
  return [...stdlib, "", ...(one.length <= 88 ? [one] : dagster), "from dagster_k8s import execute_k8s_job"].join("\n");
}

function viewModel(ir: Workflow, options: DagsterOptions): ModuleView {
  const s = ir.schedule?.kind === "cron" ? ir.schedule : null;
  // "0" when the workflow has no timeout: run monitoring reads a falsy limit as none, where a
  // missing tag would take the instance's `run_monitoring.max_runtime_seconds` default.
  const tags: [string, Py][] = [[pyStr(MAX_RUNTIME_TAG), pyStr(pyNum(ir.timeoutSeconds ?? 0))]];
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
    ops: ir.jobs.map(opView),
    jobName: pyStr(jobFunction(ir.name)),
    jobDescription: ir.description === null ? "None" : valueAt(pyStr(ir.description), 1, "description="),
    jobTags: valueAt(pyDict(tags), 1, "tags="),
    jobFunction: jobFunction(ir.name),
    calls: calls(ir.jobs),
    schedules: s === null ? [] : [scheduleView(ir, s)],
    scheduleList: s === null ? "[]" : `[${scheduleName(ir.name)}]`,
    resources: valueAt(pyDict([[pyStr(LAUNCHER_KEY), pyCall("KfmLauncher", [], launcher)]]), 1, "resources="),
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

// ---------------------------------------------------------------- template

export const TEMPLATE_PATH = "targets/dagster/module.py.hbs";

let compiled: HandlebarsTemplateDelegate<ModuleView> | null = null;

function template(): HandlebarsTemplateDelegate<ModuleView> {
  if (compiled === null) {
    const source = readFileSync(assetPath(TEMPLATE_PATH), "utf8");
    const Handlebars = createRequire(import.meta.url)("handlebars") as typeof import("handlebars");
    compiled = Handlebars.create().compile<ModuleView>(source, { strict: true, noEscape: true, knownHelpersOnly: true });
  }
  return compiled;
}

export function emit(ir: Workflow, options: DagsterOptions = DEFAULT_OPTIONS): string {
  return template()(viewModel(ir, options));
}
