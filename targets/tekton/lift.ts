/**
 * Tekton YAML (as `emit` writes it) -> the neutral Summary, read from the fields Tekton
 * and Kubernetes act on: `retries`, the wait step's waits list, the job step's `timeout`,
 * `runAfter`, `timeouts.pipeline`, the CronJob's `schedule`/`timeZone` and the creator's
 * window. Anything that contradicts how emit works (a limit on a TaskRun, a request that is
 * not also the limit, a `$` Kubernetes would expand) throws: lifting must not paper over drift.
 */
import type { V1Container, V1CronJob, V1EnvVar } from "@kubernetes/client-node";
import { RUNTIME_VARIABLES, type RuntimeVariable, type Segment, type Template } from "../../src/ir.js";
import { TEKTON_CONTEXT_TASK, TEKTON_STEPS } from "../../src/names.js";
import { compareStrings, cpuMeaning, memoryMeaning, sortedRecord, type JobSummary, type ScheduleSummary, type Summary } from "../../src/summary.js";
import { parseYamlStream } from "../../src/yaml.js";
import { ENV, type TektonPipeline, type TektonPipelineRun, type TektonStep } from "./emit.js";

export function lift(text: string): Summary {
  const docs = parseYamlStream(text) as { kind?: string }[];
  const pipeline = only<TektonPipeline>(docs, "Pipeline");
  const manualRun = only<TektonPipelineRun>(docs, "PipelineRun");
  const cronJobs = docs.filter((d) => d?.kind === "CronJob") as V1CronJob[];
  if (cronJobs.length > 1) throw new Error("more than one CronJob in the Tekton output");

  const tasks = pipeline.spec.tasks.filter((t) => t.name !== TEKTON_CONTEXT_TASK);
  const specNameOf = new Map(tasks.map((t) => [t.name, t.displayName]));
  const jobs: Record<string, JobSummary> = {};
  for (const task of tasks) {
    if (task.timeout !== "0s") throw new Error(`task ${task.name}: a TaskRun timeout (${task.timeout}) would also bound the retry wait`);
    const steps = task.taskSpec.steps;
    const step = findStep(steps, TEKTON_STEPS.job, task.name);
    const wait = steps.find((s) => s.name === TEKTON_STEPS.wait);
    if (wait !== undefined && wait.env?.find((e) => e.name === ENV.retryCount)?.value !== "$(context.task.retry-count)") {
      throw new Error(`task ${task.name}: the wait step does not read the retry count`);
    }
    const requests = step.computeResources?.requests ?? {};
    const limits = step.computeResources?.limits ?? {};
    for (const key of new Set([...Object.keys(requests), ...Object.keys(limits)])) {
      if (requests[key] !== limits[key]) throw new Error(`task ${task.name}: ${key} request and limit differ`);
    }
    jobs[task.displayName] = {
      after: (task.runAfter ?? [])
        .filter((n) => n !== TEKTON_CONTEXT_TASK)
        .map((n) => specNameOf.get(n) ?? fail(`task ${task.name} runs after unknown task ${n}`))
        .sort(compareStrings),
      image: step.image ?? fail(`task ${task.name} has no image`),
      command: step.command === undefined ? null : step.command.map(parseTemplate),
      args: step.args === undefined ? null : step.args.map(parseTemplate),
      env: sortedRecord((step.env ?? []).map((e): [string, Template] => [e.name, parseTemplate(e.value ?? "")])),
      cpu: cpuMeaning(requests.cpu ?? null),
      memory: memoryMeaning(requests.memory ?? null),
      attempts: task.retries + 1,
      waitsSeconds: wait === undefined ? [] : parseWaits(envValue(wait, ENV.retryWaits)),
      timeoutSeconds: parseTimeout(step.timeout ?? fail(`task ${task.name}: the job step has no explicit timeout`)),
    };
  }

  const timeoutSeconds = parseTimeout(manualRun.spec.timeouts.pipeline);
  let schedule: ScheduleSummary | null = null;
  const cron = cronJobs[0];
  if (cron !== undefined) {
    const spec = cron.spec ?? fail("the CronJob has no spec");
    const creator = spec.jobTemplate.spec?.template.spec?.containers[0] ?? fail("the CronJob has no creator container");
    const run = JSON.parse(envValue(creator, ENV.pipelineRun)) as TektonPipelineRun;
    if (parseTimeout(run.spec.timeouts.pipeline) !== timeoutSeconds) throw new Error("scheduled and manual PipelineRuns have different timeouts");
    if (run.spec.pipelineRef.name !== pipeline.metadata.name) throw new Error("the scheduled PipelineRun runs another Pipeline");
    const start = envValue(creator, ENV.windowStart);
    const end = envValue(creator, ENV.windowEnd);
    schedule = {
      kind: "cron",
      cron: spec.schedule,
      timezone: spec.timeZone ?? fail("the CronJob has no timeZone"),
      start: start === "" ? null : start,
      end: end === "" ? null : end,
      // A CronJob starts only slots within startingDeadlineSeconds: it never catches up.
      catchup: false,
    };
  }

  return {
    workflow: pipeline.spec.displayName,
    schedule,
    timeoutSeconds,
    jobs: sortedRecord(Object.entries(jobs)),
  };
}

/** Inverse of `renderTemplate`: `$$` is a literal `$`, `$(tasks.kfm-context.results.V)` the runtime value V; any other `$` is not ours. */
export function parseTemplate(text: string): Template {
  const out: Segment[] = [];
  let literal = "";
  const prefix = `$(tasks.${TEKTON_CONTEXT_TASK}.results.`;
  for (let i = 0; i < text.length;) {
    if (text.startsWith("$$", i)) {
      literal += "$";
      i += 2;
    } else if (text.startsWith(prefix, i)) {
      const close = text.indexOf(")", i);
      const name = text.slice(i + prefix.length, close);
      if (close < 0 || !(RUNTIME_VARIABLES as readonly string[]).includes(name)) throw new Error(`unknown runtime value reference in ${JSON.stringify(text)}`);
      if (literal !== "") out.push({ text: literal });
      literal = "";
      out.push({ variable: name as RuntimeVariable });
      i = close + 1;
    } else if (text[i] === "$") {
      throw new Error(`a lone $ that Kubernetes or Tekton would expand in ${JSON.stringify(text)}`);
    } else {
      literal += text[i];
      i += 1;
    }
  }
  if (literal !== "") out.push({ text: literal });
  return out;
}

/** A Go duration as written by `goDuration`; `0s` (Tekton's "no timeout") is null. */
export function parseTimeout(text: string): number | null {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(text);
  if (m === null || text === "") throw new Error(`not a Go duration: ${JSON.stringify(text)}`);
  const seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return seconds === 0 ? null : seconds;
}

function parseWaits(text: string): number[] {
  return text === "" ? [] : text.split(" ").map((w) => (/^\d+(\.\d+)?$/.test(w) ? Number(w) : fail(`bad retry wait ${JSON.stringify(w)}`)));
}

/** A literal env value of a generated container (Kubernetes-escaped like every value emit writes). */
function envValue(container: Pick<V1Container, "env">, name: string): string {
  const e: V1EnvVar | undefined = (container.env ?? []).find((v) => v.name === name);
  if (e?.value === undefined) throw new Error(`container has no ${name} value`);
  const t = parseTemplate(e.value);
  if (t.some((s) => "variable" in s)) throw new Error(`${name} holds a runtime value`);
  return t.map((s) => ("text" in s ? s.text : "")).join("");
}

function findStep(steps: readonly TektonStep[], name: string, task: string): TektonStep {
  return steps.find((s) => s.name === name) ?? fail(`task ${task} has no step ${name}`);
}

function only<T>(docs: readonly { kind?: string }[], kind: string): T {
  const found = docs.filter((d) => d?.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in the Tekton output, found ${found.length}`);
  return found[0] as T;
}

function fail(message: string): never {
  throw new Error(message);
}
