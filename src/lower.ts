/**
 * Meaning checks and lowering in one pass: the document (already shape-checked)
 * becomes the IR, and everything that is well-formed but wrong becomes a problem.
 * Parts that fail keep the rest going, so one run reports every problem of a file.
 */
import { createHash } from "node:crypto";
import {
  constantPeriod,
  dstConflicts,
  elapsedInUtc,
  everyHour,
  gapHourShift,
  gapSlotsOnTheHour,
  intervalToCron,
  MEANING,
  parseCron,
  UNDOCUMENTED,
  type Cron,
  type DaylightSaving,
  type DstCase,
  type DstWindow,
} from "./cron.js";
import { didYouMean, problem, suggestion, warning, type Problem } from "./diagnostics.js";
import { uncarriedText } from "./text.js";
import { posixTz } from "./tzrule.js";
import type {
  CronSchedule,
  EnvVar,
  EventSchedule,
  Job,
  Notification,
  Retry,
  Schedule,
  SecretRef,
  Segment,
  SourceInfo,
  SpecPath,
  Template,
  UpstreamWorkflow,
  Workflow,
} from "./ir.js";
import { EVENT_TRIGGERS, RUNTIME_VARIABLES, STANDARD_ENV, retryWaits } from "./ir.js";
import { templateChars } from "./expansion.js";
import { MAX_EXPANDED_CHARS, MAX_PREREQUISITE_REACH, MAX_VALUE_CHARS } from "./limits.js";
import { isWindowsDeviceName, NAME_SPACES } from "./names.js";
import { credentialIn, literalCredential, secretLikeName } from "./secrets.js";
import { constantText, mergeText, parseTemplate, type RawPart } from "./template.js";
import { icuOnlyZone, imageProblem, isZone, knownZones, legacyZone, parseBound, parseDuration, parseQuantity } from "./values.js";

type Obj = Record<string, unknown>;

export interface LowerResult {
  readonly ir: Workflow | null;
  readonly problems: Problem[];
}

/** Where the raw YAML text of a non-string scalar can be read (so `0755` stays `0755`). */
export type ScalarSource = (path: SpecPath) => string | undefined;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/**
 * The targets a spec is compiled for, as far as lowering needs them: how each treats a
 * cron slot in a daylight-saving gap or fold (KFM220). Without them a spec is lowered
 * for every target, and the ones whose behaviour is not known refuse every such slot.
 */
export interface LowerOptions {
  readonly targets?: readonly { readonly name: string; readonly daylightSaving?: DaylightSaving }[];
}

export function lower(data: Obj, source: SourceInfo, scalarSource: ScalarSource, options: LowerOptions = {}): LowerResult {
  const problems: Problem[] = [];
  const ctx: Ctx = { problems, scalarSource, periodSeconds: null, scheduled: false, expandedChars: 0, targets: options.targets };
  if ("job" in data) {
    const at: SpecPath = ["job"];
    const job = lowerJob(ctx, data.job, at, [], "all_succeeded");
    const name = isObj(data.job) ? str(data.job.name) : null;
    if (name !== null) checkFileName(ctx, name, [...at, "name"]);
    if (job === null || name === null || problems.some((p) => p.severity === "error")) return { ir: null, problems };
    const ir: Workflow = {
      at,
      name,
      description: job.description,
      schedule: null,
      timeoutSeconds: null,
      maxActiveRuns: null,
      runTokenSeed: runTokenSeed(name, [data.job]),
      jobs: [job],
      upstream: [],
      notifications: [],
      source,
    };
    return { ir, problems };
  }
  const wf = data.workflow;
  if (!isObj(wf)) return { ir: null, problems };
  const at: SpecPath = ["workflow"];
  const name = str(wf.name);
  if (name !== null) checkReserved(ctx, name, [...at, "name"]);
  if (name !== null) checkFileName(ctx, name, [...at, "name"]);
  checkLiteral(ctx, wf.description, [...at, "description"], "field");
  checkNotificationLiterals(ctx, wf.notifications, [...at, "notifications", "on_failure"]);
  const schedule = "schedule" in wf ? lowerSchedule(ctx, wf.schedule, [...at, "schedule"]) : null;
  const timeoutSeconds = positiveDuration(ctx, wf.timeout, [...at, "timeout"]);
  const entries = Array.isArray(wf.jobs) ? wf.jobs : [];
  const names = entries.map((e) => (isObj(e) && isObj(e.job) ? str(e.job.name) : isObj(e) && isObj(e.approval) ? str(e.approval.name) : null));
  checkNames(
    ctx,
    names,
    entries.map((e) => (isObj(e) && isObj(e.approval) ? "approval" : "job")),
    at,
  );
  const known = new Set(names.filter((n): n is string => n !== null));
  const jobs: Job[] = [];
  entries.forEach((entry, i) => {
    if (!isObj(entry)) return;
    const deps = lowerDependencies(ctx, entry.depends_on, names[i] ?? null, known, [...at, "jobs", i, "depends_on"]);
    // With nothing upstream there is no failure to continue after: the default meaning.
    const runWhen = entry.on_upstream_failure === "continue" && deps.length > 0 ? "all_done" : "all_succeeded";
    const job = isObj(entry.approval)
      ? lowerApproval(ctx, entry.approval, [...at, "jobs", i, "approval"], deps)
      : lowerJob(ctx, entry.job, [...at, "jobs", i, "job"], deps, runWhen, name);
    if (job !== null) jobs.push(entry.prerequisite === true ? { ...job, prerequisite: true } : job);
    if (entry.on_upstream_failure === "continue" && deps.length === 0) {
      ctx.problems.push(
        warning("KFM216", "`on_upstream_failure: continue` has no effect on a job without `depends_on`.", [...at, "jobs", i, "on_upstream_failure"], true),
      );
    }
  });
  checkCycles(ctx, jobs, at);
  if (jobs.length > 0 && jobs.every((j) => j.approval !== null)) {
    ctx.problems.push(problem("KFM104", "A workflow needs at least one job that runs a container; approval gates alone do nothing.", [...at, "jobs"], true));
  }
  const prerequisites = jobs.filter((j) => j.prerequisite).map((j) => j.name);
  if (prerequisites.length * jobs.length > MAX_PREREQUISITE_REACH) {
    const first = entries.findIndex((e) => isObj(e) && e.prerequisite === true);
    ctx.problems.push(
      problem(
        "KFM008",
        `This workflow has ${prerequisites.length} prerequisite jobs among ${jobs.length}; prerequisites times jobs may be at most ${MAX_PREREQUISITE_REACH.toLocaleString("en-US")} (src/limits.ts). Make fewer jobs prerequisites, or let jobs depend on one check job.`,
        [...at, "jobs", first, "prerequisite"],
        true,
      ),
    );
    return { ir: null, problems };
  }
  const gated = withPrerequisites(ctx, jobs, prerequisites);
  // Checked before stopping at the first errors, so its problems are reported with the rest.
  const upstream = lowerUpstream(ctx, wf.dependencies, [...at, "dependencies"], name ?? "");
  if (name === null || problems.some((p) => p.severity === "error")) return { ir: null, problems };
  const ir: Workflow = {
    at,
    name,
    description: str(wf.description),
    schedule,
    timeoutSeconds,
    maxActiveRuns: typeof wf.max_active_runs === "number" ? wf.max_active_runs : null,
    runTokenSeed: runTokenSeed(
      name,
      entries.map((e) => (isObj(e) ? e.job : null)),
    ),
    jobs: gated,
    upstream,
    notifications: lowerNotifications(wf.notifications, [...at, "notifications", "on_failure"], name),
    source,
  };
  return { ir, problems };
}

function lowerApproval(ctx: Ctx, value: Obj, at: SpecPath, dependsOn: string[]): Job | null {
  const name = str(value.name);
  checkLiteral(ctx, value.description, [...at, "description"], "field");
  if (name === null) return null;
  return {
    at,
    name,
    description: str(value.description),
    image: "",
    command: null,
    args: null,
    env: [],
    resources: { cpu: null, memory: null },
    retry: { maxAttempts: 1, delaySeconds: 0, multiplier: 1, maxDelaySeconds: null },
    timeoutSeconds: null,
    dependsOn,
    runWhen: "all_succeeded",
    prerequisite: false,
    approval: { timeoutSeconds: positiveDuration(ctx, value.timeout, [...at, "timeout"]) },
  };
}

function lowerUpstream(ctx: Ctx, value: unknown, at: SpecPath, self: string): UpstreamWorkflow[] {
  if (!Array.isArray(value)) return [];
  const out: UpstreamWorkflow[] = [];
  value.forEach((d, i) => {
    if (!isObj(d) || typeof d.workflow !== "string") return;
    const where: SpecPath = [...at, i];
    if (d.wait_for_completion === false) {
      ctx.problems.push(
        problem("KFM216", "Only `wait_for_completion: true` is supported: a dependency that does not wait has no meaning every runner shares.", [
          ...where,
          "wait_for_completion",
        ]),
      );
    }
    if (d.workflow === self) ctx.problems.push(problem("KFM215", "A workflow cannot depend on itself.", [...where, "workflow"]));
    if (out.some((o) => o.workflow === d.workflow))
      ctx.problems.push(problem("KFM104", `\`${d.workflow}\` is listed twice in \`dependencies\`.`, [...where, "workflow"]));
    out.push({ at: where, workflow: d.workflow, timeoutSeconds: positiveDuration(ctx, d.timeout, [...where, "timeout"]) });
  });
  return out;
}

/** Notification fields are written into the output too: checked for credentials (before lowering stops at the first errors). */
function checkNotificationLiterals(ctx: Ctx, value: unknown, at: SpecPath): void {
  const list = isObj(value) && Array.isArray(value.on_failure) ? value.on_failure : [];
  list.forEach((n, i) => {
    if (!isObj(n)) return;
    const where: SpecPath = [...at, i];
    checkLiteral(ctx, n.channel, [...where, "channel"], "field");
    checkLiteral(ctx, n.from, [...where, "from"], "field");
    if (Array.isArray(n.recipients)) n.recipients.forEach((r, k) => checkLiteral(ctx, r, [...where, "recipients", k], "field"));
    if (n.type === "email") {
      checkAddress(ctx, n.from, [...where, "from"], "`from` takes");
      if (Array.isArray(n.recipients)) n.recipients.forEach((r, k) => checkAddress(ctx, r, [...where, "recipients", k], "each of `recipients` is"));
    }
  });
}

/**
 * One email address, as `addr-spec` (RFC 5322 3.4.1) in the dot-atom form, with the
 * character set of HTML's "valid email address" (WHATWG HTML 4.10.5.1.5): atext and dots
 * before the `@`, a host name after it. No display name, quoted local part, comment,
 * comma, space or control character: the address goes into a mail header on every
 * runner, where a line break starts another header (`Bcc:`) and a comma another recipient.
 */
const ADDRESS =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The longest address SMTP carries (RFC 5321 4.5.3.1: a 64-octet local part, a 254-octet path). */
const MAX_ADDRESS_LENGTH = 254;

/** KFM245 unless `value` (when a string) is one plain address, the same rule for every target. */
function checkAddress(ctx: Ctx, value: unknown, at: SpecPath, what: string): void {
  // Text no target can pass on is refused once, as such (KFM240, src/text.ts).
  if (typeof value !== "string" || uncarriedText(value) !== null) return;
  const local = value.slice(0, value.lastIndexOf("@"));
  if (ADDRESS.test(value) && value.length <= MAX_ADDRESS_LENGTH && local.length <= 64) return;
  ctx.problems.push(
    problem(
      "KFM245",
      `This is not one plain email address: ${what} a single address such as \`alerts@example.com\` (letters, digits, dots and !#$%&'*+-/=?^_\`{|}~ before the @, a host name after it, at most 254 characters), without a display name, comma, space or line break, which would add mail headers or recipients.`,
      at,
    ),
  );
}

function lowerNotifications(value: unknown, at: SpecPath, workflow: string): Notification[] {
  const message: Template = [{ text: `kfm-compile: the run of ${workflow} for ` }, { variable: "ts" }, { text: " failed." }];
  const list = isObj(value) && Array.isArray(value.on_failure) ? value.on_failure : [];
  const secret = (v: unknown): SecretRef | null =>
    isObj(v) && typeof v.secret === "string" && typeof v.key === "string" ? { secret: v.secret, key: v.key } : null;
  const out: Notification[] = [];
  list.forEach((n, i) => {
    if (!isObj(n)) return;
    const where: SpecPath = [...at, i];
    if (n.type === "slack" && typeof n.channel === "string" && secret(n.webhook)) {
      out.push({ kind: "slack", at: where, message, channel: n.channel, webhook: secret(n.webhook)! });
    }
    if (n.type === "email" && Array.isArray(n.recipients) && typeof n.from === "string" && secret(n.smtp)) {
      out.push({
        kind: "email",
        at: where,
        message,
        recipients: n.recipients.filter((r): r is string => typeof r === "string"),
        from: n.from,
        smtp: secret(n.smtp)!,
      });
    }
  });
  return out;
}

/**
 * Makes every job that is not upstream of a prerequisite wait for it. Only jobs whose
 * own dependencies are all upstream of the prerequisite get the edge: the rest
 * already wait for it through them.
 */
function withPrerequisites(ctx: Ctx, jobs: Job[], prerequisites: readonly string[]): Job[] {
  let out = jobs;
  for (const p of prerequisites) {
    const byName = new Map(out.map((j) => [j.name, j]));
    const upstream = new Set<string>();
    const walk = (n: string): void => {
      for (const d of byName.get(n)?.dependsOn ?? []) {
        if (!upstream.has(d)) {
          upstream.add(d);
          walk(d);
        }
      }
    };
    walk(p);
    out = out.map((j) => {
      if (j.name === p || upstream.has(j.name) || !j.dependsOn.every((d) => upstream.has(d))) return j;
      if (j.runWhen === "all_done") {
        // It would run after a failed prerequisite too, which a prerequisite exists to prevent.
        ctx.problems.push(
          problem(
            "KFM216",
            `\`${j.name}\` continues after failures, so it cannot also wait for the prerequisite \`${p}\`; make it depend on a job downstream of \`${p}\`.`,
            [...j.at.slice(0, -1), "on_upstream_failure"],
            true,
          ),
        );
        return j;
      }
      return { ...j, dependsOn: [...j.dependsOn, p] };
    });
  }
  return out;
}

/** The run-token seed (see `Workflow.runTokenSeed`): the parameters enter as written in the spec. */
function runTokenSeed(workflow: string, jobs: readonly unknown[]): string {
  const params = jobs
    .filter(isObj)
    .map(
      (j) =>
        [
          str(j.name) ?? "",
          // A param marked `not_a_secret` enters as its bare value: the mark changes no run token.
          Object.entries(isObj(j.params) ? j.params : {})
            .map(([k, v]) => [k, unwrapNotASecret(v, []).value] as const)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        ] as const,
    )
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const digest = createHash("sha256").update(JSON.stringify(params)).digest("hex");
  return `kfm-run-token/v1\n${workflow}\n${digest}\n`;
}

interface Ctx {
  readonly problems: Problem[];
  readonly targets: LowerOptions["targets"];
  readonly scalarSource: ScalarSource;
  periodSeconds: number | null;
  scheduled: boolean;
  /** The expanded length of every value resolved so far (src/limits.ts MAX_EXPANDED_CHARS); Infinity once refused. */
  expandedChars: number;
}

/** A job parameter: its parsed parts (no parameter references) and the length they render to. */
interface Param {
  readonly parts: RawPart[];
  readonly chars: number;
}

/** Where a literal credential was found decides the advice: env values and params can be marked, other fields cannot. */
type LiteralKind = "env" | "param" | "field";

/**
 * Fail-closed secrets (src/secrets.ts, SECURITY.md): a literal that looks like a credential
 * is an error pointing to secret references. The value itself is never repeated.
 */
function checkLiteral(ctx: Ctx, value: unknown, at: SpecPath, kind: LiteralKind, name?: string): void {
  if (typeof value !== "string" && !(typeof value === "number" && name !== undefined)) return;
  let found = typeof value === "string" ? credentialIn(value, name !== undefined && secretLikeName(name)) : null;
  if (found === null && name !== undefined) {
    const what = literalCredential(name, value as string | number);
    if (what !== null) found = `${what} (the name \`${name}\` says so)`;
  }
  if (found === null) return;
  const keep =
    kind === "env"
      ? `keep it in a secret and reference it (\`${name}: {secret: <secret name>, key: <key>}\`)`
      : kind === "param"
        ? "keep it in a secret and give it to the job as an env variable that references it (`{secret: <secret name>, key: <key>}`)"
        : "keep it in a secret and give it to the job as an env variable that references it (`{secret: <secret name>, key: <key>}`), and refer to the variable instead";
  const mark = kind === "field" ? "" : " If it is not a credential, write the value as `{value: ..., not_a_secret: true}`.";
  ctx.problems.push(
    problem(
      "KFM221",
      `This looks like ${found}: a literal credential would be written into every generated file, readable by anyone who can read them (contract 11.3). Do not commit it; ${keep}.${mark}`,
      at,
    ),
  );
}

/** A `{value: ..., not_a_secret: true}` wrapper: the value, and the path it is at. */
function unwrapNotASecret(raw: unknown, where: SpecPath): { value: unknown; at: SpecPath; marked: boolean } {
  if (isObj(raw) && "value" in raw && raw.not_a_secret === true) return { value: raw.value, at: [...where, "value"], marked: true };
  return { value: raw, at: where, marked: false };
}

/**
 * A workflow's name (a job document's job name) is its output file's name. The name
 * grammar already keeps out path separators, `.`, `..` and absolute paths; Windows
 * device names (`con`, `nul`, `aux`, `com1`...) are names a checkout on Windows cannot
 * hold as files, with any extension, so they are refused too.
 */
function checkFileName(ctx: Ctx, name: string, at: SpecPath): void {
  if (isWindowsDeviceName(name))
    ctx.problems.push(
      problem("KFM211", `\`${name}\` names the output file, and \`${name}\` is a device name on Windows, where no file can have it; rename the workflow.`, at),
    );
}

function checkReserved(ctx: Ctx, name: string, at: SpecPath): void {
  if (/^kfm[-_]/.test(name))
    ctx.problems.push(problem("KFM211", `Names starting with \`kfm-\` or \`kfm_\` are reserved for jobs the compiler adds; rename \`${name}\`.`, at));
}

function checkNames(ctx: Ctx, names: (string | null)[], kinds: string[], at: SpecPath): void {
  const first = new Map<string, number>();
  names.forEach((n, i) => {
    if (n === null) return;
    const where: SpecPath = [...at, "jobs", i, kinds[i]!, "name"];
    if (first.has(n)) {
      ctx.problems.push(problem("KFM203", `The job name \`${n}\` is already used by job ${first.get(n)! + 1}; job names must be unique in a workflow.`, where));
      return;
    }
    first.set(n, i);
    checkReserved(ctx, n, where);
  });
  for (const space of NAME_SPACES) {
    const mapped = new Map<string, string>();
    names.forEach((n, i) => {
      if (n === null) return;
      const m = space.map(n);
      const other = mapped.get(m);
      if (other !== undefined && other !== n) {
        ctx.problems.push(
          problem("KFM208", `The job names \`${other}\` and \`${n}\` both become \`${m}\` in ${space.label}; rename one of them.`, [
            ...at,
            "jobs",
            i,
            kinds[i]!,
            "name",
          ]),
        );
      } else mapped.set(m, n);
    });
  }
}

function lowerDependencies(ctx: Ctx, value: unknown, self: string | null, known: Set<string>, at: SpecPath): string[] {
  if (!Array.isArray(value)) return [];
  // A set: a fan-in job may wait for thousands of jobs.
  const out = new Set<string>();
  value.forEach((dep, i) => {
    if (typeof dep !== "string") return;
    const where: SpecPath = [...at, i];
    if (dep === self) ctx.problems.push(problem("KFM215", `The job \`${dep}\` cannot depend on itself.`, where));
    else if (!known.has(dep)) {
      ctx.problems.push(problem("KFM201", `\`${dep}\` is not a job of this workflow.${suggestion(dep, known) || jobList(known, self)}`, where));
    } else if (out.has(dep)) ctx.problems.push(problem("KFM104", `\`${dep}\` is listed twice in \`depends_on\`.`, where));
    else out.add(dep);
  });
  return [...out];
}

/** The other jobs to choose from, when none is near enough for a did-you-mean (at most ten, in spec order). */
function jobList(known: Set<string>, self: string | null): string {
  const names = [...known].filter((n) => n !== self);
  if (names.length === 0) return "";
  const shown = names.slice(0, 10).map((n) => `\`${n}\``);
  return ` The other jobs are ${shown.join(", ")}${names.length > 10 ? ` and ${names.length - 10} more` : ""}.`;
}

function checkCycles(ctx: Ctx, jobs: Job[], at: SpecPath): void {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 1);
    stack.push(name);
    for (const dep of byName.get(name)?.dependsOn ?? []) {
      if (state.get(dep) === 1) {
        const cycle = [...stack.slice(stack.indexOf(dep)), dep];
        const job = byName.get(name)!;
        const index = job.dependsOn.indexOf(dep);
        ctx.problems.push(
          problem("KFM202", `These jobs wait for each other, so none can start: ${cycle.reverse().join(" -> ")} (each waits for the next).`, [
            ...job.at.slice(0, -1),
            "depends_on",
            index,
          ]),
        );
      } else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(name, 2);
  };
  // Iterative order over spec order keeps the reported cycle stable.
  for (const j of jobs) if (!state.has(j.name)) visit(j.name);
  void at;
}

/**
 * The longest duration any wait or timeout may have: ten years. Runners store them
 * in types that end far sooner than a user could mean (Python's datetime, Go's
 * time.Duration at 292 years, Argo's seconds as int64 nanoseconds).
 */
export const MAX_DURATION_SECONDS = 10 * 365 * 86400;

function positiveDuration(ctx: Ctx, value: unknown, at: SpecPath): number | null {
  const s = duration(ctx, value, at);
  if (s === 0) {
    ctx.problems.push(problem("KFM206", "A timeout must be longer than zero; leave it out for no limit.", at));
    return null;
  }
  return s;
}

/**
 * Seconds of a duration field, null when absent, malformed (the shape check reports it)
 * or too long. Too long is reported here: a huge timeout must never become "no timeout".
 */
function duration(ctx: Ctx, value: unknown, at: SpecPath): number | null {
  if (typeof value !== "string") return null;
  const s = parseDuration(value);
  if (s === null) return null;
  if (s <= MAX_DURATION_SECONDS) return s;
  ctx.problems.push(
    problem(
      "KFM206",
      `\`${value.length > 40 ? value.slice(0, 40) + "..." : value}\` is longer than the ten years (3650d) any duration may be: runners store durations in types that end sooner. Use a shorter one, or leave the field out where that means no limit.`,
      at,
    ),
  );
  return null;
}

/**
 * KFM220 for a lowered workflow and the targets it is compiled for, or null: what
 * lowering with those targets says. A project lowers its specs with no targets (an
 * empty list judges nothing) and asks this afterwards, so that the targets' own
 * refusals (KFM301) are reported with it, every problem at once.
 */
export function judgeDaylightSaving(ir: Workflow, targets: NonNullable<LowerOptions["targets"]>): Problem | null {
  const s = ir.schedule;
  if (s === null || s.kind !== "cron") return null;
  const cron = parseCron(s.cron);
  if (typeof cron === "string") return null;
  const message = daylightSavingProblem(targets, cron, s.timezone, { start: s.start, end: s.end });
  return message === null ? null : problem("KFM220", message, [...s.at, s.fromInterval ? "interval" : "cron"]);
}

/**
 * Why a target the workflow is compiled for cannot fire the cron's daylight-saving slots
 * at the meaning's instants (README "Meanings", Schedules; `slotInstants` in
 * src/cron.ts), or null. Without targets (a spec checked alone) the meaning is defined
 * and nothing is refused.
 */
function daylightSavingProblem(targets: LowerOptions["targets"], cron: Cron, zone: string, window: DstWindow): string | null {
  if (targets === undefined) return null;
  const { gap, fold } = dstConflicts(cron, zone, window);
  if (gap === null && fold === null) return null;
  // "The slot at 02:30 Europe/Berlin falls in a ... on the days the clocks change (the first in its window is on 2024-03-31)".
  const slot = (local: string, what: string) => {
    const [day, time] = local.split("T");
    return `The slot at ${time} ${zone} falls in a daylight-saving ${what} on the days the clocks change (${window.start !== null ? `the first in its window is on ${day}` : `for example ${day}`})`;
  };
  const GAP = "gap (that wall time does not exist)";
  const FOLD = "fold (that wall time happens twice)";
  const advice = "Move the slot out of the hours the clocks change, or use a zone without daylight saving";
  const narrow = ", or compile this workflow only for the other targets (a `specs` entry with `targets` in kfm.config.yaml)";
  const tz = posixTz(zone);
  const c: DstCase = {
    everyHour: everyHour(cron),
    hourShift: gapHourShift(cron, zone, window) !== null,
    gapOnTheHour: gapSlotsOnTheHour(cron, zone, window),
    elapsedInUtc: elapsedInUtc(cron, zone),
    posixTzProblem: "problem" in tz ? tz.problem : null,
  };
  for (const [local, what, kind] of [
    [gap, GAP, "gap"],
    [fold, FOLD, "fold"],
  ] as const) {
    if (local === null) continue;
    const wrong = targets.map((t) => ({ name: t.name, does: t.daylightSaving?.[kind](c) ?? UNDOCUMENTED })).filter((t) => t.does !== MEANING[kind](c));
    if (wrong.length > 0) {
      return `${slot(local, what)}; a workflow ${MEANING[kind](c)
        .replace(/^fires it/, "fires such a slot")
        .replace(/^skips it/, "skips such a slot")}, but ${wrong.map((t) => `${t.name} ${t.does}`).join(" and ")}. ${advice}${narrow}.`;
    }
  }
  return null;
}

/**
 * The bucket and key prefix of `s3://<bucket>[/<prefix>]`; null when it is not one. A
 * bucket name as S3 allows it (3 to 63 lower-case letters, digits, `.` and `-`, starting
 * and ending with a letter or digit: docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html,
 * which MinIO follows); the prefix is any key text without control characters.
 */
export function s3Location(source: string): { bucket: string; prefix: string } | null {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/s.exec(source);
  if (m === null) return null;
  const prefix = m[2] ?? "";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(prefix)) return null;
  return { bucket: m[1]!, prefix };
}

function lowerSchedule(ctx: Ctx, value: unknown, at: SpecPath): Schedule | null {
  if (!isObj(value)) return null;
  if (typeof value.trigger === "string") {
    checkLiteral(ctx, value.source, [...at, "source"], "field");
    if (!(EVENT_TRIGGERS as readonly string[]).includes(value.trigger)) {
      ctx.problems.push(
        problem(
          "KFM241",
          `\`${value.trigger}\` is not an event trigger kfm-compile knows (${EVENT_TRIGGERS.join(", ")}).${suggestion(value.trigger, EVENT_TRIGGERS)} For another event, start runs from it by hand with their logical date (each target's manual run).`,
          [...at, "trigger"],
        ),
      );
      return null;
    }
    const source = str(value.source);
    const location = source === null ? null : s3Location(source);
    if (location === null) {
      ctx.problems.push(
        problem(
          "KFM242",
          `\`${value.trigger}\` needs a \`source\` of the form s3://<bucket>/<key prefix> (such as s3://lakehouse-dev-raw/sales/): the bucket whose new objects start a run${source === null ? "" : `, not \`${source}\``}.`,
          source === null ? at : [...at, "source"],
        ),
      );
      return null;
    }
    // The source as `s3://<bucket>/<prefix>` (`s3://b` and `s3://b/` mean the same).
    const event: EventSchedule = { kind: "event", at, trigger: value.trigger, source: `s3://${location.bucket}/${location.prefix}`, ...location };
    return event;
  }
  const zone = str(value.timezone) ?? "UTC";
  let zoneOk = true;
  if (typeof value.timezone === "string" && !isZone(value.timezone)) {
    zoneOk = false;
    // An ICU-only alias (`PST`) reads as a zone in Node; the zone it stands for is the fix.
    const meant = icuOnlyZone(value.timezone);
    const why = meant === null ? "" : " (only ICU's aliases have it), so Python's and Go's tz databases do not know it";
    const fix = meant ? ` Did you mean '${meant}'?` : suggestion(value.timezone, knownZones());
    ctx.problems.push(problem("KFM205", `\`${value.timezone}\` is not an IANA time zone name${why}.${fix}`, [...at, "timezone"]));
  } else if (typeof value.timezone === "string") {
    const legacy = legacyZone(value.timezone);
    if (legacy !== null) ctx.problems.push({ code: "KFM222", severity: legacy.severity, message: legacy.message, at: [...at, "timezone"] });
  }
  const bound = (key: "start_date" | "end_date"): string | null => {
    const v = value[key];
    if (typeof v !== "string") return null;
    // With an unknown zone the format is still checked, against UTC.
    const local = parseBound(v, zoneOk ? zone : "UTC");
    if (local === null) {
      ctx.problems.push(
        problem("KFM214", `\`${v}\` is not a date (YYYY-MM-DD) or an instant (YYYY-MM-DDTHH:MM[:SS] with an optional Z or ±HH:MM offset).`, [...at, key]),
      );
    }
    return local;
  };
  const start = bound("start_date");
  let end = bound("end_date");
  // A date as end_date means the whole day; store the last second of it.
  if (end !== null && typeof value.end_date === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value.end_date)) end = end.slice(0, 11) + "23:59:59";
  if (start !== null && end !== null && end < start) {
    ctx.problems.push(
      problem("KFM219", `The schedule ends (${value.end_date}) before it starts (${value.start_date}), so it would never run.`, [...at, "end_date"]),
    );
  }
  let cronText: string | null = null;
  let fromInterval = false;
  if (typeof value.cron === "string") {
    cronText = value.cron;
  } else if (typeof value.interval === "string") {
    fromInterval = true;
    const seconds = duration(ctx, value.interval, [...at, "interval"]);
    if (seconds !== null) {
      cronText = intervalToCron(seconds);
      if (cronText === null) {
        ctx.problems.push(
          problem(
            "KFM213",
            `The interval \`${value.interval}\` is not a cron grid, so runners would start it at different times; use an interval that divides an hour or a day (5m, 15m, 1h, 6h, 1d) or write a cron expression.`,
            [...at, "interval"],
          ),
        );
      }
    }
  }
  if (cronText === null) return null;
  const cron = parseCron(cronText);
  if (typeof cron === "string") {
    ctx.problems.push(problem("KFM204", `Invalid cron expression: ${cron}`, [...at, fromInterval ? "interval" : "cron"]));
    return null;
  }
  if (!zoneOk) return null;
  // Only slots inside the schedule's window can run, and the day named is one of them.
  const dst = daylightSavingProblem(ctx.targets, cron, zone, { start, end });
  if (dst !== null) ctx.problems.push(problem("KFM220", dst, [...at, fromInterval ? "interval" : "cron"]));
  const periodSeconds = constantPeriod(cron, zone);
  ctx.periodSeconds = periodSeconds;
  ctx.scheduled = true;
  const schedule: CronSchedule = {
    kind: "cron",
    at,
    cron: cron.text,
    timezone: zone,
    start,
    end,
    catchup: value.catchup === true,
    periodSeconds,
    fromInterval,
  };
  return schedule;
}

function lowerJob(ctx: Ctx, value: unknown, at: SpecPath, dependsOn: string[], runWhen: Job["runWhen"], workflowName: string | null = null): Job | null {
  if (!isObj(value)) return null;
  const name = str(value.name);
  const image = str(value.image);
  const params = lowerParams(ctx, value.params, [...at, "params"]);
  const used: UsedParams = { names: new Set(), known: true };
  const tpl = (v: unknown, where: SpecPath): Template | null => resolveTemplate(ctx, v, where, params, used);
  const list = (key: "command" | "args"): Template[] | null => {
    const v = value[key];
    if (!Array.isArray(v)) return null;
    return v.map((item, i) => tpl(item, [...at, key, i]) ?? []);
  };
  const command = list("command");
  const args = list("args");
  checkLiteral(ctx, value.description, [...at, "description"], "field");
  checkLiteral(ctx, image, [...at, "image"], "field");
  for (const key of ["command", "args"] as const) {
    const v = value[key];
    if (Array.isArray(v)) v.forEach((item, i) => checkLiteral(ctx, item, [...at, key, i], "field"));
  }
  // The image is a template like every spec string, but may only render to constant text.
  let imageText: string | null = null;
  if (image !== null) {
    const t = tpl(image, [...at, "image"]);
    if (t !== null && t.some((s) => "variable" in s)) {
      ctx.problems.push(problem("KFM217", "An image cannot depend on the run's date; name a fixed image (tag or digest).", [...at, "image"]));
    } else if (t !== null) {
      imageText = constantText(t);
      // Text no target can pass on is refused once, as such (KFM240, src/text.ts).
      const bad = imageText === null || uncarriedText(imageText) !== null ? null : imageProblem(imageText);
      if (bad !== null) {
        const shown = imageText!.length > 80 ? imageText!.slice(0, 80) + "..." : imageText!;
        ctx.problems.push(
          problem(
            "KFM223",
            `\`${shown}\` is not a container image reference: ${bad.reason}. An image is \`[registry[:port]/]name[:tag][@digest]\`, the name in lower case (the grammar every container runtime pulls by, distribution/reference).${bad.fix === null ? "" : ` Did you mean '${bad.fix}'?`}`,
            [...at, "image"],
          ),
        );
      }
    }
  }
  const env: EnvVar[] = [];
  if (isObj(value.env)) {
    for (const [key, raw] of Object.entries(value.env)) {
      const where: SpecPath = [...at, "env", key];
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
        ctx.problems.push(
          problem("KFM212", `\`${key}\` is not a portable environment variable name: use letters, digits and \`_\`, not starting with a digit.`, where, true),
        );
        continue;
      }
      if (key.startsWith("KFM_")) {
        ctx.problems.push(
          problem(
            "KFM211",
            `Environment variables starting with \`KFM_\` are reserved for the standard job environment (${STANDARD_ENV.join(", ")}).`,
            where,
            true,
          ),
        );
        continue;
      }
      const plain = unwrapNotASecret(raw, where);
      if (isObj(plain.value)) {
        if (typeof plain.value.secret === "string" && typeof plain.value.key === "string")
          env.push({ name: key, secretRef: { secret: plain.value.secret, key: plain.value.key } });
        continue;
      }
      if (!plain.marked) checkLiteral(ctx, plain.value, where, "env", key);
      const t = tpl(scalarText(ctx, plain.value, plain.at), plain.at);
      if (t !== null) env.push({ name: key, value: t });
    }
  }
  const resources = {
    cpu: quantity(ctx, value.resources, "cpu", [...at, "resources", "cpu"]),
    memory: quantity(ctx, value.resources, "memory", [...at, "resources", "memory"]),
  };
  const retry = lowerRetry(ctx, value.retry, [...at, "retry"]);
  const timeoutSeconds = positiveDuration(ctx, value.timeout, [...at, "timeout"]);
  unusedParams(ctx, params, [...at, "params"], used);
  if (name === null || image === null || imageText === null) return null;
  const standard: EnvVar[] = [
    { name: "KFM_WORKFLOW", value: [{ text: workflowName ?? name }] },
    { name: "KFM_JOB", value: [{ text: name }] },
    { name: "KFM_LOGICAL_DATE", value: [{ variable: "ts" }] },
    { name: "KFM_ATTEMPT", value: [{ variable: "attempt" }] },
    { name: "KFM_RUN_TOKEN", value: [{ variable: "run_token" }] },
  ];
  return {
    at,
    name,
    description: str(value.description),
    image: imageText,
    command,
    args,
    env: [...env, ...standard],
    resources,
    retry,
    timeoutSeconds,
    dependsOn,
    runWhen,
    prerequisite: false,
    approval: null,
  };
}

/** The parameters a job's templates name; `known` is false once one of them could not be read (its names are unknown). */
interface UsedParams {
  readonly names: Set<string>;
  known: boolean;
}

/**
 * A parameter no template of its job names, in a job whose templates do name parameters
 * (KFM224, a warning at its key): most often a misspelling on one side, or one left
 * behind, so the names the templates use are offered. A job whose templates name no
 * parameter is not warned about: the contract's own examples declare `params` that way
 * (its section 3.2 and 4.2), as what the job is about.
 */
function unusedParams(ctx: Ctx, params: ReadonlyMap<string, Param>, at: SpecPath, used: UsedParams): void {
  if (!used.known || used.names.size === 0) return;
  const others = [...used.names].filter((n) => !params.has(n));
  for (const key of params.keys()) {
    if (used.names.has(key)) continue;
    const ref = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `params.${key}` : !/['\\]/.test(key) ? `params['${key}']` : `params["${key}"]`;
    // A near name a template uses but the job does not declare is already an error there
    // (KFM209, which offers this key): name it as the other half of one misspelling rather
    // than suggesting the opposite rename.
    const near = didYouMean(key, others);
    const hint =
      near === null
        ? ` Use it as \`{{ ${ref} }}\`, or remove it.`
        : ` A template names \`${near}\`, which this job does not declare: one of the two is misspelt.`;
    ctx.problems.push(warning("KFM224", `No template of this job (image, command, args, env) uses the parameter \`${key}\`.${hint}`, [...at, key], true));
  }
}

/** Non-string scalars in `env` and `params` are taken as written (`0755`, `1e3`, `on`), not as YAML re-prints them. */
function scalarText(ctx: Ctx, raw: unknown, where: SpecPath): unknown {
  if (typeof raw === "number" || typeof raw === "boolean") return ctx.scalarSource(where) ?? String(raw);
  return raw;
}

function lowerParams(ctx: Ctx, value: unknown, at: SpecPath): Map<string, Param> {
  const out = new Map<string, Param>();
  if (!isObj(value)) return out;
  for (const [key, wrapped] of Object.entries(value)) {
    const plain = unwrapNotASecret(wrapped, [...at, key]);
    const where = plain.at;
    if (!plain.marked) checkLiteral(ctx, plain.value, where, "param", key);
    const text = scalarText(ctx, plain.value, where);
    if (typeof text !== "string") continue;
    const parsed = parseTemplate(text);
    if (!parsed.ok) {
      reportTemplate(ctx, parsed, where, []);
      continue;
    }
    if (parsed.parts.some((p) => "param" in p)) {
      ctx.problems.push(
        problem("KFM209", "A parameter's value cannot refer to other parameters (Airflow does not render params); use the runtime variables directly.", where),
      );
      continue;
    }
    out.set(key, { parts: parsed.parts, chars: templateChars(parsed.parts as Segment[]) });
  }
  return out;
}

function reportTemplate(ctx: Ctx, r: Extract<ReturnType<typeof parseTemplate>, { ok: false }>, where: SpecPath, params: Iterable<string>): void {
  if (r.code === "KFM209") {
    const candidates = [...RUNTIME_VARIABLES, ...[...params].map((p) => `params.${p}`)];
    ctx.problems.push(
      problem(
        "KFM209",
        `\`{{ ${r.name} }}\` is not a known variable (${RUNTIME_VARIABLES.join(", ")}, params.<key>).${suggestion(r.name!, candidates)} To write it literally use {{ '{{' }}.`,
        where,
      ),
    );
  } else ctx.problems.push(problem(r.code, r.message, where));
}

function resolveTemplate(ctx: Ctx, value: unknown, where: SpecPath, params: Map<string, Param>, used?: UsedParams): Template | null {
  if (typeof value !== "string") return null;
  const parsed = parseTemplate(value);
  if (!parsed.ok) {
    reportTemplate(ctx, parsed, where, params.keys());
    if (used !== undefined) used.known = false;
    return null;
  }
  for (const part of parsed.parts) if ("param" in part) used?.names.add(part.param);
  // The expanded length, added up from the parts before any of them is put in
  // (src/limits.ts, "Output bounds"): a parameter named many times multiplies.
  let chars = 0;
  const uses = new Map<string, number>();
  for (const part of parsed.parts) {
    if ("param" in part) {
      const resolved = params.get(part.param);
      if (resolved === undefined) {
        ctx.problems.push(problem("KFM209", `\`params.${part.param}\` is not a parameter of this job.${suggestion(part.param, params.keys())}`, where));
        return null;
      }
      chars += resolved.chars;
      uses.set(part.param, (uses.get(part.param) ?? 0) + 1);
    } else chars += templateChars([part]);
  }
  if (!withinExpansionBounds(ctx, chars, uses, params, where)) return null;
  const out: RawPart[] = [];
  for (const part of parsed.parts) {
    // A loop, not push(...parts): a parameter may hold more parts than a call takes arguments.
    if ("param" in part) for (const p of params.get(part.param)!.parts) out.push(p);
    else out.push(part);
  }
  const template = mergeText(out) as Template;
  for (const s of template) {
    if ("variable" in s && (s.variable === "prev_execution_date" || s.variable === "next_execution_date") && ctx.periodSeconds === null) {
      ctx.problems.push(
        problem(
          "KFM218",
          ctx.scheduled
            ? `\`${s.variable}\` needs a schedule whose runs are a fixed time apart in a zone without daylight saving (hourly, daily or weekly in UTC, for example); this schedule is not, so runners would disagree on it.`
            : `\`${s.variable}\` needs a schedule; this workflow has none.`,
          where,
        ),
      );
      return null;
    }
  }
  return template;
}

/** Refuses (KFM009) a value that would expand past MAX_VALUE_CHARS, or the value that takes the workflow past MAX_EXPANDED_CHARS. */
function withinExpansionBounds(ctx: Ctx, chars: number, uses: Map<string, number>, params: Map<string, Param>, where: SpecPath): boolean {
  const n = (x: number) => x.toLocaleString("en-US");
  let most: [string, number] | null = null;
  for (const [name, count] of uses) {
    const share = params.get(name)!.chars * count;
    if (most === null || share > params.get(most[0])!.chars * most[1]) most = [name, count];
  }
  const cause =
    most === null
      ? ""
      : ` \`params.${most[0]}\` (${n(params.get(most[0])!.chars)} characters) is used ${most[1] === 1 ? "once" : `${n(most[1])} times`} in it.`;
  const fix = " Runners take far less than this: keep large data in files or object storage and pass the job its location.";
  if (chars > MAX_VALUE_CHARS) {
    ctx.problems.push(
      problem(
        "KFM009",
        `This value expands to ${n(chars)} characters, more than the ${n(MAX_VALUE_CHARS)} one value may have (src/limits.ts).${cause}${fix}`,
        where,
      ),
    );
    return false;
  }
  if (ctx.expandedChars + chars > MAX_EXPANDED_CHARS) {
    // Said once, at the value that crosses the bound; the values after it are not counted.
    if (ctx.expandedChars !== Infinity) {
      ctx.problems.push(
        problem(
          "KFM009",
          `With this value (${n(chars)} characters) the values of this workflow expand to more than the ${n(MAX_EXPANDED_CHARS)} characters a workflow may have (src/limits.ts).${cause}${fix}`,
          where,
        ),
      );
    }
    ctx.expandedChars = Infinity;
    return false;
  }
  ctx.expandedChars += chars;
  return true;
}

function quantity(ctx: Ctx, resources: unknown, key: "cpu" | "memory", at: SpecPath): string | null {
  if (!isObj(resources)) return null;
  const raw = resources[key];
  const text = typeof raw === "number" ? (ctx.scalarSource(at) ?? String(raw)) : str(raw);
  if (text === null) return null;
  const q = parseQuantity(text);
  if (q === null) {
    ctx.problems.push(problem("KFM207", `\`${text}\` is not a Kubernetes quantity (for example ${key === "cpu" ? "500m, 1, 2.5" : "512Mi, 2Gi, 1G"}).`, at));
    return null;
  }
  if (q.numerator === 0n) {
    ctx.problems.push(problem("KFM207", `A ${key} of zero would be read as "no limit" by some runners; leave \`${key}\` out instead.`, at));
    return null;
  }
  return text;
}

function lowerRetry(ctx: Ctx, value: unknown, at: SpecPath): Retry {
  const none: Retry = { maxAttempts: 1, delaySeconds: 0, multiplier: 1, maxDelaySeconds: null };
  if (!isObj(value)) return none;
  // Out of the schema's range (1..100) the shape check reports it; lowering goes on with
  // the default rather than compute (or allocate) anything from a number like 2^32.
  const inRange = (v: unknown): v is number => typeof v === "number" && v >= 1 && v <= 100;
  const maxAttempts = inRange(value.max_attempts) && Number.isInteger(value.max_attempts) ? value.max_attempts : 1;
  const delaySeconds = duration(ctx, value.delay, [...at, "delay"]) ?? 0;
  const exponential = value.exponential_backoff === true;
  if (!exponential && "backoff_multiplier" in value) {
    ctx.problems.push(warning("KFM216", "`backoff_multiplier` has no effect without `exponential_backoff: true`.", [...at, "backoff_multiplier"], true));
  }
  if (!exponential && "max_delay" in value) {
    ctx.problems.push(warning("KFM216", "`max_delay` has no effect without `exponential_backoff: true`.", [...at, "max_delay"], true));
  }
  const multiplier = exponential ? (inRange(value.backoff_multiplier) ? value.backoff_multiplier : 2) : 1;
  const maxDelayWritten = duration(ctx, value.max_delay, [...at, "max_delay"]);
  const maxDelaySeconds = exponential ? maxDelayWritten : null;
  if (maxDelaySeconds !== null && maxDelaySeconds < delaySeconds) {
    ctx.problems.push(
      problem("KFM216", "`max_delay` is shorter than `delay`, so no wait could grow; raise it or drop exponential backoff.", [...at, "max_delay"]),
    );
  }
  const retry = { maxAttempts, delaySeconds, multiplier, maxDelaySeconds };
  const longest = Math.max(0, ...retryWaits(retry));
  if (longest > MAX_DURATION_SECONDS) {
    ctx.problems.push(
      problem(
        "KFM216",
        `The last retry would wait ${longest.toExponential(3)} seconds, longer than the ten years any wait may be; set \`max_delay\` or use fewer attempts.`,
        exponential ? [...at, "max_attempts"] : [...at, "delay"],
      ),
    );
  }
  return retry;
}
