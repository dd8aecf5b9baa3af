/**
 * Compares what each runner's own code read from a generated file with the spec's
 * meaning (`summarize(ir)`), field by field. Every mismatch is one line:
 * "<spec> / <target> / <field>: expected X, runner read Y".
 *
 * conformance/README.md ("What the suite compares") lists, per runner and per Summary
 * field, what the runner's value is read from, and what is not compared and why.
 * Runtime values are compared as the runner renders them, with the reference
 * rendering of src/runtime.ts as the expectation (attempt by attempt where the runner
 * renders the attempt number).
 */
import { dstConflicts, dstGuard, elapsedInUtc, parseCron, nextFireTimes, utcCover } from "../../src/cron.js";
import type { SecretRef, Template, Workflow } from "../../src/ir.js";
import { isoUtc, renderTemplate, runToken } from "../../src/runtime.js";
import { AIRFLOW_WINDOW_TASK, airflowId, airflowUpstreamSensorTask, githubJobId, githubSecretName, kubeName } from "../../src/names.js";
import { summarize, type JobSummary, type Summary } from "../../src/summary.js";
import { NOTIFY_ENV } from "../../src/notify.js";
import { constantText } from "../../src/template.js";
import { parseQuantity, toLocal } from "../../src/values.js";
import { evaluateBool, valueOf, type JobStatus, type Plain } from "./github-expr.js";

export class Mismatches {
  readonly lines: string[] = [];
  constructor(
    private readonly spec: string,
    private readonly target: string,
  ) {}
  check(field: string, expected: unknown, read: unknown): void {
    if (!same(expected, read)) {
      this.lines.push(`${this.spec} / ${this.target} / ${field}: expected ${show(expected)}, runner read ${show(read)}`);
    }
  }
  note(field: string, message: string): void {
    this.lines.push(`${this.spec} / ${this.target} / ${field}: ${message}`);
  }
}

function show(v: unknown): string {
  return v === undefined ? "nothing" : JSON.stringify(v);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function periodOf(ir: Workflow): number | null {
  return ir.schedule?.kind === "cron" ? ir.schedule.periodSeconds : null;
}

/** The reference rendering (src/runtime.ts) of a spec value for an attempt of a run at `logicalMs`. */
function expected(ir: Workflow, t: Template, logicalMs: number, attempt = 1): string {
  return renderTemplate(t, { logicalMs, attempt, runTokenSeed: ir.runTokenSeed, periodSeconds: periodOf(ir) });
}

/** The env a job's container must receive for an attempt: rendered values, secret references as secretKeyRef. */
function expectedEnv(ir: Workflow, job: JobSummary, logicalMs: number, attempt = 1): Record<string, unknown> {
  const env: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(job.env)) env[k] = isSecret(v) ? secretShape(v) : expected(ir, v, logicalMs, attempt);
  return env;
}

/** The attempts whose rendering is compared: every one (the spec allows at most 100, and the tools render that many). */
const MAX_RENDERED_ATTEMPTS = 100;
function attemptsRendered(job: JobSummary): number[] {
  return Array.from({ length: Math.min(job.attempts, MAX_RENDERED_ATTEMPTS) }, (_, i) => i + 1);
}

/** What a secret-backed variable must read: a Kubernetes secretKeyRef to the same secret and key. */
function secretShape(ref: SecretRef): unknown {
  return { secretKeyRef: { name: ref.secret, key: ref.key } };
}

function isSecret(v: Template | SecretRef): v is SecretRef {
  return !Array.isArray(v);
}

const UTC_NAMES = new Set(["UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"]);
/** One name for the zones that are UTC by another name (actionlint refuses the bare `UTC`). */
function zone(name: string): string {
  return UTC_NAMES.has(name) ? "UTC" : name;
}

/** Quantities are equal when they denote the same amount (`1Gi` and `1024Mi`). */
function sameQuantity(a: string | null, b: unknown): boolean {
  if (a === null) return b === null || b === undefined;
  if (typeof b !== "string" && typeof b !== "number") return false;
  const x = parseQuantity(a);
  const y = parseQuantity(String(b));
  if (x === null || y === null) return a === String(b);
  return x.numerator * y.denominator === y.numerator * x.denominator;
}

function checkResources(m: Mismatches, field: string, job: JobSummary, resources: unknown): void {
  const r = obj(resources);
  for (const kind of ["requests", "limits"] as const) {
    const got = obj(r[kind]);
    for (const res of ["cpu", "memory"] as const) {
      const want = job[res];
      if (!sameQuantity(want, got[res])) m.check(`${field}.${kind}.${res}`, want, got[res] ?? null);
    }
  }
}

/**
 * What a container receives from a Kubernetes command, args or env value: `$$` is `$`,
 * `$(NAME)` is the value of NAME when the container's env defines it (for an env value:
 * an entry before it), and anything else stays as written (kubelet's expansion,
 * third_party/forked/golang/expansion).
 */
export function k8sExpand(s: string, vars: ReadonlyMap<string, string> = new Map()): string {
  let out = "";
  for (let i = 0; i < s.length;) {
    if (s[i] === "$" && s[i + 1] === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (s[i] === "$" && s[i + 1] === "(") {
      const close = s.indexOf(")", i + 2);
      if (close > 0) {
        const name = s.slice(i + 2, close);
        if (vars.has(name)) {
          out += vars.get(name)!;
          i = close + 1;
          continue;
        }
      }
    }
    out += s[i];
    i += 1;
  }
  return out;
}

/** A container's env (name -> raw value, in order) expanded as kubelet does, each value seeing the entries before it. */
function expandEnv(entries: ReadonlyArray<readonly [string, unknown]>): { values: Obj; vars: Map<string, string> } {
  const vars = new Map<string, string>();
  const values: Obj = {};
  for (const [name, raw] of entries) {
    if (typeof raw === "string") {
      vars.set(name, k8sExpand(raw, vars));
      values[name] = vars.get(name);
    } else {
      // A reference (valueFrom): kept as the runner wrote it; kubelet does not expand it.
      values[name] = raw;
    }
  }
  const sorted: Obj = {};
  for (const k of Object.keys(values).sort()) sorted[k] = values[k];
  return { values: sorted, vars };
}

/** One line per variable that differs (or is missing/extra), not one per map. */
function checkEnvMap(m: Mismatches, field: string, suffix: string, want: Record<string, unknown>, read: Obj): void {
  for (const k of [...new Set([...Object.keys(want), ...Object.keys(read)])].sort()) {
    m.check(`${field}.${k}${suffix}`, k in want ? want[k] : "absent", k in read ? read[k] : "absent");
  }
}

/** An env entry of a container as the runner read it: the value, or its valueFrom reference. */
function envEntry(e: Obj): readonly [string, unknown] {
  const from = obj(e.valueFrom ?? e.value_from);
  if (Object.keys(from).length > 0) return [String(e.name), refShape(from)];
  return [String(e.name), String(e.value ?? "")];
}

/** A valueFrom as a comparable shape: a secretKeyRef as {secretKeyRef: {name, key}}, anything else as read. */
function refShape(from: Obj): unknown {
  const ref = obj(from.secretKeyRef ?? from.secret_key_ref);
  return Object.keys(ref).length > 0 ? { secretKeyRef: { name: ref.name, key: ref.key } } : from;
}

/** A value of a name -> value map (tekton-check): a string, or {valueFrom} for a reference. */
function mapValue(v: unknown): unknown {
  return typeof v === "string" ? v : refShape(obj(obj(v).valueFrom));
}

/** Whether a job is a manual approval gate (no container), which these comparisons do not read yet. */
function isApproval(job: JobSummary): boolean {
  const a = (job as unknown as { approval?: unknown }).approval;
  return a !== undefined && a !== null;
}

function literalList(ts: readonly Template[] | null): string[] | null {
  if (ts === null) return [];
  const out: string[] = [];
  for (const t of ts) {
    const c = constantText(t);
    if (c === null) return null;
    out.push(c);
  }
  return out;
}

function checkFireTimes(m: Mismatches, field: string, summary: Summary, fromIso: string, n: number, readUtc: unknown): void {
  const s = summary.schedule;
  if (s === null || s.kind !== "cron") return;
  const cron = parseCron(s.cron);
  if (typeof cron === "string") return;
  const want = nextFireTimes(cron, s.timezone, Date.parse(fromIso), n).map((ms) => new Date(ms).toISOString().slice(0, 19) + "Z");
  const got = arr(readUtc).map((x) => new Date(String(x)).toISOString().slice(0, 19) + "Z");
  m.check(`${field} after ${fromIso}`, want, got);
}

/**
 * Airflow's scheduler (load_dags.py `_queue`): a DAG deployed at `fromIso` first runs at the next
 * slot (with catchup off; with catchup on at its start), and when max_active_runs frees three slots
 * after that first run, the next run is the slot after it (runs queue: `max_active_runs` or
 * catch-up), else the latest slot (a DAG without a limit and without catch-up runs only the latest).
 */
function checkQueue(m: Mismatches, want: Summary, fromIso: string, read: unknown): void {
  const s = want.schedule;
  if (s === null || s.kind !== "cron" || read === null) return;
  const cron = parseCron(s.cron);
  if (typeof cron === "string") return;
  const q = obj(read);
  const utc = (ms: number): string => new Date(ms).toISOString().slice(0, 19) + "Z";
  const first = Date.parse(String(q.first));
  if (!s.catchup) m.check(`first run when deployed at ${fromIso}`, nextFireTimes(cron, s.timezone, Date.parse(fromIso), 1).map(utc), [utc(first)]);
  const slots = nextFireTimes(cron, s.timezone, first, 3);
  const queues = s.catchup || want.maxActiveRuns !== null;
  m.check(
    `run after ${utc(first)} when the limit frees at ${String(q.limit_frees_at)}`,
    utc(queues ? slots[0]! : slots[2]!),
    q.next === null || q.next === undefined ? (q.error ?? null) : utc(Date.parse(String(q.next))),
  );
}

// --- Airflow ------------------------------------------------------------------------------------

export function compareAirflow(
  m: Mismatches,
  ir: Workflow,
  parsed: unknown,
  logicalDates: readonly string[],
  fireFrom: readonly string[],
  fireCount: number,
): void {
  const want = summarize(ir);
  const dags = arr(obj(parsed).dags).map(obj);
  const dag = dags.find((d) => d.dag_id === airflowId(ir.name));
  if (dag === undefined) return m.note("dag", `no DAG ${airflowId(ir.name)} among ${show(dags.map((d) => d.dag_id))}`);
  const tt = obj(dag.timetable);
  const s = want.schedule;
  if (s === null) {
    m.check("schedule", "no schedule", tt.can_be_scheduled === false ? "no schedule" : tt.class);
  } else if (s.kind === "cron") {
    m.check("schedule.cron", s.cron, tt.cron);
    m.check("schedule.timezone", zone(s.timezone), typeof tt.timezone === "string" ? zone(tt.timezone) : tt.timezone);
    // With catchup off the start is the kfm-window guard's, and the DAG has none (a past one would
    // run the latest past slot at deployment; targets/airflow/README.md "First run after deployment").
    const guard = arr(dag.tasks)
      .map(obj)
      .find((t) => t.task_id === AIRFLOW_WINDOW_TASK);
    const guarded = obj(guard?.short_circuit);
    if (guard !== undefined) m.check("schedule.start guard", ["kfm_in_window", true], [guarded.python_callable, guarded.ignore_downstream_trigger_rules]);
    m.check("schedule.start", s.start, dag.start_date_local ?? obj(guarded.op_kwargs_local).start ?? null);
    m.check("schedule.start on the DAG", s.catchup ? s.start : null, dag.start_date_local);
    m.check("schedule.end", s.end, dag.end_date_local);
    // A queue without catch-up is written catchup=True with no start (targets/airflow/README.md
    // "Concurrency"): what it means is checked by the scheduler's own next run below.
    m.check("schedule.catchup", s.catchup || want.maxActiveRuns !== null ? s.catchup || "queue" : false, dag.catchup ? (s.catchup ? true : "queue") : false);
    for (const from of fireFrom) {
      const runs = arr(obj(dag.fire_times)[from]).map((r) => obj(r).logical_date);
      checkFireTimes(m, "fire times", want, from, fireCount, runs);
      checkQueue(m, want, from, obj(dag.queue)[from]);
    }
  }
  // targets/airflow/README.md "Run timeout": not the scheduler's dagrun_timeout but KFM_RUN_TIMEOUT,
  // which the kfm_run_deadline hook (the task runner's pre_execute) of every job, gate and sensor reads.
  m.check("dagrun_timeout", null, dag.dagrun_timeout ?? null);
  const bounded = [...ir.jobs.map((j) => airflowId(j.name)), ...ir.upstream.map((u) => airflowUpstreamSensorTask(u.workflow))].sort();
  const hooked = arr(dag.tasks)
    .map(obj)
    .filter((t) => t.pre_execute === "kfm_run_deadline")
    .map((t) => String(t.task_id))
    .sort();
  const runTimeout = obj(obj(parsed).module_constants).KFM_RUN_TIMEOUT ?? null;
  m.check(
    "timeoutSeconds",
    want.timeoutSeconds,
    runTimeout !== null && show(hooked) === show(bounded) ? runTimeout : hooked.length === 0 ? null : `hooks on ${show(hooked)}`,
  );
  // The constant the file's kfm_run_token macro hashes, from the module DagBag imported.
  m.check("runTokenSeed", want.runTokenSeed, obj(obj(parsed).module_constants).KFM_RUN_TOKEN_SEED);
  // null means no limit; Airflow has no "unlimited", the backend writes a bound no run reaches.
  m.check(
    "maxActiveRuns",
    want.maxActiveRuns ?? "unlimited",
    want.maxActiveRuns === null && Number(dag.max_active_runs) >= 2147483647 ? "unlimited" : dag.max_active_runs,
  );

  const tasks = new Map(
    arr(dag.tasks)
      .map(obj)
      .map((t) => [String(t.task_id), t]),
  );
  const specIds = new Map(Object.keys(want.jobs).map((name) => [airflowId(name), name]));
  for (const [name, job] of Object.entries(want.jobs)) {
    const id = airflowId(name);
    const t = tasks.get(id);
    if (t === undefined) {
      m.note(`jobs.${name}`, `no task ${id}`);
      continue;
    }
    const f = `jobs.${name}`;
    const after = arr(t.upstream_task_ids)
      .map(String)
      .filter((u) => specIds.has(u))
      .map((u) => specIds.get(u)!)
      .sort();
    m.check(`${f}.after`, job.after, after);
    m.check(`${f}.attempts`, job.attempts, Number(t.retries) + 1);
    m.check(`${f}.timeoutSeconds`, job.timeoutSeconds, t.execution_timeout ?? null);
    m.check(`${f}.runWhen`, job.runWhen, { all_success: "all_succeeded", all_done: "all_done" }[String(t.trigger_rule)] ?? t.trigger_rule);
    // A manual approval gate has no container: its gate (timeout, reject) is not compared yet.
    if (isApproval(job)) continue;
    const kpo = obj(t.kubernetes_pod_operator);
    checkResources(m, `${f}.resources`, job, kpo.container_resources);
    for (const ld of logicalDates) {
      const ms = Date.parse(ld);
      const rendered = obj(obj(obj(obj(dag.rendered)[ld]).tasks)[id]);
      if (rendered.error !== undefined) {
        m.note(`${f} @ ${ld}`, String(rendered.error));
        continue;
      }
      // What the container receives: the pod's values after kubelet's $(VAR)/$$ expansion.
      const pod = obj(rendered.pod_container);
      const rawEnv =
        Object.keys(pod).length > 0 ? arr(pod.env).map(obj).map(envEntry) : Object.entries(obj(rendered.env_vars)).map(([k, v]) => [k, String(v)] as const);
      const { values: envRead, vars } = expandEnv(rawEnv);
      const list = (v: unknown) => arr(v).map((x) => k8sExpand(String(x), vars));
      m.check(`${f}.image @ ${ld}`, job.image, rendered.image);
      m.check(
        `${f}.command @ ${ld}`,
        (job.command ?? []).map((x) => expected(ir, x, ms)),
        list(rendered.cmds),
      );
      m.check(
        `${f}.args @ ${ld}`,
        (job.args ?? []).map((x) => expected(ir, x, ms)),
        list(rendered.arguments),
      );
      checkEnvMap(m, `${f}.env`, ` @ ${ld}`, expectedEnv(ir, job, ms), envRead);
      // Later tries: the worker renders the task afresh for each (KFM_ATTEMPT is the try's number).
      const tries = obj(rendered.tries);
      for (const attempt of attemptsRendered(job).slice(1)) {
        const t2 = obj(tries[String(attempt)]);
        if (t2.error !== undefined) {
          m.note(`${f} @ ${ld}, attempt ${attempt}`, String(t2.error));
          continue;
        }
        const at = ` @ ${ld}, attempt ${attempt}`;
        if (Object.keys(t2).length === 0) {
          m.check(`${f}.env${at}`, "rendered", "no rendering of this try");
          continue;
        }
        checkEnvMap(m, `${f}.env`, at, expectedEnv(ir, job, ms, attempt), expandEnv(arr(t2.env).map(obj).map(envEntry)).values);
      }
      const waits = obj(obj(obj(dag.retry_waits_seconds)[ld])[id]);
      m.check(`${f}.waitsSeconds @ ${ld}`, job.waitsSeconds, waits.waits ?? waits.error);
    }
  }
}

// --- Argo -----------------------------------------------------------------------------------------

function seconds(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "number") return v;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** A slot of a spec's schedule at which a runner's window guard is evaluated (argo-check --when-at). */
export interface WindowProbe {
  /** The instant given to the runner: the slot plus 7 s (a controller acts just after the slot). */
  readonly at: string;
  /** The slot, UTC ISO. */
  readonly slot: string;
  /** Whether the slot is inside the spec's start/end window (local wall time, inclusive). */
  readonly inWindow: boolean;
}

/**
 * Slots to evaluate a schedule's start/end guard at: the two slots before and the two
 * at or after each bound, and the first slot after each of `from` (so a schedule
 * without a window is probed too).
 */
export function windowProbes(ir: Workflow, from: readonly string[]): WindowProbe[] {
  const s = ir.schedule;
  if (s?.kind !== "cron") return [];
  const cron = parseCron(s.cron);
  if (typeof cron === "string") return [];
  const inWindow = (ms: number) => {
    const local = toLocal(ms, s.timezone);
    return (s.start === null || local >= s.start) && (s.end === null || local <= s.end);
  };
  const slots = new Set<number>();
  const around = (bound: string, before: (local: string) => boolean) => {
    // The bound is a local wall time: its instant is within 14 h of the same text read as UTC.
    const approx = Date.parse(bound + "Z") - 14 * 3600_000;
    for (const back of [3600_000, 86400_000, 8 * 86400_000, 32 * 86400_000, 366 * 86400_000]) {
      const list = nextFireTimes(cron, s.timezone, approx - back, 500);
      const b = list.filter((ms) => before(toLocal(ms, s.timezone)));
      const a = list.filter((ms) => !before(toLocal(ms, s.timezone)));
      if (b.length >= 2 && a.length >= 2) {
        for (const ms of [...b.slice(-2), ...a.slice(0, 2)]) slots.add(ms);
        return;
      }
    }
  };
  if (s.start !== null) around(s.start, (local) => local < s.start!);
  if (s.end !== null) around(s.end, (local) => local <= s.end!);
  for (const f of from) for (const ms of nextFireTimes(cron, s.timezone, Date.parse(f), 1)) slots.add(ms);
  return [...slots]
    .sort((a, b) => a - b)
    .map((ms) => ({ at: new Date(ms + 7000).toISOString().slice(0, 19) + "Z", slot: new Date(ms).toISOString().slice(0, 19) + "Z", inWindow: inWindow(ms) }));
}

/** runWhen as read from whether a job runs after each kind of outcome of each parent (true: runs). */
function runWhenFrom(runsAllOk: unknown, afterOutcome: Record<string, unknown>): unknown {
  if (runsAllOk !== true) return { "when every parent succeeded": runsAllOk ?? "never evaluated" };
  const values = Object.values(afterOutcome);
  if (values.every((v) => v === false)) return "all_succeeded";
  if (values.every((v) => v === true)) return "all_done";
  return afterOutcome;
}

export function compareArgo(
  m: Mismatches,
  ir: Workflow,
  parsed: unknown,
  fireFrom: readonly string[],
  fireCount: number,
  logicalDate: string | null,
  probes: readonly WindowProbe[] = [],
): void {
  const want = summarize(ir);
  const objects = arr(parsed).map(obj);
  const top = objects.find((o) => o.kind === "CronWorkflow" || o.kind === "Workflow" || o.kind === "WorkflowTemplate");
  if (top === undefined) return m.note("object", "no Workflow, WorkflowTemplate or CronWorkflow");
  const o = obj(top.object);
  const spec = obj(o.spec);
  const wf = top.kind === "CronWorkflow" ? obj(spec.workflowSpec) : spec;
  m.check("workflow (object name)", kubeName(want.workflow), obj(o.metadata).name);
  const s = want.schedule;
  if (s !== null && s.kind === "cron") {
    if (top.kind !== "CronWorkflow") m.note("schedule", `a cron schedule, but the runner read a ${String(top.kind)}`);
    const cron = parseCron(s.cron);
    const dst = typeof cron === "string" ? null : dstGuard(cron, s.timezone, s);
    m.check("schedule.cron", dst?.added ? [s.cron, dst.added] : [s.cron], spec.schedules ?? []);
    m.check("schedule.timezone", zone(s.timezone), zone(String(spec.timezone ?? "")));
    const fire = obj(top.fireTimes);
    if (dst === null) {
      for (const from of fireFrom) {
        const key = Object.keys(fire)[0];
        checkFireTimes(m, "fire times", want, from, fireCount, key === undefined ? [] : obj(fire[key]).utc);
      }
    } else if (typeof cron !== "string") {
      // A daylight-saving guard: robfig/cron's fires of both schedules must include every instant of the
      // meaning; which of them the when guard keeps is test/conformance/dst.conformance.test.ts's comparison.
      for (const from of fireFrom) {
        const fired = new Set(Object.values(fire).flatMap((f) => arr(obj(f).utc).map((x) => Date.parse(String(x)))));
        const last = Math.min(...Object.values(fire).map((f) => Math.max(...arr(obj(f).utc).map((x) => Date.parse(String(x))))));
        const missing = nextFireTimes(cron, s.timezone, Date.parse(from), fireCount).filter((t) => t <= last && !fired.has(t));
        m.check(
          `fire times after ${from}, every instant of the meaning among robfig/cron's`,
          [],
          missing.map((t) => new Date(t).toISOString()),
        );
      }
    }
    // start/end: the CronWorkflow's when guard, evaluated by the controller's code at slots around the bounds.
    const whenAt = obj(top.whenAt);
    for (const p of probes) {
      const r = whenAt[p.at];
      m.check(
        `schedule window (when) at slot ${p.slot}`,
        p.inWindow ? "runs" : "no run",
        r === true ? "runs" : r === false ? "no run" : (r ?? "not evaluated"),
      );
    }
    // A slot the controller missed runs later only within startingDeadlineSeconds (0: never).
    const deadline = spec.startingDeadlineSeconds;
    m.check("schedule.catchup", s.catchup, deadline === 0 ? false : `the latest missed slot (startingDeadlineSeconds ${show(deadline)})`);
  } else if (s === null) {
    m.check("schedule", "no schedule", top.kind === "CronWorkflow" ? "CronWorkflow" : "no schedule");
  }
  m.check("timeoutSeconds", want.timeoutSeconds, seconds(wf.activeDeadlineSeconds));
  m.check("maxActiveRuns", want.maxActiveRuns, argoMaxActiveRuns(top, spec));

  const templates = new Map(
    arr(wf.templates)
      .map(obj)
      .map((t) => [String(t.name), t]),
  );
  const entry = templates.get(String(wf.entrypoint));
  const tasks = new Map(
    arr(obj(entry?.dag).tasks)
      .map(obj)
      .map((t) => [String(t.name), t]),
  );
  const depends = new Map(
    arr(top.depends)
      .map(obj)
      .filter((d) => d.template === wf.entrypoint)
      .map((d) => [String(d.task), d]),
  );
  const retries = new Map(
    arr(top.retryStrategies)
      .map(obj)
      .map((r) => [String(r.template), r]),
  );
  const byKube = new Map(Object.keys(want.jobs).map((n) => [kubeName(n), n]));
  for (const [name, job] of Object.entries(want.jobs)) {
    const f = `jobs.${name}`;
    const task = tasks.get(kubeName(name));
    if (task === undefined) {
      m.note(f, `no DAG task ${kubeName(name)} in the entrypoint template`);
      continue;
    }
    // The dependencies the controller extracts from depends/dependencies (common.GetTaskDependencies).
    const dep = obj(depends.get(kubeName(name)));
    const parents = arr(dep.dependencies)
      .map(String)
      .filter((x) => byKube.has(x));
    m.check(`${f}.after`, job.after, parents.map((x) => byKube.get(x)!).sort());
    // Whether the controller runs the task after each failed outcome of each parent (evaluateDependsLogic).
    const runs = obj(dep.runs);
    const afterOutcome: Record<string, unknown> = {};
    for (const p of parents) for (const phase of ["Failed", "Error", "Skipped", "Omitted"]) afterOutcome[`${byKube.get(p)} ${phase}`] = runs[`${p} ${phase}`];
    m.check(`${f}.runWhen`, job.runWhen, parents.length === 0 ? "all_succeeded" : runWhenFrom(runs["all Succeeded"], afterOutcome));
    // A manual approval gate has no container: its gate (timeout, reject) is not compared yet.
    if (isApproval(job)) continue;
    const tpl = templates.get(String(task.template));
    if (tpl === undefined) {
      m.note(f, `task template ${String(task.template)} not found`);
      continue;
    }
    const c = obj(tpl.container);
    m.check(`${f}.image`, job.image, c.image);
    const rendered = arr(top.rendered)
      .map(obj)
      .find((r) => r.template === tpl.name);
    if (logicalDate !== null && rendered !== undefined) {
      // Rendered by the controller's own substitution (argo-check --scheduled-time/--param), attempt by attempt.
      const ms = Date.parse(logicalDate);
      const attempts = [rendered, ...arr(rendered.attempts).map(obj)];
      for (const attempt of attemptsRendered(job)) {
        const r = attempts[attempt - 1];
        const at = attempt === 1 ? ` @ ${logicalDate}` : ` @ ${logicalDate}, attempt ${attempt}`;
        if (r === undefined) {
          m.check(`${f}.env${at}`, "rendered", "no rendering of this attempt");
          continue;
        }
        const renderedEnv = obj(r.env);
        const { values: envRead, vars } = expandEnv(
          arr(c.env)
            .map(obj)
            .map((e) => {
              const [name, v] = envEntry(e);
              return typeof v === "string" ? ([name, String(renderedEnv[name] ?? "")] as const) : ([name, v] as const);
            }),
        );
        const k8s = (v: unknown) => arr(v).map((x) => k8sExpand(String(x), vars));
        if (attempt === 1) {
          m.check(
            `${f}.command${at}`,
            (job.command ?? []).map((x) => expected(ir, x, ms)),
            k8s(r.command),
          );
          m.check(
            `${f}.args${at}`,
            (job.args ?? []).map((x) => expected(ir, x, ms)),
            k8s(r.args),
          );
        }
        checkEnvMap(m, `${f}.env`, at, expectedEnv(ir, job, ms, attempt), envRead);
      }
    } else {
      compareLiteral(m, `${f}.command`, job.command, c.command, c.env);
      compareLiteral(m, `${f}.args`, job.args, c.args, c.env);
      compareEnv(m, `${f}.env`, job, c.env);
    }
    checkResources(m, `${f}.resources`, job, c.resources);
    // Attempts and waits as the controller computes them (processNodeRetries, argo-check retryStrategies).
    const rs = retries.get(String(tpl.name));
    if (rs === undefined) {
      m.check(`${f}.attempts`, job.attempts, "no retryStrategy (1 attempt)");
      m.check(`${f}.waitsSeconds`, job.waitsSeconds, []);
    } else if (rs.error !== undefined) {
      m.note(`${f}.attempts`, `the controller cannot read the retryStrategy: ${String(rs.error)}`);
    } else {
      const limit = rs.limit;
      const policy = String(rs.retryPolicy);
      const attempts = limit === null || limit === undefined ? "no limit (retries forever)" : Number(limit) + 1;
      m.check(
        `${f}.attempts`,
        job.attempts,
        policy === "Always" || attempts === 1 ? attempts : `${String(attempts)} (retryPolicy ${policy}: not every failure is retried)`,
      );
      m.check(`${f}.waitsSeconds`, job.waitsSeconds, rs.waitsSeconds);
    }
    m.check(`${f}.timeoutSeconds`, job.timeoutSeconds, seconds(tpl.activeDeadlineSeconds));
  }
}

/**
 * At most N runs at once, the others waiting: the workflow's synchronization (one mutex:
 * 1; one semaphore: its limit as the controller reads it from the ConfigMap) and, for a
 * CronWorkflow, a concurrencyPolicy that starts every slot (Forbid skips, Replace stops).
 */
function argoMaxActiveRuns(top: Obj, spec: Obj): unknown {
  if (top.kind === "CronWorkflow") {
    const policy = spec.concurrencyPolicy;
    if (policy !== undefined && policy !== "" && policy !== "Allow") return `concurrencyPolicy ${String(policy)} (slots are skipped or runs stopped)`;
  }
  const sync = top.synchronization;
  if (sync === undefined || sync === null) return null;
  const mutexes = arr(obj(sync).mutexes);
  const semaphores = arr(obj(sync).semaphores).map(obj);
  if (mutexes.length === 1 && semaphores.length === 0) return 1;
  if (mutexes.length === 0 && semaphores.length === 1) return semaphores[0]!.limit ?? semaphores[0]!.error ?? null;
  if (mutexes.length === 0 && semaphores.length === 0) return null;
  return sync;
}

function compareLiteral(m: Mismatches, field: string, want: readonly Template[] | null, read: unknown, env: unknown): void {
  const lit = literalList(want);
  if (lit === null) return; // runtime values: rendered only by the runner at run time (not compared here)
  const { vars } = expandEnv(arr(env).map(obj).map(envEntry));
  m.check(
    field,
    lit,
    arr(read).map((x) => k8sExpand(String(x), vars)),
  );
}

function compareEnv(m: Mismatches, field: string, job: JobSummary, read: unknown): void {
  const { values } = expandEnv(arr(read).map(obj).map(envEntry));
  for (const [name, value] of Object.entries(job.env)) {
    if (!(name in values)) {
      m.check(`${field}.${name}`, "set", "absent");
      continue;
    }
    if (isSecret(value)) {
      m.check(`${field}.${name}`, secretShape(value), values[name]);
      continue;
    }
    const c = constantText(value);
    if (c !== null) m.check(`${field}.${name}`, c, values[name]);
  }
}

// --- Tekton ---------------------------------------------------------------------------------------

/**
 * When Tekton stops a run's jobs, in seconds (null: never): `timeouts.tasks` when the run has
 * it (the jobs are timed out then, and `finally` still runs), else `timeouts.pipeline`
 * (tektoncd/pipeline pkg/apis/pipeline/v1/pipelinerun_types.go `HaveTasksTimedOut`, `HasTimedOut`).
 */
function tektonRunDeadline(timeouts: Record<string, unknown>): number | null | undefined {
  const seconds = goDurationSeconds(timeouts.tasks ?? timeouts.pipeline);
  return seconds === 0 ? null : seconds;
}

function goDurationSeconds(v: unknown): number | null | undefined {
  if (v === undefined || v === null) return undefined;
  const text = String(v);
  const re = /([0-9.]+)(h|m|s|ms|us|µs|ns)/g;
  let total = 0;
  let matched = "";
  for (const x of text.matchAll(re)) {
    const n = Number(x[1]);
    total += x[2] === "h" ? n * 3600 : x[2] === "m" ? n * 60 : x[2] === "s" ? n : 0;
    matched += x[0];
  }
  return matched === text ? total : undefined;
}

/**
 * The values the kfm-context task/job of the Tekton and GitHub outputs must compute for a
 * run at `logicalMs`, from src/runtime.ts (their scripts are not runner code: these are
 * given to the runner, which substitutes them where the file refers to them), plus the
 * `ok` result of Tekton's failure emulation.
 */
export function contextValues(ir: Workflow, logicalMs: number): Record<string, string> {
  const period = periodOf(ir);
  const out: Record<string, string> = {
    ok: "true",
    ds: isoUtc(logicalMs).slice(0, 10),
    ts: isoUtc(logicalMs),
    execution_date: isoUtc(logicalMs),
    run_token: runToken(ir.runTokenSeed, logicalMs),
  };
  if (period !== null) {
    out.prev_execution_date = isoUtc(logicalMs - period * 1000);
    out.next_execution_date = isoUtc(logicalMs + period * 1000);
  }
  return out;
}

/**
 * The run limit as Tekton admitted the objects (targets/tekton/README.md, Concurrency): the
 * `KFM_MAX_ACTIVE_RUNS` of the `finally` task `kfm-start-runs`, when every run is created
 * `PipelineRunPending` (which Tekton's reconciler leaves unstarted) and the CronJob keeps
 * `Allow` (Forbid drops a due slot); without the task, nothing limits runs (null).
 */
function tektonRunLimit(pipeline: Record<string, unknown>, runs: readonly Record<string, unknown>[], policy: unknown): unknown {
  if (policy !== undefined && policy !== "" && policy !== "Allow") return `concurrencyPolicy ${String(policy)}`;
  const starter = arr(obj(pipeline.spec).finally)
    .map(obj)
    .find((t) => t.name === "kfm-start-runs");
  if (starter === undefined) return null;
  const step = arr(obj(starter.taskSpec).steps).map(obj)[0];
  const limit = Number(expandEnv(arr(step?.env).map(obj).map(envEntry)).values.KFM_MAX_ACTIVE_RUNS);
  const started = runs.filter((r) => Object.keys(r).length > 0 && obj(r.spec).status !== "PipelineRunPending");
  return started.length > 0 ? `${started.length} run(s) not created PipelineRunPending` : limit;
}

/** The step result the kfm-wait step writes for KFM_ATTEMPT (see compareTekton). */
const TEKTON_ATTEMPT_REF = "$(steps.kfm-wait.results.attempt)";

export function compareTekton(
  m: Mismatches,
  ir: Workflow,
  parsed: unknown,
  fireFrom: readonly string[],
  fireCount: number,
  logicalDate: string | null = null,
): void {
  const want = summarize(ir);
  const docs = arr(parsed).map(obj);
  const pipelineDoc = docs.find((d) => d.kind === "Pipeline");
  const pipeline = obj(pipelineDoc?.object);
  if (Object.keys(pipeline).length === 0) return m.note("object", "no Pipeline");
  m.check("workflow", want.workflow, obj(pipeline.spec).displayName);
  const run = obj(docs.find((d) => d.kind === "PipelineRun")?.object);
  const cron = docs.find((d) => d.kind === "CronJob");
  const s = want.schedule;
  if (s !== null && s.kind === "cron") {
    if (cron === undefined) m.note("schedule", "a cron schedule, but no CronJob");
    else {
      const cj = obj(obj(cron.object).spec);
      const parsedCron = parseCron(s.cron);
      const dst = typeof parsedCron === "string" ? null : dstGuard(parsedCron, s.timezone, s);
      // With a daylight-saving guard the schedule also holds the hour after each gap slot (targets/tekton/emit.ts cronJobSchedule).
      m.check("schedule.cron", dst?.cron ?? s.cron, cj.schedule);
      m.check("schedule.timezone", zone(s.timezone), typeof cj.timeZone === "string" ? zone(cj.timeZone) : null);
      if (dst === null) for (const from of fireFrom) checkFireTimes(m, "fire times", want, from, fireCount, obj(cron.fireTimes).utc);
      else if (typeof parsedCron !== "string") {
        // robfig/cron's fires must include every instant of the meaning; which of them the run
        // creator's guard keeps is test/conformance/dst.conformance.test.ts's comparison.
        for (const from of fireFrom) {
          const fired = arr(obj(cron.fireTimes).utc).map((x) => Date.parse(String(x)));
          const last = Math.max(...fired);
          const missing = nextFireTimes(parsedCron, s.timezone, Date.parse(from), fireCount).filter((t) => t <= last && !fired.includes(t));
          m.check(
            `fire times after ${from}, every instant of the meaning among robfig/cron's`,
            [],
            missing.map((t) => new Date(t).toISOString()),
          );
        }
      }
      // The window is data of the creator container (its script compares the slot's local time with it).
      // With max_active_runs the creator is the init container (the run starter runs after it).
      const pod = obj(obj(obj(obj(cj.jobTemplate).spec).template).spec);
      const creator = [...arr(pod.initContainers), ...arr(pod.containers)].map(obj).find((c) => c.name === "kfm-create-run");
      const { values: creatorEnv } = expandEnv(arr(creator?.env).map(obj).map(envEntry));
      const bound = (v: unknown) => (v === undefined || v === "" ? null : v);
      m.check("schedule.start", s.start, bound(creatorEnv.KFM_WINDOW_START));
      m.check("schedule.end", s.end, bound(creatorEnv.KFM_WINDOW_END));
      // A slot the CronJob controller notices later than startingDeadlineSeconds is skipped.
      m.check("schedule.catchup", s.catchup, typeof cj.startingDeadlineSeconds === "number" ? false : "the latest missed slot (no startingDeadlineSeconds)");
      // The PipelineRun the CronJob's creator submits, as Tekton admitted it.
      const created = obj(cron.createdRun);
      m.check("maxActiveRuns", want.maxActiveRuns, tektonRunLimit(pipeline, [run, obj(created.object)], cj.concurrencyPolicy));
      if (Object.keys(created).length === 0) m.note("scheduled run", "the CronJob creates no PipelineRun tekton-check could read");
      else {
        const spec = obj(obj(created.object).spec);
        m.check("scheduled run pipelineRef", obj(pipeline.metadata).name, obj(spec.pipelineRef).name);
        m.check("timeoutSeconds (scheduled run)", want.timeoutSeconds, tektonRunDeadline(obj(spec.timeouts)));
      }
    }
  } else {
    m.check("maxActiveRuns", want.maxActiveRuns, tektonRunLimit(pipeline, [run], undefined));
  }
  if (Object.keys(run).length > 0) {
    m.check("timeoutSeconds", want.timeoutSeconds, tektonRunDeadline(obj(obj(run.spec).timeouts)));
  }
  // The seed is data of kfm-context's step (its script hashes it with ts): the value after kubelet's expansion.
  const tasks = arr(obj(pipeline.spec).tasks).map(obj);
  const contextTask = tasks.find((t) => t.name === "kfm-context");
  const contextStep = arr(obj(contextTask?.taskSpec).steps).map(obj)[0];
  m.check("runTokenSeed", want.runTokenSeed, expandEnv(arr(contextStep?.env).map(obj).map(envEntry)).values.KFM_RUN_TOKEN_SEED);

  const byDisplay = new Map(tasks.map((t) => [String(t.displayName ?? t.name), t]));
  const nameOf = new Map(tasks.map((t) => [String(t.name), String(t.displayName ?? t.name)]));
  const analysis = new Map(
    arr(pipelineDoc?.tasks)
      .map(obj)
      .map((a) => [String(a.name), a]),
  );
  for (const [name, job] of Object.entries(want.jobs)) {
    const f = `jobs.${name}`;
    const task = byDisplay.get(name) ?? tasks.find((t) => t.name === kubeName(name));
    if (task === undefined) {
      m.note(f, `no pipeline task for ${name}`);
      continue;
    }
    const parentTasks = arr(task.runAfter)
      .map(String)
      .filter((x) => (nameOf.get(x) ?? x) in want.jobs);
    m.check(`${f}.after`, job.after, parentTasks.map((x) => nameOf.get(x) ?? x).sort());
    const a = obj(analysis.get(String(task.name)));
    m.check(`${f}.runWhen`, job.runWhen, tektonRunWhen(task, parentTasks, tasks, a));
    // A manual approval gate has no container: its gate (timeout, reject) is not compared yet.
    if (isApproval(job)) continue;
    m.check(`${f}.attempts`, job.attempts, Number(task.retries ?? 0) + 1);
    const steps = arr(obj(task.taskSpec).steps).map(obj);
    const step = steps.find((x) => x.name === "job") ?? steps[steps.length - 1];
    if (step === undefined) {
      m.note(f, "no steps (taskRef tasks are not read)");
      continue;
    }
    // One attempt is bounded by the job step's timeout, else by the pipeline task's (0 = none).
    const stepT = goDurationSeconds(step.timeout);
    const taskT = goDurationSeconds(task.timeout);
    const attempt = stepT !== undefined && stepT !== null && stepT > 0 ? stepT : taskT !== undefined && taskT !== null && taskT > 0 ? taskT : null;
    m.check(`${f}.timeoutSeconds`, job.timeoutSeconds, attempt);
    m.check(`${f}.image`, job.image, step.image);
    checkResources(m, `${f}.resources`, job, step.computeResources);
    // Each attempt's steps as the TaskRun reconciler substitutes them (tekton-check "tasks").
    const attempts = arr(a.attempts).map(obj);
    const stepAt = (n: number, stepName: string) => obj(obj(attempts[n - 1]?.steps)[stepName]);
    // The wait before attempt k is the entry of the kfm-wait step's KFM_RETRY_WAITS that its
    // script picks with the retry count Tekton substitutes for attempt k (the k-1-th, 1-based).
    const waits: unknown[] = [];
    // Every attempt is rendered, so every wait is compared.
    const renderedAttempts = Math.min(job.attempts, MAX_RENDERED_ATTEMPTS);
    for (let n = 2; n <= renderedAttempts; n++) {
      const env = expandEnv(Object.entries(obj(stepAt(n, "kfm-wait").env))).values;
      if (Object.keys(env).length === 0) {
        waits.push(n <= attempts.length ? "no kfm-wait step" : "attempt not rendered");
        continue;
      }
      const count = Number(env.KFM_RETRY_COUNT);
      const list = String(env.KFM_RETRY_WAITS ?? "")
        .split(" ")
        .filter((x) => x !== "");
      const w =
        Number.isInteger(count) && count >= 1 && count <= list.length
          ? Number(list[count - 1])
          : `retry count ${show(env.KFM_RETRY_COUNT)} of [${list.join(" ")}]`;
      waits.push(w);
    }
    m.check(`${f}.waitsSeconds`, job.waitsSeconds.slice(0, renderedAttempts - 1), waits);
    if (logicalDate === null) {
      // The first attempt's step after the TaskRun's param pass (a literal Tekton reference's
      // `$` is the param kfm-dollar, targets/tekton/README.md, Literal text); the runtime
      // values are still references here.
      const first = stepAt(1, String(step.name));
      const renderedEnv = obj(first.env);
      const read =
        Object.keys(first).length === 0
          ? step
          : {
              command: first.command ?? undefined,
              args: first.args ?? undefined,
              // In the step's order (a Kubernetes `$(VAR)` reads the variables before it).
              env: arr(step.env)
                .map(obj)
                .map((e) => (typeof renderedEnv[String(e.name)] === "string" ? { ...e, value: renderedEnv[String(e.name)] } : e)),
            };
      compareLiteral(m, `${f}.command`, job.command, read.command, read.env);
      compareLiteral(m, `${f}.args`, job.args, read.args, read.env);
      compareEnv(m, `${f}.env`, job, read.env);
      continue;
    }
    // Runtime values: kfm-context's results given as src/runtime.ts computes them (tekton-check
    // --task-results), substituted by Tekton; then kubelet's expansion. KFM_ATTEMPT is the
    // kfm-wait step's result, which its script writes as Tekton's retry count + 1.
    const ms = Date.parse(logicalDate);
    for (const n of attemptsRendered(job)) {
      const at = n === 1 ? ` @ ${logicalDate}` : ` @ ${logicalDate}, attempt ${n}`;
      const jobStep = stepAt(n, String(step.name));
      if (Object.keys(jobStep).length === 0) {
        m.check(`${f}.env${at}`, "rendered", "no rendering of this attempt");
        continue;
      }
      const count = obj(stepAt(n, "kfm-wait").env).KFM_RETRY_COUNT;
      const attemptValue = typeof count === "string" && /^[0-9]+$/.test(count) ? String(Number(count) + 1) : TEKTON_ATTEMPT_REF;
      const sub = (v: unknown) => (typeof v === "string" ? v.split(TEKTON_ATTEMPT_REF).join(attemptValue) : v);
      const { values: envRead, vars } = expandEnv(Object.entries(obj(jobStep.env)).map(([k, v]) => [k, sub(mapValue(v))] as const));
      const list = (v: unknown) => arr(v).map((x) => k8sExpand(String(sub(x)), vars));
      if (n === 1) {
        m.check(
          `${f}.command${at}`,
          (job.command ?? []).map((x) => expected(ir, x, ms)),
          list(jobStep.command),
        );
        m.check(
          `${f}.args${at}`,
          (job.args ?? []).map((x) => expected(ir, x, ms)),
          list(jobStep.args),
        );
      }
      checkEnvMap(m, `${f}.env`, at, expectedEnv(ir, job, ms, n), envRead);
    }
  }
}

/**
 * runWhen on Tekton, from what Tekton admitted: after a parent fails, a job runs when the
 * parent's failure does not stop the run (Tekton starts no new task once a task without
 * `onError: continue` failed: pipelinerunstate.go IsStopping) and the job's `when`
 * expressions still allow it (Tekton's evaluation, tekton-check whenRuns). A failed
 * parent writes no `ok` result, or `ok=false` when it is a retried job whose job step
 * has step-level `onError: continue` (its status step then ends the TaskRun successfully).
 */
function tektonRunWhen(task: Obj, parents: readonly string[], tasks: readonly Obj[], analysis: Obj): unknown {
  if (parents.length === 0) return "all_succeeded";
  const whenRuns = analysis.whenRuns === undefined ? undefined : obj(analysis.whenRuns);
  const allows = (scenario: string): unknown => (whenRuns === undefined ? true : whenRuns[scenario]);
  const afterOutcome: Record<string, unknown> = {};
  for (const p of parents) {
    const parent = obj(tasks.find((t) => t.name === p));
    const jobStep = arr(obj(parent.taskSpec).steps)
      .map(obj)
      .find((x) => x.name === "job");
    const softLastAttempt = obj(jobStep).onError === "continue";
    const failedStops = parent.onError !== "continue" && !softLastAttempt;
    afterOutcome[`${String(parent.displayName ?? p)} failed`] = failedStops ? false : allows(softLastAttempt ? `${p} ok=false` : `${p} without ok`);
  }
  return runWhenFrom(allows("all ok"), afterOutcome);
}

// --- GitHub Actions ------------------------------------------------------------------------------

/** The secret a GitHub expression reads, as the evaluator sees it (a marker value per secret). */
function secretMarker(ref: SecretRef): string {
  return `<secret ${ref.secret}/${ref.key}>`;
}

/**
 * A job that calls a reusable workflow, as GitHub runs it (docs: reusing workflows): the
 * called workflow's job and the contexts its expressions see: `inputs` are the input
 * definitions' defaults overridden by the caller's `with:` (evaluated in the caller's
 * contexts), `secrets` the caller's `secrets:` evaluated likewise.
 */
function calledJob(j: Obj, callerContexts: Record<string, Plain>): { job: Obj; contexts: Record<string, Plain> } | undefined {
  if (j.type !== "reusableWorkflowJob") return undefined;
  const inputs: Record<string, Plain> = {};
  for (const [k, d] of Object.entries(obj(j["input-definitions"]))) if ("default" in obj(d)) inputs[k] = obj(d).default as Plain;
  for (const [k, v] of Object.entries(obj(j["input-values"]))) inputs[k] = typeof v === "number" ? v : (valueOf(v, callerContexts) ?? null);
  const secrets: Record<string, Plain> = {};
  for (const [k, v] of Object.entries(obj(j["secret-values"]))) secrets[k] = valueOf(v, callerContexts) ?? "";
  const job = arr(j.jobs).map(obj)[0];
  return job === undefined ? undefined : { job, contexts: { inputs, secrets } };
}

/** The env of the called job's step that has `key`, every value evaluated as GitHub would. */
function calledStepEnv(j: Obj, callerContexts: Record<string, Plain>, key: string): Record<string, string | undefined> | undefined {
  const c = calledJob(j, callerContexts);
  if (c === undefined) return undefined;
  const step = arr(c.job.steps)
    .map(obj)
    .find((x) => obj(x.env)[key] !== undefined);
  if (step === undefined) return undefined;
  return Object.fromEntries(Object.entries(obj(step.env)).map(([k, v]) => [k, valueOf(v, c.contexts)]));
}

/** A JSON list of strings as the run script's decoder reads it (empty text: none). */
function jsonItems(text: string | undefined): string[] | string {
  if (text === undefined || text === "") return [];
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  } catch {
    /* reported below */
  }
  return `not a JSON list of strings: ${show(text)}`;
}

export function compareGithub(m: Mismatches, ir: Workflow, parsed: unknown, logicalDates: readonly string[] = []): void {
  const want = summarize(ir);
  const p = obj(parsed);
  m.check("workflow", want.workflow, p.name);
  const s = want.schedule;
  const schedules = arr(obj(p.events).schedule).map(obj);
  const jobs = new Map(
    arr(p.jobs)
      .map(obj)
      .map((j) => [String(j.id), j]),
  );
  // kfm-context calls kfm-context.yml, whose step holds the schedule window, the run timeout and the run-token seed as data.
  const contextJob = obj(jobs.get("kfm-context"));
  const ctxEnv: Obj = calledStepEnv(contextJob, {}, "KFMI_RUN_TOKEN_SEED") ?? {};
  const orNull = (v: unknown) => (v === undefined || v === "" ? null : v);
  if (s !== null && s.kind === "cron") {
    // A cron firing every hour with a slot in a daylight-saving change is written in UTC (its meaning is
    // elapsed time); GitHub's own zone handling moves gap slots and leaves folds undocumented.
    // Any other cron with such a slot is written in UTC as one cron per offset of the zone (`utcCover`),
    // which kfm-context is given to guard (the fire-time comparison runs them: dst.conformance.test.ts).
    const c = parseCron(s.cron);
    const dst = typeof c !== "string" && Object.values(dstConflicts(c, s.timezone, s)).some((x) => x !== null);
    const dstHourly = dst && typeof c !== "string" && elapsedInUtc(c, s.timezone);
    const cover = dst && !dstHourly && typeof c !== "string" ? utcCover(c, s.timezone).map((e) => e.cron) : null;
    const read = schedules.map((x) => ({ cron: x.cron, timezone: x.timezone === undefined || x.timezone === null ? null : zone(String(x.timezone)) }));
    m.check(
      "schedule",
      cover === null ? [{ cron: s.cron, timezone: zone(dstHourly ? "UTC" : s.timezone) }] : cover.map((e) => ({ cron: e, timezone: "UTC" })),
      read,
    );
    m.check("schedule: kfm-context's UTC entries", cover === null ? null : read.map((x) => x.cron).join(";"), orNull(ctxEnv.KFMI_UTC_CRONS));
    m.check("schedule.start", s.start, orNull(ctxEnv.KFMI_START));
    m.check("schedule.end", s.end, orNull(ctxEnv.KFMI_END));
  } else if (s === null) {
    m.check("schedule", [], schedules);
  }
  const runTimeout = orNull(ctxEnv.KFMI_RUN_TIMEOUT);
  m.check("timeoutSeconds", want.timeoutSeconds, runTimeout === null ? null : Number(runTimeout));
  m.check("runTokenSeed", want.runTokenSeed, ctxEnv.KFMI_RUN_TOKEN_SEED);
  // max_active_runs: 1 is the workflow's own group with `queue: max` (the whole run waits, 100 may),
  // never cancel-in-progress, with kfm-context dating a scheduled run from its creation (KFMI_SLOT_FROM);
  // no job has a group of its own (README, "Concurrency").
  m.check(
    "jobs' concurrency",
    [],
    [...jobs.values()].map((j) => j.concurrency).filter((c) => c !== null && c !== undefined),
  );
  const group = p.concurrency === null || p.concurrency === undefined ? null : obj(p.concurrency);
  const queued = group !== null && typeof group.group === "string" && group.queue === "max" && group["cancel-in-progress"] !== true;
  m.check("maxActiveRuns", want.maxActiveRuns, group === null ? null : queued ? 1 : group);
  m.check("kfm-context slot-from", want.maxActiveRuns === null ? null : "created_at", orNull(ctxEnv.KFMI_SLOT_FROM));

  const secrets: Record<string, string> = {};
  for (const job of Object.values(want.jobs))
    for (const v of Object.values(job.env)) if (isSecret(v)) secrets[githubSecretName(v.secret, v.key)] = secretMarker(v);
  const byId = new Map(Object.keys(want.jobs).map((n) => [githubJobId(n), n]));
  /** The contexts a job's expressions see in a run at `ld`: kfm-context's step writes the reference values. */
  const contexts = (ld: string | null, results: Record<string, string> = {}) => {
    const ms = ld === null ? 0 : Date.parse(ld);
    const stepOutputs: Record<string, string> = { run: "true", ...(ld === null ? {} : contextValues(ir, ms)) };
    delete stepOutputs.ok;
    const steps = { "kfm-context": { outputs: stepOutputs, outcome: "success", conclusion: "success" } };
    // The called job's outputs read its step; the workflow's outputs read the called job's.
    const called = calledJob(contextJob, {});
    const jobOutputs: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj(called?.job.outputs))) jobOutputs[k] = valueOf(v, { steps }) ?? "";
    const calledJobs = { [String(called?.job.id)]: { result: "success", outputs: jobOutputs } };
    const outputs: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj(contextJob.outputs))) outputs[k] = valueOf(obj(v).value, { jobs: calledJobs }) ?? "";
    const needs: Record<string, { result: string; outputs: Record<string, string> }> = { "kfm-context": { result: "success", outputs } };
    for (const id of byId.keys()) needs[id] = { result: results[id] ?? "success", outputs: {} };
    // The github context of a run, for the notification's link to the run.
    const github = { server_url: "https://github.com", repository: "acme/data", run_id: "42" };
    return { needs, secrets, github };
  };
  for (const [name, job] of Object.entries(want.jobs)) {
    const f = `jobs.${name}`;
    const j = jobs.get(githubJobId(name));
    if (j === undefined) {
      m.note(f, `no job ${githubJobId(name)}`);
      continue;
    }
    const parents = arr(j.needs)
      .map(String)
      .filter((x) => byId.has(x));
    m.check(`${f}.after`, job.after, parents.map((x) => byId.get(x)!).sort());
    // The job's if: as the parser read it (implicit success() included), evaluated by
    // GitHub's expression engine after each outcome of each parent.
    const cond = obj(j.if).expr ?? (typeof j.if === "string" ? j.if : "success()");
    const runs = (results: Record<string, string>, status: JobStatus): unknown => {
      try {
        return evaluateBool(String(cond), contexts(null, results), status);
      } catch (e) {
        return `<expression error: ${e instanceof Error ? e.message : String(e)}>`;
      }
    };
    const afterOutcome: Record<string, unknown> = {};
    for (const x of parents) {
      afterOutcome[`${byId.get(x)} failed`] = runs({ [x]: "failure" }, { success: false, failure: true, cancelled: false });
      afterOutcome[`${byId.get(x)} skipped`] = runs({ [x]: "skipped" }, { success: false, failure: false, cancelled: false });
    }
    m.check(
      `${f}.runWhen`,
      job.runWhen,
      parents.length === 0 ? "all_succeeded" : runWhenFrom(runs({}, { success: true, failure: false, cancelled: false }), afterOutcome),
    );
    // GitHub fails a run when one of its jobs fails, unless the job (or the failing step) has
    // continue-on-error (the workflow schema's job and step continue-on-error), read from the parser's tokens.
    const continueOnError = [obj(j.fromTokens)["continue-on-error"], ...arr(j.steps).map((x) => obj(obj(x).fromTokens)["continue-on-error"])].filter(
      (v) => v !== undefined && v !== false,
    );
    m.check(`${f}.failureFailsRun`, job.failureFailsRun, continueOnError.length === 0 ? true : `continue-on-error ${show(continueOnError)}`);
    // A manual approval gate has no container: its gate (timeout, reject) is not compared yet.
    if (isApproval(job)) continue;
    // A continue-on-error in the called workflow would hide the job's failure from the run.
    const calledNow = calledJob(j, contexts(null));
    const calledContinue = [
      obj(calledNow?.job.fromTokens)["continue-on-error"],
      ...arr(calledNow?.job.steps).map((x) => obj(obj(x).fromTokens)["continue-on-error"]),
    ];
    if (calledContinue.some((v) => v !== undefined && v !== false))
      m.note(`${f}.failureFailsRun`, `the called workflow has continue-on-error ${show(calledContinue)}`);
    // What GitHub hands the fixed run script: the called step's variables, from the caller's with:.
    const read = (ctx: Record<string, Plain>) => calledStepEnv(j, ctx, "KFMI_IMAGE");
    const env0 = read(contexts(null));
    if (env0 === undefined) {
      m.note(f, "no called step runs the job's container");
      continue;
    }
    const text = (k: string): string | undefined => env0[k];
    m.check(`${f}.image`, job.image, text("KFMI_IMAGE"));
    m.check(`${f}.attempts`, job.attempts, Number(text("KFMI_ATTEMPTS")));
    const waits = text("KFMI_WAITS");
    m.check(`${f}.waitsSeconds`, job.waitsSeconds, waits === undefined || waits === "" ? [] : waits.split(" ").map(Number));
    const timeout = text("KFMI_ATTEMPT_TIMEOUT");
    m.check(`${f}.timeoutSeconds`, job.timeoutSeconds, timeout === undefined || timeout === "" || timeout === "0" ? null : Number(timeout));
    m.check(`${f}.cpu`, job.cpu, text("KFMI_CPUS") || null);
    m.check(`${f}.memory`, job.memory, text("KFMI_MEMORY_BYTES") || null);
    // command, args, env: each value evaluated by GitHub's engine in a run at each logical date.
    for (const ld of logicalDates) {
      const env = read(contexts(ld)) ?? {};
      const ms = Date.parse(ld);
      m.check(
        `${f}.command @ ${ld}`,
        (job.command ?? []).map((x) => expected(ir, x, ms)),
        jsonItems(env.KFMI_COMMAND),
      );
      m.check(
        `${f}.args @ ${ld}`,
        (job.args ?? []).map((x) => expected(ir, x, ms)),
        jsonItems(env.KFMI_ARGS),
      );
      let vars: Obj = {};
      try {
        vars = obj(JSON.parse(env.KFMI_ENV ?? ""));
      } catch {
        m.note(`${f}.env @ ${ld}`, `KFMI_ENV is not JSON: ${show(env.KFMI_ENV)}`);
      }
      for (const attempt of attemptsRendered(job)) {
        const got: Obj = {};
        // The script reads the n-th distinct GitHub secret the variables name from KFMS_<n>.
        const slots = new Map<string, number>();
        for (const [envName, v] of Object.entries(vars)) {
          if (typeof v === "string") got[envName] = v;
          else if (obj(v).attempt === true) {
            // The run script passes its own attempt counter (1, 2, ...) for this variable.
            got[envName] = String(attempt);
          } else if (typeof obj(v)["github-secret"] === "string") {
            // The value docker receives is the secret the called step reads in its slot.
            const name = String(obj(v)["github-secret"]);
            if (!slots.has(name)) slots.set(name, slots.size);
            const value = env[`KFMS_${slots.get(name)}`];
            const ref = Object.values(job.env).find((x): x is SecretRef => isSecret(x) && secretMarker(x) === value);
            got[envName] = ref !== undefined && ref.secret === obj(v).secret && ref.key === obj(v).key ? secretShape(ref) : value;
          } else got[envName] = `<unreadable ${show(v)}>`;
        }
        const sorted: Obj = {};
        for (const k of Object.keys(got).sort()) sorted[k] = got[k];
        checkEnvMap(m, `${f}.env`, attempt === 1 ? ` @ ${ld}` : ` @ ${ld}, attempt ${attempt}`, expectedEnv(ir, job, ms, attempt), sorted);
      }
    }
  }
}

// --- Approval gates, notifications, upstream workflows ---------------------------------------------

/** A notification as a runner's construct carries it: kind, rendered message, addressing, secret. */
interface NotificationRead {
  kind: unknown;
  message: unknown;
  recipients?: unknown;
  from?: unknown;
  channel?: unknown;
  secret: unknown;
}

/**
 * A notification as the env of its construct carries it (src/notify.ts NOTIFY_ENV, the same
 * names on every target): `raw` holds the fixed values, `rendered` the ones the runner
 * renders for one run (the message).
 */
function notificationRead(raw: Record<string, unknown>, rendered: Record<string, unknown>): NotificationRead {
  const to = raw[NOTIFY_ENV.to];
  return {
    kind: raw[NOTIFY_ENV.kind],
    message: rendered[NOTIFY_ENV.message],
    recipients: typeof to === "string" ? to.split(" ").filter((x) => x !== "") : to,
    from: raw[NOTIFY_ENV.from],
    channel: raw[NOTIFY_ENV.channel],
    secret: raw[NOTIFY_ENV.secretUrl],
  };
}

/** Compares the notifications read (index i is the runner's kfm-notify-<i+1>) with the spec's, field by field. */
function checkNotifications(
  m: Mismatches,
  ir: Workflow,
  suffix: string,
  logicalDate: string | null,
  read: ReadonlyArray<NotificationRead | undefined>,
  count: number,
): void {
  const want = summarize(ir).notifications;
  m.check(`notifications (count)`, want.length, count);
  want.forEach((n, i) => {
    const f = `notifications[${i}]`;
    const r = read[i];
    if (r === undefined) return m.note(f, `no notification construct kfm-notify-${i + 1}`);
    m.check(`${f}.kind`, n.kind, r.kind);
    if (logicalDate !== null) m.check(`${f}.message @ ${logicalDate}${suffix}`, expected(ir, n.message, Date.parse(logicalDate)), r.message);
    if (n.kind === "email") {
      m.check(`${f}.recipients`, n.recipients, r.recipients);
      m.check(`${f}.from`, n.from, r.from);
      m.check(`${f}.smtp`, secretShape(n.smtp), r.secret);
    } else {
      m.check(`${f}.channel`, n.channel, r.channel);
      m.check(`${f}.webhook`, secretShape(n.webhook), r.secret);
    }
  });
}

/** What a notification must do per outcome of a run: run when the run failed, not when it succeeded. */
function notifyExpectation(ir: Workflow): Record<string, boolean> {
  const out: Record<string, boolean> = { "every job succeeded": false };
  for (const j of [...ir.jobs].sort((a, b) => (a.name < b.name ? -1 : 1))) out[`${j.name} failed`] = true;
  return out;
}

/**
 * Airflow's trigger rules (airflow.utils.trigger_rule, as TriggerRuleDep applies them to the
 * states of the direct upstream tasks), restated over the rules and edges the DagBag loaded;
 * TriggerRuleDep reads finished task instances from the metadata database, which this offline
 * tool does not have. Returns the state a task ends in.
 */
function airflowTaskState(rule: string, upstream: readonly string[]): string {
  const failed = upstream.some((s) => s === "failed" || s === "upstream_failed");
  const skipped = upstream.some((s) => s === "skipped");
  if (upstream.length === 0) return "run";
  switch (rule) {
    case "all_success":
      return failed ? "upstream_failed" : skipped ? "skipped" : "run";
    case "all_done":
    case "always":
      return "run";
    case "one_failed":
      return failed ? "run" : "skipped";
    case "one_success":
      return upstream.some((s) => s === "success") ? "run" : failed ? "upstream_failed" : "skipped";
    case "none_skipped":
      return skipped ? "skipped" : "run";
    case "none_failed":
      return failed ? "upstream_failed" : "run";
    case "none_failed_min_one_success":
      return failed ? "upstream_failed" : upstream.every((s) => s === "skipped") ? "skipped" : "run";
    case "all_failed":
      return upstream.every((s) => s === "failed" || s === "upstream_failed") ? "run" : "skipped";
    case "all_skipped":
      return upstream.every((s) => s === "skipped") ? "run" : "skipped";
    default:
      return `unknown trigger rule ${rule}`;
  }
}

/** Whether `target` runs in a DAG run in which only the task `failing` (or none) fails. */
function airflowRuns(tasks: ReadonlyMap<string, Obj>, target: string, failing: string | null): unknown {
  const state = new Map<string, string>();
  const visit = (id: string, depth: number): string => {
    const known = state.get(id);
    if (known !== undefined) return known;
    if (depth > tasks.size) return "cycle";
    const t = tasks.get(id);
    if (t === undefined) return "missing";
    const ups = arr(t.upstream_task_ids).map((u) => visit(String(u), depth + 1));
    const s = airflowTaskState(String(t.trigger_rule), ups);
    const end = s === "run" ? (id === failing ? "failed" : "success") : s;
    state.set(id, end);
    return end;
  };
  const s = visit(target, 0);
  return s === "success" || s === "failed" ? true : s === "skipped" || s === "upstream_failed" ? false : s;
}

export function compareAirflowExtras(m: Mismatches, ir: Workflow, parsed: unknown, logicalDates: readonly string[]): void {
  const want = summarize(ir);
  const dag = arr(obj(parsed).dags)
    .map(obj)
    .find((d) => d.dag_id === airflowId(ir.name));
  if (dag === undefined) return;
  const tasks = new Map(
    arr(dag.tasks)
      .map(obj)
      .map((t) => [String(t.task_id), t]),
  );
  // (1) approval gates: the HITL ApprovalOperator as the DagBag loaded it.
  for (const [name, job] of Object.entries(want.jobs)) {
    if (job.approval === null) continue;
    const f = `jobs.${name}.approval`;
    const t = obj(tasks.get(airflowId(name)));
    const a = obj(t.approval_operator);
    if (Object.keys(a).length === 0) {
      m.check(`${f}.operator`, "ApprovalOperator", t.operator);
      continue;
    }
    // A rejection fails the gate (and so the run); no default decision on timeout.
    m.check(`${f}.fail_on_reject`, true, a.fail_on_reject);
    m.check(`${f}.defaults`, null, a.defaults ?? null);
    m.check(`${f}.timeoutSeconds`, job.approval.timeoutSeconds, a.response_timeout ?? null);
  }
  // (3) upstream workflows: one ExternalTaskSensor per upstream, every root job downstream of it.
  const sensors = [...tasks.values()].filter((t) => Object.keys(obj(t.external_task_sensor)).length > 0);
  m.check("upstream (count)", want.upstream.length, sensors.length);
  for (const [i, u] of want.upstream.entries()) {
    const f = `upstream[${i}]`;
    const t = sensors.find((s) => obj(s.external_task_sensor).external_dag_id === airflowId(u.workflow));
    if (t === undefined) {
      m.note(f, `no ExternalTaskSensor on DAG ${airflowId(u.workflow)}`);
      continue;
    }
    const s = obj(t.external_task_sensor);
    // The whole DAG run of the same logical date must have succeeded.
    m.check(`${f}.external_task_id`, null, s.external_task_id ?? null);
    m.check(`${f}.external_task_ids`, null, s.external_task_ids ?? null);
    m.check(`${f}.external_task_group_id`, null, s.external_task_group_id ?? null);
    m.check(`${f}.execution_delta`, null, s.execution_delta ?? null);
    m.check(`${f}.execution_date_fn`, null, s.execution_date_fn ?? null);
    m.check(`${f}.allowed_states`, ["success"], s.allowed_states);
    m.check(`${f}.failed_states`, ["failed"], s.failed_states);
    m.check(`${f}.mode`, "reschedule", s.mode);
    m.check(`${f}.soft_fail`, false, s.soft_fail);
    const timeout = Number(s.timeout);
    m.check(`${f}.timeoutSeconds`, u.timeoutSeconds ?? "unlimited", u.timeoutSeconds === null && timeout >= 2147483647 ? "unlimited" : s.timeout);
    for (const [name, job] of Object.entries(want.jobs)) {
      if (job.after.length > 0) continue;
      const ups = arr(obj(tasks.get(airflowId(name))).upstream_task_ids).map(String);
      m.check(`jobs.${name} downstream of ${f}`, true, ups.includes(String(t.task_id)));
    }
  }
  // (2) notifications: kfm-notify-<i> pod tasks, rendered per logical date; when they run.
  const notify = [...tasks.keys()].filter((id) => /^kfm-notify-[0-9]+$/.test(id));
  const expectRuns = notifyExpectation(ir);
  for (const ld of logicalDates.length > 0 ? logicalDates : [null]) {
    const read = want.notifications.map((_, i): NotificationRead | undefined => {
      const id = `kfm-notify-${i + 1}`;
      if (!tasks.has(id)) return undefined;
      const rendered = ld === null ? {} : obj(obj(obj(obj(dag.rendered)[ld]).tasks)[id]);
      const pod = obj(rendered.pod_container);
      const { values: env } = expandEnv(arr(pod.env).map(obj).map(envEntry));
      return notificationRead(env, env);
    });
    checkNotifications(m, ir, "", ld, read, notify.length);
  }
  for (const i of want.notifications.keys()) {
    const id = `kfm-notify-${i + 1}`;
    if (!tasks.has(id)) continue;
    const runs: Record<string, unknown> = { "every job succeeded": airflowRuns(tasks, id, null) };
    for (const j of [...ir.jobs].sort((a, b) => (a.name < b.name ? -1 : 1))) runs[`${j.name} failed`] = airflowRuns(tasks, id, airflowId(j.name));
    m.check(`notifications[${i}] runs`, expectRuns, runs);
  }
}

export function compareArgoExtras(m: Mismatches, ir: Workflow, parsed: unknown, logicalDate: string | null): void {
  const want = summarize(ir);
  const top = arr(parsed)
    .map(obj)
    .find((o) => o.kind === "CronWorkflow" || o.kind === "Workflow" || o.kind === "WorkflowTemplate");
  if (top === undefined) return;
  const spec = obj(obj(top.object).spec);
  const wf = top.kind === "CronWorkflow" ? obj(spec.workflowSpec) : spec;
  const templates = new Map(
    arr(wf.templates)
      .map(obj)
      .map((t) => [String(t.name), t]),
  );
  const entry = templates.get(String(wf.entrypoint));
  const dagTasks = new Map(
    arr(obj(entry?.dag).tasks)
      .map(obj)
      .map((t) => [String(t.name), t]),
  );
  // (1) approval gates: a suspend template whose output parameter is supplied by the person.
  for (const [name, job] of Object.entries(want.jobs)) {
    if (job.approval === null) continue;
    const f = `jobs.${name}.approval`;
    const tpl = obj(templates.get(String(obj(dagTasks.get(kubeName(name))).template)));
    if (tpl.suspend === undefined) {
      m.check(`${f}.suspend`, "a suspend template", Object.keys(tpl).length === 0 ? "no template" : "no suspend");
      continue;
    }
    m.check(`${f}.container`, null, tpl.container ?? tpl.script ?? null);
    const params = arr(obj(tpl.outputs).parameters).map(obj);
    const supplied = params.filter((p) => obj(p.valueFrom).supplied !== undefined);
    // Resuming needs a supplied value; a default would let a timeout or a plain resume pass the gate.
    m.check(`${f}.supplied output`, 1, supplied.length);
    m.check(`${f}.supplied output default`, null, supplied.map((p) => obj(p.valueFrom).default ?? null).find((d) => d !== null) ?? null);
    const d = obj(tpl.suspend).duration;
    const secs = d === undefined || d === "" ? null : /^[0-9]+$/.test(String(d)) ? Number(d) : goDurationSeconds(d);
    m.check(`${f}.timeoutSeconds`, job.approval.timeoutSeconds, secs ?? null);
  }
  // (2) notifications: tasks of the exit handler, their when evaluated per final phase.
  const exit = arr(top.exit).map(obj);
  const expectRuns = { Succeeded: false, Failed: true, Error: true };
  const rendered = arr(top.rendered).map(obj);
  const read = want.notifications.map((_, i): NotificationRead | undefined => {
    const name = `kfm-notify-${i + 1}`;
    const x = exit.find((e) => e.task === name);
    if (x === undefined) return undefined;
    const xr = obj(x.runs);
    m.check(`notifications[${i}] runs when the run ended`, expectRuns, { Succeeded: xr.Succeeded, Failed: xr.Failed, Error: xr.Error });
    const task = arr(obj(templates.get(String(x.template))?.dag).tasks)
      .map(obj)
      .find((t) => t.name === name);
    const tpl = obj(templates.get(String(task?.template ?? name)));
    const c = obj(tpl.container);
    const raw = expandEnv(arr(c.env).map(obj).map(envEntry)).values;
    const r = obj(rendered.find((y) => y.template === tpl.name)?.env);
    return notificationRead(raw, logicalDate === null ? {} : r);
  });
  if (want.notifications.length > 0 && wf.onExit === undefined) m.note("notifications", "no onExit handler");
  checkNotifications(m, ir, "", logicalDate, read, exit.filter((e) => /^kfm-notify-[0-9]+$/.test(String(e.task))).length);
  // (3) upstream workflows (contract 8.2): each wait as the controller renders it and the
  // executor and the retry logic read it (argo-check waits.go), and which tasks wait for it.
  // argo-check reports the waits only when it renders a run (a logical date given).
  if (logicalDate === null) return;
  const waits = arr(top.waits).map(obj);
  m.check("upstream (count of waits)", want.upstream.length, waits.length);
  const inOrder = (want: Record<string, unknown>, read: unknown) => Object.fromEntries(Object.keys(want).map((k) => [k, obj(read)[k]]));
  const controllerDeps = new Map(
    arr(top.depends)
      .map(obj)
      .filter((d) => d.template === wf.entrypoint)
      .map((d) => [String(d.task), arr(d.dependencies).map(String)]),
  );
  for (const [i, u] of want.upstream.entries()) {
    const f = `upstream[${i}] ${u.workflow}`;
    const name = `kfm-wait-${kubeName(u.workflow)}`;
    const w = waits.find((x) => x.template === name);
    if (w === undefined) {
      m.note(f, `no resource template ${name}`);
      continue;
    }
    m.check(`${f}.action`, "get", w.action);
    // Look again only while the run does not exist; a failed run or a deadline ends the wait.
    const retried = { "not found": true, "failure condition": false, deadline: false };
    m.check(`${f}.retried after`, retried, inOrder(retried, w.retryAfter));
    const outcome = { "": "neither", Pending: "neither", Running: "neither", Succeeded: "success", Failed: "failure", Error: "failure" };
    m.check(`${f}.outcome per upstream phase`, outcome, inOrder(outcome, w.phases));
    const tpl = obj(templates.get(name));
    m.check(`${f}.timeoutSeconds (activeDeadlineSeconds)`, u.timeoutSeconds, tpl.activeDeadlineSeconds ?? null);
    const maxDuration = obj(obj(tpl.retryStrategy).backoff).maxDuration;
    m.check(
      `${f}.timeoutSeconds (backoff.maxDuration)`,
      u.timeoutSeconds,
      maxDuration === undefined ? null : /^[0-9]+$/.test(String(maxDuration)) ? Number(maxDuration) : goDurationSeconds(maxDuration),
    );
    // The CronWorkflow's run of a slot is <name>-<unix seconds> (getChildWorkflowName); a backfill run <name>-<unix minutes>.
    const secs = Math.floor(Date.parse(logicalDate) / 1000);
    const run = `${kubeName(u.workflow)}-${top.kind === "CronWorkflow" ? secs : Math.floor(secs / 60)}`;
    m.check(`${f}.run waited for @ ${logicalDate}`, run, /\n {2}name: (\S+)\n/.exec(String(w.manifest))?.[1] ?? w.error ?? "no name");
    // Every job without depends_on waits for it (the controller's dependencies of each DAG task).
    for (const [job, j] of Object.entries(want.jobs)) {
      if (j.after.length > 0) continue;
      m.check(`jobs.${job} waits for ${u.workflow}`, true, (controllerDeps.get(kubeName(job)) ?? []).includes(name));
    }
  }
}

export function compareTektonExtras(m: Mismatches, ir: Workflow, parsed: unknown, logicalDate: string | null): void {
  const want = summarize(ir);
  const doc = arr(parsed)
    .map(obj)
    .find((d) => d.kind === "Pipeline");
  const pipeline = obj(obj(doc?.object).spec);
  const fin = arr(pipeline.finally).map(obj);
  const analysis = new Map(
    arr(doc?.tasks)
      .map(obj)
      .map((a) => [String(a.name), a]),
  );
  const read = want.notifications.map((_, i): NotificationRead | undefined => {
    const name = `kfm-notify-${i + 1}`;
    const t = fin.find((x) => x.name === name);
    if (t === undefined) return undefined;
    const a = obj(analysis.get(name));
    const w = obj(a.whenRuns);
    // Tekton's own when evaluation with $(tasks.status) substituted (tekton-check).
    m.check(
      `notifications[${i}] runs when the run ended`,
      { Succeeded: false, Failed: true },
      a.whenRuns === undefined ? { Succeeded: true, Failed: true } : { Succeeded: w["tasks.status Succeeded"], Failed: w["tasks.status Failed"] },
    );
    const steps = arr(obj(t.taskSpec).steps).map(obj);
    const step = steps[steps.length - 1];
    const raw = expandEnv(arr(step?.env).map(obj).map(envEntry)).values;
    const renderedStep = obj(obj(obj(arr(a.attempts).map(obj)[0]).steps)[String(step?.name)]);
    const renderedEnv = expandEnv(Object.entries(obj(renderedStep.env)).map(([k, v]) => [k, mapValue(v)] as const)).values;
    return notificationRead(raw, logicalDate === null ? {} : renderedEnv);
  });
  checkNotifications(m, ir, "", logicalDate, read, fin.filter((x) => /^kfm-notify-[0-9]+$/.test(String(x.name))).length);
}

export function compareGithubExtras(m: Mismatches, ir: Workflow, parsed: unknown, logicalDates: readonly string[]): void {
  const want = summarize(ir);
  const jobs = new Map(
    arr(obj(parsed).jobs)
      .map(obj)
      .map((j) => [String(j.id), j]),
  );
  // (1) approval gates: a job on a protected environment that may read the run's approvals.
  for (const [name, job] of Object.entries(want.jobs)) {
    if (job.approval === null) continue;
    const f = `jobs.${name}.approval`;
    const j = obj(jobs.get(githubJobId(name)));
    // The gate calls kfm-approval.yml: its job runs on the environment and checks for an approval.
    const called = calledJob(j, {});
    const env = called === undefined ? undefined : valueOf(called.job.environment, called.contexts);
    m.check(`${f}.environment`, "set", typeof env === "string" && env !== "" ? "set" : (env ?? null));
    m.check(`${f}.permissions`, { actions: "read" }, obj(called?.job.fromTokens).permissions);
    m.check(`${f}.caller permissions`, { actions: "read" }, obj(j.fromTokens).permissions);
    // GitHub has no configurable wait: only gates without a timeout are compiled.
    m.check(`${f}.timeoutSeconds`, job.approval.timeoutSeconds, null);
    m.check(`${f}.checked environment`, env, calledStepEnv(j, {}, "KFMI_ENVIRONMENT")?.KFMI_ENVIRONMENT);
  }
  // (2) notifications: kfm-notify-<i> jobs; if: evaluated per outcome, env evaluated per logical date.
  const specIds = ir.jobs.map((j) => githubJobId(j.name));
  const secrets: Record<string, string> = {};
  for (const n of want.notifications) {
    const ref = n.kind === "email" ? n.smtp : n.webhook;
    secrets[githubSecretName(ref.secret, ref.key)] = secretMarker(ref);
  }
  const contextsAt = (ld: string | null, results: Record<string, string>) => {
    const outputs: Record<string, string> = ld === null ? {} : contextValues(ir, Date.parse(ld));
    const needs: Record<string, Plain> = { "kfm-context": { result: "success", outputs } };
    for (const id of specIds) needs[id] = { result: results[id] ?? "success", outputs: {} };
    // The github context of a run, for the notification's link to the run.
    const github = { server_url: "https://github.com", repository: "acme/data", run_id: "42" };
    return { needs, secrets, github };
  };
  const notifyJobs = [...jobs.keys()].filter((id) => /^kfm-notify-[0-9]+$/.test(id));
  for (const ld of logicalDates.length > 0 ? logicalDates : [null]) {
    const read = want.notifications.map((n, i): NotificationRead | undefined => {
      const j = jobs.get(`kfm-notify-${i + 1}`);
      if (j === undefined) return undefined;
      const step = arr(j.steps)
        .map(obj)
        .find((s) => obj(s.env)[NOTIFY_ENV.kind] !== undefined);
      const env = obj(step?.env);
      const ctx = contextsAt(ld, {});
      const v = (k: string) => valueOf(env[k], ctx);
      const values = Object.fromEntries(Object.keys(env).map((k) => [k, v(k)]));
      const secret = v(NOTIFY_ENV.secretUrl);
      const ref = n.kind === "email" ? n.smtp : n.webhook;
      // The secret the expression reads, and the name the script reports it under.
      values[NOTIFY_ENV.secretUrl] = (
        secret === secretMarker(ref) && v("KFMI_SECRET_NAME") === ref.secret && v("KFMI_SECRET_KEY") === ref.key
          ? secretShape(ref)
          : { expression: secret, name: v("KFMI_SECRET_NAME"), key: v("KFMI_SECRET_KEY") }
      ) as never;
      return notificationRead(values, values);
    });
    checkNotifications(m, ir, "", ld, read, notifyJobs.length);
  }
  for (const i of want.notifications.keys()) {
    const j = jobs.get(`kfm-notify-${i + 1}`);
    if (j === undefined) continue;
    const needs = arr(j.needs).map(String);
    // failure() sees a failed job only among the needed ones (and their ancestors).
    m.check(`notifications[${i}] needs every job`, [...specIds].sort(), needs.filter((x) => specIds.includes(x)).sort());
    const cond = String(obj(j.if).expr ?? (typeof j.if === "string" ? j.if : "success()"));
    const runs = (results: Record<string, string>, status: JobStatus): unknown => {
      try {
        return evaluateBool(cond, contextsAt(null, results), status);
      } catch (e) {
        return `<expression error: ${e instanceof Error ? e.message : String(e)}>`;
      }
    };
    const got: Record<string, unknown> = { "every job succeeded": runs({}, { success: true, failure: false, cancelled: false }) };
    for (const job of [...ir.jobs].sort((a, b) => (a.name < b.name ? -1 : 1)))
      got[`${job.name} failed`] = runs({ [githubJobId(job.name)]: "failure" }, { success: false, failure: true, cancelled: false });
    m.check(`notifications[${i}] runs`, notifyExpectation(ir), got);
  }
}
