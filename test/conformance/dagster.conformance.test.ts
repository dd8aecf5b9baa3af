/**
 * The Dagster target through Dagster's own code (issue 16): every golden module is imported
 * and checked with `Definitions.validate_loadable` by the pinned dagster (conformance/dagster/
 * load_defs.py), and what Dagster loaded (job, ops, dependencies, run tags, schedule,
 * resources) is compared field by field with the module's lift (targets/dagster/lift.ts),
 * which the unit tests hold equal to the spec's meaning. Ruff (pinned) accepts every module.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { lift } from "../../targets/dagster/lift.js";
import { MAX_RUNTIME_TAG, dagsterName, jobFunction, scheduleName } from "../../targets/dagster/emit.js";
import { CACHE, CONFORMANCE, setup } from "./runners.js";

const GOLDEN = join(PACKAGE_ROOT, "golden", "dagster");
const FILES = readdirSync(GOLDEN)
  .filter((f) => f.endsWith(".py"))
  .sort();
const PYTHON = join(CACHE, "dagster", "bin", "python");
const RUFF = join(CACHE, "lint", "bin", "ruff");

interface Loaded {
  readonly error?: string;
  readonly job: string;
  readonly tags: Record<string, string>;
  readonly ops: Record<string, { inputs: string[]; after: string[]; retry_policy: string | null; required_resources: string[] }>;
  readonly schedules: { name: string; cron: string; timezone: string; job: string; default_status: string }[];
  readonly resources: string[];
}

let loaded: Record<string, Loaded> = {};

beforeAll(() => {
  setup();
  const r = spawnSync(PYTHON, [join(CONFORMANCE, "dagster", "load_defs.py"), ...FILES], { cwd: GOLDEN, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`load_defs.py exited ${r.status}:\n${r.stderr}`);
  loaded = JSON.parse(r.stdout) as Record<string, Loaded>;
}, 600_000);

describe("Dagster loads every generated module and reads the same meaning as the lift", () => {
  it("there are modules to check", () => {
    expect(FILES.length).toBeGreaterThan(10);
  });
  it.each(FILES)("%s", (file) => {
    const got = loaded[file]!;
    expect(got.error, got.error).toBeUndefined();
    const meaning = lift(readFileSync(join(GOLDEN, file), "utf8"));
    expect(got.job).toBe(jobFunction(meaning.workflow));
    expect(got.tags).toEqual({ [MAX_RUNTIME_TAG]: String(meaning.timeoutSeconds ?? 0) });
    expect(got.resources).toEqual(["kfm_launcher"]);
    const ops: Record<string, unknown> = {};
    for (const [spec, job] of Object.entries(meaning.jobs)) {
      ops[dagsterName(spec)] = {
        inputs: job.after.map((a) => `after_${dagsterName(a)}`).sort(),
        after: job.after.map(dagsterName).sort(),
        // Retries are RetryRequested raised by the op itself: no RetryPolicy may add its own.
        retry_policy: null,
        required_resources: ["kfm_launcher"],
      };
    }
    const loadedOps = Object.fromEntries(
      Object.entries(got.ops).map(([k, v]) => [
        k,
        { inputs: v.inputs, after: v.after, retry_policy: v.retry_policy, required_resources: v.required_resources },
      ]),
    );
    expect(loadedOps).toEqual(ops);
    const s = meaning.schedule;
    expect(got.schedules).toEqual(
      s === null || s.kind !== "cron"
        ? []
        : [{ name: scheduleName(meaning.workflow), cron: s.cron, timezone: s.timezone, job: jobFunction(meaning.workflow), default_status: "RUNNING" }],
    );
  });
});

describe("ruff accepts every generated Dagster module unchanged", () => {
  it("ruff check (default rules) and ruff format --check", () => {
    const check = spawnSync(RUFF, ["check", "--isolated", "--no-cache", "--output-format", "concise", ...FILES], { cwd: GOLDEN, encoding: "utf8" });
    expect(check.stdout + check.stderr, "ruff check").toContain("All checks passed");
    const format = spawnSync(RUFF, ["format", "--isolated", "--no-cache", "--check", ...FILES], { cwd: GOLDEN, encoding: "utf8" });
    expect(format.status, format.stdout + format.stderr).toBe(0);
  });
});
