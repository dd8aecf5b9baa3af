/**
 * Reads a workflow written by emit back into its meaning. It reads what GitHub and
 * the fixed scripts actually consume: the `on.schedule` entry, `needs`, and each
 * step's `KFMI_` variables (image, argv, env, attempts, waits, timeouts), and it
 * checks that the scripts, conditions and guards are the ones whose meaning
 * README.md explains, so output that drifted is refused or read as what it means.
 */
import { RUNTIME_VARIABLES, type SecretRef, type Segment, type Template } from "../../src/ir.js";
import {
  GITHUB_CONTEXT_JOB,
  GITHUB_INTERNAL_ENV_PREFIX,
  githubApprovalEnvironment,
  githubConcurrencyGroup,
  githubDispatchType,
  githubNotifyJob,
  githubSecretName,
} from "../../src/names.js";
import { compareStrings, sortedRecord, type JobSummary, type NotificationSummary, type ScheduleSummary, type Summary } from "../../src/summary.js";
import { parseYamlStream } from "../../src/yaml.js";
import { s3Source } from "../events.js";
import { NOTIFY_ENV, readNotifyInputs, type NotifyValue } from "../../src/notify.js";
import {
  allDoneIf,
  APPROVAL_FILE,
  APPROVAL_INPUTS,
  CONTEXT_FILE,
  CONTEXT_IF,
  CONTEXT_INPUTS,
  DEADLINE_EXPRESSION,
  GATE_PERMISSIONS,
  JOB_FILE,
  JOB_IF,
  JOB_INPUTS,
  LITERAL_OPEN,
  LOGICAL_DATE_INPUT,
  NOTIFY_IF,
  NOTIFY_NEEDS,
  NOTIFY_RUN,
  NOTIFY_STEP_SCRIPT,
  NOTIFY_TIMEOUT_MINUTES,
  QUEUED_CONTEXT_PERMISSIONS,
  SLOT_FROM_CREATED,
  SHARED_JOB_ID,
  REGISTRY_PASSWORD_SECRET,
  SECRET_SLOTS,
  SHORT_JOB_TIMEOUT_MINUTES,
  approvalWorkflow,
  secretSlot,
  belowAllDone,
  contextWorkflow,
  explicitSuccessIf,
  githubScheduleEntries,
  githubUtcSchedule,
  jobTimeoutMinutes,
  jobWorkflow,
  secretExpression,
  usesOf,
  variableExpression,
  type SharedInput,
} from "./emit.js";
import { DEFAULT_OPTIONS, type GithubActionsOptions } from "./options.js";

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

function readCondition(id: string, job: Obj, runTimeout: boolean): Condition {
  const where = `job ${id}`;
  const needs = job.needs;
  if (!Array.isArray(needs) || needs[0] !== GITHUB_CONTEXT_JOB) fail(`${where}: needs must start with ${GITHUB_CONTEXT_JOB}`);
  const ids = needs.slice(1).map((n) => str(n, `${where}: needs`));
  // An all_done job carries the run-deadline guard exactly when the workflow has a timeout.
  if (job.if === allDoneIf(runTimeout)) return { needs: ids, runWhen: "all_done", viaSuccess: false };
  if (job.if === JOB_IF) return { needs: ids, runWhen: "all_succeeded", viaSuccess: true };
  if (job.if === explicitSuccessIf(ids)) return { needs: ids, runWhen: "all_succeeded", viaSuccess: false };
  return fail(`${where}: if is not one of the conditions emit writes`);
}

/** A caller's `with:` read over the shared workflow's inputs: every value, the defaults filled in; an unknown input is refused. */
function readWith(job: Obj, inputs: readonly SharedInput[], where: string): Map<string, string | number> {
  const given = job.with === undefined || job.with === null ? {} : obj(job.with, `${where}: with`);
  const out = new Map<string, string | number>();
  for (const i of inputs) {
    const v = given[i.name];
    if (v === undefined) {
      if (i.default === undefined) fail(`${where}: the required input ${i.name} is missing`);
      out.set(i.name, i.default);
    } else if (i.type === "number") out.set(i.name, num(v, `${where}: ${i.name}`));
    else out.set(i.name, str(v, `${where}: ${i.name}`));
  }
  for (const k of Object.keys(given)) if (!inputs.some((i) => i.name === k)) fail(`${where}: ${k} is not an input of the shared workflow`);
  return out;
}

function inputText(inputs: Map<string, string | number>, name: string): string {
  return String(inputs.get(name));
}

/** How many members the outermost JSON object or list has, counted on the text (JSON.parse keeps only the last of two equal names). */
function topLevelMembers(value: string): number {
  let depth = 0;
  let count = 0;
  let inString = false;
  let empty = true;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 1) count++;
    if (depth >= 1 && !/[\s{[]/.test(c) && !(depth === 1 && (c === "}" || c === "]"))) empty = false;
  }
  return empty ? 0 : count + 1;
}

/** A JSON text as the run script's decoder reads it: a name given twice is refused (its object_pairs_hook). */
function parseJson(value: string, what: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return fail(`${what} is not JSON`);
  }
  if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) && Object.keys(parsed).length !== topLevelMembers(value))
    fail(`${what}: a name is given twice`);
  return parsed;
}

/** A JSON list input (command, args): empty text is none (the image's own), else a list of templates. */
function jsonList(value: string, what: string): Template[] | null {
  if (value === "") return null;
  const list = parseJson(value, what);
  if (!Array.isArray(list)) fail(`${what} is not a JSON list`);
  return list.map((v) => parseTemplate(str(v, what)));
}

function liftJob(
  id: string,
  job: Obj,
  runTimeout: number | null,
  idToName: Map<string, string>,
  conditions: ReadonlyMap<string, { runWhen: string; dependsOn: readonly string[] }>,
  below: ReadonlySet<string>,
  shared: Shared,
): [string, JobSummary] {
  const where = `job ${id}`;
  const name = specName(id, job);
  const condition = conditions.get(id)!;
  if (condition.runWhen === "all_succeeded" && job.if === JOB_IF && below.has(id)) {
    fail(`${where}: success() would also skip this job when a job upstream of a continue job failed`);
  }
  if (job.uses !== usesOf(JOB_FILE)) fail(`${where}: it does not call ${JOB_FILE}`);
  for (const k of Object.keys(job)) if (!CALLER_KEYS.has(k)) fail(`${where}: ${k} is not a key emit writes on a job that calls ${JOB_FILE}`);
  if (job.permissions !== undefined) fail(`${where}: only approval gates ask for token scopes`);
  const after = condition.dependsOn.map((n) => {
    const spec = idToName.get(n);
    if (spec === undefined) fail(`${where}: needs an unknown job ${n}`);
    return spec;
  });
  const inputs = readWith(job, JOB_INPUTS, where);
  const passed = job.secrets === undefined ? {} : obj(job.secrets, `${where}: secrets`);
  for (const [k, v] of Object.entries(passed)) {
    if (k === REGISTRY_PASSWORD_SECRET) {
      if (!/^\$\{\{ secrets\.[A-Za-z_][A-Za-z0-9_]* \}\}$/.test(str(v, `${where}: ${k}`))) fail(`${where}: ${k} is not a secret of the caller`);
      if (shared.registry === false) fail(`${where}: ${JOB_FILE} logs in to no registry, but ${k} is passed`);
    } else if (!/^SECRET_(0|[1-9][0-9]*)$/.test(k) || Number(k.slice(7)) >= SECRET_SLOTS) fail(`${where}: ${k} is not a secret slot of ${JOB_FILE}`);
  }
  if (shared.registry === true && passed[REGISTRY_PASSWORD_SECRET] === undefined) fail(`${where}: the registry password is not passed`);
  /** The GitHub secret passed in each slot, by the secret's name. */
  const slotOf = new Map<string, number>();

  const image = literal(inputText(inputs, "image"), `${where}: image`);
  const command = jsonList(inputText(inputs, "command"), `${where}: command`);
  const args = jsonList(inputText(inputs, "args"), `${where}: args`);
  const vars: Array<[string, Template | SecretRef]> = [];
  const envObject = obj(parseJson(inputText(inputs, "env"), `${where}: env`), `${where}: env`);
  for (const [varName, v] of Object.entries(envObject)) {
    if (typeof v === "string") {
      vars.push([varName, parseTemplate(v)]);
    } else if (isAttemptEntry(v)) {
      vars.push([varName, [{ variable: "attempt" }]]);
    } else {
      const entry = obj(v, `${where}: ${varName}`);
      if (JSON.stringify(Object.keys(entry).sort()) !== JSON.stringify(["github-secret", "key", "secret"]))
        fail(`${where}: ${varName} is not a text, a secret or the attempt number`);
      const secret = literal(str(entry.secret, `${where}: secret`), `${where}: secret name`);
      const key = literal(str(entry.key, `${where}: key`), `${where}: secret key`);
      // The secret GitHub really resolves must be the one <secret>_<key> names, passed in
      // the slot the script reads for it (the distinct names in order, from SECRET_0).
      const github = githubSecretName(secret, key);
      if (!slotOf.has(github)) slotOf.set(github, slotOf.size);
      if (entry["github-secret"] !== github || passed[secretSlot(slotOf.get(github)!)] !== `\${{ secrets.${github} }}`)
        fail(`${where}: ${varName} does not read the GitHub secret of ${secret}/${key}`);
      vars.push([varName, { secret, key }]);
    }
  }

  for (const k of Object.keys(passed))
    if (k !== REGISTRY_PASSWORD_SECRET && Number(k.slice(7)) >= slotOf.size) fail(`${where}: ${k} is passed but no variable reads it`);

  // What docker is given: --cpus in cores, --memory in bytes.
  const cpus = inputText(inputs, "cpus");
  const memoryBytes = inputText(inputs, "memory-bytes");
  if (cpus !== "" && !/^[0-9]+(\.[0-9]+)?$/.test(cpus)) fail(`${where}: --cpus ${cpus} is not a number of cores`);
  if (memoryBytes !== "" && !/^[0-9]+$/.test(memoryBytes)) fail(`${where}: --memory ${memoryBytes} is not a number of bytes`);

  const attempts = Number(inputs.get("attempts"));
  if (!Number.isInteger(attempts) || attempts < 1) fail(`${where}: attempts must be at least 1`);
  const waitsText = inputText(inputs, "waits");
  const waits = waitsText === "" ? [] : waitsText.split(" ").map(Number);
  if (waits.length !== attempts - 1 || waits.some((w) => !Number.isFinite(w) || w < 0)) fail(`${where}: waits do not match the attempts`);
  const attemptTimeout = Number(inputs.get("attempt-timeout"));
  if (!Number.isInteger(attemptTimeout) || attemptTimeout < 0) fail(`${where}: attempt-timeout is not a number of seconds`);
  const timeoutSeconds = attemptTimeout === 0 ? null : attemptTimeout;
  if (inputText(inputs, "deadline") !== (runTimeout === null ? "" : DEADLINE_EXPRESSION)) fail(`${where}: the run deadline does not match the run timeout`);

  // A failed job fails the run unless continue-on-error says otherwise (docs:
  // jobs.<job_id>.continue-on-error); a calling job cannot carry it, and kfm-job.yml has none.
  const minutes = inputs.get("timeout-minutes");
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
      failureFailsRun: true,
      env: sortedRecord(vars),
      cpu: cpus === "" ? null : cpus,
      memory: memoryBytes === "" ? null : memoryBytes,
      attempts,
      waitsSeconds: waits,
      timeoutSeconds,
    },
  ];
}

/** A job's spec name: its `name:`, or its id when emit left `name:` out (the two are the same then). */
function specName(id: string, job: Obj): string {
  if (job.name === undefined) return id;
  const name = str(job.name, `job ${id}: name`);
  if (name === id) fail(`job ${id}: name is written only when it differs from the id`);
  return name;
}

function isAttemptEntry(v: unknown): boolean {
  return v !== null && typeof v === "object" && JSON.stringify(v) === JSON.stringify({ attempt: true });
}

/** The keys a calling job may have (docs: workflow syntax, jobs.<job_id>.uses); emit writes these. */
const CALLER_KEYS = new Set(["name", "needs", "if", "uses", "with", "secrets", "permissions"]);

/**
 * An approval gate: a job calling kfm-approval.yml on the environment `<workflow>.<gate>`
 * (whose required reviewers make GitHub wait for a decision), which runs the fixed check
 * that a person approved it. No timeout is expressible (check refuses one), so it reads as none.
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
  const name = specName(id, job);
  const condition = conditions.get(id)!;
  if (condition.runWhen === "all_succeeded" && job.if === JOB_IF && below.has(id)) {
    fail(`${where}: success() would also skip this gate when a job upstream of a continue job failed`);
  }
  for (const k of Object.keys(job)) if (!CALLER_KEYS.has(k)) fail(`${where}: ${k} is not a key emit writes on a gate`);
  const environment = githubApprovalEnvironment(workflow, name);
  const inputs = readWith(job, APPROVAL_INPUTS, where);
  if (inputs.get("environment") !== environment) fail(`${where}: the environment is not ${environment}`);
  if (JSON.stringify(job.permissions) !== JSON.stringify(GATE_PERMISSIONS)) fail(`${where}: permissions are not actions: read`);
  if (job.secrets !== undefined) fail(`${where}: a gate is passed no secret`);
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
      failureFailsRun: true,
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

/** What the shared workflows of the folder say, as far as the callers' meaning depends on it. */
interface Shared {
  /** Whether kfm-job.yml logs in to a registry (so each caller passes its password); null when the shared files were not given. */
  readonly registry: boolean | null;
}

/** The deployment options a shared workflow was written with, read back from it: runs-on and the registry login. */
function optionsOf(doc: Obj, jobId: string, where: string): GithubActionsOptions {
  const job = obj(obj(doc.jobs, `${where}: jobs`)[jobId], `${where}: job ${jobId}`);
  const runsOn = job["runs-on"];
  const labels = typeof runsOn === "string" ? [runsOn] : Array.isArray(runsOn) ? runsOn.map((l) => str(l, `${where}: runs-on`)) : fail(`${where}: runs-on`);
  const env = obj(obj((job.steps as unknown[])[0], `${where}: step`).env, `${where}: step env`);
  const registry = env[`${GITHUB_INTERNAL_ENV_PREFIX}REGISTRY`];
  if (registry === undefined) return { ...DEFAULT_OPTIONS, runsOn: labels };
  // The password secret's own name is the callers' (they pass it as REGISTRY_PASSWORD); any valid name reads the same file.
  return {
    ...DEFAULT_OPTIONS,
    runsOn: labels,
    registry: str(registry, `${where}: registry`),
    registryUsername: str(env[`${GITHUB_INTERNAL_ENV_PREFIX}REGISTRY_USERNAME`], `${where}: registry username`),
    registryPasswordSecret: REGISTRY_PASSWORD_SECRET,
  };
}

/** The same data, compared as JSON (key order included: both sides are written by emit). */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Reads the shared reusable workflows and checks that each is the one whose meaning
 * README.md explains: its inputs (and so their defaults, which the callers leave out),
 * outputs, jobs, step variables and fixed script are exactly what emit writes for the
 * options and secrets it declares. Only what deployment may change (runs-on, the
 * registry login, the secrets declared) is read from the file.
 */
function readShared(files: ReadonlyMap<string, string>): Shared {
  const doc = (name: string): Obj | null => {
    const t = files.get(name);
    if (t === undefined) return null;
    const docs = parseYamlStream(t);
    if (docs.length !== 1) fail(`${name}: expected one YAML document`);
    return obj(docs[0], name);
  };
  const context = doc(CONTEXT_FILE);
  if (context === null) fail(`${CONTEXT_FILE} is missing`);
  if (!same(context, contextWorkflow(optionsOf(context, SHARED_JOB_ID.context, CONTEXT_FILE)))) fail(`${CONTEXT_FILE} is not the shared workflow emit writes`);
  const approval = doc(APPROVAL_FILE);
  if (approval !== null && !same(approval, approvalWorkflow(optionsOf(approval, SHARED_JOB_ID.approval, APPROVAL_FILE))))
    fail(`${APPROVAL_FILE} is not the shared workflow emit writes`);
  const job = doc(JOB_FILE);
  if (job === null) fail(`${JOB_FILE} is missing`);
  const options = optionsOf(job, SHARED_JOB_ID.job, JOB_FILE);
  if (!same(job, jobWorkflow(options))) fail(`${JOB_FILE} is not the shared workflow emit writes`);
  return { registry: options.registry !== undefined };
}

/**
 * Reads a workflow back into its meaning, from the workflow file and, when given, the
 * shared reusable workflows of its folder by file name (`sharedFiles`); without them the
 * callers are read against the shared workflows emit writes.
 */
export function lift(text: string, sharedTexts?: ReadonlyMap<string, string>): Summary {
  const shared: Shared = sharedTexts === undefined ? { registry: null } : readShared(sharedTexts);
  const docs = parseYamlStream(text);
  if (docs.length !== 1) fail("expected one YAML document");
  const doc = obj(docs[0], "the workflow");
  const workflow = str(doc.name, "name");
  const on = obj(doc.on, "on");
  const jobs = obj(doc.jobs, "jobs");

  const context = obj(jobs[GITHUB_CONTEXT_JOB], GITHUB_CONTEXT_JOB);
  if (context.if !== CONTEXT_IF) fail(`${GITHUB_CONTEXT_JOB}: if is not the standard condition`);
  if (context.uses !== usesOf(CONTEXT_FILE)) fail(`${GITHUB_CONTEXT_JOB}: it does not call ${CONTEXT_FILE}`);
  for (const k of Object.keys(context))
    if (!CALLER_KEYS.has(k) || k === "needs" || k === "secrets") fail(`${GITHUB_CONTEXT_JOB}: ${k} is not a key emit writes`);
  const cin = readWith(context, CONTEXT_INPUTS, GITHUB_CONTEXT_JOB);
  const cget = (name: string): string => inputText(cin, name);
  if (cget("logical-date") !== `\${{ inputs.${LOGICAL_DATE_INPUT} }}`)
    fail(`${GITHUB_CONTEXT_JOB}: a manual run's date is not the ${LOGICAL_DATE_INPUT} input`);
  const runTimeoutText = cget("run-timeout");
  const timeoutSeconds = runTimeoutText === "" ? null : Number(runTimeoutText);
  const runTokenSeed = literal(cget("run-token-seed"), `${GITHUB_CONTEXT_JOB}: run token seed`);

  let schedule: ScheduleSummary | null = null;
  const cron = cget("cron");
  if (on.schedule !== undefined) {
    const entries = on.schedule;
    if (!Array.isArray(entries) || entries.length === 0) fail("on.schedule must hold at least one entry");
    const zone = cget("timezone");
    const start = cget("start");
    const end = cget("end");
    const window = { start: start === "" ? null : start, end: end === "" ? null : end };
    // The spec's cron in its zone (or in Etc/UTC for a cron firing every hour whose meaning UTC
    // fires alike, githubScheduleZone), or, for another cron with a slot in a daylight-saving
    // change, the crons in Etc/UTC that kfm-context maps to its slots (githubUtcSchedule): the
    // entries must be exactly those, and kfm-context must be given them.
    const want = githubScheduleEntries({ cron, timezone: zone, ...window });
    const got = entries.map((e, i) => {
      const entry = obj(e, `on.schedule[${i}]`);
      return { cron: entry.cron, timezone: entry.timezone };
    });
    if (JSON.stringify(got) !== JSON.stringify(want))
      fail(`on.schedule is not the kfm-context schedule \`${cron}\` in ${zone}: it would be ${want.map((e) => `\`${e.cron}\` in ${e.timezone}`).join(", ")}`);
    if (
      cget("utc-crons") !==
      (githubUtcSchedule({ cron, timezone: zone, ...window })
        ?.map((e) => e.cron)
        .join(";") ?? "")
    )
      fail("the kfm-context utc-crons are not the on.schedule entries that stand for the schedule");
    schedule = { kind: "cron", cron, timezone: zone, ...window, catchup: false };
  } else if (cron !== "") {
    fail("kfm-context has a cron but the workflow has no schedule");
  }
  // An event trigger: a repository_dispatch of the workflow's own type, and kfm-context given
  // the bucket and prefix its records are matched against (README, Event triggers).
  const bucket = cget("event-bucket");
  const prefix = literal(cget("event-prefix"), `${GITHUB_CONTEXT_JOB}: event prefix`);
  if (on.repository_dispatch !== undefined) {
    if (on.schedule !== undefined) fail("a workflow has either on.schedule or on.repository_dispatch, not both");
    if (!same(on.repository_dispatch, { types: [githubDispatchType(workflow)] }))
      fail(`on.repository_dispatch is not {types: [${githubDispatchType(workflow)}]}, the one type this workflow's events are dispatched as`);
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(bucket)) fail(`${GITHUB_CONTEXT_JOB}: the workflow runs on repository_dispatch but event-bucket is not a bucket name`);
    schedule = { kind: "event", trigger: "s3_file_arrival", source: s3Source(bucket, prefix) };
  } else if (bucket !== "" || prefix !== "") {
    fail(`${GITHUB_CONTEXT_JOB}: it has an event bucket or prefix but the workflow has no on.repository_dispatch`);
  }
  const dispatch = obj(on.workflow_dispatch, "on.workflow_dispatch");
  const input = obj(obj(dispatch.inputs, "workflow_dispatch inputs").logical_date, "the logical_date input");
  if (input.required !== true) fail("the logical_date input must be required");

  // max_active_runs: 1 is the workflow's own concurrency group with `queue: max`, and kfm-context
  // reading its run's creation time with actions: read (README, "Concurrency"); nothing else is.
  const slotFrom = cget("slot-from");
  let maxActiveRuns: number | null = null;
  if (doc.concurrency !== undefined || slotFrom !== "" || context.permissions !== undefined) {
    if (!same(doc.concurrency, { group: githubConcurrencyGroup(workflow), queue: "max" }))
      fail(`the concurrency is not {group: ${githubConcurrencyGroup(workflow)}, queue: max}, the queue emit writes for max_active_runs: 1`);
    if (slotFrom !== SLOT_FROM_CREATED)
      fail(`${GITHUB_CONTEXT_JOB}: the runs queue, but slot-from is not ${SLOT_FROM_CREATED} (a waiting run would take a later slot)`);
    if (!same(context.permissions, QUEUED_CONTEXT_PERMISSIONS)) fail(`${GITHUB_CONTEXT_JOB}: permissions are not actions: read`);
    maxActiveRuns = 1;
  }

  const isNotification = (id: string): boolean => /^kfm-notify-[1-9][0-9]*$/.test(id);
  const idToName = new Map<string, string>();
  const conditions = new Map<string, { runWhen: string; dependsOn: readonly string[] }>();
  for (const [id, job] of Object.entries(jobs)) {
    if (id === GITHUB_CONTEXT_JOB || isNotification(id)) continue;
    idToName.set(id, specName(id, obj(job, id)));
    const c = readCondition(id, obj(job, id), timeoutSeconds !== null);
    conditions.set(id, { runWhen: c.runWhen, dependsOn: c.needs });
  }
  const below = belowAllDone(conditions);
  const lifted: Array<[string, JobSummary]> = [];
  for (const [id, job] of Object.entries(jobs)) {
    if (id === GITHUB_CONTEXT_JOB || isNotification(id)) continue;
    const o = obj(job, id);
    lifted.push(
      o.uses === usesOf(APPROVAL_FILE)
        ? liftGate(workflow, id, o, idToName, conditions, below)
        : liftJob(id, o, timeoutSeconds, idToName, conditions, below, shared),
    );
  }
  // Notification jobs are numbered from 1 in spec order, with no gap.
  const notificationIds = Object.keys(jobs).filter(isNotification);
  const notifications = notificationIds.map((_, i) => {
    const id = githubNotifyJob(i);
    if (!(id in jobs)) fail(`notification jobs must be numbered 1..${notificationIds.length}`);
    return liftNotification(id, obj(jobs[id], id), [...idToName.keys()], workflow);
  });
  return { workflow, schedule, timeoutSeconds, maxActiveRuns, runTokenSeed, upstream: [], notifications, jobs: sortedRecord(lifted) };
}
