/**
 * max_active_runs on Dagster through Dagster's own run queue (targets/dagster/README.md
 * "Concurrency"). conformance/dagster/run_queue.py gives a fresh instance the dagster.yaml
 * entry `explain` prints as the prerequisite (parsed from the prerequisite's text, never
 * copied), lets the module's schedule start runs through the scheduler daemon's own
 * iteration and the backfill lines through the CLI's own run creation, then runs the
 * QueuedRunCoordinatorDaemon's own dequeue iteration twice (the launched runs ending in
 * between). The statuses are compared with the meaning: at most N runs of a workflow active,
 * the others waiting (QUEUED, none dropped) and starting in order with their own logical
 * date, and another workflow's runs not held. A module without the tag, an entry one above
 * the limit, and an instance without the entry must each be reported.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { analyze, compileFor } from "../../src/compile.js";
import type { Workflow } from "../../src/ir.js";
import { outputBaseName } from "../../src/names.js";
import { jobFunction } from "../../targets/dagster/emit.js";
import { dagster } from "../../targets/dagster/index.js";
import { prerequisites } from "../../targets/dagster/prerequisites.js";
import { runs } from "../../targets/dagster/runs.js";
import { CACHE, CONFORMANCE, setup } from "./runners.js";

const PYTHON = join(CACHE, "dagster", "bin", "python");

interface QueueRun {
  readonly job: string;
  readonly logical_date: string | null;
  readonly status: string;
}
interface Phases {
  readonly submitted: QueueRun[];
  readonly first: QueueRun[];
  readonly second: QueueRun[];
}

/** A workflow as the case runs it: its module, the schedule daemon's tick times, backfill lines. */
interface Planned {
  readonly ir: Workflow;
  readonly dir: string;
  readonly file: string;
  readonly ticks: readonly string[];
  /** The logical dates the ticks start (after the first tick, which starts the schedule's clock). */
  readonly tickDates: readonly string[];
  readonly lines: readonly string[];
  readonly lineDates: readonly string[];
}

const TWO_AT_A_TIME = `workflow:
  name: two_at_a_time
  max_active_runs: 2
  schedule:
    cron: "0 * * * *"
    timezone: "UTC"
  jobs:
    - job:
        name: refresh
        image: busybox:1.36
`;
const NO_LIMIT = TWO_AT_A_TIME.replace("two_at_a_time", "no_limit").replace("  max_active_runs: 2\n", "");

function analysed(file: string, text: string): Workflow {
  const a = analyze(file, text);
  if (a.ir === null) throw new Error(`${file}: ${a.diagnostics.map((d) => d.message).join("; ")}`);
  return a.ir;
}

function compiled(file: string, text: string): { ir: Workflow; module: string } {
  const a = analyze(file, text);
  const r = compileFor(a, dagster);
  if (r.output === null) throw new Error(`${file}: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  return { ir: a.ir!, module: r.output.text };
}

/** The run_coordinator entry of the workflow's prerequisite, as `explain` prints it. */
function setting(ir: Workflow): string {
  const texts = prerequisites(ir).map((p) => p.text);
  const found = texts.map((t) => /`(run_coordinator: [^`]+)`/.exec(t)).filter((m) => m !== null);
  if (found.length !== 1) throw new Error(`${ir.name}: ${found.length} run_coordinator entries in its prerequisites`);
  return found[0]![1]!;
}

function plan(ir: Workflow, module: string, ticks: readonly string[], tickDates: readonly string[], lineDates: readonly string[]): Planned {
  const dir = mkdtempSync(join(tmpdir(), "kfm-dagster-queue-"));
  const file = `${outputBaseName(ir.name)}.py`;
  writeFileSync(join(dir, file), module);
  const sh = runs(
    ir,
    lineDates.map((d) => Date.parse(d)),
  ).files[0]!.text;
  const lines = sh.split("\n").filter((l) => l.startsWith("dagster job launch "));
  return { ir, dir, file, ticks, tickDates, lines, lineDates };
}

/**
 * The meaning, phase by phase: runs in creation order (each workflow's ticks, then its
 * backfill lines), all QUEUED when submitted; after the first iteration the first N of each
 * workflow are launched (every run without a limit), the rest wait; once those end, the next
 * N in order start and the rest still wait. Each run keeps its logical date.
 */
function meaning(workflows: readonly Planned[]): Phases {
  const runs = workflows.flatMap((w) =>
    [...w.tickDates, ...w.lineDates].map((d, i) => ({
      job: jobFunction(w.ir.name),
      date: new Date(d).toISOString().replace(".000Z", "+00:00"),
      i,
      n: w.ir.maxActiveRuns,
    })),
  );
  const at = (status: (i: number, n: number | null) => string): QueueRun[] => runs.map((r) => ({ job: r.job, logical_date: r.date, status: status(r.i, r.n) }));
  return {
    submitted: at(() => "QUEUED"),
    first: at((i, n) => (n === null || i < n ? "STARTING" : "QUEUED")),
    second: at((i, n) => (n === null || i < n ? "SUCCESS" : i < 2 * n ? "STARTING" : "QUEUED")),
  };
}

interface Case {
  readonly name: string;
  readonly settings: readonly string[];
  readonly workflows: readonly Planned[];
}

const GOLDEN = readFileSync(join(PACKAGE_ROOT, "golden", "dagster", "concurrency.py"), "utf8");
const SPEC = "specs/concurrency.yaml";
const TICKS = ["2024-03-01T00:10:00+00:00", "2024-03-01T00:31:00+00:00", "2024-03-01T01:01:00+00:00"];
const cases: Case[] = [];
let results: Record<string, Phases | { error: string }> = {};

beforeAll(() => {
  setup();
  const one = compiled(SPEC, readFileSync(join(PACKAGE_ROOT, SPEC), "utf8"));
  expect(one.module, "golden/dagster/concurrency.py is not what the compiler writes").toBe(GOLDEN);
  expect(one.ir.maxActiveRuns).toBe(1);
  const two = compiled("two_at_a_time.yaml", TWO_AT_A_TIME);
  const none = compiled("no_limit.yaml", NO_LIMIT);
  // one_at_a_time (*/30): ticks at 00:30 and 01:00, and a backfill run of 00:00 after them.
  const oneRuns = (module: string) => plan(one.ir, module, TICKS, ["2024-03-01T00:30:00Z", "2024-03-01T01:00:00Z"], ["2024-03-01T00:00:00Z"]);
  const twoRuns = plan(two.ir, two.module, [], [], ["2024-03-01T00:00:00Z", "2024-03-01T01:00:00Z", "2024-03-01T02:00:00Z"]);
  const noneRuns = plan(none.ir, none.module, [], [], ["2024-03-01T00:00:00Z", "2024-03-01T01:00:00Z"]);
  const untagged = GOLDEN.replace(/\n\s*"kfm-compile\.dev\/max-active-runs": "one_at_a_time",/, "");
  expect(untagged).not.toBe(GOLDEN);
  const limitPlusOne = setting(one.ir).replace("limit: 1}", "limit: 2}");
  expect(limitPlusOne).not.toBe(setting(one.ir));
  cases.push(
    { name: "as compiled", settings: [setting(one.ir), setting(two.ir)], workflows: [oneRuns(GOLDEN), twoRuns, noneRuns] },
    { name: "sabotage: the module without its run tag", settings: [setting(one.ir)], workflows: [oneRuns(untagged)] },
    { name: "sabotage: the limit one above max_active_runs", settings: [limitPlusOne], workflows: [oneRuns(GOLDEN)] },
    { name: "an instance without the entry (Dagster's default QueuedRunCoordinator)", settings: [], workflows: [oneRuns(GOLDEN)] },
  );
  expect(setting(one.ir)).toContain("class: QueuedRunCoordinator");
  expect(prerequisites(none.ir).some((p) => p.text.includes("run_coordinator"))).toBe(false);
  const input = join(mkdtempSync(join(tmpdir(), "kfm-dagster-queue-")), "cases.json");
  writeFileSync(
    input,
    JSON.stringify(
      cases.map((c) => ({
        name: c.name,
        settings: c.settings,
        workflows: c.workflows.map((w) => ({ dir: w.dir, file: w.file, ticks: w.ticks, lines: w.lines })),
      })),
    ),
  );
  const r = spawnSync(PYTHON, [join(CONFORMANCE, "dagster", "run_queue.py"), input], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`run_queue.py exited ${r.status}:\n${r.stderr}`);
  results = JSON.parse(r.stdout) as typeof results;
}, 600_000);

function phasesOf(name: string): Phases {
  const got = results[name]!;
  if ("error" in got) throw new Error(`${name}:\n${got.error}`);
  return got;
}

describe("Dagster's run queue holds a workflow's runs to max_active_runs with the entry explain prints", () => {
  it("at most N active per workflow, the others QUEUED and started in order with their logical dates, other workflows not held", () => {
    const c = cases.find((x) => x.name === "as compiled")!;
    expect(phasesOf(c.name)).toEqual(meaning(c.workflows));
  });
  it.each([
    "sabotage: the module without its run tag",
    "sabotage: the limit one above max_active_runs",
    "an instance without the entry (Dagster's default QueuedRunCoordinator)",
  ])("%s: the comparison reports a difference", (name) => {
    const c = cases.find((x) => x.name === name)!;
    const got = phasesOf(name);
    // Nothing is dropped: every run is there; but more than one starts at once.
    expect(got.submitted).toEqual(meaning(c.workflows).submitted);
    expect(got.first.filter((r) => r.status === "STARTING").length).toBeGreaterThan(1);
    expect(got).not.toEqual(meaning(c.workflows));
  });
});

describe("the prerequisite's entry", () => {
  it("names the QueuedRunCoordinator, the run tag, the workflow and N", () => {
    const ir = analysed(SPEC, readFileSync(join(PACKAGE_ROOT, SPEC), "utf8"));
    expect(setting(ir)).toBe(
      'run_coordinator: {module: dagster._core.run_coordinator, class: QueuedRunCoordinator, config: {tag_concurrency_limits: [{key: "kfm-compile.dev/max-active-runs", value: "one_at_a_time", limit: 1}]}}',
    );
  });
});
