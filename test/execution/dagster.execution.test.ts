/**
 * Execution on Dagster's own engine (conformance/execution/dagster/README.md): every
 * scenario of every case of EXECUTION_CASES, compiled for Dagster as `kfm-compile` writes
 * it, run by `execute_in_process` of the pinned dagster with the `kfm_launcher` resource
 * replaced by a stub that follows the scenario (conformance/execution/dagster/run.py), and
 * compared with the reference interpreter; after a failed run the module's run failure sensor
 * is evaluated by Dagster's own sensor evaluation and the notification runs it requests send
 * with the real script and a stub curl. A spec Dagster refuses is reported, not failed
 * (cases.test.ts holds which). The sabotage case writes one attempt too many into a module
 * (a wait more in its op) and the comparison must report it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Observed } from "../../src/execution.js";
import { CACHE, CONFORMANCE, setup } from "../conformance/runners.js";
import { compareTraces, traceOf } from "./compare.js";
import { cases, compileSpec, readObserved, runHarness, writeScenario, type ExecutionItem } from "./harness.js";

const TARGET = "dagster";
const PYTHON = join(CACHE, "dagster", "bin", "python");
const HARNESS = join(CONFORMANCE, "execution", "dagster", "run.py");
/** Harness processes at once (each imports Dagster, about 20 s, then waits on the real clock). */
const PROCESSES = Number(process.env.KFM_EXECUTION_DAGSTER_PROCESSES ?? 2);

/**
 * Where Dagster's engine does what the reference does not, each line exactly as the
 * comparison prints it (after the label). EXPIRING: a listed line that no longer shows
 * fails the test. conformance/execution/dagster/README.md says why each is so.
 */
const KNOWN_DIFFERENCES: Record<string, readonly string[]> = {};

/** Scenarios the harness cannot drive yet (the README says why); EXPIRING like the list above. */
const UNSUPPORTED: readonly string[] = ["no-start.yaml / pod-never-starts"];

interface Planned {
  readonly item: ExecutionItem;
  readonly key: string;
  readonly observedPath: string | null;
  readonly refused: string | null;
}

const planned: Planned[] = [];
let sabotage: { item: ExecutionItem; observedPath: string } | null = null;

async function pool<T>(tasks: readonly (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}

beforeAll(async () => {
  setup();
  const runs: (() => Promise<void>)[] = [];
  const plan = (item: ExecutionItem, mutate?: (text: string) => string): { observedPath: string | null; refused: string | null } => {
    const r = compileSpec(item.spec, TARGET);
    if (r.compiled === null) return { observedPath: null, refused: r.refused };
    const modules = r.compiled.files.filter((f) => f.endsWith(".py"));
    if (modules.length !== 1) throw new Error(`${item.spec}: expected one module, got ${modules.join(", ")}`);
    const module = modules[0]!;
    if (mutate !== undefined) writeFileSync(module, mutate(readFileSync(module, "utf8")));
    const scenario = writeScenario(r.compiled.dir, item.scenario);
    const observedPath = join(r.compiled.dir, "observed.json");
    runs.push(async () => {
      try {
        await runHarness(PYTHON, [HARNESS, module, scenario, observedPath], { timeoutSeconds: 600 });
      } catch (e) {
        writeFileSync(observedPath, JSON.stringify({ error: (e as Error).message }));
      }
    });
    return { observedPath, refused: null };
  };
  for (const item of cases()) {
    const key = `${item.spec.replace(/^.*\//, "")} / ${item.scenario.name}`;
    planned.push({ item, key, ...plan(item) });
  }
  // One attempt too many: a wait more in the op of `transform`, whose every attempt fails.
  const item = [...cases(["test/execution/specs/chain.yaml"])].find((c) => c.scenario.name === "retry-exhausted")!;
  const s = plan(item, (text) => {
    const changed = text.replace(/(def transform_op\([\s\S]*?waits=\[)([^\]]*)\]/, (_m, head: string, waits: string) => `${head}${waits}, 2]`);
    if (changed === text) throw new Error("the sabotage changed nothing");
    return changed;
  });
  sabotage = { item, observedPath: s.observedPath! };
  await pool(runs, PROCESSES);
}, 3_600_000);

function observedOf(path: string): Observed {
  const doc = JSON.parse(readFileSync(path, "utf8")) as { error?: string };
  if (doc.error !== undefined) throw new Error(`the harness failed on this case:\n${doc.error}`);
  return readObserved(path);
}

describe("dagster: every scenario runs on Dagster's own engine as the reference says", () => {
  it("ran every case", () => {
    expect(planned.length).toBeGreaterThanOrEqual(15);
  });
  for (const item of cases()) {
    const key = `${item.spec.replace(/^.*\//, "")} / ${item.scenario.name}`;
    it(key, () => {
      const p = planned.find((x) => x.key === key)!;
      if (p.refused !== null) {
        console.log(`${item.label(TARGET)}: refused\n${p.refused}`);
        return;
      }
      const doc = JSON.parse(readFileSync(p.observedPath!, "utf8")) as { error?: string };
      if (UNSUPPORTED.includes(key)) {
        expect(doc.error, `${key} is listed as unsupported, but the harness ran it: remove it from UNSUPPORTED`).toMatch(/Unsupported/);
        return;
      }
      const observed = observedOf(p.observedPath!);
      expect(observed.engine).toMatch(/^dagster 1\.13\.27 /);
      const differences = compareTraces(item.label(TARGET), item.expected, traceOf(observed));
      const prefix = `${item.label(TARGET)} / `;
      const known = KNOWN_DIFFERENCES[key] ?? [];
      const unexpected = differences.filter((d) => !known.includes(d.slice(prefix.length)));
      expect(unexpected, unexpected.join("\n")).toEqual([]);
      const gone = known.filter((k) => !differences.includes(prefix + k));
      expect(gone, `KNOWN_DIFFERENCES lists what Dagster no longer does; remove:\n${gone.join("\n")}`).toEqual([]);
    });
  }
});

describe("dagster: the comparison catches a module broken the way a retry trap works", () => {
  it("one attempt too many is reported", () => {
    const s = sabotage!;
    const differences = compareTraces(s.item.label(TARGET), s.item.expected, traceOf(observedOf(s.observedPath)));
    const fields = differences.map((d) => d.slice(s.item.label(TARGET).length + 3));
    expect(fields, differences.join("\n")).toContainEqual(expect.stringMatching(/^jobs\.transform\.attempts\.length: expected 3, runner did 4$/));
  });
});
