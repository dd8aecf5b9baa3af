/**
 * Conformance: why the airflow target refuses `schedule.trigger: s3_file_arrival`
 * (targets/airflow/README.md "Event triggers"), by Airflow's own scheduler code
 * (conformance/airflow/asset_runs.py): a DAG scheduled on the asset `s3://<bucket>/<prefix>`,
 * two asset events carrying S3 records in `extra` (as `POST /api/v2/assets/events` records
 * them), and two loops of the scheduler's `_create_dag_runs_asset_triggered`. The run it
 * creates has no logical date (so `ds`/`ts` are not in its context), and the second object
 * starts no run. When a later Airflow dates such runs or starts one per event, this test
 * fails and the refusal is to be revisited.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { analyze, compileFor } from "../../src/compile.js";
import { TARGETS } from "../../targets/index.js";
import { CACHE, CONFORMANCE, setup } from "./runners.js";

interface AssetRuns {
  readonly runs: readonly { run_type: string; logical_date: string | null; consumed_event_times: readonly string[] }[];
  readonly events: readonly string[];
}

let report: AssetRuns;

beforeAll(() => {
  setup();
  const version = /^AIRFLOW_VERSION=(\S+)$/m.exec(readFileSync(join(CONFORMANCE, "versions.env"), "utf8"))?.[1];
  const r = spawnSync(
    join(CACHE, "venv", "bin", "python"),
    [join(CONFORMANCE, "airflow", "asset_runs.py"), join(CACHE, "execution", "airflow", `airflow-${version}.db`)],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`asset_runs.py exited ${r.status}:\n${r.stderr}`);
  report = JSON.parse(r.stdout) as AssetRuns;
}, 300_000);

describe("an event trigger on Airflow's asset-driven scheduling", () => {
  it("given two S3 records as asset events, then the scheduler records both", () => {
    expect(report.events).toEqual(["2024-01-01T02:03:04.567Z", "2024-01-01T02:03:05.567Z"]);
  });

  it("given those events, then it creates one asset-triggered run, without a logical date, for the first only", () => {
    expect(report.runs).toHaveLength(1);
    expect(report.runs[0]!.run_type).toBe("asset_triggered");
    expect(report.runs[0]!.logical_date).toBeNull();
    expect(report.runs[0]!.consumed_event_times).toEqual(["2024-01-01T02:03:04.567Z"]);
  });

  it("so the target refuses the spec with KFM301 naming both reasons", () => {
    const spec = "specs/contract-7.1-event.yaml";
    const a = analyze(spec, readFileSync(join(PACKAGE_ROOT, spec), "utf8"));
    const out = compileFor(
      a,
      TARGETS.find((t) => t.name === "airflow")!,
    );
    expect(out.output).toBeNull();
    const messages = out.diagnostics.map((p) => `${p.code}: ${p.message}`);
    expect(messages.some((m) => m.startsWith("KFM301: ") && m.includes("no logical date") && m.includes("no run of its own"))).toBe(true);
  });
});
