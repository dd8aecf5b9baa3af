/**
 * IR -> one Airflow 3 DAG file. Everything is decided here: the view model holds
 * finished Python source fragments (every string already a Python literal), and
 * `dag.py.hbs` only places them. See README.md for each mapping and its source.
 */
import { lazyTemplate } from "../template.js";
import { hashComment, headerLines } from "../../src/header.js";
import { POD_START_SECONDS } from "../../src/limits.js";
import { HELPER_UID, RESTRICTED_CONTAINER_SECURITY_CONTEXT, RESTRICTED_POD_SECURITY_CONTEXT } from "../kubernetes.js";
import { DEFAULT_OPTIONS, type AirflowOptions, type JsonValue } from "./options.js";
import {
  INDENT,
  LINE_LENGTH,
  calledNames,
  escapeCodePoints,
  layout,
  pyBool,
  pyCall,
  pyDict,
  pyJson,
  pyList,
  pyNum,
  pyStr,
  pyTuple,
  valueAt,
  type Py,
} from "../python.js";
import { NOTIFY_ENV, NOTIFY_SCRIPT, NOTIFY_TASK_SECONDS, notifyInputs } from "../../src/notify.js";
import {
  retryWaits,
  type CronSchedule,
  type EnvVar,
  type Job,
  type Notification,
  type RuntimeVariable,
  type Segment,
  type StandardVariable,
  type Template,
  type Workflow,
} from "../../src/ir.js";
import {
  AIRFLOW_FAIL_RUN_TASK,
  AIRFLOW_RUN_DONE_TASK,
  AIRFLOW_RUN_FAILED_TASK,
  AIRFLOW_WINDOW_TASK,
  NOTIFY_CURL_IMAGE,
  airflowId,
  airflowNotifyTask,
  airflowUpstreamSensorTask,
  kubeName,
} from "../../src/names.js";

export const TARGET_NAME = "airflow";

/**
 * Airflow has no "unlimited" `max_active_runs` (0 or None blocks every run:
 * scheduler_job_runner.py `_set_exceeds_max_active_runs`), so "runs are not limited"
 * is written as the largest value the `dag.max_active_runs` INTEGER column holds.
 */
export const MAX_ACTIVE_RUNS = 2147483647;

/**
 * The pod-start bound (src/limits.ts POD_START_SECONDS), as both KubernetesPodOperator limits.
 * `kpo/utils/pod_manager.py` `await_pod_start` fails the attempt (`PodLaunchTimeoutException`)
 * when the pod is not scheduled within `schedule_timeout_seconds`, or, once scheduled, not
 * running within `startup_timeout_seconds` (its clock restarts when the pod is scheduled). It
 * fails early only on image errors it takes as terminal (`detect_pod_terminate_early_issues`):
 * a missing Secret or key (`CreateContainerConfigError`) or an unschedulable pod waits for the
 * limit. The provider's default is 120 s; without a limit such a pod would hold a worker slot
 * for ever.
 */
export const POD_START_TIMEOUT_SECONDS = POD_START_SECONDS;

/**
 * Suffixes that make Airflow load a templated string as a template FILE
 * (`templater.py` `render_template`: `value.endswith(tuple(self.template_ext))`).
 * KubernetesPodOperator 10.25.0 has `template_ext = ()`, so this is defensive; the
 * dotless spelling is what the provider's SparkKubernetesOperator uses and covers
 * the dotted one.
 */
export const TEMPLATE_FILE_SUFFIXES = ["json", "yaml", "yml"] as const;

/**
 * "No limit" for an ExternalTaskSensor's `timeout`: `None` would mean the deployment's
 * `[sensors] default_timeout` (7 days, `sdk/bases/sensor.py`), so 68 years stands for it;
 * check.ts refuses a dependency timeout this long or longer.
 */
export const SENSOR_NO_LIMIT_SECONDS = 2147483647;

/** How often (seconds) a waiting ExternalTaskSensor looks again (`mode="reschedule"` frees the worker slot meanwhile). */
export const SENSOR_POKE_SECONDS = 60;

/** `$0` of the notification script. */
export const NOTIFY_ARGV0 = "kfm-notify";

/**
 * What a notification pod is told about its run (README "Failure notifications"): Jinja
 * that calls the DAG file's `kfm_failed_jobs` and `kfm_run_link` (in `user_defined_macros`)
 * with the notification task's own task instance, when the worker renders its `env_vars`.
 */
export const NOTIFY_FAILED_JINJA = "{{ kfm_failed_jobs(ti) }}";
export const NOTIFY_RUN_JINJA = "{{ kfm_run_link(ti) }}";

/**
 * The name of the one `kubernetes.client.Configuration` the file builds its Kubernetes models with. A
 * model given none builds its own copy of the default (`Configuration.get_default_copy()`), and each
 * copy resets the level cache of every logger in the process: with five env vars per task that was
 * most of the file's import time. Models read only `client_side_validation` from it, and the
 * client's own deserializer shares one configuration the same way (`api_client.py`
 * `__deserialize_model`), so one copy per file checks exactly what a copy per model did.
 */
export const K8S_CONFIG = "KFM_K8S_CONFIG";

/** A `k8s.<model>(...)` call built with the file's shared configuration (see K8S_CONFIG). */
function k8sModel(model: string, kwargs: readonly (readonly [string, Py])[]): Py {
  return pyCall(`k8s.${model}`, [], [...kwargs, ["local_vars_configuration", K8S_CONFIG]]);
}

/** Longest wait or timeout the DAG file may hold (Python `timedelta`/datetime limits; see check.ts). */
export const MAX_SECONDS = 1e11;

export function pyTimedelta(seconds: number): Py {
  return pyCall("timedelta", [], [["seconds", pyNum(seconds)]]);
}

function pyOptTimedelta(seconds: number | null): Py {
  return seconds === null ? "None" : pyTimedelta(seconds);
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

function pyJinjaList(templates: readonly Template[] | null, opts: JinjaOptions): Py {
  if (templates === null) return "None";
  return pyList(templates.map((t) => pyStr(jinjaSource(t, opts))));
}

// ---------------------------------------------------------------- view model

/**
 * Every field of a view is finished Python source for its place in the template: a value that
 * does not fit on its line is already split the way `ruff format` leaves it (layout.ts), so the
 * view model knows the depth each value sits at (operator keywords at 2, DAG keywords at 1).
 */
/** A failure notification's pod task (README "Failure notifications"). */
export interface NotifyView {
  readonly taskId: string;
  readonly podName: string;
  readonly image: string;
  readonly cmds: string;
  readonly envVars: string;
  readonly executionTimeout: string;
  readonly podStartTimeout: string;
}

export interface TaskView {
  readonly taskId: string;
  readonly podName: string;
  readonly doc: string;
  readonly image: string;
  readonly cmds: string;
  readonly arguments: string;
  /** `[k8s.V1EnvVar(...), ...]`, spec order. */
  readonly envVars: string;
  readonly containerResources: string;
  readonly retries: string;
  readonly retryDelay: string;
  readonly retryExponentialBackoff: string;
  readonly maxRetryDelay: string;
  readonly retryPolicy: string;
  readonly executionTimeout: string;
  readonly triggerRule: string;
  readonly podStartTimeout: string;
  /** `kfm_run_deadline` (0 or 1): when the workflow has a timeout (README "Run timeout"). */
  readonly preExecute: readonly string[];
}

/** The file's restricted contexts (`KFM_RESTRICTED_POD`, `KFM_RESTRICTED_CONTAINER`), written once when a pod kfm-compile adds uses them. */
export interface RestrictedView {
  readonly pod: string;
  readonly container: string;
}

/** The names of the file's restricted contexts. */
export const RESTRICTED_POD = "KFM_RESTRICTED_POD";
export const RESTRICTED_CONTAINER = "KFM_RESTRICTED_CONTAINER";

export { RESTRICTED_CONTAINER_SECURITY_CONTEXT, RESTRICTED_POD_SECURITY_CONTEXT };

/**
 * The window guard (0 or 1 of it): a `ShortCircuitOperator` upstream of every first task,
 * calling WINDOW_FUNCTION with the workflow's start (README "First run after deployment").
 */
export interface WindowView {
  readonly taskId: string;
  readonly opKwargs: string;
}

/** The failure watcher task (0 or 1 of them). */
export interface FailRunView {
  readonly taskId: string;
}

/** An approval gate: `ApprovalOperator` (README "Approval gates"). */
export interface GateView {
  readonly taskId: string;
  readonly doc: string;
  readonly subject: string;
  readonly body: string;
  readonly responseTimeout: string;
  readonly preExecute: readonly string[];
}

/** An `ExternalTaskSensor` waiting for another workflow's run of the same logical date. */
export interface SensorView {
  readonly taskId: string;
  readonly externalDagId: string;
  readonly timeout: string;
  readonly pokeInterval: string;
  readonly preExecute: readonly string[];
}

/** The `for` statement over the edges (0 or 1 of them): the list of `(upstream, downstream)` task ids. */
export interface EdgesView {
  readonly pairs: string;
}

/** A block of the file's prelude that only some files need (0 or 1 of it). */
export type Present = readonly true[];

export interface DagView {
  readonly header: string;
  /** The import block, as `ruff check` (isort rules, I001) sorts it, of exactly the names the file uses. */
  readonly imports: string;
  /** `KFM_K8S_CONFIG`: when the file builds Kubernetes models. */
  readonly k8sConfig: Present;
  /** The `KfmRetryWaits` class (0 or 1; RETRY_WAITS_CLASS, or RETRY_WAITS_DEADLINE_CLASS with a run timeout): when some task uses it. */
  readonly retryWaits: readonly string[];
  /** RUN_DEADLINE_FUNCTIONS (without its last line break): when the workflow has a timeout. */
  readonly runDeadline: readonly string[];
  /** `KFM_RUN_TIMEOUT`'s value (0 or 1): the workflow's timeout. */
  readonly runTimeout: readonly string[];
  /** NOTIFY_HELPERS (without its last line break): when the workflow has notifications. */
  readonly notifyHelpers: readonly string[];
  /** The DAG's `user_defined_macros`: the run token, and the notification helpers when there are notifications. */
  readonly userDefinedMacros: string;
  readonly dagId: string;
  readonly description: string;
  readonly schedule: string;
  readonly startDate: string;
  readonly endDate: string;
  readonly catchup: string;
  /** The note on `catchup=True` (0 or 1): a queue without catch-up (queuesWithoutCatchup). */
  readonly queueNote: readonly string[];
  readonly maxActiveRuns: string;
  readonly pausedOnCreation: string;
  /** `default_args` (0 or 1): the deployment options every operator takes, and the `start_date` key of a queue without catch-up. */
  readonly defaultArgs: readonly DefaultArgsView[];
  readonly runTokenSeed: string;
  /** WINDOW_FUNCTION (without its last line break): when the workflow has a window guard. */
  readonly windowFunction: readonly string[];
  /** The window guard (0 or 1): a scheduled workflow with a start date and `catchup: false`. */
  readonly window: readonly WindowView[];
  /** The restricted contexts (0 or 1): when the file has a pod kfm-compile adds. */
  readonly restrictedContexts: readonly RestrictedView[];
  readonly sensors: readonly SensorView[];
  /** Job tasks in spec order. */
  readonly tasks: readonly TaskView[];
  /** The notification tasks, in spec order. */
  readonly notifications: readonly NotifyView[];
  readonly gates: readonly GateView[];
  readonly failRun: readonly FailRunView[];
  /** The `kfm-run-failed` marker (0 or 1): present when the workflow has notifications. */
  readonly runFailed: readonly FailRunView[];
  /** The `kfm-run-done` marker (0 or 1): notifications and a workflow timeout. */
  readonly runDone: readonly FailRunView[];
  readonly edges: readonly EdgesView[];
}

/**
 * Each import the DAG file may need, in the order `ruff check`'s isort rules (I001, default
 * settings) want them: standard library, then third party, a blank line between; in a section
 * `import x` before `from x import y`, modules alphabetical; inside one `from` line constants
 * (`DAG`) before classes. `binds` is the name the statement defines; it is written when the
 * file uses that name.
 */
const IMPORT_TABLE: readonly { readonly section: number; readonly from: string | null; readonly name: string; readonly binds: string }[] = [
  { section: 0, from: null, name: "hashlib", binds: "hashlib" },
  { section: 0, from: "datetime", name: "timedelta", binds: "timedelta" },
  { section: 0, from: "urllib.parse", name: "quote", binds: "quote" },
  { section: 1, from: null, name: "jinja2", binds: "jinja2" },
  { section: 1, from: null, name: "pendulum", binds: "pendulum" },
  { section: 1, from: "airflow.providers.cncf.kubernetes.operators.pod", name: "KubernetesPodOperator", binds: "KubernetesPodOperator" },
  { section: 1, from: "airflow.providers.standard.operators.empty", name: "EmptyOperator", binds: "EmptyOperator" },
  { section: 1, from: "airflow.providers.standard.operators.hitl", name: "ApprovalOperator", binds: "ApprovalOperator" },
  { section: 1, from: "airflow.providers.standard.operators.python", name: "ShortCircuitOperator", binds: "ShortCircuitOperator" },
  { section: 1, from: "airflow.providers.standard.sensors.external_task", name: "ExternalTaskSensor", binds: "ExternalTaskSensor" },
  { section: 1, from: "airflow.sdk", name: "DAG", binds: "DAG" },
  { section: 1, from: "airflow.sdk", name: "BaseOperator", binds: "BaseOperator" },
  { section: 1, from: "airflow.sdk", name: "CronTriggerTimetable", binds: "CronTriggerTimetable" },
  { section: 1, from: "airflow.sdk", name: "RetryDecision", binds: "RetryDecision" },
  { section: 1, from: "airflow.sdk", name: "RetryPolicy", binds: "RetryPolicy" },
  { section: 1, from: "airflow.sdk", name: "timezone", binds: "timezone" },
  { section: 1, from: "airflow.sdk.configuration", name: "conf", binds: "conf" },
  { section: 1, from: "airflow.sdk.exceptions", name: "AirflowFailException", binds: "AirflowFailException" },
  { section: 1, from: "airflow.sdk.exceptions", name: "AirflowSkipException", binds: "AirflowSkipException" },
  { section: 1, from: "kubernetes.client", name: "Configuration", binds: "Configuration" },
  // isort keeps an aliased member on its own line (`combine-as-imports = false`).
  { section: 1, from: "kubernetes.client", name: "models as k8s", binds: "k8s" },
];

/**
 * The names the file's fixed code uses, given the names its generated code calls: the DAG
 * itself, the run-token macro, and each optional prelude block's own needs.
 */
export function namesUsed(called: ReadonlySet<string>): Set<string> {
  const used = new Set(["hashlib", "jinja2", "DAG", ...called]);
  if (called.has("k8s")) used.add("Configuration"); // KFM_K8S_CONFIG
  if (called.has("KfmRetryWaits")) for (const n of ["RetryPolicy", "RetryDecision", "timedelta"]) used.add(n);
  if (called.has("KfmFailRun")) for (const n of ["BaseOperator", "AirflowFailException"]) used.add(n);
  if (called.has("kfm_run_deadline"))
    for (const n of ["timedelta", "timezone", "AirflowFailException", "AirflowSkipException", "KubernetesPodOperator", "ApprovalOperator"]) used.add(n);
  return used;
}

/** The import block of a file whose generated code calls `called` (see namesUsed). */
export function importBlock(called: ReadonlySet<string>): string {
  const used = namesUsed(called);
  const rows = IMPORT_TABLE.filter((r) => used.has(r.binds));
  const sections: string[][] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const lines = (sections[r.section] ??= []);
    if (r.from === null) {
      lines.push(`import ${r.name}`);
      continue;
    }
    const names = [r.name];
    // Members of one module share a line, except an aliased one.
    while (!r.name.includes(" as ") && rows[i + 1]?.from === r.from && !rows[i + 1]!.name.includes(" as ")) names.push(rows[++i]!.name);
    const one = `from ${r.from} import ${names.join(", ")}`;
    lines.push(
      ...(one.length <= LINE_LENGTH ? [one] : layout({ open: `from ${r.from} import (`, items: names.map((value) => ({ prefix: "", value })), close: ")" }, 0)),
    );
  }
  return sections
    .filter((s) => s !== undefined)
    .map((s) => s.join("\n"))
    .join("\n\n");
}

/** Places Python values at one depth of the template, noting every name they call (for the imports). */
class Placer {
  readonly called = new Set<string>();
  /** The source of `p` as the value after `<depth indents><key>=` and before `,`. */
  at(p: Py, depth: number, key: string): string {
    calledNames(p, this.called);
    return valueAt(p, depth, `${key}=`);
  }
}

/** `YYYY-MM-DDTHH:MM:SS` local to `timezone` -> `pendulum.datetime(...)` in that zone. */
export function pyLocalDateTime(local: string | null, timezone: string): Py {
  if (local === null) return "None";
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(local);
  if (!m) throw new Error(`kfm-compile bug: malformed local date-time ${JSON.stringify(local)}`);
  const fields = m.slice(1).map((x) => String(Number(x)));
  return pyCall("pendulum.datetime", fields, [["tz", pyStr(timezone)]]);
}

/** `default_args`: its comments (0 or 1 each) and the dict. */
export interface DefaultArgsView {
  /** When it holds the `start_date` key of a queue without catch-up. */
  readonly queue: readonly string[];
  /** When it holds deployment options. */
  readonly options: readonly string[];
  readonly value: string;
}

/**
 * A cron schedule with `catchup: false` and `max_active_runs` (README "Concurrency"). While
 * the limit is reached the scheduler creates no run (`_create_dag_runs` skips a DAG whose
 * `exceeds_max_non_backfill` is set, airflow-core `jobs/scheduler_job_runner.py`), and once
 * one ends it creates `next_dagrun`, then computes the next from *now*: with catchup off the
 * latest slot at or before now (`CronTriggerTimetable.next_dagrun_info`, `timetables/trigger.py`),
 * so the slots between are dropped. With catchup on the next is the slot after the last run,
 * so every slot runs in turn; and with no earliest date the first run is `_calc_first_run()`,
 * the next slot after deployment (run_immediately 0), as `catchup: false` asks. `DAG()`
 * accepts catchup on only with a `start_date` key (sdk `definitions/dag.py` `_validate_catchup`
 * tests `"start_date" in default_args`), so `default_args` holds `start_date: None`, which
 * leaves the restriction's `earliest` None (`SerializedDAG._time_restriction`).
 */
export function queuesWithoutCatchup(ir: Workflow): boolean {
  const s = ir.schedule;
  return ir.maxActiveRuns !== null && s !== null && s.kind === "cron" && !s.catchup;
}

function scheduleView(ir: Workflow, py: Placer): Pick<DagView, "schedule" | "startDate" | "endDate" | "catchup"> {
  const s = ir.schedule;
  if (s === null) return { schedule: "None", startDate: "None", endDate: "None", catchup: "False" };
  if (s.kind !== "cron") throw new Error("kfm-compile bug: an event trigger reached the airflow emitter (check refuses it)");
  const timetable = pyCall(
    "CronTriggerTimetable",
    [pyStr(s.cron)],
    [
      ["timezone", pyStr(s.timezone)],
      ["interval", pyTimedelta(0)],
      ["run_immediately", pyTimedelta(0)],
    ],
  );
  return {
    schedule: py.at(timetable, 1, "schedule"),
    // With a window guard the start is the guard's, and the DAG has none (windowStart).
    startDate: py.at(pyLocalDateTime(windowStart(ir) === null ? s.start : null, s.timezone), 1, "start_date"),
    endDate: py.at(pyLocalDateTime(s.end, s.timezone), 1, "end_date"),
    catchup: pyBool(s.catchup || queuesWithoutCatchup(ir)),
  };
}

/**
 * The start the window guard holds (`YYYY-MM-DDTHH:MM:SS` local to the schedule's zone), or
 * null when the DAG's own `start_date` is the start: a cron schedule with a start date and
 * `catchup: false`. There Airflow's scheduler runs the latest past slot at once when the DAG
 * is deployed after its start date (`CronTriggerTimetable.next_dagrun_info`, airflow-core
 * `timetables/trigger.py`: with catchup off "the last slot at or before now" is always a
 * candidate, and `run_immediately` counts only without a start), so the DAG has no
 * `start_date` (its first run is then the next slot, `_calc_first_run` with
 * `run_immediately=timedelta(seconds=0)`) and a scheduled run before the start skips its
 * jobs (README "First run after deployment"). With `catchup: true` the DAG's `start_date`
 * gives the window's first slot, as catchup asks.
 */
export function windowStart(ir: Workflow): string | null {
  const s = ir.schedule;
  return s !== null && s.kind === "cron" && !s.catchup ? s.start : null;
}

/**
 * The window guard's callable (WindowView), followed by two blank lines: true, so every task
 * runs, unless the run is a scheduled one whose logical date is before `start`. A manual run
 * (a backfill) is an explicit request for a date and always runs, as on the other targets.
 */
export const WINDOW_FUNCTION = `def kfm_in_window(dag_run, start):
    """False for a scheduled run before the workflow's start, else True (kfm-compile).

    The DAG has no start_date: with catchup=False, one already past when the DAG is
    deployed would make the scheduler run its latest past slot at once. Manual runs
    (backfills) ask for their date and always run.
    """
    return dag_run.run_type != "scheduled" or dag_run.logical_date >= start


`;

/**
 * The retry policy of a task whose waits differ (README "Retries"), in the DAG file as written
 * (without a line break at either end). Airflow 3.3 asks it after each failed try
 * (`sdk/execution_time/task_runner.py` `_handle_current_task_failed` -> `_evaluate_retry_policy`);
 * a RETRY decision's delay replaces `retry_delay`.
 */
export const RETRY_WAITS_CLASS = `class KfmRetryWaits(RetryPolicy):
    """Retry after exactly waits[k - 1] seconds when attempt k of a task run fails.

    Written by kfm-compile.
    """

    def __init__(self, waits):
        self.waits = tuple(waits)

    def evaluate(self, exception, try_number, max_tries, context=None):
        # Attempt number within this run of the task; a cleared task counts from 1.
        attempt = try_number - (max_tries - len(self.waits))
        if 1 <= attempt <= len(self.waits):
            return RetryDecision.retry(delay=timedelta(seconds=self.waits[attempt - 1]))
        return RetryDecision.default()

    def serialize(self):
        return {"waits": list(self.waits)}`;

/**
 * RETRY_WAITS_CLASS in a workflow with a timeout (README "Run timeout"): every task that retries
 * uses it, equal waits too. No wait goes past the run's timeout: it is cut to the time left, so
 * the next try starts at the deadline and `kfm_run_deadline` fails it there (a job waiting for
 * its next attempt fails at the deadline); with no time left the policy's FAIL fails the task
 * at once (`_handle_current_task_failed`: FAIL bypasses the retry count).
 */
export const RETRY_WAITS_DEADLINE_CLASS = `class KfmRetryWaits(RetryPolicy):
    """Retry after exactly waits[k - 1] seconds when attempt k of a task run fails.

    Never past the run's timeout: a wait ends at the latest when the run's time is up
    (the next try then fails in kfm_run_deadline), and with no time left the task
    fails at once. Written by kfm-compile.
    """

    def __init__(self, waits):
        self.waits = tuple(waits)

    def evaluate(self, exception, try_number, max_tries, context=None):
        # Attempt number within this run of the task; a cleared task counts from 1.
        attempt = try_number - (max_tries - len(self.waits))
        if not 1 <= attempt <= len(self.waits):
            return RetryDecision.default()
        wait = timedelta(seconds=self.waits[attempt - 1])
        left = kfm_time_left(context)
        if left <= timedelta(0):
            return RetryDecision.fail("the run's timeout has passed")
        return RetryDecision.retry(delay=min(wait, left))

    def serialize(self):
        return {"waits": list(self.waits)}`;

/**
 * The workflow's timeout (README "Run timeout"), followed by two blank lines: every job, gate
 * and dependency sensor has \`pre_execute=kfm_run_deadline\`. Airflow's own \`dagrun_timeout\` is
 * not used: the scheduler then sets every unfinished task \`skipped\`, the running one included
 * (\`core/jobs/scheduler_job_runner.py\` \`_schedule_dag_run\`), so the job the timeout stopped
 * would not be failed and no notification task could run. The task runner calls
 * \`_pre_execute_hook\` in \`_execute_task\` before \`_run_execute_callable\` reads
 * \`task.execution_timeout\` (\`sdk/execution_time/task_runner.py\`), so the try is stopped at the
 * deadline by Airflow's own attempt timeout (SIGALRM, \`AirflowTaskTimeout\`); a gate's
 * \`response_timeout\` is read by \`execute\` (\`TaskAwaitingInput(timeout=...)\`, hitl.py), and
 * the scheduler's \`check_awaiting_input_timeouts\` fails the gate there. A resumed gate keeps
 * its first start, and a sensor in reschedule mode starts with the run, so both fail at the deadline.
 */
export const RUN_DEADLINE_FUNCTIONS = `def kfm_time_left(context):
    """What is left of the run's timeout, KFM_RUN_TIMEOUT from its start (kfm-compile)."""
    return context["dag_run"].start_date + KFM_RUN_TIMEOUT - timezone.utcnow()


def kfm_run_deadline(context):
    """The run's timeout, for one try of a job, gate or dependency (kfm-compile).

    The pre_execute of each: the task runner calls it before every try, before it
    reads the try's execution_timeout (task_runner.py _execute_task). With time
    left, the try's execution_timeout (a gate's response_timeout) is cut to it.
    With none left, a job's first try does not start (skipped, as the all_success
    tasks after it are); a later try, a resumed gate or a waiting sensor fails.
    """
    task, ti = context["task"], context["ti"]
    left = kfm_time_left(context)
    if left <= timedelta(0):
        first_try = ti.try_number - ti.max_tries + task.retries == 1
        if first_try and isinstance(task, KubernetesPodOperator):
            raise AirflowSkipException("the run's timeout passed before this job began")
        raise AirflowFailException("the run's timeout has passed")
    if isinstance(task, ApprovalOperator):
        task.response_timeout = min(task.response_timeout or left, left)
    else:
        task.execution_timeout = min(task.execution_timeout or left, left)


`;

/** The module constant the run-timeout functions read. */
export const RUN_TIMEOUT = "KFM_RUN_TIMEOUT";

/** The hook every task the run's timeout bounds gets (`pre_execute=`). */
export const RUN_DEADLINE_HOOK = "kfm_run_deadline";

function periodOf(ir: Workflow): number | null {
  return ir.schedule !== null && ir.schedule.kind === "cron" ? (ir.schedule as CronSchedule).periodSeconds : null;
}

function resourcesView(job: Job): Py {
  const entries: [string, Py][] = [];
  if (job.resources.cpu !== null) entries.push([pyStr("cpu"), pyJinjaText(job.resources.cpu)]);
  if (job.resources.memory !== null) entries.push([pyStr("memory"), pyJinjaText(job.resources.memory)]);
  if (entries.length === 0) return "None";
  return k8sModel("V1ResourceRequirements", [
    ["requests", pyDict(entries)],
    ["limits", pyDict(entries)],
  ]);
}

/**
 * Retries: `retries` = attempts - 1. Equal waits are native (`retry_delay`, backoff 0 =
 * constant). Differing waits go to `KfmRetryWaits` (a RetryPolicy in the DAG file),
 * and the native fields hold the first wait as the fallback Airflow uses when the
 * policy is not consulted (README "Retries").
 */
function retryView(
  job: Job,
  py: Placer,
  deadline: boolean,
): Pick<TaskView, "retries" | "retryDelay" | "retryExponentialBackoff" | "maxRetryDelay" | "retryPolicy"> {
  const waits = retryWaits(job.retry);
  // With a run timeout every retried task takes the policy, which ends its waits at the deadline.
  const constant = waits.every((w) => w === waits[0]) && !(deadline && waits.length > 0);
  return {
    retries: String(waits.length),
    retryDelay: py.at(pyTimedelta(waits.length === 0 ? 0 : waits[0]!), 2, "retry_delay"),
    retryExponentialBackoff: "0",
    maxRetryDelay: "None",
    retryPolicy: py.at(constant ? "None" : pyCall("KfmRetryWaits", [], [["waits", pyList(waits.map(pyNum))]]), 2, "retry_policy"),
  };
}

/**
 * One env var as a `k8s.V1EnvVar`. A template goes to `value` (Jinja-rendered, `$`
 * doubled); a secret reference to `value_from.secret_key_ref`, which Airflow does not
 * render (KubernetesPodOperator `_render_nested_template_fields` renders only a
 * V1EnvVar's `value` and `name`). The provider's `Secret("env", ...)` is not used: it
 * upper-cases the variable name (`secret.py`), and env names are case-sensitive.
 */
function envView(e: EnvVar, opts: JinjaOptions): Py {
  const name = ["name", pyStr(e.name)] as const;
  if ("value" in e) return k8sModel("V1EnvVar", [name, ["value", pyStr(jinjaSource(e.value, opts))]]);
  const ref = k8sModel("V1SecretKeySelector", [
    ["name", pyStr(e.secretRef.secret)],
    ["key", pyStr(e.secretRef.key)],
  ]);
  return k8sModel("V1EnvVar", [name, ["value_from", k8sModel("V1EnvVarSource", [["secret_key_ref", ref]])]]);
}

function taskView(job: Job, periodSeconds: number | null, py: Placer, deadline: boolean): TaskView {
  const k8sText: JinjaOptions = { doubleDollars: true, periodSeconds };
  return {
    taskId: py.at(pyStr(airflowId(job.name)), 2, "task_id"),
    podName: py.at(pyStr(kubeName(job.name)), 2, "name"),
    doc: job.description === null ? "None" : py.at(pyStr(job.description), 2, "doc"),
    image: py.at(pyJinjaText(job.image), 2, "image"),
    cmds: py.at(pyJinjaList(job.command, k8sText), 2, "cmds"),
    arguments: py.at(pyJinjaList(job.args, k8sText), 2, "arguments"),
    envVars: py.at(pyList(job.env.map((e) => envView(e, k8sText))), 2, "env_vars"),
    containerResources: py.at(resourcesView(job), 2, "container_resources"),
    ...retryView(job, py, deadline),
    executionTimeout: py.at(pyOptTimedelta(job.timeoutSeconds), 2, "execution_timeout"),
    triggerRule: pyStr(job.runWhen === "all_done" ? "all_done" : "all_success"),
    podStartTimeout: String(POD_START_TIMEOUT_SECONDS),
    preExecute: deadline ? [RUN_DEADLINE_HOOK] : [],
  };
}

/**
 * An approval gate. `fail_on_reject=True`: a rejection raises (the gate fails) instead of
 * skipping downstream (trap 13); `defaults=None`: no decision by `response_timeout` fails the
 * gate instead of choosing a default (`check_awaiting_input_timeouts`); `retries=0`: a failed
 * gate is not asked again. `subject` and `body` are Jinja-templated, so they are written as
 * Jinja that renders to the text.
 */
function gateView(job: Job, py: Placer, deadline: boolean): GateView {
  const text = (t: string): string => pyStr(jinjaSource([{ text: t }], { doubleDollars: false, periodSeconds: null }));
  return {
    taskId: py.at(pyStr(airflowId(job.name)), 2, "task_id"),
    doc: job.description === null ? "None" : py.at(pyStr(job.description), 2, "doc"),
    subject: py.at(text(`Approve ${job.name}?`), 2, "subject"),
    body: job.description === null ? "None" : py.at(text(job.description), 2, "body"),
    responseTimeout: py.at(pyOptTimedelta(job.approval!.timeoutSeconds), 2, "response_timeout"),
    preExecute: deadline ? [RUN_DEADLINE_HOOK] : [],
  };
}

function sensorView(workflow: string, timeoutSeconds: number | null, py: Placer, deadline: boolean): SensorView {
  return {
    taskId: py.at(pyStr(airflowUpstreamSensorTask(workflow)), 2, "task_id"),
    externalDagId: py.at(pyStr(airflowId(workflow)), 2, "external_dag_id"),
    timeout: py.at(pyTimedelta(timeoutSeconds ?? SENSOR_NO_LIMIT_SECONDS), 2, "timeout"),
    pokeInterval: String(SENSOR_POKE_SECONDS),
    preExecute: deadline ? [RUN_DEADLINE_HOOK] : [],
  };
}

/**
 * A failure notification: a pod running the shared notification script (src/notify.ts),
 * only in a failed run, bounded by `execution_timeout` (README "Failure notifications").
 */
function notifyView(ir: Workflow, n: Notification, index: number, periodSeconds: number | null, py: Placer): NotifyView {
  const k8sText: JinjaOptions = { doubleDollars: true, periodSeconds };
  const env = notifyInputs(
    n,
    ir.name,
    (t): Template => t,
    (text): Template => [{ text }],
    null,
    null,
  ).map((v): Py => {
    if ("secret" in v) return envView({ name: v.name, secretRef: v.secret }, k8sText);
    if (v.value !== null) return envView({ name: v.name, value: v.value }, k8sText);
    const jinja = v.name === NOTIFY_ENV.failed ? NOTIFY_FAILED_JINJA : NOTIFY_RUN_JINJA;
    return k8sModel("V1EnvVar", [
      ["name", pyStr(v.name)],
      ["value", pyStr(jinja)],
    ]);
  });
  return {
    taskId: py.at(pyStr(airflowNotifyTask(index)), 2, "task_id"),
    podName: py.at(pyStr(kubeName(airflowNotifyTask(index))), 2, "name"),
    image: py.at(pyJinjaText(NOTIFY_CURL_IMAGE), 2, "image"),
    cmds: py.at(pyJinjaList([[{ text: "sh" }], [{ text: "-c" }], [{ text: NOTIFY_SCRIPT }], [{ text: NOTIFY_ARGV0 }]], k8sText), 2, "cmds"),
    envVars: py.at(pyList(env), 2, "env_vars"),
    executionTimeout: py.at(pyTimedelta(NOTIFY_TASK_SECONDS), 2, "execution_timeout"),
    podStartTimeout: String(POD_START_TIMEOUT_SECONDS),
  };
}

/**
 * The deployment options as `default_args` entries, in this order (lift.ts reads them back):
 * every operator of the DAG takes those of them its `__init__` has (`sdk/bases/operator.py`
 * `BaseOperatorMeta._apply_defaults`), so the pod options reach every KubernetesPodOperator
 * and `pool`/`queue` every task, and an argument a task writes itself wins.
 */
export function deploymentArgs(o: AirflowOptions): [string, Py][] {
  const args: [string, Py][] = [];
  if (o.kubernetesConnId !== undefined) args.push(["kubernetes_conn_id", pyStr(o.kubernetesConnId)]);
  if (o.namespace !== undefined) args.push(["namespace", pyStr(o.namespace)]);
  if (o.serviceAccount !== undefined) args.push(["service_account_name", pyStr(o.serviceAccount)]);
  if (o.imagePullSecrets.length > 0)
    args.push(["image_pull_secrets", pyList(o.imagePullSecrets.map((name) => k8sModel("V1LocalObjectReference", [["name", pyStr(name)]])))]);
  if (o.podSecurityContext !== undefined) args.push(["security_context", pyJson(o.podSecurityContext as JsonValue)]);
  if (o.containerSecurityContext !== undefined) args.push(["container_security_context", pyJson(o.containerSecurityContext as JsonValue)]);
  if (o.pool !== undefined) args.push(["pool", pyStr(o.pool)]);
  if (o.queue !== undefined) args.push(["queue", pyStr(o.queue)]);
  return args;
}

/** The two module constants, laid out as ruff writes an assignment at the top level. */
function restrictedView(): RestrictedView {
  return {
    pod: valueAt(pyJson(RESTRICTED_POD_SECURITY_CONTEXT), 0, `${RESTRICTED_POD} = `),
    container: valueAt(pyJson(RESTRICTED_CONTAINER_SECURITY_CONTEXT), 0, `${RESTRICTED_CONTAINER} = `),
  };
}

/**
 * The DAG file's functions the notification tasks' `env_vars` call (NOTIFY_FAILED_JINJA,
 * NOTIFY_RUN_JINJA), written when the workflow has notifications, followed by two blank lines.
 */
export const NOTIFY_HELPERS = `def kfm_failed_jobs(ti):
    """The jobs that failed in the run of task instance \`ti\`, by name (kfm-compile).

    Space-separated, for the failure notifications' KFM_NOTIFY_FAILED. The run's task
    states come from the API server (RuntimeTaskInstance.get_task_states); the
    compiler's own kfm- tasks are left out. Task ids are the spec's job names.
    """
    runs = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id])
    states = runs.get(ti.run_id, {})
    failed = [task for task, state in states.items() if state == "failed"]
    return " ".join(task for task in failed if not task.startswith("kfm-"))


def kfm_run_link(ti):
    """The run's page in the Airflow UI (kfm-compile), for KFM_NOTIFY_RUN.

    [api] base_url, then dags/<dag_id>/runs/<run_id>, as RuntimeTaskInstance.log_url
    builds a task's; each $ doubled, since Kubernetes expands $(VAR) in env values.
    """
    base = conf.get("api", "base_url", fallback="http://localhost:8080/")
    link = base.rstrip("/") + "/dags/" + ti.dag_id + "/runs/" + quote(ti.run_id)
    return link.replace("$", "$$")


`;

/** The DAG file's functions the notification tasks' `env_vars` call (see NOTIFY_FAILED_JINJA). */
const NOTIFY_MACROS = ["kfm_failed_jobs", "kfm_run_link"] as const;

/** The statement that opens the edge loop; lift.ts reads the pairs back from it. */
export const EDGE_LOOP = "for upstream, downstream in ";

export function viewModel(ir: Workflow, options: AirflowOptions = DEFAULT_OPTIONS): DagView {
  const py = new Placer();
  const period = periodOf(ir);
  // README "Run timeout": every job, gate and sensor checks the run's deadline as it starts.
  const deadline = ir.timeoutSeconds !== null;
  const edges: [string, string][] = [];
  const sensorIds = ir.upstream.map((u) => airflowUpstreamSensorTask(u.workflow));
  const sensors = ir.upstream.map((u) => sensorView(u.workflow, u.timeoutSeconds, py, deadline));
  // A scheduled run before the start skips every task: the guard is upstream of every first task
  // (each sensor and each job with no job upstream), and every other task is downstream of those.
  const start = windowStart(ir);
  const window: WindowView[] =
    start === null || ir.schedule?.kind !== "cron"
      ? []
      : [{ taskId: pyStr(AIRFLOW_WINDOW_TASK), opKwargs: py.at(pyDict([[pyStr("start"), pyLocalDateTime(start, ir.schedule.timezone)]]), 2, "op_kwargs") }];
  if (window.length > 0) {
    for (const s of sensorIds) edges.push([AIRFLOW_WINDOW_TASK, s]);
    for (const job of ir.jobs) if (job.dependsOn.length === 0) edges.push([AIRFLOW_WINDOW_TASK, airflowId(job.name)]);
  }
  // Every other workflow's run must have succeeded before any job starts: each sensor is upstream of every root.
  for (const s of sensorIds) {
    for (const job of ir.jobs) if (job.dependsOn.length === 0) edges.push([s, airflowId(job.name)]);
  }
  for (const job of ir.jobs) {
    for (const dep of job.dependsOn) edges.push([airflowId(dep), airflowId(job.name)]);
  }
  const own = [...sensorIds, ...ir.jobs.map((j) => airflowId(j.name))];
  // Airflow derives a run's state from its leaf tasks, so an `all_done` leaf that succeeds, or a
  // notification task after every task, would make a run with a failed job succeed: then a
  // watcher downstream of every task fails it.
  const needsWatcher = ir.jobs.some((j) => j.runWhen === "all_done") || ir.notifications.length > 0;
  const failRun: FailRunView[] = needsWatcher ? [{ taskId: pyStr(AIRFLOW_FAIL_RUN_TASK) }] : [];
  if (needsWatcher) for (const t of own) edges.push([t, AIRFLOW_FAIL_RUN_TASK]);
  // Notifications: `kfm-run-failed` runs (no-op) when some task failed, else is skipped; each
  // notification task waits for every task and for it (`none_skipped`): once, at the end, failed runs only.
  // With a run timeout a job kept from starting is skipped, so they wait for `kfm-run-done`
  // (`all_done` after every task) instead of for every task.
  const notified = ir.notifications.length > 0;
  const runFailed: FailRunView[] = notified ? [{ taskId: pyStr(AIRFLOW_RUN_FAILED_TASK) }] : [];
  if (notified) for (const t of own) edges.push([t, AIRFLOW_RUN_FAILED_TASK]);
  const runDone: FailRunView[] = notified && deadline ? [{ taskId: pyStr(AIRFLOW_RUN_DONE_TASK) }] : [];
  if (runDone.length > 0) for (const t of own) edges.push([t, AIRFLOW_RUN_DONE_TASK]);
  const notify = ir.notifications.map((n, i) => notifyView(ir, n, i, period, py));
  for (let i = 0; i < notify.length; i++) {
    for (const t of runDone.length > 0 ? [AIRFLOW_RUN_DONE_TASK] : own) edges.push([t, airflowNotifyTask(i)]);
    edges.push([AIRFLOW_RUN_FAILED_TASK, airflowNotifyTask(i)]);
  }
  const gates = ir.jobs.filter((j) => j.approval !== null).map((j) => gateView(j, py, deadline));
  const tasks = ir.jobs.filter((j) => j.approval === null).map((j) => taskView(j, period, py, deadline));
  const dag = {
    dagId: py.at(pyStr(airflowId(ir.name)), 1, "dag_id"),
    description: ir.description === null ? "None" : py.at(pyStr(ir.description), 1, "description"),
    ...scheduleView(ir, py),
    queueNote: queuesWithoutCatchup(ir) ? [""] : [],
    maxActiveRuns: String(ir.maxActiveRuns ?? MAX_ACTIVE_RUNS),
    pausedOnCreation: pyBool(options.pausedOnCreation),
  };
  const queue = queuesWithoutCatchup(ir);
  const deployment: [string, Py][] = [...(queue ? [["start_date", "None"] as [string, Py]] : []), ...deploymentArgs(options)];
  const defaultArgs: DefaultArgsView[] =
    deployment.length === 0
      ? []
      : [
          {
            queue: queue ? [""] : [],
            options: deployment.length > (queue ? 1 : 0) ? [""] : [],
            value: py.at(pyDict(deployment.map(([k, v]) => [pyStr(k), v])), 1, "default_args"),
          },
        ];
  const pairs = pyList(edges.map(([u, d]) => pyTuple([pyStr(u), pyStr(d)])));
  const called = new Set(py.called);
  if (tasks.length > 0 || notify.length > 0) called.add("KubernetesPodOperator");
  if (gates.length > 0) called.add("ApprovalOperator");
  if (sensors.length > 0) called.add("ExternalTaskSensor");
  if (notified) for (const name of ["EmptyOperator", "conf", "quote"]) called.add(name);
  if (deadline) called.add(RUN_DEADLINE_HOOK);
  if (needsWatcher) called.add("KfmFailRun");
  if (window.length > 0) called.add("ShortCircuitOperator");
  return {
    header: hashComment(headerLines(ir, TARGET_NAME)),
    imports: importBlock(called),
    k8sConfig: called.has("k8s") ? [true] : [],
    retryWaits: called.has("KfmRetryWaits") ? [deadline ? RETRY_WAITS_DEADLINE_CLASS : RETRY_WAITS_CLASS] : [],
    runDeadline: deadline ? [RUN_DEADLINE_FUNCTIONS.slice(0, -1)] : [],
    runTimeout: deadline ? [valueAt(pyTimedelta(ir.timeoutSeconds!), 0, `${RUN_TIMEOUT} = `)] : [],
    notifyHelpers: notified ? [NOTIFY_HELPERS.slice(0, -1)] : [],
    userDefinedMacros: py.at(pyDict(["kfm_run_token", ...(notified ? NOTIFY_MACROS : [])].map((m): [string, Py] => [pyStr(m), m])), 1, "user_defined_macros"),
    ...dag,
    defaultArgs,
    runTokenSeed: pyStr(ir.runTokenSeed),
    windowFunction: window.length > 0 ? [WINDOW_FUNCTION.slice(0, -1)] : [],
    window,
    restrictedContexts: notify.length === 0 ? [] : [restrictedView()],
    sensors,
    tasks,
    gates,
    notifications: notify,
    failRun,
    runFailed,
    runDone,
    edges:
      edges.length === 0
        ? []
        : [
            {
              pairs: layout(pairs, 1, EDGE_LOOP, ":")
                .join("\n")
                .slice(INDENT.length + EDGE_LOOP.length, -1),
            },
          ],
  };
}

// ---------------------------------------------------------------- template

export const TEMPLATE_PATH = "targets/airflow/dag.py.hbs";

const template = lazyTemplate<DagView>(TEMPLATE_PATH);

export function emit(ir: Workflow, options: AirflowOptions = DEFAULT_OPTIONS): string {
  return template(viewModel(ir, options));
}
