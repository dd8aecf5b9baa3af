/**
 * The contract's portability test (§14.2 "Portability Validation": a workflow must run on
 * Airflow, the default, and on Dagster, the alternative, without changing job container
 * images or business logic). Every contract example in specs/ (`contract-*.yaml`) is
 * compiled for both targets as `kfm-compile` writes it and run by both engines
 * (Airflow's `dag.test()`, Dagster's `execute_in_process`, conformance/execution/) through
 * the same scenarios: every job succeeding, the first job that retries recovering after
 * one failure, and each job failing all its attempts in turn. The two traces must be the
 * same as each other (the order the workflow requires, job states, attempts and waits, each attempt's command,
 * arguments and environment), and each the same as the reference interpreter's; the
 * images must be the same in both outputs. An example one target refuses must be refused
 * by both, so a workflow never runs on one and not on the other.
 *
 * The examples' retry delays are minutes ("5m"); the engines run on a real clock, so each
 * example runs with every duration read one unit smaller (minutes as seconds, hours as
 * minutes), the same workflow on a clock sixty times faster. Images, commands, arguments,
 * environment, dependencies and schedule are the example's own.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { isScalar, parseDocument, visit } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { analyze } from "../../src/compile.js";
import type { Scenario } from "../../src/execution.js";
import type { Workflow } from "../../src/ir.js";
import { findTarget } from "../../targets/index.js";
import { setup } from "../conformance/runners.js";
import { compareTraces, traceOf, WAIT_TOLERANCE_SECONDS } from "./compare.js";
import { caseItems, compileSpec, writeScenario, type ExecutionItem } from "./harness.js";
import { observedOf, pool, runAirflowCases, runDagsterCase, type AirflowCase } from "./python-engines.js";
import { LOGICAL_DATE } from "./scenarios.js";

const ENGINES = ["airflow", "dagster"] as const;
type Engine = (typeof ENGINES)[number];

const EXAMPLES = readdirSync(join(PACKAGE_ROOT, "specs"))
  .filter((f) => /^contract-.*\.yaml$/.test(f))
  .sort();

/**
 * The keys whose durations a run waits out (retry waits, attempt and run bounds). A
 * schedule's `interval` is not among them: it is the period `prev_ds`/`next_ds` are
 * computed from, part of what the run is given.
 */
const DURATION_KEYS = new Set(["delay", "max_delay", "timeout", "run_timeout"]);
const SMALLER: Record<string, string> = { m: "s", h: "m", d: "h" };

/** The example with every such duration one unit smaller ("5m" -> "5s"; seconds stay); throws on a duration it cannot read, so none is kept by mistake. */
function faster(text: string, name: string): string {
  const doc = parseDocument(text);
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || !DURATION_KEYS.has(String(pair.key.value)) || !isScalar(pair.value)) return;
      const m = /^(\d+)([smhd])$/.exec(String(pair.value.value));
      if (m === null) throw new Error(`${name}: duration ${String(pair.value.value)} not read`);
      if (m[2] !== "s") pair.value.value = `${m[1]}${SMALLER[m[2]!]}`;
    },
  });
  return doc.toString();
}

/** The scenarios every example runs through, made from its jobs. */
function scenariosOf(ir: Workflow): Scenario[] {
  const s = (name: string, description: string, attempts?: Scenario["attempts"]): Scenario => ({
    name,
    description,
    logicalDate: LOGICAL_DATE,
    ...(attempts === undefined ? {} : { attempts }),
  });
  const out = [s("success", "Every attempt succeeds.")];
  const retried = ir.jobs.find((j) => j.retry.maxAttempts > 1);
  if (retried !== undefined) out.push(s(`${retried.name}-recovers`, `\`${retried.name}\` fails once (exit 1) and recovers.`, { [retried.name]: ["fail:1"] }));
  for (const job of ir.jobs)
    out.push(
      s(`${job.name}-fails`, `\`${job.name}\` fails all its attempts (exit 2).`, {
        [job.name]: Array.from({ length: job.retry.maxAttempts }, () => "fail:2" as const),
      }),
    );
  return out;
}

interface Example {
  readonly name: string;
  /** The KFM301 lines of each engine's target, when it refuses the example. */
  readonly refused: Record<Engine, string | null>;
  readonly items: readonly ExecutionItem[];
  /** Per scenario, per engine: where its observed.json is. */
  readonly observed: Map<string, Record<Engine, string>>;
  /** Per engine: the images of the compiled output, by job, as the target's own reading gives them. */
  readonly images: Partial<Record<Engine, Record<string, string>>>;
}

const runDir = mkdtempSync(join(tmpdir(), "kfm-portability-"));
afterAll(() => rmSync(runDir, { recursive: true, force: true }));
const examples: Example[] = [];
let airflowErrors: string[] = [];

beforeAll(async () => {
  setup();
  const airflow: AirflowCase[] = [];
  const dagster: (() => Promise<void>)[] = [];
  for (const file of EXAMPLES) {
    const spec = join(runDir, file);
    writeFileSync(spec, faster(readFileSync(join(PACKAGE_ROOT, "specs", file), "utf8"), file));
    const a = analyze(spec, readFileSync(spec, "utf8"));
    if (a.ir === null) throw new Error(`${file}: the faster example does not compile:\n${a.diagnostics.map((d) => d.message).join("\n")}`);
    const items = [...caseItems(spec, a.ir, scenariosOf(a.ir))];
    const example: Example = { name: file, refused: { airflow: null, dagster: null }, items, observed: new Map(), images: {} };
    for (const engine of ENGINES) {
      for (const item of items) {
        const into = join(runDir, engine, basename(file, ".yaml"), item.scenario.name);
        const r = compileSpec(spec, engine, { into });
        if (r.compiled === null) {
          example.refused[engine] = r.refused;
          break;
        }
        const outs = r.compiled.files.filter((f) => f.endsWith(".py") && f.includes(`/${engine}/`));
        if (outs.length !== 1) throw new Error(`${spec} for ${engine}: expected one Python file, got ${outs.join(", ")}`);
        const out = outs[0]!;
        example.images[engine] ??= imagesOf(engine, readFileSync(out, "utf8"));
        const scenario = writeScenario(r.compiled.dir, item.scenario);
        const observedPath = join(r.compiled.dir, "observed.json");
        const paths = example.observed.get(item.scenario.name) ?? ({} as Record<Engine, string>);
        paths[engine] = observedPath;
        example.observed.set(item.scenario.name, paths);
        if (engine === "airflow")
          airflow.push({ dag: out, scenario, out: observedPath, weight: Math.min(item.timeline.runEndedAt, 60) + item.timeline.attempts.length });
        else dagster.push(() => runDagsterCase(out, scenario, observedPath));
      }
    }
    examples.push(example);
  }
  // The two engines one after the other, each with both cores: Airflow's cases in two processes, then Dagster's two at a time.
  airflowErrors = (await runAirflowCases(airflow, { processes: 2, dir: runDir })).errors;
  await pool(dagster, 2);
}, 3_600_000);

/** The image of every job as the target's own reading of its output (its `lift`) gives it. */
function imagesOf(engine: Engine, text: string): Record<string, string> {
  const target = findTarget(engine);
  if (target === undefined) throw new Error(`no target ${engine} in the registry`);
  return Object.fromEntries(Object.entries(target.lift(text).jobs).map(([name, j]) => [name, j.image]));
}

describe("§14.2 portability validation: the contract examples run on Airflow and on Dagster with the same trace", () => {
  it("covers every contract example, and the harnesses ran", () => {
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(7);
    expect(airflowErrors).toEqual([]);
  });

  for (const file of EXAMPLES) {
    describe(file, () => {
      it("both targets compile it, or both refuse it", () => {
        const ex = examples.find((e) => e.name === file)!;
        const refused = ENGINES.filter((e) => ex.refused[e] !== null);
        if (refused.length > 0) console.log(`${file}: refused by ${refused.join(" and ")}\n${refused.map((e) => ex.refused[e]).join("\n")}`);
        expect(refused.length === 0 || refused.length === ENGINES.length, `${file} is refused by ${refused.join(", ")} only`).toBe(true);
      });

      it("the images are the same on both targets", () => {
        const ex = examples.find((e) => e.name === file)!;
        if (ex.refused.airflow !== null) return;
        expect(ex.images.dagster).toEqual(ex.images.airflow);
        expect(Object.keys(ex.images.airflow ?? {}).sort()).toEqual(ex.items[0]!.ir.jobs.map((j) => j.name).sort());
      });

      it("every scenario gives Airflow's trace on Dagster, and the reference's on both", () => {
        const ex = examples.find((e) => e.name === file)!;
        if (ex.refused.airflow !== null) return;
        expect(ex.items.length).toBeGreaterThanOrEqual(2);
        const problems: string[] = [];
        for (const item of ex.items) {
          const paths = ex.observed.get(item.scenario.name)!;
          const airflowTrace = traceOf(observedOf(paths.airflow));
          const dagsterTrace = traceOf(observedOf(paths.dagster));
          // Each engine's waits are within WAIT_TOLERANCE_SECONDS of the reference's, so within twice that of each other.
          // Order: the facts the workflow requires (the reference's); two jobs free to overlap may run in either order.
          problems.push(
            ...compareTraces(`${file} / ${item.scenario.name} / dagster against airflow`, { ...airflowTrace, order: item.expected.order }, dagsterTrace, {
              waitToleranceSeconds: 2 * WAIT_TOLERANCE_SECONDS,
            }),
          );
          for (const [engine, trace] of [
            ["airflow", airflowTrace],
            ["dagster", dagsterTrace],
          ] as const)
            problems.push(...compareTraces(item.label(engine), item.expected, trace));
        }
        expect(problems, problems.join("\n")).toEqual([]);
      });
    });
  }
});
