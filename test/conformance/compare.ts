/**
 * Compares what each runner's own code read from a generated file with the spec's
 * meaning (`summarize(ir)`), field by field. Every mismatch is one line:
 * "<spec> / <target> / <field>: expected X, runner read Y".
 *
 * What is compared, per runner (the rest is listed in conformance/README.md as not
 * yet compared):
 * - Airflow (DagBag, serialized DAG, rendering): schedule, run timeout, every job's
 *   dependencies, image, command, args and env RENDERED by Airflow for fixed logical
 *   dates, resources, attempts, the waits Airflow itself computes, attempt timeout,
 *   and the timetable's fire times.
 * - Argo (strict lint, Go types): schedule, run timeout, dependencies, image, command,
 *   args and env RENDERED by the controller's own substitution (util/template, with
 *   expressions and sprig) for fixed logical dates, resources, attempts, attempt
 *   timeout, and robfig/cron fire times of the CronWorkflow.
 * - Tekton (admission defaults + validation): dependencies, image, literal command,
 *   args and env, resources, attempts, attempt timeout, run timeout of the PipelineRun,
 *   and the CronJob's schedule, zone and fire times.
 * - GitHub Actions (workflow-parser model): dependencies, schedule and timezone.
 */
import { parseCron, nextFireTimes } from "../../src/cron.js";
import type { SecretRef, Template, Workflow } from "../../src/ir.js";
import { renderTemplate } from "../../src/runtime.js";
import { airflowId, githubJobId, kubeName } from "../../src/names.js";
import { summarize, type JobSummary, type Summary } from "../../src/summary.js";
import { constantText } from "../../src/template.js";
import { parseQuantity } from "../../src/values.js";

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

/** The reference rendering (src/runtime.ts) of a spec value for the first attempt of a run at `logicalMs`. */
function expected(ir: Workflow, t: Template, logicalMs: number): string {
  const periodSeconds = ir.schedule?.kind === "cron" ? ir.schedule.periodSeconds : null;
  return renderTemplate(t, { logicalMs, attempt: 1, runTokenSeed: ir.runTokenSeed, periodSeconds });
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
  if (Object.keys(from).length > 0) {
    const ref = obj(from.secretKeyRef ?? from.secret_key_ref);
    return [String(e.name), Object.keys(ref).length > 0 ? { secretKeyRef: { name: ref.name, key: ref.key } } : from];
  }
  return [String(e.name), String(e.value ?? "")];
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
    m.check("schedule.start", s.start, dag.start_date_local);
    m.check("schedule.end", s.end, dag.end_date_local);
    m.check("schedule.catchup", s.catchup, dag.catchup);
    for (const from of fireFrom) {
      const runs = arr(obj(dag.fire_times)[from]).map((r) => obj(r).logical_date);
      checkFireTimes(m, "fire times", want, from, fireCount, runs);
    }
  }
  m.check("timeoutSeconds", want.timeoutSeconds, dag.dagrun_timeout ?? null);
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
      const env: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(job.env)) env[k] = isSecret(v) ? secretShape(v) : expected(ir, v, ms);
      checkEnvMap(m, `${f}.env`, ` @ ${ld}`, env, envRead);
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

export function compareArgo(m: Mismatches, ir: Workflow, parsed: unknown, fireFrom: readonly string[], fireCount: number, logicalDate: string | null): void {
  const want = summarize(ir);
  const objects = arr(parsed).map(obj);
  const top = objects.find((o) => o.kind === "CronWorkflow" || o.kind === "Workflow" || o.kind === "WorkflowTemplate");
  if (top === undefined) return m.note("object", "no Workflow, WorkflowTemplate or CronWorkflow");
  const o = obj(top.object);
  const spec = obj(o.spec);
  const wf = top.kind === "CronWorkflow" ? obj(spec.workflowSpec) : spec;
  const s = want.schedule;
  if (s !== null && s.kind === "cron") {
    if (top.kind !== "CronWorkflow") m.note("schedule", `a cron schedule, but the runner read a ${String(top.kind)}`);
    m.check("schedule.cron", [s.cron], spec.schedules ?? []);
    m.check("schedule.timezone", zone(s.timezone), zone(String(spec.timezone ?? "")));
    const fire = obj(top.fireTimes);
    for (const from of fireFrom) {
      const key = Object.keys(fire)[0];
      checkFireTimes(m, "fire times", want, from, fireCount, key === undefined ? [] : obj(fire[key]).utc);
    }
  } else if (s === null) {
    m.check("schedule", "no schedule", top.kind === "CronWorkflow" ? "CronWorkflow" : "no schedule");
  }
  m.check("timeoutSeconds", want.timeoutSeconds, seconds(wf.activeDeadlineSeconds));

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
  const byKube = new Map(Object.keys(want.jobs).map((n) => [kubeName(n), n]));
  for (const [name, job] of Object.entries(want.jobs)) {
    const f = `jobs.${name}`;
    const task = tasks.get(kubeName(name));
    if (task === undefined) {
      m.note(f, `no DAG task ${kubeName(name)} in the entrypoint template`);
      continue;
    }
    const deps = String(task.depends ?? "");
    const after = [...new Set([...deps.matchAll(/([A-Za-z0-9][-A-Za-z0-9]*)(?:\.[A-Za-z]+)?/g)].map((x) => x[1]!))]
      .filter((x) => byKube.has(x))
      .map((x) => byKube.get(x)!)
      .sort();
    const dependencies = arr(task.dependencies)
      .map(String)
      .filter((x) => byKube.has(x))
      .map((x) => byKube.get(x)!);
    m.check(`${f}.after`, job.after, [...new Set([...after, ...dependencies])].sort());
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
      // Rendered by the controller's own substitution (argo-check --scheduled-time/--param).
      const ms = Date.parse(logicalDate);
      const at = ` @ ${logicalDate}`;
      const renderedEnv = obj(rendered.env);
      const { values: envRead, vars } = expandEnv(
        arr(c.env)
          .map(obj)
          .map((e) => {
            const [name, v] = envEntry(e);
            return typeof v === "string" ? ([name, String(renderedEnv[name] ?? "")] as const) : ([name, v] as const);
          }),
      );
      const k8s = (v: unknown) => arr(v).map((x) => k8sExpand(String(x), vars));
      m.check(
        `${f}.command${at}`,
        (job.command ?? []).map((x) => expected(ir, x, ms)),
        k8s(rendered.command),
      );
      m.check(
        `${f}.args${at}`,
        (job.args ?? []).map((x) => expected(ir, x, ms)),
        k8s(rendered.args),
      );
      const env: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(job.env)) env[k] = isSecret(v) ? secretShape(v) : expected(ir, v, ms);
      checkEnvMap(m, `${f}.env`, at, env, envRead);
    } else {
      compareLiteral(m, `${f}.command`, job.command, c.command, c.env);
      compareLiteral(m, `${f}.args`, job.args, c.args, c.env);
      compareEnv(m, `${f}.env`, job, c.env);
    }
    checkResources(m, `${f}.resources`, job, c.resources);
    const limit = obj(tpl.retryStrategy).limit;
    m.check(`${f}.attempts`, job.attempts, limit === undefined ? "no limit (retries forever)" : Number(limit) + 1);
    m.check(`${f}.timeoutSeconds`, job.timeoutSeconds, seconds(tpl.activeDeadlineSeconds));
  }
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

export function compareTekton(m: Mismatches, ir: Workflow, parsed: unknown, fireFrom: readonly string[], fireCount: number): void {
  const want = summarize(ir);
  const docs = arr(parsed).map(obj);
  const pipeline = obj(docs.find((d) => d.kind === "Pipeline")?.object);
  if (Object.keys(pipeline).length === 0) return m.note("object", "no Pipeline");
  const run = obj(docs.find((d) => d.kind === "PipelineRun")?.object);
  const cron = docs.find((d) => d.kind === "CronJob");
  const s = want.schedule;
  if (s !== null && s.kind === "cron") {
    if (cron === undefined) m.note("schedule", "a cron schedule, but no CronJob");
    else {
      const cj = obj(obj(cron.object).spec);
      m.check("schedule.cron", s.cron, cj.schedule);
      m.check("schedule.timezone", zone(s.timezone), typeof cj.timeZone === "string" ? zone(cj.timeZone) : null);
      for (const from of fireFrom) checkFireTimes(m, "fire times", want, from, fireCount, obj(cron.fireTimes).utc);
    }
  }
  if (Object.keys(run).length > 0) {
    const pt = goDurationSeconds(obj(obj(run.spec).timeouts).pipeline);
    m.check("timeoutSeconds", want.timeoutSeconds, pt === 0 ? null : pt);
  }
  const tasks = arr(obj(pipeline.spec).tasks).map(obj);
  const byDisplay = new Map(tasks.map((t) => [String(t.displayName ?? t.name), t]));
  const nameOf = new Map(tasks.map((t) => [String(t.name), String(t.displayName ?? t.name)]));
  for (const [name, job] of Object.entries(want.jobs)) {
    const f = `jobs.${name}`;
    const task = byDisplay.get(name) ?? tasks.find((t) => t.name === kubeName(name));
    if (task === undefined) {
      m.note(f, `no pipeline task for ${name}`);
      continue;
    }
    const after = arr(task.runAfter)
      .map((x) => nameOf.get(String(x)) ?? String(x))
      .filter((x) => x in want.jobs)
      .sort();
    m.check(`${f}.after`, job.after, after);
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
    compareLiteral(m, `${f}.command`, job.command, step.command, step.env);
    compareLiteral(m, `${f}.args`, job.args, step.args, step.env);
    compareEnv(m, `${f}.env`, job, step.env);
    checkResources(m, `${f}.resources`, job, step.computeResources);
  }
}

// --- GitHub Actions ------------------------------------------------------------------------------

export function compareGithub(m: Mismatches, ir: Workflow, parsed: unknown): void {
  const want = summarize(ir);
  const p = obj(parsed);
  const s = want.schedule;
  const schedules = arr(obj(p.events).schedule).map(obj);
  if (s !== null && s.kind === "cron") {
    m.check(
      "schedule",
      [{ cron: s.cron, timezone: zone(s.timezone) }],
      schedules.map((x) => ({ cron: x.cron, timezone: x.timezone === undefined || x.timezone === null ? null : zone(String(x.timezone)) })),
    );
  } else if (s === null) {
    m.check("schedule", [], schedules);
  }
  const jobs = new Map(
    arr(p.jobs)
      .map(obj)
      .map((j) => [String(j.id), j]),
  );
  const byId = new Map(Object.keys(want.jobs).map((n) => [githubJobId(n), n]));
  for (const [name, job] of Object.entries(want.jobs)) {
    const j = jobs.get(githubJobId(name));
    if (j === undefined) {
      m.note(`jobs.${name}`, `no job ${githubJobId(name)}`);
      continue;
    }
    const after = arr(j.needs)
      .map(String)
      .filter((x) => byId.has(x))
      .map((x) => byId.get(x)!)
      .sort();
    m.check(`jobs.${name}.after`, job.after, after);
    // What GitHub's parser reads as the step's inputs to the fixed run script.
    const step = arr(j.steps)
      .map(obj)
      .find((x) => obj(x.env).KFMI_IMAGE !== undefined);
    if (step === undefined) {
      m.note(`jobs.${name}`, "no step runs the job's container");
      continue;
    }
    const env = obj(step.env);
    const text = (k: string): string | undefined => str(env[k]);
    m.check(`jobs.${name}.image`, job.image, text("KFMI_IMAGE"));
    m.check(`jobs.${name}.attempts`, job.attempts, Number(text("KFMI_ATTEMPTS")));
    const waits = text("KFMI_WAITS");
    m.check(`jobs.${name}.waitsSeconds`, job.waitsSeconds, waits === undefined || waits === "" ? [] : waits.split(" ").map(Number));
    const timeout = text("KFMI_ATTEMPT_TIMEOUT");
    m.check(`jobs.${name}.timeoutSeconds`, job.timeoutSeconds, timeout === undefined || timeout === "" ? null : Number(timeout));
    m.check(`jobs.${name}.cpu`, job.cpu, text("KFMI_CPUS") || null);
    m.check(`jobs.${name}.memory`, job.memory, text("KFMI_MEMORY_BYTES") || null);
  }
}
