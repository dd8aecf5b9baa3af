/**
 * What Argo Workflows (3.7, v4) cannot express faithfully. Each refusal is explained,
 * with its upstream source, in README.md ("Refusals").
 */
import { problem, type Problem } from "../../src/diagnostics.js";
import { retryWaits, type Job, type SpecPath, type Template, type Workflow } from "../../src/ir.js";
import { kubeName } from "../../src/names.js";
import { catchupCommand } from "../../src/backfill.js";
import { backoffFor } from "./emit.js";
import { argoWaits, literalTextIssue } from "./lift.js";

const TARGET = "Argo Workflows";

/** Longest Go time.Duration in whole seconds: longer waits, deadlines and timeouts overflow in the controller. */
export const MAX_SECONDS = 9223372036;

/** CronWorkflow names: the controller appends `-<unix time>` to name each run (workflow/validate/validate.go). */
const MAX_CRON_WORKFLOW_NAME = 52;

/** KFM301 for a literal that Argo would rewrite (see literalTextIssue), at `where`. */
function literalProblem(text: string, where: SpecPath): Problem | null {
  const issue = literalTextIssue(text);
  return issue === null
    ? null
    : problem(
        "KFM301",
        `${TARGET} cannot express this literal text: ${issue}, and the controller substitutes '{{...}}' in several passes with no escape (only a '{{...}}' that closes within the text and names no Argo variable reaches the container unchanged). Avoid '{{' here, or pass the text another way, for example in a file baked into the image.`,
        where,
      );
}

function checkJob(job: Job, problems: Problem[]): void {
  const at = (...keys: (string | number)[]): SpecPath => [...job.at, ...keys];
  if (job.approval !== null) {
    const t = job.approval.timeoutSeconds;
    if (t !== null && (t < 1 || t > MAX_SECONDS)) {
      problems.push(
        problem(
          "KFM301",
          `${TARGET} cannot express an approval timeout of ${t} seconds: it is the suspend template's duration, a Go duration that overflows above ${MAX_SECONDS} seconds. Use a timeout between 1s and ${MAX_SECONDS}s, or none to wait indefinitely.`,
          at("timeout"),
        ),
      );
    }
    return;
  }

  if (job.image.includes("{{")) {
    problems.push(
      problem(
        "KFM301",
        `${TARGET} cannot express an image name containing '{{': the controller substitutes '{{...}}' in every template field and has no escape. Use an image reference without '{{'.`,
        at("image"),
      ),
    );
  }

  const literals = (template: Template, where: SpecPath) => {
    for (const segment of template) {
      const p = "text" in segment ? literalProblem(segment.text, where) : null;
      if (p !== null) {
        problems.push(p);
        return;
      }
    }
  };
  job.command?.forEach((t, i) => literals(t, at("command", i)));
  job.args?.forEach((t, i) => literals(t, at("args", i)));
  for (const e of job.env) if ("value" in e) literals(e.value, at("env", e.name));

  if (job.command !== null && job.command.length === 0) {
    problems.push(
      problem(
        "KFM301",
        `${TARGET} cannot express an empty command: Kubernetes treats an empty container command as no command and runs the image entrypoint. Remove 'command' to keep the entrypoint, or name the program to run.`,
        at("command"),
      ),
    );
  }

  const retry = job.retry;
  for (const [what, value] of [
    ["delay", retry.delaySeconds],
    ["max_delay", retry.maxDelaySeconds],
  ] as const) {
    if (value !== null && value > MAX_SECONDS) {
      problems.push(
        problem(
          "KFM301",
          `${TARGET} cannot express a retry ${what} longer than ${MAX_SECONDS} seconds: the controller parses it as a Go duration, which overflows. Use a shorter ${what}.`,
          at("retry", what),
        ),
      );
    }
  }
  if (retry.maxAttempts > 1 && retry.delaySeconds <= MAX_SECONDS && (retry.maxDelaySeconds ?? 0) <= MAX_SECONDS) {
    const backoff = backoffFor(retry);
    const expected = retryWaits(retry);
    const argo = argoWaits(retry.maxAttempts - 1, retry.delaySeconds, backoff.factor, retry.maxDelaySeconds);
    if (expected.some((w, i) => w !== argo[i])) {
      const why = Number.isInteger(retry.multiplier)
        ? `a wait would exceed ${MAX_SECONDS} seconds, where the controller's Go duration overflows and is clamped. Lower max_attempts, delay or backoff_multiplier, or set max_delay`
        : `the controller reads retryStrategy.backoff.factor as an integer (util/intstr), so a multiplier of ${retry.multiplier} cannot be written. Use an integer backoff_multiplier`;
      problems.push(problem("KFM301", `${TARGET} cannot express these retry waits: ${why}.`, at("retry")));
    }
  }

  if (job.timeoutSeconds !== null && (job.timeoutSeconds < 1 || job.timeoutSeconds > MAX_SECONDS)) {
    problems.push(
      problem(
        "KFM301",
        `${TARGET} cannot express a job timeout of ${job.timeoutSeconds} seconds: a pod's activeDeadlineSeconds must be at least 1, and above ${MAX_SECONDS} the controller's Go duration overflows. Use a timeout between 1s and ${MAX_SECONDS}s.`,
        at("timeout"),
      ),
    );
  }
}

export function check(ir: Workflow): Problem[] {
  const problems: Problem[] = [];
  const schedule = ir.schedule;
  if (schedule !== null) {
    if (schedule.kind === "cron") {
      if (schedule.catchup) {
        problems.push(
          problem(
            "KFM301",
            `${TARGET} cannot express catchup: a CronWorkflow starts at most one missed slot (the latest, within startingDeadlineSeconds; workflow/cron/operator.go), never every slot since start_date. Set catchup to false and plan the missed runs with \`${catchupCommand(ir, "argo")}\`, then \`kubectl create -f\` the file it writes under argo-runs/.`,
            [...schedule.at, "catchup"],
          ),
        );
      }
      if (kubeName(ir.name).length > MAX_CRON_WORKFLOW_NAME) {
        problems.push(
          problem(
            "KFM301",
            `${TARGET} cannot express a scheduled workflow named with more than ${MAX_CRON_WORKFLOW_NAME} characters: the controller appends '-<unix time>' to name each run. Use a shorter name.`,
            [...ir.at, "name"],
          ),
        );
      }
    }
  }
  if (ir.timeoutSeconds !== null && (ir.timeoutSeconds < 1 || ir.timeoutSeconds > MAX_SECONDS)) {
    problems.push(
      problem(
        "KFM301",
        `${TARGET} cannot express a workflow timeout of ${ir.timeoutSeconds} seconds: activeDeadlineSeconds 0 stops a workflow at once, and above ${MAX_SECONDS} the controller's Go duration overflows. Use a timeout between 1s and ${MAX_SECONDS}s.`,
        [...ir.at, "timeout"],
      ),
    );
  }
  for (const job of ir.jobs) checkJob(job, problems);
  ir.notifications.forEach((n) => {
    const texts: [string, SpecPath][] = n.message.flatMap((s): [string, SpecPath][] => ("text" in s ? [[s.text, n.at]] : []));
    if (n.kind === "slack") texts.push([n.channel, [...n.at, "channel"]]);
    else texts.push([n.from, [...n.at, "from"]], ...n.recipients.map((r, i): [string, SpecPath] => [r, [...n.at, "recipients", i]]));
    for (const [text, where] of texts) {
      const p = literalProblem(text, where);
      if (p !== null) problems.push(p);
    }
  });
  return problems;
}
