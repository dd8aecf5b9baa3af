/**
 * Argo YAML written by emit.ts -> the neutral Summary. It reads the fields the Argo
 * controller acts on (retryStrategy.limit/backoff, depends, activeDeadlineSeconds,
 * container fields, schedules/timezone/when/startingDeadlineSeconds) and models how
 * the controller uses them, so a drift in emit (a retry off by one, a wrong factor)
 * shows up as a different Summary. Anything it does not recognise is a thrown
 * error: lift only reads this backend's own output.
 *
 * The expression forms are spelt out here again on purpose rather than imported
 * from emit.ts, so that emit and lift check each other.
 */
import {
  RUNTIME_VARIABLES,
  STANDARD_VARIABLES,
  type RuntimeVariable,
  type SecretRef,
  type Segment,
  type StandardVariable,
  type Template,
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
  ARGO_EVENT_NAME,
  ARGO_EVENT_PORT,
  argoConcurrencyLockName,
  argoNotifyTask,
  kubeName,
  NOTIFY_CURL_IMAGE,
} from "../../src/names.js";
import { locationFromPatterns, OBJECT_CREATED_PATTERN, s3Source } from "../events.js";
import {
  compareStrings,
  cpuMeaning,
  memoryMeaning,
  sortedRecord,
  type JobSummary,
  type NotificationSummary,
  type ScheduleSummary,
  type Summary,
} from "../../src/summary.js";
import { objectLabels } from "../kubernetes.js";
import { failedJobsTag, NOTIFY_ARGV0, NOTIFY_WHEN, runDeadlineGuard, runTag, windowGuard } from "./emit.js";
import { dstGuard, parseCron } from "../../src/cron.js";
import type { CronSchedule } from "../../src/ir.js";
import { NOTIFY_SCRIPT, NOTIFY_TASK_SECONDS, readNotifyInputs, type NotifyValue } from "../../src/notify.js";
import { RESTRICTED_CONTAINER_SECURITY_CONTEXT } from "../kubernetes.js";
import { parseYamlStream } from "../../src/yaml.js";

type Obj = Record<string, unknown>;

/** Largest Go time.Duration, in nanoseconds (math.MaxInt64). */
const MAX_DURATION_NS = 9223372036854775807;

/**
 * The waits the Argo controller makes before retries 1..limit, in seconds, as
 * `processNodeRetries` computes them (workflow/controller/operator.go): the k-th
 * retry waits `duration * factor^(k-1)`, the float power clamped to MaxInt64
 * nanoseconds on overflow, then capped by `cap`; no factor (or 0) means a constant
 * `duration`.
 */
export function argoWaits(limit: number, durationSeconds: number, factor: number | null, capSeconds: number | null): number[] {
  const waits: number[] = [];
  const baseNs = durationSeconds * 1e9;
  for (let k = 1; k <= limit; k++) {
    let waitSeconds = durationSeconds;
    if (factor !== null && factor > 0) {
      const power = Math.pow(factor, k - 1);
      // Go: `if factor > float64(math.MaxInt64)/float64(baseDuration)`; a zero base divides to +Inf.
      waitSeconds = power > MAX_DURATION_NS / baseNs ? MAX_DURATION_NS / 1e9 : durationSeconds * Math.trunc(power);
    }
    if (capSeconds !== null && waitSeconds > capSeconds) waitSeconds = capSeconds;
    waits.push(waitSeconds);
  }
  return waits;
}

function fail(message: string): never {
  throw new Error(`argo lift: ${message}`);
}

function obj(value: unknown, what: string): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`${what} is not a mapping`);
  return value as Obj;
}

function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) fail(`${what} is not a list`);
  return value;
}

function str(value: unknown, what: string): string {
  if (typeof value !== "string") fail(`${what} is not a string`);
  return value;
}

function int(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) fail(`${what} is not an integer`);
  return value;
}

function specName(metadata: unknown, what: string): string {
  const annotations = obj(obj(metadata, `${what}.metadata`)["annotations"], `${what}.metadata.annotations`);
  return str(annotations[ARGO_SPEC_NAME_ANNOTATION], `${what} annotation ${ARGO_SPEC_NAME_ANNOTATION}`);
}

/** Seconds from a Go duration written as `<n>s` (the only form emit writes). */
function seconds(value: unknown, what: string): number {
  const m = /^(0|[1-9][0-9]*)s$/.exec(str(value, what));
  if (m === null) fail(`${what} is not a whole number of seconds`);
  return Number(m[1]);
}

type Source = "scheduled" | "parameter";

const RFC3339 = "2006-01-02T15:04:05Z07:00";
const DS = "2006-01-02";
const TS = "2006-01-02T15:04:05-07:00";

function dateOf(source: Source): string {
  const raw = source === "scheduled" ? "workflow.scheduledTime" : `workflow.parameters['${ARGO_LOGICAL_DATE_PARAMETER}']`;
  return `sprig.mustToDate('${RFC3339}', ${raw})`;
}

/**
 * Reads an expr-lang single-quoted string literal at the start of `text` (only the
 * escapes emit writes: `\\`, `\'`, `\n`); returns its value and the rest, or null.
 */
export function readExprString(text: string): { value: string; rest: string } | null {
  if (text[0] !== "'") return null;
  let value = "";
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") return { value, rest: text.slice(i + 1) };
    if (c === "\\") {
      const e = text[++i];
      if (e === "\\" || e === "'") value += e;
      else if (e === "n") value += "\n";
      else return null;
    } else {
      value += c;
    }
  }
  return null;
}

/**
 * Is `body` the expression that yields `variable` (dates in UTC, Airflow format) from
 * the run's logical date? For `run_token`, the seed the expression hashes is pushed to
 * `seeds`.
 */
function computes(variable: RuntimeVariable | StandardVariable, body: string, source: Source, seeds: string[]): boolean {
  const date = dateOf(source);
  switch (variable) {
    case "attempt":
      // `retries` is the 0-based attempt of a template with a retryStrategy (operator.go, executeTemplate).
      return body === "string(int(retries) + 1)";
    case "run_token": {
      const head = "sprig.trunc(32, sprig.sha256sum(";
      if (!body.startsWith(head)) return false;
      const seed = readExprString(body.slice(head.length));
      if (seed === null || seed.rest !== ` + sprig.dateInZone('${TS}', ${date}, 'UTC')))`) return false;
      seeds.push(seed.value);
      return true;
    }
    case "ds":
      return body === `sprig.dateInZone('${DS}', ${date}, 'UTC')`;
    case "ts":
    case "execution_date":
      return body === `sprig.dateInZone('${TS}', ${date}, 'UTC')`;
    case "prev_execution_date":
    case "next_execution_date": {
      const m = /^sprig\.dateInZone\('([^']*)', sprig\.dateModify\('(-?)([1-9][0-9]*)s', (.*)\), 'UTC'\)$/.exec(body);
      if (m === null || m[1] !== TS || m[4] !== date) return false;
      return (m[2] === "-") === (variable === "prev_execution_date");
    }
  }
}

const TAG = /^=\/\*([a-z_]+)\*\/ ('\{' \+ )?(.*)$/s;

/**
 * First names of every variable Argo's template passes can resolve in a container
 * template (util/variables/keys in argoproj/argo-workflows): a `{{...}}` whose
 * content starts with one of these may be replaced, or refused by validation.
 */
export const ARGO_VARIABLE_ROOTS: readonly string[] = [
  "cronworkflow",
  "duration",
  "exitCode",
  "inputs",
  "item",
  "lastRetry",
  "node",
  "outputs",
  "pod",
  "resourcesDuration",
  "retries",
  "status",
  "steps",
  "tasks",
  "workflow",
];

/**
 * Why Argo would not hand this literal text to the container unchanged, or null when
 * it would. Argo tokenizes with fasttemplate (`{{` to the next `}}`, no escape) and
 * writes an unresolved simple tag back verbatim in every pass a container template
 * goes through (util/template/simple_template.go); so a literal `{{` survives when
 * its tag closes inside the same text, is not an expression tag (`{{=`), holds no
 * nested `{{` (resolved on its own), and does not name an Argo variable.
 */
export function literalTextIssue(text: string): string | null {
  let i = 0;
  for (;;) {
    const open = text.indexOf("{{", i);
    if (open < 0) return null;
    const close = text.indexOf("}}", open + 2);
    if (close < 0) return "a '{{' with no '}}' after it would swallow the text up to the next '}}' Argo sees";
    const content = text.slice(open + 2, close);
    if (content.startsWith("=")) return "'{{=' starts an Argo expression tag";
    if (content.includes("{{")) return "a '{{' nested inside '{{...}}' is resolved by Argo on its own";
    const head = /^[A-Za-z0-9_]*/.exec(content.trim())![0];
    if (ARGO_VARIABLE_ROOTS.includes(head)) return `'{{${content}}}' names an Argo variable ('${head}')`;
    i = close + 2;
  }
}

/**
 * Reads one Argo container string back into segments: `$$` is one `$`, each `{{=...}}`
 * one runtime value, any other `{{...}}` literal text. Run-token seeds found are pushed
 * to `seeds`.
 */
export function parseArgoString(value: string, source: Source, seeds: string[] = []): Template {
  const parts: Segment[] = [];
  const text = (raw: string) => {
    let out = "";
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] !== "$") {
        out += raw[i];
      } else if (raw[i + 1] === "$") {
        out += "$";
        i++;
      } else {
        fail(`a single '$' in ${JSON.stringify(value)}: Kubernetes would expand it`);
      }
    }
    const issue = literalTextIssue(out);
    if (issue !== null) fail(`literal text ${JSON.stringify(out)} would not reach the container: ${issue}`);
    parts.push({ text: out });
  };
  let run = "";
  let i = 0;
  for (;;) {
    const open = value.indexOf("{{", i);
    if (open < 0) {
      text(run + value.slice(i));
      break;
    }
    const close = value.indexOf("}}", open + 2);
    if (close < 0) fail(`an unclosed tag in ${JSON.stringify(value)}`);
    const content = value.slice(open + 2, close);
    if (!content.startsWith("=")) {
      // A literal tag Argo writes back as it is: part of the text.
      run += value.slice(i, close + 2);
      i = close + 2;
      continue;
    }
    text(run + value.slice(i, open));
    run = "";
    const m = TAG.exec(content);
    if (m === null) fail(`an unknown expression tag in ${JSON.stringify(value)}`);
    const variable = m[1] as RuntimeVariable | StandardVariable;
    const known = [...RUNTIME_VARIABLES, ...STANDARD_VARIABLES] as readonly string[];
    if (!known.includes(variable) || !computes(variable, m[3]!, source, seeds)) {
      fail(`tag ${JSON.stringify(value.slice(open, close + 2))} does not compute ${m[1]} from the ${source} logical date`);
    }
    if (m[2] !== undefined) parts.push({ text: "{" });
    parts.push({ variable });
    i = close + 2;
  }
  // The IR's shape: adjacent text merged, no empty text.
  const merged: Segment[] = [];
  for (const p of parts) {
    const last = merged[merged.length - 1];
    if ("text" in p) {
      if (p.text === "") continue;
      if (last !== undefined && "text" in last) merged[merged.length - 1] = { text: last.text + p.text };
      else merged.push(p);
    } else {
      merged.push(p);
    }
  }
  return merged;
}

const SLOT = "now().Truncate(duration('1m'))";
const BOUND =
  /^now\(\)\.Truncate\(duration\('1m'\)\) (>=|<=) date\('([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})', '2006-01-02T15:04:05', '([^']*)'\)$/;

function liftSchedule(spec: Obj): ScheduleSummary {
  const schedules = arr(spec["schedules"], "spec.schedules");
  if (schedules.length !== 1 && schedules.length !== 2) fail("spec.schedules does not hold one cron expression, or two for a daylight-saving gap");
  const timezone = str(spec["timezone"], "spec.timezone");
  const cron = str(schedules[0], "spec.schedules[0]");
  const parsed = parseCron(cron);
  if (typeof parsed === "string") fail(`spec.schedules[0]: ${parsed}`);
  if (spec["schedule"] !== undefined) fail("the removed singular spec.schedule is written");
  if (spec["concurrencyPolicy"] !== "Allow") fail("spec.concurrencyPolicy is not Allow");
  if (spec["suspend"] !== false) fail("spec.suspend is not false");
  // At most one missed slot is ever started, and only within startingDeadlineSeconds: 0 means none, so no catchup.
  if (int(spec["startingDeadlineSeconds"], "spec.startingDeadlineSeconds") !== 0) fail("startingDeadlineSeconds is not 0");
  let start: string | null = null;
  let end: string | null = null;
  let dstText: string | null = null;
  if (spec["when"] !== undefined) {
    const m = /^\{\{= (.*) \}\}$/.exec(str(spec["when"], "spec.when"));
    if (m === null) fail("spec.when is not one expression tag");
    const conditions = m[1]!.split(" && ");
    // The daylight-saving guard comes first, exactly as the core's dstGuard gives it for these bounds (checked below).
    if (conditions[0] !== undefined && !conditions[0].startsWith(SLOT)) dstText = conditions.shift()!;
    for (const condition of conditions) {
      const b = BOUND.exec(condition);
      if (b === null || !condition.startsWith(SLOT)) fail(`spec.when condition ${JSON.stringify(condition)} is not a window bound`);
      if (b[3] !== timezone) fail("spec.when reads a bound in another time zone than spec.timezone");
      if (b[1] === ">=") {
        if (start !== null) fail("two start bounds");
        start = b[2]!;
      } else {
        if (end !== null) fail("two end bounds");
        end = b[2]!;
      }
    }
  }
  // The second schedule and the guard are what the meaning of the cron's daylight-saving slots needs, no more.
  const dst = dstGuard(parsed, timezone, { start, end });
  const expected = windowGuard({ timezone, start, end } as CronSchedule, dst);
  if (spec["when"] !== expected && !(spec["when"] === undefined && expected === null))
    fail(`spec.when is not the guard of this schedule's window and daylight-saving slots (${JSON.stringify(expected)})`);
  if ((schedules[1] ?? null) !== (dst?.added ?? null))
    fail(`spec.schedules[1] is not the hour after this cron's daylight-saving gap slots (${JSON.stringify(dst?.added ?? null)})`);
  if (dstText === null && dst !== null) fail("spec.when has no daylight-saving guard");
  return { kind: "cron", cron, timezone, start, end, catchup: false };
}

function liftResources(value: unknown): { cpu: string | null; memory: string | null } {
  const r = obj(value, "container.resources");
  const requests = r["requests"] === undefined ? {} : obj(r["requests"], "resources.requests");
  const limits = r["limits"] === undefined ? {} : obj(r["limits"], "resources.limits");
  const read = (key: string): string | null => {
    const req = requests[key];
    if (req !== limits[key]) fail(`resources.requests.${key} and resources.limits.${key} differ`);
    return req === undefined ? null : str(req, `resources.requests.${key}`);
  };
  for (const key of new Set([...Object.keys(requests), ...Object.keys(limits)])) {
    if (key !== "cpu" && key !== "memory") fail(`unexpected resource ${key}`);
  }
  return { cpu: cpuMeaning(read("cpu")), memory: memoryMeaning(read("memory")) };
}

function liftRetry(value: unknown, what: string): { attempts: number; waitsSeconds: number[] } {
  const rs = obj(value, `${what}.retryStrategy`);
  if (rs["expression"] !== undefined || rs["affinity"] !== undefined) fail(`${what}.retryStrategy.expression or affinity is set`);
  // No limit would retry without end.
  const limit = int(rs["limit"], `${what}.retryStrategy.limit`);
  if (limit < 0) fail(`${what}.retryStrategy.limit is negative`);
  if (limit === 0) {
    // No retry: nothing else decides anything, and nothing else is written.
    if (Object.keys(rs).length !== 1) fail(`${what}.retryStrategy has more than limit 0`);
    return { attempts: 1, waitsSeconds: [] };
  }
  if (rs["retryPolicy"] !== "Always") fail(`${what}.retryStrategy.retryPolicy is not Always (the default OnFailure does not retry errors)`);
  // No backoff: each retry starts at once (processNodeRetries).
  const backoff = rs["backoff"] === undefined ? { duration: "0s" } : obj(rs["backoff"], `${what}.retryStrategy.backoff`);
  if (backoff["maxDuration"] !== undefined) fail(`${what}.retryStrategy.backoff.maxDuration is set`);
  const duration = seconds(backoff["duration"], `${what}.backoff.duration`);
  const factor = backoff["factor"] === undefined ? null : int(backoff["factor"], `${what}.backoff.factor`);
  const cap = backoff["cap"] === undefined ? null : seconds(backoff["cap"], `${what}.backoff.cap`);
  return { attempts: limit + 1, waitsSeconds: argoWaits(limit, duration, factor, cap) };
}

/**
 * `max_active_runs` from the workflow-level `synchronization`: a mutex is one run at a
 * time, a semaphore the limit its ConfigMap holds (read by the controller with
 * strconv.Atoi, workflow/controller/controller.go). Waiting runs queue
 * (workflow/sync: priority, then creation time); none is dropped.
 */
function liftConcurrency(value: unknown, workflow: string, configMap: Obj | null, namespace: unknown): number | null {
  const lock = argoConcurrencyLockName(workflow);
  if (value === undefined) {
    if (configMap !== null) fail("a ConfigMap without a semaphore");
    return null;
  }
  const sync = obj(value, "spec.synchronization");
  for (const key of Object.keys(sync)) if (key !== "mutexes" && key !== "semaphores") fail(`synchronization.${key} is set`);
  const mutexes = sync["mutexes"] === undefined ? [] : arr(sync["mutexes"], "synchronization.mutexes");
  const semaphores = sync["semaphores"] === undefined ? [] : arr(sync["semaphores"], "synchronization.semaphores");
  if (mutexes.length + semaphores.length !== 1) fail("synchronization does not hold exactly one lock");
  if (mutexes.length === 1) {
    const m = obj(mutexes[0], "mutex");
    if (Object.keys(m).length !== 1 || m["name"] !== lock) fail(`the mutex is not ${lock} in the run's namespace`);
    if (configMap !== null) fail("a ConfigMap beside a mutex");
    return 1;
  }
  const sem = obj(semaphores[0], "semaphore");
  if (Object.keys(sem).length !== 1) fail("the semaphore has a namespace or database");
  const ref = obj(sem["configMapKeyRef"], "semaphore.configMapKeyRef");
  if (ref["name"] !== lock || ref["key"] !== ARGO_CONCURRENCY_KEY || Object.keys(ref).length !== 2) fail("the semaphore does not read the generated ConfigMap");
  if (configMap === null) fail("the semaphore's ConfigMap is not in the file");
  if (configMap["apiVersion"] !== "v1") fail("ConfigMap apiVersion is not v1");
  const meta = obj(configMap["metadata"], "ConfigMap metadata");
  if (meta["name"] !== lock || meta["namespace"] !== namespace) fail("the ConfigMap is not the semaphore's, in the run's namespace");
  const data = obj(configMap["data"], "ConfigMap data");
  const limit = /^[1-9][0-9]*$/.exec(str(data[ARGO_CONCURRENCY_KEY], `ConfigMap data.${ARGO_CONCURRENCY_KEY}`));
  if (limit === null) fail("the semaphore limit is not a positive integer");
  return Number(limit[0]);
}

/** How a task waits for its dependencies: `depends` read back (README "Dependencies and failure"). */
interface Depends {
  readonly after: string[];
  readonly runWhen: "all_succeeded" | "all_done";
}

function parseDepends(value: unknown, what: string): Depends {
  if (value === undefined) return { after: [], runWhen: "all_succeeded" };
  const terms = str(value, `${what}.depends`).split(" && ");
  const succeeded = terms.map((t) => /^([a-z0-9][-a-z0-9]*)\.Succeeded$/.exec(t)?.[1]);
  if (succeeded.every((t) => t !== undefined)) return { after: succeeded as string[], runWhen: "all_succeeded" };
  const finished = terms.map((t) => {
    const m =
      /^\(([a-z0-9][-a-z0-9]*)\.Succeeded \|\| ([a-z0-9][-a-z0-9]*)\.Failed \|\| ([a-z0-9][-a-z0-9]*)\.Errored \|\| ([a-z0-9][-a-z0-9]*)\.Skipped \|\| ([a-z0-9][-a-z0-9]*)\.Omitted\)$/.exec(
        t,
      );
    return m !== null && m.slice(2).every((n) => n === m[1]) ? m[1] : undefined;
  });
  if (finished.every((t) => t !== undefined)) return { after: finished as string[], runWhen: "all_done" };
  fail(`${what}.depends ${JSON.stringify(value)} is neither all successes nor all finished states`);
}

/**
 * Whether the run ends Failed when `failing` fails and every other job succeeds if it
 * runs, by the controller's rules: a task whose dependencies are all fulfilled runs when
 * its `depends` holds and is Omitted otherwise (evaluateDependsLogic); the DAG's phase is
 * that of its leaves, where an Omitted task takes the phase of its parents, Failed
 * winning (assessDAGPhase, failFast false). `tasks` are in an order where dependencies
 * come first.
 */
export function failureFailsRun(tasks: ReadonlyArray<{ name: string } & Depends>, failing: string): boolean {
  const phase = new Map<string, "Succeeded" | "Failed" | "Omitted">();
  for (const t of tasks) {
    if (t.name === failing) phase.set(t.name, "Failed");
    else if (t.runWhen === "all_done" || t.after.every((d) => phase.get(d) === "Succeeded")) phase.set(t.name, "Succeeded");
    else phase.set(t.name, "Omitted");
  }
  // Branch phase: a completed task's own phase; an Omitted one inherits from its parents, Failed first.
  const branch = new Map<string, "Succeeded" | "Failed">();
  for (const t of tasks) {
    const own = phase.get(t.name)!;
    if (own !== "Omitted") branch.set(t.name, own);
    else branch.set(t.name, t.after.some((d) => branch.get(d) === "Failed") ? "Failed" : "Succeeded");
  }
  const leaves = tasks.filter((t) => !tasks.some((u) => u.after.includes(t.name)));
  return leaves.some((t) => branch.get(t.name) === "Failed");
}

/**
 * An approval gate from its suspend template (README "Approval gates"). The supplied
 * output parameter must have no default: with one, a `suspend.duration` that runs out
 * would resume the gate (approve) instead of erroring it (executeSuspend,
 * OverrideOutputParametersWithDefault in workflow/util/util.go).
 */
function liftGate(tmpl: Obj, taskName: string, after: string[]): JobSummary {
  const what = `template ${taskName}`;
  for (const key of Object.keys(tmpl)) if (!["name", "metadata", "suspend", "outputs"].includes(key)) fail(`${what} (a gate) has ${key}`);
  const suspend = obj(tmpl["suspend"], `${what}.suspend`);
  for (const key of Object.keys(suspend)) if (key !== "duration") fail(`${what}.suspend.${key} is set`);
  const timeoutSeconds = suspend["duration"] === undefined ? null : seconds(suspend["duration"], `${what}.suspend.duration`);
  if (timeoutSeconds === 0) fail(`${what}.suspend.duration is 0: the gate would pass at once`);
  const params = arr(obj(tmpl["outputs"], `${what}.outputs`)["parameters"], `${what}.outputs.parameters`);
  const expected = JSON.stringify([{ name: ARGO_APPROVAL_OUTPUT, valueFrom: { supplied: {} } }]);
  if (JSON.stringify(params) !== expected) fail(`${what}.outputs is not the one supplied parameter ${ARGO_APPROVAL_OUTPUT} without a default`);
  return {
    approval: { timeoutSeconds },
    after,
    image: "",
    command: null,
    args: null,
    runWhen: "all_succeeded",
    failureFailsRun: false,
    env: {},
    cpu: null,
    memory: null,
    attempts: 1,
    waitsSeconds: [],
    timeoutSeconds: null,
  };
}

/**
 * Pod Security `restricted` for the containers the compiler adds (the notification senders): spelt
 * out again here, so emit and lift check each other.
 */
const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  runAsNonRoot: true,
  runAsUser: 65532,
  seccompProfile: { type: "RuntimeDefault" },
};

/** Literal text only (channel, sender, recipients): `$$` is one `$`, no runtime value. */
function literalOf(value: unknown, what: string, source: Source): string {
  const t = parseArgoString(str(value, what), source);
  if (t.length === 0) return "";
  if (t.length !== 1 || !("text" in t[0]!)) fail(`${what} holds a runtime value`);
  return t[0].text;
}

/**
 * Failure notifications from the `onExit` handler (README "Failure notifications"): a
 * DAG whose every task runs one notification template with `when` on the final
 * `workflow.status`, the fixed curl script, the message and parameters as env values,
 * the credential a secretKeyRef.
 */
function liftNotifications(
  onExit: unknown,
  templates: Map<string, Obj>,
  source: Source,
  seeds: string[],
  workflow: string,
  jobs: readonly { readonly name: string }[],
): NotificationSummary[] {
  if (onExit === undefined) {
    if (templates.has(ARGO_EXIT_TEMPLATE)) fail(`a ${ARGO_EXIT_TEMPLATE} template that is not the onExit handler`);
    return [];
  }
  if (onExit !== ARGO_EXIT_TEMPLATE) fail(`onExit is not ${ARGO_EXIT_TEMPLATE}`);
  const exit = templates.get(ARGO_EXIT_TEMPLATE) ?? fail(`no ${ARGO_EXIT_TEMPLATE} template`);
  const dag = obj(exit["dag"], `${ARGO_EXIT_TEMPLATE}.dag`);
  if (dag["failFast"] !== false) fail(`${ARGO_EXIT_TEMPLATE}.dag.failFast is not false`);
  const tasks = arr(dag["tasks"], `${ARGO_EXIT_TEMPLATE}.dag.tasks`).map((t) => obj(t, "exit task"));
  if (tasks.length === 0) fail("an onExit handler without notifications");
  return tasks.map((task, i): NotificationSummary => {
    const name = argoNotifyTask(i);
    if (JSON.stringify(task) !== JSON.stringify({ name, template: name, when: NOTIFY_WHEN }))
      fail(`exit task ${i + 1} is not ${name} with when ${JSON.stringify(NOTIFY_WHEN)}`);
    const tmpl = templates.get(name) ?? fail(`no ${name} template`);
    // No retryStrategy (a retry would send twice); the bound on the handler's pod.
    if (JSON.stringify(Object.keys(tmpl)) !== JSON.stringify(["name", "activeDeadlineSeconds", "container"]))
      fail(`${name} is not a container with a deadline`);
    if (tmpl["activeDeadlineSeconds"] !== NOTIFY_TASK_SECONDS) fail(`${name}.activeDeadlineSeconds is not ${NOTIFY_TASK_SECONDS}`);
    const c = obj(tmpl["container"], `${name}.container`);
    // The image is an option (a mirror or digest of the curl image), never a runtime value.
    if (c["name"] !== ARGO_MAIN_CONTAINER || str(c["image"], `${name}.image`).includes("{{")) fail(`${name} does not run one fixed image`);
    if (JSON.stringify(c["resources"]) !== "{}") fail(`${name}.resources is set`);
    if (JSON.stringify(c["securityContext"]) !== JSON.stringify(RESTRICTED_CONTAINER)) fail(`${name}'s container is not restricted`);
    if (c["args"] !== undefined) fail(`${name} has args`);
    const command = arr(c["command"], `${name}.command`).map((v, j) => literalOf(v, `${name}.command[${j}]`, source));
    if (JSON.stringify(command) !== JSON.stringify(["sh", "-c", NOTIFY_SCRIPT, NOTIFY_ARGV0])) fail(`${name}.command is not the fixed notification script`);
    const env = arr(c["env"], `${name}.env`).map((e): NotifyValue<string> => {
      const entry = obj(e, `${name}.env`);
      const envName = str(entry["name"], `${name}.env name`);
      if (entry["valueFrom"] === undefined) return { name: envName, value: str(entry["value"], `${name}.env ${envName}`) };
      const from = obj(entry["valueFrom"], `${name}.env ${envName}.valueFrom`);
      const ref = obj(from["secretKeyRef"], `${name}.env ${envName}.secretKeyRef`);
      if (entry["value"] !== undefined || Object.keys(from).length !== 1 || Object.keys(ref).length !== 2)
        fail(`${name}.env ${envName} is not only a secretKeyRef`);
      return { name: envName, secret: { secret: str(ref["name"], "secretKeyRef.name"), key: str(ref["key"], "secretKeyRef.key") } };
    });
    return readNotifyInputs(env, workflow, {
      template: (v) => parseArgoString(v, source, seeds),
      literal: (v, what) => literalOf(v, `${name} ${what}`, source),
      failed: (v) => v === failedJobsTag(jobs),
      run: (v) => v === runTag(null) || /^[^{}]+\/workflows\/\{\{workflow\.namespace\}\}\/\{\{workflow\.name\}\}$/.test(v),
      fail,
    });
  });
}

/** The labels every object of a workflow carries (`kfm-compile apply --prune` finds them by these). */
function checkLabels(metadata: Obj, objectName: string, what: string): void {
  const labels = obj(metadata["labels"], `${what} labels`);
  if (JSON.stringify(labels) !== JSON.stringify(objectLabels(objectName, "argo")))
    fail(`${what} does not carry exactly the managed-by, workflow and target labels`);
}

/**
 * The account the pods run as: the ServiceAccount, Role and RoleBinding in the file, or
 * an existing account named by the serviceAccount option (then none of the three).
 * The Role allows exactly what Argo's executor does: create and patch
 * WorkflowTaskResults (workflow/executor/taskresult.go, docs/workflow-rbac.md).
 */
/**
 * One wait for an upstream workflow's run (emit.ts `upstreamWaitTemplate`, README
 * "Cross-workflow dependencies"), read back: the upstream's spec name and timeout, after
 * checking every field that makes it wait for that run of the same logical date, fail
 * when it failed, and look again only while it does not exist.
 */
function liftUpstreamWait(task: Obj, tmpl: Obj, source: Source): { workflow: string; timeoutSeconds: number | null } {
  const name = str(task["name"], "task.name");
  const workflow = specName(tmpl["metadata"], `template ${name}`);
  if (name !== `kfm-wait-${kubeName(workflow)}` || task["template"] !== name || tmpl["name"] !== name) fail(`wait task ${name} is not named after ${workflow}`);
  const guard = `{{=sprig.dateInZone('${TS}', ${dateOf("parameter")}, 'UTC') != ''}}`;
  const taskKeys = source === "parameter" ? ["name", "template", "when"] : ["name", "template"];
  if (JSON.stringify(Object.keys(task)) !== JSON.stringify(taskKeys) || (source === "parameter" && task["when"] !== guard))
    fail(`wait task ${name} has other than a name, its template${source === "parameter" ? " and the logical-date guard" : ""}`);
  const timeoutSeconds = tmpl["activeDeadlineSeconds"] === undefined ? null : int(tmpl["activeDeadlineSeconds"], `template ${name}.activeDeadlineSeconds`);
  const retry = obj(tmpl["retryStrategy"], `template ${name}.retryStrategy`);
  const backoff = obj(retry["backoff"], `template ${name}.retryStrategy.backoff`);
  const limit = timeoutSeconds === null ? 2147483647 : Math.max(1, Math.ceil(timeoutSeconds / 60));
  if (
    retry["limit"] !== limit ||
    retry["retryPolicy"] !== "Always" ||
    retry["expression"] !== "lastRetry.message contains '(NotFound)'" ||
    backoff["duration"] !== "60" ||
    backoff["maxDuration"] !== (timeoutSeconds === null ? undefined : String(timeoutSeconds)) ||
    Object.keys(retry).length !== 4 ||
    Object.keys(backoff).length !== (timeoutSeconds === null ? 1 : 2)
  )
    fail(`template ${name} does not look again every minute, only while the upstream run is missing, until its timeout`);
  const resource = obj(tmpl["resource"], `template ${name}.resource`);
  const epoch = `sprig.unixEpoch(${dateOf(source)})`;
  const runName = `${kubeName(workflow)}-{{=${source === "scheduled" ? epoch : `sprig.div(${epoch}, 60)`}}}`;
  const manifest = `apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: ${runName}\n`;
  if (
    resource["action"] !== "get" ||
    resource["successCondition"] !== "status.phase == Succeeded" ||
    resource["failureCondition"] !== "status.phase in (Failed, Error)" ||
    resource["manifest"] !== manifest ||
    Object.keys(resource).length !== 4
  )
    fail(`template ${name} does not wait for the success of ${workflow}'s run of the same logical date`);
  if (Object.keys(tmpl).length !== (timeoutSeconds === null ? 4 : 5)) fail(`template ${name} has fields a wait does not use`);
  return { workflow, timeoutSeconds };
}

function checkAccount(accounts: Obj[], serviceAccountName: string, namespace: unknown, readsWorkflows: boolean): void {
  if (accounts.length === 0) return;
  const kinds = accounts.map((a) => a["kind"]).join(",");
  if (kinds !== "ServiceAccount,Role,RoleBinding") fail(`the account objects are ${kinds}, not a ServiceAccount, Role and RoleBinding in that order`);
  const [sa, role, binding] = accounts as [Obj, Obj, Obj];
  for (const a of accounts) {
    const meta = obj(a["metadata"], `${String(a["kind"])} metadata`);
    if (meta["name"] !== serviceAccountName) fail(`${String(a["kind"])} is not named ${serviceAccountName}, the account the pods use`);
    if (meta["namespace"] !== namespace) fail(`${String(a["kind"])} is in another namespace than the workflow`);
  }
  if (sa["apiVersion"] !== "v1" || Object.keys(sa).length !== 3) fail("the ServiceAccount has more than a name");
  const rbac = "rbac.authorization.k8s.io/v1";
  const rules = [
    { apiGroups: ["argoproj.io"], resources: ["workflowtaskresults"], verbs: ["create", "patch"] },
    ...(readsWorkflows ? [{ apiGroups: ["argoproj.io"], resources: ["workflows"], verbs: ["get"] }] : []),
  ];
  if (role["apiVersion"] !== rbac || JSON.stringify(role["rules"]) !== JSON.stringify(rules) || Object.keys(role).length !== 4)
    fail(`the Role allows other than creating and patching WorkflowTaskResults${readsWorkflows ? " and getting Workflows" : ""}`);
  const subject = { kind: "ServiceAccount", name: serviceAccountName, ...(namespace !== undefined ? { namespace } : {}) };
  if (
    binding["apiVersion"] !== rbac ||
    JSON.stringify(binding["roleRef"]) !== JSON.stringify({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: serviceAccountName }) ||
    JSON.stringify(binding["subjects"]) !== JSON.stringify([subject]) ||
    Object.keys(binding).length !== 5
  )
    fail("the RoleBinding does not bind the Role to the pods' ServiceAccount alone");
}

/**
 * `spec.templateDefaults`: only a container's `env` (the compiler's own KFM_ variables,
 * literal values or expression tags) and the securityContext option. The controller
 * merges them into every container template, env by name, the template's own entry
 * winning (mergedTemplateDefaultsInto, operator.go: a strategic merge patch).
 */
function templateDefaultEnv(value: unknown): Obj[] {
  if (value === undefined) return [];
  const defaults = obj(value, "spec.templateDefaults");
  if (Object.keys(defaults).some((k) => k !== "container")) fail("spec.templateDefaults holds more than container defaults");
  const c = obj(defaults["container"], "spec.templateDefaults.container");
  if (Object.keys(c).some((k) => k !== "env" && k !== "securityContext")) fail("spec.templateDefaults.container holds more than env and securityContext");
  if (c["securityContext"] !== undefined) obj(c["securityContext"], "spec.templateDefaults.container.securityContext");
  const env = c["env"] === undefined ? [] : arr(c["env"], "spec.templateDefaults.container.env").map((e) => obj(e, "default env"));
  for (const e of env) {
    if (!/^KFM_[A-Z_]+$/.test(str(e["name"], "default env name")) || e["valueFrom"] !== undefined) fail(`default env ${String(e["name"])} is not a KFM_ value`);
  }
  return env;
}

/** A container's env with the defaults merged in by name, as the controller does. */
function mergedEnv(defaults: readonly Obj[], own: unknown): unknown[] {
  const ownEnv = own === undefined ? [] : arr(own, "env");
  const names = new Set(ownEnv.map((e) => obj(e, "env")["name"]));
  return [...defaults.filter((d) => !names.has(d["name"])), ...ownEnv];
}

/**
 * An event trigger's objects (README "Event triggers"): the Sensor's account (allowed to
 * create Workflows only), a webhook EventSource, and a Sensor whose one dependency passes
 * a new object's S3 event record in the bucket under the prefix, and whose one k8s trigger
 * creates a Workflow from the WorkflowTemplate `objectName` with `logical-date` set to the
 * record's eventTime, and nothing else.
 */
function liftEvent(eventDocs: Obj[], objectName: string, namespace: unknown): ScheduleSummary {
  const kinds = eventDocs.map((d) => d["kind"]).join(",");
  if (kinds !== "ServiceAccount,Role,RoleBinding,EventSource,Sensor")
    fail(`the event objects are ${kinds}, not the Sensor's account, an EventSource and a Sensor`);
  const [sa, role, binding, source, sensor] = eventDocs as [Obj, Obj, Obj, Obj, Obj];
  const account = `${objectName}-sensor`;
  for (const d of [sa, role, binding]) {
    const meta = obj(d["metadata"], `${String(d["kind"])} metadata`);
    if (meta["name"] !== account || meta["namespace"] !== namespace) fail(`the Sensor's ${String(d["kind"])} is not ${account} in the workflow's namespace`);
  }
  if (JSON.stringify(role["rules"]) !== JSON.stringify([{ apiGroups: ["argoproj.io"], resources: ["workflows"], verbs: ["create"] }]))
    fail("the Sensor's Role allows other than creating Workflows");
  const subject = { kind: "ServiceAccount", name: account, ...(namespace !== undefined ? { namespace } : {}) };
  if (JSON.stringify(binding["subjects"]) !== JSON.stringify([subject]) || obj(binding["roleRef"], "roleRef")["name"] !== account)
    fail("the Sensor's RoleBinding does not bind its Role to its account alone");
  for (const d of [source, sensor]) {
    if (d["apiVersion"] !== "argoproj.io/v1alpha1") fail(`the ${String(d["kind"])} is not argoproj.io/v1alpha1`);
    const meta = obj(d["metadata"], `${String(d["kind"])} metadata`);
    if (meta["name"] !== objectName || meta["namespace"] !== namespace) fail(`the ${String(d["kind"])} is not ${objectName} in the workflow's namespace`);
  }
  const sourceSpec = obj(source["spec"], "EventSource spec");
  const hook = { [ARGO_EVENT_NAME]: { port: String(ARGO_EVENT_PORT), endpoint: `/${ARGO_EVENT_NAME}`, method: "POST" } };
  if (Object.keys(sourceSpec).join(",") !== "service,webhook" || JSON.stringify(sourceSpec["webhook"]) !== JSON.stringify(hook))
    fail("the EventSource is not the one POST webhook");
  const spec = obj(sensor["spec"], "Sensor spec");
  if (JSON.stringify(spec["template"]) !== JSON.stringify({ serviceAccountName: account })) fail(`the Sensor does not run as ${account}`);
  const deps = arr(spec["dependencies"], "Sensor dependencies");
  if (deps.length !== 1) fail("the Sensor has other than one dependency");
  const dep = obj(deps[0], "dependency");
  if (dep["eventSourceName"] !== objectName || dep["eventName"] !== ARGO_EVENT_NAME) fail("the dependency is not the EventSource's event");
  const filters = obj(dep["filters"], "dependency filters");
  if (Object.keys(filters).join(",") !== "data") fail("the dependency has filters other than data filters");
  const data = new Map<string, string>();
  for (const f of arr(filters["data"], "data filters").map((f) => obj(f, "data filter"))) {
    const value = arr(f["value"], "data filter value");
    if (f["type"] !== "string" || value.length !== 1 || f["comparator"] !== undefined) fail("a data filter is not one string pattern");
    data.set(str(f["path"], "data filter path"), str(value[0], "data filter value"));
  }
  const record = "body.Records.0";
  if (data.size !== 3 || data.get(`${record}.eventName`) !== OBJECT_CREATED_PATTERN) fail("the dependency does not pass exactly new objects' records");
  const location = locationFromPatterns(data.get(`${record}.s3.bucket.name`) ?? "", data.get(`${record}.s3.object.key`) ?? "");
  if (location === null) fail("the dependency's bucket and key filters are not a bucket and a key prefix");
  if (spec["dependencyGroups"] !== undefined || spec["errorOnFailedRound"] !== undefined) fail("the Sensor sets more than its dependency and trigger");
  const triggers = arr(spec["triggers"], "Sensor triggers");
  if (triggers.length !== 1) fail("the Sensor has other than one trigger");
  const template = obj(obj(triggers[0], "trigger")["template"], "trigger template");
  const k8s = obj(template["k8s"], "k8s trigger");
  if (k8s["operation"] !== "create" || template["conditions"] !== undefined) fail("the trigger does not create its resource unconditionally");
  const resource = obj(obj(k8s["source"], "k8s trigger source")["resource"], "k8s trigger resource");
  const runSpec = obj(resource["spec"], "Workflow spec");
  if (
    resource["kind"] !== "Workflow" ||
    JSON.stringify(runSpec) !==
      JSON.stringify({ workflowTemplateRef: { name: objectName }, arguments: { parameters: [{ name: ARGO_LOGICAL_DATE_PARAMETER }] } })
  )
    fail(`the trigger does not create a Workflow from the WorkflowTemplate ${objectName} with only its ${ARGO_LOGICAL_DATE_PARAMETER} parameter`);
  const parameters = JSON.stringify([{ src: { dependencyName: ARGO_EVENT_NAME, dataKey: `${record}.eventTime` }, dest: "spec.arguments.parameters.0.value" }]);
  if (JSON.stringify(k8s["parameters"]) !== parameters) fail(`the trigger does not set ${ARGO_LOGICAL_DATE_PARAMETER} to the record's eventTime alone`);
  return { kind: "event", trigger: "s3_file_arrival", source: s3Source(location.bucket, location.prefix) };
}

export function lift(text: string): Summary {
  const allDocs = parseYamlStream(text).map((d, i) => obj(d, `document ${i + 1}`));
  // An event trigger's objects follow the WorkflowTemplate.
  const templateAt = allDocs.findIndex((d) => d["kind"] === "WorkflowTemplate");
  const eventDocs = templateAt >= 0 ? allDocs.slice(templateAt + 1) : [];
  const docs = allDocs.slice(0, allDocs.length - eventDocs.length);
  const argoDocs = docs.filter((d) => d["kind"] === "CronWorkflow" || d["kind"] === "WorkflowTemplate");
  if (argoDocs.length !== 1 || docs[docs.length - 1] !== argoDocs[0]) fail("the last document is not the one CronWorkflow or WorkflowTemplate");
  const doc = argoDocs[0]!;
  const configMaps = docs.filter((d) => d["kind"] === "ConfigMap");
  if (configMaps.length > 1) fail("more than one ConfigMap");
  const configMap = configMaps[0] ?? null;
  const accounts = docs.filter((d) => d !== doc && d !== configMap);
  if (doc["apiVersion"] !== "argoproj.io/v1alpha1") fail("apiVersion is not argoproj.io/v1alpha1");
  const workflow = specName(doc["metadata"], "metadata");
  const metadata = obj(doc["metadata"], "metadata");
  const objectName = str(metadata["name"], "metadata.name");
  const namespace = metadata["namespace"];
  if (namespace !== undefined) str(namespace, "metadata.namespace");
  for (const d of allDocs) checkLabels(obj(d["metadata"], `${String(d["kind"])} metadata`), objectName, String(d["kind"]));
  const topSpec = obj(doc["spec"], "spec");

  let spec: Obj;
  let schedule: ScheduleSummary | null;
  let source: Source;
  if (doc["kind"] === "CronWorkflow") {
    schedule = liftSchedule(topSpec);
    spec = obj(topSpec["workflowSpec"], "spec.workflowSpec");
    source = "scheduled";
    if (spec["arguments"] !== undefined) fail("a scheduled run takes no arguments");
  } else {
    schedule = eventDocs.length > 0 ? liftEvent(eventDocs, objectName, namespace) : null;
    spec = topSpec;
    source = "parameter";
    const params = arr(obj(spec["arguments"], "spec.arguments")["parameters"], "spec.arguments.parameters");
    if (params.length !== 1) fail("a manual run takes exactly the logical-date parameter");
    const p = obj(params[0], "spec.arguments.parameters[0]");
    if (p["name"] !== ARGO_LOGICAL_DATE_PARAMETER) fail(`the parameter is not ${ARGO_LOGICAL_DATE_PARAMETER}`);
    if (p["value"] !== undefined || p["default"] !== undefined || p["valueFrom"] !== undefined) {
      fail("logical-date has a value: a manual run must be given its date");
    }
  }
  const defaultEnv = templateDefaultEnv(spec["templateDefaults"]);

  const timeoutSeconds = spec["activeDeadlineSeconds"] === undefined ? null : int(spec["activeDeadlineSeconds"], "spec.activeDeadlineSeconds");
  if (spec["entrypoint"] !== ARGO_DAG_TEMPLATE) fail(`entrypoint is not ${ARGO_DAG_TEMPLATE}`);
  if (spec["retryStrategy"] !== undefined) fail("a workflow-level retryStrategy is set");
  if (spec["parallelism"] !== undefined) fail("parallelism is set");
  const maxActiveRuns = liftConcurrency(spec["synchronization"], workflow, configMap, namespace);

  const templates = new Map<string, Obj>();
  for (const t of arr(spec["templates"], "spec.templates")) {
    const tmpl = obj(t, "template");
    templates.set(str(tmpl["name"], "template name"), tmpl);
  }
  const dagTemplate = templates.get(ARGO_DAG_TEMPLATE) ?? fail("no DAG template");
  const dag = obj(dagTemplate["dag"], "dag");
  // failFast (default true) would stop independent branches after a failure.
  if (dag["failFast"] !== false) fail("dag.failFast is not false");
  const tasks = arr(dag["tasks"], "dag.tasks").map((t) => obj(t, "dag task"));

  const isWait = (t: Obj) => typeof t["name"] === "string" && t["name"].startsWith("kfm-wait-");
  const waitTasks = tasks.filter(isWait);
  const waitNames = waitTasks.map((t) => t["name"] as string);
  const upstream = waitTasks.map((t) =>
    liftUpstreamWait(t, templates.get(str(t["template"], "task.template")) ?? fail(`task ${String(t["name"])} uses an unknown template`), source),
  );
  checkAccount(accounts, str(spec["serviceAccountName"], "spec.serviceAccountName"), namespace, upstream.length > 0);
  const jobTasks = tasks.filter((t) => t["name"] !== ARGO_RUN_STATUS_TASK && !isWait(t));
  const statusTask = tasks.find((t) => t["name"] === ARGO_RUN_STATUS_TASK);
  const taskSpecName = new Map<string, string>();
  for (const task of jobTasks) {
    const tmpl = templates.get(str(task["template"], "task.template")) ?? fail(`task ${String(task["name"])} uses an unknown template`);
    // A template without the annotation is named as its spec job (kubeName changes nothing).
    const named = tmpl["metadata"] === undefined ? str(tmpl["name"], "template name") : specName(tmpl["metadata"], `template ${String(tmpl["name"])}`);
    taskSpecName.set(str(task["name"], "task.name"), named);
  }
  const specNameOf = (taskName: string, what: string): string => taskSpecName.get(taskName) ?? fail(`${what} depends on unknown task ${taskName}`);

  // Every task with its dependencies, as spec names, for the run-status model.
  const graph: ({ name: string } & Depends)[] = [];
  const seeds: string[] = [];
  const jobs: [string, JobSummary][] = [];
  for (const task of jobTasks) {
    const taskName = task["name"] as string;
    const name = taskSpecName.get(taskName)!;
    const tmpl = templates.get(task["template"] as string)!;
    const declared = parseDepends(task["depends"], `task ${taskName}`);
    // A root job depends on every wait, and on nothing else: every upstream run must have succeeded before any job starts.
    const onWaits = declared.after.filter((d) => waitNames.includes(d));
    if (onWaits.length > 0 && (onWaits.length !== declared.after.length || declared.runWhen !== "all_succeeded"))
      fail(`task ${taskName} depends on upstream waits and on jobs`);
    if (waitNames.length > 0 && declared.after.length === 0) fail(`root task ${taskName} does not wait for the upstream runs`);
    if (onWaits.length > 0 && JSON.stringify(onWaits) !== JSON.stringify(waitNames)) fail(`root task ${taskName} does not wait for every upstream run`);
    const depends: Depends = { after: declared.after.filter((d) => !waitNames.includes(d)), runWhen: declared.runWhen };
    const after = depends.after.map((d) => specNameOf(d, `task ${taskName}`));
    graph.push({ name, after, runWhen: depends.runWhen });
    if (task["dependencies"] !== undefined || task["continueOn"] !== undefined || task["hooks"] !== undefined)
      fail(`task ${taskName} uses dependencies/continueOn/hooks`);
    if (depends.runWhen === "all_done" && timeoutSeconds !== null && after.length > 0) {
      // The run-deadline guard of a `continue` task (emit.ts runDeadlineGuard): part of the run's timeout, not a condition.
      if (task["when"] !== runDeadlineGuard(timeoutSeconds))
        fail(`task ${taskName} lacks the run-deadline guard ${JSON.stringify(runDeadlineGuard(timeoutSeconds))}`);
    } else if (task["when"] !== undefined) {
      const guard = `{{=sprig.dateInZone('${TS}', ${dateOf("parameter")}, 'UTC') != ''}}`;
      if (source !== "parameter" || after.length > 0 || task["when"] !== guard) fail(`task ${taskName} has a when that is not the logical-date guard`);
    } else if (source === "parameter" && after.length === 0 && onWaits.length === 0) {
      fail(`root task ${taskName} of a manual run lacks the logical-date guard`);
    }

    if (tmpl["suspend"] !== undefined) {
      jobs.push([name, liftGate(tmpl, taskName, [...after].sort(compareStrings))]);
      continue;
    }
    const c = obj(tmpl["container"], `template ${taskName}.container`);
    if (c["name"] !== undefined && c["name"] !== ARGO_MAIN_CONTAINER) fail(`template ${taskName} container is not ${ARGO_MAIN_CONTAINER}`);
    const parse = (v: unknown, what: string) => parseArgoString(str(v, what), source, seeds);
    const command = c["command"] === undefined ? null : arr(c["command"], "command").map((v, i) => parse(v, `command[${i}]`));
    const args = c["args"] === undefined ? null : arr(c["args"], "args").map((v, i) => parse(v, `args[${i}]`));
    const env = mergedEnv(defaultEnv, c["env"]).map((e, i): [string, Template | SecretRef] => {
      const ev = obj(e, `env[${i}]`);
      const envName = str(ev["name"], `env[${i}].name`);
      if (ev["valueFrom"] !== undefined) {
        if (ev["value"] !== undefined) fail(`env ${envName} has both value and valueFrom`);
        const from = obj(ev["valueFrom"], `env ${envName}.valueFrom`);
        if (Object.keys(from).length !== 1) fail(`env ${envName}.valueFrom is not only a secretKeyRef`);
        const ref = obj(from["secretKeyRef"], `env ${envName}.valueFrom.secretKeyRef`);
        // `optional` unset: a missing Secret or key keeps the pod from starting (Kubernetes).
        if (Object.keys(ref).length !== 2) fail(`env ${envName}.secretKeyRef has more than name and key`);
        return [envName, { secret: str(ref["name"], "secretKeyRef.name"), key: str(ref["key"], "secretKeyRef.key") }];
      }
      return [envName, parse(ev["value"], `env[${i}].value`)];
    });
    const image = str(c["image"], "image");
    if (image.includes("{{")) fail(`image ${image} holds an Argo tag`);
    const { cpu, memory } = liftResources(c["resources"] ?? {});
    const retry = liftRetry(tmpl["retryStrategy"], `template ${taskName}`);
    const jobTimeout = tmpl["activeDeadlineSeconds"] === undefined ? null : int(tmpl["activeDeadlineSeconds"], `template ${taskName}.activeDeadlineSeconds`);
    if (tmpl["timeout"] !== undefined) fail(`template ${taskName}.timeout is set`);
    jobs.push([
      name,
      {
        approval: null,
        after: [...after].sort(compareStrings),
        image,
        command,
        args,
        runWhen: depends.runWhen,
        failureFailsRun: false, // set below from the whole graph
        env: sortedRecord(env),
        cpu,
        memory,
        attempts: retry.attempts,
        waitsSeconds: retry.waitsSeconds,
        timeoutSeconds: jobTimeout,
      },
    ]);
  }

  let statusTemplates = 0;
  if (statusTask !== undefined) {
    if (statusTask["template"] !== ARGO_RUN_STATUS_TASK) fail(`${ARGO_RUN_STATUS_TASK} does not run its own template`);
    const tmpl = templates.get(ARGO_RUN_STATUS_TASK) ?? fail(`no ${ARGO_RUN_STATUS_TASK} template`);
    // A zero-length suspend completes at once without a pod (operator.go, executeSuspend).
    if (JSON.stringify(tmpl) !== JSON.stringify({ name: ARGO_RUN_STATUS_TASK, suspend: { duration: "0" } }))
      fail(`the ${ARGO_RUN_STATUS_TASK} template is not a zero-length suspend`);
    if (Object.keys(statusTask).some((k) => !["name", "template", "depends"].includes(k)))
      fail(`${ARGO_RUN_STATUS_TASK} has more than name, template and depends`);
    const depends = parseDepends(statusTask["depends"], ARGO_RUN_STATUS_TASK);
    graph.push({ name: ARGO_RUN_STATUS_TASK, after: depends.after.map((d) => specNameOf(d, ARGO_RUN_STATUS_TASK)), runWhen: depends.runWhen });
    statusTemplates = 1;
  }
  const notifications = liftNotifications(
    spec["onExit"],
    templates,
    source,
    seeds,
    workflow,
    jobs.map(([name]) => ({ name })),
  );
  const exitTemplates = notifications.length === 0 ? 0 : notifications.length + 1;
  if (templates.size !== jobTasks.length + waitTasks.length + statusTemplates + exitTemplates + 1) fail("templates that no task uses");

  // Tasks in an order where dependencies come first (the DAG has no cycle; a cycle is an error here).
  const ordered: typeof graph = [];
  const placed = new Set<string>();
  while (ordered.length < graph.length) {
    const next = graph.find((t) => !placed.has(t.name) && t.after.every((d) => placed.has(d)));
    if (next === undefined) fail("the DAG has a cycle");
    ordered.push(next);
    placed.add(next.name);
  }
  const jobsWithStatus = jobs.map(([n, j]): [string, JobSummary] => [n, { ...j, failureFailsRun: failureFailsRun(ordered, n) }]);

  if (seeds.length === 0) fail("no run-token expression to read the seed from");
  if (seeds.some((x) => x !== seeds[0])) fail("run-token expressions hash different seeds");

  return { workflow, schedule, timeoutSeconds, maxActiveRuns, runTokenSeed: seeds[0]!, upstream, notifications, jobs: sortedRecord(jobsWithStatus) };
}
