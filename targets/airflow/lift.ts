/**
 * Reads a DAG file written by emit.ts back into its meaning. It parses the Python
 * that Airflow itself executes (the DAG(...) and KubernetesPodOperator(...) keyword
 * arguments, the `>>` edges, the RetryPolicy class) with a small reader of exactly
 * the forms emit writes, and renders every templated string the way Airflow's Jinja
 * and then Kubernetes would. Anything else is an error: a file lift cannot read is
 * a file emit should not have written.
 */
import type { RuntimeVariable, Segment, SecretRef, StandardVariable, Template } from "../../src/ir.js";
import { NOTIFY_SCRIPT, NOTIFY_TASK_SECONDS, readNotifyInputs, type NotifyValue } from "../../src/notify.js";
import {
  AIRFLOW_FAIL_RUN_TASK,
  AIRFLOW_RUN_DONE_TASK,
  AIRFLOW_RUN_FAILED_TASK,
  AIRFLOW_WINDOW_TASK,
  NOTIFY_CURL_IMAGE,
  airflowNotifyTask,
  airflowUpstreamSensorTask,
} from "../../src/names.js";
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
import {
  EDGE_LOOP,
  JINJA_ATTEMPT,
  JINJA_RUN_TOKEN,
  MAX_ACTIVE_RUNS,
  NOTIFY_ARGV0,
  NOTIFY_FAILED_JINJA,
  NOTIFY_HELPERS,
  NOTIFY_RUN_JINJA,
  K8S_CONFIG,
  POD_START_TIMEOUT_SECONDS,
  RESTRICTED_CONTAINER,
  RESTRICTED_CONTAINER_SECURITY_CONTEXT,
  RESTRICTED_POD,
  RESTRICTED_POD_SECURITY_CONTEXT,
  RETRY_WAITS_CLASS as RETRY_WAITS,
  RETRY_WAITS_DEADLINE_CLASS,
  RUN_DEADLINE_FUNCTIONS,
  RUN_DEADLINE_HOOK,
  RUN_TIMEOUT,
  SENSOR_NO_LIMIT_SECONDS,
  WINDOW_FUNCTION,
  importBlock,
} from "./emit.js";

/**
 * The Kubernetes models' configuration, the retry-policy class, the run-token macro and the
 * failure watcher's class, byte for byte. Lift pins the code because it reads
 * `KfmRetryWaits(waits=[...])` as "wait exactly these seconds", `{{ kfm_run_token(ts) }}`
 * as the run token of KFM_RUN_TOKEN_SEED, `local_vars_configuration=KFM_K8S_CONFIG`
 * as "the default configuration" and `KfmFailRun` as "fails when it runs"; those readings
 * are only true of this code. Each optional block is written exactly when the file uses it,
 * and the imports are exactly the names the file uses (emit.ts `importBlock`).
 */
const K8S_CONFIG_BLOCK = `
# The configuration every Kubernetes model below is built with: a model given none
# copies the default one itself, and that copy costs more than the rest of the task.
KFM_K8S_CONFIG = Configuration.get_default_copy()
`;

/** The retry-policy class as the file holds it (emit.ts), with or without a run timeout. */
const RETRY_WAITS_CLASS = `\n\n${RETRY_WAITS}\n`;
const RETRY_WAITS_CLASS_DEADLINE = `\n\n${RETRY_WAITS_DEADLINE_CLASS}\n`;

const RUN_TOKEN_FUNCTION = `

def kfm_run_token(ts):
    """The run token (KFM_RUN_TOKEN) of the run at \`ts\` (kfm-compile).

    The first 32 hex digits of sha256(KFM_RUN_TOKEN_SEED + ts).
    """
    return hashlib.sha256((KFM_RUN_TOKEN_SEED + ts).encode("utf-8")).hexdigest()[:32]


`;

const FAIL_RUN_CLASS = `class KfmFailRun(BaseOperator):
    """Fails when it runs (kfm-compile).

    trigger_rule="one_failed" runs it when a job failed, so the run ends failed.
    """

    def execute(self, context):
        raise AirflowFailException("a job of this run failed")


`;

/** The statement inside the edge loop. */
const EDGE_STATEMENT = "dag.get_task(upstream) >> dag.get_task(downstream)";

class LiftError extends Error {
  constructor(message: string) {
    super(`airflow lift: ${message}`);
  }
}

// ---------------------------------------------------------------- tokens

type Token =
  | { kind: "name"; value: string }
  | { kind: "num"; value: number }
  | { kind: "str"; value: string }
  | { kind: "op"; value: string }
  | { kind: "newline" }
  | { kind: "end" };

const OPERATORS = [">>", "(", ")", "[", "]", "{", "}", ",", ":", "=", ".", "-"];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let depth = 0;
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\n") {
      if (depth === 0 && out.length > 0 && out[out.length - 1]!.kind !== "newline") out.push({ kind: "newline" });
      i++;
    } else if (c === " ") i++;
    else if (c === "#") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === '"' || c === "'") {
      const [value, next] = readPyString(src, i);
      out.push({ kind: "str", value });
      i = next;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ kind: "name", value: m[0] });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?/.exec(src.slice(i))!;
      out.push({ kind: "num", value: Number(m[0]) });
      i += m[0].length;
    } else {
      const op = OPERATORS.find((o) => src.startsWith(o, i));
      if (op === undefined) throw new LiftError(`unexpected character ${JSON.stringify(c)} at offset ${i}`);
      if ("([{".includes(op)) depth++;
      if (")]}".includes(op)) depth--;
      out.push({ kind: "op", value: op });
      i += op.length;
    }
  }
  if (out.length > 0 && out[out.length - 1]!.kind !== "newline") out.push({ kind: "newline" });
  out.push({ kind: "end" });
  return out;
}

/** A Python literal as pyStr writes it (in either quote); returns the value and the offset after it. */
function readPyString(src: string, start: number): [string, number] {
  const quote = src[start]!;
  let i = start + 1;
  let out = "";
  while (i < src.length && src[i] !== quote) {
    if (src[i] === "\n") throw new LiftError("newline inside a string literal");
    if (src[i] === "\\") {
      const [s, n] = readEscape(src, i, quote);
      out += s;
      i = n;
    } else out += src[i++];
  }
  if (i >= src.length) throw new LiftError("unterminated string literal");
  return [out, i + 1];
}

/** One escape of the forms escapeCodePoints writes (shared by Python and Jinja's `unicode-escape`). */
function readEscape(src: string, i: number, quote: string): [string, number] {
  const e = src[i + 1];
  if (e === "\\" || e === quote) return [e, i + 2];
  if (e === "n" || e === "r" || e === "t") return [e === "n" ? "\n" : e === "r" ? "\r" : "\t", i + 2];
  const width = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
  if (width === 0) throw new LiftError(`unsupported escape \\${e ?? ""}`);
  const digits = src.slice(i + 2, i + 2 + width);
  if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(digits)) throw new LiftError(`malformed escape \\${e}${digits}`);
  const cp = parseInt(digits, 16);
  if (cp > 0x10ffff) throw new LiftError(`code point out of range \\${e}${digits}`);
  return [cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp), i + 2 + width];
}

// ---------------------------------------------------------------- expressions

type Expr =
  | { kind: "str"; value: string }
  | { kind: "num"; value: number }
  | { kind: "name"; name: string }
  | { kind: "list"; items: Expr[] }
  | { kind: "tuple"; items: Expr[] }
  | { kind: "dict"; entries: [Expr, Expr][] }
  | { kind: "call"; func: string; args: Expr[]; kwargs: Map<string, Expr> };

class Parser {
  private pos = 0;
  /** The names the file calls (`k8s.V1EnvVar(` -> `k8s`), to check the imports against. */
  readonly called = new Set<string>();
  constructor(private readonly tokens: Token[]) {}

  peek(): Token {
    return this.tokens[this.pos]!;
  }
  next(): Token {
    return this.tokens[this.pos++]!;
  }
  atEnd(): boolean {
    return this.peek().kind === "end";
  }
  isOp(value: string): boolean {
    const t = this.peek();
    return t.kind === "op" && t.value === value;
  }
  op(value: string): void {
    const t = this.next();
    if (t.kind !== "op" || t.value !== value) throw new LiftError(`expected \`${value}\`, found ${describe(t)}`);
  }
  name(value?: string): string {
    const t = this.next();
    if (t.kind !== "name" || (value !== undefined && t.value !== value)) throw new LiftError(`expected ${value ?? "a name"}, found ${describe(t)}`);
    return t.value;
  }
  newline(): void {
    const t = this.next();
    if (t.kind !== "newline") throw new LiftError(`expected the end of the line, found ${describe(t)}`);
  }

  expr(): Expr {
    const t = this.next();
    let e: Expr;
    if (t.kind === "str") e = { kind: "str", value: t.value };
    else if (t.kind === "num") e = { kind: "num", value: t.value };
    else if (t.kind === "name") {
      let name = t.value;
      while (this.isOp(".")) {
        this.next();
        name += "." + this.name();
      }
      e = { kind: "name", name };
    } else if (t.kind === "op" && t.value === "-") {
      const n = this.next();
      if (n.kind !== "num") throw new LiftError(`expected a number after -, found ${describe(n)}`);
      e = { kind: "num", value: -n.value };
    } else if (t.kind === "op" && t.value === "(") {
      const items: Expr[] = [];
      while (!this.isOp(")")) {
        items.push(this.expr());
        if (!this.isOp(")")) this.op(",");
      }
      this.next();
      if (items.length < 2) throw new LiftError("a parenthesised expression that is not a tuple of two or more");
      e = { kind: "tuple", items };
    } else if (t.kind === "op" && t.value === "[") {
      const items: Expr[] = [];
      while (!this.isOp("]")) {
        items.push(this.expr());
        if (!this.isOp("]")) this.op(",");
      }
      this.next();
      e = { kind: "list", items };
    } else if (t.kind === "op" && t.value === "{") {
      const entries: [Expr, Expr][] = [];
      while (!this.isOp("}")) {
        const k = this.expr();
        this.op(":");
        entries.push([k, this.expr()]);
        if (!this.isOp("}")) this.op(",");
      }
      this.next();
      e = { kind: "dict", entries };
    } else throw new LiftError(`unexpected ${describe(t)}`);
    if (this.isOp("(")) {
      if (e.kind !== "name") throw new LiftError("only a name can be called");
      this.next();
      const args: Expr[] = [];
      const kwargs = new Map<string, Expr>();
      while (!this.isOp(")")) {
        const save = this.pos;
        const t2 = this.next();
        if (t2.kind === "name" && this.isOp("=")) {
          this.next();
          if (kwargs.has(t2.value)) throw new LiftError(`keyword argument ${t2.value} repeated`);
          kwargs.set(t2.value, this.expr());
        } else {
          this.pos = save;
          if (kwargs.size > 0) throw new LiftError("positional argument after keyword argument");
          args.push(this.expr());
        }
        if (!this.isOp(")")) this.op(",");
      }
      this.next();
      this.called.add(e.name.split(".")[0]!);
      e = { kind: "call", func: e.name, args, kwargs };
    }
    return e;
  }
}

function describe(t: Token): string {
  return t.kind === "newline" ? "end of line" : t.kind === "end" ? "end of file" : `${t.kind} ${JSON.stringify(t.value)}`;
}

// ---------------------------------------------------------------- value readers

function str(e: Expr | undefined, what: string): string {
  if (e?.kind !== "str") throw new LiftError(`${what} is not a string literal`);
  return e.value;
}

function optStr(e: Expr | undefined, what: string): string | null {
  return isNone(e) ? null : str(e, what);
}

function num(e: Expr | undefined, what: string): number {
  if (e?.kind !== "num") throw new LiftError(`${what} is not a number`);
  return e.value;
}

function int(e: Expr | undefined, what: string): number {
  const n = num(e, what);
  if (!Number.isInteger(n) || n < 0) throw new LiftError(`${what} is not a non-negative integer`);
  return n;
}

function isNone(e: Expr | undefined): boolean {
  return e?.kind === "name" && e.name === "None";
}

function bool(e: Expr | undefined, what: string): boolean {
  if (e?.kind === "name" && (e.name === "True" || e.name === "False")) return e.name === "True";
  throw new LiftError(`${what} is not True or False`);
}

function call(e: Expr | undefined, func: string, what: string): Extract<Expr, { kind: "call" }> {
  if (e?.kind !== "call" || e.func !== func) throw new LiftError(`${what} is not a ${func}(...) call`);
  return e;
}

function expectKeys(c: Extract<Expr, { kind: "call" }>, positional: number, keys: readonly string[], what: string): void {
  if (c.args.length !== positional) throw new LiftError(`${what} takes ${positional} positional arguments, found ${c.args.length}`);
  const got = [...c.kwargs.keys()];
  if (got.join(",") !== keys.join(",")) throw new LiftError(`${what} has keyword arguments ${got.join(", ")}, expected ${keys.join(", ")}`);
}

/** `k8s.<model>(<keys>, local_vars_configuration=KFM_K8S_CONFIG)`: a Kubernetes model built with the file's one configuration. */
function k8sCall(e: Expr | undefined, model: string, keys: readonly string[], what: string): Extract<Expr, { kind: "call" }> {
  const c = call(e, `k8s.${model}`, what);
  expectKeys(c, 0, [...keys, "local_vars_configuration"], what);
  const config = c.kwargs.get("local_vars_configuration");
  if (config?.kind !== "name" || config.name !== K8S_CONFIG) throw new LiftError(`${what} is not built with ${K8S_CONFIG}`);
  return c;
}

/** `timedelta(seconds=N)` -> N. */
function seconds(e: Expr | undefined, what: string): number {
  const c = call(e, "timedelta", what);
  expectKeys(c, 0, ["seconds"], what);
  const n = num(c.kwargs.get("seconds"), what);
  if (n < 0) throw new LiftError(`${what} is negative`);
  return n;
}

function optSeconds(e: Expr | undefined, what: string): number | null {
  return isNone(e) ? null : seconds(e, what);
}

function constant(e: Expr | undefined, expected: string | number | boolean | null, what: string): void {
  const ok =
    expected === null
      ? isNone(e)
      : typeof expected === "boolean"
        ? e?.kind === "name" && e.name === (expected ? "True" : "False")
        : typeof expected === "number"
          ? e?.kind === "num" && e.value === expected
          : e?.kind === "str" && e.value === expected;
  if (!ok) throw new LiftError(`${what} is not ${JSON.stringify(expected)}`);
}

// ---------------------------------------------------------------- Jinja + Kubernetes

const VARIABLE_FORMS: ReadonlyArray<[string, RuntimeVariable | StandardVariable]> = [
  ["{{ ds }}", "ds"],
  ["{{ ts }}", "ts"],
  ["{{ logical_date | ts }}", "execution_date"],
  [JINJA_ATTEMPT, "attempt"],
  [JINJA_RUN_TOKEN, "run_token"],
];
const SHIFT_FORM = /^\{\{ \(logical_date ([-+]) macros\.timedelta\(seconds=([0-9]+)\)\) \| ts \}\}/;

/**
 * Renders Jinja source the way Airflow's engine does for the forms emit writes:
 * template data (normalised `\r\n`/`\r` -> `\n`, one trailing `\n` dropped), string
 * expressions `{{ '...' }}`, and the runtime-variable expressions above. Then, for
 * Kubernetes fields, applies Kubernetes' `$$` -> `$` (a `$(` left would be expanded
 * by Kubernetes, so it is an error).
 */
export function readTemplate(source: string, kubernetesField: boolean): Template {
  const segs: Segment[] = [];
  const pushText = (t: string): void => {
    if (t === "") return;
    const last = segs[segs.length - 1];
    if (last !== undefined && "text" in last) segs[segs.length - 1] = { text: last.text + t };
    else segs.push({ text: t });
  };
  let i = 0;
  while (i < source.length) {
    if (source.startsWith("{{ '", i)) {
      // Jinja's string rule: '([^'\\]*(?:\\.[^'\\]*)*)', newlines normalised, then unicode-escape.
      let j = i + 4;
      while (j < source.length && source[j] !== "'") j += source[j] === "\\" ? 2 : 1;
      if (!source.startsWith("' }}", j)) throw new LiftError(`unterminated Jinja string in ${JSON.stringify(source)}`);
      const raw = source.slice(i + 4, j).replace(/\r\n?/g, "\n");
      let text = "";
      for (let r = 0; r < raw.length;) {
        if (raw[r] === "\\") {
          const [s, next] = readEscape(raw, r, "'");
          text += s;
          r = next;
        } else text += raw[r++];
      }
      pushText(text);
      i = j + 4;
      continue;
    }
    const form = VARIABLE_FORMS.find(([f]) => source.startsWith(f, i));
    if (form) {
      segs.push({ variable: form[1] });
      i += form[0].length;
      continue;
    }
    const shift = SHIFT_FORM.exec(source.slice(i));
    if (shift) {
      segs.push({ variable: shift[1] === "-" ? "prev_execution_date" : "next_execution_date" });
      i += shift[0].length;
      continue;
    }
    if (source[i] === "{" && "{%#".includes(source[i + 1] ?? "")) throw new LiftError(`Jinja that emit does not write in ${JSON.stringify(source)}`);
    let j = source.indexOf("{", i + 1);
    if (j === -1) j = source.length;
    let data = source.slice(i, j).replace(/\r\n?/g, "\n");
    if (j === source.length && data.endsWith("\n")) data = data.slice(0, -1);
    pushText(data);
    i = j;
  }
  // Kubernetes reads the whole rendered string; runtime values hold no `$` or `(`.
  return kubernetesField ? segs.map((s) => ("text" in s ? { text: kubernetesText(s.text) } : s)) : segs;
}

/** Kubernetes `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/expansion): `$$` -> `$`. */
function kubernetesText(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "$" && text[i + 1] === "$") {
      out += "$";
      i++;
    } else if (text[i] === "$" && text[i + 1] === "(") {
      throw new LiftError(`Kubernetes would expand \`$(\` in ${JSON.stringify(text)}`);
    } else out += text[i];
  }
  return out;
}

function templates(e: Expr | undefined, what: string): Template[] | null {
  if (isNone(e)) return null;
  if (e?.kind !== "list") throw new LiftError(`${what} is not a list or None`);
  return e.items.map((item, i) => readTemplate(str(item, `${what}[${i}]`), true));
}

function plainText(e: Expr | undefined, what: string): string {
  const t = readTemplate(str(e, what), false);
  if (t.some((s) => "variable" in s)) throw new LiftError(`${what} uses a runtime variable`);
  return t.map((s) => ("text" in s ? s.text : "")).join("");
}

// ---------------------------------------------------------------- statements

const DAG_KEYS = [
  "dag_id",
  "description",
  "schedule",
  "start_date",
  "end_date",
  "catchup",
  "max_active_runs",
  "max_consecutive_failed_dag_runs",
  "dagrun_timeout",
  "fail_fast",
  "is_paused_upon_creation",
  "render_template_as_native_obj",
  "template_undefined",
  "user_defined_macros",
] as const;

const TASK_KEYS = [
  "task_id",
  "doc",
  "name",
  "image",
  "cmds",
  "arguments",
  "env_vars",
  "container_resources",
  "retries",
  "retry_delay",
  "retry_exponential_backoff",
  "max_retry_delay",
  "retry_policy",
  "execution_timeout",
  "trigger_rule",
  "schedule_timeout_seconds",
  "startup_timeout_seconds",
  "do_xcom_push",
] as const;

/** The keyword arguments of a notification's KubernetesPodOperator, in emit's order. */
const NOTIFY_KEYS = [
  "task_id",
  "name",
  "image",
  "cmds",
  "env_vars",
  "retries",
  "execution_timeout",
  "trigger_rule",
  "schedule_timeout_seconds",
  "startup_timeout_seconds",
  "do_xcom_push",
  "security_context",
  "container_security_context",
] as const;

/** `pendulum.datetime(y, m, d, h, mi, s, tz="Zone")` -> `YYYY-MM-DDTHH:MM:SS`, checking the zone. */
function localDateTime(e: Expr | undefined, timezone: string, what: string): string | null {
  if (isNone(e)) return null;
  const c = call(e, "pendulum.datetime", what);
  expectKeys(c, 6, ["tz"], what);
  if (str(c.kwargs.get("tz"), `${what} tz`) !== timezone) throw new LiftError(`${what} is not in the schedule's time zone ${timezone}`);
  const [y, mo, d, h, mi, s] = c.args.map((a, i) => int(a, `${what} field ${i + 1}`));
  const p = (n: number, w = 2): string => String(n).padStart(w, "0");
  return `${p(y!, 4)}-${p(mo!)}-${p(d!)}T${p(h!)}:${p(mi!)}:${p(s!)}`;
}

type CronSummary = Extract<ScheduleSummary, { kind: "cron" }>;

interface DagRead {
  workflow: string;
  schedule: CronSummary | null;
  maxActiveRuns: number | null;
}

/**
 * The deployment options a file may carry in `default_args` (emit.ts `deploymentArgs`), in
 * their order, each with the shape it must have. They change where and as whom the pods run,
 * never what a run means; any other key (a `retries`, a `trigger_rule`) would, so it is refused.
 */
const DEPLOYMENT_ARGS: readonly (readonly [string, (e: Expr, what: string) => void])[] = [
  ["kubernetes_conn_id", (e, what) => str(e, what)],
  ["namespace", (e, what) => str(e, what)],
  ["service_account_name", (e, what) => str(e, what)],
  [
    "image_pull_secrets",
    (e, what) => {
      if (e.kind !== "list" || e.items.length === 0) throw new LiftError(`${what} is not a list of secrets`);
      for (const item of e.items) str(k8sCall(item, "V1LocalObjectReference", ["name"], what).kwargs.get("name"), what);
    },
  ],
  ["security_context", (e, what) => json(e, what)],
  ["container_security_context", (e, what) => json(e, what)],
  ["pool", (e, what) => str(e, what)],
  ["queue", (e, what) => str(e, what)],
];

/** A literal built of dicts with string keys, lists, strings, numbers, True, False and None (a security context), as JSON. */
function json(e: Expr, what: string): unknown {
  if (e.kind === "str" || e.kind === "num") return e.value;
  if (e.kind === "name" && e.name === "True") return true;
  if (e.kind === "name" && e.name === "False") return false;
  if (e.kind === "name" && e.name === "None") return null;
  if (e.kind === "list") return e.items.map((x) => json(x, what));
  if (e.kind === "dict") return Object.fromEntries(e.entries.map(([key, value]) => [str(key, `${what} key`), json(value, what)]));
  throw new LiftError(`${what} holds a ${e.kind}, not a literal`);
}

/**
 * `default_args`: the deployment options, after a first `start_date: None` when the DAG is a
 * queue without catch-up (emit.ts `queuesWithoutCatchup`); true when it has that key.
 */
function readDefaultArgs(e: Expr | undefined): boolean {
  if (e?.kind !== "dict" || e.entries.length === 0) throw new LiftError("default_args is not a dict of deployment options");
  const startKey = str(e.entries[0]![0], "a default_args key") === "start_date";
  if (startKey) constant(e.entries[0]![1], null, "default_args start_date");
  const entries = startKey ? e.entries.slice(1) : e.entries;
  const keys = entries.map(([key]) => str(key, "a default_args key"));
  const known = DEPLOYMENT_ARGS.map(([key]) => key);
  for (const key of keys) if (!known.includes(key)) throw new LiftError(`default_args sets ${key}, which is not a deployment option`);
  if (keys.join(",") !== known.filter((key) => keys.includes(key)).join(",")) throw new LiftError("default_args is not in the order kfm-compile writes");
  for (const [key, value] of entries) DEPLOYMENT_ARGS.find(([k]) => k === str(key, "key"))![1](value, `default_args ${str(key, "key")}`);
  return startKey;
}

function readDag(c: Extract<Expr, { kind: "call" }>): DagRead {
  const hasDefaultArgs = c.kwargs.has("default_args");
  expectKeys(c, 0, hasDefaultArgs ? [...DAG_KEYS, "default_args"] : DAG_KEYS, "DAG(...)");
  const startKey = hasDefaultArgs && readDefaultArgs(c.kwargs.get("default_args"));
  const k = c.kwargs;
  const maxActiveRuns = int(k.get("max_active_runs"), "max_active_runs");
  if (maxActiveRuns < 1 || maxActiveRuns > MAX_ACTIVE_RUNS) throw new LiftError("max_active_runs is out of range");
  const macros = k.get("user_defined_macros");
  const entries = macros?.kind === "dict" ? macros.entries : [];
  const names = entries.map(([key, value]) => (value.kind === "name" && str(key, "macro name") === value.name ? value.name : "?"));
  const expected = [["kfm_run_token"], ["kfm_run_token", "kfm_failed_jobs", "kfm_run_link"]];
  if (!expected.some((e) => JSON.stringify(e) === JSON.stringify(names))) {
    throw new LiftError('user_defined_macros is not {"kfm_run_token": kfm_run_token} (and the notification helpers)');
  }
  constant(k.get("max_consecutive_failed_dag_runs"), 0, "max_consecutive_failed_dag_runs");
  // README "Run timeout": the scheduler's dagrun_timeout would skip the task it stops; the timeout is KFM_RUN_TIMEOUT.
  constant(k.get("dagrun_timeout"), null, "dagrun_timeout");
  constant(k.get("fail_fast"), false, "fail_fast");
  bool(k.get("is_paused_upon_creation"), "is_paused_upon_creation");
  constant(k.get("render_template_as_native_obj"), false, "render_template_as_native_obj");
  const undef = k.get("template_undefined");
  if (undef?.kind !== "name" || undef.name !== "jinja2.StrictUndefined") throw new LiftError("template_undefined is not jinja2.StrictUndefined");
  optStr(k.get("description"), "description");
  const catchup = bool(k.get("catchup"), "catchup");
  let schedule: CronSummary | null = null;
  if (isNone(k.get("schedule"))) {
    constant(k.get("start_date"), null, "start_date of an unscheduled DAG");
    constant(k.get("end_date"), null, "end_date of an unscheduled DAG");
    if (catchup) throw new LiftError("an unscheduled DAG has catchup=True");
  } else {
    const t = call(k.get("schedule"), "CronTriggerTimetable", "schedule");
    expectKeys(t, 1, ["timezone", "interval", "run_immediately"], "CronTriggerTimetable(...)");
    if (seconds(t.kwargs.get("interval"), "interval") !== 0) throw new LiftError("the timetable interval is not 0 (logical date would not be the fire time)");
    if (seconds(t.kwargs.get("run_immediately"), "run_immediately") !== 0) throw new LiftError("run_immediately is not timedelta(seconds=0)");
    const timezone = str(t.kwargs.get("timezone"), "timezone");
    // A queue without catch-up (emit.ts queuesWithoutCatchup): catchup=True with no start, under a limit.
    const queue = catchup && startKey;
    if (queue && !isNone(k.get("start_date"))) throw new LiftError("default_args sets start_date while the DAG has one");
    if (queue && maxActiveRuns === MAX_ACTIVE_RUNS) throw new LiftError("catchup=True without a start date and without max_active_runs");
    schedule = {
      kind: "cron",
      cron: str(t.args[0], "cron"),
      timezone,
      start: localDateTime(k.get("start_date"), timezone, "start_date"),
      end: localDateTime(k.get("end_date"), timezone, "end_date"),
      catchup: catchup && !queue,
    };
  }
  if (startKey && (schedule === null || !catchup)) throw new LiftError("default_args sets start_date, which only a queue without catch-up has");
  // With catchup=False the scheduler skips to the latest slot once the limit frees (README "Concurrency").
  if (schedule !== null && !catchup && maxActiveRuns !== MAX_ACTIVE_RUNS)
    throw new LiftError("max_active_runs with catchup=False drops the slots that came due while the limit was reached");
  return {
    workflow: str(k.get("dag_id"), "dag_id"),
    schedule,
    maxActiveRuns: maxActiveRuns === MAX_ACTIVE_RUNS ? null : maxActiveRuns,
  };
}

/**
 * The window guard: `ShortCircuitOperator(task_id="kfm-window", python_callable=kfm_in_window,
 * op_kwargs={"start": <pendulum.datetime>}, ...)`, read as "a scheduled run before start runs no
 * job" (WINDOW_FUNCTION, pinned), with every downstream task skipped whatever its trigger rule.
 * Returns the start, local to the schedule's zone.
 */
function readWindow(key: string, c: Extract<Expr, { kind: "call" }>, timezone: string): string {
  const what = `task ${JSON.stringify(key)}`;
  if (key !== AIRFLOW_WINDOW_TASK) throw new LiftError(`${what} is a ShortCircuitOperator but not ${AIRFLOW_WINDOW_TASK}`);
  expectKeys(
    c,
    0,
    ["task_id", "python_callable", "op_kwargs", "ignore_downstream_trigger_rules", "retries", "do_xcom_push"],
    `${what} ShortCircuitOperator(...)`,
  );
  constant(c.kwargs.get("task_id"), key, `${what} task_id`);
  const callable = c.kwargs.get("python_callable");
  if (callable?.kind !== "name" || callable.name !== "kfm_in_window") throw new LiftError(`${what} python_callable is not kfm_in_window`);
  constant(c.kwargs.get("ignore_downstream_trigger_rules"), true, `${what} ignore_downstream_trigger_rules`);
  constant(c.kwargs.get("retries"), 0, `${what} retries`);
  constant(c.kwargs.get("do_xcom_push"), false, `${what} do_xcom_push`);
  const kwargs = c.kwargs.get("op_kwargs");
  if (kwargs?.kind !== "dict" || kwargs.entries.length !== 1 || str(kwargs.entries[0]![0], `${what} op_kwargs key`) !== "start")
    throw new LiftError(`${what} op_kwargs is not {"start": ...}`);
  const start = localDateTime(kwargs.entries[0]![1], timezone, `${what} start`);
  if (start === null) throw new LiftError(`${what} start is None`);
  return start;
}

function readResources(e: Expr | undefined, what: string): { cpu: string | null; memory: string | null } {
  if (isNone(e)) return { cpu: null, memory: null };
  const c = k8sCall(e, "V1ResourceRequirements", ["requests", "limits"], what);
  const read = (d: Expr | undefined, which: string): Record<string, string> => {
    if (d?.kind !== "dict") throw new LiftError(`${what} ${which} is not a dict`);
    const out: Record<string, string> = {};
    for (const [key, value] of d.entries) {
      const name = str(key, `${what} ${which} key`);
      if (name !== "cpu" && name !== "memory") throw new LiftError(`${what} ${which} has ${name}`);
      out[name] = plainText(value, `${what} ${which} ${name}`);
    }
    return out;
  };
  const requests = read(c.kwargs.get("requests"), "requests");
  const limits = read(c.kwargs.get("limits"), "limits");
  if (JSON.stringify(requests) !== JSON.stringify(limits)) throw new LiftError(`${what} requests and limits differ`);
  if (Object.keys(requests).length === 0) throw new LiftError(`${what} is empty`);
  return { cpu: cpuMeaning(requests.cpu ?? null), memory: memoryMeaning(requests.memory ?? null) };
}

function readWaits(k: Map<string, Expr>, retries: number, what: string, deadline: boolean): number[] {
  constant(k.get("retry_exponential_backoff"), 0, `${what} retry_exponential_backoff`);
  constant(k.get("max_retry_delay"), null, `${what} max_retry_delay`);
  const delay = seconds(k.get("retry_delay"), `${what} retry_delay`);
  const policy = k.get("retry_policy");
  if (isNone(policy)) {
    // README "Run timeout": without the policy a retry wait would run past the run's timeout.
    if (deadline && retries > 0) throw new LiftError(`${what} retries without KfmRetryWaits in a workflow with a timeout`);
    return Array.from({ length: retries }, () => delay);
  }
  const c = call(policy, "KfmRetryWaits", `${what} retry_policy`);
  expectKeys(c, 0, ["waits"], `${what} retry_policy`);
  const list = c.kwargs.get("waits");
  if (list?.kind !== "list") throw new LiftError(`${what} waits is not a list`);
  const waits = list.items.map((w, i) => num(w, `${what} waits[${i}]`));
  if (waits.length !== retries) throw new LiftError(`${what} has ${retries} retries but ${waits.length} waits`);
  return waits;
}

/** One `k8s.V1EnvVar(name=..., value=..., ...)` or `k8s.V1EnvVar(name=..., value_from=<secret key ref>, ...)`. */
function readEnvVar(e: Expr, what: string): [string, Template | SecretRef] {
  const c = call(e, "k8s.V1EnvVar", what);
  const name = str(c.kwargs.get("name"), `${what} name`);
  if (c.kwargs.has("value")) {
    k8sCall(c, "V1EnvVar", ["name", "value"], what);
    return [name, readTemplate(str(c.kwargs.get("value"), `${what} ${name}`), true)];
  }
  k8sCall(c, "V1EnvVar", ["name", "value_from"], what);
  const source = k8sCall(c.kwargs.get("value_from"), "V1EnvVarSource", ["secret_key_ref"], `${what} ${name} value_from`);
  const ref = k8sCall(source.kwargs.get("secret_key_ref"), "V1SecretKeySelector", ["name", "key"], `${what} ${name} secret_key_ref`);
  return [name, { secret: str(ref.kwargs.get("name"), `${what} ${name} secret`), key: str(ref.kwargs.get("key"), `${what} ${name} key`) }];
}

type TaskRead = Omit<JobSummary, "after" | "failureFailsRun">;

function readTask(key: string, c: Extract<Expr, { kind: "call" }>, deadline: boolean): TaskRead {
  const what = `task ${JSON.stringify(key)}`;
  expectKeys(c, 0, TASK_KEYS, `${what} KubernetesPodOperator(...)`);
  const k = c.kwargs;
  if (str(k.get("task_id"), `${what} task_id`) !== key) throw new LiftError(`${what} has another task_id`);
  optStr(k.get("doc"), `${what} doc`);
  str(k.get("name"), `${what} name`);
  const rule = str(k.get("trigger_rule"), `${what} trigger_rule`);
  if (rule !== "all_success" && rule !== "all_done") throw new LiftError(`${what} trigger_rule is ${rule}`);
  constant(k.get("schedule_timeout_seconds"), POD_START_TIMEOUT_SECONDS, `${what} schedule_timeout_seconds`);
  constant(k.get("startup_timeout_seconds"), POD_START_TIMEOUT_SECONDS, `${what} startup_timeout_seconds`);
  constant(k.get("do_xcom_push"), false, `${what} do_xcom_push`);
  const envExpr = k.get("env_vars");
  if (envExpr?.kind !== "list") throw new LiftError(`${what} env_vars is not a list`);
  const env: [string, Template | SecretRef][] = [];
  for (const item of envExpr.items) {
    const [n, value] = readEnvVar(item, `${what} env`);
    if (env.some(([m]) => m === n)) throw new LiftError(`${what} sets ${n} twice`);
    env.push([n, value]);
  }
  const retries = int(k.get("retries"), `${what} retries`);
  const { cpu, memory } = readResources(k.get("container_resources"), `${what} container_resources`);
  return {
    approval: null,
    runWhen: rule === "all_done" ? "all_done" : "all_succeeded",
    image: plainText(k.get("image"), `${what} image`),
    command: templates(k.get("cmds"), `${what} cmds`),
    args: templates(k.get("arguments"), `${what} arguments`),
    env: sortedRecord(env),
    cpu,
    memory,
    attempts: retries + 1,
    waitsSeconds: readWaits(k, retries, what, deadline),
    timeoutSeconds: optSeconds(k.get("execution_timeout"), `${what} execution_timeout`),
  };
}

/** The failure watcher: `KfmFailRun(task_id=<its key>, trigger_rule="one_failed", retries=0)`. */
function readFailRun(key: string, c: Extract<Expr, { kind: "call" }>): void {
  const what = `task ${JSON.stringify(key)}`;
  if (key !== AIRFLOW_FAIL_RUN_TASK) throw new LiftError(`${what} is a KfmFailRun but not ${AIRFLOW_FAIL_RUN_TASK}`);
  expectKeys(c, 0, ["task_id", "trigger_rule", "retries"], `${what} KfmFailRun(...)`);
  constant(c.kwargs.get("task_id"), key, `${what} task_id`);
  constant(c.kwargs.get("trigger_rule"), "one_failed", `${what} trigger_rule`);
  constant(c.kwargs.get("retries"), 0, `${what} retries`);
}

/**
 * An approval gate: `ApprovalOperator` with `fail_on_reject=True` (a rejection fails the gate
 * instead of skipping downstream), `defaults=None` (no decision by `response_timeout` fails
 * it instead of choosing a default), no retry. Anything else would not mean "reject or no
 * decision fails the gate", so lift refuses it.
 */
function readGate(key: string, c: Extract<Expr, { kind: "call" }>): TaskRead {
  const what = `task ${JSON.stringify(key)}`;
  expectKeys(
    c,
    0,
    [
      "task_id",
      "doc",
      "subject",
      "body",
      "defaults",
      "fail_on_reject",
      "ignore_downstream_trigger_rules",
      "response_timeout",
      "execution_timeout",
      "retries",
      "trigger_rule",
    ],
    `${what} ApprovalOperator(...)`,
  );
  const k = c.kwargs;
  if (str(k.get("task_id"), `${what} task_id`) !== key) throw new LiftError(`${what} has another task_id`);
  optStr(k.get("doc"), `${what} doc`);
  plainText(k.get("subject"), `${what} subject`);
  if (!isNone(k.get("body"))) plainText(k.get("body"), `${what} body`);
  constant(k.get("defaults"), null, `${what} defaults`);
  constant(k.get("fail_on_reject"), true, `${what} fail_on_reject`);
  constant(k.get("ignore_downstream_trigger_rules"), false, `${what} ignore_downstream_trigger_rules`);
  constant(k.get("execution_timeout"), null, `${what} execution_timeout`);
  constant(k.get("retries"), 0, `${what} retries`);
  constant(k.get("trigger_rule"), "all_success", `${what} trigger_rule`);
  return {
    approval: { timeoutSeconds: optSeconds(k.get("response_timeout"), `${what} response_timeout`) },
    runWhen: "all_succeeded",
    image: "",
    command: null,
    args: null,
    env: {},
    cpu: null,
    memory: null,
    attempts: 1,
    waitsSeconds: [],
    timeoutSeconds: null,
  };
}

/** An `ExternalTaskSensor` on another DAG's run of the same logical date; returns that workflow's wait. */
function readSensor(key: string, c: Extract<Expr, { kind: "call" }>): { workflow: string; timeoutSeconds: number | null } {
  const what = `task ${JSON.stringify(key)}`;
  expectKeys(
    c,
    0,
    [
      "task_id",
      "external_dag_id",
      "external_task_id",
      "allowed_states",
      "failed_states",
      "skipped_states",
      "execution_delta",
      "execution_date_fn",
      "check_existence",
      "deferrable",
      "mode",
      "poke_interval",
      "exponential_backoff",
      "timeout",
      "soft_fail",
      "retries",
      "trigger_rule",
    ],
    `${what} ExternalTaskSensor(...)`,
  );
  const k = c.kwargs;
  const workflow = str(k.get("external_dag_id"), `${what} external_dag_id`);
  if (key !== airflowUpstreamSensorTask(workflow) || str(k.get("task_id"), `${what} task_id`) !== key)
    throw new LiftError(`${what} is not the sensor of ${workflow}`);
  const states = (e: Expr | undefined, expected: string, name: string): void => {
    if (e?.kind !== "list" || e.items.length !== 1 || str(e.items[0], name) !== expected) throw new LiftError(`${what} ${name} is not ["${expected}"]`);
  };
  constant(k.get("external_task_id"), null, `${what} external_task_id`);
  states(k.get("allowed_states"), "success", "allowed_states");
  states(k.get("failed_states"), "failed", "failed_states");
  constant(k.get("skipped_states"), null, `${what} skipped_states`);
  // Neither set: the sensor looks for the run whose logical date is this run's logical date.
  constant(k.get("execution_delta"), null, `${what} execution_delta`);
  constant(k.get("execution_date_fn"), null, `${what} execution_date_fn`);
  constant(k.get("check_existence"), false, `${what} check_existence`);
  constant(k.get("deferrable"), false, `${what} deferrable`);
  constant(k.get("mode"), "reschedule", `${what} mode`);
  if (int(k.get("poke_interval"), `${what} poke_interval`) < 1) throw new LiftError(`${what} poke_interval is below 1`);
  constant(k.get("exponential_backoff"), false, `${what} exponential_backoff`);
  constant(k.get("soft_fail"), false, `${what} soft_fail`);
  constant(k.get("retries"), 0, `${what} retries`);
  constant(k.get("trigger_rule"), "all_success", `${what} trigger_rule`);
  const timeout = seconds(k.get("timeout"), `${what} timeout`);
  return { workflow, timeoutSeconds: timeout === SENSOR_NO_LIMIT_SECONDS ? null : timeout };
}

/**
 * The markers: `kfm-run-failed`, `EmptyOperator(task_id=..., trigger_rule="one_failed")`, and
 * (a workflow timeout with notifications) `kfm-run-done`, the same with `trigger_rule="all_done"`.
 */
function readMarker(key: string, c: Extract<Expr, { kind: "call" }>): "one_failed" | "all_done" {
  const what = `task ${JSON.stringify(key)}`;
  const rule = key === AIRFLOW_RUN_FAILED_TASK ? "one_failed" : key === AIRFLOW_RUN_DONE_TASK ? "all_done" : null;
  if (rule === null) throw new LiftError(`${what} is an EmptyOperator but not ${AIRFLOW_RUN_FAILED_TASK} or ${AIRFLOW_RUN_DONE_TASK}`);
  expectKeys(c, 0, ["task_id", "trigger_rule"], `${what} EmptyOperator(...)`);
  constant(c.kwargs.get("task_id"), key, `${what} task_id`);
  constant(c.kwargs.get("trigger_rule"), rule, `${what} trigger_rule`);
  return rule;
}

/**
 * A task's call without its last keyword argument `pre_execute=kfm_run_deadline` (README "Run
 * timeout"), and whether it had it.
 */
function withoutDeadlineHook(c: Extract<Expr, { kind: "call" }>, what: string): [Extract<Expr, { kind: "call" }>, boolean] {
  const hook = c.kwargs.get("pre_execute");
  if (hook === undefined) return [c, false];
  if (hook.kind !== "name" || hook.name !== RUN_DEADLINE_HOOK) throw new LiftError(`${what} pre_execute is not ${RUN_DEADLINE_HOOK}`);
  if ([...c.kwargs.keys()].at(-1) !== "pre_execute") throw new LiftError(`${what} pre_execute is not its last keyword argument`);
  const kwargs = new Map([...c.kwargs].filter(([key]) => key !== "pre_execute"));
  return [{ ...c, kwargs }, true];
}

/** A notification task: the curl pod with the shared script, `none_skipped`, no retry, bounded by `execution_timeout`. */
function readNotify(key: string, c: Extract<Expr, { kind: "call" }>, workflow: string): NotificationSummary {
  const what = `task ${JSON.stringify(key)}`;
  expectKeys(c, 0, NOTIFY_KEYS, `${what} KubernetesPodOperator(...)`);
  // Pod Security restricted, whatever the options' default_args say: the file's two constants.
  const restricted = (name: string, constant: string): void => {
    const e = c.kwargs.get(name);
    if (e?.kind !== "name" || e.name !== constant) throw new LiftError(`${what} ${name} is not ${constant}`);
  };
  restricted("security_context", RESTRICTED_POD);
  restricted("container_security_context", RESTRICTED_CONTAINER);
  const k = c.kwargs;
  constant(k.get("task_id"), key, `${what} task_id`);
  str(k.get("name"), `${what} name`);
  if (plainText(k.get("image"), `${what} image`) !== NOTIFY_CURL_IMAGE) throw new LiftError(`${what} image is not ${NOTIFY_CURL_IMAGE}`);
  const cmds = (templates(k.get("cmds"), `${what} cmds`) ?? []).map((t) => textOf(t, `${what} cmds`));
  if (JSON.stringify(cmds) !== JSON.stringify(["sh", "-c", NOTIFY_SCRIPT, NOTIFY_ARGV0])) throw new LiftError(`${what} cmds are not the notification script`);
  constant(k.get("retries"), 0, `${what} retries`);
  if (seconds(k.get("execution_timeout"), `${what} execution_timeout`) !== NOTIFY_TASK_SECONDS)
    throw new LiftError(`${what} execution_timeout is not ${NOTIFY_TASK_SECONDS} s`);
  constant(k.get("trigger_rule"), "none_skipped", `${what} trigger_rule`);
  constant(k.get("schedule_timeout_seconds"), POD_START_TIMEOUT_SECONDS, `${what} schedule_timeout_seconds`);
  constant(k.get("startup_timeout_seconds"), POD_START_TIMEOUT_SECONDS, `${what} startup_timeout_seconds`);
  constant(k.get("do_xcom_push"), false, `${what} do_xcom_push`);
  const envExpr = k.get("env_vars");
  if (envExpr?.kind !== "list") throw new LiftError(`${what} env_vars is not a list`);
  // The failed jobs and the run are Jinja calling the file's helpers, read as written; the rest as templates.
  const env = envExpr.items.map((item): NotifyValue<Template | string> => {
    const v = call(item, "k8s.V1EnvVar", `${what} env`);
    const raw = v.kwargs.get("value");
    if (raw?.kind === "str" && (raw.value === NOTIFY_FAILED_JINJA || raw.value === NOTIFY_RUN_JINJA)) {
      k8sCall(v, "V1EnvVar", ["name", "value"], `${what} env`);
      return { name: str(v.kwargs.get("name"), `${what} env name`), value: raw.value };
    }
    const [name, value] = readEnvVar(item, `${what} env`);
    return Array.isArray(value) ? { name, value } : { name, secret: value as SecretRef };
  });
  const template = (v: Template | string, name: string): Template => (typeof v === "string" ? fail(`${what} ${name} is not a template`) : v);
  const fail = (m: string): never => {
    throw new LiftError(`${what}: ${m}`);
  };
  return readNotifyInputs(env, workflow, {
    template,
    literal: (v, name) => textOf(template(v, name), `${what} ${name}`),
    failed: (v) => v === NOTIFY_FAILED_JINJA,
    run: (v) => v === NOTIFY_RUN_JINJA,
    fail,
  });
}

function textOf(t: Template, what: string): string {
  if (t.some((s) => "variable" in s)) throw new LiftError(`${what} uses a runtime variable`);
  return t.map((s) => ("text" in s ? s.text : "")).join("");
}

type TaskState = "success" | "failed" | "upstream_failed" | "skipped";

/**
 * Whether a run in which `failed` fails (and every task that runs afterwards succeeds)
 * ends failed, by Airflow's rules: `all_success` becomes `upstream_failed` when an
 * upstream task failed or is `upstream_failed` (`trigger_rule_dep.py`); `all_done`
 * runs; the watcher (`one_failed`) runs when one is, and fails, else it is skipped; the
 * run fails when a leaf task is `failed` or `upstream_failed` (`dagrun.py` `update_state`).
 */
function failureFailsRun(failed: string, upstream: ReadonlyMap<string, readonly string[]>, rules: ReadonlyMap<string, string>): boolean {
  const memo = new Map<string, TaskState>();
  const state = (t: string): TaskState => {
    const known = memo.get(t);
    if (known !== undefined) return known;
    const bad = (upstream.get(t) ?? []).map(state).some((s) => s === "failed" || s === "upstream_failed");
    const rule = rules.get(t);
    const skippedUp = (upstream.get(t) ?? []).map(state).some((s) => s === "skipped");
    const s: TaskState =
      t === failed
        ? "failed"
        : rule === "all_done"
          ? "success"
          : rule === "one_failed"
            ? bad
              ? "failed"
              : "skipped"
            : rule === "one_failed_noop"
              ? bad
                ? "success"
                : "skipped"
              : rule === "none_skipped"
                ? skippedUp
                  ? "skipped"
                  : "success"
                : bad
                  ? "upstream_failed"
                  : skippedUp
                    ? "skipped"
                    : "success";
    memo.set(t, s);
    return s;
  };
  const hasDownstream = new Set([...upstream.values()].flat());
  return [...rules.keys()].filter((t) => !hasDownstream.has(t)).some((t) => state(t) === "failed" || state(t) === "upstream_failed");
}

/** Whether `body` starts with `block`; if so, `body` without it. */
function take(body: string, block: string): [boolean, string] {
  return body.startsWith(block) ? [true, body.slice(block.length)] : [false, body];
}

export function lift(text: string): Summary {
  const lines = text.split("\n");
  let n = 0;
  while (n < lines.length && lines[n]!.startsWith("# ")) n++;
  if (n === 0) throw new LiftError("the generated header is missing");
  if (lines[n] !== "") throw new LiftError("no blank line after the generated header");
  // The imports run up to the first line of code that is not an import (or a parenthesised import's member).
  let m = n + 1;
  while (m < lines.length && (lines[m] === "" || /^(import |from |    [A-Za-z_]|\))/.test(lines[m]!))) m++;
  while (m > n + 1 && lines[m - 1] === "") m--;
  const imports = lines.slice(n + 1, m).join("\n");
  let body = lines.slice(m).join("\n");
  let k8sConfig: boolean;
  let retryWaitsClass: boolean;
  let runToken: boolean;
  let failRunClass: boolean;
  [k8sConfig, body] = take(body, K8S_CONFIG_BLOCK);
  let retryWaitsDeadline: boolean;
  [retryWaitsClass, body] = take(body, RETRY_WAITS_CLASS);
  [retryWaitsDeadline, body] = retryWaitsClass ? [false, body] : take(body, RETRY_WAITS_CLASS_DEADLINE);
  retryWaitsClass ||= retryWaitsDeadline;
  [runToken, body] = take(body, RUN_TOKEN_FUNCTION);
  if (!runToken) throw new LiftError("KFM_K8S_CONFIG, the KfmRetryWaits class or kfm_run_token are not the ones kfm-compile writes");
  let windowFunction: boolean;
  [windowFunction, body] = take(body, WINDOW_FUNCTION);
  let notifyHelpers: boolean;
  [notifyHelpers, body] = take(body, NOTIFY_HELPERS);
  let deadline: boolean;
  [deadline, body] = take(body, RUN_DEADLINE_FUNCTIONS);
  [failRunClass, body] = take(body, FAIL_RUN_CLASS);
  const p = new Parser(tokenize(body));

  p.name("KFM_RUN_TOKEN_SEED");
  p.op("=");
  const seed = p.next();
  if (seed.kind !== "str") throw new LiftError(`KFM_RUN_TOKEN_SEED is ${describe(seed)}, not a string literal`);
  p.newline();
  // README "Run timeout": `KFM_RUN_TIMEOUT = timedelta(seconds=N)`, read by the deadline functions.
  let timeoutSeconds: number | null = null;
  if (deadline) {
    p.name(RUN_TIMEOUT);
    p.op("=");
    timeoutSeconds = seconds(p.expr(), RUN_TIMEOUT);
    p.newline();
  }
  if (retryWaitsDeadline !== (retryWaitsClass && deadline))
    throw new LiftError(`the KfmRetryWaits class is not the one kfm-compile writes ${deadline ? "with" : "without"} a run timeout`);
  // The restricted contexts of the pods kfm-compile adds, when it adds any.
  let restrictedContexts = false;
  if (p.peek().kind === "name" && (p.peek() as { value: string }).value === RESTRICTED_POD) {
    for (const [name, expected] of [
      [RESTRICTED_POD, RESTRICTED_POD_SECURITY_CONTEXT],
      [RESTRICTED_CONTAINER, RESTRICTED_CONTAINER_SECURITY_CONTEXT],
    ] as const) {
      p.name(name);
      p.op("=");
      if (JSON.stringify(json(p.expr(), name)) !== JSON.stringify(expected)) throw new LiftError(`${name} is not the restricted context kfm-compile writes`);
      p.newline();
    }
    restrictedContexts = true;
  }
  p.name("with");
  const dag = readDag(call(p.expr(), "DAG", "the with statement"));
  p.name("as");
  p.name("dag");
  p.op(":");
  p.newline();

  const jobs = new Map<string, TaskRead>();
  const rules = new Map<string, string>();
  const upstream = new Map<string, string[]>();
  const sensors: { task: string; workflow: string; timeoutSeconds: number | null }[] = [];
  const notifications: { task: string; summary: NotificationSummary }[] = [];
  let windowStart: string | null = null;
  while (!p.atEnd() && !(p.peek().kind === "name" && (p.peek() as { value: string }).value === "for")) {
    // Each operator is a statement of its own: the `with DAG(...)` block makes it a task of the DAG.
    const written = p.expr();
    if (written.kind !== "call") throw new LiftError(`expected an operator, found a ${written.kind}`);
    const left = str(written.kwargs.get("task_id"), `the task_id of a ${written.func}(...)`);
    if (rules.has(left)) throw new LiftError(`task ${left} is defined twice`);
    // Every job, gate and sensor checks the run's timeout, and no other task does.
    const [c, hooked] = withoutDeadlineHook(written, `task ${left}`);
    const bounded =
      ["ApprovalOperator", "ExternalTaskSensor"].includes(c.func) || (c.func === "KubernetesPodOperator" && left !== airflowNotifyTask(notifications.length));
    if (hooked !== (bounded && deadline))
      throw new LiftError(
        `task ${left} ${hooked ? "has" : "lacks"} pre_execute=${RUN_DEADLINE_HOOK}${deadline ? "" : ", which the file does not define as kfm-compile writes it"}`,
      );
    if (c.func === "ShortCircuitOperator") {
      if (!windowFunction) throw new LiftError(`task ${left} calls kfm_in_window, which the file does not define as kfm-compile writes it`);
      if (dag.schedule === null) throw new LiftError(`task ${left}: an unscheduled DAG has no window`);
      windowStart = readWindow(left, c, dag.schedule.timezone);
      rules.set(left, "all_success");
    } else if (c.func === "KfmFailRun") {
      if (!failRunClass) throw new LiftError(`task ${left} uses KfmFailRun, which the file does not define as kfm-compile writes it`);
      readFailRun(left, c);
      rules.set(left, "one_failed");
    } else if (c.func === "EmptyOperator") {
      rules.set(left, readMarker(left, c) === "one_failed" ? "one_failed_noop" : "all_done");
    } else if (c.func === "ApprovalOperator") {
      jobs.set(left, readGate(left, c));
      rules.set(left, "all_success");
    } else if (c.func === "ExternalTaskSensor") {
      sensors.push({ task: left, ...readSensor(left, c) });
      rules.set(left, "all_success");
    } else if (left === airflowNotifyTask(notifications.length)) {
      notifications.push({ task: left, summary: readNotify(left, call(c, "KubernetesPodOperator", `task ${left}`), dag.workflow) });
      rules.set(left, "none_skipped");
    } else {
      const job = readTask(left, call(c, "KubernetesPodOperator", `task ${left}`), deadline);
      jobs.set(left, job);
      rules.set(left, job.runWhen === "all_done" ? "all_done" : "all_success");
    }
    upstream.set(left, []);
    p.newline();
  }
  if (!p.atEnd()) {
    // `for upstream, downstream in [(u, d), ...]:` then the one statement that links them.
    p.name("for");
    p.name("upstream");
    p.op(",");
    p.name("downstream");
    p.name("in");
    const pairs = p.expr();
    p.op(":");
    p.newline();
    for (const part of tokenize(EDGE_STATEMENT).slice(0, -2)) {
      const t = p.next();
      if (t.kind !== part.kind || JSON.stringify(t) !== JSON.stringify(part)) throw new LiftError(`the edge loop's statement is not \`${EDGE_STATEMENT}\``);
    }
    p.newline();
    if (!p.atEnd()) throw new LiftError(`unexpected ${describe(p.peek())} after the edge loop`);
    if (pairs.kind !== "list" || pairs.items.length === 0) throw new LiftError("the edge loop does not run over a list of pairs");
    for (const pair of pairs.items) {
      if (pair.kind !== "tuple" || pair.items.length !== 2) throw new LiftError("an edge is not an (upstream, downstream) pair");
      const left = str(pair.items[0], "an edge's upstream task");
      const right = str(pair.items[1], "an edge's downstream task");
      if (!rules.has(left) || !rules.has(right)) throw new LiftError(`edge ${left} >> ${right} names an unknown task`);
      if (upstream.get(right)!.includes(left)) throw new LiftError(`edge ${left} >> ${right} repeated`);
      upstream.get(right)!.push(left);
    }
  }
  // What the file calls decides its imports and optional blocks; anything more or less is not what emit writes.
  const called = new Set([...p.called].filter((name) => name !== "dag"));
  // The notification helpers call conf.get and quote.
  if (notifyHelpers) for (const name of ["conf", "quote"]) called.add(name);
  if (deadline) called.add(RUN_DEADLINE_HOOK);
  const expected = importBlock(called);
  if (imports !== expected) throw new LiftError(`the imports are not exactly the ones the file uses:\n${imports}\nexpected:\n${expected}`);
  if (k8sConfig !== called.has("k8s"))
    throw new LiftError(`KFM_K8S_CONFIG is ${k8sConfig ? "defined but no Kubernetes model uses it" : "not defined as kfm-compile writes it"}`);
  if (retryWaitsClass !== called.has("KfmRetryWaits"))
    throw new LiftError(`the KfmRetryWaits class is ${retryWaitsClass ? "defined but no task uses it" : "not defined as kfm-compile writes it"}`);
  if (failRunClass && !rules.has(AIRFLOW_FAIL_RUN_TASK)) throw new LiftError("KfmFailRun is defined but no task uses it");
  if (windowFunction && windowStart === null) throw new LiftError("kfm_in_window is defined but no task uses it");
  // The window (README "First run after deployment"): with catchup=False the start is the guard's
  // and the DAG has no start_date, whose past value would run the latest past slot at deployment;
  // with catchup=True the DAG's start_date is the start and there is no guard.
  let schedule: ScheduleSummary | null = dag.schedule;
  if (dag.schedule !== null && !dag.schedule.catchup) {
    if (dag.schedule.start !== null) throw new LiftError("start_date with catchup=False runs the latest past slot when the DAG is deployed after it");
    schedule = { ...dag.schedule, start: windowStart };
  } else if (windowStart !== null) throw new LiftError(`${AIRFLOW_WINDOW_TASK} with catchup=True`);
  if (notifyHelpers !== notifications.length > 0)
    throw new LiftError(`the notification helpers are ${notifyHelpers ? "defined but no notification uses them" : "not defined as kfm-compile writes them"}`);
  const internal = new Set([AIRFLOW_FAIL_RUN_TASK, AIRFLOW_RUN_FAILED_TASK, AIRFLOW_RUN_DONE_TASK, AIRFLOW_WINDOW_TASK, ...notifications.map((n) => n.task)]);
  const last = new Set([...internal].filter((t) => t !== AIRFLOW_WINDOW_TASK));
  for (const [t, ups] of upstream) {
    if (!internal.has(t) && ups.some((u) => last.has(u))) throw new LiftError(`task ${t} runs after ${ups.find((u) => last.has(u))}`);
  }
  // The tasks of the workflow itself: sensors, jobs and gates. Each sensor must be upstream of every
  // job with no other job upstream (so no job starts before the other workflow's run succeeded);
  // sensors have no upstream.
  const own = [...upstream.keys()].filter((t) => !internal.has(t));
  const sensorTasks = new Set(sensors.map((x) => x.task));
  // The window guard, when there is one, is upstream of every sensor and of every job with no
  // job upstream, and of nothing else: a scheduled run before the start skips them all.
  const guard = windowStart === null ? [] : [AIRFLOW_WINDOW_TASK];
  if (windowStart !== null && upstream.get(AIRFLOW_WINDOW_TASK)!.length > 0) throw new LiftError(`${AIRFLOW_WINDOW_TASK} has an upstream task`);
  const first = new Set([...sensors.map((x) => x.task), ...[...jobs.keys()].filter((name) => !upstream.get(name)!.some((u) => jobs.has(u)))]);
  for (const [t, ups] of upstream) {
    if (ups.includes(AIRFLOW_WINDOW_TASK) !== (first.has(t) && windowStart !== null))
      throw new LiftError(`task ${t} is ${first.has(t) ? "not " : ""}downstream of ${AIRFLOW_WINDOW_TASK}, which emit puts before every first task`);
  }
  for (const x of sensors) {
    if (upstream.get(x.task)!.length !== guard.length) throw new LiftError(`sensor ${x.task} has an upstream task`);
  }
  for (const [name] of jobs) {
    const ups = upstream.get(name)!;
    if (ups.some((u) => jobs.has(u))) continue;
    for (const x of sensors) if (!ups.includes(x.task)) throw new LiftError(`job ${name} can start before ${x.task} succeeded`);
  }
  if (restrictedContexts !== notifications.length > 0)
    throw new LiftError(`${RESTRICTED_POD} and ${RESTRICTED_CONTAINER} are written exactly when a pod kfm-compile adds uses them`);
  // Notifications: once, after every task, only when one failed (README "Failure notifications").
  const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
  if (notifications.length > 0) {
    if (!rules.has(AIRFLOW_RUN_FAILED_TASK) || !sameSet(upstream.get(AIRFLOW_RUN_FAILED_TASK)!, own))
      throw new LiftError(`${AIRFLOW_RUN_FAILED_TASK} is not downstream of every task`);
    // With a run timeout a job kept from starting is skipped: the notifications wait for kfm-run-done instead.
    if (rules.has(AIRFLOW_RUN_DONE_TASK) !== deadline)
      throw new LiftError(`${AIRFLOW_RUN_DONE_TASK} is written exactly when notifications and a run timeout are`);
    if (deadline && !sameSet(upstream.get(AIRFLOW_RUN_DONE_TASK)!, own)) throw new LiftError(`${AIRFLOW_RUN_DONE_TASK} is not downstream of every task`);
    const done = deadline ? [AIRFLOW_RUN_DONE_TASK] : own;
    for (const n of notifications) {
      if (!sameSet(upstream.get(n.task)!, [...done, AIRFLOW_RUN_FAILED_TASK]))
        throw new LiftError(`${n.task} does not wait for every task and ${AIRFLOW_RUN_FAILED_TASK}`);
    }
  } else if (rules.has(AIRFLOW_RUN_FAILED_TASK) || rules.has(AIRFLOW_RUN_DONE_TASK))
    throw new LiftError(`${AIRFLOW_RUN_FAILED_TASK} or ${AIRFLOW_RUN_DONE_TASK} without notifications`);
  void sensorTasks;
  const summaries = [...jobs].map(
    ([name, s]) =>
      [
        name,
        {
          ...s,
          after: upstream
            .get(name)!
            .filter((u) => jobs.has(u))
            .sort(compareStrings),
          failureFailsRun: failureFailsRun(name, upstream, rules),
        },
      ] as const,
  );
  return {
    workflow: dag.workflow,
    schedule,
    timeoutSeconds,
    maxActiveRuns: dag.maxActiveRuns,
    runTokenSeed: seed.value,
    upstream: sensors.map((x) => ({ workflow: x.workflow, timeoutSeconds: x.timeoutSeconds })),
    notifications: notifications.map((n) => n.summary),
    jobs: sortedRecord(summaries),
  };
}
