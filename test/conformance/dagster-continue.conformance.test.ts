/**
 * Conformance: `on_upstream_failure: continue` on the executor the module gives its job
 * (targets/dagster/README.md "on_upstream_failure: continue"). The execution suite runs every
 * scenario in process; this runs the golden `failure-continue` module as a deployment does,
 * `execute_job` on KFM_EXECUTOR (the multiprocess executor, each step in a process of its own,
 * `require_upstream_step_success: False`) with a temporary instance and a stub launcher
 * (conformance/dagster/continue_run.py): `cleanup` runs after `load` failed, `publish` does not,
 * and the run fails; the same module with Dagster's default step dependencies abandons
 * `cleanup` too, so the setting is what makes it run.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { CACHE, CONFORMANCE, setup } from "./runners.js";

const PYTHON = join(CACHE, "dagster", "bin", "python");
const GOLDEN = join(PACKAGE_ROOT, "golden", "dagster", "failure-continue.py");

interface Ran {
  readonly success: boolean;
  readonly steps: Record<string, string>;
}

function run(module: string, failing: readonly string[]): Ran {
  const r = spawnSync(PYTHON, [join(CONFORMANCE, "dagster", "continue_run.py"), module, ...failing], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`continue_run.py exited ${r.status}:\n${r.stderr.slice(-4000)}`);
  return JSON.parse(r.stdout) as Ran;
}

let ran: Record<"success" | "loadFails" | "defaultDependencies", Ran>;

beforeAll(() => {
  setup();
  const text = readFileSync(GOLDEN, "utf8");
  const broken = text.replace('"require_upstream_step_success": False', '"require_upstream_step_success": True');
  if (broken === text) throw new Error("the golden has no step_dependency_config to change");
  const brokenFile = join(mkdtempSync(join(tmpdir(), "kfm-dagster-continue-")), "failure_continue.py");
  writeFileSync(brokenFile, broken);
  ran = { success: run(GOLDEN, []), loadFails: run(GOLDEN, ["load"]), defaultDependencies: run(brokenFile, ["load"]) };
}, 300_000);

describe("dagster: a continue job runs after its upstream job failed, on the module's own executor", () => {
  it("every job succeeds: every op runs and the run succeeds", () => {
    expect(ran.success).toEqual({ success: true, steps: { load: "STEP_SUCCESS", publish: "STEP_SUCCESS", cleanup: "STEP_SUCCESS" } });
  });
  it("`load` fails: `cleanup` (continue) runs, `publish` does not, the run fails", () => {
    expect(ran.loadFails).toEqual({ success: false, steps: { load: "STEP_FAILURE", cleanup: "STEP_SUCCESS" } });
  });
  it("with Dagster's default step dependencies `cleanup` would not run", () => {
    expect(ran.defaultDependencies).toEqual({ success: false, steps: { load: "STEP_FAILURE" } });
  });
});
