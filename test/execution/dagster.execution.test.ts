/**
 * Execution on Dagster's own engine (conformance/execution/dagster/README.md): every
 * scenario of every case of EXECUTION_CASES, compiled for Dagster as `kfm-compile` writes
 * it, run by `execute_in_process` of the pinned dagster with the `kfm_launcher` resource
 * replaced by a stub that follows the scenario (conformance/execution/dagster/run.py), and
 * compared with the reference interpreter; after a failed run the module's run failure sensor
 * is evaluated by Dagster's own sensor evaluation and the notification runs it requests send
 * with the real script and a stub curl. A spec Dagster refuses is reported, not failed
 * (cases.test.ts holds which). The sabotage case writes one attempt too many into a module
 * (a wait more in its op) and the comparison must report it; a second one makes an approval
 * gate pass on a rejection.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { setup } from "../conformance/runners.js";
import { compareTraces, traceOf } from "./compare.js";
import { cases, compileSpec, writeScenario, type ExecutionItem } from "./harness.js";
import { observedOf, pool, runDagsterCase } from "./python-engines.js";

const TARGET = "dagster";
/** Harness processes at once (each imports Dagster, about 20 s, then waits on the real clock). */
const PROCESSES = Number(process.env.KFM_EXECUTION_DAGSTER_PROCESSES ?? 2);

/**
 * Where Dagster's engine does what the reference does not, each line exactly as the
 * comparison prints it (after the label). EXPIRING: a listed line that no longer shows
 * fails the test. conformance/execution/dagster/README.md says why each is so.
 */
const KNOWN_DIFFERENCES: Record<string, readonly string[]> = {};

/** Scenarios the harness cannot drive yet (the README says why); EXPIRING like the list above. */
const UNSUPPORTED: readonly string[] = [
  "no-start.yaml / pod-never-starts",
  // execute_in_process runs no run monitoring, so nothing ends a hang at the run's timeout: the same
  // case runs under run monitoring's own check_run_timeout in dagster-notify.conformance.test.ts.
  "run-timeout-notify.yaml / run-timeout-notified",
];

interface Planned {
  readonly item: ExecutionItem;
  readonly key: string;
  readonly observedPath: string | null;
  readonly refused: string | null;
}

const planned: Planned[] = [];
let sabotage: { item: ExecutionItem; observedPath: string } | null = null;
let continueSabotage: { item: ExecutionItem; observedPath: string } | null = null;
let gateSabotage: { item: ExecutionItem; observedPath: string } | null = null;

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
    runs.push(() => runDagsterCase(module, scenario, observedPath));
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
  // on_upstream_failure: continue with steps waiting for upstream success again (Dagster's default).
  const c = [...cases(["test/execution/specs/continue.yaml"])].find((x) => x.scenario.name === "continue-after-failure")!;
  const cs = plan(c, (text) => {
    const changed = text.replace('"require_upstream_step_success": False', '"require_upstream_step_success": True');
    if (changed === text) throw new Error("the continue sabotage changed nothing");
    return changed;
  });
  continueSabotage = { item: c, observedPath: cs.observedPath! };
  // A rejection that passes the gate (Airflow's ApprovalOperator without fail_on_reject).
  const gateItem = [...cases(["test/execution/specs/gate.yaml"])].find((c) => c.scenario.name === "rejected")!;
  const g = plan(gateItem, (text) => {
    const changed = text.replace(/if decision == "reject":\n {16}raise Failure\(/, 'if decision == "reject":\n                return Failure(');
    if (changed === text) throw new Error("the gate sabotage changed nothing");
    return changed;
  });
  gateSabotage = { item: gateItem, observedPath: g.observedPath! };
  await pool(runs, PROCESSES);
}, 3_600_000);

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

describe("dagster: the comparison catches a continue job whose executor waits for upstream success", () => {
  it("`cleanup` is abandoned after `load` failed, and that is reported", () => {
    const s = continueSabotage!;
    const differences = compareTraces(s.item.label(TARGET), s.item.expected, traceOf(observedOf(s.observedPath)));
    const fields = differences.map((d) => d.slice(s.item.label(TARGET).length + 3));
    expect(fields, differences.join("\n")).toContainEqual(expect.stringMatching(/^jobs\.cleanup\.state: expected "succeeded", runner did "not-run"$/));
  });
});

describe("dagster: the comparison catches an approval gate that passes on a rejection", () => {
  it("the rejected gate passing, and the job after it running, are reported", () => {
    const s = gateSabotage!;
    const differences = compareTraces(s.item.label(TARGET), s.item.expected, traceOf(observedOf(s.observedPath)));
    const fields = differences.map((d) => d.slice(s.item.label(TARGET).length + 3));
    expect(fields, differences.join("\n")).toContainEqual(expect.stringMatching(/^jobs\.approve\.state: expected "failed", runner did "succeeded"$/));
  });
});
