/**
 * Comparing what a runner's engine did with what the reference interpreter expects
 * (issue 14, item 2): `traceOf` turns a harness's `Observed` into a `Trace`, and
 * `compareTraces` lists every difference as `spec / scenario / target / field: expected
 * X, runner did Y`, an empty list meaning the runs are the same.
 */
import type { AttemptTrace, JobTrace, NotificationTrace, Observed, Trace } from "../../src/execution.js";
import { byteOrder } from "../../src/interpret.js";

/**
 * How far an observed wait may be from the expected one, in seconds. Every wait of the
 * scenario specs is 2-30 s, and every wrong wait the suite guards against differs from the
 * right one by at least 2 s: a wait left out (0 s), constant waits for exponential ones or
 * an uncapped formula (backoff.yaml: 2, 4, 5 s against 2, 2, 2 s or 2, 4, 8 s), or
 * Airflow's jitter (anywhere in [B, 2B)). On a real clock an observed wait also holds the
 * engine's own step between "the attempt ended" and "the next attempt's container
 * started" (a process start, one turn of a scheduler or reconciler loop); a fake clock is
 * exact. 1 s leaves that step its margin and still tells every wrong wait apart.
 */
export const WAIT_TOLERANCE_SECONDS = 1;

export interface CompareOptions {
  /** Waits compare within this many seconds (`WAIT_TOLERANCE_SECONDS` unless given). */
  readonly waitToleranceSeconds?: number;
}

/** Times are rounded to milliseconds so reports are readable. */
const ms = (s: number): number => Math.round(s * 1000) / 1000;

/**
 * The trace of an observed run. Attempts are grouped by job in attempt order; a wait is
 * the time between the end of one attempt and the start of the next. Order facts are
 * every pair of jobs with attempts where one's last attempt ended at or before the
 * other's first attempt started.
 */
export function traceOf(observed: Observed): Trace {
  const byJob = new Map<string, Observed["attempts"][number][]>();
  for (const a of observed.attempts) {
    if (!Object.hasOwn(observed.jobs, a.job)) throw new Error(`observed.json: an attempt of \`${a.job}\`, which is not among its jobs.`);
    const list = byJob.get(a.job) ?? [];
    list.push(a);
    byJob.set(a.job, list);
  }
  const jobs: Record<string, JobTrace> = {};
  const spans = new Map<string, { start: number; end: number }>();
  for (const [name, state] of Object.entries(observed.jobs)) {
    const list = [...(byJob.get(name) ?? [])].sort((a, b) => a.attempt - b.attempt || a.startedAt - b.startedAt);
    const attempts: AttemptTrace[] = list.map((a, i) => ({
      attempt: a.attempt,
      end: a.end,
      waitSeconds: i === 0 ? null : ms(a.startedAt - list[i - 1]!.endedAt),
      env: a.env,
      command: a.command,
      args: a.args,
    }));
    jobs[name] = { state, attempts };
    if (list.length > 0) spans.set(name, { start: Math.min(...list.map((a) => a.startedAt)), end: Math.max(...list.map((a) => a.endedAt)) });
  }
  const order: [string, string][] = [];
  for (const [a, sa] of spans) for (const [b, sb] of spans) if (a !== b && sa.end <= sb.start) order.push([a, b]);
  const notifications = observed.notifications.map((n) => ({ index: n.index, failedJobs: [...n.failedJobs].sort(byteOrder) }));
  return { run: observed.run, jobs, order, notifications };
}

const show = (v: unknown): string => (v === undefined ? "(nothing)" : JSON.stringify(v));

/**
 * Every difference between the expected trace and the runner's, one line each, as
 * `<label> / <field>: expected X, runner did Y` (`label` is `spec / scenario / target`).
 * Jobs compare by state and attempts (count, number, end, wait within the tolerance, every
 * expected env variable, any `KFM_*` one the runner added, command, args); expected order
 * facts between jobs the runner ran must all be among its own (a runner may show more: independent jobs that
 * happened one after the other); notifications compare as a list sorted by entry.
 */
export function compareTraces(label: string, expected: Trace, actual: Trace, opts: CompareOptions = {}): string[] {
  const tolerance = opts.waitToleranceSeconds ?? WAIT_TOLERANCE_SECONDS;
  const out: string[] = [];
  const diff = (field: string, want: unknown, got: unknown): void => {
    out.push(`${label} / ${field}: expected ${show(want)}, runner did ${show(got)}`);
  };
  if (expected.run !== actual.run) diff("run", expected.run, actual.run);
  for (const name of Object.keys(actual.jobs)) {
    if (!Object.hasOwn(expected.jobs, name)) diff(`jobs.${name}`, undefined, actual.jobs[name]!.state);
  }
  for (const [name, want] of Object.entries(expected.jobs)) {
    const got = actual.jobs[name];
    const at = `jobs.${name}`;
    if (got === undefined) {
      diff(at, want.state, undefined);
      continue;
    }
    if (want.state !== got.state) diff(`${at}.state`, want.state, got.state);
    if (want.attempts.length !== got.attempts.length) {
      diff(`${at}.attempts.length`, want.attempts.length, got.attempts.length);
    }
    const n = Math.min(want.attempts.length, got.attempts.length);
    for (let i = 0; i < n; i++) compareAttempt(`${at}.attempts[${i}]`, want.attempts[i]!, got.attempts[i]!, tolerance, diff);
  }
  const facts = new Set(actual.order.map(([a, b]) => `${a}\0${b}`));
  // A job the runner did not run has no times: its attempt count says so already.
  const ran = (n: string) => (actual.jobs[n]?.attempts.length ?? 0) > 0;
  for (const [a, b] of expected.order) {
    if (!ran(a) || !ran(b)) continue;
    if (!facts.has(`${a}\0${b}`)) diff(`order`, `${b} starts after ${a} ended`, `${b} started before ${a} ended`);
  }
  const sorted = (ns: readonly NotificationTrace[]) => [...ns].sort((x, y) => x.index - y.index).map((x) => ({ index: x.index, failedJobs: x.failedJobs }));
  const wantN = sorted(expected.notifications);
  const gotN = sorted(actual.notifications);
  if (JSON.stringify(wantN) !== JSON.stringify(gotN)) diff("notifications", wantN, gotN);
  return out;
}

function compareAttempt(at: string, want: AttemptTrace, got: AttemptTrace, tolerance: number, diff: (f: string, w: unknown, g: unknown) => void): void {
  if (want.attempt !== got.attempt) diff(`${at}.attempt`, want.attempt, got.attempt);
  if (want.end !== got.end) diff(`${at}.end`, want.end, got.end);
  if (want.waitSeconds === null || got.waitSeconds === null) {
    if (want.waitSeconds !== got.waitSeconds) diff(`${at}.waitSeconds`, want.waitSeconds, got.waitSeconds);
  } else if (Math.abs(want.waitSeconds - got.waitSeconds) > tolerance) {
    diff(`${at}.waitSeconds`, `${want.waitSeconds} (±${tolerance})`, got.waitSeconds);
  }
  for (const [k, v] of Object.entries(want.env)) {
    if (got.env[k] !== v) diff(`${at}.env.${k}`, v, got.env[k]);
  }
  // A runner's container sees many variables of its own (PATH, HOSTNAME, ...); only the
  // reserved `KFM_` ones must all be the meaning's.
  for (const k of Object.keys(got.env)) {
    if (k.startsWith("KFM_") && !Object.hasOwn(want.env, k)) diff(`${at}.env.${k}`, undefined, got.env[k]);
  }
  if (JSON.stringify(want.command) !== JSON.stringify(got.command)) diff(`${at}.command`, want.command, got.command);
  if (JSON.stringify(want.args) !== JSON.stringify(got.args)) diff(`${at}.args`, want.args, got.args);
}
