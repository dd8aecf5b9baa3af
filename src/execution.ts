/**
 * The vocabulary of the execution suite (issue 14): a scenario says what each attempt
 * of each job does and what each gate's reviewer decides; a trace says what a run did.
 * The reference interpreter (`src/interpret.ts`) turns a workflow and a scenario into
 * the expected trace; each runner's engine, driven by a harness under
 * `conformance/execution/`, reports what it observed (`Observed`), which
 * `traceOf(observed)` turns into the same shape so the two compare field by field.
 *
 * Every name here is the spec's name of a job or gate (the harness maps the runner's
 * task, node or job names back; `KFM_JOB` carries the spec name into every attempt).
 */

/**
 * What one attempt of a job does: exits 0; exits with this code (1-255); never ends on
 * its own (a timeout of the attempt or of the run stops it); or its pod never starts
 * (no node takes it: the meaning at a cluster's edge, `POD_START_SECONDS`).
 */
export type Outcome = "succeed" | `fail:${number}` | "hang" | "no-start";

/** What a gate's reviewer does: approve, reject, or never decide. */
export type Decision = "approve" | "reject" | "none";

export interface Scenario {
  /** Kebab-case, unique within its spec; used in reports (`spec / scenario / target / field`). */
  readonly name: string;
  readonly description: string;
  /** The run's logical date as `ts` renders it (`YYYY-MM-DDTHH:MM:SS+00:00`). */
  readonly logicalDate: string;
  /** Per job: the outcome of attempts 1, 2, …; an attempt past the list, and every attempt of a job not named, succeeds. */
  readonly attempts?: Readonly<Record<string, readonly Outcome[]>>;
  /** Per gate: the decision; a gate not named is approved. */
  readonly gates?: Readonly<Record<string, Decision>>;
}

/** A job's (or gate's) final state in a run: it ended succeeded or failed, or it never started. */
export type JobState = "succeeded" | "failed" | "not-run";

/** How one attempt ended: by itself (exit 0 or not), stopped by a timeout, or its pod never started. */
export type AttemptEnd = "succeeded" | "failed" | "timed-out" | "did-not-start";

export interface AttemptTrace {
  /** 1-based; what the attempt's `KFM_ATTEMPT` said. */
  readonly attempt: number;
  readonly end: AttemptEnd;
  /** Seconds between the end of the previous attempt and the start of this one; null for the first. */
  readonly waitSeconds: number | null;
  /** Every environment variable the attempt saw that is not a secret (standard `KFM_*` ones included), rendered. */
  readonly env: Readonly<Record<string, string>>;
  /** The rendered entrypoint override, or null when the image's own is kept. */
  readonly command: readonly string[] | null;
  readonly args: readonly string[];
}

export interface JobTrace {
  readonly state: JobState;
  /** Attempts in order; empty for a gate and for a job that never started. */
  readonly attempts: readonly AttemptTrace[];
}

export interface NotificationTrace {
  /** Index into the workflow's `notifications`. */
  readonly index: number;
  /** The jobs the notification names as failed, sorted. */
  readonly failedJobs: readonly string[];
}

export interface Trace {
  readonly run: "succeeded" | "failed";
  /** Every job and gate of the workflow, by spec name. */
  readonly jobs: Readonly<Record<string, JobTrace>>;
  /**
   * Order facts `[before, after]`: `after` started only once `before` had ended. The
   * reference lists the ones the meaning requires (every dependency edge between two
   * jobs that both ran); a runner's trace lists every pair its timestamps show.
   */
  readonly order: readonly (readonly [string, string])[];
  /** Each notification sent, once per send. */
  readonly notifications: readonly NotificationTrace[];
}

/** One attempt as a harness saw it: times in seconds from the run's start, on the engine's clock (real or fake). */
export interface ObservedAttempt {
  readonly job: string;
  readonly attempt: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly end: AttemptEnd;
  readonly env: Readonly<Record<string, string>>;
  readonly command: readonly string[] | null;
  readonly args: readonly string[];
}

/** What a harness writes (as JSON) after driving one scenario through a runner's engine. */
export interface Observed {
  /** The engine and its version, for reports: `airflow 3.3.2 dag.test`, `argo v4.0.7 operator`, … */
  readonly engine: string;
  readonly run: "succeeded" | "failed";
  /** The runner's own final state of every job and gate, mapped to spec names. */
  readonly jobs: Readonly<Record<string, JobState>>;
  readonly attempts: readonly ObservedAttempt[];
  readonly notifications: readonly NotificationTrace[];
}
