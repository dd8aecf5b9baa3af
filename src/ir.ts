/**
 * The intermediate representation every backend compiles from. It is the spec with
 * every default written out, every duration in seconds, every template parsed and
 * every `params.<key>` reference resolved, so backends decide nothing about meaning:
 * they only choose how their runner expresses it.
 */

/** Runtime variables a template may use after `params.<key>` references are resolved (contract 3.3). */
export const RUNTIME_VARIABLES = ["execution_date", "ds", "ts", "prev_execution_date", "next_execution_date"] as const;
export type RuntimeVariable = (typeof RUNTIME_VARIABLES)[number];

/**
 * Values only the standard environment uses (spec templates cannot name them):
 * `attempt`, the 1-based number of the current attempt of the job in this run, and
 * `run_token`, the run token (`Workflow.runTokenSeed`).
 */
export const STANDARD_VARIABLES = ["attempt", "run_token"] as const;
export type StandardVariable = (typeof STANDARD_VARIABLES)[number];

/**
 * A part of a rendered string: literal text, or a runtime value of the run. Formats
 * follow Airflow and always render in UTC: `ds` is `YYYY-MM-DD`; `ts`,
 * `execution_date`, `prev_execution_date` and `next_execution_date` are
 * `YYYY-MM-DDTHH:MM:SS+00:00`; `attempt` is a decimal number from 1; `run_token` is
 * 32 lower-case hex digits.
 */
export type Segment = { readonly text: string } | { readonly variable: RuntimeVariable | StandardVariable };

/** A string whose value is known only when a run starts; adjacent text segments are merged, and no text segment is empty. */
export type Template = readonly Segment[];

/** A location in the spec document, as keys and indexes from its root; diagnostics resolve it to line and column. */
export type SpecPath = readonly (string | number)[];

export interface Workflow {
  /** Where the workflow (or the lone job) is in the spec. */
  readonly at: SpecPath;
  /** The spec name, unchanged; targets map it through `src/names.ts`. */
  readonly name: string;
  readonly description: string | null;
  readonly schedule: Schedule | null;
  /** Bound on a whole run in seconds; null means none, on every target. */
  readonly timeoutSeconds: number | null;
  /** At most this many runs at once, later ones queueing; null means no limit. */
  readonly maxActiveRuns: number | null;
  /**
   * The run token of a run is the first 32 hex digits of
   * sha256(runTokenSeed + ts), with `ts` the logical date as rendered above: the same
   * for every re-run of a logical date on every runner (seed 002, "Idempotency and
   * Run Tokens"). The seed names the token scheme, the workflow, and a digest of
   * every job's parameters.
   */
  readonly runTokenSeed: string;
  /** Jobs in spec order; `dependsOn` only names jobs of this list, and the graph has no cycle. */
  readonly jobs: readonly Job[];
  /** Workflows whose run for the same logical date must have succeeded before any job starts (contract 8.2). */
  readonly upstream: readonly UpstreamWorkflow[];
  /** Sent once when a run ends failed (contract 9.2). */
  readonly notifications: readonly Notification[];
  /** Where the workflow came from, for the generated-file header. */
  readonly source: SourceInfo;
}

export interface SourceInfo {
  /** Path of the spec as given on the command line, with `/` separators. */
  readonly path: string;
  /** `sha256:` digest of the spec file's bytes (and of every file it references). */
  readonly digest: string;
}

export interface Job {
  /** Where the job mapping is in the spec. */
  readonly at: SpecPath;
  readonly name: string;
  readonly description: string | null;
  readonly image: string;
  /** Entrypoint override; null keeps the image's entrypoint on every target. */
  readonly command: readonly Template[] | null;
  /** Arguments; null passes none. */
  readonly args: readonly Template[] | null;
  /** The user's variables in spec order, then the standard ones (`STANDARD_ENV`). */
  readonly env: readonly EnvVar[];
  readonly resources: Resources;
  readonly retry: Retry;
  /** Bound on one attempt in seconds; null means none. */
  readonly timeoutSeconds: number | null;
  /**
   * Names of the jobs that must finish first, in spec order, without repeats
   * (prerequisites the spec declares are already added here).
   */
  readonly dependsOn: readonly string[];
  /**
   * `all_succeeded`: the job runs only when every job in `dependsOn` succeeded, and is
   * skipped otherwise. `all_done`: it runs once every one of them has finished, in
   * any state. In both cases a run in which any job failed ends failed.
   */
  readonly runWhen: "all_succeeded" | "all_done";
  /** Whether the spec marked it a prerequisite (its edges are already in `dependsOn`; kept for `explain`). */
  readonly prerequisite: boolean;
  /**
   * Set when this is a manual approval gate rather than a container: the run waits
   * for a person's decision; a rejection or no decision within `timeoutSeconds` (null:
   * no limit) fails the gate. A gate has an empty image, no command, args, env or
   * resources, one attempt and no timeout of its own.
   */
  readonly approval: { readonly timeoutSeconds: number | null } | null;
}

export interface UpstreamWorkflow {
  readonly at: SpecPath;
  /** The other workflow's spec name. */
  readonly workflow: string;
  /** How long to wait; null means no limit. */
  readonly timeoutSeconds: number | null;
}

/**
 * A failure notification. `message` is the same text on every runner (the subject
 * of an email, the text of a Slack message): it names the workflow and the run's
 * logical date.
 */
export type Notification =
  | {
      readonly kind: "email";
      readonly at: SpecPath;
      readonly message: Template;
      readonly recipients: readonly string[];
      readonly from: string;
      readonly smtp: SecretRef;
    }
  | { readonly kind: "slack"; readonly at: SpecPath; readonly message: Template; readonly channel: string; readonly webhook: SecretRef };

/** A secret's key (contract 11.3), resolved by the runner when the job starts. */
export interface SecretRef {
  readonly secret: string;
  readonly key: string;
}

/** An environment variable: a template, or a secret reference (exactly one of the two). */
export type EnvVar = { readonly name: string; readonly value: Template } | { readonly name: string; readonly secretRef: SecretRef };

/**
 * What the container is given. Each value is both the Kubernetes request and the
 * limit (the job gets exactly this much), and the `docker run` limit on GitHub
 * Actions. Quantities are kept as the user wrote them after validation.
 */
export interface Resources {
  readonly cpu: string | null;
  readonly memory: string | null;
}

export interface Retry {
  /** Total attempts, the first included; 1 means no retry. */
  readonly maxAttempts: number;
  /** Wait before the first retry, seconds. */
  readonly delaySeconds: number;
  /** Factor between consecutive waits; 1 means constant waits. */
  readonly multiplier: number;
  /** Upper bound on any single wait, seconds; null means none. */
  readonly maxDelaySeconds: number | null;
}

export type Schedule = CronSchedule | EventSchedule;

export interface CronSchedule {
  readonly kind: "cron";
  readonly at: SpecPath;
  /** Five fields, macros expanded, whitespace normalised (`src/cron.ts`). */
  readonly cron: string;
  /** IANA zone; `UTC` when the spec names none. */
  readonly timezone: string;
  /** First instant a slot may fire, as `YYYY-MM-DDTHH:MM:SS` local to `timezone`, or null for no bound. */
  readonly start: string | null;
  /** Last instant a slot may fire (inclusive), same form, or null for no bound. */
  readonly end: string | null;
  readonly catchup: boolean;
  /**
   * Seconds between any two consecutive slots when that is constant in every season
   * (an hourly cron anywhere, a daily cron in a zone without DST); null otherwise.
   * `prev_execution_date` and `next_execution_date` need it.
   */
  readonly periodSeconds: number | null;
  /** Whether the spec wrote `interval:` (it was turned into this cron). */
  readonly fromInterval: boolean;
}

/** The event triggers the compiler knows (README "Meanings", "Event triggers"). */
export const EVENT_TRIGGERS = ["s3_file_arrival"] as const;

/**
 * A run starts when an object is created under `source` (contract 7.1, `s3_file_arrival`);
 * its logical date is the event's time (the S3 event record's `eventTime`).
 */
export interface EventSchedule {
  readonly kind: "event";
  readonly at: SpecPath;
  readonly trigger: string;
  readonly source: string;
  /** The bucket and key prefix of `source` (`s3://<bucket>/<prefix>`); the prefix may be empty. */
  readonly bucket: string;
  readonly prefix: string;
}

/**
 * The variables every job receives on every target, with the same values for the
 * same run, so job code can log and key its output the same way wherever it runs.
 */
export const STANDARD_ENV = ["KFM_WORKFLOW", "KFM_JOB", "KFM_LOGICAL_DATE", "KFM_ATTEMPT", "KFM_RUN_TOKEN"] as const;

/** The wait in seconds before attempt `attempt + 1`, for `attempt` >= 1 (semantics: Retries). */
export function retryWait(retry: Retry, attempt: number): number {
  const raw = retry.delaySeconds * Math.pow(retry.multiplier, attempt - 1);
  return retry.maxDelaySeconds === null ? raw : Math.min(raw, retry.maxDelaySeconds);
}

/** Every wait of a job, before attempts 2..maxAttempts. */
export function retryWaits(retry: Retry): number[] {
  const waits: number[] = [];
  for (let k = 1; k < retry.maxAttempts; k++) waits.push(retryWait(retry, k));
  return waits;
}
