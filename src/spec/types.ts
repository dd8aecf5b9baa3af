/**
 * The spec format: the Workflow Orchestration Contract's `job:` and `workflow:`
 * documents (contract sections 3 and 4), plus a few snake_case extensions marked
 * "Extension" below. `schemas/workflow.schema.json` is generated from this file
 * (`npm run docs`); edit the comments here, never the schema.
 */

/**
 * A duration: one or more `<integer><unit>` parts, largest unit first, units
 * `d`, `h`, `m`, `s`. Examples: `30s`, `5m`, `1h30m`, `2d`.
 * @pattern ^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$
 */
export type Duration = string;

/**
 * A string that is a Jinja template (contract 3.3). The known variables are
 * `execution_date`, `ds`, `ts`, `prev_execution_date`, `next_execution_date`
 * and `params.<key>`; any other variable is an error. Write a literal `{{` as
 * `{{ '{{' }}` or inside `{% raw %}...{% endraw %}`.
 */
export type TemplateString = string;

/** A spec file: exactly one of `workflow:` or `job:` at the top level. */
export type SpecFile = WorkflowDocument | JobDocument;

/** A file holding one workflow (contract 4.1). */
export interface WorkflowDocument {
  workflow: WorkflowSpec;
}

/** A file holding a single job (contract 3.1). It compiles as a workflow of that one job, run manually. */
export interface JobDocument {
  job: JobSpec;
}

/** A workflow: jobs, their dependencies and an optional schedule (contract 4.1). */
export interface WorkflowSpec {
  /**
   * Unique workflow identifier: lower-case letters, digits, `_` and `-`, starting
   * with a letter. Targets that need DNS names see `_` as `-`.
   * @pattern ^[a-z]([a-z0-9_-]*[a-z0-9])?$
   * @maxLength 52
   */
  name: string;
  /** Human-readable description. */
  description?: string;
  /** When the workflow runs. Without a schedule it runs only when triggered by hand. */
  schedule?: Schedule;
  /**
   * Extension: the longest a whole run may take, every attempt and wait of every
   * job included. Without it a run has no time limit on any target.
   */
  timeout?: Duration;
  /**
   * Extension: at most this many runs of the workflow at once. A run that is due while
   * the limit is reached waits until a running one ends (runs queue; none is dropped
   * or cancelled). Without it runs are not limited. At most 2147483647: Airflow keeps it
   * in a 32-bit column.
   * @minimum 1
   * @maximum 2147483647
   * @TJS-type integer
   */
  max_active_runs?: number;
  /**
   * The jobs of the workflow (contract 4.1), and any approval gates.
   * @minItems 1
   */
  jobs: (WorkflowJob | WorkflowApproval)[];
  /**
   * Other workflows this one waits for (contract 8.2): before any job starts, the run
   * of each for the same logical date must have succeeded.
   */
  dependencies?: WorkflowDependency[];
  /** Who hears about a failed run (contract 9.2). */
  notifications?: Notifications;
}

/** A dependency on another workflow's run for the same logical date (contract 8.2). */
export interface WorkflowDependency {
  /**
   * The other workflow's name.
   * @pattern ^[a-z]([a-z0-9_-]*[a-z0-9])?$
   */
  workflow: string;
  /**
   * Whether to wait until that run has completed successfully. Only `true` (the
   * default) is supported: nothing else has one meaning on every runner.
   */
  wait_for_completion?: boolean;
  /** Extension: how long to wait before the run fails. Without it the wait is unbounded. */
  timeout?: Duration;
}

/** Notifications of a failed run (contract 9.2). */
export interface Notifications {
  /** Sent once when a run ends failed, after every job has finished. */
  on_failure: (EmailNotification | SlackNotification)[];
}

/** An email to the recipients through an SMTP server whose URL is in a secret. */
export interface EmailNotification {
  type: "email";
  /**
   * One plain address each (`name@example.com`): no display name, comma, space or line
   * break, which would add mail headers or recipients (`KFM245`).
   * @minItems 1
   */
  recipients: string[];
  /** Extension: the sender address, one plain address like each recipient (`KFM245`). */
  from: string;
  /** Extension: a secret holding the SMTP URL with its credentials, such as `smtps://user:password@smtp.example.com:465`. */
  smtp: SecretRef;
}

/** A Slack message posted to an incoming webhook whose URL is in a secret. */
export interface SlackNotification {
  type: "slack";
  /** The channel, for example `#data-alerts` (the webhook decides where it posts; this names it in the message). */
  channel: string;
  /** Extension: a secret holding the incoming-webhook URL. */
  webhook: SecretRef;
}

/**
 * Extension (seed 000 promotion gates): a manual approval. The run waits at the gate
 * until a person approves it; then the jobs that depend on it start. A rejection, or
 * no decision within `timeout`, fails the gate: jobs downstream of it do not run,
 * independent jobs finish, and the run ends failed.
 */
export interface WorkflowApproval {
  approval: ApprovalSpec;
  /** Names of jobs that must succeed before the approval is asked for. */
  depends_on?: string[];
  /** As for jobs: every job not upstream of this gate waits for it. */
  prerequisite?: boolean;
}

/** A manual approval gate. */
export interface ApprovalSpec {
  /**
   * Unique among the workflow's jobs and gates.
   * @pattern ^[a-z]([a-z0-9_-]*[a-z0-9])?$
   * @maxLength 63
   */
  name: string;
  /** What the approver is asked to check. */
  description?: string;
  /** How long to wait for a decision; no decision by then counts as a rejection. Without it the gate waits indefinitely. */
  timeout?: Duration;
}

/** One entry of `workflow.jobs`: a job and the jobs it waits for (contract 8.1). */
export interface WorkflowJob {
  /**
   * The job specification, or (contract 12.2, repository layout) the path of a file
   * holding one `job:` document, relative to this workflow file, for example
   * `jobs/extract_sales.yaml`. The path must stay inside the project root (the folder
   * of `kfm.config.yaml`, or the current folder without one): no absolute paths, no
   * `..` leading out of it, no symbolic link pointing out of it. Problems in the job
   * are reported in the job file; the header digest covers every file read.
   */
  job: JobSpec | string;
  /** Names of jobs in this workflow that must succeed before this job starts. */
  depends_on?: string[];
  /**
   * Extension (contract 9.2, "stop downstream jobs (default) or continue"): what this job
   * does when a job it depends on failed. `stop` (default): it does not run. `continue`:
   * it runs once every job it depends on has finished, whatever their outcome. Either
   * way a run in which any job failed ends failed.
   */
  on_upstream_failure?: "stop" | "continue";
  /**
   * Extension (seed 002, contract prerequisites): every job of the workflow that is not
   * upstream of this one waits for it to succeed, so a failed check blocks everything
   * downstream.
   */
  prerequisite?: boolean;
}

/** A containerised job (contract 3.1). */
export interface JobSpec {
  /**
   * Unique job identifier within the workflow: lower-case letters, digits, `_` and
   * `-`, starting with a letter.
   * @pattern ^[a-z]([a-z0-9_-]*[a-z0-9])?$
   * @maxLength 63
   */
  name: string;
  /** Human-readable description. */
  description?: string;
  /**
   * Container image to run, for example `lakehouse/ingest:1.2.0`: a reference as
   * container runtimes read it, `[registry[:port]/]name[:tag][@digest]`, the name in
   * lower case (`KFM223` otherwise). It may use `{{ params.<key> }}`, not the run's date.
   * @minLength 1
   */
  image: string;
  /**
   * Overrides the image entrypoint. Without it the image's own entrypoint runs, on
   * every target. An empty list is refused: Kubernetes reads it as "no override".
   * @minItems 1
   */
  command?: TemplateString[];
  /** Arguments passed to the command (or to the image entrypoint). */
  args?: TemplateString[];
  /**
   * Job parameters, available to templates as `{{ params.<key> }}`. A value may itself use
   * the runtime variables (for example `"{{ ds }}"`). A value that looks like a credential
   * is refused (`KFM221`); one that only looks like one is written as a
   * [NotASecret](#notasecret). When the job's templates (image, command, args, env)
   * use parameters, one that none of them uses is a warning (`KFM224`), naming a near
   * name they use that the job does not declare.
   */
  params?: { [key: string]: TemplateString | number | boolean | NotASecret };
  /**
   * Environment variables of the job's container. Names follow POSIX: letters,
   * digits and `_`, not starting with a digit. A value is text, or a reference to a
   * secret (contract 11.3: never a literal credential). A literal that looks like a
   * credential (a known token format anywhere, a random-looking value under a name
   * such as `*_PASSWORD`, `*_TOKEN`, `*_SECRET`, `*_KEY`, or any literal under a name
   * ending in `PASSWORD`, `TOKEN`, `SECRET`, `API_KEY`, `PRIVATE_KEY`...) is refused
   * (`KFM221`); a value that only looks like one is written as a [NotASecret](#notasecret).
   */
  env?: { [name: string]: TemplateString | number | boolean | SecretRef | NotASecret };
  /** Resources the container requests (contract 3.1). */
  resources?: Resources;
  /** Retry policy (contract 9.1). Without it a job runs once. */
  retry?: RetryPolicy;
  /**
   * Extension: the longest one attempt may take. A timed-out attempt counts as a
   * failure and is retried like any other. Without it an attempt has no time limit.
   */
  timeout?: Duration;
}

/**
 * Extension: an environment value read from a secret when the job starts. On
 * Kubernetes targets it is the key of a Secret in the run's namespace; on GitHub
 * Actions it is the repository or organisation secret named
 * `<SECRET>_<KEY>` (upper case, every other character `_`).
 */
export interface SecretRef {
  /**
   * The Kubernetes Secret's name (a DNS subdomain).
   * @pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
   * @maxLength 253
   */
  secret: string;
  /**
   * The key inside the Secret.
   * @pattern ^[-._a-zA-Z0-9]+$
   * @maxLength 253
   */
  key: string;
}

/**
 * Extension: a literal env value or param that the credential check would refuse, marked
 * as not a credential, for example `CACHE_KEY: {value: "3f9a1c0b7d2e4f6a8b9c", not_a_secret: true}`.
 * It means exactly what the bare `value` means; the mark is per value, so every other
 * value is still checked. Mark only values that are safe to publish: they are written
 * into every generated file.
 */
export interface NotASecret {
  /** The value, as it would be written without the mark. */
  value: TemplateString | number | boolean;
  /** Must be `true`: the author states this value is not a credential. */
  not_a_secret: true;
}

/** Resource requests, as Kubernetes quantities. */
export interface Resources {
  /** CPU request, a Kubernetes quantity such as `500m` or `2`. */
  cpu?: string | number;
  /** Memory request, a Kubernetes quantity such as `512Mi` or `2Gi`. */
  memory?: string;
}

/** How a failed job is tried again (contract 9.1). */
export interface RetryPolicy {
  /**
   * Total number of attempts, the first one included: `1` means no retry.
   * @minimum 1
   * @maximum 100
   * @TJS-type integer
   */
  max_attempts: number;
  /** Wait before the first retry, measured from the end of the failed attempt. Default `0s`. */
  delay?: Duration;
  /** When true, each wait is the previous one times `backoff_multiplier`. Default false. */
  exponential_backoff?: boolean;
  /**
   * Factor between consecutive waits when `exponential_backoff` is true. Default 2.
   * @minimum 1
   * @maximum 100
   */
  backoff_multiplier?: number;
  /** Extension: no wait is longer than this. Only meaningful with `exponential_backoff`. */
  max_delay?: Duration;
}

/** When the workflow runs: a cron expression, an interval, or an event (contract 7.1). */
export type Schedule = CronSchedule | IntervalSchedule | EventSchedule;

/** A cron schedule (contract 4.1, 7.1). */
export interface CronSchedule {
  /** A five-field cron expression (minute hour day-of-month month day-of-week), or `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`. */
  cron: string;
  /** IANA time zone the cron expression is read in. Default `UTC`. */
  timezone?: string;
  /** First day (`YYYY-MM-DD`, midnight in `timezone`) or instant (ISO 8601 with offset) a run may be scheduled for. */
  start_date?: string;
  /** Last day (`YYYY-MM-DD`, inclusive, in `timezone`) or instant a run may be scheduled for. */
  end_date?: string;
  /** Extension: whether slots missed since `start_date` are run. Default false. */
  catchup?: boolean;
}

/** An interval schedule (contract 7.1); allowed only where it equals a cron grid. */
export interface IntervalSchedule {
  /** How often to run: a duration that divides an hour (`5m`, `15m`, `1h`) or a day (`2h`, `1d`). */
  interval: Duration;
  /** IANA time zone the grid is aligned to. Default `UTC`. */
  timezone?: string;
  /** First day or instant a run may be scheduled for. */
  start_date?: string;
  /** Last day (inclusive) or instant a run may be scheduled for. */
  end_date?: string;
  /** Extension: whether slots missed since `start_date` are run. Default false. */
  catchup?: boolean;
}

/** An event trigger (contract 7.1, optional there). */
export interface EventSchedule {
  /** The kind of event: `s3_file_arrival` (a new object under `source`), the one kfm-compile knows. */
  trigger: string;
  /** Where the event comes from: `s3://<bucket>/<key prefix>`; required for `s3_file_arrival`. */
  source?: string;
}
