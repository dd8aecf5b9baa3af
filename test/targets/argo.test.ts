/**
 * Unit tests of the Argo Workflows backend's mapping decisions (targets/argo/README.md),
 * written given / when / then. Each test names the decision it pins; changing the
 * mapping makes it fail.
 */
import { describe, expect, it } from "vitest";
import type { V1Container } from "@kubernetes/client-node";
import { retryWaits, type CronSchedule, type EventSchedule, type Job, type Retry, type Template, type Workflow } from "../../src/ir.js";
import { summarize } from "../../src/summary.js";
import { parseYamlStream, toYaml } from "../../src/yaml.js";
import { HEADER_MARK } from "../../src/header.js";
import { check } from "../../targets/argo/check.js";
import { argoObject, emit, escapeDollars, exprString, failedJobsTag, renderTemplate, runDeadlineGuard } from "../../targets/argo/emit.js";
import { NOTIFY_SCRIPT, NOTIFY_TASK_SECONDS } from "../../src/notify.js";
import { RESTRICTED_CONTAINER_SECURITY_CONTEXT } from "../../targets/kubernetes.js";
import { argo } from "../../targets/argo/index.js";
import { argoWaits, failureFailsRun, lift, literalTextIssue, parseArgoString, readExprString } from "../../targets/argo/lift.js";
import { DEFAULT_OPTIONS, type ArgoOptions } from "../../targets/argo/options.js";
import { prerequisites } from "../../targets/argo/prerequisites.js";
import { createHash } from "node:crypto";
import { cronFixture as cron, irFixture as baseIr, jobFixture as baseJob, NO_RETRY } from "../fixtures.js";

type Obj = Record<string, any>;

/** The labels every generated object carries. */
const LABELS = { "app.kubernetes.io/managed-by": "kfm-compile", "kfm-compile.dev/workflow": "daily-sales", "kfm-compile.dev/target": "argo" };

const SEED = "kfm-run-token/v1\ndaily_sales\n0000\n";
const CTX_PARAMETER = { source: "parameter", periodSeconds: null, runTokenSeed: SEED } as const;
const CTX_SCHEDULED = { source: "scheduled", periodSeconds: null, runTokenSeed: SEED } as const;

/** The emitted document, read back with the project's YAML reader. */
/** The emitted CronWorkflow or WorkflowTemplate (the file's last document, after the account objects), read back with the project's YAML reader. */
function emitted(ir: Workflow): Obj {
  const docs = parseYamlStream(emit(ir)) as Obj[];
  expect(docs.map((d) => d.kind).slice(0, 3)).toEqual(["ServiceAccount", "Role", "RoleBinding"]);
  return docs[docs.length - 1]!;
}

function workflowSpecOf(doc: Obj): Obj {
  return doc.kind === "CronWorkflow" ? doc.spec.workflowSpec : doc.spec;
}

function templateOf(doc: Obj, name: string): Obj {
  return workflowSpecOf(doc).templates.find((t: Obj) => t.name === name);
}

function tasksOf(doc: Obj): Obj[] {
  return templateOf(doc, "kfm-dag").dag.tasks;
}

function containerOf(doc: Obj, name: string): V1Container {
  return templateOf(doc, name).container as V1Container;
}

function codes(ir: Workflow): string[] {
  return check(ir).map((p) => p.code);
}

/** Kubernetes' expansion of command/args/env values: `$$` is `$`, `$(VAR)` a defined variable (k8s third_party/forked/golang/expansion). */
function kubernetesExpand(s: string, env: Record<string, string>): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "$" && s[i + 1] === "$") {
      out += "$";
      i++;
    } else if (s[i] === "$" && s[i + 1] === "(") {
      const end = s.indexOf(")", i + 2);
      const name = end < 0 ? null : s.slice(i + 2, end);
      if (name !== null && name in env) {
        out += env[name];
        i = end;
      } else {
        out += "$";
      }
    } else {
      out += s[i];
    }
  }
  return out;
}

// ---------- retries ----------

describe("retries", () => {
  it("given max_attempts 3, when emitted, then retryStrategy.limit is 2 (retries, not attempts) with retryPolicy Always", () => {
    const doc = emitted(irFixture({ jobs: [jobFixture("a", { retry: { maxAttempts: 3, delaySeconds: 60, multiplier: 1, maxDelaySeconds: null } })] }));
    const rs = templateOf(doc, "a").retryStrategy;
    expect(rs.limit).toBe(2);
    expect(rs.retryPolicy).toBe("Always");
  });

  it("given no retry (max_attempts 1), when emitted, then limit 0 is written out alone, never left to Argo's unlimited default", () => {
    const rs = templateOf(emitted(irFixture()), "extract-sales").retryStrategy;
    expect(rs).toEqual({ limit: 0 });
  });

  it("given retries with no delay, when emitted, then no backoff is written (each retry starts at once) and the waits read back as zero", () => {
    const retry: Retry = { maxAttempts: 3, delaySeconds: 0, multiplier: 2, maxDelaySeconds: null };
    const ir = irFixture({ jobs: [jobFixture("a", { retry })] });
    expect(templateOf(emitted(ir), "a").retryStrategy).toEqual({ limit: 2, retryPolicy: "Always" });
    expect(lift(emit(ir)).jobs["a"]!.waitsSeconds).toEqual([0, 0]);
  });

  it("given delay 5m, multiplier 2, max_delay 10m, when emitted, then backoff is duration 300s, factor 2, cap 600s", () => {
    const retry: Retry = { maxAttempts: 4, delaySeconds: 300, multiplier: 2, maxDelaySeconds: 600 };
    const doc = emitted(irFixture({ jobs: [jobFixture("a", { retry })] }));
    expect(templateOf(doc, "a").retryStrategy.backoff).toEqual({ duration: "300s", factor: 2, cap: "600s" });
  });

  it("given constant waits, when emitted, then no factor (Argo's constant backoff) and no cap are written", () => {
    const retry: Retry = { maxAttempts: 3, delaySeconds: 30, multiplier: 1, maxDelaySeconds: null };
    const ir = irFixture({ jobs: [jobFixture("a", { retry })] });
    expect(templateOf(emitted(ir), "a").retryStrategy.backoff).toEqual({ duration: "30s" });
    expect(lift(emit(ir)).jobs["a"]!.waitsSeconds).toEqual([30, 30]);
  });

  it("given Argo's formula, when the waits are modelled, then retry k waits duration*factor^(k-1), capped", () => {
    expect(argoWaits(4, 60, 3, null)).toEqual([60, 180, 540, 1620]);
    expect(argoWaits(4, 60, 3, 300)).toEqual([60, 180, 300, 300]);
    expect(argoWaits(3, 0, 5, null)).toEqual([0, 0, 0]);
    expect(argoWaits(2, 10, null, null)).toEqual([10, 10]);
    expect(argoWaits(0, 10, 2, null)).toEqual([]);
  });

  it("given a wait beyond Go's largest duration, when modelled, then it is clamped like the controller does", () => {
    const waits = argoWaits(40, 86400, 2, null);
    expect(waits[39]).toBeCloseTo(9223372036.854775807, 3);
  });

  it("given a non-integer multiplier that changes the waits, when checked, then KFM301 (Argo parses factor as an integer)", () => {
    const retry: Retry = { maxAttempts: 3, delaySeconds: 10, multiplier: 1.5, maxDelaySeconds: null };
    const problems = check(irFixture({ jobs: [jobFixture("a", { retry })] }));
    expect(problems.map((p) => p.code)).toEqual(["KFM301"]);
    expect(problems[0]!.message).toMatch(/integer/);
    expect(problems[0]!.at).toEqual(["workflow", "jobs", 0, "job", "retry"]);
  });

  it("given a non-integer multiplier that no wait uses (one retry), when compiled, then it is accepted and written as a constant backoff", () => {
    const retry: Retry = { maxAttempts: 2, delaySeconds: 10, multiplier: 1.5, maxDelaySeconds: null };
    const ir = irFixture({ jobs: [jobFixture("a", { retry })] });
    expect(check(ir)).toEqual([]);
    expect(templateOf(emitted(ir), "a").retryStrategy.backoff).toEqual({ duration: "10s" });
    expect(lift(emit(ir))).toEqual(summarize(ir));
  });

  it("given waits that overflow the controller's durations, when checked, then KFM301, and a max_delay makes them expressible", () => {
    const retry: Retry = { maxAttempts: 40, delaySeconds: 86400, multiplier: 2, maxDelaySeconds: null };
    expect(codes(irFixture({ jobs: [jobFixture("a", { retry })] }))).toEqual(["KFM301"]);
    const capped: Retry = { ...retry, maxDelaySeconds: 3600 };
    const ir = irFixture({ jobs: [jobFixture("a", { retry: capped })] });
    expect(check(ir)).toEqual([]);
    expect(lift(emit(ir)).jobs["a"]!.waitsSeconds).toEqual(retryWaits(capped));
  });

  it("given emitted YAML whose limit drifted, when lifted, then the attempts differ (lift reads retryStrategy.limit, not a comment)", () => {
    const retry: Retry = { maxAttempts: 3, delaySeconds: 5, multiplier: 2, maxDelaySeconds: null };
    const ir = irFixture({ jobs: [jobFixture("a", { retry })] });
    const drifted = emit(ir).replace("limit: 2", "limit: 3");
    expect(lift(drifted).jobs["a"]!.attempts).toBe(4);
    expect(lift(drifted).jobs["a"]!.waitsSeconds).toEqual([5, 10, 20]);
  });

  it("given the default retryPolicy, when lifted, then it is rejected (OnFailure would not retry errors)", () => {
    const retry: Retry = { maxAttempts: 2, delaySeconds: 10, multiplier: 1, maxDelaySeconds: null };
    const text = emit(irFixture({ jobs: [jobFixture("a", { retry })] })).replace("retryPolicy: Always", "retryPolicy: OnFailure");
    expect(() => lift(text)).toThrow(/Always/);
  });
});

// ---------- timeouts ----------

describe("timeouts", () => {
  it("given a job timeout, when emitted, then the template's activeDeadlineSeconds bounds each attempt (pod)", () => {
    const doc = emitted(irFixture({ jobs: [jobFixture("a", { timeoutSeconds: 1800 })] }));
    expect(templateOf(doc, "a").activeDeadlineSeconds).toBe(1800);
  });

  it("given no timeouts, when emitted, then neither activeDeadlineSeconds is written (Argo's own default is no deadline)", () => {
    const doc = emitted(irFixture());
    expect(templateOf(doc, "extract-sales")).not.toHaveProperty("activeDeadlineSeconds");
    expect(workflowSpecOf(doc)).not.toHaveProperty("activeDeadlineSeconds");
  });

  it("given a workflow timeout on a scheduled workflow, when emitted, then workflowSpec.activeDeadlineSeconds holds it", () => {
    const doc = emitted(irFixture({ schedule: cron(), timeoutSeconds: 7200 }));
    expect(doc.spec.workflowSpec.activeDeadlineSeconds).toBe(7200);
  });

  it("given a timeout beyond Go's duration range, when checked, then KFM301", () => {
    expect(codes(irFixture({ timeoutSeconds: 9223372037 }))).toEqual(["KFM301"]);
    expect(codes(irFixture({ jobs: [jobFixture("a", { timeoutSeconds: 9223372037 })] }))).toEqual(["KFM301"]);
  });
});

// ---------- dependencies and failure ----------

describe("dependencies and failure", () => {
  const ir = irFixture({
    jobs: [jobFixture("extract_sales"), jobFixture("load_b"), jobFixture("report", { dependsOn: ["extract_sales", "load_b"] })],
  });

  it("given depends_on, when emitted, then depends requires each upstream's Succeeded (a bare name would also accept Skipped)", () => {
    const task = tasksOf(emitted(ir)).find((t) => t.name === "report")!;
    expect(task.depends).toBe("extract-sales.Succeeded && load-b.Succeeded");
    expect(task).not.toHaveProperty("dependencies");
  });

  it("given any DAG, when emitted, then failFast is false so independent branches finish after a failure", () => {
    expect(templateOf(emitted(ir), "kfm-dag").dag.failFast).toBe(false);
  });

  it("given spec names with '_', when lifted, then the names come back from the kfm-compile.dev/name annotation", () => {
    const doc = emitted(ir);
    expect(templateOf(doc, "load-b").metadata.annotations["kfm-compile.dev/name"]).toBe("load_b");
    expect(doc.metadata.annotations["kfm-compile.dev/name"]).toBe("daily_sales");
    expect(Object.keys(lift(emit(ir)).jobs)).toEqual(["extract_sales", "load_b", "report"]);
    expect(lift(emit(ir)).jobs["report"]!.after).toEqual(["extract_sales", "load_b"]);
  });

  it("given failFast drifted to true, when lifted, then lift refuses the output", () => {
    expect(() => lift(emit(ir).replace("failFast: false", "failFast: true"))).toThrow(/failFast/);
  });
});

// ---------- schedules ----------

describe("schedules", () => {
  it("given a cron schedule, when emitted, then a CronWorkflow with schedules [cron], timezone, Allow, startingDeadlineSeconds 0 and suspend false", () => {
    const doc = emitted(irFixture({ schedule: cron({ cron: "30 6 * * 1", timezone: "America/New_York" }) }));
    expect(doc.apiVersion).toBe("argoproj.io/v1alpha1");
    expect(doc.kind).toBe("CronWorkflow");
    expect(doc.spec.schedules).toEqual(["30 6 * * 1"]);
    expect(doc.spec).not.toHaveProperty("schedule");
    expect(doc.spec.timezone).toBe("America/New_York");
    expect(doc.spec.concurrencyPolicy).toBe("Allow");
    expect(doc.spec.startingDeadlineSeconds).toBe(0);
    expect(doc.spec.suspend).toBe(false);
  });

  it("given UTC, when emitted, then timezone UTC is still written (Argo's default is the controller's zone)", () => {
    expect(emitted(irFixture({ schedule: cron() })).spec.timezone).toBe("UTC");
  });

  it("given catchup true, when checked, then KFM301 at schedule.catchup, printing the backfill command", () => {
    const problems = check(irFixture({ schedule: cron({ catchup: true }) }));
    expect(problems.map((p) => p.code)).toEqual(["KFM301"]);
    expect(problems[0]!.at).toEqual(["workflow", "schedule", "catchup"]);
    expect(problems[0]!.message).toContain("`kfm-compile backfill ");
  });

  it("given an event trigger, when emitted, then the WorkflowTemplate, then a webhook EventSource and a Sensor creating a run with the event's time as logical-date", () => {
    const event: EventSchedule = {
      kind: "event",
      at: ["workflow", "schedule"],
      trigger: "s3_file_arrival",
      source: "s3://raw.b/a+b/c/",
      bucket: "raw.b",
      prefix: "a+b/c/",
    };
    const ir = irFixture({ schedule: event });
    expect(check(ir)).toEqual([]);
    const docs = parseYamlStream(emit(ir)) as Record<string, any>[];
    expect(docs.map((d) => d.kind)).toEqual([
      "ServiceAccount",
      "Role",
      "RoleBinding",
      "WorkflowTemplate",
      "ServiceAccount",
      "Role",
      "RoleBinding",
      "EventSource",
      "Sensor",
    ]);
    const sensor = docs[8]!;
    expect(sensor.spec.dependencies[0].filters.data.map((f: any) => f.value[0])).toEqual(["^(s3:)?ObjectCreated:", "^raw\\.b$", "^a\\+b(/|%2F)c(/|%2F)"]);
    expect(sensor.spec.triggers[0].template.k8s.parameters[0].src.dataKey).toBe("body.Records.0.eventTime");
    expect(lift(emit(ir)).schedule).toEqual({ kind: "event", trigger: "s3_file_arrival", source: "s3://raw.b/a+b/c/" });
  });

  it("given start and end, when emitted, then a when guard compares the slot (now, to the minute) with both bounds in the schedule's zone", () => {
    const doc = emitted(
      irFixture({ schedule: cron({ cron: "0 5 * * *", timezone: "Europe/Berlin", start: "2024-01-01T00:00:00", end: "2024-12-31T23:59:59" }) }),
    );
    expect(doc.spec.when).toBe(
      "{{= now().Truncate(duration('1m')) >= date('2024-01-01T00:00:00', '2006-01-02T15:04:05', 'Europe/Berlin')" +
        " && now().Truncate(duration('1m')) <= date('2024-12-31T23:59:59', '2006-01-02T15:04:05', 'Europe/Berlin') }}",
    );
  });

  it("given a daily 02:30 in Europe/Berlin, when emitted, then a second schedule at 03:30 and a daylight-saving guard before the window bound, and lift reads the spec's cron back", () => {
    const ir = irFixture({ schedule: cron({ cron: "30 2 * * *", timezone: "Europe/Berlin", start: "2024-01-01T00:00:00", periodSeconds: null }) });
    const doc = emitted(ir);
    expect(doc.spec.schedules).toEqual(["30 2 * * *", "30 3 * * *"]);
    const hour = (shift: string) => `now()${shift}.In(timezone('Europe/Berlin')).Hour()`;
    expect(doc.spec.when).toBe(
      `{{= (${hour("")} in [2] ? ${hour(".Add(duration('1h'))")} != ${hour("")} : ${hour(".Add(duration('-1h'))")} == (${hour("")} + 22) % 24)` +
        " && now().Truncate(duration('1m')) >= date('2024-01-01T00:00:00', '2006-01-02T15:04:05', 'Europe/Berlin') }}",
    );
  });

  it("given no window, when emitted, then no when is written", () => {
    expect(emitted(irFixture({ schedule: cron() })).spec).not.toHaveProperty("when");
  });

  it("given only an end, when lifted, then start is null and end comes back from the guard", () => {
    const ir = irFixture({ schedule: cron({ end: "2025-06-30T23:59:59" }) });
    expect(lift(emit(ir)).schedule).toEqual({ kind: "cron", cron: "0 2 * * *", timezone: "UTC", start: null, end: "2025-06-30T23:59:59", catchup: false });
  });

  it("given a scheduled workflow named with 53 characters, when checked, then KFM301 (Argo appends the unix time to each run's name)", () => {
    expect(codes(irFixture({ name: "a".repeat(53), schedule: cron() }))).toEqual(["KFM301"]);
    expect(codes(irFixture({ name: "a".repeat(52), schedule: cron() }))).toEqual([]);
  });

  it("given no schedule, when emitted, then a WorkflowTemplate whose logical-date parameter has no value (Argo refuses a submission without it)", () => {
    const doc = emitted(irFixture());
    expect(doc.kind).toBe("WorkflowTemplate");
    const params = doc.spec.arguments.parameters;
    expect(params).toHaveLength(1);
    expect(params[0].name).toBe("logical-date");
    expect(params[0]).not.toHaveProperty("value");
    expect(params[0]).not.toHaveProperty("default");
  });
});

// ---------- runtime values ----------

describe("runtime values", () => {
  const scheduled = irFixture({
    schedule: cron({ periodSeconds: 3600, cron: "0 * * * *" }),
    jobs: [
      jobFixture("a", {
        args: [
          [{ variable: "ds" }],
          [{ variable: "ts" }],
          [{ variable: "execution_date" }],
          [{ variable: "prev_execution_date" }],
          [{ variable: "next_execution_date" }],
        ],
      }),
    ],
  });

  it("given a scheduled run, when emitted, then values are computed from workflow.scheduledTime (the slot, RFC 3339) and formatted in UTC", () => {
    const args = containerOf(emitted(scheduled), "a").args!;
    const date = "sprig.mustToDate('2006-01-02T15:04:05Z07:00', workflow.scheduledTime)";
    expect(args[0]).toBe(`{{=/*ds*/ sprig.dateInZone('2006-01-02', ${date}, 'UTC')}}`);
    expect(args[1]).toBe(`{{=/*ts*/ sprig.dateInZone('2006-01-02T15:04:05-07:00', ${date}, 'UTC')}}`);
    expect(args[2]).toBe(`{{=/*execution_date*/ sprig.dateInZone('2006-01-02T15:04:05-07:00', ${date}, 'UTC')}}`);
    expect(args[3]).toBe(`{{=/*prev_execution_date*/ sprig.dateInZone('2006-01-02T15:04:05-07:00', sprig.dateModify('-3600s', ${date}), 'UTC')}}`);
    expect(args[4]).toBe(`{{=/*next_execution_date*/ sprig.dateInZone('2006-01-02T15:04:05-07:00', sprig.dateModify('3600s', ${date}), 'UTC')}}`);
  });

  it("given ts and execution_date (same string), when lifted, then each comes back as the variable the spec named", () => {
    expect(lift(emit(scheduled)).jobs["a"]!.args).toEqual(scheduled.jobs[0]!.args);
  });

  it("given a manual run, when emitted, then values come from workflow.parameters['logical-date'] and only root tasks carry the date guard", () => {
    const ir = irFixture({ jobs: [jobFixture("a"), jobFixture("b", { dependsOn: ["a"] })] });
    const doc = emitted(ir);
    const env = envOf(doc, "a", "KFM_LOGICAL_DATE");
    expect(env.value).toContain("workflow.parameters['logical-date']");
    const [a, b] = tasksOf(doc);
    expect(a!.when).toBe(
      "{{=sprig.dateInZone('2006-01-02T15:04:05-07:00', sprig.mustToDate('2006-01-02T15:04:05Z07:00', workflow.parameters['logical-date']), 'UTC') != ''}}",
    );
    expect(b).not.toHaveProperty("when");
  });

  it("given a scheduled run, when emitted, then no task has a when and the run takes no arguments", () => {
    const doc = emitted(scheduled);
    expect(tasksOf(doc).every((t) => t.when === undefined)).toBe(true);
    expect(doc.spec.workflowSpec).not.toHaveProperty("arguments");
  });

  it("given a tag computing the wrong variable, when lifted, then lift refuses it", () => {
    const text = emit(scheduled).replace("sprig.dateModify('-3600s'", "sprig.dateModify('3600s'");
    expect(() => lift(text)).toThrow(/prev_execution_date/);
  });
});

// ---------- literal text ----------

describe("literal text", () => {
  it("given a literal '$', when rendered, then every '$' is doubled and Kubernetes' expansion gives the text back", () => {
    const text = "$(HOME) and $$ and $1 ${X}";
    const rendered = renderTemplate([{ text }], CTX_PARAMETER);
    expect(rendered).toBe("$$(HOME) and $$$$ and $$1 $${X}");
    expect(kubernetesExpand(rendered, { HOME: "/root", X: "x" })).toBe(text);
    expect(escapeDollars("$")).toBe("$$");
  });

  it("given a '$' in env and command, when emitted, then they are doubled there too", () => {
    const ir = irFixture({
      jobs: [jobFixture("a", { command: [[{ text: "sh$" }]], env: [{ name: "P", value: [{ text: "$(PATH)" }] }, ...jobFixture("a").env] })],
    });
    const c = containerOf(emitted(ir), "a");
    expect(c.command).toEqual(["sh$$"]);
    expect(c.env![0]).toEqual({ name: "P", value: "$$(PATH)" });
  });

  it("given a literal '{{ x }}' naming no Argo variable, when compiled, then it is written as it is (Argo writes unresolved tags back)", () => {
    const args: Template[] = [[{ text: "{{ not a variable }}" }], [{ text: "{% raw %} {{ .Values.x }}" }]];
    const ir = irFixture({ jobs: [jobFixture("a", { args })] });
    expect(check(ir)).toEqual([]);
    expect(containerOf(emitted(ir), "a").args).toEqual(["{{ not a variable }}", "{% raw %} {{ .Values.x }}"]);
    expect(lift(emit(ir)).jobs["a"]!.args).toEqual(args);
  });

  it.each([
    ["{{ workflow.name }}", "names an Argo variable"],
    ["{{inputs.parameters.x}}", "names an Argo variable"],
    ["{{ item }}", "names an Argo variable"],
    ["{{=1+1}}", "expression tag"],
    ["a {{ b", "no '}}'"],
    ["{{ a {{ b }}", "nested"],
  ])("given literal text %j, when checked, then KFM301 (%s)", (text, why) => {
    const problems = check(irFixture({ jobs: [jobFixture("a", { args: [[{ text }]] })] }));
    expect(problems.map((p) => p.code)).toEqual(["KFM301"]);
    expect(problems[0]!.message).toContain(why);
    expect(problems[0]!.at).toEqual(["workflow", "jobs", 0, "job", "args", 0]);
  });

  it("given a '{' right before a runtime value, when rendered, then the brace moves into the tag so Argo never sees '{{{'", () => {
    const template: Template = [{ text: "x{" }, { variable: "ds" }, { text: "}" }];
    const rendered = renderTemplate(template, CTX_SCHEDULED);
    expect(rendered).not.toContain("{{{");
    expect(rendered.startsWith("x{{=/*ds*/ '{' + sprig.dateInZone(")).toBe(true);
    expect(rendered.endsWith("'UTC')}}}")).toBe(true);
    expect(parseArgoString(rendered, "scheduled")).toEqual(template);
  });

  it("given a '}}' after a runtime value, when parsed the way Argo tokenizes, then the value's tag ends at the first '}}'", () => {
    expect(parseArgoString(renderTemplate([{ variable: "ts" }, { text: "}}" }], CTX_PARAMETER), "parameter")).toEqual([{ variable: "ts" }, { text: "}}" }]);
  });

  it("given the literal-text rules, when asked directly, then only inert tags pass", () => {
    expect(literalTextIssue("plain } text { with braces")).toBeNull();
    expect(literalTextIssue("{{ x }} and {{ y }}")).toBeNull();
    expect(literalTextIssue("{{workflowish}}")).toBeNull();
    expect(literalTextIssue("{{ pod.name }}")).not.toBeNull();
  });

  it("given a '{{' in the image, when checked, then KFM301", () => {
    expect(codes(irFixture({ jobs: [jobFixture("a", { image: "repo/{{x}}:1" })] }))).toEqual(["KFM301"]);
  });

  it("given an undoubled '$' in emitted text, when lifted, then lift refuses it (Kubernetes would expand it)", () => {
    expect(() => parseArgoString("$(HOME)", "parameter")).toThrow(/single '\$'/);
  });
});

// ---------- container ----------

describe("container", () => {
  it("given no command and no args, when emitted, then neither key is written (the image entrypoint runs)", () => {
    const c = containerOf(emitted(irFixture()), "extract-sales");
    expect(c).not.toHaveProperty("command");
    expect(c).not.toHaveProperty("args");
    // Argo names the container main whatever is written (createWorkflowPod).
    expect(c).not.toHaveProperty("name");
  });

  it("given an empty command, when checked, then KFM301 (Kubernetes would run the entrypoint)", () => {
    expect(codes(irFixture({ jobs: [jobFixture("a", { command: [] })] }))).toEqual(["KFM301"]);
  });

  it("given empty args, when emitted and lifted, then args [] comes back as []", () => {
    const ir = irFixture({ jobs: [jobFixture("a", { args: [] })] });
    expect(containerOf(emitted(ir), "a").args).toEqual([]);
    expect(lift(emit(ir)).jobs["a"]!.args).toEqual([]);
  });

  it("given cpu and memory, when emitted, then each is both the request and the limit", () => {
    const c = containerOf(emitted(irFixture({ jobs: [jobFixture("a", { resources: { cpu: "500m", memory: "2Gi" } })] })), "a");
    expect(c.resources).toEqual({ requests: { cpu: "500m", memory: "2Gi" }, limits: { cpu: "500m", memory: "2Gi" } });
  });

  it("given only memory, when emitted, then only memory is requested and limited", () => {
    const c = containerOf(emitted(irFixture({ jobs: [jobFixture("a", { resources: { cpu: null, memory: "512Mi" } })] })), "a");
    expect(c.resources).toEqual({ requests: { memory: "512Mi" }, limits: { memory: "512Mi" } });
  });

  it("given no resources, when emitted, then no resources are written (none is Kubernetes' default)", () => {
    expect(containerOf(emitted(irFixture()), "extract-sales")).not.toHaveProperty("resources");
  });

  it("given a quantity that looks like a number, when emitted, then it stays a string", () => {
    const text = emit(irFixture({ jobs: [jobFixture("a", { resources: { cpu: "2", memory: null } })] }));
    expect(text).toContain('cpu: "2"');
  });

  it("given env in spec order then the standard variables, when emitted, then the job's own keep their order and the shared ones are written once in templateDefaults", () => {
    const ir = irFixture({ jobs: [jobFixture("a", { env: [{ name: "Z", value: [{ text: "1" }] }, ...jobFixture("a").env] }), jobFixture("b")] });
    const doc = emitted(ir);
    expect(containerOf(doc, "a").env!.map((e) => e.name)).toEqual(["Z", "KFM_JOB", "KFM_ATTEMPT"]);
    expect(workflowSpecOf(doc).templateDefaults.container.env.map((e: Obj) => e.name)).toEqual(["KFM_WORKFLOW", "KFM_LOGICAL_DATE", "KFM_RUN_TOKEN"]);
    expect(lift(emit(ir))).toEqual(summarize(ir));
  });

  it("given a job whose own entry has a shared variable's name, when lifted, then the template's entry wins over the default (strategic merge by name)", () => {
    const ir = irFixture({ jobs: [jobFixture("a"), jobFixture("b")] });
    const doc = emitted(ir);
    containerOf(doc, "b").env!.push({ name: "KFM_WORKFLOW", value: "other" });
    expect(lift(toYamlText(doc)).jobs["b"]!.env["KFM_WORKFLOW"]).toEqual([{ text: "other" }]);
    expect(lift(toYamlText(doc)).jobs["a"]!.env["KFM_WORKFLOW"]).toEqual([{ text: "daily_sales" }]);
  });
});

// ---------- issue 4: secrets, attempt, run token, continue after failure, concurrency ----------

/** An env var of a job's container by name, as the controller sees it: the template's own entry, else the templateDefaults one. */
function envOf(doc: Obj, job: string, name: string): Obj {
  const own = (containerOf(doc, job).env ?? []).find((e) => e.name === name);
  return (own ?? (workflowSpecOf(doc).templateDefaults?.container?.env ?? []).find((e: Obj) => e.name === name)) as Obj;
}

/** Evaluates a run-token tag the way the controller would (expr-lang + sprig), for the shapes emit writes. */
function evalRunToken(tag: string, ts: string): string {
  const m = /^\{\{=\/\*run_token\*\/ sprig\.trunc\(32, sprig\.sha256sum\((.*) \+ sprig\.dateInZone\(/s.exec(tag);
  expect(m).not.toBeNull();
  const seed = readExprString(m![1]!)!.value;
  return createHash("sha256")
    .update(seed + ts)
    .digest("hex")
    .slice(0, 32);
}

describe("secrets (contract 11.3)", () => {
  const ir = irFixture({
    jobs: [jobFixture("a", { env: [{ name: "PASSWORD", secretRef: { secret: "trino-credentials", key: "password" } }, ...jobFixture("a").env] })],
  });

  it("given an env secret reference, when emitted, then it is valueFrom.secretKeyRef {name: secret, key} and no value is written", () => {
    expect(envOf(emitted(ir), "a", "PASSWORD")).toEqual({ name: "PASSWORD", valueFrom: { secretKeyRef: { name: "trino-credentials", key: "password" } } });
  });

  it("given an env secret reference, when lifted, then the SecretRef comes back from secretKeyRef", () => {
    expect(lift(emit(ir)).jobs["a"]!.env["PASSWORD"]).toEqual({ secret: "trino-credentials", key: "password" });
  });

  it("given a secretKeyRef that drifted to optional, when lifted, then lift refuses it (a missing secret would start the pod)", () => {
    const text = emit(ir).replace("key: password", "key: password\n                optional: true");
    expect(() => lift(text)).toThrow(/more than name and key/);
  });
});

describe("attempt number (KFM_ATTEMPT)", () => {
  it("given any job, when emitted, then KFM_ATTEMPT is Argo's 0-based `retries` plus one, in an expression tag", () => {
    expect(envOf(emitted(irFixture()), "extract-sales", "KFM_ATTEMPT").value).toBe("{{=/*attempt*/ string(int(retries) + 1)}}");
  });

  it("given no retry, when emitted, then a retryStrategy (limit 0) is still written, so `retries` is defined for the attempt", () => {
    expect(templateOf(emitted(irFixture()), "extract-sales").retryStrategy.limit).toBe(0);
  });

  it("given an attempt tag that drifted to 0-based, when lifted, then lift refuses it", () => {
    const text = emit(irFixture()).replace("string(int(retries) + 1)", "string(int(retries))");
    expect(() => lift(text)).toThrow(/does not compute attempt/);
  });
});

describe("run token (KFM_RUN_TOKEN)", () => {
  it("given the run-token seed, when the emitted tag is evaluated, then it is the first 32 hex digits of sha256(seed + ts)", () => {
    const tag = envOf(emitted(irFixture()), "extract-sales", "KFM_RUN_TOKEN").value as string;
    const ts = "2024-03-10T07:30:00+00:00";
    expect(evalRunToken(tag, ts)).toBe(
      createHash("sha256")
        .update(SEED + ts)
        .digest("hex")
        .slice(0, 32),
    );
    expect(tag).toContain("'UTC')))}}");
  });

  it("given a seed with newlines, a quote and a backslash, when written as an expr-lang string, then reading it back gives the seed", () => {
    const seed = "a\nb'c\\d\n";
    const literal = exprString(seed);
    expect(literal).not.toContain("\n"); // no raw newline inside the expression
    expect(literal).toBe("'a\\nb\\'c\\\\d\\n'");
    expect(readExprString(literal)).toEqual({ value: seed, rest: "" });
  });

  it("given an IR, when lifted, then runTokenSeed is read from the expression literal", () => {
    const ir = irFixture({ runTokenSeed: "kfm-run-token/v1\nother\nabcd\n" });
    expect(lift(emit(ir)).runTokenSeed).toBe("kfm-run-token/v1\nother\nabcd\n");
  });

  it("given two jobs whose tags hash different seeds, when lifted, then lift refuses the output", () => {
    const ir = irFixture({ jobs: [jobFixture("a"), jobFixture("b")] });
    const doc = emitted(ir);
    const token = envOf(doc, "b", "KFM_RUN_TOKEN");
    containerOf(doc, "b").env!.push({ name: "KFM_RUN_TOKEN", value: (token.value as string).replace("\\n0000\\n", "\\n0001\\n") });
    expect(() => lift(toYamlText(doc))).toThrow(/different seeds/);
  });
});

describe("on_upstream_failure: continue (trap 4)", () => {
  const continueIr = irFixture({ jobs: [jobFixture("load"), jobFixture("cleanup", { dependsOn: ["load"], runWhen: "all_done" })] });

  it("given runWhen all_done, when emitted, then depends accepts every finished state of each dependency", () => {
    const cleanup = tasksOf(emitted(continueIr)).find((t) => t.name === "cleanup");
    expect(cleanup!.depends).toBe("(load.Succeeded || load.Failed || load.Errored || load.Skipped || load.Omitted)");
  });

  it("given an all_done job, when emitted, then a kfm-run-status task needs every job's success and runs a pod-less zero-length suspend", () => {
    const doc = emitted(continueIr);
    expect(tasksOf(doc).at(-1)).toEqual({ name: "kfm-run-status", template: "kfm-run-status", depends: "load.Succeeded && cleanup.Succeeded" });
    expect(templateOf(doc, "kfm-run-status")).toEqual({ name: "kfm-run-status", suspend: { duration: "0" } });
  });

  it("given no all_done job, when emitted, then there is no kfm-run-status task (simple outputs stay simple)", () => {
    const ir = irFixture({ jobs: [jobFixture("load"), jobFixture("publish", { dependsOn: ["load"] })] });
    expect(tasksOf(emitted(ir)).map((t) => t.name)).toEqual(["load", "publish"]);
  });

  it("given Argo's DAG rules, when load fails and its only dependent continues and succeeds, then without the status task the run would succeed", () => {
    const graph = [
      { name: "load", after: [], runWhen: "all_succeeded" as const },
      { name: "cleanup", after: ["load"], runWhen: "all_done" as const },
    ];
    expect(failureFailsRun(graph, "load")).toBe(false);
    expect(failureFailsRun([...graph, { name: "kfm-run-status", after: ["load", "cleanup"], runWhen: "all_succeeded" }], "load")).toBe(true);
  });

  it("given the emitted output, when lifted, then runWhen comes from depends and failureFailsRun is true for every job", () => {
    const s = lift(emit(continueIr));
    expect(s.jobs["cleanup"]!.runWhen).toBe("all_done");
    expect(s.jobs["load"]!.failureFailsRun).toBe(true);
    expect(s).toEqual(summarize(continueIr));
  });

  it("given output whose kfm-run-status task was dropped, when lifted, then failureFailsRun is false for the masked job", () => {
    const doc = emitted(continueIr);
    const dag = templateOf(doc, "kfm-dag").dag;
    dag.tasks = dag.tasks.filter((t: Obj) => t.name !== "kfm-run-status");
    workflowSpecOf(doc).templates = workflowSpecOf(doc).templates.filter((t: Obj) => t.name !== "kfm-run-status");
    const s = lift(toYamlText(doc));
    expect(s.jobs["load"]!.failureFailsRun).toBe(false);
    expect(s.jobs["cleanup"]!.failureFailsRun).toBe(true);
  });

  it("given a run timeout, when emitted, then only the all_done task gets the run-deadline when, and lift reads it as the timeout's", () => {
    const timed = { ...continueIr, timeoutSeconds: 20 };
    const byName = new Map(tasksOf(emitted(timed)).map((t: Obj) => [t.name, t]));
    expect(byName.get("cleanup")!.when).toBe(runDeadlineGuard(20));
    expect(runDeadlineGuard(20)).toBe(
      "{{= now().Before(now().Add(duration('-' + workflow.duration + 's')).Truncate(duration('1s')).Add(duration('20s')).Add(duration('-2s'))) }}",
    );
    expect(byName.get("load")!.when).not.toBe(runDeadlineGuard(20)); // the root keeps only the logical-date guard
    expect(tasksOf(emitted(continueIr)).find((t: Obj) => t.name === "cleanup")!.when).toBeUndefined();
    expect(lift(emit(timed))).toEqual(summarize(timed));
  });

  it("given a timed run whose continue task lost or changed its run-deadline when, when lifted, then lift refuses it", () => {
    const timed = { ...continueIr, timeoutSeconds: 20 };
    for (const when of [undefined, runDeadlineGuard(30)]) {
      const doc = emitted(timed);
      const cleanup = templateOf(doc, "kfm-dag").dag.tasks.find((t: Obj) => t.name === "cleanup");
      if (when === undefined) delete cleanup.when;
      else cleanup.when = when;
      expect(() => lift(toYamlText(doc))).toThrow(/lacks the run-deadline guard/);
    }
  });

  it("given all_succeeded jobs only, when lifted, then a failed job fails the run through its Omitted descendants (failureFailsRun true)", () => {
    const ir = irFixture({ jobs: [jobFixture("a"), jobFixture("b", { dependsOn: ["a"] })] });
    expect(Object.values(lift(emit(ir)).jobs).every((j) => j.failureFailsRun)).toBe(true);
  });
});

describe("max_active_runs (trap 10: queue)", () => {
  it("given max_active_runs 1, when emitted, then a workflow-level mutex named after the workflow, and no ConfigMap", () => {
    const ir = irFixture({ maxActiveRuns: 1, schedule: cron() });
    const doc = emitted(ir);
    expect(workflowSpecOf(doc).synchronization).toEqual({ mutexes: [{ name: "kfm-daily-sales-runs" }] });
    expect(doc.spec.concurrencyPolicy).toBe("Allow");
  });

  it("given max_active_runs 3, when emitted, then a semaphore reading a ConfigMap emitted in the same file with the limit", () => {
    const ir = irFixture({ maxActiveRuns: 3 });
    const docs = parseYamlStream(emit(ir)) as Obj[];
    expect(docs.map((d) => d.kind)).toEqual(["ServiceAccount", "Role", "RoleBinding", "ConfigMap", "WorkflowTemplate"]);
    expect(docs[4]!.spec.synchronization).toEqual({ semaphores: [{ configMapKeyRef: { name: "kfm-daily-sales-runs", key: "max-active-runs" } }] });
    expect(docs[3]).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kfm-daily-sales-runs", labels: LABELS, annotations: { "kfm-compile.dev/name": "daily_sales" } },
      data: { "max-active-runs": "3" },
    });
  });

  it("given no limit, when emitted, then no synchronization and no ConfigMap", () => {
    const text = emit(irFixture());
    expect(text).not.toContain("synchronization");
    expect((parseYamlStream(text) as Obj[]).map((d) => d.kind)).toEqual(["ServiceAccount", "Role", "RoleBinding", "WorkflowTemplate"]);
  });

  it("given a semaphore whose ConfigMap limit drifted, when lifted, then maxActiveRuns is the ConfigMap's value", () => {
    const text = emit(irFixture({ maxActiveRuns: 3 })).replace('max-active-runs: "3"', 'max-active-runs: "4"');
    expect(lift(text).maxActiveRuns).toBe(4);
  });

  it("given max_active_runs 1 and 2, when lifted, then they come back as 1 and 2", () => {
    for (const n of [1, 2]) {
      const ir = irFixture({ maxActiveRuns: n, schedule: cron() });
      expect(lift(emit(ir))).toEqual(summarize(ir));
    }
  });
});

describe("prerequisite gates", () => {
  it("given a prerequisite (edges added by the core), when emitted, then they are plain depends on its success", () => {
    const ir = irFixture({ jobs: [jobFixture("check", { prerequisite: true }), jobFixture("transform", { dependsOn: ["check"] })] });
    expect(tasksOf(emitted(ir)).find((t) => t.name === "transform")!.depends).toBe("check.Succeeded");
  });
});

describe("approval gates (trap 13: reject fails, never skips)", () => {
  const gate = (timeoutSeconds: number | null) =>
    jobFixture("approve", {
      image: "",
      env: [],
      retry: NO_RETRY,
      approval: { timeoutSeconds },
      dependsOn: ["build"],
    });
  const gateIr = (timeoutSeconds: number | null) =>
    irFixture({ jobs: [jobFixture("build"), gate(timeoutSeconds), jobFixture("promote", { dependsOn: ["approve"] }), jobFixture("audit")] });

  it("given a gate with a 24h timeout, when emitted, then it is a suspend template (no pod) whose duration is the timeout", () => {
    const t = templateOf(emitted(gateIr(86400)), "approve");
    expect(t.suspend).toEqual({ duration: "86400s" });
    expect(t.container).toBeUndefined();
    expect(t.retryStrategy).toBeUndefined();
  });

  it("given a gate, when emitted, then its supplied output parameter has NO default (a duration that runs out then errors the gate instead of approving it)", () => {
    const t = templateOf(emitted(gateIr(86400)), "approve");
    expect(t.outputs).toEqual({ parameters: [{ name: "approved-by", valueFrom: { supplied: {} } }] });
  });

  it("given a gate without a timeout, when emitted, then the suspend has no duration (waits indefinitely)", () => {
    expect(templateOf(emitted(gateIr(null)), "approve").suspend).toEqual({});
  });

  it("given a job after a gate, when emitted, then it depends on the gate's success (a rejected, Failed gate omits it)", () => {
    expect(tasksOf(emitted(gateIr(null))).find((t) => t.name === "promote")!.depends).toBe("approve.Succeeded");
  });

  it("given a gate, when lifted, then the summary has the approval and its timeout", () => {
    const ir = gateIr(86400);
    expect(lift(emit(ir)).jobs["approve"]).toEqual(summarize(ir).jobs["approve"]);
    expect(lift(emit(ir)).jobs["approve"]!.approval).toEqual({ timeoutSeconds: 86400 });
  });

  it("given emitted YAML where the gate's output gained a default, when lifted, then lift refuses it (running out would approve)", () => {
    const drifted = emit(gateIr(86400)).replace("supplied: {}", "supplied: {}\n              default: yes");
    expect(drifted).not.toBe(emit(gateIr(86400)));
    expect(() => lift(drifted)).toThrow(/without a default/);
  });

  it("given emitted YAML whose gate duration drifted, when lifted, then the timeout differs", () => {
    const drifted = emit(gateIr(86400)).replace("duration: 86400s", "duration: 3600s");
    expect(lift(drifted).jobs["approve"]!.approval).toEqual({ timeoutSeconds: 3600 });
  });

  it("given an approval timeout above the Go duration limit, when checked, then KFM301", () => {
    expect(codes(gateIr(9223372037))).toEqual(["KFM301"]);
    expect(codes(gateIr(86400))).toEqual([]);
  });
});

// ---------- deployable as written (issue 13): accounts, labels, options, restricted helper pods ----------

describe("deployment: accounts and options", () => {
  const docsOf = (ir: Workflow, options: ArgoOptions = DEFAULT_OPTIONS) => parseYamlStream(emit(ir, options)) as Obj[];

  it("given no serviceAccount option, when emitted, then a ServiceAccount, a Role allowing only create and patch of workflowtaskresults, and their RoleBinding come first, and the pods use that account", () => {
    const docs = docsOf(irFixture());
    const [sa, role, binding, wf] = docs;
    expect(sa).toEqual({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "daily-sales-executor", labels: LABELS } });
    expect(role!.rules).toEqual([{ apiGroups: ["argoproj.io"], resources: ["workflowtaskresults"], verbs: ["create", "patch"] }]);
    expect(binding!.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "daily-sales-executor" });
    // No namespace: the API server reads a ServiceAccount subject's namespace as the binding's (appliesToUser).
    expect(binding!.subjects).toEqual([{ kind: "ServiceAccount", name: "daily-sales-executor" }]);
    expect(workflowSpecOf(wf!).serviceAccountName).toBe("daily-sales-executor");
  });

  it("given the serviceAccount option, when emitted, then no account objects are written and the pods use the named account", () => {
    const docs = docsOf(irFixture(), { ...DEFAULT_OPTIONS, serviceAccount: "argo-runner" });
    expect(docs.map((d) => d.kind)).toEqual(["WorkflowTemplate"]);
    expect(workflowSpecOf(docs[0]!).serviceAccountName).toBe("argo-runner");
    expect(lift(emit(irFixture(), { ...DEFAULT_OPTIONS, serviceAccount: "argo-runner" }))).toEqual(summarize(irFixture()));
  });

  it("given the namespace option, when emitted, then every object and the binding's subject are in it, and the meaning is unchanged", () => {
    const ir = irFixture({ maxActiveRuns: 2 });
    const options = { ...DEFAULT_OPTIONS, namespace: "pipelines" };
    const docs = docsOf(ir, options);
    expect(docs.map((d) => d.metadata.namespace)).toEqual(["pipelines", "pipelines", "pipelines", "pipelines", "pipelines"]);
    expect(docs[2]!.subjects).toEqual([{ kind: "ServiceAccount", name: "daily-sales-executor", namespace: "pipelines" }]);
    expect(lift(emit(ir, options))).toEqual(summarize(ir));
  });

  it("given any workflow, when emitted, then every object carries the managed-by and workflow labels (apply --prune finds them by these), and the runs do not", () => {
    const docs = docsOf(irFixture({ maxActiveRuns: 2 }));
    expect(docs.every((d) => JSON.stringify(d.metadata.labels) === JSON.stringify(LABELS))).toBe(true);
    expect(docs[docs.length - 1]!.spec.workflowMetadata.labels).toBeUndefined();
  });

  it("given a Role that drifted to more rights, when lifted, then lift refuses it", () => {
    const text = emit(irFixture()).replace("      - patch\n", "      - patch\n      - delete\n");
    expect(() => lift(text)).toThrow(/Role allows/);
  });

  it("given an account named other than the pods' serviceAccountName, when lifted, then lift refuses it", () => {
    const text = emit(irFixture()).replace("serviceAccountName: daily-sales-executor", "serviceAccountName: default");
    expect(() => lift(text)).toThrow(/not named default/);
  });

  it("given imagePullSecrets, a podSecurityContext and a container securityContext, when emitted, then they are workflow-level fields for the job pods and the meaning is unchanged", () => {
    const options: ArgoOptions = {
      ...DEFAULT_OPTIONS,
      imagePullSecrets: ["registry"],
      podSecurityContext: { runAsNonRoot: true, runAsUser: 1000 },
      securityContext: { allowPrivilegeEscalation: false },
    };
    const spec = workflowSpecOf(docsOf(irFixture(), options).pop()!);
    expect(spec.imagePullSecrets).toEqual([{ name: "registry" }]);
    expect(spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000 });
    expect(spec.templateDefaults.container.securityContext).toEqual({ allowPrivilegeEscalation: false });
    expect(lift(emit(irFixture(), options))).toEqual(summarize(irFixture()));
  });

  it("given nodeSelector, priorityClassName, podGC and ttlSecondsAfterFinished, when emitted, then they are the run spec's fields and the meaning is unchanged", () => {
    const options: ArgoOptions = {
      ...DEFAULT_OPTIONS,
      nodeSelector: { pool: "batch" },
      priorityClassName: "low",
      podGC: "OnPodSuccess",
      ttlSecondsAfterFinished: 86400,
    };
    const spec = workflowSpecOf(docsOf(irFixture(), options).pop()!);
    expect([spec.nodeSelector, spec.podPriorityClassName, spec.podGC, spec.ttlStrategy]).toEqual([
      { pool: "batch" },
      "low",
      { strategy: "OnPodSuccess" },
      { secondsAfterCompletion: 86400 },
    ]);
    expect(lift(emit(irFixture(), options))).toEqual(summarize(irFixture()));
  });

  it("given no options, when emitted, then the job pods get no securityContext of the compiler's own", () => {
    const spec = workflowSpecOf(docsOf(irFixture()).pop()!);
    expect(spec.securityContext).toBeUndefined();
    expect(spec.templateDefaults.container.securityContext).toBeUndefined();
    expect(templateOf(docsOf(irFixture()).pop()!, "extract-sales").securityContext).toBeUndefined();
  });
});

describe("deployment: what a spec needs on the runner (prerequisites)", () => {
  const ir = irFixture({
    jobs: [
      jobFixture("a", { env: [{ name: "PASSWORD", secretRef: { secret: "db", key: "password" } }, ...jobFixture("a").env] }),
      jobFixture("b", { command: [[{ text: "run" }]], env: [{ name: "USER", secretRef: { secret: "db", key: "user" } }, ...jobFixture("b").env] }),
    ],
    notifications: [{ kind: "slack", at: ["n", 0], message: [{ text: "failed" }], channel: "#ops", webhook: { secret: "slack", key: "url" } }],
  });

  it("given secrets, images and a notification, when asked, then each Secret with its keys, the images, the notification's reach and the account are listed", () => {
    const needs = prerequisites(ir, DEFAULT_OPTIONS);
    expect(needs.map((n) => n.kind)).toEqual(["runner", "account", "setting", "secret", "secret", "image", "image", "image", "network", "runner"]);
    expect(needs.filter((n) => n.kind === "secret").map((n) => n.text)).toEqual([
      "The Secret db with the keys password, user in the namespace.",
      "The Secret slack with the key url in the namespace.",
    ]);
    expect(needs.find((n) => n.kind === "account")!.text).toContain("daily-sales-executor");
    expect(needs.find((n) => n.kind === "network")!.text).toContain("Slack webhook in Secret slack");
  });

  it("given the serviceAccount option, when asked, then the named account and its two rights are required", () => {
    const account = prerequisites(ir, { ...DEFAULT_OPTIONS, serviceAccount: "runner" }).find((n) => n.kind === "account")!;
    expect(account.text).toMatch(/^The ServiceAccount runner exists .* create and patch workflowtaskresults/);
  });
});

describe("failure notifications (onExit)", () => {
  const message: Template = [{ text: "run for " }, { variable: "ts" }, { text: " failed $HOME" }];
  const notified = irFixture({
    jobs: [jobFixture("load")],
    notifications: [
      { kind: "email", at: ["n", 0], message, recipients: ["a@x.com", "b@x.com"], from: "p@x.com", smtp: { secret: "smtp", key: "url" } },
      { kind: "slack", at: ["n", 1], message, channel: "#alerts", webhook: { secret: "slack", key: "url" } },
    ],
  });

  it("given notifications, when emitted, then onExit runs a DAG with one task per notification, each only when the run did not succeed", () => {
    const doc = emitted(notified);
    expect(workflowSpecOf(doc).onExit).toBe("kfm-on-exit");
    const exit = templateOf(doc, "kfm-on-exit");
    expect(exit.dag.failFast).toBe(false);
    expect(exit.dag.tasks).toEqual([
      { name: "kfm-notify-1", template: "kfm-notify-1", when: "{{workflow.status}} != Succeeded" },
      { name: "kfm-notify-2", template: "kfm-notify-2", when: "{{workflow.status}} != Succeeded" },
    ]);
  });

  it("given no notifications, when emitted, then there is no onExit", () => {
    expect(workflowSpecOf(emitted(irFixture())).onExit).toBeUndefined();
  });

  it("given notifications, when emitted, then each notification pod is restricted (non-root numeric user, RuntimeDefault seccomp, no escalation, no capabilities)", () => {
    for (const name of ["kfm-notify-1", "kfm-notify-2"]) {
      const t = templateOf(emitted(notified), name);
      expect(t.container.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        runAsNonRoot: true,
        runAsUser: 65532,
        seccompProfile: { type: "RuntimeDefault" },
      });
    }
  });

  it("given a notifyImage option, when emitted, then the notification pods run it and the meaning is unchanged", () => {
    const options = { ...DEFAULT_OPTIONS, notifyImage: "registry.example/curl@sha256:" + "0".repeat(64) };
    const doc = (parseYamlStream(emit(notified, options)) as Obj[]).pop()!;
    expect(containerOf(doc, "kfm-notify-1").image).toBe(options.notifyImage);
    expect(lift(emit(notified, options))).toEqual(summarize(notified));
  });

  it("given a notification pod whose securityContext drifted, when lifted, then lift refuses it", () => {
    const drifted = emit(notified).replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true");
    expect(() => lift(drifted)).toThrow(/not restricted/);
  });

  it("given a notification, when emitted, then its template has no retryStrategy (sent once)", () => {
    expect(templateOf(emitted(notified), "kfm-notify-1").retryStrategy).toBeUndefined();
  });

  it("given a Slack notification, when emitted, then the webhook is a secretKeyRef and the message an env value with $ doubled", () => {
    const c = containerOf(emitted(notified), "kfm-notify-2");
    expect(c.image).toBe("docker.io/curlimages/curl:8.11.1");
    expect(c.env!.find((e) => e.name === "KFM_NOTIFY_SECRET_URL")).toEqual({
      name: "KFM_NOTIFY_SECRET_URL",
      valueFrom: { secretKeyRef: { name: "slack", key: "url" } },
    });
    expect(c.env!.find((e) => e.name === "KFM_NOTIFY_MESSAGE")!.value).toMatch(/^run for \{\{=\/\*ts\*\/ .*\}\} failed \$\$HOME$/);
    expect(c.env!.find((e) => e.name === "KFM_NOTIFY_CHANNEL")!.value).toBe("#alerts");
  });

  it("given an email notification, when emitted, then the recipients are one env value and the script's $ survive Kubernetes expansion", () => {
    const c = containerOf(emitted(notified), "kfm-notify-1");
    expect(c.args).toBeUndefined();
    expect(c.env!.find((e) => e.name === "KFM_NOTIFY_TO")!.value).toBe("a@x.com b@x.com");
    expect(kubernetesExpand(c.command![2]!, {})).toBe(NOTIFY_SCRIPT);
  });

  it("given a notification, when emitted, then the handler's pod has a deadline and the restricted securityContext", () => {
    const t = templateOf(emitted(notified), "kfm-notify-1");
    expect(t.activeDeadlineSeconds).toBe(NOTIFY_TASK_SECONDS);
    expect(containerOf(emitted(notified), "kfm-notify-1").securityContext).toEqual(RESTRICTED_CONTAINER_SECURITY_CONTEXT);
  });

  it("given the uiUrl option, when emitted, then the run is a link into the Argo UI, and lift reads it back", () => {
    const text = emit(notified, { ...DEFAULT_OPTIONS, uiUrl: "https://argo.example.com/" });
    const doc = (parseYamlStream(text) as Record<string, unknown>[]).find((d) => d.kind === "WorkflowTemplate" || d.kind === "CronWorkflow")!;
    const run = containerOf(doc, "kfm-notify-1").env!.find((e) => e.name === "KFM_NOTIFY_RUN")!.value;
    expect(run).toBe("https://argo.example.com/workflows/{{workflow.namespace}}/{{workflow.name}}");
    expect(lift(text).notifications).toEqual(summarize(notified).notifications);
  });

  it("given spec names with _, when emitted, then the failed jobs' task names are mapped back to them (no }} inside the tag)", () => {
    const ir = irFixture({ jobs: [jobFixture("load_sales"), jobFixture("report")], notifications: notified.notifications });
    const tag = containerOf(emitted(ir), "kfm-notify-1").env!.find((e) => e.name === "KFM_NOTIFY_FAILED")!.value!;
    expect(tag).toBe(failedJobsTag(ir.jobs));
    expect(tag).toContain("{'load-sales': 'load_sales'}[#.displayName] ?? #.displayName");
    expect(tag.slice(0, -2)).not.toContain("}}");
  });

  it("given notifications, when lifted, then they equal the summary (kind, message, parameters, secrets)", () => {
    expect(lift(emit(notified)).notifications).toEqual(summarize(notified).notifications);
  });

  it("given emitted YAML whose when drifted to every status, when lifted, then lift refuses it (it would notify on success)", () => {
    const drifted = emit(notified).split("{{workflow.status}} != Succeeded").join("{{workflow.status}} != Never");
    expect(() => lift(drifted)).toThrow(/when/);
  });

  it("given a channel with an Argo variable, when checked, then KFM301", () => {
    const bad = irFixture({ notifications: [{ kind: "slack", at: ["n", 0], message, channel: "{{workflow.name}}", webhook: { secret: "s", key: "k" } }] });
    expect(codes(bad)).toEqual(["KFM301"]);
  });
});

describe("cross-workflow dependencies (contract 8.2)", () => {
  const up = (workflow: string, timeoutSeconds: number | null, i = 0) => ({ at: ["workflow", "dependencies", i], workflow, timeoutSeconds });
  const tasksOf = (ir: Workflow) => {
    const spec = emitted(ir).spec;
    const wf = (spec.workflowSpec ?? spec) as Record<string, any>;
    return {
      wf,
      tasks: wf.templates[0].dag.tasks as Record<string, any>[],
      templates: new Map((wf.templates as Record<string, any>[]).map((t) => [t.name, t])),
    };
  };

  it("given a dependency on another workflow, when checked, then nothing is refused", () => {
    expect(check(irFixture({ schedule: cron(), upstream: [up("upstream_pipeline", null)] }))).toEqual([]);
  });

  it("given a scheduled workflow, when emitted, then a first task gets the upstream CronWorkflow's run of the same slot and every root job depends on it", () => {
    const { tasks, templates } = tasksOf(irFixture({ schedule: cron(), upstream: [up("upstream_pipeline", null)] }));
    expect(tasks[0]).toEqual({ name: "kfm-wait-upstream-pipeline", template: "kfm-wait-upstream-pipeline" });
    expect(tasks.filter((t) => t.name !== "kfm-wait-upstream-pipeline").every((t) => t.depends !== undefined)).toBe(true);
    const wait = templates.get("kfm-wait-upstream-pipeline")!;
    expect(wait.resource).toMatchObject({ action: "get", successCondition: "status.phase == Succeeded", failureCondition: "status.phase in (Failed, Error)" });
    expect(wait.resource.manifest).toContain(
      "name: upstream-pipeline-{{=sprig.unixEpoch(sprig.mustToDate('2006-01-02T15:04:05Z07:00', workflow.scheduledTime))}}",
    );
    // No timeout: no deadline, and a limit (a backoff is only honoured with one).
    expect(wait.activeDeadlineSeconds).toBeUndefined();
    expect(wait.retryStrategy).toEqual({
      limit: 2147483647,
      retryPolicy: "Always",
      expression: "lastRetry.message contains '(NotFound)'",
      backoff: { duration: "60" },
    });
  });

  it("given a manual workflow and a timeout, when emitted, then the wait is for the backfill run's name, guarded, and bounded by the timeout", () => {
    const { tasks, templates } = tasksOf(irFixture({ upstream: [up("ingest", 7200)] }));
    expect(tasks[0]!.when).toContain("workflow.parameters['logical-date']");
    const wait = templates.get("kfm-wait-ingest")!;
    expect(wait.resource.manifest).toContain("name: ingest-{{=sprig.div(sprig.unixEpoch(");
    expect(wait.activeDeadlineSeconds).toBe(7200);
    expect(wait.retryStrategy.backoff).toEqual({ duration: "60", maxDuration: "7200" });
    expect(wait.retryStrategy.limit).toBe(120);
  });

  it("given a dependency, when emitted, then the pods' Role may also get Workflows, and nothing more", () => {
    const docs = parseYamlStream(emit(irFixture({ upstream: [up("ingest", null)] }))) as Record<string, any>[];
    expect(docs.find((d) => d.kind === "Role")!.rules).toEqual([
      { apiGroups: ["argoproj.io"], resources: ["workflowtaskresults"], verbs: ["create", "patch"] },
      { apiGroups: ["argoproj.io"], resources: ["workflows"], verbs: ["get"] },
    ]);
  });

  it("given dependencies, when emitted and lifted, then the summary has each upstream workflow and its timeout", () => {
    for (const schedule of [cron(), null]) {
      const ir = irFixture({ schedule, upstream: [up("a_flow", null, 0), up("b_flow", 600, 1)] });
      expect(lift(emit(ir))).toEqual(summarize(ir));
    }
  });

  it("given a wait whose retry also retries a failed upstream run, when lifted, then it is refused", () => {
    const text = emit(irFixture({ schedule: cron(), upstream: [up("a_flow", null)] }));
    expect(() => lift(text.replace("lastRetry.message contains '(NotFound)'", "true"))).toThrow(/only while the upstream run is missing/);
    expect(() => lift(text.replace("status.phase in (Failed, Error)", "status.phase in (Error)"))).toThrow(/does not wait for the success/);
  });

  it("given a root job that does not wait, when lifted, then it is refused", () => {
    const text = emit(irFixture({ schedule: cron(), upstream: [up("a_flow", null)] }));
    expect(() => lift(text.replace(/\n +depends: kfm-wait-a-flow\.Succeeded/, ""))).toThrow(/does not wait for the upstream runs/);
  });
});

// ---------- whole output ----------

describe("whole output", () => {
  const full = irFixture({
    description: "Daily: sales",
    schedule: cron({ timezone: "Europe/Berlin", start: "2024-01-01T00:00:00", end: null }),
    timeoutSeconds: 21600,
    jobs: [
      jobFixture("extract_sales", {
        command: [[{ text: "python" }], [{ text: "ingest.py" }]],
        args: [[{ text: "--date" }], [{ text: "{" }, { variable: "ds" }, { text: "}" }]],
        resources: { cpu: "1000m", memory: "2Gi" },
        retry: { maxAttempts: 3, delaySeconds: 300, multiplier: 2, maxDelaySeconds: 500 },
        timeoutSeconds: 3600,
      }),
      jobFixture("report", { dependsOn: ["extract_sales"] }),
    ],
  });

  it("given a workflow, when emitted, then the generated header comes first", () => {
    expect(emit(full).startsWith(`# ${HEADER_MARK}`)).toBe(true);
    expect(emit(full)).toContain("(target argo)");
  });

  it("given the same IR twice, when emitted, then the bytes are equal", () => {
    expect(emit(full)).toBe(emit(structuredClone(full)));
  });

  it("given a scheduled and a manual workflow, when lifted, then the Summary equals summarize(ir)", () => {
    expect(lift(emit(full))).toEqual(summarize(full));
    const manual = { ...full, schedule: null };
    expect(lift(emit(manual))).toEqual(summarize(manual));
  });

  it("given a description, when emitted, then it is Argo's description annotation on the object", () => {
    expect(argoObject(full)["metadata"]).toEqual({
      name: "daily-sales",
      labels: LABELS,
      annotations: { "kfm-compile.dev/name": "daily_sales", "workflows.argoproj.io/description": "Daily: sales" },
    });
  });

  it("given the target descriptor, then it is named argo with extension yaml", () => {
    expect(argo.name).toBe("argo");
    expect(argo.extension).toBe("yaml");
  });
});

function toYamlText(doc: Obj): string {
  return toYaml(doc);
}

function jobFixture(name: string, over: Partial<Job> = {}): Job {
  return baseJob(name, over, "daily_sales");
}

function irFixture(over: Partial<Workflow> = {}): Workflow {
  return baseIr(over, "extract_sales");
}
