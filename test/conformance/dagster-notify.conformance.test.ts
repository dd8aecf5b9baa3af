/**
 * A run its timeout stops sends its failure notification on Dagster too (targets/dagster/README.md
 * "Failure notifications"), shown with Dagster's own code rather than assumed:
 * conformance/dagster/run_timeout_notify.py runs the workflow's job by `execute_in_process`
 * with one job's attempt hanging, while run monitoring's own `check_run_timeout`
 * (`dagster/_daemon/monitoring/run_monitoring.py`) watches the run's `dagster/max_runtime` tag
 * and terminates it (the run launcher's `terminate` interrupts the run in process shortly after
 * it returns, as the kubelet signals a deleted run worker); then the module's run failure sensor
 * is evaluated by Dagster's sensor evaluation and the notification run it requests is run. The
 * run's state, when it was stopped, and the notification sent (its failed jobs) are compared
 * with the reference interpreter's trace for the same scenario (src/interpret.ts). The execution
 * suite runs no run monitoring, so it lists its own run-timeout scenario as unsupported on
 * Dagster and this file proves it instead.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyze, compileFor } from "../../src/compile.js";
import { interpret } from "../../src/interpret.js";
import type { Workflow } from "../../src/ir.js";
import { TARGETS } from "../../targets/index.js";
import { CACHE, CONFORMANCE, setup } from "./runners.js";

const SPEC = `workflow:
  name: bounded_notified
  timeout: 10s
  notifications:
    on_failure:
      - type: slack
        channel: "#alerts"
        webhook: {secret: slack-webhook, key: url}
  jobs:
    - job: {name: crunch, image: "busybox:1.36"}
    - job: {name: publish, image: "busybox:1.36"}
      depends_on: [crunch]
    - job: {name: side, image: "busybox:1.36"}
`;
const LD = "2024-03-04T00:00:00+00:00";

interface Report {
  readonly run: string;
  readonly timed_out_after: number | null;
  readonly terminations: number;
  readonly requests: number;
  readonly failed_jobs: (string | null)[];
  readonly pods: Record<string, { env: { name: string; value?: string }[] }>;
}

let dir = "";
let ir: Workflow;
let report: Report;

beforeAll(() => {
  setup();
  dir = mkdtempSync(join(tmpdir(), "kfm-dagster-notify-"));
  const analysis = analyze("bounded.yaml", SPEC);
  ir = analysis.ir!;
  const out = compileFor(
    analysis,
    TARGETS.find((t) => t.name === "dagster")!,
  );
  expect(out.diagnostics).toEqual([]);
  const module = join(dir, "bounded_notified.py");
  writeFileSync(module, out.output!.text);
  const r = spawnSync(join(CACHE, "dagster", "bin", "python"), [join(CONFORMANCE, "dagster", "run_timeout_notify.py"), module, LD, "crunch"], {
    encoding: "utf8",
    timeout: 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`run_timeout_notify.py exited ${r.status}:\n${r.stderr.slice(-4000)}`);
  report = JSON.parse(r.stdout) as Report;
}, 600_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Dagster: a run its timeout stops sends its failure notification, as the reference says", () => {
  it("given crunch hanging past the 10 s run timeout, then run monitoring stops the run at its timeout and it ends failed", () => {
    const expected = interpret(ir, { name: "run-timeout-notified", description: "", logicalDate: LD, attempts: { crunch: ["hang"] } });
    expect(expected.run).toBe("failed");
    expect(report.run).toBe("FAILURE");
    // check_run_timeout acts on the first check past the limit (every 0.2 s here).
    expect(report.timed_out_after).toBeGreaterThanOrEqual(10);
    expect(report.timed_out_after).toBeLessThan(12);
    // Run monitoring checks STARTED runs only, so the run is terminated once.
    expect(report.terminations).toBe(1);
  });
  it("then the run failure sensor asks for one notification run, naming the job the timeout stopped", () => {
    const expected = interpret(ir, { name: "run-timeout-notified", description: "", logicalDate: LD, attempts: { crunch: ["hang"] } });
    expect(expected.notifications).toEqual([{ index: 0, failedJobs: ["crunch"] }]);
    expect(report.requests).toBe(expected.notifications.length);
    expect(
      report.failed_jobs.map((f) =>
        (f ?? "")
          .split(" ")
          .filter((x) => x !== "")
          .sort(),
      ),
    ).toEqual(expected.notifications.map((n) => n.failedJobs));
    const env = Object.fromEntries(report.pods.kfm_notify_1!.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    expect(env.KFM_NOTIFY_FAILED).toBe("crunch");
    expect(env.KFM_NOTIFY_LOGICAL_DATE).toBe(LD);
    expect(readFileSync(join(dir, "bounded_notified.py"), "utf8")).toContain('tags={"dagster/max_runtime": "10"}');
  });
});
