/**
 * Tekton YAML (as `emit` writes it, followed by the manual run `manualRun` writes) -> the
 * neutral Summary, read from the fields Tekton and Kubernetes act on: `retries`, the wait
 * step's waits list, the job step's `timeout`, `runAfter`, `timeouts.pipeline` or `.tasks` (of the
 * manual run, or of the run the CronJob creates), the CronJob's `schedule`/`timeZone` and
 * the creator's window. Anything that contradicts how emit works (a limit on a TaskRun, a
 * request that is not also the limit, a `$` Kubernetes would expand) throws: lifting must
 * not paper over drift.
 */
import type { V1Container, V1CronJob, V1EnvVar, V1Job, V1Role, V1RoleBinding, V1ServiceAccount } from "@kubernetes/client-node";
import type { SecretRef, Segment, Template } from "../../src/ir.js";
import {
  kubeName,
  LOGICAL_DATE_PARAM,
  TEKTON_APPROVERS_PARAM,
  TEKTON_CONTEXT_TASK,
  TEKTON_DOLLAR_PARAM,
  TEKTON_OK_RESULT,
  TEKTON_RUN_STATUS_TASK,
  TEKTON_STEPS,
  tektonFailedTaskName,
  tektonUpstreamWaitTask,
  tektonWaiterAccount,
  tektonNotifyTaskName,
  tektonRunQueueLease,
  TEKTON_START_RUNS_TASK,
} from "../../src/names.js";
import {
  compareStrings,
  cpuMeaning,
  memoryMeaning,
  sortedRecord,
  type JobSummary,
  type NotificationSummary,
  type ScheduleSummary,
  type Summary,
} from "../../src/summary.js";
import { parseYamlStream } from "../../src/yaml.js";
import { parseCron } from "../../src/cron.js";
import { locationFromPatterns, OBJECT_CREATED_PATTERN, s3Source } from "../events.js";
import { NOTIFY_TASK_SECONDS, notifyScript, readNotifyInputs, type NotifyValue } from "../../src/notify.js";
import { RESTRICTED_CONTAINER_SECURITY_CONTEXT } from "../kubernetes.js";
import {
  APPROVAL_PARAMS,
  APPROVAL_TASK_REF,
  APPROVALS_REQUIRED,
  ATTEMPT_REF,
  creatorRules,
  creatorScript,
  cronJobSchedule,
  PENDING_STATUS,
  STARTER_SCRIPT,
  UPSTREAM_POLL_SECONDS,
  UPSTREAM_WAIT_SCRIPT,
  WAITER_RULES,
  STARTER_TASK_SECONDS,
  starterRules,
  DOLLAR_REF,
  ESCAPED_VARIABLE_AT,
  goDuration,
  HELPER_PARAMS,
  isHelperName,
  NOTIFY_PARAMS,
  NOTIFY_PRELUDE,
  RUN_FAILED_WHEN,
  runParam,
  CONTEXT_SCRIPT,
  CONTEXT_VARIABLES,
  ENV,
  k8sLiteral,
  layered,
  LISTENER_CLUSTER_ROLE,
  literalParamNames,
  LOGICAL_DATE_EXPRESSION,
  LOGICAL_DATE_EXTENSION,
  TRIGGERS_API,
  type TektonPipeline,
  type TektonPipelineRun,
  type TektonPipelineTask,
  type TektonStep,
} from "./emit.js";

type Doc = Record<string, any>;

/**
 * An event trigger's objects (README "Event triggers"): the EventListener's account bound to
 * Tekton Triggers' EventListener ClusterRole, a TriggerBinding taking the logical date from
 * the interceptor's extension, a TriggerTemplate creating the PipelineRun with it, and the
 * EventListener whose one trigger's CEL interceptor passes a new object's record in the bucket
 * under the prefix and writes its eventTime as the logical date. Returns the schedule and the run.
 */
function liftTriggers(docs: readonly Doc[], pipelineName: string): { schedule: ScheduleSummary; run: TektonPipelineRun } {
  const kinds = docs.map((d) => d["kind"]).join(",");
  if (kinds !== "ServiceAccount,RoleBinding,TriggerBinding,TriggerTemplate,EventListener")
    throw new Error(`the event objects are ${kinds}, not the EventListener's account, a TriggerBinding, a TriggerTemplate and an EventListener`);
  const [sa, binding, tb, tt, el] = docs as [Doc, Doc, Doc, Doc, Doc];
  const account = sa["metadata"]?.["name"];
  const ns = binding["metadata"]?.["namespace"];
  if (
    binding["metadata"]?.["name"] !== account ||
    JSON.stringify(binding["roleRef"]) !== JSON.stringify({ apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: LISTENER_CLUSTER_ROLE }) ||
    JSON.stringify(binding["subjects"]) !== JSON.stringify([{ kind: "ServiceAccount", name: account, ...(ns === undefined ? {} : { namespace: ns }) }])
  )
    throw new Error(`the EventListener's RoleBinding does not bind ${LISTENER_CLUSTER_ROLE} to its account alone`);
  for (const d of [tb, tt, el]) if (d["apiVersion"] !== TRIGGERS_API) throw new Error(`the ${String(d["kind"])} is not ${TRIGGERS_API}`);
  if (JSON.stringify(tb["spec"]) !== JSON.stringify({ params: [{ name: LOGICAL_DATE_PARAM, value: `$(extensions.${LOGICAL_DATE_EXTENSION})` }] }))
    throw new Error(`the TriggerBinding does not take ${LOGICAL_DATE_PARAM} from the interceptor's ${LOGICAL_DATE_EXTENSION} alone`);
  const ttSpec = tt["spec"] ?? fail("the TriggerTemplate has no spec");
  if ((ttSpec["params"] ?? []).map((p: Doc) => p["name"]).join(",") !== LOGICAL_DATE_PARAM)
    throw new Error(`the TriggerTemplate takes other than ${LOGICAL_DATE_PARAM}`);
  const templates = ttSpec["resourcetemplates"] ?? [];
  if (templates.length !== 1 || templates[0]["kind"] !== "PipelineRun") throw new Error("the TriggerTemplate creates other than one PipelineRun");
  const run = templates[0] as TektonPipelineRun;
  if (run.spec.params.find((p) => p.name === LOGICAL_DATE_PARAM)?.value !== `$(tt.params.${LOGICAL_DATE_PARAM})`)
    throw new Error(`the PipelineRun's ${LOGICAL_DATE_PARAM} is not the TriggerTemplate's`);
  const spec = el["spec"] ?? fail("the EventListener has no spec");
  if (spec["serviceAccountName"] !== account) throw new Error("the EventListener does not run as its account");
  if (Object.keys(spec).join(",") !== "serviceAccountName,triggers" || spec["triggers"].length !== 1)
    throw new Error("the EventListener has other than one trigger");
  const trigger = spec["triggers"][0] as Doc;
  if (
    JSON.stringify(trigger["bindings"]) !== JSON.stringify([{ ref: tb["metadata"]["name"], kind: "TriggerBinding" }]) ||
    JSON.stringify(trigger["template"]) !== JSON.stringify({ ref: tt["metadata"]["name"] })
  )
    throw new Error("the trigger does not use the file's TriggerBinding and TriggerTemplate");
  const interceptors = trigger["interceptors"] ?? [];
  if (interceptors.length !== 1 || JSON.stringify(interceptors[0]["ref"]) !== JSON.stringify({ name: "cel", kind: "ClusterInterceptor" }))
    throw new Error("the trigger has other than one CEL interceptor");
  const params = new Map<string, unknown>((interceptors[0]["params"] ?? []).map((p: Doc) => [p["name"], p["value"]]));
  if (JSON.stringify(params.get("overlays")) !== JSON.stringify([{ key: LOGICAL_DATE_EXTENSION, expression: LOGICAL_DATE_EXPRESSION }]) || params.size !== 2)
    throw new Error("the interceptor does not write the record's eventTime as the logical date alone");
  const filter = String(params.get("filter"));
  const m =
    /^body\.Records\[0\]\.eventName\.matches\('(.*)'\) && body\.Records\[0\]\.s3\.bucket\.name\.matches\('(.*)'\) && body\.Records\[0\]\.s3\.object\.key\.matches\('(.*)'\)$/.exec(
      filter,
    );
  const unquote = (v: string) => v.replace(/\\(.)/g, "$1");
  if (m === null || unquote(m[1]!) !== OBJECT_CREATED_PATTERN) throw new Error("the interceptor's filter does not pass exactly new objects' records");
  const location = locationFromPatterns(unquote(m[2]!), unquote(m[3]!)) ?? fail("the filter's bucket and key patterns are not a bucket and a key prefix");
  if (run.spec.pipelineRef.name !== pipelineName) throw new Error("the TriggerTemplate's PipelineRun runs another Pipeline");
  return { schedule: { kind: "event", trigger: "s3_file_arrival", source: s3Source(location.bucket, location.prefix) }, run };
}

export function lift(text: string): Summary {
  const allDocs = parseYamlStream(text) as Doc[];
  // An event trigger's objects: the EventListener's account and Tekton Triggers' objects.
  const listener = allDocs.find((d) => d?.["kind"] === "EventListener");
  const listenerAccount = listener?.["spec"]?.["serviceAccountName"];
  const triggerDocs = allDocs.filter(
    (d) => String(d?.["apiVersion"]).startsWith("triggers.tekton.dev/") || (listenerAccount !== undefined && d?.["metadata"]?.["name"] === listenerAccount),
  );
  const docs = allDocs.filter((d) => !triggerDocs.includes(d)) as { kind?: string }[];
  const pipeline = only<TektonPipeline>(docs, "Pipeline");
  const runs = docs.filter((d) => d?.kind === "PipelineRun") as TektonPipelineRun[];
  if (runs.length > 1) throw new Error("more than one PipelineRun in the Tekton output");
  const manualRun = runs[0];
  const cronJobs = docs.filter((d) => d?.kind === "CronJob") as V1CronJob[];
  if (cronJobs.length > 1) throw new Error("more than one CronJob in the Tekton output");

  const context = pipeline.spec.tasks.find((t) => t.name === TEKTON_CONTEXT_TASK) ?? fail("the Pipeline has no kfm-context task");
  const contextSpec = context.taskSpec ?? fail("kfm-context has no taskSpec");
  const contextStep = findStep(contextSpec.steps, TEKTON_STEPS.context, TEKTON_CONTEXT_TASK);
  // The scripts compute what jobs see: an edited script is an edited meaning.
  if (contextStep.command?.[2] !== k8sLiteral(CONTEXT_SCRIPT)) throw new Error("kfm-context does not run the context script");
  const runTokenSeed = envValue(contextStep, ENV.runTokenSeed);
  const contextResults = new Set((contextSpec.results ?? []).map((r) => r.name));
  // The failure emulation: kfm-context writes `ok`, which every all_succeeded job's `when` reads.
  const emulated = contextResults.has(TEKTON_OK_RESULT);
  if (emulated !== (envValueOrNull(contextStep, ENV.okPath) === `$(results.${TEKTON_OK_RESULT}.path)`))
    throw new Error("kfm-context declares ok but does not write it, or the reverse");

  const failedMarkers = pipeline.spec.tasks.filter((t) => t.name.startsWith(FAILED_PREFIX));
  const waitTasks = pipeline.spec.tasks.filter((t) => t.name.startsWith(UPSTREAM_WAIT_PREFIX));
  const upstream = waitTasks.map(liftUpstreamWait);
  const waitNames = waitTasks.map((t) => t.name);
  // A root job runs after kfm-context and every upstream wait, any other job after none: checked, the
  // jobs are read without the waits.
  const written = pipeline.spec.tasks.filter((t) => t.name !== TEKTON_CONTEXT_TASK && !t.name.startsWith(FAILED_PREFIX) && !waitNames.includes(t.name));
  for (const t of written) {
    const runAfter = t.runAfter ?? [];
    const parents = runAfter.filter((n) => n !== TEKTON_CONTEXT_TASK && !waitNames.includes(n));
    if (parents.length === 0 && waitNames.some((w) => !runAfter.includes(w))) throw new Error(`task ${t.name} does not wait for every upstream workflow`);
    if (parents.length > 0 && parents.length !== runAfter.length) throw new Error(`task ${t.name} runs after both jobs and the tasks before any job`);
  }
  const tasks = written.map((t) => (t.runAfter === undefined ? t : { ...t, runAfter: t.runAfter.filter((n) => !waitNames.includes(n)) }));
  const finallyTasks = pipeline.spec.finally ?? [];
  const specNameOf = new Map(tasks.map((t) => [t.name, t.displayName]));
  const gates = new Map(tasks.filter((t) => t.taskRef !== undefined).map((t) => [t.name, t]));
  const soft = new Map(tasks.map((t) => [t.name, t.taskRef === undefined && failureIsSoft(t)]));
  const guards = guardsFor(tasks, gates);
  // Without the emulation every failure stops the run, which is the meaning only when the jobs are layered (emit.ts `emulatesFailure`).
  if (!emulated && !layered(tasks.map((t) => ({ name: t.name, dependsOn: (t.runAfter ?? []).filter((n) => n !== TEKTON_CONTEXT_TASK) }))))
    throw new Error("the Pipeline has no failure emulation, but a failure would stop a job neither upstream nor downstream of the failed one");
  const jobs: Record<string, JobSummary> = {};
  if (gates.size > 0) checkApprovers(pipeline);
  for (const task of tasks) {
    const parents = (task.runAfter ?? []).filter((n) => n !== TEKTON_CONTEXT_TASK);
    // A root runs after kfm-context; every other task after it through its parents.
    if (parents.length === 0 && !(task.runAfter ?? []).includes(TEKTON_CONTEXT_TASK)) throw new Error(`task ${task.name} runs before kfm-context`);
    const after = parents.map((n) => specNameOf.get(n) ?? fail(`task ${task.name} runs after unknown task ${n}`)).sort(compareStrings);
    if (task.taskRef !== undefined) {
      jobs[task.displayName] = gateSummary(task, after, runWhenOf(task, emulated, soft, gates, guards));
      continue;
    }
    if (task.timeout !== "0s") throw new Error(`task ${task.name}: a TaskRun timeout (${task.timeout}) would also bound the retry wait`);
    const steps = (task.taskSpec ?? fail(`task ${task.name} has neither taskSpec nor taskRef`)).steps;
    const step = findStep(steps, TEKTON_STEPS.job, task.name);
    const wait = steps.find((s) => s.name === TEKTON_STEPS.wait);
    if ((wait === undefined) !== (task.retries === 0)) throw new Error(`task ${task.name}: a wait step goes with retries, and only with retries`);
    // The wait script itself is the shared StepAction's (the folder file), named by its digest.
    if (wait !== undefined && !isHelperName(wait.ref?.name, "wait")) throw new Error(`task ${task.name}: the wait step does not run the wait StepAction`);
    const requests = step.computeResources?.requests ?? {};
    const limits = step.computeResources?.limits ?? {};
    for (const key of new Set([...Object.keys(requests), ...Object.keys(limits)])) {
      if (requests[key] !== limits[key]) throw new Error(`task ${task.name}: ${key} request and limit differ`);
    }
    const env = (step.env ?? []).map((e): [string, Template | SecretRef] => {
      if (e.valueFrom !== undefined) {
        const ref = e.valueFrom.secretKeyRef ?? fail(`task ${task.name}: env ${e.name} is not a secret reference`);
        return [e.name, { secret: ref.name ?? fail(`task ${task.name}: env ${e.name} names no secret`), key: ref.key }];
      }
      // A job with a single attempt has no wait step: its attempt is the number 1.
      if (e.name === "KFM_ATTEMPT" && e.value === "1" && task.retries === 0) return [e.name, [{ variable: "attempt" }]];
      return [e.name, parseTemplate(e.value ?? "")];
    });
    const templates = [...(step.command ?? []), ...(step.args ?? []), ...(step.env ?? []).map((e) => e.value ?? "")];
    // Literal Tekton references (README, Literal text): kfm-dollar with default $$, and each
    // name a literal $(params.<name>) holds declared with default "", nothing else, no value passed.
    const declared = JSON.stringify(task.taskSpec!.params ?? []);
    const literalTemplates = templates.map(parseTemplate);
    const expected = templates.some((t) => t.includes(DOLLAR_REF))
      ? [
          { name: TEKTON_DOLLAR_PARAM, type: "string", default: "$$" },
          ...literalParamNames(literalTemplates).map((name) => ({ name, type: "string", default: "" })),
        ]
      : [];
    if (declared !== JSON.stringify(expected) || (task.params ?? []).some((p) => expected.some((e) => e.name === p.name))) {
      throw new Error(`task ${task.name} declares params ${declared}, not those its literal Tekton references need`);
    }
    if (wait === undefined && templates.some((t) => t.includes(ATTEMPT_REF))) throw new Error(`task ${task.name} reads an attempt no wait step writes`);
    for (const v of CONTEXT_VARIABLES) {
      if (templates.some((t) => t.includes(`$(tasks.${TEKTON_CONTEXT_TASK}.results.${v})`)) && !contextResults.has(v)) {
        throw new Error(`task ${task.name} reads ${v}, which kfm-context does not write`);
      }
    }
    jobs[task.displayName] = {
      approval: null,
      after,
      image: step.image ?? fail(`task ${task.name} has no image`),
      command: step.command === undefined ? null : step.command.map(parseTemplate),
      args: step.args === undefined ? null : step.args.map(parseTemplate),
      runWhen: runWhenOf(task, emulated, soft, gates, guards),
      failureFailsRun: failureFailsRun(task, soft.get(task.name)!, finallyTasks, failedMarkers),
      env: sortedRecord(env),
      cpu: cpuMeaning(requests.cpu ?? null),
      memory: memoryMeaning(requests.memory ?? null),
      attempts: (task.retries ?? fail(`task ${task.name}: no explicit retries`)) + 1,
      waitsSeconds: wait === undefined ? [] : parseWaits(stepParam(wait, HELPER_PARAMS.waits)),
      timeoutSeconds: parseTimeout(step.timeout ?? fail(`task ${task.name}: the job step has no explicit timeout`)),
    };
  }

  // The workflow timeout is the runs' (a Pipeline has none): the manual run's and the
  // scheduled run's must agree; an unscheduled workflow's is only in its manual run.
  if (manualRun !== undefined) checkRun(pipeline, manualRun, gates.size > 0, "the manual PipelineRun");
  let timeoutSeconds = manualRun === undefined ? undefined : runTimeout(manualRun);
  const liftedRuns: TektonPipelineRun[] = manualRun === undefined ? [] : [manualRun];
  let schedule: ScheduleSummary | null = null;
  if (triggerDocs.length > 0) {
    const event = liftTriggers(triggerDocs, pipeline.metadata.name);
    checkRun(pipeline, event.run, gates.size > 0, "the event's PipelineRun");
    const t = runTimeout(event.run);
    liftedRuns.push(event.run);
    if (timeoutSeconds !== undefined && t !== timeoutSeconds) throw new Error("the event's and the manual PipelineRuns have different timeouts");
    timeoutSeconds = t;
    schedule = event.schedule;
  }
  // max_active_runs (README "Concurrency"): the finally task that starts queued runs holds the limit.
  const maxActiveRuns = liftStarterTask(finallyTasks, pipeline.metadata.name);
  const cron = cronJobs[0];
  if (cron !== undefined) {
    const spec = cron.spec ?? fail("the CronJob has no spec");
    // Forbid would drop a slot due while a creator Job runs, Replace would kill that Job (kubernetes
    // pkg/controller/cronjob/cronjob_controllerv2.go): neither is a queue (README, Concurrency).
    if (spec.concurrencyPolicy !== "Allow") throw new Error(`the CronJob's concurrencyPolicy is ${String(spec.concurrencyPolicy)}, not Allow`);
    const pod = spec.jobTemplate.spec?.template.spec ?? fail("the CronJob has no pod template");
    // With the queue the creator is the init container, and the starter runs after it.
    const creator = (maxActiveRuns === null ? pod.containers[0] : pod.initContainers?.[0]) ?? fail("the CronJob has no creator container");
    const timezone = spec.timeZone ?? fail("the CronJob has no timeZone");
    const start = envValue(creator, ENV.windowStart);
    const end = envValue(creator, ENV.windowEnd);
    const window = { timezone, start: start === "" ? null : start, end: end === "" ? null : end };
    const own = ownCron(spec.schedule, window, envValueOrNull(creator, ENV.slotHours));
    const expected = cronJobSchedule({ cron: own, ...window });
    if (creator.command?.[2] !== k8sLiteral(creatorScript(expected.dst)))
      throw new Error(`the CronJob's container does not run the creator script${expected.dst === null ? "" : " with the daylight-saving guard"}`);
    // The guard's data is exactly what the schedule needs (emit.ts cronJobSchedule), and present only with the guard.
    if (envValueOrNull(creator, ENV.tzRule) !== (expected.tzRule === null ? null : k8sLiteral(expected.tzRule)))
      throw new Error(`the creator's ${ENV.tzRule} is not the POSIX TZ rule of ${timezone} (${JSON.stringify(expected.tzRule)})`);
    if (envValueOrNull(creator, ENV.slotHours) !== (expected.dst?.hours.join(" ") ?? null))
      throw new Error(`the creator's ${ENV.slotHours} is not the cron's hours (${JSON.stringify(expected.dst?.hours.join(" ") ?? null)})`);
    if (maxActiveRuns !== null) {
      if (pod.containers.length !== 1 || pod.initContainers?.length !== 1) throw new Error("the CronJob's pod is not the creator followed by the starter");
      checkStarterContainer(pod.containers[0]!, pipeline.metadata.name, maxActiveRuns, "the CronJob's starter");
    } else if (pod.initContainers !== undefined) throw new Error("the CronJob's pod has init containers without a run queue");
    checkAccount(docs, pod.serviceAccountName, creatorRules({ name: pipeline.spec.displayName, maxActiveRuns }), "the CronJob");
    const run = JSON.parse(envValue(creator, ENV.pipelineRun)) as TektonPipelineRun;
    checkRun(pipeline, run, gates.size > 0, "the scheduled PipelineRun");
    const scheduled = runTimeout(run);
    liftedRuns.push(run);
    if (timeoutSeconds !== undefined && scheduled !== timeoutSeconds) throw new Error("scheduled and manual PipelineRuns have different timeouts");
    timeoutSeconds = scheduled;
    schedule = {
      kind: "cron",
      cron: own,
      ...window,
      // A CronJob starts only slots within startingDeadlineSeconds: it never catches up.
      catchup: false,
    };
  }

  if (timeoutSeconds === undefined) throw new Error("no PipelineRun: the workflow timeout is in the manual run (lift the Pipeline followed by its run)");
  const notifications = liftNotifications(
    finallyTasks,
    contextResults,
    pipeline.spec.displayName,
    pipeline.spec.tasks.filter((t) => !waitNames.includes(t.name)),
  );
  // The split form (timeouts.tasks) is what keeps the notifications at the deadline: every
  // run has it exactly when the workflow has both (emit.ts `runTimeouts`).
  // The run starter is a finally task too: it must run when the workflow timeout fires.
  const split = (notifications.length > 0 || maxActiveRuns !== null) && timeoutSeconds !== null;
  if (liftedRuns.some((r) => (r.spec.timeouts.tasks !== undefined) !== split)) {
    throw new Error(
      split
        ? "a workflow timeout with notifications or a run queue not written as timeouts.tasks"
        : "timeouts.tasks without both a workflow timeout and notifications or a run queue",
    );
  }
  // Every upstream wait runs as the waiter account, which may only get PipelineRuns (README "Cross-workflow dependencies").
  const waiter = tektonWaiterAccount(pipeline.spec.displayName);
  if (waitNames.length > 0) {
    if (!docs.some((d) => d?.kind === "ServiceAccount" && (d as { metadata?: { name?: string } }).metadata?.name === waiter))
      throw new Error(`the upstream waits' account ${waiter} is not in the output`);
    checkAccount(docs, waiter, [...WAITER_RULES], "the upstream waits");
  }
  // Queued runs are created pending, their starter task running as the starter's account.
  for (const r of liftedRuns) {
    const all = r.spec.taskRunSpecs ?? [];
    const waitSpecs = all.slice(0, waitNames.length);
    if (JSON.stringify(waitSpecs) !== JSON.stringify(waitNames.map((pipelineTaskName) => ({ pipelineTaskName, serviceAccountName: waiter }))))
      throw new Error("a PipelineRun does not run every upstream wait as the waiter account");
    const specs = all.slice(waitNames.length);
    if (maxActiveRuns === null) {
      if (r.spec.status !== undefined || specs.length > 0) throw new Error("a PipelineRun created pending or with taskRunSpecs without a run queue");
      continue;
    }
    if (r.spec.status !== PENDING_STATUS) throw new Error(`a PipelineRun of a run queue is not created ${PENDING_STATUS}`);
    if (specs.length !== 1 || specs[0]!.pipelineTaskName !== TEKTON_START_RUNS_TASK || !specs[0]!.serviceAccountName)
      throw new Error(`a PipelineRun of a run queue does not run ${TEKTON_START_RUNS_TASK} as the starter's account`);
    checkAccount(docs, specs[0]!.serviceAccountName, starterRules({ name: pipeline.spec.displayName }), "the run starter");
  }
  // The manual run file starts its run through a starter Job.
  const starterJobs = docs.filter((d) => d?.kind === "Job") as V1Job[];
  if (maxActiveRuns !== null && manualRun !== undefined) {
    if (starterJobs.length !== 1) throw new Error("the manual run of a run queue has no starter Job");
    const pod = starterJobs[0]!.spec?.template.spec ?? fail("the starter Job has no pod");
    if (pod.containers.length !== 1) throw new Error("the starter Job runs other than the starter");
    checkStarterContainer(pod.containers[0]!, pipeline.metadata.name, maxActiveRuns, "the starter Job");
  } else if (starterJobs.length > 0) throw new Error("a Job without a run queue");
  // Under the emulation, a retried job's last failure (a succeeded TaskRun with ok = false)
  // is shown, and turns `$(tasks.status)` to Failed, through its kfm-failed-<n> task.
  const expectedMarkers = emulated ? tasks.filter((t) => t.taskRef === undefined && (t.retries ?? 0) > 0) : [];
  if (failedMarkers.length !== expectedMarkers.length) throw new Error("kfm-failed tasks do not match the retried jobs");
  for (const job of expectedMarkers) {
    const marker = failedMarkers.find((m) => m.runAfter?.length === 1 && m.runAfter[0] === job.name) ?? fail(`no kfm-failed task for ${job.name}`);
    const w = marker.when ?? [];
    if (
      marker.onError !== "continue" ||
      (marker.retries ?? 0) !== 0 ||
      w.length !== 1 ||
      w[0]!.input !== `$(tasks.${job.name}.results.${TEKTON_OK_RESULT})` ||
      w[0]!.operator !== "in" ||
      JSON.stringify(w[0]!.values) !== JSON.stringify(["false"]) ||
      marker.taskSpec?.steps.length !== 1 ||
      !isHelperName(marker.taskSpec.steps[0]!.ref?.name, "failed") ||
      stepParam(marker.taskSpec.steps[0]!, HELPER_PARAMS.job) !== k8sLiteral(job.displayName)
    )
      throw new Error(`kfm-failed task ${marker.name} does not fail for ${job.name}`);
  }

  return {
    workflow: pipeline.spec.displayName,
    schedule,
    timeoutSeconds,
    maxActiveRuns,
    runTokenSeed,
    upstream,
    notifications,
    jobs: sortedRecord(Object.entries(jobs)),
  };
}

const FAILED_PREFIX = tektonFailedTaskName(0).replace(/1$/, "");
const NOTIFY_PREFIX = tektonNotifyTaskName(0).replace(/1$/, "");

/** The Pipeline declares the approvers array param. */
function checkApprovers(pipeline: TektonPipeline): void {
  const declared = pipeline.spec.params.find((p) => p.name === TEKTON_APPROVERS_PARAM);
  if (declared?.type !== "array") throw new Error("a Pipeline with approval gates must declare the approvers array param");
}

/** A run of this Pipeline, passing the approvers list when it has gates. */
function checkRun(pipeline: TektonPipeline, run: TektonPipelineRun, gates: boolean, what: string): void {
  if (run.spec.pipelineRef.name !== pipeline.metadata.name) throw new Error(`${what} runs another Pipeline`);
  if (gates && !Array.isArray(run.spec.params.find((p) => p.name === TEKTON_APPROVERS_PARAM)?.value)) throw new Error(`${what} passes no approvers list`);
}

/**
 * An account a generated pod runs as (the creator's, the run starter's): when the file
 * declares a ServiceAccount of that name, it is bound by a RoleBinding of that name to a Role
 * of that name granting exactly `rules` (an option may name an existing account instead, and
 * then the file declares none of that name).
 */
function checkAccount(
  docs: readonly { kind?: string }[],
  account: string | undefined,
  rules: readonly { apiGroups: readonly string[]; resources: readonly string[]; resourceNames?: readonly string[]; verbs: readonly string[] }[],
  who: string,
): void {
  if (account === undefined || account === "") throw new Error(`${who} names no ServiceAccount`);
  const named = <T>(kind: string) => docs.filter((d) => d?.kind === kind && (d as { metadata?: { name?: string } }).metadata?.name === account) as T[];
  const accounts = named<V1ServiceAccount>("ServiceAccount");
  const [roles, bindings] = [named<V1Role>("Role"), named<V1RoleBinding>("RoleBinding")];
  if (accounts.length + roles.length + bindings.length === 0) return;
  if (accounts.length !== 1 || roles.length !== 1 || bindings.length !== 1) throw new Error(`${who}'s account is one ServiceAccount, Role and RoleBinding`);
  const b = bindings[0]!;
  if (b.roleRef.kind !== "Role" || b.roleRef.name !== account) throw new Error("the RoleBinding binds another Role");
  // The subject names the namespace only when the objects do (the namespace option).
  const ns = b.metadata?.namespace;
  if (JSON.stringify(b.subjects) !== JSON.stringify([{ kind: "ServiceAccount", name: account, ...(ns === undefined ? {} : { namespace: ns }) }]))
    throw new Error("the RoleBinding binds another subject");
  if (JSON.stringify(roles[0]!.rules) !== JSON.stringify(rules)) throw new Error(`${who}'s Role grants other rights than it needs`);
}

/**
 * The run starter's `finally` task (README "Concurrency"), or null when there is none: the
 * starter script on every run's end (no `when`), its failure kept from failing the run, its own
 * run excluded, and the limit, which is `max_active_runs`.
 */
function liftStarterTask(finallyTasks: readonly TektonPipelineTask[], pipelineName: string): number | null {
  const task = finallyTasks.find((t) => t.name === TEKTON_START_RUNS_TASK);
  if (task === undefined) return null;
  if (task.when !== undefined || task.retries !== 0 || task.timeout !== goDuration(STARTER_TASK_SECONDS))
    throw new Error(`${TEKTON_START_RUNS_TASK} does not run once, bounded, at every run's end`);
  const steps = task.taskSpec?.steps ?? [];
  if (steps.length !== 1 || steps[0]!.onError !== "continue") throw new Error(`${TEKTON_START_RUNS_TASK}'s failure would fail the run`);
  const step = steps[0]!;
  if (envValueOrNull(step, ENV.ownRun) !== "$(context.pipelineRun.name)" || envValueOrNull(step, ENV.namespace) !== "$(context.pipelineRun.namespace)")
    throw new Error(`${TEKTON_START_RUNS_TASK} does not count its own run as ended`);
  return starterLimit(step, pipelineName, TEKTON_START_RUNS_TASK);
}

/** A starter container of a pod (the CronJob's, the starter Job's): no own run, the same limit. */
function checkStarterContainer(c: V1Container, pipelineName: string, max: number, what: string): void {
  const own = (c.env ?? []).find((e) => e.name === ENV.ownRun);
  if (own === undefined || own.value !== undefined || own.valueFrom !== undefined) throw new Error(`${what} names a run of its own`);
  if (c.env?.find((e) => e.name === ENV.namespace)?.valueFrom?.fieldRef?.fieldPath !== "metadata.namespace")
    throw new Error(`${what} starts runs in another namespace`);
  if (starterLimit(c, pipelineName, what) !== max) throw new Error(`${what} has another run limit than the finally task`);
}

/** The limit of a starter: it runs the starter script on this Pipeline's runs with the workflow's Lease, restricted. */
function starterLimit(c: Pick<V1Container, "command" | "env" | "securityContext">, pipelineName: string, what: string): number {
  if (JSON.stringify(c.command) !== JSON.stringify(["/bin/bash", "-c", k8sLiteral(STARTER_SCRIPT)])) throw new Error(`${what} does not run the starter script`);
  if (envValue(c, ENV.pipeline) !== pipelineName) throw new Error(`${what} starts another Pipeline's runs`);
  if (envValue(c, ENV.lease) !== tektonRunQueueLease(pipelineName)) throw new Error(`${what} takes another Lease than the workflow's`);
  if (JSON.stringify(c.securityContext) !== JSON.stringify(RESTRICTED_CONTAINER_SECURITY_CONTEXT)) throw new Error(`${what} is not restricted`);
  const max = envValue(c, ENV.maxActiveRuns);
  if (!/^[1-9][0-9]*$/.test(max)) throw new Error(`${what}'s run limit ${JSON.stringify(max)} is not a positive number`);
  return Number(max);
}

/** An approval gate: the manual-approval-gate custom task, read from its taskRef, params and timeout. */
function gateSummary(task: TektonPipelineTask, after: string[], runWhen: string): JobSummary {
  const ref = task.taskRef!;
  if (ref.apiVersion !== APPROVAL_TASK_REF.apiVersion || ref.kind !== APPROVAL_TASK_REF.kind) throw new Error(`task ${task.name}: not an ApprovalTask`);
  if (task.taskSpec !== undefined) throw new Error(`task ${task.name}: a taskRef and a taskSpec`);
  const param = (name: string) => task.params?.find((p) => p.name === name)?.value;
  if (JSON.stringify(param(APPROVAL_PARAMS.approvers)) !== JSON.stringify([`$(params.${TEKTON_APPROVERS_PARAM}[*])`]))
    throw new Error(`task ${task.name}: the gate does not take the run's approvers`);
  if (param(APPROVAL_PARAMS.required) !== APPROVALS_REQUIRED) throw new Error(`task ${task.name}: the gate needs other than one approval`);
  // A failed gate must stop the run (README "Approval gates"): no onError, no retry.
  if (task.onError !== undefined || task.retries !== 0) throw new Error(`task ${task.name}: a gate whose failure would not fail the run`);
  const timeoutSeconds = parseTimeout(task.timeout ?? fail(`task ${task.name}: a gate without a timeout`));
  // 0s would make the controller reject at once; a missing timeout, reject after 60 minutes.
  if (timeoutSeconds === null) throw new Error(`task ${task.name}: a gate without a positive timeout`);
  return {
    approval: { timeoutSeconds },
    after,
    image: "",
    command: null,
    args: null,
    runWhen,
    failureFailsRun: true,
    env: {},
    cpu: cpuMeaning(null),
    memory: memoryMeaning(null),
    attempts: 1,
    waitsSeconds: [],
    timeoutSeconds: null,
  };
}

/** For each task, the tasks whose `ok` an all_succeeded `when` must read (`okGuards` in emit, recomputed from runAfter). */
function guardsFor(tasks: readonly TektonPipelineTask[], gates: ReadonlyMap<string, TektonPipelineTask>): Map<string, string[]> {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const memo = new Map<string, string[]>();
  const of = (name: string, depth: number): string[] => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    if (depth > tasks.length) throw new Error("a cycle in runAfter");
    const task = byName.get(name) ?? fail(`unknown task ${name}`);
    const out: string[] = [];
    for (const p of task.runAfter ?? []) {
      const names = gates.has(p) ? of(p, depth + 1) : [p];
      for (const n of names) if (!out.includes(n)) out.push(n);
    }
    memo.set(name, out);
    return out;
  };
  for (const t of tasks) of(t.name, 0);
  return memo;
}

/**
 * The failure notifications: `finally` tasks `kfm-notify-<n>` that run only when
 * `$(tasks.status)` is Failed, bounded by their timeout, each one step running the shared
 * notification script with the jobs' statuses and the run as params.
 */
function liftNotifications(
  finallyTasks: readonly TektonPipelineTask[],
  contextResults: ReadonlySet<string>,
  workflow: string,
  tasks: readonly TektonPipelineTask[],
): NotificationSummary[] {
  const notify = finallyTasks.filter((t) => t.name.startsWith(NOTIFY_PREFIX));
  // The statuses every notification passes: each job's task, then its kfm-failed-<n> marker when it has one.
  const markers = new Map(tasks.filter((t) => /^kfm-failed-[0-9]+$/.test(t.name)).map((t) => [t.runAfter?.[0], t.name]));
  const statuses = tasks
    .filter((t) => t.name !== TEKTON_CONTEXT_TASK && !/^kfm-failed-[0-9]+$/.test(t.name))
    .flatMap((t) => [`${t.displayName}=$(tasks.${t.name}.status)`, ...(markers.has(t.name) ? [`${t.displayName}=$(tasks.${markers.get(t.name)}.status)`] : [])])
    .join(" ");
  return notify.map((t, i): NotificationSummary => {
    if (t.name !== tektonNotifyTaskName(i)) throw new Error(`notification task ${t.name} out of order`);
    if (JSON.stringify(t.when) !== JSON.stringify([RUN_FAILED_WHEN])) throw new Error(`task ${t.name}: does not run only when the run failed`);
    if (t.retries !== 0 || t.onError !== undefined) throw new Error(`task ${t.name}: a notification is sent once`);
    if (t.timeout !== goDuration(NOTIFY_TASK_SECONDS)) throw new Error(`task ${t.name}: its timeout is not ${goDuration(NOTIFY_TASK_SECONDS)}`);
    const params = Object.fromEntries((t.params ?? []).map((p) => [p.name, p.value]));
    if (JSON.stringify(Object.keys(params)) !== JSON.stringify([NOTIFY_PARAMS.failed, NOTIFY_PARAMS.run]))
      throw new Error(`task ${t.name}: params are not the statuses and the run`);
    if (params[NOTIFY_PARAMS.failed] !== statuses) throw new Error(`task ${t.name}: the job statuses are not every job's`);
    const run = params[NOTIFY_PARAMS.run];
    if (
      run !== runParam(null) &&
      !(typeof run === "string" && run.endsWith("/#/namespaces/$(context.pipelineRun.namespace)/pipelineruns/$(context.pipelineRun.name)"))
    )
      throw new Error(`task ${t.name}: the run param is not the PipelineRun`);
    const steps = t.taskSpec?.steps ?? [];
    // The image is the deployment's (an option may name a mirror): any image with curl.
    if (steps.length !== 1 || !steps[0]!.image) throw new Error(`task ${t.name}: one curl step expected`);
    const step = steps[0]!;
    if (JSON.stringify(step.command) !== JSON.stringify(["sh", "-c", k8sLiteral(notifyScript(NOTIFY_PRELUDE))]))
      throw new Error(`task ${t.name}: does not run the notification script`);
    if (JSON.stringify(step.securityContext) !== JSON.stringify(RESTRICTED_CONTAINER_SECURITY_CONTEXT))
      throw new Error(`task ${t.name}: not the restricted securityContext`);
    const env = (step.env ?? []).map((e): NotifyValue<string> =>
      e.valueFrom === undefined ? { name: e.name, value: e.value ?? "" } : { name: e.name, secret: secretEnv(step, e.name) },
    );
    return readNotifyInputs(env, workflow, {
      template: (v) => {
        const message = parseTemplate(v);
        for (const seg of message) {
          if ("variable" in seg && (seg.variable === "attempt" || !contextResults.has(seg.variable)))
            throw new Error(`task ${t.name}: reads ${seg.variable}, which kfm-context does not write`);
        }
        return message;
      },
      literal: (v, what) => {
        const parsed = parseTemplate(v);
        if (parsed.some((seg) => "variable" in seg)) throw new Error(`task ${t.name}: ${what} holds a runtime value`);
        return parsed.map((seg) => ("text" in seg ? seg.text : "")).join("");
      },
      failed: (v) => v === `$(params.${NOTIFY_PARAMS.failed})`,
      run: (v) => v === `$(params.${NOTIFY_PARAMS.run})`,
      fail: (m) => {
        throw new Error(`task ${t.name}: ${m}`);
      },
    });
  });
}

function secretEnv(container: Pick<V1Container, "env">, name: string): SecretRef {
  const ref = (container.env ?? []).find((v) => v.name === name)?.valueFrom?.secretKeyRef ?? fail(`container has no secret ${name}`);
  return { secret: ref.name ?? fail(`${name} names no secret`), key: ref.key };
}

/**
 * Whether a failure of this job task, after its last attempt, leaves the other branches
 * running: its pipeline task has `onError: continue` (no retries), or its job step has
 * `onError: continue` and the fixed `kfm-status` step turns the last failed attempt into
 * `ok` = `false` with a succeeded TaskRun. Anything else fails the TaskRun, which stops the run.
 */
function failureIsSoft(task: TektonPipelineTask): boolean {
  const steps = (task.taskSpec ?? fail(`task ${task.name} has no taskSpec`)).steps;
  const job = findStep(steps, TEKTON_STEPS.job, task.name);
  const status = steps.find((s) => s.name === TEKTON_STEPS.status);
  if (task.onError !== undefined && task.onError !== "continue") throw new Error(`task ${task.name}: unknown onError ${String(task.onError)}`);
  if (task.onError === "continue" && (task.retries ?? 0) > 0) throw new Error(`task ${task.name}: Tekton rejects onError continue with retries`);
  if (status === undefined) {
    if (task.onError !== undefined || job.onError !== undefined) throw new Error(`task ${task.name}: onError without the kfm-status step`);
    return false;
  }
  if (status !== steps[steps.length - 1] || steps.indexOf(job) !== steps.length - 2) throw new Error(`task ${task.name}: kfm-status must follow the job step`);
  if (!isHelperName(status.ref?.name, "status")) throw new Error(`task ${task.name}: kfm-status does not run the status StepAction`);
  if (stepParam(status, HELPER_PARAMS.retries) !== String(task.retries)) throw new Error(`task ${task.name}: kfm-status and the task disagree on the retries`);
  const ok = (task.taskSpec!.results ?? []).find((r) => r.name === TEKTON_OK_RESULT);
  if (ok?.value !== `$(steps.${TEKTON_STEPS.status}.results.${TEKTON_OK_RESULT})`) throw new Error(`task ${task.name}: its ok result is not kfm-status's`);
  if (task.onError === "continue") return true;
  if (job.onError === "continue" && (task.retries ?? 0) > 0) return true;
  return false;
}

/**
 * `all_succeeded`: under the failure emulation (kfm-context writes `ok`), a `when` requires
 * the `ok` of every task it runs after (kfm-context for a root); without it, every parent
 * fails hard and Tekton's own stop skips the task. `all_done`: the emulation without a `when`.
 */
function runWhenOf(
  task: TektonPipelineTask,
  emulated: boolean,
  soft: ReadonlyMap<string, boolean>,
  gates: ReadonlyMap<string, TektonPipelineTask>,
  guards: ReadonlyMap<string, string[]>,
): string {
  const runAfter = task.runAfter ?? [];
  const expected = guards.get(task.name) ?? fail(`no guards for ${task.name}`);
  const guarded = new Set<string>();
  for (const w of task.when ?? []) {
    const m = /^\$\(tasks\.([a-z0-9-]+)\.results\.ok\)$/.exec(w.input);
    if (m === null || w.operator !== "in" || w.values.length !== 1 || w.values[0] !== "true")
      throw new Error(`task ${task.name}: unexpected when ${JSON.stringify(w)}`);
    if (!expected.includes(m[1]!)) throw new Error(`task ${task.name}: a when on ${m[1]}, which it does not run after`);
    guarded.add(m[1]!);
  }
  const parents = runAfter.filter((p) => p !== TEKTON_CONTEXT_TASK);
  if (!emulated) {
    if (guarded.size > 0) throw new Error(`task ${task.name}: a when without the failure emulation`);
    if (parents.some((p) => soft.get(p) === true)) throw new Error(`task ${task.name}: a parent whose failure is ignored, without the emulation`);
    return "all_succeeded";
  }
  // A gate parent stops the run when it fails (no onError): its children are guarded by the gate's own guards.
  if (parents.some((p) => soft.get(p) !== true && !gates.has(p))) throw new Error(`task ${task.name}: a parent that would stop the run when it fails`);
  if (guarded.size === expected.length) return "all_succeeded";
  if (guarded.size === 0 && !parents.some((p) => gates.has(p)) && !gates.has(task.name)) return "all_done";
  throw new Error(`task ${task.name}: a when on some parents only`);
}

/**
 * Whether a run in which this job fails ends failed: natively (its failure stops the run), or
 * by `kfm-run-status`, which fails the run when `$(tasks.status)` is Failed: a job without
 * retries fails its TaskRun (ignored by `onError: continue`), a retried one has its
 * `kfm-failed-<n>` task fail for it (checked with the markers below).
 */
function failureFailsRun(
  task: TektonPipelineTask,
  soft: boolean,
  finallyTasks: readonly TektonPipelineTask[],
  markers: readonly TektonPipelineTask[],
): boolean {
  if (!soft) return true;
  const runStatus = finallyTasks.find((t) => t.name === TEKTON_RUN_STATUS_TASK);
  if (
    runStatus === undefined ||
    JSON.stringify(runStatus.when) !== JSON.stringify([RUN_FAILED_WHEN]) ||
    runStatus.taskSpec?.steps.length !== 1 ||
    !isHelperName(runStatus.taskSpec.steps[0]!.ref?.name, "runStatus") ||
    runStatus.onError !== undefined
  )
    return false;
  if (task.onError === "continue") return true;
  return markers.some((m) => m.runAfter?.length === 1 && m.runAfter[0] === task.name);
}

/**
 * Inverse of `renderTemplate`: `$$` and `$(params.kfm-dollar)` are a literal `$` (a `$$`
 * before a Tekton reference is refused: Tekton would replace it), `$(tasks.kfm-context.results.V)` the
 * runtime value (or run token) V, `$(steps.kfm-wait.results.attempt)` the attempt; any other
 * `$` is not ours.
 */
export function parseTemplate(text: string): Template {
  const out: Segment[] = [];
  let literal = "";
  const prefix = `$(tasks.${TEKTON_CONTEXT_TASK}.results.`;
  for (let i = 0; i < text.length;) {
    if (text.startsWith("$$", i)) {
      ESCAPED_VARIABLE_AT.lastIndex = i;
      if (ESCAPED_VARIABLE_AT.test(text)) throw new Error(`a Tekton variable reference Tekton would replace in ${JSON.stringify(text)}`);
      literal += "$";
      i += 2;
    } else if (text.startsWith(DOLLAR_REF, i)) {
      // Tekton puts the param's default `$$` here, which Kubernetes reads as one `$`.
      literal += "$";
      i += DOLLAR_REF.length;
    } else if (text.startsWith(ATTEMPT_REF, i)) {
      if (literal !== "") out.push({ text: literal });
      literal = "";
      out.push({ variable: "attempt" });
      i += ATTEMPT_REF.length;
    } else if (text.startsWith(prefix, i)) {
      const close = text.indexOf(")", i);
      const name = text.slice(i + prefix.length, close);
      if (close < 0 || !(CONTEXT_VARIABLES as readonly string[]).includes(name)) throw new Error(`unknown runtime value reference in ${JSON.stringify(text)}`);
      if (literal !== "") out.push({ text: literal });
      literal = "";
      out.push({ variable: name as (typeof CONTEXT_VARIABLES)[number] });
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

/**
 * The workflow timeout of a PipelineRun: `timeouts.pipeline`, or `timeouts.tasks` when the
 * run has the split form (a workflow timeout with failure notifications, emit.ts
 * `runTimeouts`), where `finally` is the notification's bound and `pipeline` the sum.
 */
function runTimeout(run: TektonPipelineRun): number | null {
  const t = run.spec.timeouts;
  if (t.tasks === undefined && t.finally === undefined) return parseTimeout(t.pipeline);
  const tasks = parseTimeout(t.tasks ?? fail("timeouts.finally without timeouts.tasks"));
  if (tasks === null) throw new Error("timeouts.tasks is 0s");
  if (t.finally !== goDuration(NOTIFY_TASK_SECONDS)) throw new Error(`timeouts.finally is not ${goDuration(NOTIFY_TASK_SECONDS)}`);
  if (t.pipeline !== goDuration(tasks + NOTIFY_TASK_SECONDS)) throw new Error("timeouts.pipeline is not timeouts.tasks plus timeouts.finally");
  return tasks;
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
/** The value a step passes to its StepAction's param `name`. */
function stepParam(step: TektonStep, name: string): string {
  return step.params?.find((p) => p.name === name)?.value ?? fail(`step ${step.name} passes no ${name}`);
}

/**
 * The cron a CronJob's schedule was written for: the schedule itself, or it without the hours
 * its daylight-saving guard added after the cron's own hour field (emit.ts `cronJobSchedule`),
 * the guard's KFM_SLOT_HOURS being the cron's own hours.
 */
function ownCron(written: string, window: { timezone: string; start: string | null; end: string | null }, slotHours: string | null): string {
  const fields = written.split(" ");
  const hours = fields[1]?.split(",") ?? [];
  for (let keep = hours.length; keep >= 1; keep--) {
    const cron = [fields[0], hours.slice(0, keep).join(","), ...fields.slice(2)].join(" ");
    if (typeof parseCron(cron) === "string") continue;
    try {
      // `30 2,3` is the schedule of `30 2` and of `30 2,3` in Europe/Berlin: the guard's hours tell them apart.
      const s = cronJobSchedule({ cron, ...window });
      if (s.cron === written && (s.dst?.hours.join(" ") ?? null) === slotHours) return cron;
    } catch {
      // A zone without a POSIX TZ rule has no guard: not this candidate.
    }
  }
  throw new Error(`the CronJob's schedule ${JSON.stringify(written)} is neither a cron nor one with the hours its daylight-saving guard needs`);
}

function envValue(container: Pick<V1Container, "env">, name: string): string {
  const e: V1EnvVar | undefined = (container.env ?? []).find((v) => v.name === name);
  // A variable without a value (nor valueFrom) is set, empty, in the container.
  if (e === undefined || e.valueFrom !== undefined) throw new Error(`container has no ${name} value`);
  const t = parseTemplate(e.value ?? "");
  if (t.some((s) => "variable" in s)) throw new Error(`${name} holds a runtime value`);
  return t.map((s) => ("text" in s ? s.text : "")).join("");
}

/** An env value as written (not unescaped), or null when absent. */
function envValueOrNull(container: Pick<V1Container, "env">, name: string): string | null {
  return (container.env ?? []).find((v) => v.name === name)?.value ?? null;
}

function findStep(steps: readonly TektonStep[], name: string, task: string): TektonStep {
  return steps.find((s) => s.name === name) ?? fail(`task ${task} has no step ${name}`);
}

function only<T>(docs: readonly { kind?: string }[], kind: string): T {
  const found = docs.filter((d) => d?.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in the Tekton output, found ${found.length}`);
  return found[0] as T;
}

const UPSTREAM_WAIT_PREFIX = tektonUpstreamWaitTask("");

/**
 * One upstream wait read back (emit.ts `upstreamWaitTask`): named after the upstream's spec
 * name (its displayName), after kfm-context only, the fixed wait script in one restricted step
 * with the upstream's Pipeline name, the run's logical date, the poll and the timeout.
 */
function liftUpstreamWait(task: TektonPipelineTask): { workflow: string; timeoutSeconds: number | null } {
  const workflow = task.displayName;
  if (task.name !== tektonUpstreamWaitTask(workflow)) fail(`wait task ${task.name} is not named after ${workflow}`);
  if (
    JSON.stringify(task.runAfter) !== JSON.stringify([TEKTON_CONTEXT_TASK]) ||
    task.when !== undefined ||
    task.onError !== undefined ||
    (task.retries ?? 0) !== 0
  )
    fail(`wait task ${task.name} must run after kfm-context only, unguarded, without retries`);
  if (task.timeout !== "0s") fail(`wait task ${task.name}: a TaskRun timeout (${task.timeout}) would end the wait before the dependency's timeout`);
  const steps = (task.taskSpec ?? fail(`wait task ${task.name} has no taskSpec`)).steps;
  if (steps.length !== 1) fail(`wait task ${task.name} has other steps than the wait`);
  const step = steps[0]!;
  if (JSON.stringify(step.command) !== JSON.stringify(["/bin/bash", "-c", k8sLiteral(UPSTREAM_WAIT_SCRIPT)]))
    fail(`wait task ${task.name} does not run the upstream wait script`);
  if (JSON.stringify(step.securityContext) !== JSON.stringify(RESTRICTED_CONTAINER_SECURITY_CONTEXT)) fail(`wait task ${task.name} is not restricted`);
  const t = envValueOrNull(step, ENV.waitTimeoutSeconds) ?? "";
  if (t !== "" && !/^[1-9][0-9]*$/.test(t)) fail(`wait task ${task.name} has the timeout '${t}'`);
  const env = [
    { name: ENV.namespace, value: "$(context.pipelineRun.namespace)" },
    { name: ENV.upstreamPipeline, value: kubeName(workflow) },
    { name: ENV.logicalDateParam, value: `$(params.${LOGICAL_DATE_PARAM})` },
    { name: ENV.waitTimeoutSeconds, value: t },
    { name: ENV.pollSeconds, value: String(UPSTREAM_POLL_SECONDS) },
  ];
  if (JSON.stringify(step.env) !== JSON.stringify(env))
    fail(`wait task ${task.name} does not look every ${UPSTREAM_POLL_SECONDS} s for ${workflow}'s run of this run's logical date in its namespace`);
  return { workflow, timeoutSeconds: t === "" ? null : Number(t) };
}

function fail(message: string): never {
  throw new Error(message);
}
