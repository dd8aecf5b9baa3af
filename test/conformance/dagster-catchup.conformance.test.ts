/**
 * Conformance: `catchup: true` on Dagster (issue 16), through Dagster's own sensor evaluation.
 * Each case is compiled for dagster; conformance/dagster/catchup_ticks.py loads the module with
 * Dagster's code and evaluates its catch-up sensor (`build_sensor_context`,
 * `SensorDefinition.evaluate_tick`) at the instants of a simulated timeline, the module's clock
 * set to each and the cursor carried as the sensor daemon stores it. The run requests of each
 * tick must be the meaning's slots (`src/backfill.ts` `partitions`: the cron read in the zone
 * within the window) that passed since the previous tick, oldest first, each once, keyed and
 * tagged with its logical date. A sensor that starts at its first tick, as a Dagster schedule
 * does, must be caught.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { partitions } from "../../src/backfill.js";
import { analyze, compileFor } from "../../src/compile.js";
import type { Workflow } from "../../src/ir.js";
import { isoUtc } from "../../src/runtime.js";
import { catchupName, jobFunction, LOGICAL_DATE_TAG } from "../../targets/dagster/emit.js";
import { TARGETS } from "../../targets/index.js";
import { readSpec } from "../matrix.js";
import { CACHE, CONFORMANCE, setup } from "./runners.js";

const PYTHON = join(CACHE, "dagster", "bin", "python");
const DAGSTER = TARGETS.find((t) => t.name === "dagster")!;
const dir = mkdtempSync(join(tmpdir(), "kfm-dagster-catchup-"));

function inline(name: string, schedule: string): { path: string; text: string } {
  return {
    path: `${name}.yaml`,
    text: `workflow:\n  name: ${name}\n  schedule:\n${schedule}  jobs:\n    - job: {name: a, image: "busybox:1.36", args: ["{{ ds }}"]}\n`,
  };
}

interface Case {
  readonly id: string;
  readonly spec: { path: string; text: string };
  /** The instants (UTC) the sensor daemon evaluates the sensor at, in order. */
  readonly times: readonly string[];
}

const CASES: readonly Case[] = [
  {
    id: "daily in UTC from the start date (specs/catchup.yaml)",
    spec: { path: "specs/catchup.yaml", text: readSpec("specs/catchup.yaml") },
    times: ["2024-01-05T12:00:00+00:00", "2024-01-05T12:00:20+00:00", "2024-01-09T03:00:00+00:00", "2024-01-09T03:00:30+00:00"],
  },
  {
    id: "hourly in Berlin across the fall-back change, until the end date",
    spec: inline(
      "cu_hourly_berlin",
      `    cron: "0 * * * *"\n    timezone: "Europe/Berlin"\n    start_date: "2024-10-26"\n    end_date: "2024-10-28"\n    catchup: true\n`,
    ),
    times: ["2024-10-26T05:30:00+00:00", "2024-10-27T00:30:00+00:00", "2024-10-27T01:30:00+00:00", "2024-11-02T00:00:00+00:00"],
  },
  {
    id: "daily at 02:00 in New York across the spring-forward gap",
    spec: inline("cu_daily_new_york", `    cron: "0 2 * * *"\n    timezone: "America/New_York"\n    start_date: "2024-03-08"\n    catchup: true\n`),
    times: ["2024-03-09T12:00:00+00:00", "2024-03-12T12:00:00+00:00"],
  },
  {
    id: "every 6 hours without a start date: from the first tick on",
    spec: inline("cu_no_start", `    cron: "0 */6 * * *"\n    timezone: "UTC"\n    catchup: true\n`),
    times: ["2024-05-01T07:00:00+00:00", "2024-05-01T07:00:10+00:00", "2024-05-02T00:00:00+00:00"],
  },
];

/** The broken module: the sensor starts at its first tick, as a schedule does (no catch-up). */
const BROKEN: [RegExp, string] = [/begin = KFM_WINDOW_START\n/, "begin = now\n"];

interface Tick {
  readonly at: string;
  readonly runs: { job: string; run_key: string; tags: Record<string, string> }[];
}

const compiled = new Map<string, { ir: Workflow; file: string }>();
for (const c of CASES) {
  const a = analyze(c.spec.path, c.spec.text);
  if (a.ir === null) throw new Error(`${c.id}: ${a.diagnostics.map((d) => d.message).join("; ")}`);
  const r = compileFor(a, DAGSTER);
  if (r.output === null) throw new Error(`${c.id}: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  const file = join(dir, r.output.path.replace(/^.*\//, ""));
  writeFileSync(file, r.output.text);
  compiled.set(c.id, { ir: a.ir, file });
  if (c === CASES[0]) {
    const broken = r.output.text.replace(BROKEN[0], BROKEN[1]);
    if (broken === r.output.text) throw new Error("the sabotage does not apply");
    writeFileSync(join(dir, "broken.py"), broken);
  }
}

let ticks: Record<string, Tick[] | { error: string }> = {};

beforeAll(() => {
  setup();
  const input = [
    ...CASES.map((c) => ({ id: c.id, file: compiled.get(c.id)!.file, times: c.times })),
    { id: "broken", file: join(dir, "broken.py"), times: CASES[0]!.times },
  ];
  const r = spawnSync(PYTHON, [join(CONFORMANCE, "dagster", "catchup_ticks.py")], {
    input: JSON.stringify(input),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`catchup_ticks.py exited ${r.status}:\n${r.stderr}`);
  ticks = JSON.parse(r.stdout) as typeof ticks;
}, 300_000);

/** Per tick: the meaning's slots since the previous tick (the first: since the start date, or its own time). */
function expected(ir: Workflow, times: readonly string[]) {
  const s = ir.schedule;
  if (s?.kind !== "cron") throw new Error("not a cron schedule");
  const last = Date.parse(times[times.length - 1]!);
  const first = Date.parse(times[0]!);
  const from = s.start?.slice(0, 10) ?? new Date(first - 86_400_000).toISOString().slice(0, 10);
  const slots = partitions(ir, from, new Date(last + 86_400_000).toISOString().slice(0, 10));
  if (!Array.isArray(slots)) throw new Error(slots.message);
  let prev = s.start === null ? first - 1 : -Infinity;
  return times.map((at) => {
    const now = Date.parse(at);
    const due = slots.filter((t) => t > prev && t <= now);
    prev = now;
    return {
      at,
      runs: due.map((t) => ({
        job: jobFunction(ir.name),
        run_key: isoUtc(t),
        tags: { "dagster/sensor_name": catchupName(ir.name), [LOGICAL_DATE_TAG]: isoUtc(t) },
      })),
    };
  });
}

function actual(id: string): Tick[] {
  const got = ticks[id];
  if (got === undefined || !Array.isArray(got)) throw new Error(`${id}: ${JSON.stringify(got)}`);
  return got.map((t) => ({ at: t.at, runs: t.runs }));
}

describe("catchup: true on Dagster: the catch-up sensor, evaluated by Dagster over a simulated clock, requests the meaning's slots", () => {
  it.each(CASES.map((c) => [c.id, c] as const))("%s", (_id, c) => {
    const { ir } = compiled.get(c.id)!;
    const want = expected(ir, c.times);
    expect(want.flatMap((t) => t.runs).length).toBeGreaterThan(2);
    expect(actual(c.id)).toEqual(want);
  });
  it("a sensor that starts at its first tick, as a schedule does, is caught", () => {
    const c = CASES[0]!;
    const got = actual("broken");
    expect(got.flatMap((t) => t.runs).length).toBeGreaterThan(0);
    expect(got).not.toEqual(expected(compiled.get(c.id)!.ir, c.times));
  });
});
