/**
 * Execution on Dagster's engine of specs/dst-daily-berlin.yaml's gap slot (2024-03-31 02:30
 * Europe/Berlin, which the meaning fires at 01:30 UTC): the harness (conformance/execution/dagster/run.py
 * `run_tags`) starts the run the schedule's tick at 01:30 UTC requests, the module's own schedule
 * function evaluated as the daemon evaluates it, so the run exists only if the daylight-saving
 * guard (targets/dagster/emit.ts `dagsterDstGuard`) keeps that tick. dagster.execution.test.ts runs
 * the scenario as every other; here a module whose guard reads a gap slot with the offset after
 * the gap (`min` for `max` in `kfm_slot_instant`, Dagster's own end-of-gap reading) must start no
 * run for it. The fire times of every day are proved in test/conformance/dagster-dst.conformance.test.ts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CACHE, CONFORMANCE, setup } from "../conformance/runners.js";
import { compareTraces, traceOf } from "./compare.js";
import { cases, compileSpec, readObserved, runHarness, writeScenario } from "./harness.js";

const PYTHON = join(CACHE, "dagster", "bin", "python");
const HARNESS = join(CONFORMANCE, "execution", "dagster", "run.py");
const item = [...cases(["specs/dst-daily-berlin.yaml"])].find((c) => c.scenario.name === "gap-slot")!;

const observed: Record<"as written" | "guard reading the gap after it", string> = { "as written": "", "guard reading the gap after it": "" };

beforeAll(async () => {
  setup();
  await Promise.all(
    (Object.keys(observed) as (keyof typeof observed)[]).map(async (name) => {
      const r = compileSpec(item.spec, "dagster");
      if (r.compiled === null) throw new Error(`dagster refuses ${item.spec}: ${r.refused}`);
      const module = r.compiled.files.find((f) => f.endsWith(".py"))!;
      if (name !== "as written") {
        const text = readFileSync(module, "utf8");
        const broken = text.replace("return max(wall.replace(tzinfo=KFM_ZONE", "return min(wall.replace(tzinfo=KFM_ZONE");
        if (broken === text) throw new Error("the sabotage changed nothing");
        writeFileSync(module, broken);
      }
      const path = join(r.compiled.dir, "observed.json");
      try {
        await runHarness(PYTHON, [HARNESS, module, writeScenario(r.compiled.dir, item.scenario), path], { timeoutSeconds: 600 });
      } catch (e) {
        writeFileSync(path, JSON.stringify({ error: (e as Error).message }));
      }
      observed[name] = path;
    }),
  );
}, 1_200_000);

describe("dagster: the daylight-saving gap slot's run comes from the schedule's own tick", () => {
  it("the module as written: the 01:30 UTC tick starts the run, as the reference says", () => {
    const doc = JSON.parse(readFileSync(observed["as written"], "utf8")) as { error?: string };
    expect(doc.error).toBeUndefined();
    expect(compareTraces(item.label("dagster"), item.expected, traceOf(readObserved(observed["as written"])))).toEqual([]);
  });
  it("a guard reading the gap slot with the offset after the gap starts no run for it", () => {
    const doc = JSON.parse(readFileSync(observed["guard reading the gap after it"], "utf8")) as { error?: string };
    expect(doc.error).toMatch(/the schedule's tick at 2024-03-31T03:30:00\+02:00 starts no run/);
  });
});
