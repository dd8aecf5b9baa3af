/**
 * Reads a module written by emit.ts back into its meaning (src/summary.ts): the ops (image,
 * command, args, env, resources, waits, timeout), their `In(Nothing)` inputs and the calls of
 * the `@job` body, the job's run tags, and the schedule with its window. The conformance suite
 * has Dagster itself load the module and report the same (conformance/dagster/load_defs.py).
 */
import type { SecretRef, Segment, Template } from "../../src/ir.js";
import { RUNTIME_VARIABLES, STANDARD_VARIABLES } from "../../src/ir.js";
import { compareStrings, cpuMeaning, memoryMeaning, sortedRecord, type JobSummary, type NotificationSummary, type Summary } from "../../src/summary.js";
import { parseCron } from "../../src/cron.js";
import {
  APPROVAL_KEY,
  DECISION_ANNOTATION,
  ENDED_OUTPUT,
  JOB_TAG,
  LOGICAL_DATE_TAG,
  MAX_RUNTIME_TAG,
  QUEUE_TAG,
  afterInput,
  catchupName,
  dagsterDstGuard,
  dagsterName,
  jobFunction,
  opFunction,
  scheduleName,
  waitOpName,
} from "./emit.js";
import { FAILED_JOBS_TAG, FAILED_RUN_TAG, NOTIFY_JOB, NOTIFY_SENSOR, notifyOp, runTag } from "./emit.js";
import { kubeName, NOTIFY_CURL_IMAGE } from "../../src/names.js";
import { NOTIFY_SCRIPT, NOTIFY_TASK_SECONDS, readNotifyInputs, type NotifyValue } from "../../src/notify.js";

class LiftError extends Error {
  constructor(message: string) {
    super(`dagster lift: ${message}`);
  }
}

// ---------------------------------------------------------------- a Python expression reader

type Expr =
  | { kind: "str"; value: string }
  | { kind: "num"; value: number }
  | { kind: "name"; name: string }
  | { kind: "list"; items: Expr[] }
  | { kind: "dict"; entries: [Expr, Expr][] }
  | { kind: "index"; name: string; key: string }
  | { kind: "format"; format: string }
  | { kind: "call"; func: string; args: Expr[]; kwargs: Map<string, Expr> };

function readEscape(src: string, i: number, quote: string): [string, number] {
  const e = src[i + 1];
  if (e === "\\" || e === quote) return [e, i + 2];
  if (e === "n" || e === "r" || e === "t") return [e === "n" ? "\n" : e === "r" ? "\r" : "\t", i + 2];
  const width = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
  if (width === 0) throw new LiftError(`unsupported escape \\${e ?? ""}`);
  const digits = src.slice(i + 2, i + 2 + width);
  if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(digits)) throw new LiftError(`malformed escape \\${e}${digits}`);
  const cp = parseInt(digits, 16);
  return [cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp), i + 2 + width];
}

class Reader {
  private i = 0;
  constructor(private readonly src: string) {}

  private skip(): void {
    while (this.i < this.src.length && /[\s]/.test(this.src[this.i]!)) this.i++;
  }
  private peek(): string {
    this.skip();
    return this.src[this.i] ?? "";
  }
  private take(ch: string): void {
    if (this.peek() !== ch) throw new LiftError(`expected \`${ch}\` at ${JSON.stringify(this.src.slice(this.i, this.i + 30))}`);
    this.i++;
  }
  private optional(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.i++;
    return true;
  }
  end(): void {
    if (this.peek() !== "") throw new LiftError(`unexpected ${JSON.stringify(this.src.slice(this.i, this.i + 30))}`);
  }
  private string(): string {
    const quote = this.src[this.i]!;
    let i = this.i + 1;
    let out = "";
    while (i < this.src.length && this.src[i] !== quote) {
      if (this.src[i] === "\n") throw new LiftError("newline inside a string literal");
      if (this.src[i] === "\\") {
        const [s, n] = readEscape(this.src, i, quote);
        out += s;
        i = n;
      } else out += this.src[i++];
    }
    if (i >= this.src.length) throw new LiftError("unterminated string literal");
    this.i = i + 1;
    return out;
  }
  private seq(close: string): Expr[] {
    const items: Expr[] = [];
    while (!this.optional(close)) {
      items.push(this.expr());
      if (this.peek() !== close) this.take(",");
    }
    return items;
  }
  args(): { args: Expr[]; kwargs: Map<string, Expr> } {
    const args: Expr[] = [];
    const kwargs = new Map<string, Expr>();
    while (!this.optional(")")) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(?!=)/.exec(this.src.slice(this.i));
      if (m) {
        this.i += m[0].length;
        if (kwargs.has(m[1]!)) throw new LiftError(`keyword ${m[1]} repeated`);
        kwargs.set(m[1]!, this.expr());
      } else {
        if (kwargs.size > 0) throw new LiftError("positional argument after keyword argument");
        args.push(this.expr());
      }
      if (this.peek() !== ")") this.take(",");
    }
    return { args, kwargs };
  }
  expr(): Expr {
    const c = this.peek();
    if (c === '"' || c === "'") {
      const value = this.string();
      if (this.src.startsWith(".format_map(", this.i)) {
        this.i += ".format_map(".length;
        const arg = /^\s*values\s*,?\s*\)/.exec(this.src.slice(this.i));
        if (!arg) throw new LiftError("format_map of something other than values");
        this.i += arg[0].length;
        return { kind: "format", format: value };
      }
      return { kind: "str", value };
    }
    if (c === "[") {
      this.i++;
      return { kind: "list", items: this.seq("]") };
    }
    if (c === "{") {
      this.i++;
      const entries: [Expr, Expr][] = [];
      while (!this.optional("}")) {
        const k = this.expr();
        this.take(":");
        entries.push([k, this.expr()]);
        if (this.peek() !== "}") this.take(",");
      }
      return { kind: "dict", entries };
    }
    const num = /^-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?/.exec(this.src.slice(this.i));
    if (num) {
      this.i += num[0].length;
      return { kind: "num", value: Number(num[0]) };
    }
    const name = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(this.src.slice(this.i));
    if (!name) throw new LiftError(`unexpected ${JSON.stringify(this.src.slice(this.i, this.i + 30))}`);
    this.i += name[0].length;
    if (this.src[this.i] === "[") {
      this.i++;
      const key = this.expr();
      this.take("]");
      if (key.kind !== "str") throw new LiftError("a subscript that is not a string");
      return { kind: "index", name: name[0], key: key.value };
    }
    if (this.src[this.i] === "(") {
      this.i++;
      return { kind: "call", func: name[0], ...this.args() };
    }
    return { kind: "name", name: name[0] };
  }
}

function parse(src: string): Expr {
  const r = new Reader(src);
  const e = r.expr();
  r.end();
  return e;
}

/** The keyword arguments of a decorator or call whose argument text is `body`. */
function kwargsOf(body: string, what: string): Map<string, Expr> {
  const r = new Reader(body + ")");
  const { args, kwargs } = r.args();
  r.end();
  if (args.length > 0) throw new LiftError(`${what}: unexpected positional arguments`);
  return kwargs;
}

function str(e: Expr | undefined, what: string): string {
  if (e?.kind !== "str") throw new LiftError(`${what}: expected a string literal`);
  return e.value;
}

function optNum(e: Expr | undefined, what: string): number | null {
  if (e?.kind === "name" && e.name === "None") return null;
  if (e?.kind !== "num") throw new LiftError(`${what}: expected a number or None`);
  return e.value;
}

function dict(e: Expr | undefined, what: string): Map<string, Expr> {
  if (e?.kind !== "dict") throw new LiftError(`${what}: expected a dict`);
  const out = new Map<string, Expr>();
  for (const [k, v] of e.entries) out.set(str(k, `${what} key`), v);
  return out;
}

function keys(m: Map<string, Expr>, expected: readonly string[], what: string): void {
  const got = [...m.keys()];
  if (got.join(",") !== expected.join(",")) throw new LiftError(`${what}: keys ${got.join(", ")}, expected ${expected.join(", ")}`);
}

const VARIABLES = new Set<string>([...RUNTIME_VARIABLES, ...STANDARD_VARIABLES]);

function variable(name: string, what: string): Segment {
  if (!VARIABLES.has(name)) throw new LiftError(`${what}: unknown value ${name}`);
  return { variable: name as Segment extends { variable: infer V } ? V : never };
}

/** Undoes the Kubernetes `$$` doubling of literal text. */
function undouble(text: string, what: string): string {
  if (/\$(?!\$)/.test(text.replace(/\$\$/g, ""))) throw new LiftError(`${what}: a single $ in Kubernetes text`);
  return text.replace(/\$\$/g, "$");
}

function push(out: Segment[], seg: Segment): void {
  const last = out[out.length - 1];
  if ("text" in seg && last !== undefined && "text" in last) out[out.length - 1] = { text: last.text + seg.text };
  else if (!("text" in seg) || seg.text !== "") out.push(seg);
}

function template(e: Expr | undefined, what: string): Template {
  if (e?.kind === "str") return e.value === "" ? [] : [{ text: undouble(e.value, what) }];
  if (e?.kind === "index") {
    if (e.name !== "values") throw new LiftError(`${what}: a subscript of ${e.name}`);
    return [variable(e.key, what)];
  }
  if (e?.kind === "format") {
    const out: Segment[] = [];
    const re = /\{\{|\}\}|\{([a-z_]+)\}|([^{}]+)/gy;
    let m: RegExpExecArray | null;
    let at = 0;
    while ((m = re.exec(e.format)) !== null) {
      at = re.lastIndex;
      if (m[0] === "{{") push(out, { text: "{" });
      else if (m[0] === "}}") push(out, { text: "}" });
      else if (m[1] !== undefined) push(out, variable(m[1], what));
      else push(out, { text: m[2]! });
    }
    if (at !== e.format.length) throw new LiftError(`${what}: malformed format string`);
    return out.map((s) => ("text" in s ? { text: undouble(s.text, what) } : s));
  }
  throw new LiftError(`${what}: expected text`);
}

function templates(e: Expr | undefined, what: string): Template[] | null {
  if (e?.kind === "name" && e.name === "None") return null;
  if (e?.kind !== "list") throw new LiftError(`${what}: expected a list or None`);
  return e.items.map((x, i) => template(x, `${what}[${i}]`));
}

function envVar(e: Expr, what: string): [string, Template | SecretRef] {
  const m = dict(e, what);
  const name = str(m.get("name"), `${what} name`);
  if (m.has("value")) {
    keys(m, ["name", "value"], what);
    return [name, template(m.get("value"), `${what} value`)];
  }
  keys(m, ["name", "valueFrom"], what);
  const from = dict(m.get("valueFrom"), `${what} valueFrom`);
  keys(from, ["secretKeyRef"], `${what} valueFrom`);
  const ref = dict(from.get("secretKeyRef"), `${what} secretKeyRef`);
  keys(ref, ["name", "key"], `${what} secretKeyRef`);
  return [name, { secret: str(ref.get("name"), what), key: str(ref.get("key"), what) }];
}

function resources(e: Expr | undefined, what: string): { cpu: string | null; memory: string | null } {
  if (e?.kind === "name" && e.name === "None") return { cpu: null, memory: null };
  const m = dict(e, what);
  keys(m, ["requests", "limits"], what);
  const requests = dict(m.get("requests"), `${what} requests`);
  const limits = dict(m.get("limits"), `${what} limits`);
  const q = (d: Map<string, Expr>, k: string): string | null => (d.has(k) ? str(d.get(k), `${what} ${k}`) : null);
  if (q(requests, "cpu") !== q(limits, "cpu") || q(requests, "memory") !== q(limits, "memory")) throw new LiftError(`${what}: requests differ from limits`);
  return { cpu: q(limits, "cpu"), memory: q(limits, "memory") };
}

// ---------------------------------------------------------------- the module

const OP_BLOCK =
  /\n@op\(\n([\s\S]*?)\n\)\ndef ([A-Za-z0-9_]+)\((?:context, kfm_launcher: KfmLauncher|\n {4}context,\n {4}kfm_launcher: KfmLauncher,\n)\):\n {4}values = kfm_values\(context\)\n {4}(kfm_attempt|yield from kfm_attempt_then_end)\(\n {8}context,\n {8}kfm_launcher,\n([\s\S]*?)\n {4}\)\n/g;
/**
 * max_active_runs (emit.ts `queueView`): the run tag holding the workflow's name, which the
 * instance's run queue limits, and the job's metadata stating the limit; both or neither.
 */
function liftQueue(tags: Map<string, Expr>, metadata: Expr | undefined, workflow: string): number | null {
  if (!tags.has(QUEUE_TAG) && metadata === undefined) return null;
  if (str(tags.get(QUEUE_TAG), `@job tag ${QUEUE_TAG}`) !== workflow) throw new LiftError(`the ${QUEUE_TAG} tag is not the workflow's name`);
  const m = dict(metadata, "@job metadata");
  keys(m, [QUEUE_TAG], "@job metadata");
  const n = optNum(m.get(QUEUE_TAG), `@job metadata ${QUEUE_TAG}`);
  if (n === null || !Number.isInteger(n) || n < 1) throw new LiftError(`@job metadata ${QUEUE_TAG} is not a positive whole number`);
  return n;
}

const JOB_BLOCK = /\n@job\(\n([\s\S]*?)\n\)\ndef ([A-Za-z0-9_]+)\(\):\n((?: {4}.*\n)+)/;
const SCHEDULE_BLOCK =
  /\n@schedule\(\n([\s\S]*?)\n\)\ndef ([A-Za-z0-9_]+)\((?:context: ScheduleEvaluationContext|\n {4}context: ScheduleEvaluationContext,\n)\):\n/;

const GATE_BLOCK =
  /\n@op\(\n((?: {4}.*\n)+)\)\ndef ([A-Za-z0-9_]+)\((?:context, kfm_approval: KfmApproval|\n {4}context,\n {4}kfm_approval: KfmApproval,\n)\):\n {4}kfm_approval\.decide\(\n {8}context,\n([\s\S]*?)\n {4}\)\n/g;

/**
 * The approval gates (emit.ts gateOpView): each op's `decide` call, and the one
 * `KfmApproval` whose ConfigMap annotation `approve` alone passes a gate and whose deadline
 * fails it (the module's text of it is checked for the lines that say so).
 */
function liftGates(text: string, ops: Map<string, { spec: string; inputs: string[]; ends: boolean; summary: Omit<JobSummary, "after"> }>): void {
  const gates = [...text.matchAll(GATE_BLOCK)];
  if (gates.length === 0) return;
  const lines = [
    `KFM_DECISION = ${JSON.stringify(DECISION_ANNOTATION)}`,
    `"${APPROVAL_KEY}": KfmApproval(`,
    'if decision == "approve":\n                return\n',
    'if decision == "reject":\n                raise Failure(',
    "deadline = None if timeout is None else time.monotonic() + timeout",
    "if left <= 0:\n                raise Failure(",
  ];
  for (const line of lines) if (!text.includes(line)) throw new LiftError(`the approval gates lack \`${line.split("\n")[0]}\``);
  for (const m of gates) {
    const deco = kwargsOf(m[1]!.trimEnd(), "@op");
    const name = str(deco.get("name"), "@op name");
    if (m[2] !== `${name}_op`) throw new LiftError(`gate ${name} is defined as ${m[2]}`);
    const opTags = dict(deco.get("tags"), `gate ${name} tags`);
    keys(opTags, [JOB_TAG], `gate ${name} tags`);
    const spec = str(opTags.get(JOB_TAG), `gate ${name} ${JOB_TAG}`);
    if (dagsterName(spec) !== name) throw new LiftError(`gate ${name} is tagged as job ${spec}`);
    const call = kwargsOf(m[3]!, `gate ${name} decide`);
    keys(call, ["gate", "description", "timeout"], `gate ${name} decide`);
    if (str(call.get("gate"), `gate ${name} gate`) !== kubeName(spec)) throw new LiftError(`gate ${name} asks for another gate's decision`);
    const inputs: string[] = [];
    for (const [input, v] of dict(deco.get("ins"), `gate ${name} ins`)) {
      if (v.kind !== "call" || v.func !== "In" || v.args.length !== 1 || v.args[0]!.kind !== "name" || (v.args[0] as { name: string }).name !== "Nothing")
        throw new LiftError(`gate ${name} input ${input} is not In(Nothing)`);
      inputs.push(input);
    }
    if (ops.has(name)) throw new LiftError(`op ${name} is defined twice`);
    ops.set(name, {
      spec,
      inputs,
      // A gate has no `ended` output: check.ts refuses a continue job after a gate.
      ends: false,
      summary: {
        approval: { timeoutSeconds: optNum(call.get("timeout"), `gate ${name} timeout`) },
        image: "",
        command: null,
        args: null,
        runWhen: "all_succeeded",
        failureFailsRun: true,
        env: {},
        cpu: null,
        memory: null,
        attempts: 1,
        waitsSeconds: [],
        timeoutSeconds: null,
      },
    });
  }
}

const CATCHUP_BLOCK =
  /\n@sensor\(\n([\s\S]*?)\n\)\ndef ([A-Za-z0-9_]+)\((?:context: SensorEvaluationContext|\n {4}context: SensorEvaluationContext,\n)\):\n([\s\S]*?\n {4}return SensorResult\(run_requests=run_requests, cursor=now\.isoformat\(\)\)\n)/;

/** The catch-up sensor of a `catchup: true` schedule (emit.ts catchupView), or null. */
function catchupSchedule(text: string, workflow: string): Summary["schedule"] {
  const m = CATCHUP_BLOCK.exec(text);
  if (m === null) return null;
  const k = kwargsOf(m[1]!, "@sensor");
  if (str(k.get("name"), "@sensor name") !== catchupName(workflow) || m[2] !== catchupName(workflow))
    throw new LiftError("the catch-up sensor is not the workflow's");
  const job = k.get("job");
  if (job?.kind !== "name" || job.name !== jobFunction(workflow)) throw new LiftError("the catch-up sensor runs another job");
  const status = k.get("default_status");
  if (status?.kind !== "name" || status.name !== "DefaultSensorStatus.RUNNING") throw new LiftError("the catch-up sensor does not start running");
  if (!definitionsSensors(text).includes(catchupName(workflow))) throw new LiftError("the Definitions do not hold the catch-up sensor");
  const body = m[3]!;
  const start = windowBound(text, "KFM_WINDOW_START");
  const end = windowBound(text, "KFM_WINDOW_END");
  // What the slots are: the scheduler's iterator from the start date (or the first tick), up to
  // now and the end date, one run request per slot keyed and tagged by its logical date.
  const lines = [
    "now = datetime.now(UTC).replace(microsecond=0)",
    "begin = datetime.fromisoformat(context.cursor) + timedelta(seconds=1)",
    "for fire in schedule_execution_time_iterator(\n        begin.timestamp(), KFM_CRON, KFM_TIMEZONE\n    ):",
    `if ${end === null ? "fire > now" : "fire > now or fire > KFM_WINDOW_END"}:\n            break`,
    "logical_date = fire.astimezone(UTC).isoformat()",
    "RunRequest(run_key=logical_date, tags={KFM_LOGICAL_DATE_TAG: logical_date})",
    ...(start === null ? [] : ["begin = max(begin, KFM_WINDOW_START)"]),
  ];
  for (const line of lines) if (!body.includes(line)) throw new LiftError(`the catch-up sensor lacks \`${line.split("\n")[0]}\``);
  // Slots from the start date are caught up; a sensor starting at its first tick is catchup off.
  const fromStart = body.includes(`if context.cursor is None:\n        begin = ${start === null ? "now" : "KFM_WINDOW_START"}\n`);
  return {
    kind: "cron",
    cron: str(constant(text, "KFM_CRON") ?? undefined, "KFM_CRON"),
    timezone: str(constant(text, "KFM_TIMEZONE") ?? undefined, "KFM_TIMEZONE"),
    start,
    end,
    catchup: fromStart,
  };
}

function constant(text: string, name: string): Expr | null {
  const m = new RegExp(`^${name} = (.*)$`, "m").exec(text);
  return m ? parse(m[1]!) : null;
}

function windowBound(text: string, name: string): string | null {
  const m = new RegExp(`^${name} = datetime\\((\\d+), (\\d+), (\\d+), (\\d+), (\\d+), (\\d+), tzinfo=KFM_ZONE\\)$`, "m").exec(text);
  if (m === null) return null;
  const [y, ...rest] = m.slice(1).map(Number);
  const two = rest.map((n) => String(n).padStart(2, "0"));
  return `${String(y).padStart(4, "0")}-${two[0]}-${two[1]}T${two[2]}:${two[3]}:${two[4]}`;
}

// ---------------------------------------------------------------- daylight saving

/** The numbers of a `NAME = {1, 2}` set constant (laid out on one line or one per line), or null. */
function intSet(text: string, name: string): string | null {
  const m = new RegExp(`^${name} = \\{([\\d,\\s]*)\\}$`, "m").exec(text);
  return m === null
    ? null
    : m[1]!
        .split(",")
        .map((n) => n.trim())
        .filter((n) => n !== "")
        .join(" ");
}

/**
 * The cron a schedule was written for (emit.ts `dagsterDstGuard`): its `cron_schedule`, or that
 * without the hours the daylight-saving guard added after the cron's own hour field. The guard
 * (KFM_SLOT_HOURS and KFM_SLOT_MINUTES the cron's own, KFM_ZONE the schedule's zone, the
 * schedule function skipping a tick `kfm_is_slot` rejects) is there exactly when the cron needs it.
 */
function ownCron(text: string, written: string, window: { timezone: string; start: string | null; end: string | null }): string {
  const hours = intSet(text, "KFM_SLOT_HOURS");
  const minutes = intSet(text, "KFM_SLOT_MINUTES");
  const guarded =
    hours !== null &&
    minutes !== null &&
    text.includes(`\nKFM_ZONE = ZoneInfo(${JSON.stringify(window.timezone)})\n`) &&
    text.includes("\ndef kfm_is_slot(fire):\n") &&
    text.includes("\n    fire = context.scheduled_execution_time\n    if not kfm_is_slot(fire):\n        return SkipReason(");
  const fields = written.split(" ");
  const hourField = fields[1]?.split(",") ?? [];
  // `30 2,3` is the schedule of `30 2` and of `30 2,3` in Europe/Berlin: the guard's hours tell them apart.
  for (let keep = hourField.length; keep >= 1; keep--) {
    const cron = [fields[0], hourField.slice(0, keep).join(","), ...fields.slice(2)].join(" ");
    const parsed = parseCron(cron);
    if (typeof parsed === "string") continue;
    const guard = dagsterDstGuard({ cron, ...window });
    if ((guard?.cron ?? cron) !== written || (guard !== null) !== guarded) continue;
    if (guard === null || (guard.hours.join(" ") === hours && parsed.minutes.join(" ") === minutes)) return cron;
  }
  throw new LiftError(
    `the schedule ${JSON.stringify(written)} is neither a cron without daylight-saving gap slots off the hour nor one with the hour after them and the guard keeping the slots`,
  );
}

// ---------------------------------------------------------------- on_upstream_failure: continue

/**
 * Whether an op has the `ended` output a continue job waits for (emit.ts `continueOpView`):
 * `out={"result": Out(Nothing), "ended": Out(Nothing)}` and its attempts through
 * `kfm_attempt_then_end`, or neither.
 */
function endsOf(deco: Map<string, Expr>, call: string, name: string): boolean {
  const out = deco.get("out");
  const through = call !== "kfm_attempt";
  if (out === undefined && !through) return false;
  const m = dict(out, `op ${name} out`);
  keys(m, ["result", ENDED_OUTPUT], `op ${name} out`);
  for (const [k, v] of m) {
    if (v.kind !== "call" || v.func !== "Out" || v.args.length !== 1 || v.args[0]!.kind !== "name" || (v.args[0] as { name: string }).name !== "Nothing")
      throw new LiftError(`op ${name} output ${k} is not Out(Nothing)`);
  }
  if (!through) throw new LiftError(`op ${name} has an ended output its attempts do not yield`);
  return true;
}

/**
 * Whether the job's executor starts a step once the outputs it takes exist
 * (`step_dependency_config: {require_upstream_step_success: False}`), the one setting under
 * which an op taking `ended` runs after its upstream op failed.
 */
function continuesAfterFailure(text: string, jobDeco: Map<string, Expr>): boolean {
  const e = jobDeco.get("executor_def");
  if (e === undefined) return false;
  if (e.kind !== "name" || e.name !== "KFM_EXECUTOR") throw new LiftError("the job has another executor");
  const m = /^KFM_EXECUTOR = multiprocess_executor\.configured\(\n {4}(\{.*\}),\n {4}name="kfm_multiprocess",\n\)$/m.exec(text);
  if (m === null) throw new LiftError("KFM_EXECUTOR is not the configured multiprocess executor");
  const config = dict(parse(m[1]!), "KFM_EXECUTOR config");
  keys(config, ["step_dependency_config"], "KFM_EXECUTOR config");
  const deps = dict(config.get("step_dependency_config"), "step_dependency_config");
  keys(deps, ["require_upstream_step_success"], "step_dependency_config");
  const v = deps.get("require_upstream_step_success");
  if (v?.kind !== "name" || (v.name !== "True" && v.name !== "False")) throw new LiftError("require_upstream_step_success is not a boolean");
  return v.name === "False";
}

// ---------------------------------------------------------------- dependencies (other workflows)

const WAIT_BLOCK =
  /\n@op\(\n {4}name=("kfm_wait_[A-Za-z0-9_]+"),\n {4}description=(.*),\n\)\ndef ([A-Za-z0-9_]+)\(context\):\n {4}kfm_wait_for_upstream\((.*|\n[\s\S]*?\n {4})\)\n/g;

/** The ops waiting for upstream workflows' runs (emit.ts `waitView`), by op name, and the text without them. */
function upstreamWaits(text: string): { rest: string; waits: Map<string, { workflow: string; timeoutSeconds: number | null }> } {
  const waits = new Map<string, { workflow: string; timeoutSeconds: number | null }>();
  for (const m of text.matchAll(WAIT_BLOCK)) {
    const name = str(parse(m[1]!), "wait op name");
    str(parse(m[2]!), `op ${name} description`);
    if (m[3] !== opFunction(name)) throw new LiftError(`op ${name} is defined as ${m[3]}`);
    const call = parse(`kfm_wait_for_upstream(${m[4]!.trim()})`);
    if (call.kind !== "call" || call.args.length !== 1 || call.args[0]!.kind !== "name" || (call.args[0] as { name: string }).name !== "context")
      throw new LiftError(`op ${name}: kfm_wait_for_upstream does not take the op's context`);
    keys(call.kwargs, ["workflow", "job", "timeout"], `op ${name} kfm_wait_for_upstream`);
    const workflow = str(call.kwargs.get("workflow"), `op ${name} workflow`);
    if (name !== waitOpName(workflow) || str(call.kwargs.get("job"), `op ${name} job`) !== jobFunction(workflow))
      throw new LiftError(`op ${name} waits for another workflow's job`);
    if (waits.has(name)) throw new LiftError(`op ${name} is defined twice`);
    waits.set(name, { workflow, timeoutSeconds: optNum(call.kwargs.get("timeout"), `op ${name} timeout`) });
  }
  if (waits.size > 0 && !/^ {8}runs = context\.instance\.get_runs\(runs_filter, limit=1\)$/m.test(text)) throw new LiftError("the wait helper is missing");
  return { rest: text.replace(WAIT_BLOCK, "\n"), waits };
}

/** The names in `Definitions(sensors=[...])` (emit.ts `sensorList`), on one line or one per line. */
function definitionsSensors(text: string): string[] {
  const m = /\n {4}sensors=\[([^\]]*)\],\n/.exec(text);
  return m === null
    ? []
    : m[1]!
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== "");
}

export function lift(text: string): Summary {
  const workflow = str(constant(text, "KFM_WORKFLOW") ?? undefined, "KFM_WORKFLOW");
  const runTokenSeed = str(constant(text, "KFM_RUN_TOKEN_SEED") ?? undefined, "KFM_RUN_TOKEN_SEED");
  if (!text.includes(`KFM_LOGICAL_DATE_TAG = ${JSON.stringify(LOGICAL_DATE_TAG)}`)) throw new LiftError("the logical-date tag is missing");

  // Ops: Dagster name -> spec name (the op's KFM_JOB), and what each is.
  const ops = new Map<string, { spec: string; inputs: string[]; ends: boolean; summary: Omit<JobSummary, "after"> }>();
  const { rest, waits } = upstreamWaits(text);
  const waitCalled = new Set<string>();
  for (const m of rest.matchAll(OP_BLOCK)) {
    const deco = kwargsOf(m[1]!, "@op");
    const name = str(deco.get("name"), "@op name");
    if (m[2] !== `${name}_op`) throw new LiftError(`op ${name} is defined as ${m[2]}`);
    const ins = dict(deco.get("ins"), `op ${name} ins`);
    const call = kwargsOf(m[4]!, `op ${name} kfm_attempt`);
    keys(call, ["waits", "image", "command", "args", "env", "resources", "timeout"], `op ${name} kfm_attempt`);
    const waitsExpr = call.get("waits");
    if (waitsExpr?.kind !== "list") throw new LiftError(`op ${name}: waits is not a list`);
    const waits = waitsExpr.items.map((w) => optNum(w, `op ${name} waits`) ?? 0);
    const envExpr = call.get("env");
    if (envExpr?.kind !== "list") throw new LiftError(`op ${name}: env is not a list`);
    const env = envExpr.items.map((e, i) => envVar(e, `op ${name} env[${i}]`));
    const opTags = dict(deco.get("tags"), `op ${name} tags`);
    keys(opTags, [JOB_TAG], `op ${name} tags`);
    const spec = str(opTags.get(JOB_TAG), `op ${name} ${JOB_TAG}`);
    if (dagsterName(spec) !== name) throw new LiftError(`op ${name} is tagged as job ${spec}`);
    const r = resources(call.get("resources"), `op ${name} resources`);
    const inputs: string[] = [];
    for (const [input, v] of ins) {
      if (v.kind !== "call" || v.func !== "In" || v.args.length !== 1 || v.args[0]!.kind !== "name" || (v.args[0] as { name: string }).name !== "Nothing")
        throw new LiftError(`op ${name} input ${input} is not In(Nothing)`);
      inputs.push(input);
    }
    ops.set(name, {
      spec,
      inputs,
      ends: endsOf(deco, m[3]!, name),
      summary: {
        approval: null,
        image: str(call.get("image"), `op ${name} image`),
        command: templates(call.get("command"), `op ${name} command`),
        args: templates(call.get("args"), `op ${name} args`),
        runWhen: "all_succeeded",
        failureFailsRun: true,
        env: sortedRecord(env),
        cpu: cpuMeaning(r.cpu),
        memory: memoryMeaning(r.memory),
        attempts: waits.length + 1,
        waitsSeconds: waits,
        timeoutSeconds: optNum(call.get("timeout"), `op ${name} timeout`),
      },
    });
  }

  // Approval gates: ops asking KfmApproval for the decision.
  liftGates(text, ops);

  // The job: its tags, and the calls wiring each op's inputs to upstream ops.
  const jm = JOB_BLOCK.exec(text);
  if (jm === null) throw new LiftError("no @job");
  const jobDeco = kwargsOf(jm[1]!, "@job");
  if (str(jobDeco.get("name"), "@job name") !== jobFunction(workflow) || jm[2] !== jobFunction(workflow)) throw new LiftError("the job is not the workflow's");
  const tags = dict(jobDeco.get("tags"), "@job tags");
  const maxActiveRuns = liftQueue(tags, jobDeco.get("metadata"), workflow);
  keys(tags, maxActiveRuns === null ? [MAX_RUNTIME_TAG] : [MAX_RUNTIME_TAG, QUEUE_TAG], "@job tags");
  const maxRuntime = Number(str(tags.get(MAX_RUNTIME_TAG), MAX_RUNTIME_TAG));
  const after = new Map<string, string[]>();
  const runWhen = new Map<string, JobSummary["runWhen"]>();
  const relaxed = continuesAfterFailure(text, jobDeco);
  const body = jm[3]!
    .replace(/= \(\n\s+([A-Za-z0-9_]+\(\))\n\s*\)/g, "= $1")
    .replace(/\(\n\s+/g, "(")
    .replace(/,\n\s+/g, ", ")
    .replace(/,?\n\s*\)/g, ")");
  for (const line of body.split("\n").filter((l) => l.trim() !== "")) {
    const c = /^ {4}(?:(?:([A-Za-z0-9_]+)_done|_)(?:, ([A-Za-z0-9_]+)_ended)? = )?([A-Za-z0-9_]+)\((.*)\)$/.exec(line);
    if (c === null) throw new LiftError(`job body line ${JSON.stringify(line)}`);
    const name = c[3]!.replace(/_op$/, "");
    if (waits.has(name)) {
      if (c[1] !== name || c[2] !== undefined || c[4] !== "" || waitCalled.has(name)) throw new LiftError(`the wait op ${name} is called otherwise`);
      waitCalled.add(name);
      continue;
    }
    const op = ops.get(name);
    if (op === undefined || c[3] !== opFunction(op.spec)) throw new LiftError(`the job calls ${c[3]}, which is no op`);
    if (c[1] !== undefined && c[1] !== name) throw new LiftError(`op ${name}'s output is kept as ${c[1]}_done`);
    if ((c[2] !== undefined) !== op.ends || (c[2] !== undefined && c[2] !== name)) throw new LiftError(`op ${name}'s outputs are kept as ${c[1]}, ${c[2]}`);
    if (c[1] === undefined && c[2] === undefined && line.includes(" = ")) throw new LiftError(`op ${name}'s output is kept as _ alone`);
    const wired = c[4] === "" ? new Map<string, Expr>() : kwargsOf(c[4]!, `call of ${name}`);
    const ups: string[] = [];
    const ended: boolean[] = [];
    let waited = 0;
    for (const [input, v] of wired) {
      const w = v.kind === "name" ? /^([A-Za-z0-9_]+)_(done|ended)$/.exec(v.name) : null;
      if (w === null) throw new LiftError(`op ${name} input ${input} is wired to something else`);
      if (waits.has(w[1]!) && w[2] === "done" && input === afterInput(w[1]!) && waitCalled.has(w[1]!)) {
        waited++;
        continue;
      }
      const up = ops.get(w[1]!);
      if (up === undefined || input !== afterInput(up.spec) || (w[2] === "ended" && !up.ends))
        throw new LiftError(`op ${name} input ${input} is wired to ${w[0]}`);
      ups.push(up.spec);
      ended.push(w[2] === "ended");
    }
    // Every root op waits for every upstream workflow's run, and no other op does.
    if (waited !== (ups.length === 0 ? waits.size : 0))
      throw new LiftError(`op ${name} does not wait for the upstream workflows as a ${ups.length === 0 ? "root" : "downstream"} op must`);
    if (ended.some((e) => e !== ended[0])) throw new LiftError(`op ${name} waits for some upstream ops' ended output and for others' result`);
    // An op taking `ended` runs after a failed upstream op only when steps need not wait for upstream success.
    runWhen.set(op.spec, ended[0] === true && relaxed ? "all_done" : "all_succeeded");
    if ([...wired.keys()].sort().join(",") !== [...op.inputs].sort().join(",")) throw new LiftError(`op ${name}: inputs and wiring differ`);
    if (after.has(op.spec)) throw new LiftError(`op ${name} is called twice`);
    after.set(op.spec, ups.sort(compareStrings));
  }
  if (waitCalled.size !== waits.size) throw new LiftError("a wait op is not called in the job");
  const jobs: Record<string, JobSummary> = {};
  for (const op of [...ops.values()].sort((a, b) => compareStrings(a.spec, b.spec))) {
    const ups = after.get(op.spec);
    if (ups === undefined) throw new LiftError(`op ${op.spec} is not called in the job`);
    jobs[op.spec] = { ...op.summary, runWhen: runWhen.get(op.spec)!, after: ups };
  }

  // The schedule and its window.
  let schedule: Summary["schedule"] = null;
  const sm = SCHEDULE_BLOCK.exec(text);
  if (sm !== null) {
    const k = kwargsOf(sm[1]!, "@schedule");
    if (str(k.get("name"), "@schedule name") !== scheduleName(workflow)) throw new LiftError("the schedule is not the workflow's");
    const job = k.get("job");
    if (job?.kind !== "name" || job.name !== jobFunction(workflow)) throw new LiftError("the schedule runs another job");
    const status = k.get("default_status");
    if (status?.kind !== "name" || status.name !== "DefaultScheduleStatus.RUNNING") throw new LiftError("the schedule does not start running");
    const window = {
      timezone: str(k.get("execution_timezone"), "execution_timezone"),
      start: windowBound(text, "KFM_WINDOW_START"),
      end: windowBound(text, "KFM_WINDOW_END"),
    };
    schedule = { kind: "cron", cron: ownCron(text, str(k.get("cron_schedule"), "cron_schedule"), window), ...window, catchup: false };
  }
  const catchup = catchupSchedule(text, workflow);
  if (catchup !== null) {
    if (schedule !== null) throw new LiftError("both a schedule and a catch-up sensor");
    schedule = catchup;
  }
  return {
    workflow,
    schedule,
    timeoutSeconds: maxRuntime === 0 ? null : maxRuntime,
    maxActiveRuns,
    runTokenSeed,
    upstream: [...waits.values()],
    notifications: liftNotifications(text, workflow),
    jobs,
  };
}

// ---------------------------------------------------------------- failure notifications

const NOTIFY_OP_BLOCK =
  /\n@op\(\n( {4}name="kfm_notify_[\s\S]*?)\n\)\ndef ([A-Za-z0-9_]+)\(context, kfm_launcher: KfmLauncher\):\n {4}values = kfm_values\(context\)\n {4}kfm_launcher\.notify\(\n {8}context,\n([\s\S]*?)\n {4}\)\n/g;
const NOTIFY_JOB_BLOCK =
  /\n@job\(\n( {4}name="kfm_notify_job"[\s\S]*?)\n\)\ndef ([A-Za-z0-9_]+)\(\):\n((?: {4}.*\n)+)\n\n@run_failure_sensor\(\n([\s\S]*?)\n\)\ndef ([A-Za-z0-9_]+)\(context: RunFailureSensorContext\):\n/;

/**
 * The failure notifications (README "Failure notifications"): each `kfm_notify_<n>` op's env
 * read back as the shared inputs (src/notify.ts), the failed jobs and the run from the tags
 * the sensor sets; the pod (image, script, bound) as every target writes it; the notification
 * job calling each op once; and the run failure sensor watching the workflow's job, starting
 * the notification job, running from the start, listed in the Definitions.
 */
function liftNotifications(text: string, workflow: string): NotificationSummary[] {
  const out: NotificationSummary[] = [];
  for (const m of text.matchAll(NOTIFY_OP_BLOCK)) {
    const deco = kwargsOf(m[1]!, "notification @op");
    const name = str(deco.get("name"), "notification @op name");
    if (name !== notifyOp(out.length) || m[2] !== `${name}_op`) throw new LiftError(`notification op ${name} is not number ${out.length + 1}`);
    const call = kwargsOf(m[3]!, `op ${name} notify`);
    keys(call, ["env", "timeout"], `op ${name} notify`);
    if (optNum(call.get("timeout"), `op ${name} timeout`) !== NOTIFY_TASK_SECONDS) throw new LiftError(`op ${name}: the bound is not ${NOTIFY_TASK_SECONDS} s`);
    const envExpr = call.get("env");
    if (envExpr?.kind !== "list") throw new LiftError(`op ${name}: env is not a list`);
    const entries = envExpr.items.map((e, i): NotifyValue<Expr> => {
      const what = `op ${name} env[${i}]`;
      const d = dict(e, what);
      if (d.has("value")) {
        keys(d, ["name", "value"], what);
        return { name: str(d.get("name"), what), value: d.get("value")! };
      }
      const [envName, ref] = envVar(e, what);
      if (Array.isArray(ref)) throw new LiftError(`${what}: expected a secret`);
      return { name: envName, secret: ref as { secret: string; key: string } };
    });
    const isTag = (tag: string) => (v: Expr) => v.kind === "index" && `${v.name}[${JSON.stringify(v.key)}]` === runTag(tag);
    const fail = (message: string): never => {
      throw new LiftError(`op ${name}: ${message}`);
    };
    out.push(
      readNotifyInputs(entries, workflow, {
        template: (v, what) => template(v, `op ${name} ${what}`),
        literal: (v, what) => {
          const t = template(v, `op ${name} ${what}`);
          if (t.some((x) => "variable" in x)) fail(`${what} uses a runtime value`);
          return t.map((x) => ("text" in x ? x.text : "")).join("");
        },
        failed: isTag(FAILED_JOBS_TAG),
        run: isTag(FAILED_RUN_TAG),
        fail,
      }),
    );
  }
  const sensor = NOTIFY_JOB_BLOCK.exec(text);
  if (out.length === 0) {
    if (sensor !== null || text.includes("kfm_launcher.notify(")) throw new LiftError("a notification sensor or op without notifications");
    return out;
  }
  // The pod every notification runs in.
  if (str(constant(text, "KFM_NOTIFY_IMAGE") ?? undefined, "KFM_NOTIFY_IMAGE") !== NOTIFY_CURL_IMAGE)
    throw new LiftError("the notification image is not curl's");
  if (str(constant(text, "KFM_NOTIFY_SCRIPT") ?? undefined, "KFM_NOTIFY_SCRIPT") !== NOTIFY_SCRIPT.replace(/\$/g, "$$$$"))
    throw new LiftError("the notification script is not the shared one");
  if (!text.includes('            command=["sh", "-c", KFM_NOTIFY_SCRIPT, "kfm-notify"],\n'))
    throw new LiftError("the notification pod does not run the script");
  for (const [tag, constantName] of [
    [FAILED_RUN_TAG, "KFM_FAILED_RUN_TAG"],
    [FAILED_JOBS_TAG, "KFM_FAILED_JOBS_TAG"],
    [JOB_TAG, "KFM_JOB_TAG"],
  ] as const)
    if (str(constant(text, constantName) ?? undefined, constantName) !== tag) throw new LiftError(`${constantName} is not ${tag}`);
  // The notification job calls each op once; the sensor watches the workflow's job and starts it.
  if (sensor === null) throw new LiftError("notifications without the notification job and its run failure sensor");
  const job = kwargsOf(sensor[1]!, "notification @job");
  if (str(job.get("name"), "notification @job name") !== NOTIFY_JOB || sensor[2] !== NOTIFY_JOB)
    throw new LiftError(`the notification job is not ${NOTIFY_JOB}`);
  const calls = sensor[3]!.trimEnd().split("\n");
  if (calls.join("\n") !== out.map((_, i) => `    ${notifyOp(i)}_op()`).join("\n"))
    throw new LiftError("the notification job does not call each notification op once");
  const k = kwargsOf(sensor[4]!, "@run_failure_sensor");
  keys(k, ["name", "monitored_jobs", "request_job", "default_status"], "@run_failure_sensor");
  if (str(k.get("name"), "sensor name") !== NOTIFY_SENSOR || sensor[5] !== NOTIFY_SENSOR) throw new LiftError(`the sensor is not ${NOTIFY_SENSOR}`);
  const monitored = k.get("monitored_jobs");
  if (
    monitored?.kind !== "list" ||
    monitored.items.length !== 1 ||
    monitored.items[0]!.kind !== "name" ||
    (monitored.items[0] as { name: string }).name !== jobFunction(workflow)
  )
    throw new LiftError("the sensor does not watch the workflow's job alone");
  const request = k.get("request_job");
  if (request?.kind !== "name" || request.name !== NOTIFY_JOB) throw new LiftError("the sensor starts another job");
  const status = k.get("default_status");
  if (status?.kind !== "name" || status.name !== "DefaultSensorStatus.RUNNING") throw new LiftError("the sensor does not start running");
  if (!definitionsSensors(text).includes(NOTIFY_SENSOR) || !new RegExp(`\\n {4}jobs=\\[${jobFunction(workflow)}, ${NOTIFY_JOB}\\],\\n`).test(text))
    throw new LiftError("the Definitions do not hold the notification job and its sensor");
  return out;
}
