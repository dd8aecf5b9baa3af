/**
 * Conformance: a dependency on another workflow (contract 8.2) on Dagster's own engine and run
 * storage (issue 16; targets/dagster/README.md "Cross-workflow dependencies"). Two workflows are
 * compiled for dagster, the downstream one waiting for the upstream one with a 3 s timeout, and
 * conformance/dagster/wait_runs.py runs both jobs with `execute_in_process` in one ephemeral
 * Dagster instance, tagged with logical dates, the launcher stubbed: the wait op must pass when
 * the upstream run of the same date succeeded (before, or while the downstream run waited), fail
 * when it failed, and fail at the timeout when there is none; a failed wait starts no job.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze, compileFor } from "../../src/compile.js";
import { waitOpName } from "../../targets/dagster/emit.js";
import { TARGETS } from "../../targets/index.js";
import { CACHE, CONFORMANCE, setup } from "./runners.js";

const PYTHON = join(CACHE, "dagster", "bin", "python");
const DAGSTER = TARGETS.find((t) => t.name === "dagster")!;
const TIMEOUT_SECONDS = 3;

const UPSTREAM = `workflow:\n  name: wait_up\n  jobs:\n    - job: {name: make, image: "busybox:1.36"}\n`;
const DOWNSTREAM = `workflow:
  name: wait_down
  dependencies:
    - workflow: wait_up
      wait_for_completion: true
      timeout: ${TIMEOUT_SECONDS}s
  jobs:
    - job: {name: use, image: "busybox:1.36"}
`;

interface Ran {
  readonly success: boolean;
  readonly seconds: number;
  readonly steps: Record<string, string>;
  readonly launched: string[];
}

function compile(name: string, text: string, dir: string): string {
  const a = analyze(`${name}.yaml`, text, undefined, { targets: [] });
  if (a.ir === null) throw new Error(a.diagnostics.map((d) => d.message).join("; "));
  const r = compileFor(a, DAGSTER);
  if (r.output === null) throw new Error(r.diagnostics.map((d) => d.message).join("; "));
  const file = join(dir, `${name}.py`);
  writeFileSync(file, r.output.text);
  return file;
}

let ran: Record<string, Ran> = {};
const WAIT = waitOpName("wait_up");

beforeAll(() => {
  setup();
  const dir = mkdtempSync(join(tmpdir(), "kfm-dagster-wait-"));
  const up = compile("wait_up", UPSTREAM, dir);
  const down = compile("wait_down", DOWNSTREAM, dir);
  const r = spawnSync(PYTHON, [join(CONFORMANCE, "dagster", "wait_runs.py"), up, down], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`wait_runs.py exited ${r.status}:\n${r.stderr.slice(-4000)}`);
  ran = JSON.parse(r.stdout) as Record<string, Ran>;
}, 300_000);

describe("dagster: a run waits for the other workflow's run of the same logical date", () => {
  it("the upstream runs themselves ended as set up", () => {
    expect(ran["upstream succeeded"]).toMatchObject({ success: true, steps: { make: "STEP_SUCCESS" } });
    expect(ran["upstream failed"]).toMatchObject({ success: false, steps: { make: "STEP_FAILURE" } });
    expect(ran["upstream later"]).toMatchObject({ success: true, steps: { make: "STEP_SUCCESS" } });
  });
  it("an upstream run of the date that succeeded lets the jobs start", () => {
    expect(ran.succeeded).toMatchObject({ success: true, steps: { [WAIT]: "STEP_SUCCESS", use: "STEP_SUCCESS" }, launched: ["busybox:1.36"] });
  });
  it("an upstream run of the date that succeeds while the run waits lets the jobs start then", () => {
    const r = ran.later!;
    expect(r).toMatchObject({ success: true, steps: { [WAIT]: "STEP_SUCCESS", use: "STEP_SUCCESS" }, launched: ["busybox:1.36"] });
    expect(r.seconds).toBeGreaterThanOrEqual(1.5);
  });
  it("an upstream run of the date that failed fails the run at once, and no job starts", () => {
    const r = ran.failed!;
    expect(r).toMatchObject({ success: false, steps: { [WAIT]: "STEP_FAILURE" }, launched: [] });
    expect(r.steps.use).toBeUndefined();
    expect(r.seconds).toBeLessThan(TIMEOUT_SECONDS);
  });
  it("without an upstream run of the date the run fails at the dependency's timeout, and no job starts", () => {
    const r = ran.missing!;
    expect(r).toMatchObject({ success: false, steps: { [WAIT]: "STEP_FAILURE" }, launched: [] });
    expect(r.steps.use).toBeUndefined();
    expect(r.seconds).toBeGreaterThanOrEqual(TIMEOUT_SECONDS);
  });
});
