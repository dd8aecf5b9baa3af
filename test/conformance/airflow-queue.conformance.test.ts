/**
 * Conformance: `max_active_runs` without catch-up queues on Airflow (targets/airflow/README.md
 * "Concurrency"), through Airflow's own scheduler code (load_dags.py `_queue`: the DAG's
 * `next_dagrun_info` with its restriction, on the timetable's clock). The file as compiled:
 * its first run is the next slot after deployment and, when the limit frees three slots
 * later, the next run is the slot after the first (none dropped). The same file written the
 * plain way (`catchup=False`) drops those slots, and the comparison says so: the check can fail.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { analyze, compileFor } from "../../src/compile.js";
import type { Workflow } from "../../src/ir.js";
import { TARGETS } from "../../targets/index.js";
import { Mismatches, compareAirflow } from "./compare.js";
import { setup, tools, type ToolReport } from "./runners.js";

const SPEC = "specs/concurrency-no-catchup.yaml";
const FROM = ["2024-03-09T12:00:30+00:00", "2024-11-02T12:00:30+00:00"];
const dir = mkdtempSync(join(tmpdir(), "kfm-airflow-queue-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let ir: Workflow;
let report: ToolReport;
const file = { compiled: join(dir, "queue.py"), plain: join(dir, "plain.py") };

beforeAll(() => {
  setup();
  const a = analyze(SPEC, readFileSync(join(PACKAGE_ROOT, SPEC), "utf8"));
  if (a.ir === null) throw new Error(`${SPEC} is invalid`);
  ir = a.ir;
  const out = compileFor(
    a,
    TARGETS.find((t) => t.name === "airflow")!,
  ).output;
  if (out === null) throw new Error(`${SPEC} is refused on airflow`);
  writeFileSync(file.compiled, out.text);
  // The plain way: catchup=False and no start_date key, under another DAG id (one DagBag each).
  const plain = out.text
    .replace("    catchup=True,\n", "    catchup=False,\n")
    .replace(/ {4}# The start_date key.*\n {4}default_args=\{"start_date": None\},\n/, "")
    .replace('dag_id="hourly_one_at_a_time"', 'dag_id="hourly_one_at_a_time_plain"');
  expect(plain).not.toBe(out.text);
  writeFileSync(file.plain, plain);
  report = tools.airflow([file.compiled, file.plain], [...FROM.flatMap((f) => ["--fire-from", f]), "--fire-count", "10"]);
}, 600_000);

function mismatches(path: string, dagId: string): string[] {
  const v = report.files.find((f) => f.file === path);
  if (v === undefined) throw new Error(`load_dags.py reported nothing for ${path}`);
  expect(v.errors).toEqual([]);
  const m = new Mismatches(SPEC, "airflow");
  compareAirflow(m, { ...ir, name: dagId }, v.parsed, [], FROM, 10);
  return m.lines;
}

describe("max_active_runs without catch-up on Airflow's scheduler", () => {
  it("given the compiled DAG, then it first runs at the next slot and the run after a wait on the limit is the next slot (a queue)", () => {
    expect(mismatches(file.compiled, "hourly_one_at_a_time")).toEqual([]);
  });

  it("given the DAG written catchup=False, then the comparison reports the dropped slots", () => {
    const lines = mismatches(file.plain, "hourly_one_at_a_time_plain");
    // For example: ".../ run after 2024-03-09T13:15:00Z when the limit frees at ...: expected "2024-03-09T14:15:00Z", runner read "2024-03-09T16:15:00Z"".
    expect(lines.filter((l) => /run after .* when the limit frees at .*: expected/.test(l)).length).toBe(FROM.length);
  });
});
