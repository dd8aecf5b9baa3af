/**
 * Reads a workflow written by emit back into its meaning. It reads what GitHub and
 * the fixed scripts actually consume: the `on.schedule` entry, `needs`, and each
 * step's `KFMI_` variables (image, argv, env, attempts, waits, timeouts), and it
 * checks that the scripts, conditions and guards are the ones whose meaning
 * README.md explains, so output that drifted is refused or read as what it means.
 */
import { RUNTIME_VARIABLES, type RuntimeVariable, type Segment, type Template } from "../../src/ir.js";
import { GITHUB_CONTEXT_JOB, GITHUB_CONTEXT_STEP, GITHUB_INTERNAL_ENV_PREFIX } from "../../src/names.js";
import { compareStrings, sortedRecord, type JobSummary, type ScheduleSummary, type Summary } from "../../src/summary.js";
import { parseYamlStream } from "../../src/yaml.js";
import { CONTEXT_IF, CONTEXT_SCRIPT, CONTEXT_SHELL, JOB_IF, LITERAL_OPEN, RUN_SCRIPT, githubTimezone, jobTimeoutMinutes, variableExpression } from "./emit.js";

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
    const variable = RUNTIME_VARIABLES.find((v) => value.startsWith(variableExpression(v), open));
    if (variable === undefined) fail(`unexpected expression at ${JSON.stringify(value.slice(open, open + 60))}`);
    out.push({ variable: variable as RuntimeVariable });
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

function liftJob(id: string, job: Obj, runTimeout: number | null, idToName: Map<string, string>): [string, JobSummary] {
  const where = `job ${id}`;
  const name = str(job.name, `${where}: name`);
  if (job.if !== JOB_IF) fail(`${where}: if is not the standard condition`);
  if (job.container !== undefined || job.services !== undefined) fail(`${where}: container jobs are not what emit writes`);
  const needs = job.needs;
  if (!Array.isArray(needs) || needs[0] !== GITHUB_CONTEXT_JOB) fail(`${where}: needs must start with ${GITHUB_CONTEXT_JOB}`);
  const after = needs.slice(1).map((n) => {
    const spec = idToName.get(str(n, `${where}: needs`));
    if (spec === undefined) fail(`${where}: needs an unknown job ${String(n)}`);
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
  const vars: Array<[string, Template]> = [];
  for (let i = 0; i < envCount; i++) vars.push([env.get(`ENV_NAME_${i}`), parseTemplate(env.get(`ENV_VALUE_${i}`))]);
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

  const minutes = num(job["timeout-minutes"], `${where}: timeout-minutes`);
  if (minutes !== jobTimeoutMinutes(attempts, timeoutSeconds, waits, runTimeout))
    fail(`${where}: timeout-minutes ${minutes} does not bound the attempts and waits`);

  return [
    name,
    {
      after: [...after].sort(compareStrings),
      image,
      command,
      args,
      env: sortedRecord(vars),
      cpu: cpus === "" ? null : cpus,
      memory: memoryBytes === "" ? null : memoryBytes,
      attempts,
      waitsSeconds: waits,
      timeoutSeconds,
    },
  ];
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

  const idToName = new Map<string, string>();
  for (const [id, job] of Object.entries(jobs)) if (id !== GITHUB_CONTEXT_JOB) idToName.set(id, str(obj(job, id).name, `${id}: name`));
  const lifted: Array<[string, JobSummary]> = [];
  for (const [id, job] of Object.entries(jobs)) {
    if (id === GITHUB_CONTEXT_JOB) continue;
    lifted.push(liftJob(id, obj(job, id), timeoutSeconds, idToName));
  }
  return { workflow, schedule, timeoutSeconds, jobs: sortedRecord(lifted) };
}
