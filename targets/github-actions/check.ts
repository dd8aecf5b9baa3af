/**
 * What a GitHub Actions workflow cannot express faithfully. Each refusal is KFM301
 * with the feature named and what the user can do; README.md lists them with the
 * upstream behaviour behind each.
 */
import { catchupCommand } from "../../src/backfill.js";
import { problem, warning, type Problem } from "../../src/diagnostics.js";
import { retryWaits, type Template, type Workflow } from "../../src/ir.js";
import { parseCron } from "../../src/cron.js";
import { githubSecretName } from "../../src/names.js";
import { githubUtcSchedule, jobSecretNames, SECRET_SLOTS } from "./emit.js";
import { quantityBytes } from "../../src/values.js";

const TARGET = "GitHub Actions";

/** GitHub's shortest schedule interval (docs: "once every 5 minutes"; actionlint rule_events.go checkCron). */
export const MIN_SCHEDULE_MINUTES = 5;

/** dockerd refuses a memory limit below 6 MiB (moby daemon/daemon_unix.go, linuxMinMemory). */
export const DOCKER_MIN_MEMORY_BYTES = 6291456n;

/** Docker keeps memory limits in an int64. */
const DOCKER_MAX_MEMORY_BYTES = 2n ** 63n - 1n;

/**
 * Variables a secret cannot be passed as: the run script hands a secret to docker by
 * name (`docker run --env NAME`, read from the docker client's own environment,
 * docker/cli opts/env.go ValidateEnv), so a name the docker client, the dynamic loader
 * or bash itself reads would change how the container is started, or cannot be set.
 */
export const SECRET_NAMES_REFUSED = /^(PATH|HOME|DOCKER_[A-Za-z0-9_]*|LD_[A-Za-z0-9_]*|BASHOPTS|BASH_VERSINFO|EUID|PPID|SHELLOPTS|UID)$/;

/** Text no process environment or argument can carry (NUL), or that is not Unicode (a lone surrogate). */
const UNPASSABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function check(ir: Workflow): Problem[] {
  const problems: Problem[] = [];
  const s = ir.schedule;
  if (s !== null && s.kind === "cron") {
    if (s.catchup) {
      problems.push(
        problem(
          "KFM301",
          `${TARGET} cannot express catchup: GitHub never starts runs for slots it missed (a late or dropped schedule event is gone). Set \`catchup: false\` and plan the missed dispatches with \`${catchupCommand(ir, "github-actions")}\`, then run the \`gh workflow run\` lines of the .sh file it writes under github-actions-runs/.`,
          [...s.at, "catchup"],
        ),
      );
    }
    const gap = shortestGapMinutes(s.cron);
    const utc = typeof gap === "string" || gap < MIN_SCHEDULE_MINUTES ? null : githubUtcSchedule(s);
    const utcGap = utc === null ? Infinity : shortestUtcGapMinutes(utc.map((e) => e.cron));
    if (utcGap < MIN_SCHEDULE_MINUTES) {
      // A daylight-saving schedule written in Etc/UTC (emit.ts githubUtcSchedule): its entries for two offsets may come closer than its slots.
      problems.push(
        problem(
          "KFM301",
          `${TARGET} cannot express the schedule \`${s.cron}\` in ${s.timezone}: written in Etc/UTC for its daylight-saving slots (one cron per UTC offset of the zone: ${utc!.map((e) => `\`${e.cron}\``).join(", ")}), two of its entries fire ${utcGap} minute${utcGap === 1 ? "" : "s"} apart, and GitHub starts scheduled workflows at most once every ${MIN_SCHEDULE_MINUTES} minutes. Move the slots so that none is within ${MIN_SCHEDULE_MINUTES} minutes of another one an hour away, or compile for the other targets.`,
          s.at,
        ),
      );
    }
    if (typeof gap === "string") {
      problems.push(problem("KFM301", `${TARGET} cannot express the schedule \`${s.cron}\`: ${gap}`, s.at));
    } else if (gap < MIN_SCHEDULE_MINUTES) {
      problems.push(
        problem(
          "KFM301",
          `${TARGET} cannot express the schedule \`${s.cron}\`: two of its slots are ${gap} minute${gap === 1 ? "" : "s"} apart, and GitHub starts scheduled workflows at most once every ${MIN_SCHEDULE_MINUTES} minutes, so some slots would never run. Use a schedule whose slots are at least ${MIN_SCHEDULE_MINUTES} minutes apart.`,
          s.at,
        ),
      );
    }
  }
  if (ir.maxActiveRuns !== null && ir.maxActiveRuns > 1) {
    problems.push(
      problem(
        "KFM301",
        `${TARGET} cannot express max_active_runs: ${ir.maxActiveRuns} (at most ${ir.maxActiveRuns} runs at once, a due run waits for any of them to end): a concurrency group runs at most one job or workflow at a time (github/docs "Control the concurrency of workflows and jobs"), and expressions have no arithmetic to spread runs over ${ir.maxActiveRuns} groups, which would not wait for ANY run to end anyway. Use max_active_runs: 1 (runs queue in one group), or compile for Airflow or Argo.`,
        [...ir.at, "max_active_runs"],
      ),
    );
  }
  if (ir.maxActiveRuns === 1) problems.push(...queueLength(ir));
  for (const u of ir.upstream) {
    problems.push(
      problem(
        "KFM301",
        `${TARGET} cannot wait for another workflow's run (\`${u.workflow}\`) for the same logical date: a workflow can be started when another completes (\`workflow_run\`) but not made to wait for one, and nothing GitHub records on a scheduled run names its logical date (\`run-name\` may use only the github, inputs and vars contexts, and a scheduled run's github context holds the cron entry, not the slot this target computes inside the run), so the downstream cannot tell which upstream run is the one for its date. Compile for Airflow or Argo, or start this workflow from the upstream's last job with \`gh workflow run\` and its logical_date.`,
        u.at,
      ),
    );
  }
  for (const job of ir.jobs) {
    if (job.approval === null) continue;
    if (job.approval.timeoutSeconds !== null) {
      problems.push(
        problem(
          "KFM301",
          `${TARGET} cannot give an approval a timeout: the gate is a job on a protected environment, which waits for a reviewer until GitHub fails it after 30 days; nothing can fail it earlier without failing the whole run, and a wait timer delays the job instead of ending the wait. Remove the timeout (the gate then waits up to GitHub's 30 days), or compile for Airflow, Argo or Tekton.`,
          [...job.at, "timeout"],
        ),
      );
    }
    if (ir.timeoutSeconds !== null) {
      problems.push(
        problem(
          "KFM301",
          `${TARGET} cannot end a run waiting at the approval \`${job.name}\` when the workflow's timeout passes: a job waiting for a reviewer keeps the run open until a decision (or GitHub's 30 days). Remove the workflow timeout for this target, or compile for Airflow, Argo or Tekton.`,
          job.at,
        ),
      );
    }
  }
  const secretNames = new Map<string, string>();
  const secretProblems = (secret: string, key: string, at: readonly (string | number)[]): void => {
    const name = githubSecretName(secret, key);
    const ref = `${secret}/${key}`;
    const other = secretNames.get(name);
    if (other !== undefined && other !== ref) {
      problems.push(
        problem(
          "KFM301",
          `${TARGET} cannot tell the secrets ${other} and ${ref} apart: both are read from the GitHub secret ${name} (<secret>_<key> in upper case, other characters as _). Rename one of the secrets or keys.`,
          [...at],
        ),
      );
    }
    secretNames.set(name, ref);
    if (/^[0-9]/.test(name) || name.startsWith("GITHUB_")) {
      problems.push(
        problem(
          "KFM301",
          `${TARGET} cannot read the secret ${ref}: it would be the GitHub secret ${name}, and GitHub secret names may not start with a digit or GITHUB_. Rename the secret.`,
          [...at],
        ),
      );
    }
  };
  for (const n of ir.notifications) {
    const secret = n.kind === "email" ? n.smtp : n.webhook;
    secretProblems(secret.secret, secret.key, [...n.at, n.kind === "email" ? "smtp" : "webhook"]);
    const fields: Array<[string, string]> =
      n.kind === "email" ? [["from", n.from], ...n.recipients.map((r, i): [string, string] => [`recipients.${i}`, r])] : [["channel", n.channel]];
    fields.push(["message", templateText(n.message)]);
    for (const [field, text] of fields) {
      if (/[\r\n]/.test(text) || UNPASSABLE.test(text)) {
        problems.push(
          problem(
            "KFM301",
            `${TARGET} cannot put a line break, a NUL or a lone surrogate in a notification's ${field.replace(/\..*/, "")}: it goes into one header or JSON line sent by curl. Remove the character.`,
            field.startsWith("recipients.") ? [...n.at, "recipients", Number(field.slice(11))] : field === "message" ? n.at : [...n.at, field],
          ),
        );
      }
    }
  }
  for (const job of ir.jobs) {
    const secrets = jobSecretNames(job);
    if (secrets.length > SECRET_SLOTS) {
      problems.push(
        problem(
          "KFM301",
          `${TARGET} passes at most ${SECRET_SLOTS} secrets to a job (the secret slots of the shared kfm-job.yml, which is written once for every workflow of the folder); this job reads ${secrets.length}. Put some of the values in one secret, or split the job.`,
          [...job.at, "env"],
        ),
      );
    }
    for (const e of job.env) {
      if ("secretRef" in e) {
        const at = [...job.at, "env", e.name];
        secretProblems(e.secretRef.secret, e.secretRef.key, at);
        if (SECRET_NAMES_REFUSED.test(e.name)) {
          problems.push(
            problem(
              "KFM301",
              `${TARGET} cannot pass a secret as the variable ${e.name}: the job's docker client reads secrets from its own environment by name, and ${e.name} would change how docker, the loader or the shell run. Give the variable another name.`,
              at,
            ),
          );
        }
      } else if (e.value.some((seg) => "variable" in seg && seg.variable === "attempt") && !(e.value.length === 1)) {
        problems.push(
          problem(
            "KFM301",
            `${TARGET} can only pass the attempt number as a whole value (the run script sets it per attempt). Use the attempt number on its own.`,
            [...job.at, "env", e.name],
          ),
        );
      }
    }
  }
  for (const job of ir.jobs) {
    const lists: Array<[string, readonly Template[] | null]> = [
      ["command", job.command],
      ["args", job.args],
    ];
    for (const [field, list] of lists) {
      (list ?? []).forEach((t, i) => {
        if (t.some((seg) => "variable" in seg && seg.variable === "attempt")) {
          problems.push(
            problem("KFM301", `${TARGET} can only pass the attempt number as a whole env value (the run script sets it per attempt).`, [...job.at, field, i]),
          );
        }
      });
    }
  }
  for (const job of ir.jobs) {
    const memory = job.resources.memory;
    if (memory !== null) {
      const bytes = quantityBytes(memory);
      if (bytes !== null && bytes > 0n && bytes < DOCKER_MIN_MEMORY_BYTES) {
        problems.push(
          problem(
            "KFM301",
            `${TARGET} cannot express the memory \`${memory}\` (${bytes} bytes): jobs run with \`docker run --memory\`, and Docker refuses limits below 6 MiB. Ask for at least 6Mi.`,
            [...job.at, "resources", "memory"],
          ),
        );
      } else if (bytes !== null && bytes > DOCKER_MAX_MEMORY_BYTES) {
        problems.push(
          problem(
            "KFM301",
            `${TARGET} cannot express the memory \`${memory}\`: Docker keeps memory limits as a signed 64-bit number of bytes. Ask for less than 8Ei.`,
            [...job.at, "resources", "memory"],
          ),
        );
      }
    }
    if (job.command !== null && job.command.length > 0 && job.command[0]!.length === 0) {
      problems.push(
        problem(
          "KFM301",
          `${TARGET} cannot express an empty executable: \`docker run --entrypoint=""\` resets the entrypoint and runs the next argument instead, where Kubernetes fails to start the container. Name the executable, or leave \`command\` out to keep the image's entrypoint.`,
          [...job.at, "command", 0],
        ),
      );
    }
    // Text no process can hold (NUL, lone surrogates) is refused in the core for every target (src/text.ts).
  }
  return problems;
}

function templateText(t: Template): string {
  return t.map((s) => ("text" in s ? s.text : "")).join("");
}

/**
 * The shortest time in minutes between two consecutive slots of a cron, reading the
 * fields as wall-clock times (a spring-forward jump can bring two slots closer on
 * one night a year; README says so), or a sentence when the cron is not one the
 * generated workflow can read.
 */
export function shortestGapMinutes(cron: string): number | string {
  const c = parseCron(cron);
  if (typeof c === "string") return c;
  const times = c.hours.flatMap((h) => c.minutes.map((m) => h * 60 + m));
  let gap = Infinity;
  for (let i = 1; i < times.length; i++) gap = Math.min(gap, times[i]! - times[i - 1]!);
  // Across midnight: only when two consecutive days can both match.
  if (consecutiveDaysMatch(c.days, c.months, c.weekdays, c.star)) gap = Math.min(gap, times[0]! + 1440 - times[times.length - 1]!);
  return gap;
}

/** The shortest time in minutes between two fires of the crons together, reading their times of day on every day (a lower bound). */
function shortestUtcGapMinutes(crons: readonly string[]): number {
  const times = [
    ...new Set(
      crons.flatMap((text) => {
        const c = parseCron(text);
        return typeof c === "string" ? [] : c.hours.flatMap((h) => c.minutes.map((m) => h * 60 + m));
      }),
    ),
  ].sort((a, b) => a - b);
  let gap = Infinity;
  for (let i = 1; i < times.length; i++) gap = Math.min(gap, times[i]! - times[i - 1]!);
  return times.length > 1 ? Math.min(gap, times[0]! + 1440 - times[times.length - 1]!) : gap;
}

function consecutiveDaysMatch(days: readonly number[], months: readonly number[], weekdays: readonly number[], star: readonly boolean[]): boolean {
  const matches = (d: Date): boolean =>
    months.includes(d.getUTCMonth() + 1) && (star[2]! || days.includes(d.getUTCDate())) && (star[4]! || weekdays.includes(d.getUTCDay()));
  // 28 years hold every combination of date and weekday, leap days included.
  let previous = false;
  for (let t = Date.UTC(2000, 0, 1); t < Date.UTC(2028, 0, 2); t += 86400000) {
    const current = matches(new Date(t));
    if (previous && current) return true;
    previous = current;
  }
  return false;
}

/**
 * The most runs a concurrency group with `queue: max` holds pending; GitHub cancels a run that
 * arrives when the queue is full (github/docs "Control the concurrency of workflows and jobs";
 * GitHub changelog 2026-05-07 "concurrency groups now allow larger queues").
 */
export const MAX_PENDING_RUNS = 100;

/** GitHub ends a workflow run after 35 days (docs.github.com/en/actions/reference/limits, workflow run time). */
export const MAX_RUN_SECONDS = 35 * 24 * 3600;

/**
 * The longest a run can take, in seconds, or null when nothing bounds it: the run timeout, else
 * the longest chain of jobs, each its attempts at their timeout plus its waits (a job without a
 * timeout, or an approval gate, is unbounded).
 */
export function longestRunSeconds(ir: Workflow): number | null {
  if (ir.timeoutSeconds !== null) return ir.timeoutSeconds;
  const byName = new Map(ir.jobs.map((j) => [j.name, j]));
  const memo = new Map<string, number | null>();
  const until = (name: string): number | null => {
    if (memo.has(name)) return memo.get(name)!;
    const j = byName.get(name)!;
    let own: number | null = null;
    if (j.approval === null && j.timeoutSeconds !== null) own = j.retry.maxAttempts * j.timeoutSeconds + retryWaits(j.retry).reduce((a, b) => a + b, 0);
    let before: number | null = 0;
    for (const d of j.dependsOn) {
      const t = until(d);
      before = before === null || t === null ? null : Math.max(before, t);
    }
    const total = own === null || before === null ? null : before + own;
    memo.set(name, total);
    return total;
  };
  let longest: number | null = 0;
  for (const j of ir.jobs) {
    const t = until(j.name);
    longest = longest === null || t === null ? null : Math.max(longest, t);
  }
  return longest;
}

/**
 * `max_active_runs: 1` queues the runs in one concurrency group, which holds at most
 * MAX_PENDING_RUNS pending runs (README, "Concurrency"): a warning (KFM233) when one run may last
 * longer than that many of the schedule's periods, so that the slots due meanwhile overflow the
 * queue and GitHub cancels the newest.
 */
function queueLength(ir: Workflow): Problem[] {
  const s = ir.schedule;
  if (s === null || s.kind !== "cron") return [];
  const gap = s.periodSeconds ?? (typeof shortestGapMinutes(s.cron) === "number" ? (shortestGapMinutes(s.cron) as number) * 60 : null);
  if (gap === null || !Number.isFinite(gap)) return [];
  const longest = longestRunSeconds(ir);
  const fill = MAX_PENDING_RUNS * gap;
  if (Math.min(longest ?? MAX_RUN_SECONDS, MAX_RUN_SECONDS) <= fill) return [];
  return [
    warning(
      "KFM233",
      `On ${TARGET} the runs of this workflow queue in one concurrency group, which holds at most ${MAX_PENDING_RUNS} pending runs; GitHub cancels a run that is due when the queue is full. ${longest === null ? "A run here has no time limit" : `A run here may take ${longest} s`}, longer than ${MAX_PENDING_RUNS} slots of its schedule (${fill} s), so slots could be cancelled: set the workflow's \`timeout\` below ${fill} s (or timeouts on its jobs), or compile for Airflow or Argo.`,
      [...ir.at, "max_active_runs"],
    ),
  ];
}
