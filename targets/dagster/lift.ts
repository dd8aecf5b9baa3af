/**
 * Reads a module written by emit.ts back into its meaning (src/summary.ts): the ops (image,
 * command, args, env, resources, waits, timeout), their `In(Nothing)` inputs and the calls of
 * the `@job` body, the job's run tags, and the schedule with its window. The conformance suite
 * has Dagster itself load the module and report the same (conformance/dagster/load_defs.py).
 */
import type { SecretRef, Segment, Template } from "../../src/ir.js";
import { RUNTIME_VARIABLES, STANDARD_VARIABLES } from "../../src/ir.js";
import { NOTIFY_CURL_IMAGE } from "../../src/names.js";
import { NOTIFY_SCRIPT, NOTIFY_TASK_SECONDS, readNotifyInputs, type NotifyValue } from "../../src/notify.js";
import { compareStrings, cpuMeaning, memoryMeaning, sortedRecord, type JobSummary, type NotificationSummary, type Summary } from "../../src/summary.js";
import { JOB_TAG, LOGICAL_DATE_TAG, MAX_RUNTIME_TAG, afterInput, dagsterName, jobFunction, opFunction, scheduleName } from "./emit.js";
import { FAILED_JOBS_TAG, FAILED_RUN_TAG, NOTIFY_JOB, NOTIFY_SENSOR, notifyOp, runTag } from "./emit.js";

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
  /\n@op\(\n([\s\S]*?)\n\)\ndef ([A-Za-z0-9_]+)\((?:context, kfm_launcher: KfmLauncher|\n {4}context,\n {4}kfm_launcher: KfmLauncher,\n)\):\n {4}values = kfm_values\(context\)\n {4}kfm_attempt\(\n {8}context,\n {8}kfm_launcher,\n([\s\S]*?)\n {4}\)\n/g;
const JOB_BLOCK = /\n@job\(\n([\s\S]*?)\n\)\ndef ([A-Za-z0-9_]+)\(\):\n((?: {4}.*\n)+)/;
const SCHEDULE_BLOCK =
  /\n@schedule\(\n([\s\S]*?)\n\)\ndef ([A-Za-z0-9_]+)\((?:context: ScheduleEvaluationContext|\n {4}context: ScheduleEvaluationContext,\n)\):\n/;

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

export function lift(text: string): Summary {
  const workflow = str(constant(text, "KFM_WORKFLOW") ?? undefined, "KFM_WORKFLOW");
  const runTokenSeed = str(constant(text, "KFM_RUN_TOKEN_SEED") ?? undefined, "KFM_RUN_TOKEN_SEED");
  if (!text.includes(`KFM_LOGICAL_DATE_TAG = ${JSON.stringify(LOGICAL_DATE_TAG)}`)) throw new LiftError("the logical-date tag is missing");

  // Ops: Dagster name -> spec name (the op's KFM_JOB), and what each is.
  const ops = new Map<string, { spec: string; inputs: string[]; summary: Omit<JobSummary, "after"> }>();
  for (const m of text.matchAll(OP_BLOCK)) {
    const deco = kwargsOf(m[1]!, "@op");
    const name = str(deco.get("name"), "@op name");
    if (m[2] !== `${name}_op`) throw new LiftError(`op ${name} is defined as ${m[2]}`);
    const ins = dict(deco.get("ins"), `op ${name} ins`);
    const call = kwargsOf(m[3]!, `op ${name} kfm_attempt`);
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

  // The job: its tags, and the calls wiring each op's inputs to upstream ops.
  const jm = JOB_BLOCK.exec(text);
  if (jm === null) throw new LiftError("no @job");
  const jobDeco = kwargsOf(jm[1]!, "@job");
  if (str(jobDeco.get("name"), "@job name") !== jobFunction(workflow) || jm[2] !== jobFunction(workflow)) throw new LiftError("the job is not the workflow's");
  const tags = dict(jobDeco.get("tags"), "@job tags");
  keys(tags, [MAX_RUNTIME_TAG], "@job tags");
  const maxRuntime = Number(str(tags.get(MAX_RUNTIME_TAG), MAX_RUNTIME_TAG));
  const after = new Map<string, string[]>();
  const body = jm[3]!
    .replace(/= \(\n\s+([A-Za-z0-9_]+\(\))\n\s*\)/g, "= $1")
    .replace(/\(\n\s+/g, "(")
    .replace(/,\n\s+/g, ", ")
    .replace(/,?\n\s*\)/g, ")");
  for (const line of body.split("\n").filter((l) => l.trim() !== "")) {
    const c = /^ {4}(?:([A-Za-z0-9_]+)_done = )?([A-Za-z0-9_]+)\((.*)\)$/.exec(line);
    if (c === null) throw new LiftError(`job body line ${JSON.stringify(line)}`);
    const name = c[2]!.replace(/_op$/, "");
    const op = ops.get(name);
    if (op === undefined || c[2] !== opFunction(op.spec)) throw new LiftError(`the job calls ${c[2]}, which is no op`);
    if (c[1] !== undefined && c[1] !== name) throw new LiftError(`op ${name}'s output is kept as ${c[1]}_done`);
    const wired = c[3] === "" ? new Map<string, Expr>() : kwargsOf(c[3]!, `call of ${name}`);
    const ups: string[] = [];
    for (const [input, v] of wired) {
      if (v.kind !== "name" || !v.name.endsWith("_done")) throw new LiftError(`op ${name} input ${input} is wired to something else`);
      const up = ops.get(v.name.slice(0, -"_done".length));
      if (up === undefined || input !== afterInput(up.spec)) throw new LiftError(`op ${name} input ${input} is wired to ${v.name}`);
      ups.push(up.spec);
    }
    if ([...wired.keys()].sort().join(",") !== [...op.inputs].sort().join(",")) throw new LiftError(`op ${name}: inputs and wiring differ`);
    if (after.has(op.spec)) throw new LiftError(`op ${name} is called twice`);
    after.set(op.spec, ups.sort(compareStrings));
  }
  const jobs: Record<string, JobSummary> = {};
  for (const op of [...ops.values()].sort((a, b) => compareStrings(a.spec, b.spec))) {
    const ups = after.get(op.spec);
    if (ups === undefined) throw new LiftError(`op ${op.spec} is not called in the job`);
    jobs[op.spec] = { ...op.summary, after: ups };
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
    schedule = {
      kind: "cron",
      cron: str(k.get("cron_schedule"), "cron_schedule"),
      timezone: str(k.get("execution_timezone"), "execution_timezone"),
      start: windowBound(text, "KFM_WINDOW_START"),
      end: windowBound(text, "KFM_WINDOW_END"),
      catchup: false,
    };
  }
  return {
    workflow,
    schedule,
    timeoutSeconds: maxRuntime === 0 ? null : maxRuntime,
    maxActiveRuns: null,
    runTokenSeed,
    upstream: [],
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
  if (!/\n {4}sensors=\[kfm_failure_sensor\],\n/.test(text) || !new RegExp(`\\n {4}jobs=\\[${jobFunction(workflow)}, ${NOTIFY_JOB}\\],\\n`).test(text))
    throw new LiftError("the Definitions do not hold the notification job and its sensor");
  return out;
}
