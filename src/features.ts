/**
 * The features a spec can use, each with one meaning, and which of them a workflow
 * uses. Every target says, as data in its `features.ts`, how it realises each one;
 * `kfm-compile explain` and the support matrix in docs/ are printed from that data,
 * and a test holds it to what `check` really refuses.
 */
import { dstConflicts, parseCron } from "./cron.js";
import type { Workflow } from "./ir.js";

export const FEATURES = {
  dependencies: "A job starts only after every job in its `depends_on` succeeded.",
  "failure.stop-downstream": "When a job fails for good, its downstream jobs do not run, independent jobs still finish, and the run ends failed.",
  "failure.continue":
    "A job with `on_upstream_failure: continue` runs once every job it depends on has finished, whatever their outcome; a run in which any job failed still ends failed.",
  "gate.prerequisite": "A job with `prerequisite: true` blocks every job not upstream of it until it succeeds.",
  "gate.approval":
    "An approval gate pauses the run until a person decides; approval starts the jobs downstream, a rejection or no decision within its timeout fails the gate (downstream does not run, the run ends failed).",
  "dependency.workflow": "Before any job starts, the run of each workflow in `dependencies` for the same logical date must have succeeded.",
  "notify.failure":
    "Each `notifications.on_failure` entry is sent once when a run ends failed, with credentials from secrets: the same text on every runner (the message, the workflow, the logical date, the failed jobs by name, a link to the run), within a bounded time.",
  "retry.attempts": "`max_attempts` is the total number of attempts, the first included.",
  "retry.constant-wait": "Every retry waits `delay`, measured from the end of the failed attempt, with no jitter.",
  "retry.exponential": "Retry k waits `delay * backoff_multiplier^(k-1)`, with no jitter.",
  "retry.max-delay": "No retry waits longer than `max_delay`.",
  "timeout.attempt": "A job's `timeout` bounds each attempt; the waits between attempts do not count.",
  "timeout.run": "A workflow's `timeout` bounds the whole run.",
  "timeout.none": "Without a timeout nothing is bounded: no runner default applies.",
  "schedule.cron": "Runs start at the cron's slots, read in the schedule's time zone (UTC when none is named).",
  "schedule.window": "No run is scheduled for a slot before `start_date` or after `end_date`.",
  "schedule.catchup": "`catchup: true` runs every slot missed since `start_date`.",
  "schedule.daylight-saving":
    "A slot in a daylight-saving change: a cron firing every hour runs on elapsed time (no run for a missing hour, two for a repeated one); another fires each slot once, a missing one an hour late (its wall time read with the offset before the gap), a repeated one at its second occurrence.",
  "schedule.event": "Runs start when an outside event happens (contract 7.1 event trigger).",
  "runtime.logical-date": "`ds`, `ts` and `execution_date` render the run's logical date, in UTC, the same on every runner.",
  "runtime.prev-next": "`prev_execution_date` and `next_execution_date` are the logical date minus and plus the schedule's period.",
  "env.standard":
    "Every job gets KFM_WORKFLOW, KFM_JOB, KFM_LOGICAL_DATE, KFM_ATTEMPT (1-based) and KFM_RUN_TOKEN (from workflow, logical date and params) with the same values on every runner.",
  "env.secret": "An env value given as `{secret, key}` is read from that secret when the job starts; it never appears in the output.",
  "concurrency.queue":
    "With `max_active_runs: N`, at most N runs are active; a run due while N are active waits for one to end (none is dropped or cancelled).",
  "text.literal": "Text that is not a template variable reaches the job byte for byte.",
  resources: "`cpu` and `memory` are the container's request and limit.",
  "command.entrypoint": "Without `command` the image's own entrypoint runs.",
} as const;

export type FeatureId = keyof typeof FEATURES;
export const FEATURE_IDS = Object.keys(FEATURES) as FeatureId[];

/**
 * How a target realises a feature: with its own fields; by a documented emulation;
 * within limits beyond which `check` refuses (`conditional`); with a documented
 * difference that remains (`differs`, each one tracked in the target's README); or
 * not at all (`check` always refuses it).
 */
export interface Realisation {
  readonly support: "native" | "emulated" | "conditional" | "differs" | "refused";
  /** One sentence: the fields or emulation used, or why it is refused and what to do. */
  readonly how: string;
}

export type FeatureTable = Readonly<Record<FeatureId, Realisation>>;

/** The features a workflow relies on, in catalogue order. */
export function usedFeatures(ir: Workflow): FeatureId[] {
  const used = new Set<FeatureId>(["failure.stop-downstream", "retry.attempts", "env.standard", "text.literal"]);
  const s = ir.schedule;
  if (s?.kind === "event") used.add("schedule.event");
  if (s?.kind === "cron") {
    used.add("schedule.cron");
    if (s.start !== null || s.end !== null) used.add("schedule.window");
    if (s.catchup) used.add("schedule.catchup");
    const cron = parseCron(s.cron);
    if (typeof cron !== "string") {
      const { gap, fold } = dstConflicts(cron, s.timezone, s);
      if (gap !== null || fold !== null) used.add("schedule.daylight-saving");
    }
  }
  if (ir.timeoutSeconds !== null) used.add("timeout.run");
  if (ir.maxActiveRuns !== null) used.add("concurrency.queue");
  if (ir.upstream.length > 0) used.add("dependency.workflow");
  if (ir.notifications.length > 0) used.add("notify.failure");
  for (const j of ir.jobs) {
    if (j.dependsOn.length > 0) used.add("dependencies");
    if (j.runWhen === "all_done") used.add("failure.continue");
    if (j.prerequisite) used.add("gate.prerequisite");
    if (j.approval !== null) used.add("gate.approval");
    if (j.env.some((e) => "secretRef" in e)) used.add("env.secret");
    if (j.retry.maxAttempts > 1) used.add(j.retry.multiplier === 1 ? "retry.constant-wait" : "retry.exponential");
    if (j.retry.maxAttempts > 1 && j.retry.multiplier !== 1 && j.retry.maxDelaySeconds !== null) used.add("retry.max-delay");
    if (j.timeoutSeconds !== null) used.add("timeout.attempt");
    if (j.timeoutSeconds === null || ir.timeoutSeconds === null) used.add("timeout.none");
    if (j.resources.cpu !== null || j.resources.memory !== null) used.add("resources");
    if (j.command === null) used.add("command.entrypoint");
    const templates = [...(j.command ?? []), ...(j.args ?? []), ...j.env.flatMap((e) => ("value" in e ? [e.value] : []))];
    for (const t of templates) {
      for (const seg of t) {
        if ("variable" in seg)
          used.add(seg.variable === "prev_execution_date" || seg.variable === "next_execution_date" ? "runtime.prev-next" : "runtime.logical-date");
      }
    }
  }
  return FEATURE_IDS.filter((f) => used.has(f));
}
