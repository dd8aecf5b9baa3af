/**
 * Failure notifications mean the same on every runner (README "Meanings at a real cluster's
 * edges"): for one failed run, each target's notification command, with the env its runner
 * gives it, sends the same text (src/notify.ts `notificationText`), naming the failed jobs by
 * spec name and linking to the run.
 *
 * How each runner's env is made:
 * - Airflow: rendered by Airflow 3.3.2's own templating (conformance/airflow/load_dags.py),
 *   the failed jobs through `RuntimeTaskInstance.get_task_states` answered as the API server's
 *   route answers, the link from `[api] base_url`;
 * - GitHub Actions: every `${{ }}` evaluated by GitHub's expression engine
 *   (@actions/expressions) with the run's `needs`, `secrets` and `github` contexts;
 * - Argo and Tekton: the message and logical date rendered by the runners' own code
 *   (argo-check, tekton-check); the failed jobs and the run are what the controllers substitute
 *   at the end of a run (Argo: the `workflow.failures` expression, evaluated here for the
 *   nodes the controller lists; Tekton: `$(tasks.<task>.status)` as `GetPipelineTaskStatus`
 *   reports it), which these offline tools do not compute; the substitution is restated below.
 * - Dagster: the whole path by Dagster's own code (conformance/dagster/notify_run.py): the
 *   workflow's job run by `execute_in_process` with extract_sales and load_sales failing, the
 *   module's run failure sensor evaluated by Dagster's sensor evaluation, and the notification
 *   run it requests executed with the module's KfmLauncher, `execute_k8s_job` recording the pod;
 * Then each command runs under sh (bash for GitHub) with a fake curl (test/notify-script.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/index.js";
import { LOGICAL_DATE_PARAM } from "../../src/names.js";
import { NOTIFY_ENV, notificationText } from "../../src/notify.js";
import { parseYamlStream } from "../../src/yaml.js";
import { runWithFakeCurl, sentText, type Sent } from "../notify-script.js";
import { k8sExpand } from "./compare.js";
import { valueOf, type Plain } from "./github-expr.js";
import { CACHE, CONFORMANCE, setup, tools } from "./runners.js";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const SPEC = `workflow:
  name: sales_daily
  notifications:
    on_failure:
      - type: email
        recipients: [data-team@example.com, oncall+sales@example.com]
        from: pipelines@example.com
        smtp: {secret: smtp-relay, key: url}
      - type: slack
        channel: "#data-alerts"
        webhook: {secret: slack-webhook, key: url}
  jobs:
    - job: {name: extract_sales, image: "lakehouse/extract:1.0"}
    - job:
        name: load_sales
        image: "lakehouse/load:1.0"
        retry: {max_attempts: 2, delay: 10s}
    - job: {name: report, image: "lakehouse/report:1.0"}
      depends_on: [load_sales]
    - job: {name: audit, image: "lakehouse/audit:1.0"}
`;

/** The run: extract_sales and load_sales failed for good, report never ran (its upstream failed), audit succeeded. */
const LD = "2024-03-10T02:00:00+00:00";
const FAILED = ["extract_sales", "load_sales"];
const SECRETS = { "smtp-relay": "smtps://user:pw@smtp.example.com:465", "slack-webhook": "https://hooks.slack.example/services/T0/B0/x" };
const MESSAGE = `kfm-compile: the run of sales_daily for ${LD} failed.`;
const RUN = {
  airflow: "https://airflow.example.com/dags/sales_daily/runs/manual__2024-03-10T02%3A00%3A00%2B00%3A00",
  argo: "Workflow data/sales-daily-x7k2p",
  tekton: "PipelineRun data/sales-daily-28497720",
  "github-actions": "https://github.com/acme/data/actions/runs/42",
  // The failed run's id (Dagster's UI shows it at /runs/<id>; targets/dagster/README.md "Failure notifications").
  dagster: "6f1e2d3c-0000-4000-8000-000000000042",
} as const;
type Target = keyof typeof RUN;

let dir = "";
const file = (t: Target) => join(dir, t, `sales_daily.${t === "airflow" || t === "dagster" ? "py" : t === "github-actions" ? "yml" : "yaml"}`);

beforeAll(() => {
  setup();
  dir = mkdtempSync(join(tmpdir(), "kfm-notify-conf-"));
  writeFileSync(join(dir, "sales.yaml"), SPEC);
  let err = "";
  const code = main(["sales.yaml", "--target", "all", "--out", dir], { stdout: () => undefined, stderr: (s) => (err += s), cwd: dir });
  if (code !== 0) throw new Error(err);
}, 600_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A container's env in order, Kubernetes' `$(VAR)` and `$$` expanded, secrets from SECRETS. */
function containerEnv(entries: readonly unknown[], value: (name: string, v: string) => string = (_, v) => v): Record<string, string> {
  const out = new Map<string, string>();
  for (const e of entries.map(obj)) {
    const name = String(e.name);
    const ref = obj(obj(e.valueFrom).secretKeyRef);
    const v = ref.name !== undefined ? SECRETS[String(ref.name) as keyof typeof SECRETS] : k8sExpand(value(name, String(e.value ?? "")), out);
    out.set(name, v);
  }
  return Object.fromEntries(out);
}

/** Dagster: the notification pods of one failed run, through Dagster's engine and sensor evaluation (run once). */
interface DagsterPods {
  readonly requests: number;
  readonly pods: Record<string, { command: string[]; env: unknown[] }>;
}
let dagsterPods: DagsterPods | null = null;
function dagsterPod(index: number): { command: string[]; env: unknown[] } {
  const python = join(CACHE, "dagster", "bin", "python");
  const read = (): DagsterPods => {
    const r = spawnSync(python, [join(CONFORMANCE, "dagster", "notify_run.py"), file("dagster"), LD, RUN.dagster, ...FAILED], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`notify_run.py exited ${r.status}:\n${r.stderr.slice(-4000)}`);
    return JSON.parse(r.stdout) as DagsterPods;
  };
  const got = (dagsterPods ??= read());
  // One failed run: the sensor asks for one notification run.
  expect(got.requests).toBe(1);
  return got.pods[`kfm_notify_${index + 1}`]!;
}

function send(target: Target, index: number): Sent {
  const name = `kfm-notify-${index + 1}`;
  if (target === "airflow") {
    const report = tools.airflow(
      [file("airflow")],
      ["--logical-date", LD, "--base-url", "https://airflow.example.com/", ...FAILED.flatMap((t) => ["--failed-task", t])],
    );
    const f = report.files[0]!;
    expect(f.errors).toEqual([]);
    const dag = obj(arr(obj(f.parsed).dags)[0]);
    const pod = obj(obj(obj(obj(obj(obj(dag.rendered)[LD]).tasks)[name]).pod_container));
    return runWithFakeCurl(
      [...arr(pod.command).map((c) => k8sExpand(String(c))), ...arr(pod.args).map((c) => k8sExpand(String(c)))],
      containerEnv(arr(pod.env)),
    );
  }
  if (target === "dagster") {
    const pod = dagsterPod(index);
    return runWithFakeCurl(
      pod.command.map((c) => k8sExpand(c)),
      containerEnv(pod.env),
    );
  }
  if (target === "argo") {
    const report = tools.argo([file("argo")], ["--namespace", "data", "--param", `${LOGICAL_DATE_PARAM}=${LD.replace("+00:00", "Z")}`]);
    const f = report.files[0]!;
    const rendered = arr(
      arr(f.parsed)
        .map(obj)
        .find((o) => o.rendered !== undefined)?.rendered,
    ).map(obj);
    const c = obj(rendered.find((r) => r.template === name));
    const raw = arr(obj(obj(templateOf(readFileSync(file("argo"), "utf8"), name)).container).env);
    // The controller's workflow.failures for this run: the DAG node, each failed job's task
    // node and its attempts' pod nodes (operator.go lists every Failed or Error node).
    const failures = [
      { displayName: "sales-daily-x7k2p", templateName: "kfm-dag" },
      { displayName: "extract-sales", templateName: "extract-sales" },
      { displayName: "extract-sales(0)", templateName: "extract-sales" },
      { displayName: "load-sales", templateName: "load-sales" },
      { displayName: "load-sales(0)", templateName: "load-sales" },
      { displayName: "load-sales(1)", templateName: "load-sales" },
    ];
    const env = containerEnv(raw, (n, v) => {
      if (n === NOTIFY_ENV.failed) return argoFailedJobs(v, failures);
      if (n === NOTIFY_ENV.run) return v.replace("{{workflow.namespace}}", "data").replace("{{workflow.name}}", "sales-daily-x7k2p");
      // Argo's own rendering when the run starts must leave the failed-jobs tag for the exit handler.
      if (n === NOTIFY_ENV.failed) expect(obj(c.env)[n]).toBe(v);
      return String(obj(c.env)[n] ?? v);
    });
    return runWithFakeCurl(
      arr(c.command).map((x) => k8sExpand(String(x))),
      env,
    );
  }
  if (target === "tekton") {
    const resultsFile = join(dir, "tekton-results.json");
    writeFileSync(resultsFile, JSON.stringify({ [file("tekton")]: { "kfm-context": { ts: LD, ds: LD.slice(0, 10), execution_date: LD } } }));
    const report = tools.tekton([file("tekton")], ["--task-results", resultsFile]);
    const f = report.files[0]!;
    const doc = arr(f.parsed)
      .map(obj)
      .find((d) => d.kind === "Pipeline")!;
    const task = arr(obj(obj(doc.object).spec).finally)
      .map(obj)
      .find((t) => t.name === name)!;
    const step = obj(arr(obj(task.taskSpec).steps)[0]);
    const analysis = arr(doc.tasks)
      .map(obj)
      .find((a) => a.name === name)!;
    const rendered = obj(obj(obj(arr(analysis.attempts)[0]).steps)[String(step.name)]).env as Obj;
    // $(tasks.<task>.status) as GetPipelineTaskStatus reports it (pipelinerunstate.go): a
    // failed TaskRun is Failed, a skipped task None. Under the failure emulation the retried
    // load_sales' last attempt leaves its TaskRun Succeeded with ok=false, and its kfm-failed
    // marker task Failed.
    const status: Record<string, string> = {
      "extract-sales": "Failed",
      "load-sales": "Succeeded",
      report: "None",
      audit: "Succeeded",
      "kfm-failed-2": "Failed",
    };
    const params = Object.fromEntries(
      arr(task.params)
        .map(obj)
        .map((p) => [
          `$(params.${String(p.name)})`,
          String(p.value)
            .replace(/\$\(tasks\.([a-z0-9-]+)\.status\)/g, (_, t: string) => status[t] ?? "None")
            .replace("$(context.pipelineRun.namespace)", "data")
            .replace("$(context.pipelineRun.name)", "sales-daily-28497720"),
        ]),
    );
    const env = containerEnv(arr(step.env), (n, v) => params[v] ?? String(rendered[n] ?? v));
    return runWithFakeCurl(
      arr(step.command).map((x) => k8sExpand(String(x))),
      env,
    );
  }
  // The env as GitHub's workflow parser reads it: plain strings, and {expr} for each ${{ }} value.
  const parsed = tools.workflowParser([file("github-actions")]).files[0]!;
  expect(parsed.errors).toEqual([]);
  const job = arr(obj(parsed.parsed).jobs)
    .map(obj)
    .find((j) => j.id === name)!;
  const stepEnv = obj(obj(arr(job.steps)[0]).env);
  const doc = obj(parseYamlStream(readFileSync(file("github-actions"), "utf8"))[0]);
  const run = String(obj(arr(obj(obj(doc.jobs)[name]).steps)[0]).run);
  const contexts: Record<string, Plain> = {
    needs: {
      "kfm-context": { result: "success", outputs: { ts: LD, ds: LD.slice(0, 10), run: "true" } },
      extract_sales: { result: "failure", outputs: {} },
      load_sales: { result: "failure", outputs: {} },
      report: { result: "skipped", outputs: {} },
      audit: { result: "success", outputs: {} },
    },
    secrets: { SMTP_RELAY_URL: SECRETS["smtp-relay"], SLACK_WEBHOOK_URL: SECRETS["slack-webhook"] },
    github: { server_url: "https://github.com", repository: "acme/data", run_id: "42" },
  };
  const env = Object.fromEntries(Object.entries(stepEnv).map(([k, v]) => [k, valueOf(v, contexts) ?? ""]));
  return runWithFakeCurl(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", run], env);
}

function templateOf(text: string, name: string): Obj {
  // The workflow object: the file's account objects come first.
  const top = obj(parseYamlStream(text).find((d) => ["CronWorkflow", "WorkflowTemplate"].includes(String(obj(d).kind))));
  const spec = obj(top.spec);
  const wf = top.kind === "CronWorkflow" ? obj(spec.workflowSpec) : spec;
  return obj(arr(wf.templates).find((t) => obj(t).name === name));
}

/**
 * What Argo's expression in KFM_NOTIFY_FAILED yields for these failure nodes: the job
 * nodes (not the DAG's, not an attempt's `name(k)`), task names mapped back to spec names.
 * The expression's parts are read from the tag itself, so a changed filter or map shows.
 */
function argoFailedJobs(tag: string, failures: readonly { displayName: string; templateName: string }[]): string {
  expect(tag).toMatch(
    /^\{\{=workflow\.failures == '"null"' \? '' : join\(map\(filter\(sprig\.fromJson\(sprig\.fromJson\(workflow\.failures\)\), \{ #\.templateName != 'kfm-dag' && !\(#\.displayName contains '\('\) \}\), \{ /,
  );
  const renamed = new Map([...tag.matchAll(/'([a-z0-9-]+)': '([a-z0-9_-]+)'/g)].map((m) => [m[1]!, m[2]!]));
  return failures
    .filter((f) => f.templateName !== "kfm-dag" && !f.displayName.includes("("))
    .map((f) => renamed.get(f.displayName) ?? f.displayName)
    .join(" ");
}

describe("a failure notification says the same on every runner", () => {
  const targets: Target[] = ["airflow", "argo", "tekton", "github-actions", "dagster"];
  describe.each([
    [0, "email"],
    [1, "slack"],
  ])("notification %i (%s)", (index, kind) => {
    const expected = (target: Target) =>
      notificationText({
        message: MESSAGE,
        workflow: "sales_daily",
        logicalDate: LD,
        failed: FAILED,
        run: RUN[target],
        ...(kind === "slack" ? { channel: "#data-alerts" } : {}),
      });

    it.each(targets)("given the run in which extract_sales and load_sales failed, when %s sends it, then it is the shared text", (target) => {
      const sent = send(target, index);
      expect(sent.stderr, target).toBe("");
      expect(sent.code, target).toBe(0);
      expect(sentText(sent).lines).toEqual(expected(target));
      expect(sent.config).toBe(`url = "${kind === "email" ? SECRETS["smtp-relay"] : SECRETS["slack-webhook"]}"\n`);
      const args = sent.args!;
      expect(args[args.indexOf("--max-time") + 1]).toBe("60");
      if (kind === "email") {
        const { headers } = sentText(sent);
        expect([headers.From, headers.To, headers.Subject]).toEqual(["pipelines@example.com", "data-team@example.com, oncall+sales@example.com", MESSAGE]);
      }
    });
  });
});
