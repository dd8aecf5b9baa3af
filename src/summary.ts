/**
 * The target-neutral meaning of a compiled workflow. `summarize(ir)` says what the
 * spec means; each backend's `lift` reads its own output back into the same shape
 * (and the conformance suite has each runner's own code do it), and the tests
 * require all of them to be equal. Only meaning goes in here, never a target's way
 * of expressing it.
 */
import { retryWaits, type SecretRef, type Template, type Workflow } from "./ir.js";
import { cpuCores, quantityBytes } from "./values.js";

export interface Summary {
  /** Spec name of the workflow. */
  readonly workflow: string;
  readonly schedule: ScheduleSummary | null;
  readonly timeoutSeconds: number | null;
  readonly maxActiveRuns: number | null;
  /** The constant the run token is computed from (`Workflow.runTokenSeed`). */
  readonly runTokenSeed: string;
  readonly upstream: readonly { readonly workflow: string; readonly timeoutSeconds: number | null }[];
  /** Sorted as in the spec. */
  readonly notifications: readonly NotificationSummary[];
  /** Keyed by spec job name, keys sorted. */
  readonly jobs: Readonly<Record<string, JobSummary>>;
}

export type ScheduleSummary =
  | {
      readonly kind: "cron";
      readonly cron: string;
      readonly timezone: string;
      readonly start: string | null;
      readonly end: string | null;
      readonly catchup: boolean;
    }
  | { readonly kind: "event"; readonly trigger: string; readonly source: string | null };

export type NotificationSummary =
  | { readonly kind: "email"; readonly message: Template; readonly recipients: readonly string[]; readonly from: string; readonly smtp: SecretRef }
  | { readonly kind: "slack"; readonly message: Template; readonly channel: string; readonly webhook: SecretRef };

export interface JobSummary {
  /** A manual approval gate (no container), or null for a job. */
  readonly approval: { readonly timeoutSeconds: number | null } | null;
  /** Spec names of the jobs that must succeed first, sorted. */
  readonly after: readonly string[];
  readonly image: string;
  readonly command: readonly Template[] | null;
  readonly args: readonly Template[] | null;
  /** `all_succeeded` or `all_done` (`Job.runWhen`). */
  readonly runWhen: string;
  /**
   * Whether a run in which this job fails ends failed, whatever runs after it (a
   * target that lets a later job's success hide the failure must emulate this).
   */
  readonly failureFailsRun: boolean;
  /** Sorted by name. */
  readonly env: Readonly<Record<string, Template | SecretRef>>;
  /** Cores as a decimal (`0.5`), the same however the spec spelt it (`500m`). */
  readonly cpu: string | null;
  /** Bytes, as a decimal integer. */
  readonly memory: string | null;
  readonly attempts: number;
  /** Wait in seconds before attempts 2, 3, ... */
  readonly waitsSeconds: readonly number[];
  readonly timeoutSeconds: number | null;
}

/** The meaning of the IR, in the shape every lifter produces. */
export function summarize(ir: Workflow): Summary {
  const jobs: Record<string, JobSummary> = {};
  for (const job of [...ir.jobs].sort((a, b) => compareStrings(a.name, b.name))) {
    jobs[job.name] = {
      approval: job.approval,
      after: [...job.dependsOn].sort(compareStrings),
      image: job.image,
      command: job.command,
      args: job.args,
      runWhen: job.runWhen,
      failureFailsRun: true,
      env: sortedRecord(job.env.map((e): [string, Template | SecretRef] => [e.name, "value" in e ? e.value : e.secretRef])),
      cpu: cpuMeaning(job.resources.cpu),
      memory: memoryMeaning(job.resources.memory),
      attempts: job.retry.maxAttempts,
      waitsSeconds: retryWaits(job.retry),
      timeoutSeconds: job.timeoutSeconds,
    };
  }
  const s = ir.schedule;
  return {
    workflow: ir.name,
    schedule:
      s === null
        ? null
        : s.kind === "cron"
          ? { kind: "cron", cron: s.cron, timezone: s.timezone, start: s.start, end: s.end, catchup: s.catchup }
          : { kind: "event", trigger: s.trigger, source: s.source },
    timeoutSeconds: ir.timeoutSeconds,
    maxActiveRuns: ir.maxActiveRuns,
    runTokenSeed: ir.runTokenSeed,
    upstream: ir.upstream.map((u) => ({ workflow: u.workflow, timeoutSeconds: u.timeoutSeconds })),
    notifications: ir.notifications.map((n): NotificationSummary =>
      n.kind === "email"
        ? { kind: "email", message: n.message, recipients: n.recipients, from: n.from, smtp: n.smtp }
        : { kind: "slack", message: n.message, channel: n.channel, webhook: n.webhook },
    ),
    jobs,
  };
}

/** A CPU quantity's meaning for the summary; lifters pass the runner's value through here. */
export function cpuMeaning(quantity: string | null): string | null {
  if (quantity === null) return null;
  const cores = cpuCores(quantity);
  if (cores === null) throw new Error(`not a CPU quantity: ${quantity}`);
  return cores;
}

/** A memory quantity's meaning for the summary: bytes. */
export function memoryMeaning(quantity: string | null): string | null {
  if (quantity === null) return null;
  const bytes = quantityBytes(quantity);
  if (bytes === null) throw new Error(`not a memory quantity: ${quantity}`);
  return bytes.toString();
}

/** Code-unit order, the same on every machine and locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedRecord<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of [...entries].sort((a, b) => compareStrings(a[0], b[0]))) out[k] = v;
  return out;
}
