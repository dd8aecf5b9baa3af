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
import { RUNTIME_VARIABLES, type RuntimeVariable, type Segment, type Template } from "../../src/ir.js";
import { ARGO_DAG_TEMPLATE, ARGO_LOGICAL_DATE_PARAMETER, ARGO_MAIN_CONTAINER, ARGO_SPEC_NAME_ANNOTATION } from "../../src/names.js";
import { compareStrings, cpuMeaning, memoryMeaning, sortedRecord, type JobSummary, type ScheduleSummary, type Summary } from "../../src/summary.js";
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

/** Is `body` the expression that yields `variable` (UTC, Airflow format) from the run's logical date? */
function computes(variable: RuntimeVariable, body: string, source: Source): boolean {
  const date = dateOf(source);
  switch (variable) {
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

/** Reads one Argo container string back into segments: `$$` is one `$`, each `{{=...}}` one runtime value, any other `{{...}}` literal text. */
export function parseArgoString(value: string, source: Source): Template {
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
    const variable = m[1] as RuntimeVariable;
    if (!(RUNTIME_VARIABLES as readonly string[]).includes(variable) || !computes(variable, m[3]!, source)) {
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
  if (schedules.length !== 1) fail("spec.schedules does not hold exactly one cron expression");
  const timezone = str(spec["timezone"], "spec.timezone");
  if (spec["schedule"] !== undefined) fail("the removed singular spec.schedule is written");
  if (spec["concurrencyPolicy"] !== "Allow") fail("spec.concurrencyPolicy is not Allow");
  if (spec["suspend"] !== false) fail("spec.suspend is not false");
  // At most one missed slot is ever started, and only within startingDeadlineSeconds: 0 means none, so no catchup.
  if (int(spec["startingDeadlineSeconds"], "spec.startingDeadlineSeconds") !== 0) fail("startingDeadlineSeconds is not 0");
  let start: string | null = null;
  let end: string | null = null;
  if (spec["when"] !== undefined) {
    const m = /^\{\{= (.*) \}\}$/.exec(str(spec["when"], "spec.when"));
    if (m === null) fail("spec.when is not one expression tag");
    for (const condition of m[1]!.split(" && ")) {
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
  return { kind: "cron", cron: str(schedules[0], "spec.schedules[0]"), timezone, start, end, catchup: false };
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
  if (rs["retryPolicy"] !== "Always") fail(`${what}.retryStrategy.retryPolicy is not Always (the default OnFailure does not retry errors)`);
  if (rs["expression"] !== undefined) fail(`${what}.retryStrategy.expression is set`);
  const limit = int(rs["limit"], `${what}.retryStrategy.limit`);
  if (limit < 0) fail(`${what}.retryStrategy.limit is negative`);
  const backoff = obj(rs["backoff"], `${what}.retryStrategy.backoff`);
  if (backoff["maxDuration"] !== undefined) fail(`${what}.retryStrategy.backoff.maxDuration is set`);
  const duration = seconds(backoff["duration"], `${what}.backoff.duration`);
  const factor = backoff["factor"] === undefined ? null : int(backoff["factor"], `${what}.backoff.factor`);
  const cap = backoff["cap"] === undefined ? null : seconds(backoff["cap"], `${what}.backoff.cap`);
  return { attempts: limit + 1, waitsSeconds: argoWaits(limit, duration, factor, cap) };
}

export function lift(text: string): Summary {
  const docs = parseYamlStream(text);
  if (docs.length !== 1) fail(`expected one document, found ${docs.length}`);
  const doc = obj(docs[0], "document");
  if (doc["apiVersion"] !== "argoproj.io/v1alpha1") fail("apiVersion is not argoproj.io/v1alpha1");
  const workflow = specName(doc["metadata"], "metadata");
  const topSpec = obj(doc["spec"], "spec");

  let spec: Obj;
  let schedule: ScheduleSummary | null;
  let source: Source;
  if (doc["kind"] === "CronWorkflow") {
    schedule = liftSchedule(topSpec);
    spec = obj(topSpec["workflowSpec"], "spec.workflowSpec");
    source = "scheduled";
    if (spec["arguments"] !== undefined) fail("a scheduled run takes no arguments");
  } else if (doc["kind"] === "WorkflowTemplate") {
    schedule = null;
    spec = topSpec;
    source = "parameter";
    const params = arr(obj(spec["arguments"], "spec.arguments")["parameters"], "spec.arguments.parameters");
    if (params.length !== 1) fail("a manual run takes exactly the logical-date parameter");
    const p = obj(params[0], "spec.arguments.parameters[0]");
    if (p["name"] !== ARGO_LOGICAL_DATE_PARAMETER) fail(`the parameter is not ${ARGO_LOGICAL_DATE_PARAMETER}`);
    if (p["value"] !== undefined || p["default"] !== undefined || p["valueFrom"] !== undefined) {
      fail("logical-date has a value: a manual run must be given its date");
    }
  } else {
    fail(`kind ${String(doc["kind"])} is not CronWorkflow or WorkflowTemplate`);
  }

  const timeoutSeconds = spec["activeDeadlineSeconds"] === undefined ? null : int(spec["activeDeadlineSeconds"], "spec.activeDeadlineSeconds");
  if (spec["entrypoint"] !== ARGO_DAG_TEMPLATE) fail(`entrypoint is not ${ARGO_DAG_TEMPLATE}`);
  if (spec["retryStrategy"] !== undefined || spec["templateDefaults"] !== undefined) fail("workflow-level retryStrategy/templateDefaults are set");

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

  const taskSpecName = new Map<string, string>();
  for (const task of tasks) {
    const tmpl = templates.get(str(task["template"], "task.template")) ?? fail(`task ${String(task["name"])} uses an unknown template`);
    taskSpecName.set(str(task["name"], "task.name"), specName(tmpl["metadata"], `template ${String(tmpl["name"])}`));
  }

  const jobs: [string, JobSummary][] = [];
  for (const task of tasks) {
    const taskName = task["name"] as string;
    const name = taskSpecName.get(taskName)!;
    const tmpl = templates.get(task["template"] as string)!;
    const after: string[] = [];
    if (task["depends"] !== undefined) {
      for (const term of str(task["depends"], `task ${taskName}.depends`).split(" && ")) {
        const m = /^([a-z0-9][-a-z0-9]*)\.Succeeded$/.exec(term);
        if (m === null) fail(`task ${taskName} depends on ${JSON.stringify(term)}, not on a success`);
        after.push(taskSpecName.get(m[1]!) ?? fail(`task ${taskName} depends on unknown task ${m[1]}`));
      }
    }
    if (task["dependencies"] !== undefined || task["continueOn"] !== undefined) fail(`task ${taskName} uses dependencies/continueOn`);
    if (task["when"] !== undefined) {
      const guard = `{{=sprig.dateInZone('${TS}', ${dateOf("parameter")}, 'UTC') != ''}}`;
      if (source !== "parameter" || after.length > 0 || task["when"] !== guard) fail(`task ${taskName} has a when that is not the logical-date guard`);
    } else if (source === "parameter" && after.length === 0) {
      fail(`root task ${taskName} of a manual run lacks the logical-date guard`);
    }

    const c = obj(tmpl["container"], `template ${taskName}.container`);
    if (c["name"] !== ARGO_MAIN_CONTAINER) fail(`template ${taskName} container is not ${ARGO_MAIN_CONTAINER}`);
    const parse = (v: unknown, what: string) => parseArgoString(str(v, what), source);
    const command = c["command"] === undefined ? null : arr(c["command"], "command").map((v, i) => parse(v, `command[${i}]`));
    const args = c["args"] === undefined ? null : arr(c["args"], "args").map((v, i) => parse(v, `args[${i}]`));
    const env = arr(c["env"], "env").map((e, i): [string, Template] => {
      const ev = obj(e, `env[${i}]`);
      if (ev["valueFrom"] !== undefined) fail(`env[${i}] uses valueFrom`);
      return [str(ev["name"], `env[${i}].name`), parse(ev["value"], `env[${i}].value`)];
    });
    const image = str(c["image"], "image");
    if (image.includes("{{")) fail(`image ${image} holds an Argo tag`);
    const { cpu, memory } = liftResources(c["resources"]);
    const retry = liftRetry(tmpl["retryStrategy"], `template ${taskName}`);
    const jobTimeout = tmpl["activeDeadlineSeconds"] === undefined ? null : int(tmpl["activeDeadlineSeconds"], `template ${taskName}.activeDeadlineSeconds`);
    if (tmpl["timeout"] !== undefined) fail(`template ${taskName}.timeout is set`);
    jobs.push([
      name,
      {
        after: after.sort(compareStrings),
        image,
        command,
        args,
        env: sortedRecord(env),
        cpu,
        memory,
        attempts: retry.attempts,
        waitsSeconds: retry.waitsSeconds,
        timeoutSeconds: jobTimeout,
      },
    ]);
  }
  if (templates.size !== tasks.length + 1) fail("templates that no task uses");

  return { workflow, schedule, timeoutSeconds, jobs: sortedRecord(jobs) };
}
