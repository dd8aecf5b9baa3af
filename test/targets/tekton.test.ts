/**
 * Unit tests of the Tekton backend's mapping decisions (targets/tekton/README.md), written
 * given / when / then. The generated shell scripts are also run here, with the POSIX `sh` of
 * the machine (and busybox when it is installed), through the same `$$` unescaping
 * Kubernetes applies, so a script bug or an escaping slip fails a test.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { V1Container, V1CronJob } from "@kubernetes/client-node";
import type { CronSchedule, EventSchedule, Job, Retry, Template, Workflow } from "../../src/ir.js";
import { summarize } from "../../src/summary.js";
import { dstGuard, parseCron, type Cron } from "../../src/cron.js";
import { runToken } from "../../src/runtime.js";
import { parseYamlStream, toYamlStream } from "../../src/yaml.js";
import { check } from "../../targets/tekton/check.js";
import {
  CONTEXT_SCRIPT,
  CREATOR_SCRIPT,
  creatorScript,
  emit,
  k8sLiteral,
  KUBECTL_IMAGE,
  renderTemplate,
  SHELL_IMAGE,
  STARTER_SCRIPT,
  STARTING_DEADLINE_SECONDS,
  UPSTREAM_WAIT_SCRIPT,
  STATUS_SCRIPT,
  RUN_STATUS_SCRIPT,
  FAILED_SCRIPT,
  manualRun,
  stepActionsFile,
  WAIT_SCRIPT,
  type TektonPipeline,
  type TektonPipelineRun,
  type TektonStep,
  type TektonStepAction,
} from "../../targets/tekton/emit.js";
import { runs } from "../../targets/tekton/runs.js";
import { DEFAULT_OPTIONS } from "../../targets/tekton/options.js";
import { tekton } from "../../targets/tekton/index.js";
import { lift, parseTemplate } from "../../targets/tekton/lift.js";
import { notificationText } from "../../src/notify.js";
import { RESTRICTED_CONTAINER_SECURITY_CONTEXT } from "../../targets/kubernetes.js";
const RESTRICTED_CONTAINER = RESTRICTED_CONTAINER_SECURITY_CONTEXT;
import { tektonWaiterAccount } from "../../src/names.js";
import { runWithFakeCurl, sentText } from "../notify-script.js";
import { cronFixture as cron, irFixture as baseIr, jobFixture as baseJob, NO_RETRY } from "../fixtures.js";

interface Out {
  pipeline: TektonPipeline;
  run: TektonPipelineRun;
  cronJob: V1CronJob | undefined;
}

/** The output to apply followed by the manual run's file, as lift reads them. */
function emitted(ir: Workflow): string {
  return emit(ir) + manualRun(ir);
}

function compile(ir: Workflow): Out {
  const docs = parseYamlStream(emitted(ir)) as { kind: string }[];
  return {
    pipeline: docs.find((d) => d.kind === "Pipeline") as unknown as TektonPipeline,
    run: docs.find((d) => d.kind === "PipelineRun") as unknown as TektonPipelineRun,
    cronJob: docs.find((d) => d.kind === "CronJob") as V1CronJob | undefined,
  };
}

function task(out: Out, name: string) {
  const t = out.pipeline.spec.tasks.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no task ${name}`);
  return t;
}

/** The folder file's StepActions (default options), by name. */
const STEP_ACTIONS = new Map((parseYamlStream(stepActionsFile(DEFAULT_OPTIONS, [])) as TektonStepAction[]).map((a) => [a.metadata.name, a] as const));

/**
 * A step as the TaskRun reconciler runs it: a `ref` step takes its StepAction's image,
 * command, env, results and securityContext, with the step's params substituted
 * (tektoncd/pipeline pkg/reconciler/taskrun/resources/taskspec.go `resolveStepRef`).
 */
function resolved(s: TektonStep): TektonStep {
  if (s.ref === undefined) return s;
  const a = STEP_ACTIONS.get(s.ref.name);
  if (a === undefined) throw new Error(`step ${s.name} runs ${s.ref.name}, which the folder file does not hold`);
  const params = new Map((a.spec.params ?? []).map((p) => [p.name, s.params?.find((x) => x.name === p.name)?.value]));
  for (const [n, v] of params) if (v === undefined) throw new Error(`step ${s.name} passes no ${n}`);
  const sub = (t: string) => t.replace(/\$\(params\.([a-z-]+)\)/g, (m, n: string) => params.get(n) ?? m);
  const { ref: _ref, params: _params, ...rest } = s;
  return {
    ...rest,
    image: sub(a.spec.image),
    command: a.spec.command.map(sub),
    ...(a.spec.env === undefined ? {} : { env: a.spec.env.map((e) => ({ ...e, value: sub(e.value ?? "") })) }),
    ...(a.spec.results === undefined ? {} : { results: a.spec.results.map((r) => ({ name: r.name, type: r.type })) }),
    securityContext: a.spec.securityContext,
  };
}

function step(out: Out, taskName: string, stepName: string): TektonStep {
  const s = task(out, taskName).taskSpec!.steps.find((x) => x.name === stepName);
  if (s === undefined) throw new Error(`no step ${stepName} in ${taskName}`);
  return resolved(s);
}

function env(c: Pick<V1Container, "env">, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

function creator(out: Out): V1Container {
  return out.cronJob!.spec!.jobTemplate.spec!.template.spec!.containers[0]!;
}

/** What Kubernetes makes of a command/args/env string: `$$` -> `$`, `$(VAR)` -> value when VAR is defined. */
function kubernetesExpand(text: string, vars: Record<string, string> = {}): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) =>
    m === "$$" ? "$" : name !== undefined && name in vars ? vars[name]! : m,
  );
}

function hasTool(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

// ---------- retries ----------

describe("retries", () => {
  it("given max_attempts 3, when emitted, then the pipeline task has retries 2", () => {
    const ir = irFixture({ jobs: [jobFixture("extract", { retry: { maxAttempts: 3, delaySeconds: 60, multiplier: 1, maxDelaySeconds: null } })] });
    expect(task(compile(ir), "extract").retries).toBe(2);
  });

  it("given max_attempts 1, when emitted, then retries 0 is written and there is no wait step", () => {
    const out = compile(irFixture());
    expect(task(out, "extract").retries).toBe(0);
    expect(task(out, "extract").taskSpec!.steps.map((s) => s.name)).toEqual(["job"]);
  });

  it("given exponential backoff, when emitted, then the waits before attempts 2..n are data in KFM_RETRY_WAITS of a first wait step", () => {
    const retry: Retry = { maxAttempts: 5, delaySeconds: 10, multiplier: 1.5, maxDelaySeconds: 20 };
    const out = compile(irFixture({ jobs: [jobFixture("extract", { retry })] }));
    const steps = task(out, "extract").taskSpec!.steps.map(resolved);
    expect(steps.map((s) => s.name)).toEqual(["kfm-wait", "job"]);
    expect(env(steps[0]!, "KFM_RETRY_WAITS")).toBe("10 15 20 20");
    expect(env(steps[0]!, "KFM_RETRY_COUNT")).toBe("$(context.task.retry-count)");
    expect(steps[0]!.image).toBe(SHELL_IMAGE);
  });

  it("given two jobs with different waits, when emitted, then their wait scripts are the same fixed text", () => {
    const a = jobFixture("a", { retry: { maxAttempts: 2, delaySeconds: 1, multiplier: 1, maxDelaySeconds: null } });
    const b = jobFixture("b", { retry: { maxAttempts: 4, delaySeconds: 300, multiplier: 2, maxDelaySeconds: null } });
    const out = compile(irFixture({ jobs: [a, b] }));
    expect(step(out, "a", "kfm-wait").command).toEqual(step(out, "b", "kfm-wait").command);
    expect(env(step(out, "b", "kfm-wait"), "KFM_RETRY_WAITS")).toBe("300 600 1200");
  });
});

// ---------- timeouts ----------

describe("timeouts", () => {
  it("given a job timeout of 90 minutes, when emitted, then the job step has timeout 1h30m and the task (TaskRun) timeout is 0s", () => {
    const out = compile(
      irFixture({
        jobs: [jobFixture("extract", { timeoutSeconds: 5400, retry: { maxAttempts: 2, delaySeconds: 600, multiplier: 1, maxDelaySeconds: null } })],
      }),
    );
    expect(step(out, "extract", "job").timeout).toBe("1h30m");
    expect(step(out, "extract", "kfm-wait").timeout).toBeUndefined();
    expect(task(out, "extract").timeout).toBe("0s");
  });

  it("given no job timeout, when emitted, then the step says 0s (never) and the 60 min TaskRun default is overridden with 0s", () => {
    const out = compile(irFixture());
    expect(step(out, "extract", "job").timeout).toBe("0s");
    expect(task(out, "extract").timeout).toBe("0s");
    expect(task(out, "kfm-context").timeout).toBe("0s");
  });

  it("given no workflow timeout, when emitted, then the PipelineRun writes timeouts.pipeline 0s (no limit)", () => {
    expect(compile(irFixture()).run.spec.timeouts).toEqual({ pipeline: "0s" });
  });

  it("given a workflow timeout of 2h45s, when emitted, then manual and scheduled PipelineRuns carry timeouts.pipeline 2h45s", () => {
    const out = compile(irFixture({ timeoutSeconds: 7245, schedule: cron() }));
    expect(out.run.spec.timeouts.pipeline).toBe("2h45s");
    const scheduled = JSON.parse(kubernetesExpand(env(creator(out), "KFM_PIPELINERUN")!)) as TektonPipelineRun;
    expect(scheduled.spec.timeouts.pipeline).toBe("2h45s");
  });
});

// ---------- literal text and runtime values ----------

describe("literal text", () => {
  it("given a $ in args, command and env, when emitted, then every $ is doubled", () => {
    const job = jobFixture("extract", {
      command: [[{ text: "sh" }], [{ text: "-c" }], [{ text: "echo $HOME $(id)" }]],
      args: [[{ text: "cost $$5" }]],
      env: [{ name: "PRICE", value: [{ text: "$(PRICE)" }] }],
    });
    const s = step(compile(irFixture({ jobs: [job] })), "extract", "job");
    expect(s.command).toEqual(["sh", "-c", "echo $$HOME $$(id)"]);
    expect(s.args).toEqual(["cost $$$$5"]);
    expect(env(s, "PRICE")).toBe("$$(PRICE)");
  });

  it("given text with '$$' (a replacement-string trap), when rendered and expanded by Kubernetes, then the container sees it unchanged", () => {
    const text = "a$$b $& $' $1 $(X) $";
    expect(k8sLiteral(text)).toBe("a$$$$b $$& $$' $$1 $$(X) $$");
    expect(kubernetesExpand(renderTemplate([{ text }]), { X: "expanded" })).toBe(text);
  });

  it("given the runtime values, when emitted, then each is a kfm-context result reference and kfm-context declares exactly the used ones", () => {
    const job = jobFixture("extract", {
      args: [[{ text: "--date=" }, { variable: "ds" }, { text: "/" }, { variable: "execution_date" }], [{ variable: "next_execution_date" }]],
    });
    const out = compile(irFixture({ schedule: cron(), jobs: [job] }));
    expect(step(out, "extract", "job").args).toEqual([
      "--date=$(tasks.kfm-context.results.ds)/$(tasks.kfm-context.results.execution_date)",
      "$(tasks.kfm-context.results.next_execution_date)",
    ]);
    expect(task(out, "kfm-context").taskSpec!.results!.map((r) => r.name)).toEqual(["execution_date", "ds", "ts", "next_execution_date", "run_token"]);
    expect(env(step(out, "kfm-context", "kfm-context"), "KFM_PERIOD_SECONDS")).toBe("86400");
  });

  it("given the Pipeline, when emitted, then it takes a required logical-date param that only kfm-context reads", () => {
    const out = compile(irFixture());
    expect(out.pipeline.spec.params).toEqual([expect.objectContaining({ name: "logical-date", type: "string" })]);
    expect(out.pipeline.spec.params[0]).not.toHaveProperty("default");
    expect(task(out, "kfm-context").params).toEqual([{ name: "logical-date", value: "$(params.logical-date)" }]);
  });

  it("given rendered text, when parsed back, then parseTemplate inverts renderTemplate", () => {
    const t: Template = [{ text: "$x" }, { variable: "ts" }, { text: "$(y)$" }, { variable: "ds" }];
    expect(parseTemplate(renderTemplate(t))).toEqual(t);
    expect(parseTemplate("")).toEqual([]);
  });
});

// ---------- structure ----------

describe("pipeline structure", () => {
  it("given dependencies, when emitted, then a root runs after kfm-context, another job after its dependencies by Kubernetes name, and displayName keeps the spec name", () => {
    const ir = irFixture({ jobs: [jobFixture("extract_sales"), jobFixture("load", { dependsOn: ["extract_sales"] })] });
    const out = compile(ir);
    expect(task(out, "load").runAfter).toEqual(["extract-sales"]);
    expect(task(out, "extract-sales").runAfter).toEqual(["kfm-context"]);
    expect(task(out, "extract-sales").displayName).toBe("extract_sales");
    expect(out.pipeline.metadata.name).toBe("daily-sales");
    expect(out.pipeline.spec.displayName).toBe("daily_sales");
    expect(out.pipeline.spec.tasks[0]!.name).toBe("kfm-context");
    // A root that would not wait for kfm-context is drift lift refuses.
    const docs = parseYamlStream(emitted(ir)) as { kind: string; spec: { tasks: { name: string; runAfter?: string[] }[] } }[];
    delete docs.find((d) => d.kind === "Pipeline")!.spec.tasks.find((t) => t.name === "extract-sales")!.runAfter;
    expect(() => lift(docs.map((d) => JSON.stringify(d)).join("\n---\n"))).toThrow(/runs before kfm-context/);
  });

  it("given cpu and memory, when emitted, then both are requests and limits; without them there is no computeResources", () => {
    const out = compile(irFixture({ jobs: [jobFixture("a", { resources: { cpu: "500m", memory: "1Gi" } }), jobFixture("b")] }));
    expect(step(out, "a", "job").computeResources).toEqual({ requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "500m", memory: "1Gi" } });
    expect(step(out, "b", "job")).not.toHaveProperty("computeResources");
  });

  it("given no command, when emitted, then the step has no command so the image ENTRYPOINT runs", () => {
    const out = compile(irFixture({ jobs: [jobFixture("a", { args: [[{ text: "--x" }]] })] }));
    expect(step(out, "a", "job")).not.toHaveProperty("command");
    expect(step(out, "a", "job").args).toEqual(["--x"]);
  });

  it("given a manual workflow, when emitted, then the output to apply is the Pipeline alone, and the run file a PipelineRun with generateName, pipelineRef and an empty logical date to fill in", () => {
    const kinds = (parseYamlStream(emit(irFixture())) as { kind: string }[]).map((d) => d.kind);
    expect(kinds).toEqual(["Pipeline"]);
    expect((parseYamlStream(manualRun(irFixture())) as { kind: string }[]).map((d) => d.kind)).toEqual(["PipelineRun"]);
    expect(tekton.run!(irFixture())).toBe(manualRun(irFixture()));
    const run = compile(irFixture()).run;
    expect(run.metadata).toEqual({ generateName: "daily-sales-" });
    expect(run.spec.pipelineRef).toEqual({ name: "daily-sales" });
    expect(run.spec.params).toEqual([{ name: "logical-date", value: "" }]);
  });

  it("given the same IR twice, when emitted, then the bytes are equal and start with the generated header", () => {
    const ir = irFixture({ schedule: cron() });
    expect(emit(ir)).toBe(emit(ir));
    expect(emit(ir).startsWith("# Generated by kfm-compile")).toBe(true);
  });
});

// ---------- schedules ----------

describe("schedules", () => {
  it("given a cron schedule in UTC, when emitted, then a CronJob writes schedule, timeZone, concurrencyPolicy and startingDeadlineSeconds explicitly", () => {
    const out = compile(irFixture({ schedule: cron() }));
    const spec = out.cronJob!.spec!;
    expect(spec.schedule).toBe("0 2 * * *");
    expect(spec.timeZone).toBe("UTC");
    expect(spec.concurrencyPolicy).toBe("Allow");
    expect(spec.startingDeadlineSeconds).toBe(STARTING_DEADLINE_SECONDS);
    expect(spec.jobTemplate.spec!.template.spec!.serviceAccountName).toBe("daily-sales-run-creator");
    expect(creator(out).image).toBe(KUBECTL_IMAGE);
  });

  it("given a cron schedule, when emitted, then the file declares the creator's ServiceAccount, a Role that may only create PipelineRuns and get Jobs, and the RoleBinding", () => {
    const docs = parseYamlStream(emit(irFixture({ schedule: cron() }))) as { kind: string; metadata: { name: string; labels: Record<string, string> } }[];
    expect(docs.map((d) => d.kind)).toEqual(["Pipeline", "CronJob", "ServiceAccount", "Role", "RoleBinding"]);
    for (const d of docs)
      expect(d.metadata.labels).toEqual({
        "app.kubernetes.io/managed-by": "kfm-compile",
        "kfm-compile.dev/workflow": "daily-sales",
        "kfm-compile.dev/target": "tekton",
      });
    const role = docs[3] as unknown as { rules: unknown };
    expect(role.rules).toEqual([
      { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["create"] },
      { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get"] },
    ]);
    expect(docs[4]).toMatchObject({
      roleRef: { kind: "Role", name: "daily-sales-run-creator" },
      subjects: [{ kind: "ServiceAccount", name: "daily-sales-run-creator" }],
    });
  });

  it("given output whose creator Role grants more, when lifted, then lift refuses it", () => {
    const text = emitted(irFixture({ schedule: cron() })).replace("- create\n", "- create\n        - delete\n");
    expect(text).toContain("- delete");
    expect(() => lift(text)).toThrow(/other rights/);
  });

  it("given a cron schedule, when emitted, then the creator container is restricted: non-root numeric user, no privilege escalation, no capabilities, RuntimeDefault seccomp", () => {
    expect(creator(compile(irFixture({ schedule: cron() }))).securityContext).toEqual(RESTRICTED_CONTAINER);
    expect(RESTRICTED_CONTAINER).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  it("given a start and end, when emitted, then the creator's window guard gets them as data", () => {
    const out = compile(irFixture({ schedule: cron({ timezone: "Europe/Berlin", start: "2024-01-01T00:00:00", end: "2024-12-31T23:59:59" }) }));
    expect(env(creator(out), "KFM_WINDOW_START")).toBe("2024-01-01T00:00:00");
    expect(env(creator(out), "KFM_WINDOW_END")).toBe("2024-12-31T23:59:59");
    expect(out.cronJob!.spec!.timeZone).toBe("Europe/Berlin");
  });

  it("given a cron schedule, when emitted, then the creator reads its Job name from the pod label the Job controller sets", () => {
    const e = creator(compile(irFixture({ schedule: cron() }))).env!.find((x) => x.name === "KFM_JOB_NAME")!;
    expect(e.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['batch.kubernetes.io/job-name']");
  });
});

// ---------- check ----------

describe("check", () => {
  const codes = (ir: Workflow) => check(ir).map((p) => p.code);

  it("given an event schedule, when checked and emitted, then Tekton Triggers objects after the Pipeline, and lift reads the trigger back", () => {
    const schedule: EventSchedule = {
      kind: "event",
      at: ["workflow", "schedule"],
      trigger: "s3_file_arrival",
      source: "s3://raw.b/a'b/",
      bucket: "raw.b",
      prefix: "a'b/",
    };
    const ir = irFixture({ schedule });
    expect(check(ir).filter((p) => p.code === "KFM301")).toEqual([]);
    const docs = parseYamlStream(emit(ir)) as Record<string, any>[];
    expect(docs.map((d) => d["kind"])).toEqual(["Pipeline", "ServiceAccount", "RoleBinding", "TriggerBinding", "TriggerTemplate", "EventListener"]);
    const filter = docs[5]!["spec"]["triggers"][0]["interceptors"][0]["params"][0]["value"];
    expect(filter).toContain("body.Records[0].s3.bucket.name.matches('^raw\\\\.b$')");
    expect(filter).toContain("body.Records[0].s3.object.key.matches('^a\\'b(/|%2F)')");
    expect(lift(emit(ir)).schedule).toEqual({ kind: "event", trigger: "s3_file_arrival", source: "s3://raw.b/a'b/" });
  });

  it("given catchup true, when checked, then KFM301", () => {
    expect(codes(irFixture({ schedule: cron({ catchup: true }) }))).toEqual(["KFM301"]);
  });

  it("given literal $(params.x), $(context.pipelineRun.…) or $(tasks.…) text, when checked, then nothing is refused (README, Literal text)", () => {
    const job = jobFixture("a", {
      args: [[{ text: "$(params.x)" }], [{ text: "ok $(HOME) $$(x)" }]],
      command: [[{ text: "x$(context.pipelineRun.name)" }]],
      env: [{ name: "E", value: [{ text: "$(tasks[0]" }] }],
    });
    expect(check(irFixture({ jobs: [job] }))).toEqual([]);
  });

  it("given literal references Tekton replaces after the param pass, or a param reference it cannot declare, when checked, then KFM301 for each", () => {
    const job = jobFixture("a", {
      args: [[{ text: "$(context.taskRun.name)" }], [{ text: "$(results.ok.path)" }], [{ text: "$(params.a.b)" }], [{ text: '$(params["a"])' }]],
      command: [[{ text: "x$(steps.job.exitCode.path)" }]],
      env: [{ name: "E", value: [{ text: "$(context.task.retry-count)" }] }],
    });
    expect(codes(irFixture({ jobs: [job] }))).toEqual(["KFM301", "KFM301", "KFM301", "KFM301", "KFM301", "KFM301"]);
  });

  it("given literal Tekton references, when emitted, then each $ is $(params.kfm-dollar) with default $$, every named param is declared, and lift reads the text back", () => {
    const job = jobFixture("a", {
      args: [[{ text: "$(params.x) $$(params.y)" }], [{ text: "$(tasks.t.results.r)" }]],
      env: [{ name: "E", value: [{ text: "$(params.x)" }] }],
    });
    const ir = irFixture({ jobs: [job] });
    const t = task(compile(ir), "a");
    expect(t.taskSpec!.params).toEqual([
      { name: "kfm-dollar", type: "string", default: "$$" },
      { name: "x", type: "string", default: "" },
      { name: "y", type: "string", default: "" },
    ]);
    const step = t.taskSpec!.steps.find((st) => st.name === "job")!;
    expect(step.args).toEqual(["$(params.kfm-dollar)(params.x) $$$(params.kfm-dollar)(params.y)", "$(params.kfm-dollar)(tasks.t.results.r)"]);
    const lifted = lift(emitted(ir)).jobs.a!;
    expect(lifted.args).toEqual(job.args);
    expect(lifted.env.E).toEqual([{ text: "$(params.x)" }]);
  });

  it("given a literal reference split across two text segments, when emitted, then it is one reference: its $ from kfm-dollar, its param declared", () => {
    const job = jobFixture("a", { args: [[{ text: "x$" }, { text: "(params.z)" }]] });
    const ir = irFixture({ jobs: [job] });
    const t = task(compile(ir), "a");
    expect(t.taskSpec!.steps.find((st) => st.name === "job")!.args).toEqual(["x$(params.kfm-dollar)(params.z)"]);
    expect(t.taskSpec!.params!.map((p) => p.name)).toEqual(["kfm-dollar", "z"]);
    expect(lift(emitted(ir)).jobs.a!.args).toEqual([[{ text: "x$(params.z)" }]]);
  });

  it("given a Kubernetes-escaped $$ before a Tekton reference, when parsed back, then it is refused: Tekton would still replace the reference", () => {
    expect(() => parseTemplate("x$$(params.a)")).toThrow(/Tekton would replace/);
    expect(() => parseTemplate("$$(context.pipelineRun.name)")).toThrow(/Tekton would replace/);
    expect(parseTemplate("$$(HOME) $$(params)")).toEqual([{ text: "$(HOME) $(params)" }]);
  });

  it("given literal $(HOME) and a lone $, when checked, then nothing is refused (Kubernetes escaping covers them)", () => {
    const job = jobFixture("a", { args: [[{ text: "$(HOME) $ $$ $(paramsx)" }]] });
    expect(check(irFixture({ jobs: [job] }))).toEqual([]);
  });

  it("given zero timeouts, when checked, then KFM301 because Tekton reads 0s as no timeout", () => {
    expect(codes(irFixture({ timeoutSeconds: 0, jobs: [jobFixture("a", { timeoutSeconds: 0 })] }))).toEqual(["KFM301", "KFM301"]);
  });

  it("given waits too large to write as plain seconds, when checked, then KFM301", () => {
    const retry: Retry = { maxAttempts: 100, delaySeconds: 1, multiplier: 100, maxDelaySeconds: null };
    expect(codes(irFixture({ jobs: [jobFixture("a", { retry })] }))).toEqual(["KFM301"]);
  });

  it("given an ordinary scheduled workflow, when checked, then nothing is refused", () => {
    expect(check(irFixture({ schedule: cron({ start: "2024-01-01T00:00:00" }), timeoutSeconds: 3600 }))).toEqual([]);
  });
});

// ---------- lift ----------

describe("lift", () => {
  const rich = irFixture({
    name: "daily_sales",
    description: "d",
    timeoutSeconds: 3600,
    schedule: cron({ timezone: "America/New_York", start: "2024-01-01T00:00:00", end: "2025-01-01T00:00:00" }),
    jobs: [
      jobFixture("extract_sales", {
        command: [[{ text: "python" }], [{ text: "ingest.py" }]],
        args: [[{ text: "--date" }], [{ variable: "execution_date" }], [{ text: "$5 {{ x }}" }], []],
        env: [{ name: "B", value: [{ text: "x" }, { variable: "ds" }] }, { name: "A", value: [{ text: "$(A)" }] }, ...jobFixture("x").env],
        resources: { cpu: "1", memory: "2Gi" },
        retry: { maxAttempts: 4, delaySeconds: 5, multiplier: 1.5, maxDelaySeconds: null },
        timeoutSeconds: 61,
      }),
      jobFixture("load", { dependsOn: ["extract_sales"], args: [[{ variable: "prev_execution_date" }]] }),
      jobFixture("report", { dependsOn: ["load", "extract_sales"] }),
    ],
  });

  it.each([
    ["a manual one-job workflow", irFixture()],
    ["a scheduled workflow with every feature", rich],
  ])("given %s, when emitted and lifted, then the summary equals summarize(ir)", (_name, ir) => {
    expect(lift(emitted(ir))).toEqual(summarize(ir));
  });

  it("given the Pipeline without its run, when lifted, then lift refuses it (the workflow timeout is the run's)", () => {
    expect(() => lift(emit(irFixture()))).toThrow(/no PipelineRun/);
    expect(lift(emit(irFixture({ schedule: cron(), timeoutSeconds: 60 }))).timeoutSeconds).toBe(60);
  });

  it("given output whose retries drifted, when lifted, then the attempt count shows it", () => {
    const text = emitted(irFixture({ jobs: [jobFixture("a", { retry: { maxAttempts: 3, delaySeconds: 1, multiplier: 1, maxDelaySeconds: null } })] }));
    expect(lift(text.replace("retries: 2", "retries: 3")).jobs["a"]!.attempts).toBe(4);
  });

  it("given output with a $ Kubernetes would expand, when lifted, then it throws", () => {
    const text = emitted(irFixture({ jobs: [jobFixture("a", { args: [[{ text: "$x" }]] })] }));
    expect(() => lift(text.replace("$$x", "$x"))).toThrow(/lone \$/);
  });

  it("given output with a TaskRun timeout, when lifted, then it throws (the limit would include the retry wait)", () => {
    const text = emitted(irFixture({ jobs: [jobFixture("a")] }));
    const drifted = text.replace(/(- name: a\n(?:.*\n)*? {6}timeout: )0s/, (_m, head: string) => `${head}1h`);
    expect(drifted).not.toBe(text);
    expect(() => lift(drifted)).toThrow(/TaskRun timeout/);
  });

  it("given the registered target, when read, then it is tekton/yaml", () => {
    expect([tekton.name, tekton.extension]).toEqual(["tekton", "yaml"]);
  });
});

// ---------- issue 4: failure behaviour, standard env, secrets, concurrency ----------

const retried: Retry = { maxAttempts: 3, delaySeconds: 5, multiplier: 1, maxDelaySeconds: null };
/** Two independent branches: a -> b, and c (retried). */
const branches = () => irFixture({ jobs: [jobFixture("a"), jobFixture("b", { dependsOn: ["a"] }), jobFixture("c", { retry: retried })] });

describe("failure behaviour (trap 5: blast radius; trap 4: all_done leaf)", () => {
  it("given a single chain of jobs, when emitted, then Tekton's own stop is kept: no onError, no when, no ok result, no finally", () => {
    const out = compile(irFixture({ jobs: [jobFixture("a"), jobFixture("b", { dependsOn: ["a"], retry: retried })] }));
    expect(out.pipeline.spec.finally).toBeUndefined();
    for (const name of ["a", "b"]) {
      expect(task(out, name).onError).toBeUndefined();
      expect(task(out, name).when).toBeUndefined();
      expect(task(out, name).taskSpec!.steps.map((x) => x.name)).not.toContain("kfm-status");
    }
  });

  it("given independent branches, when emitted, then a job without retries has onError continue and a kfm-status step writing ok", () => {
    const out = compile(branches());
    expect(task(out, "a")).toMatchObject({
      onError: "continue",
      retries: 0,
      taskSpec: { results: [{ name: "ok", type: "string", value: "$(steps.kfm-status.results.ok)" }] },
    });
    expect(task(out, "a").taskSpec!.steps.map((x) => x.name)).toEqual(["job", "kfm-status"]);
    expect(step(out, "a", "job").onError).toBeUndefined();
    expect(env(step(out, "a", "kfm-status"), "KFM_EXIT_CODE_PATH")).toBe("$(steps.step-job.exitCode.path)");
    expect(env(step(out, "a", "kfm-status"), "KFM_RETRIES")).toBe("0");
  });

  it("given independent branches, when emitted, then a root has a when on the ok result of kfm-context, a downstream job on each parent's", () => {
    const out = compile(branches());
    expect(task(out, "a").when).toEqual([{ input: "$(tasks.kfm-context.results.ok)", operator: "in", values: ["true"] }]);
    expect(task(out, "b").when).toEqual([{ input: "$(tasks.a.results.ok)", operator: "in", values: ["true"] }]);
    expect(task(out, "kfm-context").taskSpec!.results!.map((r) => r.name)).toContain("ok");
  });

  it("given a retried job in a branching workflow, when emitted, then retries stay native, the job step continues on error and no task onError is written", () => {
    const out = compile(branches());
    expect(task(out, "c").retries).toBe(2);
    expect(task(out, "c").onError).toBeUndefined();
    expect(step(out, "c", "job").onError).toBe("continue");
    expect(env(step(out, "c", "kfm-status"), "KFM_RETRIES")).toBe("2");
    expect(task(out, "c").taskSpec!.steps.map((x) => x.name)).toEqual(["kfm-wait", "job", "kfm-status"]);
  });

  it("given independent branches, when emitted, then finally has kfm-run-status, running only when $(tasks.status) is Failed, and a retried job has a kfm-failed task on its ok", () => {
    const out = compile(branches());
    const fin = out.pipeline.spec.finally!;
    expect(fin.map((t) => t.name)).toEqual(["kfm-run-status"]);
    expect(fin[0]!.when).toEqual([{ input: "$(tasks.status)", operator: "in", values: ["Failed"] }]);
    expect(fin.every((t) => t.timeout === "0s" && t.retries === 0)).toBe(true);
    const m = task(out, "kfm-failed-3");
    expect(m).toMatchObject({ displayName: "c failed", runAfter: ["c"], onError: "continue" });
    expect(m.when).toEqual([{ input: "$(tasks.c.results.ok)", operator: "in", values: ["false"] }]);
  });

  it("given every helper step, when emitted, then each is restricted, and the job's own step carries no securityContext", () => {
    const out = compile({ ...branches(), notifications: [] });
    const all = [...out.pipeline.spec.tasks, ...(out.pipeline.spec.finally ?? [])].flatMap((t) => (t.taskSpec?.steps ?? []).map(resolved));
    for (const s of all) expect(s.securityContext, s.name).toEqual(s.name === "job" ? undefined : RESTRICTED_CONTAINER);
    expect(all.filter((s) => s.name !== "job").length).toBeGreaterThan(4);
  });

  it("given a job with on_upstream_failure continue, when emitted, then it runs after its parents with no when, and the run still has kfm-run-status", () => {
    const out = compile(irFixture({ jobs: [jobFixture("load"), jobFixture("cleanup", { dependsOn: ["load"], runWhen: "all_done" })] }));
    expect(task(out, "cleanup").runAfter).toEqual(["load"]);
    expect(task(out, "cleanup").when).toBeUndefined();
    expect(out.pipeline.spec.finally!.map((t) => t.name)).toEqual(["kfm-run-status"]);
    const lifted = lift(emitted(irFixture({ jobs: [jobFixture("load"), jobFixture("cleanup", { dependsOn: ["load"], runWhen: "all_done" })] })));
    expect(lifted.jobs["cleanup"]).toMatchObject({ runWhen: "all_done", failureFailsRun: true });
  });

  it("given output whose finally tasks were dropped, when lifted, then failureFailsRun is false for the jobs they watched", () => {
    const docs = parseYamlStream(emitted(branches())) as { kind: string; spec: { finally?: unknown } }[];
    delete docs.find((d) => d.kind === "Pipeline")!.spec.finally;
    const lifted = lift(docs.map((d) => JSON.stringify(d)).join("\n---\n"));
    expect(lifted.jobs["a"]!.failureFailsRun).toBe(false);
    expect(lifted.jobs["c"]!.failureFailsRun).toBe(false);
  });

  it("given output whose when was dropped, when lifted, then the job reads as all_done", () => {
    const docs = parseYamlStream(emitted(branches())) as { kind: string; spec: { tasks: { name: string; when?: unknown }[] } }[];
    delete docs.find((d) => d.kind === "Pipeline")!.spec.tasks.find((t) => t.name === "b")!.when;
    expect(lift(docs.map((d) => JSON.stringify(d)).join("\n---\n")).jobs["b"]!.runWhen).toBe("all_done");
  });

  it("given jobs in layers (a chain, a diamond, roots side by side), when emitted, then the output is the plain Pipeline, whose own stop is the meaning", () => {
    const layeredJobs = [
      jobFixture("a", { retry: retried, timeoutSeconds: 60 }),
      jobFixture("b", { dependsOn: ["a"], retry: retried, timeoutSeconds: 60 }),
      jobFixture("c", { dependsOn: ["a"], retry: retried, timeoutSeconds: 60 }),
      jobFixture("d", { dependsOn: ["b", "c"], retry: retried, timeoutSeconds: 60 }),
    ];
    const ir = irFixture({ jobs: layeredJobs, notifications: [] });
    expect(check(ir)).toEqual([]);
    const out = compile(ir);
    expect(out.pipeline.spec.finally).toBeUndefined();
    expect(out.pipeline.spec.tasks.map((t) => t.name)).toEqual(["kfm-context", "a", "b", "c", "d"]);
    for (const t of out.pipeline.spec.tasks) {
      expect(t.onError, t.name).toBeUndefined();
      expect(t.when, t.name).toBeUndefined();
      expect(t.taskSpec!.steps.map((x) => x.onError)).toEqual(t.taskSpec!.steps.map(() => undefined));
    }
    expect(lift(emitted(ir))).toEqual(summarize(ir));
  });

  it("given a plain Pipeline whose jobs are not layered, when lifted, then it is refused (a failure would stop a job beside the failed one)", () => {
    const ir = irFixture({ jobs: [jobFixture("a"), jobFixture("b", { dependsOn: ["a"] }), jobFixture("c", { dependsOn: ["a"] })], notifications: [] });
    const docs = parseYamlStream(emitted(ir)) as { kind: string; spec: { tasks: { name: string; runAfter?: string[] }[] } }[];
    docs.find((d) => d.kind === "Pipeline")!.spec.tasks.find((t) => t.name === "c")!.runAfter = ["kfm-context"];
    expect(() => lift(toYamlStream(docs))).toThrow(/neither upstream nor downstream/);
  });

  it("given a retried job with a timeout under the failure emulation, when checked, then KFM301 names it only where its stop would keep a job from starting, hide a failure, or skip a continuing job", () => {
    const timed = (name: string, over: Partial<Job> = {}) => jobFixture(name, { retry: retried, timeoutSeconds: 60, ...over });
    const refusal = (jobs: Job[]) => check(irFixture({ jobs, notifications: [] })).map((p) => p.message);
    // c beside b, whose parent a is not upstream of c: c may fail before b starts.
    expect(refusal([jobFixture("a"), jobFixture("b", { dependsOn: ["a"] }), timed("c")])).toEqual([
      expect.stringMatching(
        /tekton cannot express job 'c' with both retries \(max_attempts 3\) and a timeout beside 'b', which waits for a job not upstream of 'c' and might never start/,
      ),
    ]);
    // x beside y, which started with it (same parent) but is retried: y's kfm-failed task would not be created.
    expect(refusal([jobFixture("a"), timed("x", { dependsOn: ["a"], runWhen: "all_done" }), jobFixture("y", { dependsOn: ["a"], retry: retried })])).toEqual([
      expect.stringMatching(/job 'x' .* beside the retried 'y', whose last failure would not show/),
    ]);
    // The same with y not retried: its own TaskRun shows its failure, and it started with x.
    expect(refusal([jobFixture("a"), timed("x", { dependsOn: ["a"], runWhen: "all_done" }), jobFixture("y", { dependsOn: ["a"] })])).toEqual([]);
    // A job below that continues after failures would never run.
    expect(refusal([timed("a"), jobFixture("b", { dependsOn: ["a"], runWhen: "all_done" })])).toEqual([
      expect.stringMatching(/job 'a' .* before 'b', which continues after failures/),
    ]);
    // The join of a diamond with a job beside it that waits only for jobs upstream of the join.
    expect(
      refusal([
        jobFixture("a"),
        jobFixture("b", { dependsOn: ["a"] }),
        jobFixture("c", { dependsOn: ["a"] }),
        jobFixture("e", { dependsOn: ["c"] }),
        timed("d", { dependsOn: ["b", "c"] }),
      ]),
    ).toEqual([]);
  });
});

describe("standard env, secrets and concurrency", () => {
  it("given a job with one attempt, when emitted, then KFM_ATTEMPT is 1; with retries it is the attempt result of kfm-wait", () => {
    const out = compile(irFixture({ jobs: [jobFixture("a"), jobFixture("b", { dependsOn: ["a"], retry: retried })] }));
    expect(env(step(out, "a", "job"), "KFM_ATTEMPT")).toBe("1");
    expect(env(step(out, "b", "job"), "KFM_ATTEMPT")).toBe("$(steps.kfm-wait.results.attempt)");
    expect(step(out, "b", "kfm-wait").results).toEqual([{ name: "attempt", type: "string" }]);
    expect(env(step(out, "b", "kfm-wait"), "KFM_ATTEMPT_PATH")).toBe("$(step.results.attempt.path)");
  });

  it("given the standard env, when emitted, then KFM_RUN_TOKEN reads kfm-context's run_token and the seed is kfm-context data", () => {
    const out = compile(irFixture());
    expect(env(step(out, "extract", "job"), "KFM_RUN_TOKEN")).toBe("$(tasks.kfm-context.results.run_token)");
    expect(env(step(out, "kfm-context", "kfm-context"), "KFM_RUN_TOKEN_SEED")).toBe("kfm-run-token/v1\ndaily_sales\n0000\n");
    expect(lift(emitted(irFixture())).runTokenSeed).toBe("kfm-run-token/v1\ndaily_sales\n0000\n");
  });

  it("given a secret env value, when emitted, then it is valueFrom.secretKeyRef and the secret never appears as a value; lift returns the reference", () => {
    const job = jobFixture("a", { env: [{ name: "PASSWORD", secretRef: { secret: "trino-credentials", key: "password" } }, ...jobFixture("a").env] });
    const ir = irFixture({ jobs: [job] });
    const e = step(compile(ir), "a", "job").env!.find((x) => x.name === "PASSWORD")!;
    expect(e).toEqual({ name: "PASSWORD", valueFrom: { secretKeyRef: { name: "trino-credentials", key: "password" } } });
    expect(lift(emitted(ir)).jobs["a"]!.env["PASSWORD"]).toEqual({ secret: "trino-credentials", key: "password" });
  });

  it("given max_active_runs with a cron schedule, when emitted, then every run is created pending, a finally task and the creator's second container start the oldest, and lift reads the limit back", () => {
    const ir = irFixture({ maxActiveRuns: 2, schedule: cron(), timeoutSeconds: 3600 });
    expect(check(ir)).toEqual([]);
    const docs = parseYamlStream(emitted(ir)) as { kind: string; metadata: { name?: string }; spec: any; rules?: unknown }[];
    const pipeline = docs.find((d) => d.kind === "Pipeline")!;
    const starter = pipeline.spec.finally.find((t: { name: string }) => t.name === "kfm-start-runs");
    expect(starter.when).toBeUndefined();
    expect(starter.taskSpec.steps[0].onError).toBe("continue");
    expect(starter.taskSpec.steps[0].command).toEqual(["/bin/bash", "-c", k8sLiteral(STARTER_SCRIPT)]);
    const pod = docs.find((d) => d.kind === "CronJob")!.spec.jobTemplate.spec.template.spec;
    expect(pod.initContainers.map((c: V1Container) => c.name)).toEqual(["kfm-create-run"]);
    expect(pod.containers.map((c: V1Container) => c.name)).toEqual(["kfm-start-runs"]);
    const scheduled = JSON.parse(pod.initContainers[0].env.find((e: { name: string }) => e.name === "KFM_PIPELINERUN").value.replace(/\$\$/g, "$"));
    const manual = docs.find((d) => d.kind === "PipelineRun")!;
    for (const r of [scheduled, manual]) {
      expect(r.spec.status).toBe("PipelineRunPending");
      expect(r.spec.taskRunSpecs).toEqual([{ pipelineTaskName: "kfm-start-runs", serviceAccountName: "daily-sales-run-starter" }]);
      // The starter is a finally task: the workflow timeout is timeouts.tasks, so it still runs when that fires.
      expect(r.spec.timeouts).toEqual({ tasks: "1h", finally: "11m", pipeline: "1h11m" });
    }
    expect(docs.filter((d) => d.kind === "Job").map((d) => d.spec.template.spec.serviceAccountName)).toEqual(["daily-sales-run-starter"]);
    const roles = docs.filter((d) => d.kind === "Role");
    expect(roles.map((r) => r.metadata.name)).toEqual(["daily-sales-run-creator", "daily-sales-run-starter"]);
    expect(roles[1]!.rules).toEqual([
      { apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["get", "list", "patch"] },
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: ["daily-sales-run-queue"], verbs: ["get", "update"] },
    ]);
    const lifted = lift(emitted(ir));
    expect(lifted.maxActiveRuns).toBe(2);
    expect(lifted).toEqual(summarize(ir));
  });

  it("given output whose runs are not created pending, or whose starter lost its finally task or its onError, when lifted, then it is refused", () => {
    const ir = irFixture({ maxActiveRuns: 1, schedule: cron() });
    const text = emitted(ir);
    expect(() => lift(text.replace(/\n  status: PipelineRunPending/g, ""))).toThrow(/not created PipelineRunPending/);
    expect(() => lift(text.replace(/\n {12}onError: continue/g, ""))).toThrow(/would fail the run/);
    expect(() =>
      lift(
        text.replace(
          /value: "1"\n(\s+)- name: KFM_OWN_RUN\n\s+value: \$\(context.pipelineRun.name\)/,
          'value: "2"\n$1- name: KFM_OWN_RUN\n$1  value: $(context.pipelineRun.name)',
        ),
      ),
    ).toThrow(/another run limit/);
  });

  it("given max_active_runs, when a backfill is planned, then its runs are pending and one starter Job follows them", () => {
    const ir = irFixture({ maxActiveRuns: 1, schedule: cron() });
    const docs = parseYamlStream(runs(ir, [Date.UTC(2024, 0, 2, 2), Date.UTC(2024, 0, 3, 2)], { ref: "main" }).files[0]!.text) as { kind: string; spec: any }[];
    expect(docs.map((d) => d.kind)).toEqual(["PipelineRun", "PipelineRun", "Job"]);
    expect(docs.slice(0, 2).map((d) => d.spec.status)).toEqual(["PipelineRunPending", "PipelineRunPending"]);
  });

  it("given max_active_runs with an event trigger, when checked, then KFM301 (the TriggerTemplate creates no starter)", () => {
    const problems = check(
      irFixture({
        maxActiveRuns: 1,
        schedule: { kind: "event", at: ["workflow", "schedule"], trigger: "s3_file_arrival", source: "s3://b/p/", bucket: "b", prefix: "p/" },
      }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/tekton cannot express max_active_runs: 1 with an event trigger/);
  });
});

// ---------- the generated scripts, executed ----------

const shells: string[][] = [["sh"], ...(hasTool("busybox") ? [["busybox", "sh"]] : [])];

/** The script as the container runs it: taken from the emitted command and passed through Kubernetes expansion. */
function emittedScript(s: TektonStep): string {
  expect(s.command!.slice(0, 2)).toEqual(["sh", "-c"]);
  return kubernetesExpand(s.command![2]!);
}

function runScript(shell: readonly string[], script: string, vars: Record<string, string>) {
  const r = spawnSync(shell[0]!, [...shell.slice(1), "-c", script], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...vars }, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const airflowTs = (ms: number) => new Date(ms).toISOString().slice(0, 19) + "+00:00";

describe.each(shells)("kfm-context script under %s", (...shell) => {
  const out = compile(
    irFixture({
      schedule: cron({ periodSeconds: 3600 }),
      jobs: [
        jobFixture("a", {
          args: [[{ variable: "ds" }, { variable: "execution_date" }, { variable: "prev_execution_date" }, { variable: "next_execution_date" }]],
        }),
      ],
    }),
  );
  const script = emittedScript(step(out, "kfm-context", "kfm-context"));

  function context(logicalDate: string) {
    const dir = mkdtempSync(join(tmpdir(), "kfm-context-"));
    const names = ["execution_date", "ds", "ts", "prev_execution_date", "next_execution_date"];
    const vars: Record<string, string> = { KFM_LOGICAL_DATE_PARAM: logicalDate, KFM_PERIOD_SECONDS: "3600" };
    for (const n of names) vars[`KFM_RESULT_${n.toUpperCase()}`] = join(dir, n);
    const r = runScript(shell, script, vars);
    const results: Record<string, string> = {};
    for (const n of names) if (existsSync(join(dir, n))) results[n] = readFileSync(join(dir, n), "utf8");
    return { ...r, results };
  }

  it("given the emitted script, when compared with the constant, then only Kubernetes escaping differs", () => {
    expect(script).toBe(CONTEXT_SCRIPT);
  });

  it("given logical dates with Z and with offsets, when run, then ds/ts/prev/next are Airflow's formats in UTC", () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 40; i++) {
      const ms = Math.floor(rand() * 4102444800) * 1000; // 1970..2100
      const offMin = i % 3 === 0 ? 0 : Math.floor(rand() * 28 * 60) - 14 * 60;
      const local = new Date(ms + offMin * 60000).toISOString().slice(0, 19);
      const sign = offMin < 0 ? "-" : "+";
      const abs = Math.abs(offMin);
      const suffix = i % 3 === 0 ? "Z" : `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
      const r = context(local + suffix);
      expect(r.status, r.stderr).toBe(0);
      expect(r.results).toEqual({
        execution_date: airflowTs(ms),
        ds: airflowTs(ms).slice(0, 10),
        ts: airflowTs(ms),
        prev_execution_date: airflowTs(ms - 3600_000),
        next_execution_date: airflowTs(ms + 3600_000),
      });
    }
  });

  it.each([
    "",
    "2024-02-30T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "2024-01-01 00:00:00Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T00:00:00",
    "2024-01-01T00:00:00+24:00",
    "1970-01-01T00:00:00+01:00",
    "$(params.logical-date)",
  ])("given the invalid logical date %j, when run, then it fails closed and writes no result", (bad) => {
    const r = context(bad);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/kfm-context: /);
    expect(r.results).toEqual({});
  });
});

describe.each(shells)("kfm-wait script under %s", (...shell) => {
  const retry: Retry = { maxAttempts: 3, delaySeconds: 0.05, multiplier: 2, maxDelaySeconds: null };
  const s = step(compile(irFixture({ jobs: [jobFixture("a", { retry })] })), "a", "kfm-wait");
  const script = emittedScript(s);
  const waits = env(s, "KFM_RETRY_WAITS")!;

  it("given retry counts 0, 1 and 2, when run, then the first attempt does not wait and attempt k+1 sleeps the k-th wait", () => {
    expect(script).toBe(WAIT_SCRIPT);
    const dir = mkdtempSync(join(tmpdir(), "kfm-wait-"));
    const timed = (count: string) => {
      const t0 = performance.now();
      const r = runScript(shell, script, { KFM_RETRY_COUNT: count, KFM_RETRY_WAITS: waits, KFM_ATTEMPT_PATH: join(dir, "attempt") });
      return { ...r, ms: performance.now() - t0, attempt: readFileSync(join(dir, "attempt"), "utf8") };
    };
    const first = timed("0");
    expect(first).toMatchObject({ status: 0, stdout: "kfm-wait: first attempt, no wait\n", attempt: "1" });
    const second = timed("1");
    expect(second).toMatchObject({ status: 0, stdout: "kfm-wait: attempt 2 starts after a wait of 0.05 s\n", attempt: "2" });
    expect(second.ms).toBeGreaterThanOrEqual(50);
    const third = timed("2");
    expect(third).toMatchObject({ status: 0, stdout: "kfm-wait: attempt 3 starts after a wait of 0.1 s\n", attempt: "3" });
    expect(third.ms).toBeGreaterThanOrEqual(100);
  });

  it("given a retry count past the waits list or not a number, when run, then it fails", () => {
    const path = join(mkdtempSync(join(tmpdir(), "kfm-wait-")), "attempt");
    expect(runScript(shell, script, { KFM_RETRY_COUNT: "3", KFM_RETRY_WAITS: waits, KFM_ATTEMPT_PATH: path }).status).not.toBe(0);
    expect(runScript(shell, script, { KFM_RETRY_COUNT: "", KFM_RETRY_WAITS: waits, KFM_ATTEMPT_PATH: path }).status).not.toBe(0);
  });
});

/**
 * The CronJob's creator container run by bash with a fake kubectl (its `get job` prints the
 * slot, its `create` keeps the run) and the container's env values as Kubernetes expands them.
 */
function creatorRunner(out: Out) {
  const c = creator(out);
  const script = kubernetesExpand(c.command![2]!);
  const dir = mkdtempSync(join(tmpdir(), "kfm-creator-"));
  writeFileSync(
    join(dir, "kubectl"),
    `#!/bin/bash
if [ "$1" = get ]; then printf '%s' "$FAKE_SLOT"; exit 0; fi
if [ "$1" = create ]; then cat > "$FAKE_DIR/created.json"; if [ -n "\${FAKE_EXISTS:-}" ]; then echo 'Error from server (AlreadyExists): pipelineruns.tekton.dev "x" already exists' >&2; exit 1; fi; echo created; fi
`,
  );
  chmodSync(join(dir, "kubectl"), 0o755);

  function create(slot: string, extra: Record<string, string> = {}) {
    const created = join(dir, "created.json");
    writeFileSync(created, "");
    const vars: Record<string, string> = {
      PATH: `${dir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      FAKE_SLOT: slot,
      FAKE_DIR: dir,
      KFM_JOB_NAME: "daily-sales-28401120",
      KFM_NAMESPACE: "data",
      ...extra,
    };
    for (const e of c.env ?? []) if (e.valueFrom === undefined) vars[e.name] = kubernetesExpand(e.value ?? "");
    const r = spawnSync("bash", ["-c", script], { env: vars, encoding: "utf8" });
    const text = readFileSync(created, "utf8");
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, run: text === "" ? null : (JSON.parse(text) as TektonPipelineRun) };
  }
  return { script, create };
}

describe.skipIf(!hasTool("bash") || !hasTool("jq"))("CronJob run creator (bash + jq, fake kubectl)", () => {
  // 04:00 in Europe/Berlin is in no daylight-saving change: the creator without the guard.
  const { script, create } = creatorRunner(
    compile(
      irFixture({
        timeoutSeconds: 600,
        schedule: cron({ cron: "0 4 * * *", timezone: "Europe/Berlin", start: "2024-01-01T00:00:00", end: "2024-06-01T00:00:00" }),
      }),
    ),
  );

  it("given a slot inside the window, when the creator runs, then it creates the PipelineRun named after the Job with the slot as logical date and the run timeout", () => {
    expect(script).toBe(CREATOR_SCRIPT);
    const r = create("2024-03-01T02:00:00+01:00");
    expect(r.status, r.stderr).toBe(0);
    expect(r.run).toEqual({
      apiVersion: "tekton.dev/v1",
      kind: "PipelineRun",
      metadata: { name: "daily-sales-28401120" },
      spec: { pipelineRef: { name: "daily-sales" }, params: [{ name: "logical-date", value: "2024-03-01T02:00:00+01:00" }], timeouts: { pipeline: "10m" } },
    });
  });

  it("given slots before the start or after the end (local wall-clock time), when the creator runs, then no run is created and the Job succeeds", () => {
    expect(create("2023-12-31T23:59:00+01:00")).toMatchObject({ status: 0, run: null });
    expect(create("2024-06-01T00:01:00+02:00")).toMatchObject({ status: 0, run: null });
    expect(create("2024-06-01T00:00:00+02:00").run).not.toBeNull();
  });

  it("given no scheduled-timestamp annotation, when the creator runs, then it fails closed", () => {
    expect(create("")).toMatchObject({ status: 1, run: null });
  });

  it("given a retried Job whose PipelineRun exists, when the creator runs, then it succeeds without a second run", () => {
    expect(create("2024-03-01T02:00:00+01:00", { FAKE_EXISTS: "1" }).status).toBe(0);
  });
});

describe.skipIf(!hasTool("bash") || !hasTool("jq") || !hasTool("date"))(
  "CronJob run creator's daylight-saving guard (bash, the machine's date, no tz database)",
  () => {
    const ir = irFixture({
      timeoutSeconds: 600,
      schedule: cron({ cron: "30 2 * * *", timezone: "Europe/Berlin", start: "2024-01-01T00:00:00", end: "2025-03-30T03:00:00" }),
    });
    const out = compile(ir);
    const { script, create } = creatorRunner(out);
    // No tz database: glibc reads the zone's clock from KFM_TZ_RULE alone, as in the kubectl image.
    const noTzdata = { TZDIR: mkdtempSync(join(tmpdir(), "kfm-no-tzdata-")) };
    const created = (slot: string) => create(slot, noTzdata);

    it("given 30 2 * * * in Europe/Berlin, when emitted, then the CronJob also fires at 03:30 and the creator carries the guard and the zone's POSIX TZ rule", () => {
      expect(out.cronJob!.spec!.schedule).toBe("30 2,3 * * *");
      expect(script).toBe(creatorScript(dstGuard(parseCron("30 2 * * *") as Cron, "Europe/Berlin")));
      expect(script).not.toBe(CREATOR_SCRIPT);
      expect(env(creator(out), "KFM_TZ_RULE")).toBe("<+01>-1<+02>,M3.5.0,M10.5.0/3");
      expect(env(creator(out), "KFM_SLOT_HOURS")).toBe("2");
    });

    it("given the spring-forward day, when the 03:30 CEST fire runs, then it creates the run of the skipped 02:30 slot (01:30 UTC), within the window by the slot's wall time", () => {
      const r = created("2025-03-30T03:30:00+02:00");
      expect(r.status, r.stderr).toBe(0);
      expect(r.run?.spec.params).toEqual([{ name: "logical-date", value: "2025-03-30T03:30:00+02:00" }]);
    });

    it("given a day without a change, when the 03:30 fire runs, then no run is created; the 02:30 slot runs", () => {
      expect(created("2024-03-30T03:30:00+01:00")).toMatchObject({ status: 0, run: null });
      expect(created("2024-07-01T03:30:00+02:00")).toMatchObject({ status: 0, run: null });
      expect(created("2024-07-01T02:30:00+02:00").run).not.toBeNull();
    });

    it("given the fall-back day, when 02:30 fires at both occurrences, then only the second creates a run, and the 03:30 fire none", () => {
      expect(created("2024-10-27T02:30:00+02:00")).toMatchObject({ status: 0, run: null });
      expect(created("2024-10-27T02:30:00+01:00").run?.spec.params).toEqual([{ name: "logical-date", value: "2024-10-27T02:30:00+01:00" }]);
      expect(created("2024-10-27T03:30:00+01:00")).toMatchObject({ status: 0, run: null });
    });

    it("given a gap slot after the end of the window, when its 03:30 fire runs, then no run is created", () => {
      expect(created("2026-03-29T03:30:00+02:00")).toMatchObject({ status: 0, run: null });
    });

    it("given the guarded CronJob, when lifted, then the cron is read back without the added hour; a guard whose data does not match is refused", () => {
      const text = emitted(ir);
      expect(lift(text).schedule).toMatchObject({ kind: "cron", cron: "30 2 * * *", timezone: "Europe/Berlin", end: "2025-03-30T03:00:00" });
      expect(() => lift(text.replace("M10.5.0/3", "M10.4.0/3"))).toThrow(/KFM_TZ_RULE is not the POSIX TZ rule/);
      expect(() => lift(text.replace("30 2,3 * * *", "30 2,4 * * *"))).toThrow(/schedule/);
      expect(() => lift(text.replace("(hour + 22) % 24", "(hour + 23) % 24"))).toThrow(/daylight-saving guard/);
    });
  },
);

function jobFixture(name: string, over: Partial<Job> = {}): Job {
  return baseJob(name, over, "wf");
}

function irFixture(over: Partial<Workflow> = {}): Workflow {
  return baseIr(over, "extract");
}

describe.each(shells)("kfm-status, kfm-run-status and kfm-failed scripts under %s", (...shell) => {
  const out = compile(branches());
  const status = emittedScript(step(out, "c", "kfm-status"));
  const fin = out.pipeline.spec.finally!;

  function run(code: string, count: string, retries: string) {
    const dir = mkdtempSync(join(tmpdir(), "kfm-status-"));
    writeFileSync(join(dir, "exitCode"), code);
    const r = runScript(shell, status, {
      KFM_EXIT_CODE_PATH: join(dir, "exitCode"),
      KFM_RETRY_COUNT: count,
      KFM_RETRIES: retries,
      KFM_OK_PATH: join(dir, "ok"),
    });
    return { status: r.status, ok: existsSync(join(dir, "ok")) ? readFileSync(join(dir, "ok"), "utf8") : null };
  }

  it("given the emitted scripts, when compared with the constants, then only Kubernetes escaping differs", () => {
    expect(status).toBe(STATUS_SCRIPT);
    expect(emittedScript(resolved(fin[0]!.taskSpec!.steps[0]!))).toBe(RUN_STATUS_SCRIPT);
    expect(emittedScript(resolved(task(out, "kfm-failed-3").taskSpec!.steps[0]!))).toBe(FAILED_SCRIPT);
  });

  it("given a job that exited 0, when kfm-status runs, then ok is true and the TaskRun succeeds", () => {
    expect(run("0", "0", "2")).toEqual({ status: 0, ok: "true" });
  });

  it("given a failed attempt that is not the last, when kfm-status runs, then it fails (Tekton retries) and writes no ok", () => {
    expect(run("3", "1", "2")).toEqual({ status: 1, ok: null });
  });

  it("given the last failed attempt of a retried job, when kfm-status runs, then ok is false and the TaskRun succeeds (other branches go on)", () => {
    expect(run("3", "2", "2")).toEqual({ status: 0, ok: "false" });
  });

  it("given the failed only attempt of a job without retries, when kfm-status runs, then it fails (onError continue ignores it)", () => {
    expect(run("1", "0", "0")).toEqual({ status: 1, ok: null });
  });

  it("given a run whose tasks status is Failed, when kfm-run-status runs (its when lets it only then), then it fails the run", () => {
    expect(runScript(shell, emittedScript(resolved(fin[0]!.taskSpec!.steps[0]!)), {}).status).toBe(1);
  });

  it("given a retried job that failed for good, when kfm-failed runs, then it fails, naming the job", () => {
    const r = runScript(shell, emittedScript(resolved(task(out, "kfm-failed-3").taskSpec!.steps[0]!)), { KFM_JOB_NAME: "c" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("job 'c' failed");
  });

  it("given a seed and a logical date, when kfm-context runs, then the run token is the reference sha256 prefix", () => {
    const ctx = step(compile(irFixture({ runTokenSeed: "kfm-run-token/v1\nd\n$x\n" })), "kfm-context", "kfm-context");
    const dir = mkdtempSync(join(tmpdir(), "kfm-token-"));
    const r = runScript(shell, emittedScript(ctx), {
      KFM_LOGICAL_DATE_PARAM: "2024-03-10T02:30:00+01:00",
      KFM_PERIOD_SECONDS: "",
      KFM_RUN_TOKEN_SEED: kubernetesExpand(env(ctx, "KFM_RUN_TOKEN_SEED")!),
      KFM_RESULT_RUN_TOKEN: join(dir, "run_token"),
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "run_token"), "utf8")).toBe(runToken("kfm-run-token/v1\nd\n$x\n", Date.UTC(2024, 2, 10, 1, 30)));
  });
});

// ---------- approval gates, failure notifications, cross-workflow dependencies (issue 4, items 9-11) ----------

const gate = (name: string, over: Partial<Job> = {}): Job =>
  jobFixture(name, { image: "", command: null, args: null, env: [], approval: { timeoutSeconds: 86400 }, ...over });
/** a, b in parallel -> gate -> c, d in parallel: every job is upstream or downstream of the gate; the emulation is on. */
const gated = (over: Partial<Job> = {}) =>
  irFixture({
    jobs: [
      jobFixture("a"),
      jobFixture("b", { retry: { maxAttempts: 2, delaySeconds: 10, multiplier: 1, maxDelaySeconds: null } }),
      gate("approve", { dependsOn: ["a", "b"], ...over }),
      jobFixture("c", { dependsOn: ["approve"] }),
      jobFixture("d", { dependsOn: ["approve"] }),
      // After one branch only: the jobs are not layered, so the failure emulation is on.
      jobFixture("e", { dependsOn: ["c"] }),
    ],
  });
const slack = (): Workflow["notifications"][number] => ({
  kind: "slack",
  at: ["workflow", "notifications", "on_failure", 0],
  message: [{ text: "kfm-compile: the run of wf for " }, { variable: "ts" }, { text: " failed." }],
  channel: '#data "alerts" \\ ü',
  webhook: { secret: "slack-webhook", key: "url" },
});
const email = (): Workflow["notifications"][number] => ({
  kind: "email",
  at: ["workflow", "notifications", "on_failure", 1],
  message: [{ text: "kfm-compile: the run of wf for " }, { variable: "ts" }, { text: " failed." }],
  recipients: ["a@example.com", "b@example.com"],
  from: "pipelines@example.com",
  smtp: { secret: "smtp-relay", key: "url" },
});

describe("approval gates", () => {
  it("given a gate with a 24h timeout, when emitted, then it is the ApprovalTask custom task with the run's approvers, one approval, timeout 24h and no onError", () => {
    const out = compile(gated());
    const t = task(out, "approve");
    expect(t.taskRef).toEqual({ apiVersion: "openshift-pipelines.org/v1alpha1", kind: "ApprovalTask" });
    expect(t.taskSpec).toBeUndefined();
    expect(t.params).toEqual([
      { name: "approvers", value: ["$(params.approvers[*])"] },
      { name: "numberOfApprovalsRequired", value: "1" },
      { name: "description", value: "approve" },
    ]);
    expect(t.timeout).toBe("24h");
    expect(t.onError).toBeUndefined();
    expect(t.retries).toBe(0);
    expect(out.pipeline.spec.params.find((p) => p.name === "approvers")?.type).toBe("array");
    expect(out.run.spec.params).toContainEqual({ name: "approvers", value: [] });
  });

  it("given a gate under the failure emulation, when emitted, then its children read the gate's own ok guards (the gate writes no result)", () => {
    const out = compile(gated());
    const inputs = (n: string) => task(out, n).when!.map((w) => w.input);
    const guards = ["$(tasks.a.results.ok)", "$(tasks.b.results.ok)"];
    expect(inputs("approve")).toEqual(guards);
    expect(inputs("c")).toEqual(guards);
    expect(inputs("c").some((i) => i.includes("approve"))).toBe(false);
  });

  it("given a gate, when lifted, then its approval timeout is recovered, and the equivalence holds", () => {
    const ir = gated();
    expect(lift(emitted(ir))).toEqual(summarize(ir));
    expect(lift(emitted(gated({ approval: { timeoutSeconds: 5400 } }))).jobs.approve!.approval).toEqual({ timeoutSeconds: 5400 });
  });

  it("given output whose gate got onError continue, when lifted, then lift refuses it (a rejection would no longer fail the run)", () => {
    const text = emitted(gated()).replace(/(    - name: approve\n(?:      .*\n)*?)(      retries: 0)/, "$1      onError: continue\n$2");
    expect(text).toContain("onError: continue\n      retries: 0\n      timeout: 24h");
    expect(() => lift(text)).toThrow(/gate whose failure would not fail the run/);
  });

  it("given a scheduled workflow with a gate and no approvers configured, when checked, then KFM255 at the gate; with approvers, none, and every run carries them", () => {
    const ir = { ...gated(), schedule: cron() };
    const p = check(ir);
    expect(p.map((x) => x.code)).toEqual(["KFM255"]);
    expect(p[0]!.message).toMatch(/approval gate 'approve' of a scheduled workflow has nobody to approve it/);
    expect(check(gated())).toEqual([]);
    const d = { ...DEFAULT_OPTIONS, approvers: ["alice", "group:ops"] };
    expect(check(ir, d)).toEqual([]);
    const docs = parseYamlStream(emit(ir, d) + manualRun(ir, d)) as { kind: string }[];
    const scheduled = JSON.parse(
      kubernetesExpand(env((docs.find((x) => x.kind === "CronJob") as V1CronJob).spec!.jobTemplate.spec!.template.spec!.containers[0]!, "KFM_PIPELINERUN")!),
    ) as TektonPipelineRun;
    const manual = docs.find((x) => x.kind === "PipelineRun") as unknown as TektonPipelineRun;
    for (const run of [scheduled, manual]) expect(run.spec.params).toContainEqual({ name: "approvers", value: ["alice", "group:ops"] });
  });

  it("given a gate without a timeout, when checked, then KFM301 (the controller has no unbounded wait)", () => {
    const p = check(gated({ approval: { timeoutSeconds: null } }));
    expect(p.map((x) => x.message).join("\n")).toMatch(/approval gate 'approve' without a timeout/);
  });

  it("given a job neither upstream nor downstream of a gate, when checked, then KFM301 names it", () => {
    const ir = irFixture({
      jobs: [jobFixture("build"), gate("approve", { dependsOn: ["build"] }), jobFixture("promote", { dependsOn: ["approve"] }), jobFixture("audit")],
    });
    const p = check(ir);
    expect(p).toHaveLength(1);
    expect(p[0]!.code).toBe("KFM301");
    expect(p[0]!.message).toMatch(/beside 'audit'/);
  });

  it("given a job that continues after a gate, when checked, then KFM301", () => {
    const ir = irFixture({
      jobs: [jobFixture("build"), gate("approve", { dependsOn: ["build"] }), jobFixture("promote", { dependsOn: ["approve"], runWhen: "all_done" })],
    });
    expect(
      check(ir)
        .map((x) => x.message)
        .join("\n"),
    ).toMatch(/'promote' continuing after approval gate 'approve'/);
  });

  it("given a chain build -> gate -> promote, when checked and emitted, then it compiles without the emulation", () => {
    const ir = irFixture({ jobs: [jobFixture("build"), gate("approve", { dependsOn: ["build"] }), jobFixture("promote", { dependsOn: ["approve"] })] });
    expect(check(ir).filter((p) => p.code === "KFM301")).toEqual([]);
    const out = compile(ir);
    expect(task(out, "promote").when).toBeUndefined();
    expect(out.pipeline.spec.finally).toBeUndefined();
    expect(lift(emitted(ir))).toEqual(summarize(ir));
  });
});

describe("failure notifications", () => {
  const notified = () => ({ ...gated(), notifications: [slack(), email()] });

  it("given two notifications, when emitted, then each is a finally task that runs only when $(tasks.status) is Failed, with the secret as secretKeyRef", () => {
    const out = compile(notified());
    const fin = out.pipeline.spec.finally!;
    const n1 = fin.find((t) => t.name === "kfm-notify-1")!;
    const n2 = fin.find((t) => t.name === "kfm-notify-2")!;
    expect(n1.when).toEqual([{ input: "$(tasks.status)", operator: "in", values: ["Failed"] }]);
    expect(n2.when).toEqual(n1.when);
    expect(n1.retries).toBe(0);
    expect(n1.taskSpec!.steps[0]!.env).toContainEqual({ name: "KFM_NOTIFY_SECRET_URL", valueFrom: { secretKeyRef: { name: "slack-webhook", key: "url" } } });
    expect(env(n1.taskSpec!.steps[0]!, "KFM_NOTIFY_MESSAGE")).toBe("kfm-compile: the run of wf for $(tasks.kfm-context.results.ts) failed.");
    expect(n2.taskSpec!.steps[0]!.env).toContainEqual({ name: "KFM_NOTIFY_SECRET_URL", valueFrom: { secretKeyRef: { name: "smtp-relay", key: "url" } } });
    // Bounded, restricted, and told every job's status (the retried b also by its kfm-failed-2 marker) and the run.
    expect(n1.timeout).toBe("11m");
    expect(n1.taskSpec!.steps[0]!.securityContext).toEqual(RESTRICTED_CONTAINER_SECURITY_CONTEXT);
    expect(n1.params).toEqual([
      {
        name: "job-statuses",
        value:
          "a=$(tasks.a.status) b=$(tasks.b.status) b=$(tasks.kfm-failed-2.status) approve=$(tasks.approve.status) c=$(tasks.c.status) d=$(tasks.d.status) e=$(tasks.e.status)",
      },
      { name: "run", value: "PipelineRun $(context.pipelineRun.namespace)/$(context.pipelineRun.name)" },
    ]);
    expect(task(out, "kfm-context").taskSpec!.results!.map((r) => r.name)).toContain("ts");
  });

  it("given the dashboardUrl option, when emitted, then the run is a link into the Tekton Dashboard, and lift reads it back", () => {
    const d = { ...DEFAULT_OPTIONS, dashboardUrl: "https://tekton.example.com" };
    const text = emit(notified(), d) + manualRun(notified(), d);
    const p = (parseYamlStream(text) as { kind: string; spec: { finally: { name: string; params: { name: string; value: string }[] }[] } }[]).find(
      (d) => d.kind === "Pipeline",
    )!;
    const run = p.spec.finally.find((t) => t.name === "kfm-notify-1")!.params.find((x) => x.name === "run")!.value;
    expect(run).toBe("https://tekton.example.com/#/namespaces/$(context.pipelineRun.namespace)/pipelineruns/$(context.pipelineRun.name)");
    expect(lift(text)).toEqual(summarize(notified()));
  });

  it("given a retried job under the emulation and notifications, when emitted, then kfm-failed-<n> fails (ignored) when its ok is false, so $(tasks.status) reads Failed", () => {
    const out = compile(notified());
    const m = task(out, "kfm-failed-2");
    expect(m.runAfter).toEqual(["b"]);
    expect(m.when).toEqual([{ input: "$(tasks.b.results.ok)", operator: "in", values: ["false"] }]);
    expect(m.onError).toBe("continue");
    expect(runScript(["sh"], emittedScript(resolved(m.taskSpec!.steps[0]!)), { KFM_JOB_NAME: "b" }).status).toBe(1);
  });

  it("given notifications, when lifted, then they equal the spec's, and output without the kfm-failed task is refused", () => {
    const ir = notified();
    expect(lift(emitted(ir))).toEqual(summarize(ir));
    const docs = parseYamlStream(emitted(ir)) as { kind: string; spec: { tasks: { name: string }[] } }[];
    const p = docs.find((d) => d.kind === "Pipeline")!;
    p.spec.tasks = p.spec.tasks.filter((t) => t.name !== "kfm-failed-2");
    const { toYamlStream } = { toYamlStream: (d: unknown[]) => d.map((x) => JSON.stringify(x)).join("\n---\n") };
    expect(() => lift(toYamlStream(docs))).toThrow(/kfm-failed|job statuses/);
  });

  it("given notifications and a workflow timeout, when emitted, then the runs bound the jobs with timeouts.tasks (finally still runs) and lift reads it back", () => {
    const ir: Workflow = { ...notified(), timeoutSeconds: 3600, schedule: cron() };
    expect(check(ir).filter((p) => p.code === "KFM301")).toEqual([]);
    const out = compile(ir);
    const split = { pipeline: "1h11m", tasks: "1h", finally: "11m" };
    expect(out.run.spec.timeouts).toEqual(split);
    const scheduled = JSON.parse(kubernetesExpand(env(creator(out), "KFM_PIPELINERUN")!)) as TektonPipelineRun;
    expect(scheduled.spec.timeouts).toEqual(split);
    expect(lift(emitted(ir))).toEqual(summarize(ir));
    // timeouts.pipeline alone would skip the notifications at the deadline (PipelineTimedOutSkip).
    expect(() => lift(emitted(ir).replace("tasks: 1h\n", "").replace("finally: 11m\n", "").replace("pipeline: 1h11m", "pipeline: 1h"))).toThrow(/timeouts/);
  });

  it("given a channel with a line break, when checked, then KFM301", () => {
    expect(check({ ...irFixture(), notifications: [{ ...slack(), channel: "a\nb" }] as Workflow["notifications"] }).map((p) => p.code)).toEqual(["KFM301"]);
  });

  describe.each(shells)("the notification step under %s, with a fake curl", (...shell) => {
    const out = compile({ ...gated(), notifications: [slack(), email()] });
    const fin = out.pipeline.spec.finally!;
    // What Tekton and the kubelet hand the step: params and results substituted, then $$ -> $.
    const stepEnv = (name: string, statuses: string, secretUrl: string): Record<string, string> => {
      const t = fin.find((x) => x.name === name)!;
      const params = Object.fromEntries(t.params!.map((p) => [`$(params.${p.name})`, p.name === "job-statuses" ? statuses : "PipelineRun data/wf-28401234"]));
      const out: Record<string, string> = {};
      for (const e of t.taskSpec!.steps[0]!.env!) {
        if (e.valueFrom !== undefined) out[e.name] = secretUrl;
        else out[e.name] = kubernetesExpand((params[e.value!] ?? e.value!).split("$(tasks.kfm-context.results.ts)").join("2024-01-01T00:00:00+00:00"));
      }
      return out;
    };
    const statuses = "a=Failed b=Succeeded b=Failed approve=None c=None d=None";

    it("given the Slack task and a run in which a failed and b failed for good, when run, then it posts the shared text naming a and b", () => {
      const s = fin.find((t) => t.name === "kfm-notify-1")!.taskSpec!.steps[0]!;
      const sent = runWithFakeCurl([...shell, "-c", emittedScript(s)], stepEnv("kfm-notify-1", statuses, "https://hooks.example/x"));
      expect(sent.stderr).toBe("");
      expect(sentText(sent).lines).toEqual(
        notificationText({
          message: "kfm-compile: the run of wf for 2024-01-01T00:00:00+00:00 failed.",
          channel: '#data "alerts" \\ ü',
          workflow: "daily_sales",
          logicalDate: "2024-01-01T00:00:00+00:00",
          failed: ["a", "b"],
          run: "PipelineRun data/wf-28401234",
        }),
      );
      expect(sent.config).toBe('url = "https://hooks.example/x"\n');
    });

    it("given the email task, when run, then it sends the same lines to every recipient from the sender", () => {
      const s = fin.find((t) => t.name === "kfm-notify-2")!.taskSpec!.steps[0]!;
      const sent = runWithFakeCurl([...shell, "-c", emittedScript(s)], stepEnv("kfm-notify-2", statuses, "smtps://u:p@smtp.example:465"));
      expect(sent.stderr).toBe("");
      const { lines, headers } = sentText(sent);
      expect(lines[3]).toBe("Failed jobs: a, b");
      expect(headers.To).toBe("a@example.com, b@example.com");
      expect(sent.args!.filter((a, i) => sent.args![i - 1] === "--mail-rcpt")).toEqual(["a@example.com", "b@example.com"]);
    });
  });
});

describe("cross-workflow dependencies", () => {
  const upstream = [
    { at: ["workflow", "dependencies", 0], workflow: "ingest_orders", timeoutSeconds: null },
    { at: ["workflow", "dependencies", 1], workflow: "ingest_customers", timeoutSeconds: 7200 },
  ];
  const ir: Workflow = { ...irFixture(), upstream };
  const pipelineOf = (text: string) => (parseYamlStream(text) as { kind: string }[]).find((d) => d.kind === "Pipeline") as unknown as TektonPipeline;

  it("given dependencies on other workflows, when checked, then nothing is refused", () => {
    expect(check(ir)).toEqual([]);
  });

  it("given two dependencies, when emitted, then a wait task per upstream runs after kfm-context and before every root job, as the waiter account", () => {
    const text = emitted(ir);
    const p = pipelineOf(text);
    const waits = p.spec.tasks.filter((t) => t.name.startsWith("kfm-wait-"));
    expect(waits.map((t) => [t.name, t.displayName, t.runAfter])).toEqual([
      ["kfm-wait-ingest-orders", "ingest_orders", ["kfm-context"]],
      ["kfm-wait-ingest-customers", "ingest_customers", ["kfm-context"]],
    ]);
    const step = waits[1]!.taskSpec!.steps[0]!;
    expect(step.image).toBe(KUBECTL_IMAGE);
    expect(step.command).toEqual(["/bin/bash", "-c", k8sLiteral(UPSTREAM_WAIT_SCRIPT)]);
    expect(step.securityContext).toEqual(RESTRICTED_CONTAINER_SECURITY_CONTEXT);
    expect(Object.fromEntries((step.env ?? []).map((e) => [e.name, e.value]))).toMatchObject({
      KFM_UPSTREAM_PIPELINE: "ingest-customers",
      KFM_WAIT_TIMEOUT_SECONDS: "7200",
      KFM_POLL_SECONDS: "60",
    });
    for (const root of p.spec.tasks.filter((t) => !t.name.startsWith("kfm-") && (t.runAfter ?? []).includes("kfm-context")))
      expect(root.runAfter).toEqual(["kfm-context", "kfm-wait-ingest-orders", "kfm-wait-ingest-customers"]);
    const docs = parseYamlStream(text) as { kind: string; metadata?: { name?: string }; rules?: unknown; spec?: { taskRunSpecs?: unknown } }[];
    const role = docs.find((d) => d.kind === "Role" && d.metadata?.name === tektonWaiterAccount(ir.name));
    expect(role?.rules).toEqual([{ apiGroups: ["tekton.dev"], resources: ["pipelineruns"], verbs: ["get"] }]);
    expect(docs.find((d) => d.kind === "PipelineRun")!.spec!.taskRunSpecs).toEqual([
      { pipelineTaskName: "kfm-wait-ingest-orders", serviceAccountName: tektonWaiterAccount(ir.name) },
      { pipelineTaskName: "kfm-wait-ingest-customers", serviceAccountName: tektonWaiterAccount(ir.name) },
    ]);
  });

  it("given dependencies, when lifted, then the summary holds each upstream and its timeout", () => {
    expect(lift(emitted(ir)).upstream).toEqual([
      { workflow: "ingest_orders", timeoutSeconds: null },
      { workflow: "ingest_customers", timeoutSeconds: 7200 },
    ]);
  });

  it("given a wait edited to look for another workflow, a root job not waiting, or the waiter's rights widened, when lifted, then it is refused", () => {
    const text = emitted(ir);
    expect(() => lift(text.replace("value: ingest-orders", "value: ingest-other"))).toThrow(/for ingest_orders's run of this run's logical date/);
    const p = pipelineOf(text);
    const root = p.spec.tasks.find((t) => !t.name.startsWith("kfm-") && (t.runAfter ?? []).includes("kfm-context"))!;
    root.runAfter = ["kfm-context", "kfm-wait-ingest-orders"];
    const docs = parseYamlStream(text).map((d) => ((d as { kind?: string }).kind === "Pipeline" ? p : d));
    expect(() => lift(toYamlStream(docs))).toThrow(/does not wait for every upstream workflow/);
    expect(() => lift(text.replace("    verbs:\n      - get\n", "    verbs:\n      - get\n      - list\n"))).toThrow(/other rights/);
  });
});

// ---------- deployment options (targets/tekton/options.ts) ----------

describe("deployment options", () => {
  const options = {
    namespace: "data",
    serviceAccount: "runs-creator",
    starterServiceAccount: "runs-starter",
    taskServiceAccount: "pipeline-pods",
    imagePullSecrets: ["regcred"],
    podSecurityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
    jobSecurityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
    shellImage: "mirror.example/busybox@sha256:00",
    kubectlImage: "mirror.example/kubectl:1",
    curlImage: "mirror.example/curl:1",
    approvers: ["alice"],
    kustomization: false,
    dashboardUrl: undefined,
  };
  const ir = () => ({ ...branches(), schedule: cron(), notifications: [] });

  it("given every option, when a backfill is planned, then its runs are deployed as the manual run is: namespace, approvers, TaskRun template", () => {
    const scheduledGate = { ...gated(), schedule: cron() };
    const backfill = runs(scheduledGate, [Date.UTC(2024, 0, 2, 2)], { ref: "main", options }).files[0]!.text;
    const [run] = parseYamlStream(backfill) as {
      metadata: { namespace?: string };
      spec: { params: { name: string; value: unknown }[]; taskRunTemplate?: unknown };
    }[];
    expect(run!.metadata.namespace).toBe("data");
    expect(run!.spec.params.find((p) => p.name === "approvers")!.value).toEqual(["alice"]);
    expect(run!.spec.taskRunTemplate).toMatchObject({ serviceAccountName: "pipeline-pods" });
    // Without options, none of them: the same as before.
    const plain = parseYamlStream(runs(scheduledGate, [Date.UTC(2024, 0, 2, 2)], { ref: "main" }).files[0]!.text)[0] as { metadata: object };
    expect(plain.metadata).not.toHaveProperty("namespace");
  });

  it("given every option, when emitted, then the objects take them and the file declares no account of its own", () => {
    const text = tekton.emit(ir(), options);
    const docs = parseYamlStream(text) as { kind: string; metadata: { namespace?: string } }[];
    expect(docs.map((d) => d.kind)).toEqual(["Pipeline", "CronJob"]);
    for (const d of docs) expect(d.metadata.namespace).toBe("data");
    const cj = docs[1] as unknown as V1CronJob;
    const pod = cj.spec!.jobTemplate.spec!.template.spec!;
    expect(pod.serviceAccountName).toBe("runs-creator");
    expect(pod.imagePullSecrets).toEqual([{ name: "regcred" }]);
    expect(pod.containers[0]!.image).toBe("mirror.example/kubectl:1");
    const run = JSON.parse(kubernetesExpand(env(pod.containers[0]!, "KFM_PIPELINERUN")!)) as TektonPipelineRun;
    expect(run.spec.taskRunTemplate).toEqual({
      serviceAccountName: "pipeline-pods",
      podTemplate: { securityContext: options.podSecurityContext, imagePullSecrets: [{ name: "regcred" }] },
    });
    const p = docs[0] as unknown as TektonPipeline;
    // The helper steps run the folder's StepActions written with the same options: in the namespace, with the mirrored image.
    const folder = tekton.folderFiles!([{ workflow: "daily_sales", file: "daily_sales.yaml" }], options, []);
    const actions = (parseYamlStream(folder.find((f) => f.name === "kfm-step-actions.yaml")!.text) as TektonStepAction[]).map(
      (a) => [a.metadata.name, a] as const,
    );
    const byName = new Map(actions);
    for (const [, a] of actions) expect(a.metadata.namespace).toBe("data");
    const steps = p.spec.tasks.flatMap((t) => t.taskSpec?.steps ?? []);
    for (const s of steps) {
      if (s.name === "job") expect(s.securityContext).toEqual(options.jobSecurityContext);
      else if (s.ref !== undefined) expect(byName.get(s.ref.name)?.spec.image, s.name).toBe("mirror.example/busybox@sha256:00");
      else expect(s.image, s.name).toBe("mirror.example/busybox@sha256:00");
    }
    expect(steps.some((s) => s.ref !== undefined)).toBe(true);
    // Options change how it is deployed, never what it means.
    expect(lift(text + tekton.run!(ir(), options))).toEqual(summarize(ir()));
  });

  it("given a namespace and no account option, when emitted, then the RoleBinding names the account in that namespace", () => {
    const docs = parseYamlStream(tekton.emit(ir(), { ...options, serviceAccount: undefined })) as { kind: string }[];
    expect(docs.find((d) => d.kind === "RoleBinding")).toMatchObject({
      subjects: [{ kind: "ServiceAccount", name: "daily-sales-run-creator", namespace: "data" }],
    });
    // The account's objects are in the namespace with the others (targets/kubernetes.ts accountObjects), and lift reads them.
    for (const kind of ["ServiceAccount", "Role", "RoleBinding"])
      expect((docs.find((d) => d.kind === kind) as { metadata?: { namespace?: string } }).metadata?.namespace, kind).toBe("data");
    const o = { ...options, serviceAccount: undefined };
    expect(lift(tekton.emit(ir(), o) + tekton.run!(ir(), o))).toEqual(summarize(ir()));
  });

  it("given a workflow, when its prerequisites are listed, then they name the Tekton settings, the creator's account, secrets and images", () => {
    const text = tekton.prerequisites!(ir(), { ...options, serviceAccount: undefined }).map((p) => `${p.kind}: ${p.text}`);
    expect(text.join("\n")).toMatch(/default-imagepullbackoff-timeout: 10m/);
    expect(text.join("\n")).toMatch(/set-security-context/);
    expect(text.join("\n")).toMatch(/enable-api-fields/);
    expect(text).toContain(
      "account: Rights to create the ServiceAccount, Role and RoleBinding `daily-sales-run-creator` the file carries (the CronJob's run creator).",
    );
    expect(text).toContain("secret: The image pull Secret `regcred` (kubernetes.io/dockerconfigjson).");
  });
});
