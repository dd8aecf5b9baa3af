/**
 * Conformance: the fire times of daylight-saving changes (issue 15). Every scheduled
 * spec's cron (and a few more shapes: a step hour, an hour range, a midnight slot), read
 * in America/New_York, Europe/Berlin, Australia/Sydney and America/Santiago, compiled for
 * Airflow and Argo, must fire the instants of the README's meaning (`nextFireTimes` in
 * src/cron.ts) around every change from 2024 to 2030:
 * - Airflow: the DAG file's own CronTriggerTimetable, through the scheduler's
 *   `next_dagrun_info_v2` (conformance/airflow/load_dags.py `--fire-from`);
 * - robfig/cron: Argo's CronWorkflow read by Argo's code, each schedule's times from
 *   robfig/cron v3 `Next` in the CronWorkflow's zone, kept when the `when` guard,
 *   evaluated by Argo's template code at that instant, is true (conformance/go/argo);
 * - robfig/cron: Tekton's CronJob read by Kubernetes' types, its schedule's times from
 *   robfig/cron v3 `Next` with the `TZ=<timeZone>` the CronJob controller adds
 *   (conformance/go/tekton `--from`), each fire passed to the generated run creator script,
 *   run by this machine's bash, GNU date (glibc, no tz database: TZDIR points at an empty
 *   folder, as in the kubectl image) and jq, with a fake kubectl whose `get job` returns the
 *   fire as the controller's scheduled-timestamp annotation; kept when the script creates a
 *   PipelineRun, at the logical date it gives it.
 * - GitHub Actions: every `on.schedule` entry's fires (POSIX cron in the entry's zone, Etc/UTC
 *   for a schedule with a slot in a change; robfig/cron v3 `Next` reads POSIX cron so, through
 *   the Argo checker), each passed through the real kfm-context script (CONTEXT_SCRIPT, run
 *   with python3 and a pinned clock a little after the fire, the entry as
 *   `github.event.schedule`): the runs it lets through and their logical dates are the meaning's.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyze, compileFor } from "../../src/compile.js";
import { nextFireTimes, parseCron, transitions, type Cron } from "../../src/cron.js";
import { airflowId } from "../../src/names.js";
import { TARGETS } from "../../targets/index.js";
import { CONTEXT_SCRIPT } from "../../targets/github-actions/emit.js";
import { parseYamlStream, toYaml } from "../../src/yaml.js";
import { readSpec, specFiles } from "../matrix.js";
import { setup, tools, type ToolReport } from "./runners.js";

const ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Santiago"] as const;
/** Shapes no spec has: an hour step, an hour range over a gap, a slot at midnight (Santiago's gap), a weekday. */
const MORE_CRONS = ["0 */2 * * *", "30 1-3 * * *", "0 0 * * *", "15 2 * * 0"];
/** How far on either side of a change the fire times are compared: far enough for a Monday slot after a Saturday-midnight change (Santiago). */
const AROUND_MS = 32 * 3600_000;
/** Enough runs to pass the end of that window for a cron firing every 30 minutes, robfig/cron's unguarded extra fires included. */
const COUNT = 140;

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

interface Case {
  readonly zone: string;
  readonly cron: string;
  readonly parsed: Cron;
  readonly name: string;
  airflowFile?: string;
  argoFile?: string;
  /** GitHub: the on.schedule entries as a CronWorkflow robfig/cron reads (Argo's checker), and kfm-context's inputs. */
  github?: { entries: { cron: string; timezone: string }[]; file: string; inputs: Record<string, string | number> };
  tektonFile?: string;
}

/** The changes of a zone from 2024 to 2030 (UTC ms), and where each window of comparison starts. */
function changes(zone: string): { at: number; from: string }[] {
  return transitions(zone)
    .filter((t) => t.atMs >= Date.UTC(2024, 0, 1) && t.atMs < Date.UTC(2031, 0, 1))
    .map((t) => ({ at: t.atMs, from: new Date(t.atMs - AROUND_MS + 30_000).toISOString().slice(0, 19) + "+00:00" }));
}

const dir = mkdtempSync(join(tmpdir(), "kfm-dst-"));
const crons = scheduledCrons();
const cases: Case[] = [];
for (const zone of ZONES) {
  for (const [i, cron] of crons.entries()) {
    const parsed = parseCron(cron) as Cron;
    const name = `dst_${zone.replace(/[^A-Za-z]/g, "_").toLowerCase()}_${i}`;
    const text = `workflow:\n  name: ${name}\n  schedule:\n    cron: "${cron}"\n    timezone: "${zone}"\n  jobs:\n    - job: {name: a, image: "busybox:1.36"}\n`;
    const a = analyze(`${name}.yaml`, text, undefined, { targets: [] });
    if (a.ir === null) throw new Error(`${cron} in ${zone}: ${a.diagnostics.map((d) => d.message).join("; ")}`);
    const c: Case = { zone, cron, parsed, name };
    for (const target of ["airflow", "argo", "tekton"] as const) {
      const t = TARGETS.find((x) => x.name === target)!;
      const r = compileFor(a, t);
      if (r.output === null) throw new Error(`${cron} in ${zone} refused for ${target}: ${r.diagnostics.map((d) => d.message).join("; ")}`);
      const folder = join(dir, target, zone.replace("/", "_"));
      mkdirSync(folder, { recursive: true });
      const file = join(folder, r.output.path.replace(/^.*\//, ""));
      writeFileSync(file, r.output.text);
      if (target === "airflow") c.airflowFile = file;
      else if (target === "argo") c.argoFile = file;
      else c.tektonFile = file;
    }
    const gha = TARGETS.find((x) => x.name === "github-actions")!;
    const g = compileFor(a, gha);
    if (g.output === null) throw new Error(`${cron} in ${zone} refused for github-actions: ${g.diagnostics.map((d) => d.message).join("; ")}`);
    // The workflow as emitted: its on.schedule entries, and the `with:` kfm-context is called with.
    const wf = parseYamlStream(g.output.text)[0] as { on: { schedule: { cron: string; timezone: string }[] }; jobs: Record<string, any> };
    const entries = wf.on.schedule;
    if (new Set(entries.map((e) => e.timezone)).size !== 1) throw new Error(`${name}: entries in several zones`);
    const cw = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "CronWorkflow",
      metadata: { name: name.replace(/_/g, "-") + "-gha" },
      spec: {
        schedules: entries.map((e) => e.cron),
        timezone: entries[0]!.timezone,
        workflowSpec: { entrypoint: "main", templates: [{ name: "main", container: { image: "busybox:1.36" } }] },
      },
    };
    const ghFolder = join(dir, "github", zone.replace("/", "_"));
    mkdirSync(ghFolder, { recursive: true });
    c.github = { entries, file: join(ghFolder, `${name}.yaml`), inputs: wf.jobs["kfm-context"].with };
    writeFileSync(c.github.file, toYaml(cw));
    cases.push(c);
  }
}

/** How long after a fire GitHub starts kfm-context in these runs (scheduled runs start late). */
const START_DELAY_S = 95;

/**
 * The real kfm-context script run once per fire, in one python3 process: each run gets its
 * own environment (the step's KFMI_ variables as kfm-context.yml sets them), `time.time`
 * pinned, and a fresh GITHUB_OUTPUT; a failure (sys.exit) is recorded, not fatal.
 */
const DRIVER = `import json, os, sys, tempfile, time
jobs = json.load(open(sys.argv[1]))
code = compile(open(sys.argv[2]).read(), "kfm-context", "exec")
results = []
for job in jobs:
    out = tempfile.NamedTemporaryFile(delete=False)
    out.close()
    os.environ.clear()
    os.environ.update(job["env"])
    os.environ["GITHUB_OUTPUT"] = out.name
    time.time = lambda now=job["now"]: now
    status = 0
    try:
        exec(code, {"__name__": "__main__"})
    except SystemExit as e:
        status = e.code
    lines = dict(l.split("=", 1) for l in open(out.name).read().splitlines() if "=" in l)
    os.unlink(out.name)
    results.append({"status": status, "out": lines})
json.dump(results, open(sys.argv[3], "w"))
`;

interface ContextRun {
  readonly status: number;
  readonly out: Record<string, string>;
}

/** Runs kfm-context for each (fire instant, entry) of a case; the step's env as kfm-context.yml builds it. */
function runContexts(c: Case, fires: readonly { at: number; entry: string }[]): ContextRun[] {
  const inputs = c.github!.inputs;
  const input = (name: string) => String(inputs[name] ?? "");
  const base = {
    PATH: "/usr/bin:/bin",
    KFMI_EVENT_NAME: "schedule",
    KFMI_INPUT_LOGICAL_DATE: "",
    KFMI_CRON: input("cron"),
    KFMI_TIMEZONE: input("timezone"),
    KFMI_UTC_CRONS: input("utc-crons"),
    KFMI_START: input("start"),
    KFMI_END: input("end"),
    KFMI_PERIOD_SECONDS: input("period-seconds"),
    KFMI_RUN_TIMEOUT: input("run-timeout"),
    KFMI_RUN_TOKEN_SEED: input("run-token-seed"),
    KFMI_SLOT_FROM: input("slot-from"),
  };
  const jobs = fires.map((f) => ({ now: f.at / 1000 + START_DELAY_S, env: { ...base, KFMI_EVENT_SCHEDULE: f.entry } }));
  const folder = mkdtempSync(join(dir, "ctx-"));
  writeFileSync(join(folder, "jobs.json"), JSON.stringify(jobs));
  writeFileSync(join(folder, "context.py"), CONTEXT_SCRIPT);
  writeFileSync(join(folder, "driver.py"), DRIVER);
  execFileSync("python3", ["-I", join(folder, "driver.py"), join(folder, "jobs.json"), join(folder, "context.py"), join(folder, "results.json")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  return JSON.parse(readFileSync(join(folder, "results.json"), "utf8")) as ContextRun[];
}

/** Per zone: Airflow's report over every change's window, and Argo's per change plus its when guard at every fire. */
const airflowReports = new Map<string, ToolReport>();
const argoFires = new Map<string, ToolReport>();
const argoWhen = new Map<string, ToolReport>();
const githubFires = new Map<string, ToolReport>();

function parsedOf(report: ToolReport | undefined, file: string): any {
  const f = report?.files.find((x) => x.file === file);
  if (f === undefined || !f.ok) throw new Error(`no verdict for ${file}: ${JSON.stringify(f?.errors ?? report)}`);
  return f.parsed;
}

/** robfig/cron's fires of every schedule of the CronWorkflow after `from`, merged (UTC ms). */
function robfigFires(c: Case, from: string): number[] {
  const objects = parsedOf(argoFires.get(`${c.zone}#${from}`), c.argoFile!) as any[];
  const cw = objects.find((o) => o.kind === "CronWorkflow");
  const out = new Set<number>();
  for (const s of Object.values(cw.fireTimes as Record<string, { utc: string[] }>)) for (const u of s.utc) out.add(Date.parse(u));
  return [...out].sort((a, b) => a - b);
}

const tektonFires = new Map<string, ToolReport>();
/** Per Tekton file: the logical date (UTC ms) of the run its creator created for each fire (RFC 3339 in the zone), or null for none. */
const tektonCreated = new Map<string, Map<string, number | null>>();

/** robfig/cron's fires of the CronJob's schedule after `from`, as the controller's annotation writes them (RFC 3339 in the CronJob's zone). */
function cronJobFires(c: Case, from: string): string[] {
  const objects = parsedOf(tektonFires.get(`${c.zone}#${from}`), c.tektonFile!) as any[];
  return (objects.find((o) => o.kind === "CronJob").fireTimes.local as string[]) ?? [];
}

/**
 * Runs the creator script of the CronJob in `file` once per fire, as its container would:
 * the env values Kubernetes expands (`$$` is `$`), a fake kubectl (a shell function: one bash
 * for all fires, each fire's script in its own subshell) answering `get job` with the fire and
 * keeping what `create` gets, no tz database. Returns each fire's created logical date.
 */
function runCreator(file: string, fires: readonly string[]): Map<string, number | null> {
  const text = readFileSync(file, "utf8");
  const cronJob = (parseYamlStream(text) as any[]).find((d) => d?.kind === "CronJob");
  const container = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
  const expand = (v: string) => v.replace(/\$\$/g, "$");
  const dir = mkdtempSync(join(tmpdir(), "kfm-dst-creator-"));
  mkdirSync(join(dir, "no-tzdata"));
  writeFileSync(join(dir, "script"), expand(container.command[2]));
  writeFileSync(join(dir, "fires"), fires.map((f) => f + "\n").join(""));
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", TZDIR: join(dir, "no-tzdata"), FAKE_DIR: dir };
  for (const e of container.env) if (e.valueFrom === undefined) env[e.name] = expand(e.value ?? "");
  env.KFM_NAMESPACE = "kfm";
  env.KFM_JOB_NAME = "job";
  const driver = `kubectl() {
  if [ "$1" = get ]; then printf '%s' "$FAKE_SLOT"; return 0; fi
  if [ "$1" = create ]; then cat >"$FAKE_DIR/created"; echo created; fi
}
while IFS= read -r FAKE_SLOT; do
  rm -f "$FAKE_DIR/created"
  if ! (source "$FAKE_DIR/script") >/dev/null 2>"$FAKE_DIR/stderr"; then echo "$FAKE_SLOT failed: $(<"$FAKE_DIR/stderr")" >&2; exit 1; fi
  printf '%s %s\\n' "$FAKE_SLOT" "$(cat "$FAKE_DIR/created" 2>/dev/null)"
done <"$FAKE_DIR/fires"`;
  const r = spawnSync("bash", ["-c", driver], { env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${file}: the creator script failed: ${r.stderr}`);
  const out = new Map<string, number | null>();
  // Each line is the fire, a space, and the run created (empty for none): no trimming.
  for (const line of r.stdout.split("\n")) {
    if (line === "") continue;
    const space = line.indexOf(" ");
    const created = line.slice(space + 1);
    const run = created === "" ? null : (JSON.parse(created) as { spec: { params: { name: string; value: string }[] } });
    const logical = run?.spec.params.find((p) => p.name === "logical-date")?.value;
    out.set(line.slice(0, space), run === null ? null : Date.parse(logical ?? "no logical date"));
  }
  return out;
}

beforeAll(() => {
  setup();
  for (const zone of ZONES) {
    const mine = cases.filter((c) => c.zone === zone);
    const froms = changes(zone).map((ch) => ch.from);
    airflowReports.set(
      zone,
      tools.airflow(
        mine.map((c) => c.airflowFile!),
        [...froms.flatMap((f) => ["--fire-from", f]), "--fire-count", String(COUNT)],
      ),
    );
    for (const from of froms) {
      githubFires.set(
        `${zone}#${from}`,
        tools.argo(
          mine.map((c) => c.github!.file),
          ["--from", from, "--n", String(COUNT)],
        ),
      );
      argoFires.set(
        `${zone}#${from}`,
        tools.argo(
          mine.map((c) => c.argoFile!),
          ["--from", from, "--n", String(COUNT)],
        ),
      );
    }
    const instants = new Set<string>();
    for (const c of mine) for (const from of froms) for (const t of robfigFires(c, from)) instants.add(iso(t));
    for (const from of froms) {
      tektonFires.set(
        `${zone}#${from}`,
        tools.tekton(
          mine.map((c) => c.tektonFile!),
          ["--from", from, "--n", String(COUNT)],
        ),
      );
    }
    for (const c of mine) {
      // A CronJob without the daylight-saving guard (a cron firing every hour, or no slot in a
      // change) and without a window creates a run for every fire (test/targets/tekton.test.ts
      // runs that script): its fires are compared as they are. The machine is shared; running
      // the creator some ten thousand times more would prove nothing more.
      if (!readFileSync(c.tektonFile!, "utf8").includes("KFM_TZ_RULE")) continue;
      // Each fire near a change, once: the creator's answer does not depend on the window it was found in.
      const fires = new Set<string>();
      for (const ch of changes(zone)) for (const f of cronJobFires(c, ch.from)) if (Date.parse(f) <= ch.at + AROUND_MS) fires.add(f);
      tektonCreated.set(c.tektonFile!, runCreator(c.tektonFile!, [...fires]));
    }
    argoWhen.set(
      zone,
      tools.argo(
        mine.map((c) => c.argoFile!),
        [...[...instants].flatMap((t) => ["--when-at", t])],
      ),
    );
  }
}, 1_800_000);

/** Per case: how many fires GitHub's entries gave and how many runs kfm-context let through. */
const githubCounts: string[] = [];
afterAll(() => console.log(`GitHub entries' fires through kfm-context, around every change 2024-2030:\n${githubCounts.join("\n")}`));

describe("fire times across daylight-saving changes, 2024-2030: the meaning, Airflow's timetable, robfig/cron with Argo's guard and with Tekton's run creator, and GitHub's entries with kfm-context agree", () => {
  it("covers every change of the four zones from 2024 to 2030", () => {
    for (const zone of ZONES) expect(changes(zone).length, zone).toBe(14);
    // Tekton's run creator guards crons in every zone (Santiago's change at midnight meets two of them), dst-daily-berlin's among them.
    for (const zone of ZONES) expect(cases.filter((c) => c.zone === zone && tektonCreated.has(c.tektonFile!)).length, zone).toBeGreaterThan(1);
    expect(cases.some((c) => c.zone === "Europe/Berlin" && c.cron === "30 2 * * *" && tektonCreated.has(c.tektonFile!))).toBe(true);
  });

  for (const zone of ZONES) {
    it(`in ${zone}, for ${crons.length} crons`, () => {
      const mismatches: string[] = [];
      for (const c of cases.filter((x) => x.zone === zone)) {
        const dag = (parsedOf(airflowReports.get(zone), c.airflowFile!).dags as any[]).find((d) => d.dag_id === airflowId(c.name));
        const when = (parsedOf(argoWhen.get(zone), c.argoFile!) as any[]).find((o) => o.kind === "CronWorkflow");
        let fired = 0;
        let ghFires = 0;
        const windows: { at: number; fires: { at: number; entry: string }[]; want: string[] }[] = [];
        for (const ch of changes(zone)) {
          const from = Date.parse(ch.from);
          const until = ch.at + AROUND_MS;
          const inWindow = (ts: number[]) => ts.filter((t) => t <= until).map(iso);
          const want = inWindow(nextFireTimes(c.parsed, zone, from, COUNT));
          const airflow = inWindow((dag.fire_times[ch.from] as { logical_date: string }[]).map((r) => Date.parse(r.logical_date)));
          const robfig = robfigFires(c, ch.from);
          if (robfig[robfig.length - 1]! <= until) mismatches.push(`${c.cron} ${ch.from}: robfig/cron's ${COUNT} fires end before the window does`);
          const guarded = inWindow(robfig.filter((t) => when.whenAt[iso(t)] === true));
          if (JSON.stringify(airflow) !== JSON.stringify(want))
            mismatches.push(`${c.cron} around ${iso(ch.at)}: Airflow ${airflow.join(" ")} but the meaning ${want.join(" ")}`);
          if (JSON.stringify(guarded) !== JSON.stringify(want))
            mismatches.push(`${c.cron} around ${iso(ch.at)}: Argo ${guarded.join(" ")} but the meaning ${want.join(" ")}`);
          const cronJob = cronJobFires(c, ch.from);
          if (Date.parse(cronJob[cronJob.length - 1]!) <= until)
            mismatches.push(`${c.cron} ${ch.from}: the CronJob's ${COUNT} fires end before the window does`);
          const created = tektonCreated.get(c.tektonFile!);
          const runs = cronJob
            .filter((f) => Date.parse(f) <= until)
            .flatMap((f) => {
              if (created === undefined) return [Date.parse(f)];
              const logical = created.get(f);
              if (logical === undefined) throw new Error(`${c.cron}: fire ${f} not passed to the creator`);
              // The run's logical date is the instant it fired: the creator never moves it.
              if (logical !== null && logical !== Date.parse(f)) mismatches.push(`${c.cron}: fire ${f} created a run dated ${iso(logical)}`);
              return logical === null ? [] : [logical];
            });
          const tekton = inWindow(runs);
          if (JSON.stringify(tekton) !== JSON.stringify(want))
            mismatches.push(`${c.cron} around ${iso(ch.at)}: Tekton ${tekton.join(" ")} but the meaning ${want.join(" ")}`);
          // GitHub: every entry's fires in the window, each through kfm-context.
          const cw = (parsedOf(githubFires.get(`${zone}#${ch.from}`), c.github!.file) as any[]).find((o) => o.kind === "CronWorkflow");
          const fires: { at: number; entry: string }[] = [];
          for (const [key, times] of Object.entries(cw.fireTimes as Record<string, { utc: string[] }>)) {
            const entry = key.replace(/^CRON_TZ=\S+ /, "");
            if (!c.github!.entries.some((e) => e.cron === entry)) mismatches.push(`${c.cron}: robfig/cron read an entry ${key} the workflow does not have`);
            const utc = times.utc.map((u) => Date.parse(u));
            if (utc[utc.length - 1]! <= until) mismatches.push(`${c.cron} ${ch.from}: ${COUNT} fires of ${entry} end before the window does`);
            for (const at of utc) if (at <= until) fires.push({ at, entry });
          }
          fires.sort((x, y) => x.at - y.at);
          windows.push({ at: ch.at, fires, want });
          ghFires += fires.length;
          fired += want.length;
        }
        // One python3 process per case: every window's fires through kfm-context.
        const runs = runContexts(
          c,
          windows.flatMap((w) => w.fires),
        );
        let next = 0;
        for (const w of windows) {
          const mine = runs.slice(next, next + w.fires.length);
          next += w.fires.length;
          const failed = mine.flatMap((r, i) => (r.status === 0 ? [] : [`${iso(w.fires[i]!.at)} ${w.fires[i]!.entry}`]));
          if (failed.length > 0) mismatches.push(`${c.cron} around ${iso(w.at)}: kfm-context failed at ${failed.join(", ")}`);
          const kept = w.fires.filter((_, i) => mine[i]!.out.run === "true").map((f) => iso(f.at));
          const dates = mine.filter((r) => r.out.run === "true").map((r) => r.out.ts!.replace("+00:00", "Z"));
          if (JSON.stringify(kept) !== JSON.stringify(w.want))
            mismatches.push(`${c.cron} around ${iso(w.at)}: GitHub ${kept.join(" ")} but the meaning ${w.want.join(" ")}`);
          if (JSON.stringify(dates) !== JSON.stringify(w.want))
            mismatches.push(`${c.cron} around ${iso(w.at)}: GitHub's logical dates ${dates.join(" ")} but the meaning ${w.want.join(" ")}`);
        }
        if (fired === 0) mismatches.push(`${c.cron}: no fire near any change`);
        githubCounts.push(`${zone} ${c.cron}: ${ghFires} GitHub fires, ${fired} runs`);
      }
      expect(mismatches).toEqual([]);
    }, 600_000);
  }
});
