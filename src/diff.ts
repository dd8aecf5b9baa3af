/**
 * `kfm-compile diff`: what changes in meaning between two versions of a spec, for
 * the review of a promotion PR. Both sides go through `summarize()`, the same
 * target-neutral meaning every backend is held to, so spelling does not count:
 * `@daily` and `0 0 * * *`, `500m` and `0.5`, `1Gi` and `1024Mi`, job order, key
 * order, quoting, comments and written-out defaults give no change. The standard
 * `KFM_` variables are left out: they follow from the workflow and job names, which
 * are compared themselves. Secret references are shown as references (a spec never
 * holds a secret's value).
 */
import { safeJson, safeText } from "./diagnostics.js";
import { STANDARD_ENV, type SecretRef, type Template } from "./ir.js";
import { compareStrings, type JobSummary, type ScheduleSummary, type Summary } from "./summary.js";
import { showTemplate } from "./template.js";
import { formatDuration } from "./values.js";

/** A JSON value, as the changes carry them. */
export type Value = null | string | number | boolean | readonly Value[] | { readonly [key: string]: Value };

/** One field whose meaning changed; `old` null means added, `new` null removed (for `env.<NAME>`). */
export interface FieldChange {
  readonly field: string;
  readonly old: Value;
  readonly new: Value;
}

/** A job that is only on one side. */
export interface JobBrief {
  readonly job: string;
  readonly image: string;
  /** The jobs it waits for, sorted. */
  readonly after: readonly string[];
}

/** A job on both sides whose meaning changed. */
export interface JobChanges {
  readonly job: string;
  /** Upstream jobs it now waits for (`added`) or no longer waits for (`removed`), sorted. */
  readonly edges: { readonly added: readonly string[]; readonly removed: readonly string[] };
  readonly changes: readonly FieldChange[];
}

export interface SemanticDiff {
  /** True when the two specs mean the same workflow. */
  readonly equal: boolean;
  readonly old: { readonly file: string; readonly workflow: string };
  readonly new: { readonly file: string; readonly workflow: string };
  /** Workflow-level changes: name, schedule, timeout, max_active_runs, run token seed. */
  readonly workflow: readonly FieldChange[];
  readonly jobs: {
    readonly added: readonly JobBrief[];
    readonly removed: readonly JobBrief[];
    /** Jobs on both sides, by name, whose meaning changed; sorted by name. */
    readonly changed: readonly JobChanges[];
  };
}

/** The fields `diff` names, in the order it prints them, with how text shows their values. */
type Show = (v: Value) => string;

const asDuration: Show = (v) => (v === null ? "none" : formatDuration(v as number));
const asText: Show = (v) => (v === null ? "none" : typeof v === "string" ? v : JSON.stringify(v));
const asJson: Show = (v) => (v === null ? "none" : Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(", ")}]` : JSON.stringify(v));

function asEnv(v: Value): string {
  if (v === null) return "none";
  if (typeof v === "object" && !Array.isArray(v)) {
    const ref = v as { secret?: Value; key?: Value };
    return `{secret: ${String(ref.secret)}, key: ${String(ref.key)}}`;
  }
  return JSON.stringify(v);
}

function asBytes(v: Value): string {
  if (v === null) return "none";
  const bytes = BigInt(v as string);
  for (const [unit, exp] of [
    ["Ei", 60n],
    ["Pi", 50n],
    ["Ti", 40n],
    ["Gi", 30n],
    ["Mi", 20n],
    ["Ki", 10n],
  ] as const) {
    const size = 1n << exp;
    if (bytes >= size && bytes % size === 0n) return `${bytes / size}${unit}`;
  }
  return `${bytes} bytes`;
}

const asWaits: Show = (v) => ((v as readonly number[]).length === 0 ? "none" : (v as readonly number[]).map((s) => formatDuration(s)).join(", "));

const WORKFLOW_FIELDS: Readonly<Record<string, { text: string; show: Show }>> = {
  name: { text: "name", show: asText },
  schedule: { text: "schedule", show: (v) => showSchedule(v) },
  "schedule.cron": { text: "schedule.cron", show: asText },
  "schedule.timezone": { text: "schedule.timezone", show: asText },
  "schedule.start_date": { text: "schedule.start_date", show: asText },
  "schedule.end_date": { text: "schedule.end_date", show: asText },
  "schedule.catchup": { text: "schedule.catchup", show: asText },
  "schedule.trigger": { text: "schedule.trigger", show: asJson },
  "schedule.source": { text: "schedule.source", show: asJson },
  timeout_seconds: { text: "timeout", show: asDuration },
  max_active_runs: { text: "max_active_runs", show: (v) => (v === null ? "no limit" : String(v)) },
};

const JOB_FIELDS: Readonly<Record<string, { text: string; show: Show }>> = {
  on_upstream_failure: { text: "on_upstream_failure", show: asText },
  image: { text: "image", show: asText },
  command: { text: "command", show: (v) => (v === null ? "none (image entrypoint)" : asJson(v)) },
  args: { text: "args", show: asJson },
  cpu: { text: "cpu", show: (v) => (v === null ? "none" : `${String(v)} cores`) },
  memory: { text: "memory", show: asBytes },
  attempts: { text: "attempts", show: asText },
  waits_seconds: { text: "waits", show: asWaits },
  timeout_seconds: { text: "timeout", show: asDuration },
};

function showSchedule(v: Value): string {
  if (v === null) return "none (run by hand)";
  const s = v as Record<string, Value>;
  if (s.kind === "cron") {
    const window = [s.start_date !== null ? `from ${String(s.start_date)}` : "", s.end_date !== null ? `until ${String(s.end_date)}` : ""].filter(
      (x) => x !== "",
    );
    return `cron ${String(s.cron)} in ${String(s.timezone)}${window.length > 0 ? `, ${window.join(" ")}` : ""}, catchup ${String(s.catchup)}`;
  }
  if (s.kind === "event") return `event ${JSON.stringify(s.trigger)}${s.source !== null ? ` from ${JSON.stringify(s.source)}` : ""}`;
  return JSON.stringify(v);
}

/** JSON with object keys sorted: equal values give equal text. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => compareStrings(a, b)))
      : x,
  );
}

function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function templates(ts: readonly Template[] | null): Value {
  return ts === null ? null : ts.map(showTemplate);
}

function envValue(v: Template | SecretRef): Value {
  return Array.isArray(v) ? showTemplate(v as Template) : { secret: (v as SecretRef).secret, key: (v as SecretRef).key };
}

function scheduleValue(s: ScheduleSummary | null): Record<string, Value> | null {
  if (s === null) return null;
  if (s.kind === "cron") return { kind: "cron", cron: s.cron, timezone: s.timezone, start_date: s.start, end_date: s.end, catchup: s.catchup };
  if (s.kind === "event") return { kind: "event", trigger: s.trigger, source: s.source };
  return JSON.parse(canonical(s)) as Record<string, Value>;
}

/** The summary fields diff compares by name; any other field is compared as it is (so a new summary field is never missed). */
const KNOWN_WORKFLOW_KEYS = new Set(["workflow", "schedule", "timeoutSeconds", "maxActiveRuns", "runTokenSeed", "jobs"]);
const KNOWN_JOB_KEYS = new Set(["after", "image", "command", "args", "runWhen", "env", "cpu", "memory", "attempts", "waitsSeconds", "timeoutSeconds"]);
const STANDARD = new Set<string>(STANDARD_ENV);

function jobValues(j: JobSummary): Record<string, Value> {
  return {
    on_upstream_failure: j.runWhen === "all_done" ? "continue" : j.runWhen === "all_succeeded" ? "stop" : j.runWhen,
    image: j.image,
    command: templates(j.command),
    args: templates(j.args),
    cpu: j.cpu,
    memory: j.memory,
    attempts: j.attempts,
    waits_seconds: [...j.waitsSeconds],
    timeout_seconds: j.timeoutSeconds,
  };
}

function change(field: string, old: Value, now: Value): FieldChange {
  return { field, old, new: now };
}

/** Fields of `a` and `b` outside `known`, compared as they are. */
function otherFields(a: object, b: object, known: ReadonlySet<string>): FieldChange[] {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])].filter((k) => !known.has(k)).sort(compareStrings);
  return keys
    .filter((k) => !same(ra[k], rb[k]))
    .map((k) => change(k, (JSON.parse(canonical(ra[k] ?? null)) ?? null) as Value, (JSON.parse(canonical(rb[k] ?? null)) ?? null) as Value));
}

function workflowChanges(a: Summary, b: Summary): FieldChange[] {
  const out: FieldChange[] = [];
  if (a.workflow !== b.workflow) out.push(change("name", a.workflow, b.workflow));
  const sa = scheduleValue(a.schedule);
  const sb = scheduleValue(b.schedule);
  if (sa === null || sb === null || sa.kind !== sb.kind) {
    if (!same(sa, sb)) out.push(change("schedule", sa, sb));
  } else {
    for (const k of Object.keys(sa).filter((k) => k !== "kind")) if (!same(sa[k], sb[k])) out.push(change(`schedule.${k}`, sa[k] ?? null, sb[k] ?? null));
  }
  if (a.timeoutSeconds !== b.timeoutSeconds) out.push(change("timeout_seconds", a.timeoutSeconds, b.timeoutSeconds));
  if (a.maxActiveRuns !== b.maxActiveRuns) out.push(change("max_active_runs", a.maxActiveRuns, b.maxActiveRuns));
  if (a.runTokenSeed !== b.runTokenSeed) out.push(change("run_token_seed", a.runTokenSeed, b.runTokenSeed));
  return [...out, ...otherFields(a, b, KNOWN_WORKFLOW_KEYS)];
}

function jobChanges(name: string, a: JobSummary, b: JobSummary): JobChanges | null {
  const before = new Set(a.after);
  const after = new Set(b.after);
  const edges = { added: b.after.filter((x) => !before.has(x)), removed: a.after.filter((x) => !after.has(x)) };
  const changes: FieldChange[] = [];
  const va = jobValues(a);
  const vb = jobValues(b);
  for (const k of Object.keys(JOB_FIELDS)) if (!same(va[k], vb[k])) changes.push(change(k, va[k] ?? null, vb[k] ?? null));
  const names = [...new Set([...Object.keys(a.env), ...Object.keys(b.env)])].filter((n) => !STANDARD.has(n)).sort(compareStrings);
  for (const n of names) {
    const ea = a.env[n] === undefined ? null : envValue(a.env[n]!);
    const eb = b.env[n] === undefined ? null : envValue(b.env[n]!);
    if (!same(ea, eb)) changes.push(change(`env.${n}`, ea, eb));
  }
  changes.push(...otherFields(a, b, KNOWN_JOB_KEYS));
  return edges.added.length === 0 && edges.removed.length === 0 && changes.length === 0 ? null : { job: name, edges, changes };
}

function brief(name: string, j: JobSummary): JobBrief {
  return { job: name, image: j.image, after: [...j.after] };
}

/** The semantic difference between two summaries; `oldFile` and `newFile` only label it. */
export function semanticDiff(oldFile: string, a: Summary, newFile: string, b: Summary): SemanticDiff {
  const workflow = workflowChanges(a, b);
  const names = [...new Set([...Object.keys(a.jobs), ...Object.keys(b.jobs)])].sort(compareStrings);
  const added: JobBrief[] = [];
  const removed: JobBrief[] = [];
  const changed: JobChanges[] = [];
  for (const n of names) {
    const ja = a.jobs[n];
    const jb = b.jobs[n];
    if (ja === undefined) added.push(brief(n, jb!));
    else if (jb === undefined) removed.push(brief(n, ja));
    else {
      const c = jobChanges(n, ja, jb);
      if (c !== null) changed.push(c);
    }
  }
  return {
    equal: workflow.length === 0 && added.length === 0 && removed.length === 0 && changed.length === 0,
    old: { file: oldFile, workflow: a.workflow },
    new: { file: newFile, workflow: b.workflow },
    workflow,
    jobs: { added, removed, changed },
  };
}

/** How many changes the diff holds: fields, edges, and jobs added or removed. */
export function changeCount(d: SemanticDiff): number {
  return (
    d.workflow.length +
    d.jobs.added.length +
    d.jobs.removed.length +
    d.jobs.changed.reduce((n, j) => n + j.changes.length + j.edges.added.length + j.edges.removed.length, 0)
  );
}

function line(field: string, fields: Readonly<Record<string, { text: string; show: Show }>>, c: FieldChange): string {
  // The seed is a digest: what matters to a reviewer is that every run gets a new token.
  if (fields === WORKFLOW_FIELDS && field === "run_token_seed")
    return "run token: changes for every logical date (the workflow name, or a job's name or params, changed)";
  if (field.startsWith("env.")) {
    const name = field.slice(4);
    if (c.old === null) return `env ${name}: added ${asEnv(c.new)}`;
    if (c.new === null) return `env ${name}: removed (was ${asEnv(c.old)})`;
    return `env ${name}: ${asEnv(c.old)} -> ${asEnv(c.new)}`;
  }
  const f = fields[field] ?? { text: field, show: asJson };
  return `${f.text}: ${f.show(c.old)} -> ${f.show(c.new)}`;
}

function showBrief(j: JobBrief): string {
  return `${j.job} (image ${j.image}; ${j.after.length === 0 ? "waits for no job" : `after ${j.after.join(", ")}`})`;
}

/** The text `diff` prints. */
export function diffText(d: SemanticDiff): string {
  const label = d.old.workflow === d.new.workflow ? d.new.workflow : `${d.old.workflow} -> ${d.new.workflow}`;
  if (d.equal) return safeText(`No semantic change: ${d.old.file} and ${d.new.file} mean the same workflow (${label}).`) + "\n";
  const out: string[] = [`Semantic changes from ${d.old.file} to ${d.new.file} (workflow ${label}):`];
  if (d.workflow.length > 0) {
    out.push("workflow:");
    for (const c of d.workflow) out.push(`  ${line(c.field, WORKFLOW_FIELDS, c)}`);
  }
  for (const j of d.jobs.added) out.push(`job added: ${showBrief(j)}`);
  for (const j of d.jobs.removed) out.push(`job removed: ${showBrief(j)}`);
  for (const j of d.jobs.changed) {
    out.push(`job ${j.job}:`);
    for (const e of j.edges.added) out.push(`  edge added: ${e} -> ${j.job}`);
    for (const e of j.edges.removed) out.push(`  edge removed: ${e} -> ${j.job}`);
    for (const c of j.changes) out.push(`  ${line(c.field, JOB_FIELDS, c)}`);
  }
  const n = changeCount(d);
  out.push(`${n} change${n === 1 ? "" : "s"}.`);
  // Values are spec text: each line printed as safe text (src/diagnostics.ts `safeText`).
  return out.map(safeText).join("\n") + "\n";
}

/** The JSON `diff --format json` prints (the `SemanticDiff` shape). */
export function diffJson(d: SemanticDiff): string {
  return safeJson(JSON.stringify(d, null, 2)) + "\n";
}
