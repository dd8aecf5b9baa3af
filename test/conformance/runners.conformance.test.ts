/**
 * Conformance: every spec in specs/ is compiled for every target, each generated
 * file is handed to its runner's OWN code (conformance/README.md says which), and
 * (1) the runner must accept it, (2) what the runner read must be what the spec
 * means. Run with `npm run test:conformance` (installs the runners first through
 * conformance/setup.sh; a no-op when they are installed).
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCron, nextFireTimes } from "../../src/cron.js";
import { LOGICAL_DATE_PARAM } from "../../src/names.js";
import {
  compareAirflow,
  compareAirflowExtras,
  compareArgo,
  compareArgoExtras,
  compareGithub,
  compareGithubExtras,
  compareTekton,
  compareTektonExtras,
  contextValues,
  Mismatches,
  windowProbes,
} from "./compare.js";
import { CONFORMANCE, compileAll, setup, tools, type Compiled, type FileVerdict, type ToolReport } from "./runners.js";

/**
 * Instants the runners render templates for (Airflow all of them, Argo one per run, paired
 * with FIRE_FROM) and compute fire times after (never on a minute boundary).
 */
const LOGICAL_DATES = ["2024-06-03T10:30:00+00:00", "2024-12-31T23:00:00+00:00"];
// Just before the US and EU daylight-saving changes of 2024 (spring-forward gaps, fall-back folds).
const FIRE_FROM = ["2024-03-09T12:00:30+00:00", "2024-03-30T12:00:30+00:00", "2024-10-26T12:00:30+00:00", "2024-11-02T12:00:30+00:00"];
const FIRE_COUNT = 8;

const { dir, outputs: all, crashed } = compileAll();
/** Files a correct backend wrote, and files a deliberately broken one wrote. */
const outputs = all.filter((o) => o.drift === undefined);
const drifted = all.filter((o) => o.drift !== undefined);
const byTarget = (t: string) => outputs.filter((o) => o.target === t);

const reports = new Map<string, ToolReport>();
function verdict(tool: string, c: Compiled): FileVerdict {
  const r = reports.get(tool);
  const v = r?.files.find((f) => f.file === c.file);
  if (v === undefined) throw new Error(`${tool} reported nothing for ${c.file}`);
  return v;
}

/** Logical dates for Airflow rendering: the fixed ones, plus each scheduled spec's first slot (a scheduled run). */
function logicalDates(): string[] {
  const out = new Set(LOGICAL_DATES);
  for (const o of byTarget("airflow")) {
    const s = o.ir.schedule;
    if (s?.kind !== "cron") continue;
    const c = parseCron(s.cron);
    if (typeof c === "string") continue;
    const [first] = nextFireTimes(c, s.timezone, Date.parse(FIRE_FROM[0]!), 1);
    if (first !== undefined) out.add(new Date(first).toISOString().slice(0, 19) + "+00:00");
  }
  return [...out].sort();
}
const AIRFLOW_DATES = logicalDates();

/** Per Argo output, the slots at which argo-check evaluates the CronWorkflow's window guard (run #0). */
const PROBES = new Map(byTarget("argo").map((o) => [o.file, windowProbes(o.ir, FIRE_FROM)]));

/** tekton-check --task-results for the run paired with LOGICAL_DATES[i]: kfm-context's results per file. */
function tektonResults(i: number): string[] {
  const ld = LOGICAL_DATES[i];
  if (ld === undefined) return [];
  const file = join(dir, `tekton-results-${i}.json`);
  const results: Record<string, Record<string, Record<string, string>>> = {};
  for (const o of byTarget("tekton")) results[o.file] = { "kfm-context": contextValues(o.ir, Date.parse(ld)) };
  writeFileSync(file, JSON.stringify(results));
  return ["--task-results", file];
}

beforeAll(() => {
  setup();
  const files = (t: string) => byTarget(t).map((o) => o.file);
  // The broken backend's files go to the runners on their own: Argo's lint refuses two
  // templates of one name in one call.
  for (const o of drifted) {
    const key = `${o.target}-drift`;
    if (o.target === "airflow") reports.set(key, tools.airflow([o.file], [...AIRFLOW_DATES.flatMap((d) => ["--logical-date", d])]));
    if (o.target === "argo") reports.set(key, tools.argo([o.file], ["--from", FIRE_FROM[0]!, "--n", "1"]));
    if (o.target === "tekton") reports.set(key, tools.tekton([o.file, ...(o.shared ?? [])], ["--from", FIRE_FROM[0]!, "--n", "1"]));
    if (o.target === "github-actions") reports.set(key, tools.workflowParser([o.file]));
  }
  const fire = FIRE_FROM.flatMap((f) => ["--fire-from", f]);
  if (files("airflow").length > 0) {
    reports.set(
      "airflow",
      tools.airflow(files("airflow"), [...AIRFLOW_DATES.flatMap((d) => ["--logical-date", d]), ...fire, "--fire-count", String(FIRE_COUNT)]),
    );
  }
  // argo-check and tekton-check take one --from (and argo-check one logical date); run them once per pair.
  for (const [i, from] of FIRE_FROM.entries()) {
    const ld = LOGICAL_DATES[i];
    const render = ld === undefined ? [] : ["--scheduled-time", ld, "--param", `${LOGICAL_DATE_PARAM}=${ld}`];
    const whenAt = i === 0 ? [...new Set([...PROBES.values()].flat().map((p) => p.at))].flatMap((at) => ["--when-at", at]) : [];
    if (files("argo").length > 0) reports.set(`argo#${i}`, tools.argo(files("argo"), ["--from", from, "--n", String(FIRE_COUNT), ...render, ...whenAt]));
    // With the StepActions their steps run (each folder's own file), which tekton-check resolves as the reconciler does.
    const tektonShared = byTarget("tekton").flatMap((o) => o.shared ?? []);
    if (files("tekton").length > 0)
      reports.set(`tekton#${i}`, tools.tekton([...files("tekton"), ...tektonShared], ["--from", from, "--n", String(FIRE_COUNT), ...tektonResults(i)]));
  }
  if (files("github-actions").length > 0) {
    // The callers and the shared reusable workflows they call, together.
    const all = [...files("github-actions"), ...byTarget("github-actions").flatMap((o) => o.shared ?? [])];
    reports.set("actionlint", tools.actionlint(all));
    reports.set("workflow-parser", tools.workflowParser(all));
  }
}, 1_800_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const accepted: Array<[string, string, string]> = [
  ...byTarget("airflow").map((o) => ["airflow", o.spec, "airflow"] as [string, string, string]),
  ...byTarget("argo").map((o) => ["argo", o.spec, "argo#0"] as [string, string, string]),
  ...byTarget("tekton").map((o) => ["tekton", o.spec, "tekton#0"] as [string, string, string]),
  ...byTarget("github-actions").flatMap((o) => [
    ["github-actions (actionlint)", o.spec, "actionlint"] as [string, string, string],
    ["github-actions (workflow-parser)", o.spec, "workflow-parser"] as [string, string, string],
  ]),
];

function compiledFor(target: string, spec: string): Compiled {
  const t = target.replace(/ \(.*\)$/, "");
  const c = outputs.find((o) => o.target === t && o.spec === spec);
  if (c === undefined) throw new Error(`no output for ${spec} on ${t}`);
  return c;
}

describe("every spec compiles on every target (or is refused with a diagnostic)", () => {
  it("no backend throws", () => {
    expect(crashed.map(([spec, target, error]) => `${spec} on ${target}: ${error.split("\n")[0]}`)).toEqual([]);
  });
});

/**
 * An expiring expectation: actionlint v1.7.12, the newest release (conformance/versions.env),
 * predates the concurrency key `queue` GitHub added in 2026-05 (rhysd/actionlint#657; PR #654
 * open) and reports every `queue: max` as an unknown key, as it would in a user's repository
 * (targets/github-actions/README.md, "Concurrency"). GitHub's own parser accepts it (the
 * workflow-parser verdict below). For a workflow with max_active_runs this one error, once,
 * is expected at exactly this version; the test fails when it no longer shows or the pin
 * moves, so the expectation is dropped as soon as actionlint reads the key.
 */
const ACTIONLINT_QUEUE = {
  version: "v1.7.12",
  error: /^syntax-check \d+:\d+: unexpected key "queue" for "concurrency" section\. expected one of "cancel-in-progress", "group"$/,
};

describe("every generated file is accepted by its runner's own code", () => {
  it.each(accepted)("%s accepts %s", (target, spec, tool) => {
    const c = compiledFor(target, spec);
    const v = verdict(tool, c);
    let errors = v.errors;
    if (tool === "actionlint" && c.ir.maxActiveRuns !== null) {
      const pinned = /^ACTIONLINT_VERSION=(.+)$/m.exec(readFileSync(join(CONFORMANCE, "versions.env"), "utf8"))![1];
      expect(pinned, "actionlint's pin moved: check whether it reads `queue` and drop ACTIONLINT_QUEUE").toBe(ACTIONLINT_QUEUE.version);
      const known = errors.filter((e) => ACTIONLINT_QUEUE.error.test(e));
      expect(known, `${spec}: actionlint ${ACTIONLINT_QUEUE.version} no longer refuses \`queue\`: drop ACTIONLINT_QUEUE`).toHaveLength(1);
      errors = errors.filter((e) => !ACTIONLINT_QUEUE.error.test(e));
      expect(errors, `${spec} on ${target}: the runner refused the file`).toEqual([]);
      return;
    }
    expect(errors, `${spec} on ${target}: the runner refused the file`).toEqual([]);
    expect(v.ok).toBe(true);
  });
});

describe("every shared reusable workflow is accepted by GitHub's parser and actionlint", () => {
  const shared = byTarget("github-actions").flatMap((o) => (o.shared ?? []).map((file) => [o.spec, file.replace(/^.*\//, ""), file] as const));
  it("each GitHub Actions output has its shared workflows", () => {
    expect(
      byTarget("github-actions")
        .filter((o) => (o.shared ?? []).length === 0)
        .map((o) => o.spec),
    ).toEqual([]);
  });
  it.each(shared)("%s: %s", (_spec, _name, file) => {
    for (const tool of ["actionlint", "workflow-parser"]) {
      const v = reports.get(tool)?.files.find((f) => f.file === file);
      expect(v, `${tool} reported nothing for ${file}`).toBeDefined();
      expect(v!.errors, `${tool} refused ${file}`).toEqual([]);
    }
  });
});

describe("what each runner read is what the spec means", () => {
  it.each(byTarget("airflow").map((o) => [o.spec, o] as const))("airflow reads %s as the spec means", (spec, c) => {
    const m = new Mismatches(spec, "airflow");
    compareAirflow(m, c.ir, verdict("airflow", c).parsed, AIRFLOW_DATES, FIRE_FROM, FIRE_COUNT);
    compareAirflowExtras(m, c.ir, verdict("airflow", c).parsed, AIRFLOW_DATES);
    expect(m.lines).toEqual([]);
  });

  it.each(byTarget("argo").map((o) => [o.spec, o] as const))("argo reads %s as the spec means", (spec, c) => {
    const m = new Mismatches(spec, "argo");
    FIRE_FROM.forEach((from, i) =>
      compareArgo(m, c.ir, verdict(`argo#${i}`, c).parsed, [from], FIRE_COUNT, LOGICAL_DATES[i] ?? null, i === 0 ? (PROBES.get(c.file) ?? []) : []),
    );
    FIRE_FROM.forEach((_, i) => compareArgoExtras(m, c.ir, verdict(`argo#${i}`, c).parsed, LOGICAL_DATES[i] ?? null));
    expect([...new Set(m.lines)]).toEqual([]);
  });

  it.each(byTarget("tekton").map((o) => [o.spec, o] as const))("tekton reads %s as the spec means", (spec, c) => {
    const m = new Mismatches(spec, "tekton");
    FIRE_FROM.forEach((from, i) => compareTekton(m, c.ir, verdict(`tekton#${i}`, c).parsed, [from], FIRE_COUNT, LOGICAL_DATES[i] ?? null));
    FIRE_FROM.forEach((_, i) => compareTektonExtras(m, c.ir, verdict(`tekton#${i}`, c).parsed, LOGICAL_DATES[i] ?? null));
    expect([...new Set(m.lines)]).toEqual([]);
  });

  it.each(byTarget("github-actions").map((o) => [o.spec, o] as const))("github-actions reads %s as the spec means", (spec, c) => {
    const m = new Mismatches(spec, "github-actions");
    compareGithub(m, c.ir, verdict("workflow-parser", c).parsed, LOGICAL_DATES);
    compareGithubExtras(m, c.ir, verdict("workflow-parser", c).parsed, LOGICAL_DATES);
    expect(m.lines).toEqual([]);
  });
});

describe("a deliberately broken backend (one attempt too many) is caught by the runners", () => {
  // Dagster's broken module is caught by Dagster's own code in dagster.conformance.test.ts.
  it.each(drifted.filter((o) => o.target !== "dagster").map((o) => [o.target, o] as const))("%s", (target, c) => {
    const m = new Mismatches(c.spec, target);
    const parsed = verdict(`${target}-drift`, c).parsed;
    if (target === "airflow") compareAirflow(m, c.ir, parsed, AIRFLOW_DATES, [], 0);
    if (target === "argo") compareArgo(m, c.ir, parsed, [FIRE_FROM[0]!], 1, null);
    if (target === "tekton") compareTekton(m, c.ir, parsed, [FIRE_FROM[0]!], 1);
    if (target === "github-actions") compareGithub(m, c.ir, parsed);
    // For example: "specs/contract-3.2-job.yaml (broken backend) / argo / jobs.daily_sales_ingest.attempts: expected 3, runner read 4".
    expect(m.lines.some((l) => l.includes(`.${c.drift}: expected`))).toBe(true);
  });
});
