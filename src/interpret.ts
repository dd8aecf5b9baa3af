/**
 * The reference interpreter (issue 14): what a run of a workflow does when its jobs and
 * gates behave as a scenario says. It is the README's "Meanings that hold on every target"
 * and "Meanings at a real cluster's edges" written as code, on a virtual clock: every
 * attempt that succeeds or fails takes no time, so the only time that passes is retry
 * waits, attempt timeouts, gate timeouts, the pod-start bound and the run's timeout. The
 * execution suite (test/execution/) compares what each runner's own engine does with the
 * trace this returns; a harness with a fake clock can also compare with the timeline.
 *
 * What is decided here and stated in README "Meanings that hold on every target":
 *
 * - **Run timeout** (bullet "Timeouts"): at `timeoutSeconds` after the run started, the
 *   run ends failed. An attempt still running (or whose pod has not started) is stopped:
 *   it ends `timed-out` (`did-not-start`) and its job ends failed; a job waiting for its
 *   next attempt ends failed without it; a gate still waiting for a decision fails; no job
 *   or gate starts at or after that moment (they end `not-run`). A job whose attempt ends
 *   exactly at the deadline ended by itself; one that would start exactly then does not.
 * - **A run that never ends** is not a trace: an attempt that `hang`s with neither a job
 *   timeout nor a run timeout, or a gate without a timeout that gets no decision in a run
 *   without a timeout, waits for ever on every runner. `interpret` throws `NeverEnds` for
 *   such a scenario; the suite's scenarios avoid it.
 * - **An attempt that cannot start** (`no-start`, README "Meanings at a real cluster's
 *   edges", first bullet) ends `did-not-start` at the latest `POD_START_SECONDS` after it
 *   began, or at the job's timeout when that is sooner (the timeout bounds the whole
 *   attempt, its start included), counts as an attempt and is retried like a failure.
 *   Runners may end it sooner (Tekton fails a missing Secret at once): the meaning is the
 *   bound, so the timeline's end is the latest allowed.
 * - Other workflows named in `dependencies` (contract 8.2) are taken to have succeeded:
 *   a scenario says nothing about them.
 */
import type { AttemptEnd, AttemptTrace, JobState, JobTrace, NotificationTrace, Outcome, Scenario, Trace } from "./execution.js";
import { retryWait, type Job, type Template, type Workflow } from "./ir.js";
import { POD_START_SECONDS } from "./limits.js";
import { renderTemplate, type RunContext } from "./runtime.js";

/** Thrown for a scenario in which the run never ends (see the module comment). */
export class NeverEnds extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NeverEnds";
  }
}

/** One attempt on the virtual clock: seconds from the run's start. */
export interface TimedAttempt {
  readonly job: string;
  readonly attempt: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly end: AttemptEnd;
}

/** When each job and gate started and ended (null: it never started), and how the run ended. */
export interface Timeline {
  readonly attempts: readonly TimedAttempt[];
  /** Gates: when the decision was asked for and when the gate ended. */
  readonly gates: Readonly<Record<string, { readonly startedAt: number; readonly endedAt: number } | null>>;
  /** When the run ended: its last job's end, or its timeout. */
  readonly runEndedAt: number;
  /** Whether the run's timeout ended it. */
  readonly timedOut: boolean;
}

/** The expected trace of one run of `ir` in `scenario`. */
export function interpret(ir: Workflow, scenario: Scenario): Trace {
  return interpretTimed(ir, scenario).trace;
}

/** The expected trace with its timeline. */
export function interpretTimed(ir: Workflow, scenario: Scenario): { trace: Trace; timeline: Timeline } {
  checkScenario(ir, scenario);
  const logicalMs = parseLogicalDate(scenario.logicalDate);
  const periodSeconds = ir.schedule?.kind === "cron" ? ir.schedule.periodSeconds : null;
  const deadline = ir.timeoutSeconds ?? Infinity;
  const byName = new Map(ir.jobs.map((j) => [j.name, j]));
  // Per job: its final state and when it was over (what its dependants wait for).
  const done = new Map<string, { state: JobState; at: number }>();
  const jobs: Record<string, JobTrace> = {};
  const timed: TimedAttempt[] = [];
  const gates: Record<string, { startedAt: number; endedAt: number } | null> = {};
  let timedOut = false;
  let lastEnd = 0;

  for (const job of topological(ir.jobs, byName)) {
    const deps = job.dependsOn.map((d) => done.get(d)!);
    const ready = Math.max(0, ...deps.map((d) => d.at));
    // README "Dependencies": a job starts after all of `depends_on` succeeded; with
    // `on_upstream_failure: continue` (`all_done`) once they have finished, whatever
    // their outcome (a dependency that never ran has finished too: Argo's
    // `finishedTerm` counts Skipped and Omitted, Airflow's all_done counts skipped).
    const runs = job.runWhen === "all_done" || deps.every((d) => d.state === "succeeded");
    if (!runs) {
      done.set(job.name, { state: "not-run", at: ready });
      jobs[job.name] = { state: "not-run", attempts: [] };
      if (job.approval !== null) gates[job.name] = null;
      continue;
    }
    if (ready >= deadline) {
      // README "Timeouts": nothing starts once the run's timeout has passed.
      timedOut = true;
      done.set(job.name, { state: "not-run", at: ready });
      jobs[job.name] = { state: "not-run", attempts: [] };
      if (job.approval !== null) gates[job.name] = null;
      continue;
    }
    if (job.approval !== null) {
      const r = runGate(job, scenario, ready, deadline);
      timedOut ||= r.timedOut;
      gates[job.name] = { startedAt: ready, endedAt: r.at };
      done.set(job.name, { state: r.state, at: r.at });
      jobs[job.name] = { state: r.state, attempts: [] };
      lastEnd = Math.max(lastEnd, r.at);
      continue;
    }
    const r = runJob(ir, job, scenario, ready, deadline, { logicalMs, periodSeconds, runTokenSeed: ir.runTokenSeed });
    timedOut ||= r.timedOut;
    timed.push(...r.timed);
    done.set(job.name, { state: r.state, at: r.at });
    jobs[job.name] = { state: r.state, attempts: r.attempts };
    lastEnd = Math.max(lastEnd, r.at);
  }

  const failed = ir.jobs.filter((j) => jobs[j.name]!.state === "failed").map((j) => j.name);
  // README "Dependencies" / "Timeouts": a run in which any job failed ends failed, and so
  // does a run its timeout stopped.
  const run = timedOut || failed.length > 0 ? "failed" : "succeeded";
  // README "Meanings at a real cluster's edges", failure notifications: each entry is sent
  // once, after every job, when the run failed, naming the jobs (and gates) that failed for
  // good in byte order.
  const failedJobs = [...failed].sort(byteOrder);
  const notifications: NotificationTrace[] = run === "failed" ? ir.notifications.map((_, index) => ({ index, failedJobs })) : [];
  const trace: Trace = { run, jobs, order: orderFacts(ir, jobs, byName), notifications };
  const runEndedAt = timedOut ? deadline : lastEnd;
  return { trace, timeline: { attempts: timed, gates, runEndedAt, timedOut } };
}

/** A gate: approve succeeds at once, reject fails at once, no decision fails at its timeout (README "approval"). */
function runGate(job: Job, scenario: Scenario, ready: number, deadline: number): { state: JobState; at: number; timedOut: boolean } {
  const decision = scenario.gates?.[job.name] ?? "approve";
  if (decision === "approve") return { state: "succeeded", at: ready, timedOut: false };
  if (decision === "reject") return { state: "failed", at: ready, timedOut: false };
  const limit = job.approval!.timeoutSeconds;
  const end = limit === null ? Infinity : ready + limit;
  if (end > deadline) return { state: "failed", at: deadline, timedOut: true };
  if (end === Infinity) {
    throw new NeverEnds(`The gate \`${job.name}\` has no timeout and gets no decision in a run without a timeout: the run never ends.`);
  }
  return { state: "failed", at: end, timedOut: false };
}

interface JobRun {
  state: JobState;
  at: number;
  attempts: AttemptTrace[];
  timed: TimedAttempt[];
  timedOut: boolean;
}

/**
 * A job's attempts. README "Retries": `max_attempts` counts every attempt; the wait before
 * attempt k+1 is `retryWait(retry, k)`, from the end of attempt k. README "Timeouts": a
 * job's timeout bounds one attempt, which then counts as failed and is retried.
 */
function runJob(ir: Workflow, job: Job, scenario: Scenario, ready: number, deadline: number, ctx: Omit<RunContext, "attempt">): JobRun {
  const outcomes = scenario.attempts?.[job.name] ?? [];
  const attempts: AttemptTrace[] = [];
  const timed: TimedAttempt[] = [];
  let start = ready;
  let previousEnd: number | null = null;
  for (let k = 1; k <= job.retry.maxAttempts; k++) {
    if (start >= deadline) {
      // The wait before this attempt reached the run's timeout: the job ends failed without it.
      return { state: "failed", at: deadline, attempts, timed, timedOut: true };
    }
    const outcome: Outcome = outcomes[k - 1] ?? "succeed";
    const { end, at } = attemptEnd(job, outcome, start);
    const run: RunContext = { ...ctx, attempt: k };
    const trace = (how: AttemptEnd, endedAt: number): AttemptTrace => {
      timed.push({ job: job.name, attempt: k, startedAt: start, endedAt, end: how });
      return {
        attempt: k,
        end: how,
        waitSeconds: previousEnd === null ? null : start - previousEnd,
        env: renderEnv(job, run),
        command: job.command === null ? null : job.command.map((t) => render(t, run)),
        args: (job.args ?? []).map((t) => render(t, run)),
      };
    };
    if (at > deadline) {
      // Stopped by the run's timeout (README "Timeouts"): a pod that never started stays not started.
      attempts.push(trace(outcome === "no-start" ? "did-not-start" : "timed-out", deadline));
      return { state: "failed", at: deadline, attempts, timed, timedOut: true };
    }
    if (at === Infinity) {
      throw new NeverEnds(
        `Attempt ${k} of \`${job.name}\` never ends (${outcome}) and neither the job nor the workflow (\`${ir.name}\`) has a timeout: the run never ends.`,
      );
    }
    attempts.push(trace(end, at));
    if (end === "succeeded") return { state: "succeeded", at, attempts, timed, timedOut: false };
    previousEnd = at;
    if (k === job.retry.maxAttempts) return { state: "failed", at, attempts, timed, timedOut: false };
    start = at + retryWait(job.retry, k);
  }
  throw new Error("unreachable: a job has at least one attempt");
}

/** How and when one attempt ends on its own (before the run's timeout is applied). */
function attemptEnd(job: Job, outcome: Outcome, start: number): { end: AttemptEnd; at: number } {
  const timeout = job.timeoutSeconds ?? Infinity;
  if (outcome === "succeed") return { end: "succeeded", at: start };
  if (outcome === "hang") return { end: "timed-out", at: start + timeout };
  // README "Meanings at a real cluster's edges": at the latest POD_START_SECONDS after it began.
  if (outcome === "no-start") return { end: "did-not-start", at: start + Math.min(POD_START_SECONDS, timeout) };
  return { end: "failed", at: start };
}

/** README "Job environment": the user's variables rendered, then the standard `KFM_*` ones; secrets are never in a trace. */
function renderEnv(job: Job, run: RunContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of job.env) if ("value" in v) env[v.name] = render(v.value, run);
  return env;
}

function render(t: Template, run: RunContext): string {
  return renderTemplate(t, run);
}

/**
 * The order the meaning requires: `after` started only once `before` had ended, for every
 * job `after` that ran and every job `before` it depends on, directly or through other jobs
 * and gates, that ran too. Gates have no attempts, so a runner's timestamps cannot place
 * them: an edge through a gate gives the fact between the jobs on either side.
 */
function orderFacts(ir: Workflow, jobs: Record<string, JobTrace>, byName: Map<string, Job>): [string, string][] {
  const ran = (n: string) => jobs[n]!.attempts.length > 0;
  const facts: [string, string][] = [];
  for (const job of ir.jobs) {
    if (!ran(job.name)) continue;
    const seen = new Set<string>();
    const stack = [...job.dependsOn];
    while (stack.length > 0) {
      const d = stack.pop()!;
      if (seen.has(d)) continue;
      seen.add(d);
      stack.push(...byName.get(d)!.dependsOn);
    }
    for (const other of ir.jobs) if (seen.has(other.name) && ran(other.name)) facts.push([other.name, job.name]);
  }
  return facts;
}

/** Jobs in an order where every job comes after its dependencies (spec order among equals). */
function topological(all: readonly Job[], byName: Map<string, Job>): Job[] {
  const out: Job[] = [];
  const placed = new Set<string>();
  const visit = (j: Job): void => {
    if (placed.has(j.name)) return;
    placed.add(j.name);
    for (const d of j.dependsOn) visit(byName.get(d)!);
    out.push(j);
  };
  for (const j of all) visit(j);
  return out;
}

/** `ts` form, `YYYY-MM-DDTHH:MM:SS+00:00` (src/execution.ts `Scenario.logicalDate`). */
export function parseLogicalDate(text: string): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/.test(text)) {
    throw new Error(`A scenario's logical date is written as ts renders it (YYYY-MM-DDTHH:MM:SS+00:00), not ${JSON.stringify(text)}.`);
  }
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`A scenario's logical date ${JSON.stringify(text)} is not a real date.`);
  return ms;
}

/** A scenario names only jobs and gates of the workflow, and outcomes of the right kind. */
export function checkScenario(ir: Workflow, scenario: Scenario): void {
  const byName = new Map(ir.jobs.map((j) => [j.name, j]));
  for (const [name, outcomes] of Object.entries(scenario.attempts ?? {})) {
    const job = byName.get(name);
    if (job === undefined || job.approval !== null) {
      throw new Error(`Scenario ${scenario.name}: \`${name}\` is not a job of ${ir.name}.`);
    }
    if (outcomes.length > job.retry.maxAttempts) {
      throw new Error(`Scenario ${scenario.name}: \`${name}\` has ${job.retry.maxAttempts} attempts, not ${outcomes.length}.`);
    }
    for (const o of outcomes) {
      if (!/^(succeed|hang|no-start|fail:([1-9]\d?|1\d\d|2[0-4]\d|25[0-5]))$/.test(o)) {
        throw new Error(`Scenario ${scenario.name}: \`${o}\` is not an outcome (succeed, fail:<1-255>, hang, no-start).`);
      }
    }
  }
  for (const [name, decision] of Object.entries(scenario.gates ?? {})) {
    if (byName.get(name)?.approval == null) throw new Error(`Scenario ${scenario.name}: \`${name}\` is not a gate of ${ir.name}.`);
    if (!["approve", "reject", "none"].includes(decision)) throw new Error(`Scenario ${scenario.name}: \`${decision}\` is not a decision.`);
  }
}

/** Byte order of UTF-8 (the order the notification script's `sort` gives under LC_ALL=C). */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
