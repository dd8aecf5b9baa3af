/**
 * Failure notifications, the same on every target (README "Meanings at a real cluster's
 * edges"; contract 9.2). This module is the one source of
 *
 * - the text a notification carries (`LAYOUT`): the run's message, then the workflow, the
 *   logical date, the failed jobs by spec name and where to find the run;
 * - the fixed script every target runs to send it (`NOTIFY_SCRIPT`: POSIX `sh`, so the same
 *   text runs in the curl image's busybox on Airflow, Argo and Tekton and in bash on a
 *   GitHub runner), with curl bounded in time;
 * - the environment the script reads (`NOTIFY_ENV`) and the runner-side bound of the step,
 *   task or handler that runs it (`NOTIFY_TASK_SECONDS`).
 *
 * A target only supplies, as env values, what it learns at run time: which jobs failed
 * (`failed`: spec job names separated by white space, in any order, repeats allowed) and
 * the run (`run`: a link, or the run's name when no link base is configured).
 * `notificationText` is the same layout in TypeScript, which the tests compare each
 * target's sent text with.
 */
import type { Notification, SecretRef, Template } from "./ir.js";
import type { NotificationSummary } from "./summary.js";
import { NOTIFY_SECONDS, POD_START_SECONDS } from "./limits.js";

/** The environment variables the notification script reads, on every target. */
export const NOTIFY_ENV = {
  /** `slack` or `email`. */
  kind: "KFM_NOTIFY_KIND",
  /** The run's message (the IR's `message`, rendered): the first line, and an email's subject. */
  message: "KFM_NOTIFY_MESSAGE",
  /** The workflow's spec name. */
  workflow: "KFM_NOTIFY_WORKFLOW",
  /** The run's logical date, as `ts` (`YYYY-MM-DDTHH:MM:SS+00:00`). */
  logicalDate: "KFM_NOTIFY_LOGICAL_DATE",
  /** The failed jobs' spec names, separated by white space (the target computes it at run time). */
  failed: "KFM_NOTIFY_FAILED",
  /** A link to the run, or its name (the target computes it at run time). */
  run: "KFM_NOTIFY_RUN",
  /** The webhook or SMTP URL, from the spec's secret. Never on a command line. */
  secretUrl: "KFM_NOTIFY_SECRET_URL",
  /** Slack: the channel the spec names. */
  channel: "KFM_NOTIFY_CHANNEL",
  /** Email: the sender address. */
  from: "KFM_NOTIFY_FROM",
  /** Email: the recipient addresses, separated by spaces (an address holds none, KFM245). */
  to: "KFM_NOTIFY_TO",
} as const;

/** The line that stands for "no job failed" (the run failed outside its jobs: its timeout, a bad logical date, an upstream workflow). */
export const NO_FAILED_JOB = "none";

/**
 * Seconds curl may take to connect (TCP and TLS handshake) before it gives up; the whole
 * transfer is bounded by NOTIFY_SECONDS (src/limits.ts).
 */
export const NOTIFY_CONNECT_SECONDS = 15;

/**
 * The runner-side bound of the step, task or exit handler that sends one notification:
 * its pod must start within POD_START_SECONDS, then curl takes at most NOTIFY_SECONDS. A
 * notification that cannot be sent in this time fails, and the run ends as it would have.
 */
export const NOTIFY_TASK_SECONDS = POD_START_SECONDS + NOTIFY_SECONDS;

/** What the text is built from (the values of NOTIFY_ENV at run time). */
export interface NotificationParts {
  readonly message: string;
  readonly workflow: string;
  readonly logicalDate: string;
  /** Failed jobs by spec name, any order, repeats allowed. */
  readonly failed: readonly string[];
  readonly run: string;
  /** Slack: the channel, named on the first line. */
  readonly channel?: string;
}

/**
 * The text layout: one line per entry, `label: value`, the first line unlabelled. Each
 * `shell` is the script's expression for the value (`first` is the first line, which is
 * the message, with the Slack channel added; `failed` the sorted, comma-separated list).
 */
const LAYOUT: readonly { readonly label: string | null; readonly shell: string; readonly value: (p: Required<Text>) => string }[] = [
  { label: null, shell: "$1", value: (p) => p.first },
  { label: "Workflow", shell: `$${NOTIFY_ENV.workflow}`, value: (p) => p.workflow },
  { label: "Logical date", shell: `$${NOTIFY_ENV.logicalDate}`, value: (p) => p.logicalDate },
  { label: "Failed jobs", shell: "$failed", value: (p) => p.failed },
  { label: "Run", shell: `$${NOTIFY_ENV.run}`, value: (p) => p.run },
];

interface Text {
  first: string;
  workflow: string;
  logicalDate: string;
  failed: string;
  run: string;
}

/** The failed jobs as the text lists them: unique, in byte order (`LC_ALL=C sort -u`), comma-separated; `none` for none. */
export function failedList(failed: readonly string[]): string {
  const names = [...new Set(failed.flatMap((f) => f.split(/\s+/)).filter((f) => f !== ""))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names.length === 0 ? NO_FAILED_JOB : names.join(", ");
}

/** The lines of a notification (Slack: the message text; email: the body, and its first line the subject). */
export function notificationText(parts: NotificationParts): string[] {
  const text: Text = {
    first: parts.channel === undefined ? parts.message : `${parts.message} (${parts.channel})`,
    workflow: parts.workflow,
    logicalDate: parts.logicalDate,
    failed: failedList(parts.failed),
    run: parts.run,
  };
  return LAYOUT.map((l) => (l.label === null ? "" : `${l.label}: `) + l.value(text));
}

/** The script's `text` function: prints the layout, its first line given as `$1`. */
const TEXT_FUNCTION = `text() {\n  printf '%s\\n' ${LAYOUT.map((l) => `"${l.label === null ? "" : `${l.label}: `}${l.shell}"`).join(" ")}\n}`;

const E = NOTIFY_ENV;

/** curl's options on every target: quiet but for errors, and bounded in time. */
const CURL = `curl --silent --show-error --connect-timeout ${NOTIFY_CONNECT_SECONDS} --max-time ${NOTIFY_SECONDS} --config /dev/fd/3`;

/**
 * The fixed script that sends one notification. Every input is an env value (NOTIFY_ENV),
 * never script text. Each must be set and hold no line break, so no input can add a mail
 * header; addresses are plain (KFM245) and separated by spaces. The secret URL reaches curl
 * in a config on file descriptor 3 (a here-document), never on its command line. Slack: a
 * JSON `{"text": ...}` POSTed to the webhook (`--fail-with-body`: an HTTP error fails the
 * step and shows Slack's answer). Email: From, To, Subject, Date and a plain-text body with
 * CRLF line ends (RFC 5322 2.1), one `--mail-rcpt` per recipient. curl connects within
 * NOTIFY_CONNECT_SECONDS and ends within NOTIFY_SECONDS; its failure fails the step.
 */
export const NOTIFY_SCRIPT = `set -eu
set -f
die() {
  echo "kfm-notify: $*" >&2
  exit 1
}
cr=$(printf '\\r')
nl=$(printf '\\nx')
nl=\${nl%x}
need() {
  eval "[ \\"\\\${$1+set}\\" = set ]" || die "$1 is not set"
  eval "v=\\$$1"
  case $v in *"$cr"* | *"$nl"*) die "$1 holds a line break" ;; esac
}
for v in ${E.kind} ${E.message} ${E.workflow} ${E.logicalDate} ${E.failed} ${E.run} ${E.secretUrl}; do need "$v"; done
[ -n "$${E.secretUrl}" ] || die "${E.secretUrl} is empty: the secret holding the webhook or SMTP URL is not set"
url=$(printf '%s' "$${E.secretUrl}" | sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g')
failed=$(for j in $${E.failed}; do printf '%s\\n' "$j"; done | LC_ALL=C sort -u | awk 'NR > 1 { printf ", " } { printf "%s", $0 }')
[ -n "$failed" ] || failed=${NO_FAILED_JOB}
${TEXT_FUNCTION}
case $${E.kind} in
slack)
  need ${E.channel}
  body=$(text "$${E.message} ($${E.channel})" | sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g' | awk 'NR > 1 { printf "\\\\n" } { printf "%s", $0 }')
  printf '{"text": "%s"}' "$body" | ${CURL} --fail-with-body --header 'Content-Type: application/json' --data-binary @- 3<<EOF
url = "$url"
EOF
  echo
  ;;
email)
  need ${E.from}
  need ${E.to}
  set --
  to=
  for r in $${E.to}; do
    set -- "$@" --mail-rcpt "$r"
    to="\${to:+$to, }$r"
  done
  [ $# -gt 0 ] || die "${E.to} names no recipient"
  date=$(LC_ALL=C date -R)
  {
    printf '%s\\n' "From: $${E.from}" "To: $to" "Subject: $${E.message}" "Date: $date" "MIME-Version: 1.0" "Content-Type: text/plain; charset=utf-8" ""
    text "$${E.message}"
  } | awk '{ printf "%s\\r\\n", $0 }' | ${CURL} --mail-from "$${E.from}" "$@" --upload-file - 3<<EOF
url = "$url"
EOF
  ;;
*)
  die "unknown notification kind '$${E.kind}'"
  ;;
esac
echo "kfm-notify: sent the $${E.kind} notification of $${E.workflow} for $${E.logicalDate} (failed jobs: $failed)"
`;

/** The script's first lines: stop at the first error or unset variable, no globbing. */
const SCRIPT_HEAD = "set -eu\nset -f\n";

/**
 * The script with a target's prelude after its first lines: the prelude turns what the
 * runner passes in `KFM_NOTIFY_FAILED` into the failed jobs' names, in the same shell,
 * before the fixed part reads it.
 */
export function notifyScript(prelude: string | null): string {
  if (prelude === null) return NOTIFY_SCRIPT;
  if (!NOTIFY_SCRIPT.startsWith(SCRIPT_HEAD)) throw new Error("the notification script lost its first lines");
  return SCRIPT_HEAD + (prelude.endsWith("\n") ? prelude : prelude + "\n") + NOTIFY_SCRIPT.slice(SCRIPT_HEAD.length);
}

/** One env value of a notification: a value in the target's text, or the spec's secret. */
export type NotifyValue<T> = { readonly name: string; readonly value: T } | { readonly name: string; readonly secret: SecretRef };

/**
 * The inputs of one notification, in the order every target writes them: kind, message,
 * workflow, logical date, Slack's channel or the email's sender and recipients, the failed
 * jobs and the run (the target's run-time values), then the secret URL. `render` turns a
 * template (message, logical date) into the target's text; `literal` escapes plain text.
 */
export function notifyInputs<T>(
  n: Notification,
  workflow: string,
  render: (t: Template) => T,
  literal: (text: string) => T,
  failed: T,
  run: T,
): NotifyValue<T>[] {
  const secret = n.kind === "slack" ? n.webhook : n.smtp;
  return [
    { name: E.kind, value: literal(n.kind) },
    { name: E.message, value: render(n.message) },
    { name: E.workflow, value: literal(workflow) },
    { name: E.logicalDate, value: render(LOGICAL_DATE) },
    ...(n.kind === "slack"
      ? [{ name: E.channel, value: literal(n.channel) }]
      : [
          { name: E.from, value: literal(n.from) },
          { name: E.to, value: literal(n.recipients.join(" ")) },
        ]),
    { name: E.failed, value: failed },
    { name: E.run, value: run },
    { name: E.secretUrl, secret: { secret: secret.secret, key: secret.key } },
  ];
}

/** The logical date as a template: `ts`. */
const LOGICAL_DATE: Template = [{ variable: "ts" }];

/** How a lifter reads its target's env values back. */
export interface NotifyReader<T> {
  /** A value as a template (runtime values included). */
  readonly template: (value: T, what: string) => Template;
  /** A value as literal text (no runtime value). */
  readonly literal: (value: T, what: string) => string;
  /** Whether these are the failed-jobs and run values the target writes. */
  readonly failed: (value: T) => boolean;
  readonly run: (value: T) => boolean;
  readonly fail: (message: string) => never;
}

/**
 * Reads one notification back from its env values (the lifters' side of `notifyInputs`):
 * the names in order, each fixed value as written, the spec's fields as data.
 */
export function readNotifyInputs<T>(entries: readonly NotifyValue<T>[], workflow: string, r: NotifyReader<T>): NotificationSummary {
  const kindEntry = entries[0];
  const kind = kindEntry !== undefined && "value" in kindEntry && kindEntry.name === E.kind ? r.literal(kindEntry.value, E.kind) : null;
  if (kind !== "slack" && kind !== "email") return r.fail(`the first notification input is not ${E.kind} (slack or email)`);
  const names = kind === "slack" ? [E.channel] : [E.from, E.to];
  const expected = [E.kind, E.message, E.workflow, E.logicalDate, ...names, E.failed, E.run, E.secretUrl];
  if (JSON.stringify(entries.map((e) => e.name)) !== JSON.stringify(expected)) r.fail(`the notification inputs are not ${expected.join(", ")}`);
  const value = (i: number): T => {
    const e = entries[i]!;
    return "value" in e ? e.value : r.fail(`${e.name} is not a value`);
  };
  const last = entries[entries.length - 1]!;
  const secret = "secret" in last ? last.secret : r.fail(`${E.secretUrl} is not from a secret`);
  if (r.literal(value(2), E.workflow) !== workflow) r.fail(`${E.workflow} is not ${workflow}`);
  if (JSON.stringify(r.template(value(3), E.logicalDate)) !== JSON.stringify(LOGICAL_DATE)) r.fail(`${E.logicalDate} is not the logical date`);
  if (!r.failed(value(entries.length - 3))) r.fail(`${E.failed} is not how this target lists the failed jobs`);
  if (!r.run(value(entries.length - 2))) r.fail(`${E.run} is not how this target names the run`);
  const message = r.template(value(1), E.message);
  if (kind === "slack") return { kind, message, channel: r.literal(value(4), E.channel), webhook: secret };
  const to = r.literal(value(5), E.to);
  const recipients = to === "" ? [] : to.split(" ");
  if (recipients.length === 0) r.fail(`${E.to} names no recipient`);
  return { kind, message, recipients, from: r.literal(value(4), E.from), smtp: secret };
}
