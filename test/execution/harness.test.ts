import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cases, executeCase, idealObserved, runHarness, type RunInput } from "./harness.js";

describe("executeCase", () => {
  const item = [...cases(["test/execution/specs/notify.yaml"])].find((c) => c.scenario.name === "failure-notified-once")!;

  it("compiles the spec, writes scenario.json beside the files, and compares the observed run", async () => {
    let seen: RunInput | null = null;
    const r = await executeCase(item, "argo", async (input) => {
      seen = input;
      writeFileSync(input.observedPath, JSON.stringify(idealObserved(input.item)));
    });
    expect(r.refused).toBeNull();
    expect(r.refused === null && r.differences).toEqual([]);
    const input = seen! as RunInput;
    expect(input.compiled.files.some((f) => f.endsWith("/argo/exec_notify.yaml"))).toBe(true);
    expect(JSON.parse(readFileSync(input.scenarioPath, "utf8"))).toEqual(item.scenario);
  });

  it("reports the engine's differences", async () => {
    const r = await executeCase(item, "airflow", async ({ item: i, observedPath }) => {
      // A runner whose notification never went out.
      const o = idealObserved(i);
      writeFileSync(observedPath, JSON.stringify({ ...o, notifications: [] }));
    });
    expect(r.refused === null && r.differences).toEqual([
      'notify.yaml / failure-notified-once / airflow / notifications: expected [{"index":0,"failedJobs":["load"]}], runner did []',
    ]);
  });

  it("gives a target's refusal instead of running it", async () => {
    const gate = [...cases(["test/execution/specs/gate.yaml"])][0]!;
    let ran = false;
    const r = await executeCase(gate, "github-actions", async () => {
      ran = true;
    });
    expect(ran).toBe(false);
    expect(r.refused).toMatch(/KFM301: GitHub Actions cannot give an approval a timeout/);
  });

  it("refuses an observed.json of the wrong shape with every problem named", async () => {
    await expect(
      executeCase(item, "argo", async ({ observedPath }) => {
        writeFileSync(observedPath, JSON.stringify({ engine: "x", run: "ok", jobs: {}, attempts: [], notifications: [] }));
      }),
    ).rejects.toThrow(/is not an Observed[\s\S]*run: "succeeded" or "failed", not "ok"/);
  });
});

describe("runHarness", () => {
  it("gives the output of a command that exits 0", async () => {
    await expect(runHarness("sh", ["-c", "echo out; echo err >&2"], { timeoutSeconds: 10 })).resolves.toEqual({ stdout: "out\n", stderr: "err\n" });
  });
  it("rejects with the exit status and the output's end", async () => {
    await expect(runHarness("sh", ["-c", "echo broken >&2; exit 3"], { timeoutSeconds: 10 })).rejects.toThrow(/exited 3:\nbroken/);
  });
  it("stops a command and the processes it started at the time bound", async () => {
    const marker = `/tmp/kfm-exec-harness-${process.pid}-${Date.now()}`;
    // The child's own child would write the marker after 3 s if it were left running.
    await expect(runHarness("sh", ["-c", `(sleep 3; touch ${marker}) & sleep 30`], { timeoutSeconds: 1 })).rejects.toThrow(/longer than 1 s/);
    await new Promise((r) => setTimeout(r, 3500));
    expect(existsSync(marker)).toBe(false);
  });
});
