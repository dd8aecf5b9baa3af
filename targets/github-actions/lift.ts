/**
 * Reads a workflow written by emit back into its meaning. It reads what GitHub and
 * the fixed scripts actually consume: the `on.schedule` entry, `needs`, and each
 * step's `KFMI_` variables (image, argv, env, attempts, waits, timeouts), and it
 * checks that the scripts, conditions and guards are the ones whose meaning
 * README.md explains, so output that drifted is refused or read as what it means.
 */
import { RUNTIME_VARIABLES, type SecretRef, type Segment, type Template } from "../../src/ir.js";
import { GITHUB_CONTEXT_JOB, GITHUB_CONTEXT_STEP, GITHUB_INTERNAL_ENV_PREFIX, githubApprovalEnvironment, githubNotifyJob } from "../../src/names.js";
import { compareStrings, sortedRecord, type JobSummary, type NotificationSummary, type ScheduleSummary, type Summary } from "../../src/summary.js";
import { parseYamlStream } from "../../src/yaml.js";
import { NOTIFY_ENV, readNotifyInputs, type NotifyValue } from "../../src/notify.js";
import {
  ALL_DONE_IF,
  CONTEXT_IF,
  CONTEXT_SCRIPT,
  CONTEXT_SHELL,
  GATE_PERMISSIONS,
  GATE_SCRIPT,
  GATE_SHELL,
  JOB_IF,
  NOTIFY_IF,
  NOTIFY_NEEDS,
  NOTIFY_RUN,
  NOTIFY_STEP_SCRIPT,
  NOTIFY_TIMEOUT_MINUTES,
  SHORT_JOB_TIMEOUT_MINUTES,
  LITERAL_OPEN,
  RUN_SCRIPT,
  contextOutputExpression,
  explicitSuccessIf,
  githubTimezone,
  belowAllDone,
  jobTimeoutMinutes,
  secretExpression,
  variableExpression,
} from "./emit.js";

/** The values a job's env may take from kfm-context: the runtime variables and the run token. */
const CONTEXT_VARIABLES = [...RUNTIME_VARIABLES, "run_token"] as const;

type Obj = Record<string, unknown>;

function fail(message: string): never {
  throw new Error(`github-actions lift: ${message}`);
}

function obj(v: unknown, what: string): Obj {
  if (v === null || typeof v !== "object" || Array.isArray(v)) fail(`${what} is not a mapping`);
  return v as Obj;
}

function str(v: unknown, what: string): string {
  if (typeof v !== "string") fail(`${what} is not a string`);
  return v;
}

function num(v: unknown, what: string): number {
  if (typeof v !== "number") fail(`${what} is not a number`);
  return v;
}

/** Parses a GitHub `env:` value written by renderTemplate back into segments. */
export function parseTemplate(value: string): Template {
  const out: Segment[] = [];
  const pushText = (text: string): void => {
    if (text === "") return;
    const last = out[out.length - 1];
    if (last !== undefined && "text" in last) out[out.length - 1] = { text: last.text + text };
    else out.push({ text });
  };
  let i = 0;
  while (i < value.length) {
    const open = value.indexOf("${{", i);
    if (open === -1) {
      pushText(value.slice(i));
      break;
    }
    pushText(value.slice(i, open));
    if (value.startsWith(LITERAL_OPEN, open)) {
      pushText("${{");
      i = open + LITERAL_OPEN.length;
      continue;
    }
    const variable = CONTEXT_VARIABLES.find((v) => value.startsWith(variableExpression(v), open));
    if (variable === undefined) fail(`unexpected expression at ${JSON.stringify(value.slice(open, open + 60))}`);
    out.push({ variable });
    i = open + variableExpression(variable).length;
  }
  return out;
}

/** Reads the step variables as a checked map: every key must be read exactly once. */
class StepEnv {
  private readonly read = new Set<string>();
  constructor(
    private readonly env: Obj,
    private readonly where: string,
  ) {
    for (const k of Object.keys(env)) if (!k.startsWith(GITHUB_INTERNAL_ENV_PREFIX)) fail(`${where}: unexpected step variable ${k}`);
  }
  has(name: string): boolean {
    return GITHUB_INTERNAL_ENV_PREFIX + name in this.env;
  }
  get(name: string): string {
    const key = GITHUB_INTERNAL_ENV_PREFIX + name;
    if (!(key in this.env)) fail(`${this.where}: ${key} is missing`);
    this.read.add(key);
    return str(this.env[key], `${this.where}: ${key}`);
  }
  count(name: string): number {
    const v = this.get(name);
    if (!/^(0|[1-9][0-9]*)$/.test(v)) fail(`${this.where}: ${name} is not a count`);
    return Number(v);
  }
  done(): void {
    for (const k of Object.keys(this.env)) if (!this.read.has(k)) fail(`${this.where}: step variable ${k} is not one the script reads`);
  }
}

function literal(value: string, what: string): string {
  const t = parseTemplate(value);
  if (t.length === 0) return "";
  if (t.length !== 1 || !("text" in t[0]!)) fail(`${what} must not depend on the run`);
  return (t[0] as { text: string }).text;
}

function list(env: StepEnv, key: string): Template[] | null {
  const c = env.get(`${key}_COUNT`);
  if (c === "none") return null;
  const n = env.count(`${key}_COUNT`);
  return Array.from({ length: n }, (_, i) => parseTemplate(env.get(`${key}_${i}`)));
}

/** A job's needs (without kfm-context) and how its `if:` reads: `all_done`, or `all_succeeded` in one of its two spellings. */
interface Condition {
  readonly needs: string[];
  readonly runWhen: "all_succeeded" | "all_done";
  /** The `success()` spelling, which is only right when no `all_done` job is upstream. */
  readonly viaSuccess: boolean;
}

function readCondition(id: string, job: Obj): Condition {
  const where = `job ${id}`;
  const needs = job.needs;
  if (!Array.isArray(needs) || needs[0] !== GITHUB_CONTEXT_JOB) fail(`${where}: needs must start with ${GITHUB_CONTEXT_JOB}`);
  const ids = needs.slice(1).map((n) => str(n, `${where}: needs`));
  if (job.if === ALL_DONE_IF) return { needs: ids, runWhen: "all_done", viaSuccess: false };
  if (job.if === JOB_IF) return { needs: ids, runWhen: "all_succeeded", viaSuccess: true };
  if (job.if === explicitSuccessIf(ids)) return { needs: ids, runWhen: "all_succeeded", viaSuccess: false };
  return fail(`${where}: if is not one of the conditions emit writes`);
}

function liftJob(
  id: string,
  job: Obj,
  runTimeout: number | null,
  idToName: Map<string, string>,
  conditions: ReadonlyMap<string, { runWhen: string; dependsOn: readonly string[] }>,
  below: ReadonlySet<string>,
): [string, JobSummary] {
  const where = `job ${id}`;
  const name = str(job.name, `${where}: name`);
  const condition = conditions.get(id)!;
  if (condition.runWhen === "all_succeeded" && job.if === JOB_IF && below.has(id)) {
    fail(`${where}: success() would also skip this job when a job upstream of a continue job failed`);
  }
  if (job.container !== undefined || job.services !== undefined) fail(`${where}: container jobs are not what emit writes`);
  if (job.environment !== undefined || job.permissions !== undefined) fail(`${where}: only approval gates reference an environment or ask for token scopes`);
  const after = condition.dependsOn.map((n) => {
    const spec = idToName.get(n);
    if (spec === undefined) fail(`${where}: needs an unknown job ${n}`);
    return spec;
  });
  const steps = job.steps;
  if (!Array.isArray(steps) || steps.length !== 1) fail(`${where}: expected one step`);
  const step = obj(steps[0], `${where}: step`);
  if (step.run !== RUN_SCRIPT) fail(`${where}: the step does not run the fixed script`);
  if (step.shell !== undefined || step.uses !== undefined) fail(`${where}: the step must run the script with the default bash`);
  const env = new StepEnv(obj(step.env, `${where}: step env`), where);

  const image = literal(env.get("IMAGE"), `${where}: image`);
  const command = list(env, "COMMAND");
  const args = list(env, "ARGS");
  const envCount = env.count("ENV_COUNT");
  const vars: Array<[string, Template | SecretRef]> = [];
  for (let i = 0; i < envCount; i++) {
    const varName = env.get(`ENV_NAME_${i}`);
    const kinds = [`ENV_VALUE_${i}`, `ENV_SECRET_${i}`, `ENV_ATTEMPT_${i}`].filter((k) => env.has(k));
    if (kinds.length !== 1) fail(`${where}: variable ${i} must have exactly one of a value, a secret or the attempt number`);
    if (env.has(`ENV_SECRET_${i}`)) {
      const secret = literal(env.get(`ENV_SECRET_NAME_${i}`), `${where}: secret name`);
      const key = literal(env.get(`ENV_SECRET_KEY_${i}`), `${where}: secret key`);
      // The secret GitHub really resolves must be the one <secret>_<key> names.
      if (env.get(`ENV_SECRET_${i}`) !== secretExpression(secret, key)) fail(`${where}: ${varName} does not read the GitHub secret of ${secret}/${key}`);
      vars.push([varName, { secret, key }]);
    } else if (env.has(`ENV_ATTEMPT_${i}`)) {
      if (env.get(`ENV_ATTEMPT_${i}`) !== "") fail(`${where}: ENV_ATTEMPT_${i} must be empty`);
      vars.push([varName, [{ variable: "attempt" }]]);
    } else {
      vars.push([varName, parseTemplate(env.get(`ENV_VALUE_${i}`))]);
    }
  }
  if (new Set(vars.map((v) => v[0])).size !== vars.length) fail(`${where}: an environment variable is given twice`);

  // What docker is given: --cpus in cores, --memory in bytes.
  const cpus = env.get("CPUS");
  const memoryBytes = env.get("MEMORY_BYTES");
  if (cpus !== "" && !/^[0-9]+(\.[0-9]+)?$/.test(cpus)) fail(`${where}: --cpus ${cpus} is not a number of cores`);
  if (memoryBytes !== "" && !/^[0-9]+$/.test(memoryBytes)) fail(`${where}: --memory ${memoryBytes} is not a number of bytes`);

  const attempts = env.count("ATTEMPTS");
  if (attempts < 1) fail(`${where}: attempts must be at least 1`);
  const waitsText = env.get("WAITS");
  const waits = waitsText === "" ? [] : waitsText.split(" ").map(Number);
  if (waits.length !== attempts - 1 || waits.some((w) => !Number.isFinite(w) || w < 0)) fail(`${where}: waits do not match the attempts`);
  const timeoutText = env.get("ATTEMPT_TIMEOUT");
  const timeoutSeconds = timeoutText === "" ? null : Number(timeoutText);
  const deadline = env.get("DEADLINE");
  const expectedDeadline = runTimeout === null ? "" : `\${{ needs.${GITHUB_CONTEXT_JOB}.outputs.deadline }}`;
  if (deadline !== expectedDeadline) fail(`${where}: the run deadline does not match the run timeout`);
  env.done();

  // A failed job fails the run unless continue-on-error says otherwise (docs:
  // jobs.<job_id>.continue-on-error "prevents a workflow run from failing when a job fails").
  const failureFailsRun = job["continue-on-error"] === undefined && step["continue-on-error"] === undefined;
  const minutes = num(job["timeout-minutes"], `${where}: timeout-minutes`);
  if (minutes !== jobTimeoutMinutes(attempts, timeoutSeconds, waits, runTimeout))
    fail(`${where}: timeout-minutes ${minutes} does not bound the attempts and waits`);

  return [
    name,
    {
      approval: null,
      after: [...after].sort(compareStrings),
      image,
      command,
      args,
      runWhen: condition.runWhen,
      failureFailsRun,
      env: sortedRecord(vars),
      cpu: cpus === "" ? null : cpus,
      memory: memoryBytes === "" ? null : memoryBytes,
      attempts,
      waitsSeconds: waits,
      timeoutSeconds,
    },
  ];
}

/**
 * An approval gate: a job on the environment `<workflow>.<gate>` (whose required
 * reviewers make GitHub wait for a decision) running the fixed check that a person
 * approved it. No timeout is expressible (check refuses one), so it reads as none.
 */
function liftGate(
  workflow: string,
  id: string,
  job: Obj,
  idToName: Map<string, string>,
  conditions: ReadonlyMap<string, { runWhen: string; dependsOn: readonly string[] }>,
  below: ReadonlySet<string>,
): [string, JobSummary] {
  const where = `gate ${id}`;
  const name = str(job.name, `${where}: name`);
  const condition = conditions.get(id)!;
  if (condition.runWhen === "all_succeeded" && job.if === JOB_IF && below.has(id)) {
    fail(`${where}: success() would also skip this gate when a job upstream of a continue job failed`);
  }
  const environment = githubApprovalEnvironment(workflow, name);
  if (job.environment !== environment) fail(`${where}: the environment is not ${environment}`);
  if (JSON.stringify(job.permissions) !== JSON.stringify(GATE_PERMISSIONS)) fail(`${where}: permissions are not actions: read`);
  if (job.container !== undefined || job.services !== undefined || job.strategy !== undefined) fail(`${where}: not the job emit writes`);
  if (job["timeout-minutes"] !== SHORT_JOB_TIMEOUT_MINUTES) fail(`${where}: timeout-minutes is not ${SHORT_JOB_TIMEOUT_MINUTES}`);
  const steps = job.steps;
  if (!Array.isArray(steps) || steps.length !== 1) fail(`${where}: expected one step`);
  const step = obj(steps[0], `${where}: step`);
  if (step.run !== GATE_SCRIPT || step.shell !== GATE_SHELL || step.uses !== undefined) fail(`${where}: the step does not run the approval check`);
  if (step.if !== undefined || step["continue-on-error"] !== undefined) fail(`${where}: the approval check must be able to fail the gate`);
  const env = new StepEnv(obj(step.env, `${where}: step env`), where);
  if (env.get("ENVIRONMENT") !== environment) fail(`${where}: the check looks for another environment`);
  if (env.get("TOKEN") !== "${{ github.token }}") fail(`${where}: the check does not use the job's token`);
  env.done();
  const after = condition.dependsOn.map((n) => idToName.get(n) ?? fail(`${where}: needs an unknown job ${n}`));
  return [
    name,
    {
      approval: { timeoutSeconds: null },
      after: [...after].sort(compareStrings),
      image: "",
      command: null,
      args: null,
      runWhen: condition.runWhen,
      failureFailsRun: job["continue-on-error"] === undefined,
      env: {},
      cpu: null,
      memory: null,
      attempts: 1,
      waitsSeconds: [],
      timeoutSeconds: null,
    },
  ];
}

/** A failure notification job: `if: failure()`, needing every job, running the shared notification script. */
function liftNotification(id: string, job: Obj, everyJob: readonly string[], workflow: string): NotificationSummary {
  const where = `notification ${id}`;
  if (job.if !== NOTIFY_IF) fail(`${where}: it must run only when the run failed (if: ${NOTIFY_IF})`);
  const needs = job.needs;
  if (!Array.isArray(needs) || JSON.stringify([...needs].sort(compareStrings)) !== JSON.stringify([GITHUB_CONTEXT_JOB, ...everyJob].sort(compareStrings))) {
    fail(`${where}: it must need every job, so it runs once after all of them`);
  }
  if (job["timeout-minutes"] !== NOTIFY_TIMEOUT_MINUTES) fail(`${where}: timeout-minutes is not ${NOTIFY_TIMEOUT_MINUTES}`);
  if (job.environment !== undefined || job.permissions !== undefined || job.container !== undefined) fail(`${where}: not the job emit writes`);
  const steps = job.steps;
  if (!Array.isArray(steps) || steps.length !== 1) fail(`${where}: expected one step`);
  const step = obj(steps[0], `${where}: step`);
  if (step.run !== NOTIFY_STEP_SCRIPT || step.shell !== undefined || step.uses !== undefined || step.if !== undefined)
    fail(`${where}: the step does not run the notification script`);
  const raw = Object.entries(obj(step.env, `${where}: step env`)).map(([k, v]) => [k, str(v, `${where}: ${k}`)] as const);
  // The secret's name and key (for the prelude's message) follow the shared inputs.
  const tail = raw.slice(-2);
  if (tail[0]?.[0] !== `${GITHUB_INTERNAL_ENV_PREFIX}SECRET_NAME` || tail[1]?.[0] !== `${GITHUB_INTERNAL_ENV_PREFIX}SECRET_KEY`)
    fail(`${where}: no secret name and key`);
  const secret = { secret: literal(tail[0][1], `${where}: secret name`), key: literal(tail[1][1], `${where}: secret key`) };
  const entries = raw.slice(0, -2).map(([name, value]): NotifyValue<string> => {
    if (name !== NOTIFY_ENV.secretUrl) return { name, value };
    if (value !== secretExpression(secret.secret, secret.key)) fail(`${where}: it does not read the GitHub secret of ${secret.secret}/${secret.key}`);
    return { name, secret };
  });
  return readNotifyInputs(entries, workflow, {
    template: (v) => parseTemplate(v),
    literal: (v, what) => literal(v, `${where}: ${what}`),
    failed: (v) => v === NOTIFY_NEEDS,
    run: (v) => v === NOTIFY_RUN,
    fail: (m) => fail(`${where}: ${m}`),
  });
}

export function lift(text: string): Summary {
  const docs = parseYamlStream(text);
  if (docs.length !== 1) fail("expected one YAML document");
  const doc = obj(docs[0], "the workflow");
  const workflow = str(doc.name, "name");
  const on = obj(doc.on, "on");
  const jobs = obj(doc.jobs, "jobs");

  const context = obj(jobs[GITHUB_CONTEXT_JOB], GITHUB_CONTEXT_JOB);
  if (context.if !== CONTEXT_IF) fail(`${GITHUB_CONTEXT_JOB}: if is not the standard condition`);
  const contextSteps = context.steps;
  if (!Array.isArray(contextSteps) || contextSteps.length !== 1) fail(`${GITHUB_CONTEXT_JOB}: expected one step`);
  const contextStep = obj(contextSteps[0], `${GITHUB_CONTEXT_JOB} step`);
  if (contextStep.id !== GITHUB_CONTEXT_STEP || contextStep.run !== CONTEXT_SCRIPT || contextStep.shell !== CONTEXT_SHELL) {
    fail(`${GITHUB_CONTEXT_JOB}: the step does not run the fixed script`);
  }
  const cenv = obj(contextStep.env, `${GITHUB_CONTEXT_JOB} step env`);
  const cget = (name: string): string => str(cenv[GITHUB_INTERNAL_ENV_PREFIX + name], `${GITHUB_CONTEXT_JOB}: ${name}`);
  const runTimeoutText = cget("RUN_TIMEOUT");
  const timeoutSeconds = runTimeoutText === "" ? null : Number(runTimeoutText);
  const runTokenSeed = literal(cget("RUN_TOKEN_SEED"), `${GITHUB_CONTEXT_JOB}: run token seed`);

  let schedule: ScheduleSummary | null = null;
  const cron = cget("CRON");
  if (on.schedule !== undefined) {
    const entries = on.schedule;
    if (!Array.isArray(entries) || entries.length !== 1) fail("on.schedule must hold one entry");
    const entry = obj(entries[0], "on.schedule[0]");
    const zone = cget("TIMEZONE");
    if (entry.cron !== cron) fail("on.schedule cron and the kfm-context cron differ");
    if (entry.timezone !== githubTimezone(zone)) fail("on.schedule timezone and the kfm-context time zone differ");
    const start = cget("START");
    const end = cget("END");
    schedule = { kind: "cron", cron, timezone: zone, start: start === "" ? null : start, end: end === "" ? null : end, catchup: false };
  } else if (cron !== "") {
    fail("kfm-context has a cron but the workflow has no schedule");
  }
  const dispatch = obj(on.workflow_dispatch, "on.workflow_dispatch");
  const input = obj(obj(dispatch.inputs, "workflow_dispatch inputs").logical_date, "the logical_date input");
  if (input.required !== true) fail("the logical_date input must be required");

  // The outputs every job reads: exactly the ones the context script writes for this workflow.
  const outputs = obj(context.outputs, `${GITHUB_CONTEXT_JOB}: outputs`);
  const expected = ["run", "execution_date", "ds", "ts"];
  if (cget("PERIOD_SECONDS") !== "") expected.push("prev_execution_date", "next_execution_date");
  expected.push("run_token");
  if (timeoutSeconds !== null) expected.push("deadline");
  if (JSON.stringify(outputs) !== JSON.stringify(Object.fromEntries(expected.map((o) => [o, contextOutputExpression(o)])))) {
    fail(`${GITHUB_CONTEXT_JOB}: outputs are not the ones its script writes`);
  }

  // Concurrency groups cancel or cap pending runs: emit never writes one (README).
  if (doc.concurrency !== undefined) fail("a concurrency group is not what emit writes");

  const isNotification = (id: string): boolean => /^kfm-notify-[1-9][0-9]*$/.test(id);
  const idToName = new Map<string, string>();
  const conditions = new Map<string, { runWhen: string; dependsOn: readonly string[] }>();
  for (const [id, job] of Object.entries(jobs)) {
    if (id === GITHUB_CONTEXT_JOB || isNotification(id)) continue;
    idToName.set(id, str(obj(job, id).name, `${id}: name`));
    const c = readCondition(id, obj(job, id));
    conditions.set(id, { runWhen: c.runWhen, dependsOn: c.needs });
  }
  const below = belowAllDone(conditions);
  const lifted: Array<[string, JobSummary]> = [];
  for (const [id, job] of Object.entries(jobs)) {
    if (id === GITHUB_CONTEXT_JOB || isNotification(id)) continue;
    const o = obj(job, id);
    lifted.push(
      o.environment !== undefined ? liftGate(workflow, id, o, idToName, conditions, below) : liftJob(id, o, timeoutSeconds, idToName, conditions, below),
    );
  }
  // Notification jobs are numbered from 1 in spec order, with no gap.
  const notificationIds = Object.keys(jobs).filter(isNotification);
  const notifications = notificationIds.map((_, i) => {
    const id = githubNotifyJob(i);
    if (!(id in jobs)) fail(`notification jobs must be numbered 1..${notificationIds.length}`);
    return liftNotification(id, obj(jobs[id], id), [...idToName.keys()], workflow);
  });
  return { workflow, schedule, timeoutSeconds, maxActiveRuns: null, runTokenSeed, upstream: [], notifications, jobs: sortedRecord(lifted) };
}
