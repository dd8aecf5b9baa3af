/**
 * The GitHub Actions output in motion (issue 14): every scenario of every execution case
 * is compiled for github-actions, run by nektos/act on this host with the containers
 * replaced by a stub docker (conformance/execution/github/), and the trace act produced
 * is compared with the reference interpreter's. Where act is not GitHub, the harness does
 * what GitHub documents (conformance/execution/github/README.md), so a difference left is
 * the output's.
 *
 * Sabotage: the same comparison must report a difference when the generated file is
 * broken the way a GitHub workflow goes wrong: `if: always()` on a job that must not run
 * after an upstream failure, and one attempt too many.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { nextFireTimes, parseCron } from "../../src/cron.js";
import type { Trace } from "../../src/execution.js";
import type { Workflow } from "../../src/ir.js";
import { CACHE, CONFORMANCE, setup } from "../conformance/runners.js";
import { cases, compileSpec, executeCase, readObserved, runHarness, specIr, writeScenario, type ExecutionItem, type RunInput } from "./harness.js";

const TARGET = "github-actions";
const HARNESS = join(CONFORMANCE, "execution", "github", "harness.mjs");
const ACT = join(CACHE, "bin", "act");

/**
 * Differences the engine showed that are the output's own, each with its reason (the
 * note of issue 14 lists them). EXPIRING: the test fails when a listed line no longer
 * shows, so a fix removes its entry.
 */
const KNOWN_DIFFERENCES: Readonly<Record<string, string>> = {};

/** Every known difference a run showed, to check at the end that none has expired. */
const seenKnown = new Set<string>();
afterAll(() => {
  const ran = [...Object.keys(KNOWN_DIFFERENCES)].filter((l) => ITEMS.some((i) => l.startsWith(`${i.label(TARGET)} / `) && ranLabels.has(i.label(TARGET))));
  expect(
    ran.filter((l) => !seenKnown.has(l)),
    "known differences that no longer show: remove them from KNOWN_DIFFERENCES",
  ).toEqual([]);
});
const ranLabels = new Set<string>();

beforeAll(() => setup());

/** The workflow file of a compiled folder: the one that is not a shared `kfm-*.yml`. */
function workflowFile(input: RunInput): string {
  const files = input.compiled.files.filter((f) => f.includes(`/${TARGET}/`) && !basename(f).startsWith("kfm-") && f.endsWith(".yml"));
  if (files.length !== 1) throw new Error(`expected one workflow in ${input.compiled.dir}, found ${files.join(", ")}`);
  return files[0]!;
}

/** The harness step of `executeCase`: act runs the folder; `change` may break the workflow first (sabotage). */
function actRun(
  change?: (jobs: Record<string, Record<string, unknown>>) => void,
  event: "workflow_dispatch" | "schedule" | "repository_dispatch" = "workflow_dispatch",
  createdAt?: string,
  schedule?: string,
  payload?: string,
) {
  return async (input: RunInput): Promise<void> => {
    const file = workflowFile(input);
    if (change !== undefined) {
      const doc = parse(readFileSync(file, "utf8")) as { jobs: Record<string, Record<string, unknown>> };
      change(doc.jobs);
      writeFileSync(file, JSON.stringify(doc, null, 2));
    }
    await runHarness(
      process.execPath,
      [
        HARNESS,
        "--act",
        ACT,
        "--folder",
        join(input.compiled.dir, TARGET),
        "--workflow",
        basename(file),
        "--scenario",
        input.scenarioPath,
        "--out",
        input.observedPath,
        "--event",
        event,
        ...(createdAt === undefined ? [] : ["--created-at", createdAt]),
        ...(schedule === undefined ? [] : ["--schedule", schedule]),
        ...(payload === undefined ? [] : ["--payload", payload]),
      ],
      { timeoutSeconds: 300 },
    );
  };
}

const ITEMS = [...cases()];

describe("every execution scenario on act", () => {
  test.concurrent.each(ITEMS.map((item) => [item.label(TARGET), item] as const))("%s", async (label, item) => {
    const r = await executeCase(item, TARGET, actRun());
    if (r.refused !== null) {
      // A scenario the target refuses (KFM301) is reported as refused, not failed.
      console.log(`${label}: refused (${r.refused.replace(/\n/g, " ")})`);
      return;
    }
    ranLabels.add(label);
    for (const d of r.differences) if (Object.hasOwn(KNOWN_DIFFERENCES, d)) seenKnown.add(d);
    expect(r.differences.filter((d) => !Object.hasOwn(KNOWN_DIFFERENCES, d))).toEqual([]);
  });
});

// --- Sabotage ------------------------------------------------------------------------------------

/** The first scenario (of a spec GitHub takes) whose reference trace `pick` names a job in. */
function find(pick: (ir: Workflow, t: Trace) => string | null): { item: ExecutionItem; job: string } {
  for (const item of ITEMS) {
    if (compileSpec(item.spec, TARGET).refused !== null) continue;
    const job = pick(item.ir, item.expected);
    if (job !== null) return { item, job };
  }
  throw new Error("no execution scenario fits this sabotage");
}

describe("sabotage: the comparison reports a broken GitHub workflow", () => {
  test("`if: always()` on a job that must not run after a need failed", async () => {
    // A job (not `continue`) that did not run because a job it needs failed.
    const { item, job } = find((ir, t) => {
      for (const j of ir.jobs) {
        if (j.approval !== null || j.runWhen === "all_done" || t.jobs[j.name]?.state !== "not-run") continue;
        if (j.dependsOn.some((d) => t.jobs[d]?.state === "failed")) return j.name;
      }
      return null;
    });
    const r = await executeCase(
      item,
      TARGET,
      actRun((jobs) => {
        jobs[job]!.if = "always()";
      }),
    );
    if (r.refused !== null) throw new Error(r.refused);
    expect(r.observed.jobs[job]).not.toBe("not-run");
    expect(r.differences).toContain(`${item.label(TARGET)} / jobs.${job}.state: expected "not-run", runner did "succeeded"`);
  });

  test("one attempt too many", async () => {
    // A job whose every attempt fails: the attempt past the spec's succeeds (the stub's default).
    const { item, job } = find((ir, t) => {
      for (const j of ir.jobs) {
        const jt = t.jobs[j.name];
        if (j.approval === null && jt?.state === "failed" && jt.attempts.length === j.retry.maxAttempts && jt.attempts.at(-1)?.end === "failed") return j.name;
      }
      return null;
    });
    const r = await executeCase(
      item,
      TARGET,
      actRun((jobs) => {
        const w = jobs[job]!.with as Record<string, unknown>;
        w.attempts = Number(w.attempts ?? 1) + 1;
        // One wait per retry (RUN_SCRIPT checks it): the last one again, or 1 s.
        const waits = String(w.waits ?? "")
          .split(" ")
          .filter((x) => x !== "");
        w.waits = [...waits, waits.at(-1) ?? "1"].join(" ");
      }),
    );
    if (r.refused !== null) throw new Error(r.refused);
    const attempts = item.ir.jobs.find((j) => j.name === job)!.retry.maxAttempts;
    expect(r.actual.jobs[job]!.attempts).toHaveLength(attempts + 1);
    expect(r.differences).toContain(`${item.label(TARGET)} / jobs.${job}.attempts.length: expected ${attempts}, runner did ${attempts + 1}`);
  });
});

// --- The schedule event ------------------------------------------------------------------------------

describe("the schedule event on act", () => {
  test("kfm-context takes the latest slot before the clock as the logical date", async () => {
    // The execution cases start runs by hand with the scenario's date; this one starts a
    // run as GitHub's scheduler does (event `schedule`, the cron in the payload).
    const spec = "specs/contract-7.1-cron.yaml";
    const ir = specIr(spec);
    const s = ir.schedule;
    if (s === null || s.kind !== "cron") throw new Error(`${spec} has no cron schedule`);
    const cron = parseCron(s.cron);
    if (typeof cron === "string") throw new Error(cron);
    const latest = (ms: number) =>
      nextFireTimes(cron, s.timezone, ms - 3 * 86_400_000, 200)
        .filter((t) => t <= ms)
        .at(-1)!;
    const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "+00:00");
    const r = compileSpec(spec, TARGET);
    if (r.compiled === null) throw new Error(`${spec} is refused: ${r.refused}`);
    const scenarioPath = writeScenario(r.compiled.dir, { name: "scheduled", description: "", logicalDate: "2000-01-01T00:00:00+00:00" });
    const observedPath = join(r.compiled.dir, "observed.json");
    const before = Date.now();
    const item = { spec, scenario: { name: "scheduled", description: "", logicalDate: "" }, ir } as unknown as ExecutionItem;
    await actRun(undefined, "schedule")({ item, compiled: r.compiled, scenarioPath, observedPath });
    const after = Date.now();
    const observed = readObserved(observedPath);
    expect(observed.run).toBe("succeeded");
    const dates = observed.attempts.map((a) => a.env.KFM_LOGICAL_DATE);
    expect(dates.length).toBeGreaterThan(0);
    // A slot may pass while the run starts: either side of it is right.
    for (const d of dates) expect([stamp(latest(before)), stamp(latest(after))]).toContain(d);
  });

  test("a run of a workflow whose runs queue is dated by when GitHub created it, however late it starts", async () => {
    // max_active_runs: 1 (specs/newcomer.yaml): the run waits in the workflow's concurrency group
    // (which act does not run) and starts late; kfm-context reads the run's created_at from the
    // REST API (the harness answers it) and takes the slot at or before it, not before now.
    const spec = "specs/newcomer.yaml";
    const ir = specIr(spec);
    expect(ir.maxActiveRuns).toBe(1);
    const r = compileSpec(spec, TARGET);
    if (r.compiled === null) throw new Error(`${spec} is refused: ${r.refused}`);
    const scenarioPath = writeScenario(r.compiled.dir, { name: "queued", description: "", logicalDate: "2000-01-01T00:00:00+00:00" });
    const observedPath = join(r.compiled.dir, "observed.json");
    const item = { spec, scenario: { name: "queued", description: "", logicalDate: "" }, ir } as unknown as ExecutionItem;
    // Created at 06:00:04Z on the fall-back day (01:00 EST, the second 01:00 of New York), started years later.
    await actRun(undefined, "schedule", "2024-11-03T06:00:04Z")({ item, compiled: r.compiled, scenarioPath, observedPath });
    const observed = readObserved(observedPath);
    expect(observed.run).toBe("succeeded");
    expect(Object.values(observed.jobs)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded", "succeeded"]);
    const dates = new Set(observed.attempts.map((a) => a.env.KFM_LOGICAL_DATE));
    expect([...dates]).toEqual(["2024-11-03T06:00:00+00:00"]);

    // Sabotage: without `slot-from`, kfm-context dates the run from act's clock, and the slot is lost.
    const sabotaged = join(r.compiled.dir, "observed-sabotaged.json");
    await actRun(
      (jobs) => delete (jobs["kfm-context"]!.with as Record<string, unknown>)["slot-from"],
      "schedule",
      "2024-11-03T06:00:04Z",
    )({
      item,
      compiled: r.compiled,
      scenarioPath,
      observedPath: sabotaged,
    });
    const late = new Set(readObserved(sabotaged).attempts.map((a) => a.env.KFM_LOGICAL_DATE));
    expect(late.size).toBe(1);
    expect([...late]).not.toEqual(["2024-11-03T06:00:00+00:00"]);
  });
});

describe("an object-store event on act (repository_dispatch)", () => {
  // specs/contract-7.1-event.yaml: a relay posts the S3 event notification as the dispatch's
  // client_payload; kfm-context runs the job for a new object's record under the source, dated
  // by its eventTime in whole seconds, and skips the run (every job skipped, the run green) for
  // any other record.
  const spec = "specs/contract-7.1-event.yaml";
  const record = (eventName: string, key: string) => ({
    Records: [{ eventName, eventTime: "2024-05-06T07:08:09.123Z", s3: { bucket: { name: "lakehouse-dev-raw" }, object: { key } } }],
  });
  const dispatch = async (name: string, body: unknown, change?: (jobs: Record<string, Record<string, unknown>>) => void) => {
    const ir = specIr(spec);
    const r = compileSpec(spec, TARGET);
    if (r.compiled === null) throw new Error(`${spec} is refused: ${r.refused}`);
    const scenarioPath = writeScenario(r.compiled.dir, { name, description: "", logicalDate: "2000-01-01T00:00:00+00:00" });
    const observedPath = join(r.compiled.dir, "observed.json");
    const payload = join(r.compiled.dir, "client_payload.json");
    writeFileSync(payload, JSON.stringify(body));
    const item = { spec, scenario: { name, description: "", logicalDate: "" }, ir } as unknown as ExecutionItem;
    await actRun(change, "repository_dispatch", undefined, undefined, payload)({ item, compiled: r.compiled, scenarioPath, observedPath });
    return readObserved(observedPath);
  };

  test("a new object's record under the prefix runs the job with the record's time as logical date", async () => {
    const observed = await dispatch("created", record("ObjectCreated:Put", "sales/2024/05/06/orders.parquet"));
    expect(observed.run).toBe("succeeded");
    expect(observed.jobs).toEqual({ load_arrival: "succeeded" });
    expect(observed.attempts.map((a) => a.env.KFM_LOGICAL_DATE)).toEqual(["2024-05-06T07:08:09+00:00"]);
  });

  test("a removal, or a new object under another prefix, starts no job and the run stays green", async () => {
    for (const [name, body] of [
      ["removed", record("ObjectRemoved:Delete", "sales/2024/05/06/orders.parquet")],
      ["elsewhere", record("s3:ObjectCreated:Put", "finance%2F2024%2Forders.parquet")],
    ] as const) {
      const observed = await dispatch(name, body);
      expect(observed.run, name).toBe("succeeded");
      expect(observed.jobs, name).toEqual({ load_arrival: "not-run" });
      expect(observed.attempts, name).toEqual([]);
    }
    // Sabotage: without kfm-context's prefix, the record of another prefix runs the job.
    const unfiltered = await dispatch("unfiltered", record("s3:ObjectCreated:Put", "finance%2F2024%2Forders.parquet"), (jobs) => {
      delete (jobs["kfm-context"]!.with as Record<string, unknown>)["event-prefix"];
    });
    expect(unfiltered.jobs).toEqual({ load_arrival: "succeeded" });
  });
});

describe("the schedule event on act, a daily slot in a daylight-saving zone (Etc/UTC entries)", () => {
  // specs/dst-daily-berlin.yaml: `30 2 * * *` in Europe/Berlin is written as `30 1 * * *` (+01:00)
  // and `30 0 * * *` (+02:00) in Etc/UTC. Each entry's run, started now: kfm-context takes the
  // entry's latest fire before the clock, and runs the job only if that instant is a slot of
  // the meaning (one entry each day), with it as the logical date; the other run skips every job.
  const spec = "specs/dst-daily-berlin.yaml";
  for (const entry of ["30 1 * * *", "30 0 * * *"]) {
    test(`the entry ${entry}`, async () => {
      const ir = specIr(spec);
      const s = ir.schedule;
      if (s === null || s.kind !== "cron") throw new Error(`${spec} has no cron schedule`);
      const meaning = parseCron(s.cron);
      const utc = parseCron(entry);
      if (typeof meaning === "string" || typeof utc === "string") throw new Error("bad cron");
      const latest = (ms: number) =>
        nextFireTimes(utc, "UTC", ms - 3 * 86_400_000, 10)
          .filter((t) => t <= ms)
          .at(-1)!;
      const isSlot = (t: number) => nextFireTimes(meaning, s.timezone, t - 60_000, 1)[0] === t;
      const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "+00:00");
      const r = compileSpec(spec, TARGET);
      if (r.compiled === null) throw new Error(`${spec} is refused: ${r.refused}`);
      const scenarioPath = writeScenario(r.compiled.dir, { name: "scheduled", description: "", logicalDate: "2000-01-01T00:00:00+00:00" });
      const observedPath = join(r.compiled.dir, "observed.json");
      const before = latest(Date.now());
      const item = { spec, scenario: { name: "scheduled", description: "", logicalDate: "" }, ir } as unknown as ExecutionItem;
      await actRun(undefined, "schedule", undefined, entry)({ item, compiled: r.compiled, scenarioPath, observedPath });
      const after = latest(Date.now());
      const observed = readObserved(observedPath);
      expect(observed.run).toBe("succeeded");
      const dates = observed.attempts.map((a) => a.env.KFM_LOGICAL_DATE);
      // An entry fire may pass while the run starts: either side of it is right.
      const want = [before, after].map((t) => (isSlot(t) ? [stamp(t)] : []));
      expect(want.map((w) => JSON.stringify(w))).toContain(JSON.stringify(dates));
      if (dates.length === 0) expect(Object.values(observed.jobs).every((j) => j === "not-run")).toBe(true);
    });
  }
});
