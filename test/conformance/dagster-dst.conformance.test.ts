/**
 * Conformance: Dagster's fire times across daylight-saving changes (issue 16), over the zones
 * and crons of dst.conformance.test.ts (every scheduled spec's cron and a few more shapes, in
 * four zones, around every change from 2024 to 2030). Each case compiled for dagster is loaded
 * with Dagster's code; its schedule's ticks come from the scheduler daemon's own iterator over the
 * module's `cron_schedule`, and each tick is evaluated by the module's own schedule function as
 * the daemon does (conformance/dagster/fire_times.py): the ticks that start a run, each with its
 * tick as logical date, must be the meaning's instants (`nextFireTimes`). So the daylight-saving
 * guard (emit.ts `dagsterDstGuard`: the hour after a gap slot added, `kfm_is_slot` keeping the
 * meaning's instants) is proved with Dagster's code, and a module without it (sabotage) fails. A
 * case the compiler refuses must be refused with KFM220, and Dagster's iterator must differ from
 * the meaning there, so that the refusal is needed (index.ts `DAGSTER_CRON`).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze, compileFor } from "../../src/compile.js";
import { nextFireTimes, parseCron, transitions, type Cron } from "../../src/cron.js";
import { TARGETS } from "../../targets/index.js";
import { readSpec, specFiles } from "../matrix.js";
import { CACHE, CONFORMANCE, setup } from "./runners.js";

// The cases of dst.conformance.test.ts.
const ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Santiago"] as const;
const MORE_CRONS = ["0 */2 * * *", "30 1-3 * * *", "0 0 * * *", "15 2 * * 0"];
/**
 * Dagster's guard at midnight (America/Santiago's gap is 00:00-01:00), and a refusal that stays:
 * Australia/Lord_Howe's gap is 30 minutes long (02:00-02:30), so one added hour cannot fire 02:15
 * at the meaning's 02:45, and Dagster fires it at 02:30 (`apply_post_transition`).
 */
const MORE_CASES: readonly (readonly [string, string])[] = [
  ["America/Santiago", "30 0 * * *"],
  ["Australia/Lord_Howe", "15 2 * * *"],
];
const AROUND_MS = 32 * 3600_000;
const COUNT = 140;
const PYTHON = join(CACHE, "dagster", "bin", "python");
const DAGSTER = TARGETS.find((t) => t.name === "dagster")!;

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19) + "Z";

function scheduledCrons(): string[] {
  const out = new Set<string>();
  for (const spec of specFiles()) {
    const ir = analyze(spec, readSpec(spec)).ir;
    if (ir?.schedule?.kind === "cron") out.add(ir.schedule.cron);
  }
  for (const c of MORE_CRONS) out.add(c);
  return [...out].sort();
}

function changes(zone: string): { at: number; from: string; until: string }[] {
  return transitions(zone)
    .filter((t) => t.atMs >= Date.UTC(2024, 0, 1) && t.atMs < Date.UTC(2031, 0, 1))
    .map((t) => ({
      at: t.atMs,
      from: new Date(t.atMs - AROUND_MS + 30_000).toISOString().slice(0, 19) + "+00:00",
      until: new Date(t.atMs + AROUND_MS).toISOString().slice(0, 19) + "+00:00",
    }));
}

interface Case {
  readonly zone: string;
  readonly cron: string;
  readonly parsed: Cron;
  /** The compiled module, or null when the compiler refused the case. */
  readonly file: string | null;
  readonly codes: readonly string[];
}

const dir = mkdtempSync(join(tmpdir(), "kfm-dagster-dst-"));
const cases: Case[] = [];
for (const [i, [zone, cron]] of [...ZONES.flatMap((z) => scheduledCrons().map((c) => [z, c] as const)), ...MORE_CASES].entries()) {
  const name = `dst_${zone.replace(/[^A-Za-z]/g, "_").toLowerCase()}_${i}`;
  const text = `workflow:\n  name: ${name}\n  schedule:\n    cron: "${cron}"\n    timezone: "${zone}"\n  jobs:\n    - job: {name: a, image: "busybox:1.36"}\n`;
  const a = analyze(`${name}.yaml`, text, undefined, { targets: [] });
  if (a.ir === null) throw new Error(`${cron} in ${zone}: ${a.diagnostics.map((d) => d.message).join("; ")}`);
  const r = compileFor(a, DAGSTER);
  let file: string | null = null;
  if (r.output !== null) {
    const folder = join(dir, zone.replace("/", "_"));
    mkdirSync(folder, { recursive: true });
    file = join(folder, r.output.path.replace(/^.*\//, ""));
    writeFileSync(file, r.output.text);
  }
  cases.push({ zone, cron, parsed: parseCron(cron) as Cron, file, codes: r.diagnostics.map((d) => d.code) });
}

/**
 * Sabotaged copies of the Europe/Berlin `30 2 * * *` module (specs/dst-daily-berlin.yaml's slot):
 * without the guard in the schedule function, and without the added hour in the cron.
 */
const berlin = cases.find((c) => c.zone === "Europe/Berlin" && c.cron === "30 2 * * *");
const GUARD_CALL = /\n {4}if not kfm_is_slot\(fire\):\n {8}return SkipReason\([^\n]*\)/;
const SABOTAGES: Case[] = [
  { name: "guard removed", mutate: (t: string) => t.replace(GUARD_CALL, "") },
  { name: "added hour removed", mutate: (t: string) => t.replace('cron_schedule="30 2,3 * * *"', 'cron_schedule="30 2 * * *"') },
].map(({ name, mutate }) => {
  const file = join(dir, `sabotage-${name.replace(/ /g, "-")}.py`);
  const text = berlin?.file ? readFileSync(berlin.file, "utf8") : "";
  const mutated = mutate(text);
  if (mutated === text) throw new Error(`sabotage "${name}" changed nothing in the Europe/Berlin 30 2 * * * module`);
  writeFileSync(file, mutated);
  return { ...berlin!, cron: `${berlin!.cron} (${name})`, file };
});

const key = (c: Case, from: string) => `${c.zone}#${c.cron}#${from}`;
let fires: Record<string, string[] | { error: string }> = {};

beforeAll(() => {
  setup();
  const input = [...cases, ...SABOTAGES].flatMap((c) =>
    changes(c.zone).map((ch) => ({
      id: key(c, ch.from),
      from: ch.from,
      count: COUNT,
      ...(c.file !== null ? { file: c.file, until: ch.until } : { cron: c.cron, zone: c.zone }),
    })),
  );
  const r = spawnSync(PYTHON, [join(CONFORMANCE, "dagster", "fire_times.py")], {
    input: JSON.stringify(input),
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`fire_times.py exited ${r.status}:\n${r.stderr}`);
  fires = JSON.parse(r.stdout) as typeof fires;
}, 900_000);

/** Per change of the case's zone: Dagster's fires and the meaning's, within the window. */
function compared(c: Case): { at: number; dagster: string[]; want: string[] }[] {
  return changes(c.zone).map((ch) => {
    const got = fires[key(c, ch.from)];
    if (got === undefined || !Array.isArray(got)) throw new Error(`${c.cron} in ${c.zone}: ${JSON.stringify(got)}`);
    const until = ch.at + AROUND_MS;
    const inWindow = (ts: number[]) => ts.filter((t) => t <= until).map(iso);
    return { at: ch.at, dagster: inWindow(got.map((t) => Date.parse(t))), want: inWindow(nextFireTimes(c.parsed, c.zone, Date.parse(ch.from), COUNT)) };
  });
}

describe("fire times across daylight-saving changes, 2024-2030: Dagster's schedule iterator and the meaning", () => {
  it("compiles some cases in every zone, and refuses only with KFM220", () => {
    for (const zone of ZONES) expect(cases.filter((c) => c.zone === zone && c.file !== null).length, zone).toBeGreaterThan(0);
    for (const c of cases.filter((x) => x.file === null)) expect(c.codes, `${c.cron} in ${c.zone}`).toContain("KFM220");
  });
  for (const zone of [...ZONES, "Australia/Lord_Howe"]) {
    it(`in ${zone}: a compiled schedule fires the meaning's instants, and a refused one would not`, () => {
      const mismatches: string[] = [];
      for (const c of cases.filter((x) => x.zone === zone)) {
        const windows = compared(c);
        if (c.file !== null) {
          for (const w of windows)
            if (JSON.stringify(w.dagster) !== JSON.stringify(w.want))
              mismatches.push(`${c.cron} around ${iso(w.at)}: Dagster ${w.dagster.join(" ")} but the meaning ${w.want.join(" ")}`);
        } else if (windows.every((w) => JSON.stringify(w.dagster) === JSON.stringify(w.want))) {
          mismatches.push(`${c.cron}: refused, but Dagster fires the meaning's instants around every change`);
        }
      }
      expect(mismatches).toEqual([]);
    });
  }
  it("compiles specs/dst-daily-berlin.yaml's slot (30 2 * * * in Europe/Berlin) with the hour after the gap added", () => {
    expect(berlin?.file, `refused: ${berlin?.codes.join(" ")}`).toBeTruthy();
    expect(readFileSync(berlin!.file!, "utf8")).toContain('cron_schedule="30 2,3 * * *"');
  });
  for (const sabotage of SABOTAGES) {
    it(`a module with its daylight-saving guard broken (${sabotage.cron}) fires other instants than the meaning`, () => {
      const differs = compared(sabotage).filter((w) => JSON.stringify(w.dagster) !== JSON.stringify(w.want));
      expect(differs.length).toBeGreaterThan(0);
    });
  }
});
