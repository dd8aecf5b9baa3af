/**
 * IR -> one Airflow 3 DAG file. Everything is decided here: the view model holds
 * finished Python source fragments (every string already a Python literal), and
 * `dag.py.hbs` only places them. See README.md for each mapping and its source.
 */
import { readFileSync } from "node:fs";
import Handlebars from "handlebars";
import { assetPath } from "../../src/assets.js";
import { hashComment, headerLines } from "../../src/header.js";
import {
  retryWaits,
  type CronSchedule,
  type EnvVar,
  type Job,
  type RuntimeVariable,
  type Segment,
  type StandardVariable,
  type Template,
  type Workflow,
} from "../../src/ir.js";
import { AIRFLOW_FAIL_RUN_TASK, airflowId, kubeName } from "../../src/names.js";

export const TARGET_NAME = "airflow";

/**
 * Airflow has no "unlimited" `max_active_runs` (0 or None blocks every run:
 * scheduler_job_runner.py `_set_exceeds_max_active_runs`), so "runs are not limited"
 * is written as the largest value the `dag.max_active_runs` INTEGER column holds.
 */
export const MAX_ACTIVE_RUNS = 2147483647;

/**
 * KubernetesPodOperator gives a pod 120 s to be scheduled and 120 s to start, then
 * fails the attempt; no value means "no limit". The spec bounds an attempt only by
 * its own timeout (`execution_timeout`), so both are written as this (68 years).
 */
export const POD_START_NO_LIMIT_SECONDS = 2147483647;

/**
 * Suffixes that make Airflow load a templated string as a template FILE
 * (`templater.py` `render_template`: `value.endswith(tuple(self.template_ext))`).
 * KubernetesPodOperator 10.25.0 has `template_ext = ()`, so this is defensive; the
 * dotless spelling is what the provider's SparkKubernetesOperator uses and covers
 * the dotted one.
 */
export const TEMPLATE_FILE_SUFFIXES = ["json", "yaml", "yml"] as const;

/** Longest wait or timeout the DAG file may hold (Python `timedelta`/datetime limits; see check.ts). */
export const MAX_SECONDS = 1e11;

// ---------------------------------------------------------------- Python literals

/**
 * A Python string literal for any JS string: always double-quoted; printable ASCII
 * as is (except `\` and `"`), `\n` `\r` `\t`, everything else as `\xNN`, `\uNNNN` or `\UNNNNNNNN`
 * of its code point (a surrogate pair becomes one `\U`, a lone surrogate its `\u`).
 * Never an f-string, so `{` is plain text.
 */
export function pyStr(s: string): string {
  return `"${escapeCodePoints(s, '"')}"`;
}

/** The escaping shared by Python and Jinja string literals (Jinja decodes with `unicode-escape`). */
export function escapeCodePoints(s: string, quote: "'" | '"'): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += "\\" + quote;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (cp >= 0x20 && cp <= 0x7e) out += ch;
    else if (cp < 0x100) out += "\\x" + hex(cp, 2);
    else if (cp < 0x10000) out += "\\u" + hex(cp, 4);
    else out += "\\U" + hex(cp, 8);
  }
  return out;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** A Python number literal that parses to the same IEEE double (JS and Python both print the shortest round-trip form). */
export function pyNum(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`kfm-compile bug: non-finite number ${n}`);
  return String(n);
}

export function pyTimedelta(seconds: number): string {
  return `timedelta(seconds=${pyNum(seconds)})`;
}

function pyOptTimedelta(seconds: number | null): string {
  return seconds === null ? "None" : pyTimedelta(seconds);
}

function pyBool(b: boolean): string {
  return b ? "True" : "False";
}

// ---------------------------------------------------------------- Jinja

/**
 * KFM_ATTEMPT: the 1-based attempt of this task in this run. `try_number` keeps counting
 * when a task is cleared, and clearing sets `max_tries = try_number + retries`, so the
 * first try of the current run is `max_tries - retries + 1` (Airflow's own arithmetic,
 * `task_runner.py` `get_first_reschedule_date`), the same count KfmRetryWaits uses.
 */
export const JINJA_ATTEMPT = "{{ ti.try_number - ti.max_tries + task.retries }}";

/** KFM_RUN_TOKEN: the `kfm_run_token` macro of the DAG file over `ts` (see dag.py.hbs). */
export const JINJA_RUN_TOKEN = "{{ kfm_run_token(ts) }}";

/** The exact Jinja each runtime variable is written as (lift.ts reads these back). */
export function jinjaVariable(variable: RuntimeVariable | StandardVariable, periodSeconds: number | null): string {
  switch (variable) {
    case "attempt":
      return JINJA_ATTEMPT;
    case "run_token":
      return JINJA_RUN_TOKEN;
    case "ds":
      return "{{ ds }}";
    case "ts":
      return "{{ ts }}";
    case "execution_date":
      return "{{ logical_date | ts }}";
    case "prev_execution_date":
    case "next_execution_date": {
      if (periodSeconds === null) throw new Error(`kfm-compile bug: ${variable} without a regular schedule reached the airflow backend`);
      const op = variable === "prev_execution_date" ? "-" : "+";
      return `{{ (logical_date ${op} macros.timedelta(seconds=${pyNum(periodSeconds)})) | ts }}`;
    }
  }
}

/** A Jinja expression whose value is `text`: `{{ '...' }}` with a single-quoted, fully escaped string. */
export function jinjaLiteral(text: string): string {
  return `{{ '${escapeCodePoints(text, "'")}' }}`;
}

/**
 * Whether Jinja would not give back `text` byte for byte as template data: `{`
 * may start a tag, `\r` is normalised to `\n` by Jinja's lexer, a trailing `\n`
 * is dropped (`keep_trailing_newline` is off), and a whole string ending in a
 * template-file suffix is loaded as a file instead of rendered.
 */
function needsLiteralForm(text: string, isLast: boolean): boolean {
  if (text.includes("{") || text.includes("\r")) return true;
  if (!isLast) return false;
  return text.endsWith("\n") || TEMPLATE_FILE_SUFFIXES.some((s) => text.endsWith(s));
}

export interface JinjaOptions {
  /** Double every `$` in literal text (Kubernetes expands `$(VAR)` and `$$` in command, args and env values). */
  readonly doubleDollars: boolean;
  readonly periodSeconds: number | null;
}

/** The Jinja source that Airflow's template engine renders to exactly the template's value. */
export function jinjaSource(template: Template, opts: JinjaOptions): string {
  const parts = template.map((seg: Segment, i) => {
    if ("variable" in seg) return jinjaVariable(seg.variable, opts.periodSeconds);
    const text = opts.doubleDollars ? seg.text.replace(/\$/g, "$$$$") : seg.text;
    return needsLiteralForm(text, i === template.length - 1) ? jinjaLiteral(text) : text;
  });
  return parts.join("");
}

/** A plain string (image, quantity) as a Python literal of Jinja source that renders to it. */
function pyJinjaText(text: string): string {
  return pyStr(jinjaSource([{ text }], { doubleDollars: false, periodSeconds: null }));
}

function pyJinjaList(templates: readonly Template[] | null, opts: JinjaOptions): string {
  if (templates === null) return "None";
  return `[${templates.map((t) => pyStr(jinjaSource(t, opts))).join(", ")}]`;
}

// ---------------------------------------------------------------- view model

export interface TaskView {
  readonly key: string;
  readonly taskId: string;
  readonly podName: string;
  readonly doc: string;
  readonly image: string;
  readonly cmds: string;
  readonly arguments: string;
  /** `k8s.V1EnvVar(...)` expressions, spec order. */
  readonly env: readonly string[];
  readonly containerResources: string;
  readonly retries: string;
  readonly retryDelay: string;
  readonly retryExponentialBackoff: string;
  readonly maxRetryDelay: string;
  readonly retryPolicy: string;
  readonly executionTimeout: string;
  readonly triggerRule: string;
  readonly podStartTimeout: string;
}

/** The failure watcher task (0 or 1 of them). */
export interface FailRunView {
  readonly taskId: string;
}

export interface EdgeView {
  readonly upstream: string;
  readonly downstream: string;
}

export interface DagView {
  readonly header: string;
  readonly dagId: string;
  readonly description: string;
  readonly schedule: string;
  readonly startDate: string;
  readonly endDate: string;
  readonly catchup: string;
  readonly maxActiveRuns: string;
  readonly dagrunTimeout: string;
  readonly runTokenSeed: string;
  readonly tasks: readonly TaskView[];
  readonly failRun: readonly FailRunView[];
  readonly edges: readonly EdgeView[];
}

/** `YYYY-MM-DDTHH:MM:SS` local to `timezone` -> `pendulum.datetime(...)` in that zone. */
export function pyLocalDateTime(local: string | null, timezone: string): string {
  if (local === null) return "None";
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(local);
  if (!m) throw new Error(`kfm-compile bug: malformed local date-time ${JSON.stringify(local)}`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => String(Number(x)));
  return `pendulum.datetime(${y}, ${mo}, ${d}, ${h}, ${mi}, ${s}, tz=${pyStr(timezone)})`;
}

function scheduleView(ir: Workflow): Pick<DagView, "schedule" | "startDate" | "endDate" | "catchup"> {
  const s = ir.schedule;
  if (s === null) return { schedule: "None", startDate: "None", endDate: "None", catchup: "False" };
  if (s.kind !== "cron") throw new Error("kfm-compile bug: an event trigger reached the airflow emitter (check refuses it)");
  return {
    schedule: `CronTriggerTimetable(${pyStr(s.cron)}, timezone=${pyStr(s.timezone)}, interval=${pyTimedelta(0)}, run_immediately=${pyTimedelta(0)})`,
    startDate: pyLocalDateTime(s.start, s.timezone),
    endDate: pyLocalDateTime(s.end, s.timezone),
    catchup: pyBool(s.catchup),
  };
}

function periodOf(ir: Workflow): number | null {
  return ir.schedule !== null && ir.schedule.kind === "cron" ? (ir.schedule as CronSchedule).periodSeconds : null;
}

function resourcesView(job: Job): string {
  const entries: string[] = [];
  if (job.resources.cpu !== null) entries.push(`"cpu": ${pyJinjaText(job.resources.cpu)}`);
  if (job.resources.memory !== null) entries.push(`"memory": ${pyJinjaText(job.resources.memory)}`);
  if (entries.length === 0) return "None";
  const quantities = `{${entries.join(", ")}}`;
  return `k8s.V1ResourceRequirements(requests=${quantities}, limits=${quantities})`;
}

/**
 * Retries: `retries` = attempts - 1. Equal waits are native (`retry_delay`, backoff 0 =
 * constant). Differing waits go to `KfmRetryWaits` (a RetryPolicy in the DAG file),
 * and the native fields hold the first wait as the fallback Airflow uses when the
 * policy is not consulted (README "Retries").
 */
function retryView(job: Job): Pick<TaskView, "retries" | "retryDelay" | "retryExponentialBackoff" | "maxRetryDelay" | "retryPolicy"> {
  const waits = retryWaits(job.retry);
  const constant = waits.every((w) => w === waits[0]);
  return {
    retries: String(waits.length),
    retryDelay: pyTimedelta(waits.length === 0 ? 0 : waits[0]!),
    retryExponentialBackoff: "0",
    maxRetryDelay: "None",
    retryPolicy: constant ? "None" : `KfmRetryWaits(waits=[${waits.map(pyNum).join(", ")}])`,
  };
}

/**
 * One env var as a `k8s.V1EnvVar`. A template goes to `value` (Jinja-rendered, `$`
 * doubled); a secret reference to `value_from.secret_key_ref`, which Airflow does not
 * render (KubernetesPodOperator `_render_nested_template_fields` renders only a
 * V1EnvVar's `value` and `name`). The provider's `Secret("env", ...)` is not used: it
 * upper-cases the variable name (`secret.py`), and env names are case-sensitive.
 */
function envView(e: EnvVar, opts: JinjaOptions): string {
  const name = `name=${pyStr(e.name)}`;
  if ("value" in e) return `k8s.V1EnvVar(${name}, value=${pyStr(jinjaSource(e.value, opts))})`;
  const ref = `k8s.V1SecretKeySelector(name=${pyStr(e.secretRef.secret)}, key=${pyStr(e.secretRef.key)})`;
  return `k8s.V1EnvVar(${name}, value_from=k8s.V1EnvVarSource(secret_key_ref=${ref}))`;
}

function taskView(job: Job, periodSeconds: number | null): TaskView {
  const k8sText: JinjaOptions = { doubleDollars: true, periodSeconds };
  const id = pyStr(airflowId(job.name));
  return {
    key: id,
    taskId: id,
    podName: pyStr(kubeName(job.name)),
    doc: job.description === null ? "None" : pyStr(job.description),
    image: pyJinjaText(job.image),
    cmds: pyJinjaList(job.command, k8sText),
    arguments: pyJinjaList(job.args, k8sText),
    env: job.env.map((e) => envView(e, k8sText)),
    containerResources: resourcesView(job),
    ...retryView(job),
    executionTimeout: pyOptTimedelta(job.timeoutSeconds),
    triggerRule: pyStr(job.runWhen === "all_done" ? "all_done" : "all_success"),
    podStartTimeout: String(POD_START_NO_LIMIT_SECONDS),
  };
}

export function viewModel(ir: Workflow): DagView {
  const period = periodOf(ir);
  const edges: EdgeView[] = [];
  for (const job of ir.jobs) {
    for (const dep of job.dependsOn) edges.push({ upstream: pyStr(airflowId(dep)), downstream: pyStr(airflowId(job.name)) });
  }
  // Airflow derives a run's state from its leaf tasks, so an `all_done` leaf that succeeds
  // would make a run with a failed job succeed: then a watcher downstream of every task fails it.
  const failRun: FailRunView[] = ir.jobs.some((j) => j.runWhen === "all_done") ? [{ taskId: pyStr(AIRFLOW_FAIL_RUN_TASK) }] : [];
  for (const f of failRun) {
    for (const job of ir.jobs) edges.push({ upstream: pyStr(airflowId(job.name)), downstream: f.taskId });
  }
  return {
    header: hashComment(headerLines(ir, TARGET_NAME)),
    dagId: pyStr(airflowId(ir.name)),
    description: ir.description === null ? "None" : pyStr(ir.description),
    ...scheduleView(ir),
    maxActiveRuns: String(ir.maxActiveRuns ?? MAX_ACTIVE_RUNS),
    dagrunTimeout: pyOptTimedelta(ir.timeoutSeconds),
    runTokenSeed: pyStr(ir.runTokenSeed),
    tasks: ir.jobs.map((j) => taskView(j, period)),
    failRun,
    edges,
  };
}

// ---------------------------------------------------------------- template

export const TEMPLATE_PATH = "targets/airflow/dag.py.hbs";

let compiled: HandlebarsTemplateDelegate<DagView> | null = null;

function template(): HandlebarsTemplateDelegate<DagView> {
  if (compiled === null) {
    const source = readFileSync(assetPath(TEMPLATE_PATH), "utf8");
    compiled = Handlebars.create().compile<DagView>(source, { strict: true, noEscape: true, knownHelpersOnly: true });
  }
  return compiled;
}

export function emit(ir: Workflow): string {
  return template()(viewModel(ir));
}
