/**
 * What the golden folder must hold: every spec in `specs/` compiled for every target
 * (the output, or the target's refusal as diagnostics), what `explain` says of
 * every spec, every invalid spec in `test/invalid/` as its diagnostics (or, for one whose
 * first line is `# backfill --from DAY --to DAY`, those of that backfill), the `graph`
 * of every spec (Mermaid and DOT), and the `diff` of every pair in `test/diff/`
 * (text and JSON), and the `backfill` files of `BACKFILL_SPECS` over `BACKFILL_RANGE`. The golden test compares it with the disk; the
 * update command (`npm run golden:update`) writes it and deletes orphans.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { headerLinesFor, sealOutput } from "../src/header.js";
import { defaultOptions } from "../src/options.js";
import { FOLDER_FROM } from "../src/project.js";
import { TARGETS } from "../targets/index.js";
import type { Target } from "../targets/types.js";
import type { Workflow } from "../src/ir.js";
import type { Summary } from "../src/summary.js";
import { analyze, compileFor } from "../src/compile.js";
import { formatDiagnostic, type Diagnostic } from "../src/diagnostics.js";
import { PACKAGE_ROOT } from "../src/assets.js";
import { explainTargets, explainText } from "../src/explain.js";
import { usedFeatures } from "../src/features.js";
import { renderGraph } from "../src/graph.js";
import { diffJson, diffText, semanticDiff } from "../src/diff.js";
import { summarize } from "../src/summary.js";
import { backfillFiles, noPartitions, partitions } from "../src/backfill.js";

export const GOLDEN_DIR = join(PACKAGE_ROOT, "golden");

export function specFiles(dir = "specs"): string[] {
  return readdirSync(join(PACKAGE_ROOT, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => `${dir}/${f}`);
}

export function readSpec(rel: string): string {
  return readFileSync(join(PACKAGE_ROOT, rel), "utf8");
}

function stem(rel: string): string {
  return rel.replace(/^.*\//, "").replace(/\.ya?ml$/, "");
}

export function diagnosticsText(ds: readonly Diagnostic[]): string {
  return ds.map(formatDiagnostic).join("\n") + "\n";
}

/** Golden path (relative to golden/) to expected bytes. */
export function expectedGoldens(): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of specFiles()) {
    const a = analyze(spec, readSpec(spec));
    if (a.ir === null) throw new Error(`${spec} is invalid:\n${diagnosticsText(a.diagnostics)}`);
    for (const t of TARGETS) {
      const r = compileFor(a, t);
      if (r.output) out.set(`${t.name}/${stem(spec)}.${t.extension}`, r.output.text);
      else out.set(`${t.name}/${stem(spec)}.diagnostics.txt`, diagnosticsText(r.diagnostics));
    }
  }
  // Each target's folder files (GitHub Actions: the shared reusable workflows its goldens
  // call), as a compile of the whole project writes them with default options.
  for (const t of TARGETS) {
    if (t.folderFiles === undefined) continue;
    const entries = [...out.keys()]
      .filter((k) => k.startsWith(`${t.name}/`) && k.endsWith(`.${t.extension}`))
      .map((k) => k.slice(t.name.length + 1))
      .map((file) => ({ file, workflow: file.slice(0, -t.extension.length - 1) }));
    for (const f of t.folderFiles(entries, defaultOptions(t.options), headerLinesFor(t.name, FOLDER_FROM)))
      out.set(`${t.name}/${f.name}`, sealOutput(f.name, f.text));
  }
  for (const spec of specFiles()) {
    const a = analyze(spec, readSpec(spec));
    const used = usedFeatures(a.ir!);
    out.set(
      `explain/${stem(spec)}.txt`,
      explainText(
        a.ir!.name,
        spec,
        used,
        explainTargets(
          used,
          TARGETS,
          (t) => compileFor(a, t).diagnostics.filter((d) => d.severity === "error"),
          (t) => t.prerequisites?.(a.ir!) ?? [],
        ),
      ),
    );
  }
  for (const spec of specFiles("test/invalid")) {
    const text = readSpec(spec);
    const a = analyze(spec, text);
    // A valid spec whose mistake is in how it is backfilled names the range on its first line.
    const range = /^# backfill --from (\S+) --to (\S+)/.exec(text);
    if (a.ir !== null && range !== null) {
      const dates = partitions(a.ir, range[1]!, range[2]!);
      const found = !Array.isArray(dates) ? dates : dates.length === 0 ? noPartitions(a.ir, range[1]!, range[2]!) : null;
      out.set(`diagnostics/${stem(spec)}.txt`, found === null ? "(valid)\n" : diagnosticsText([a.spec.locate(found)]));
      continue;
    }
    out.set(`diagnostics/${stem(spec)}.txt`, a.ir === null ? diagnosticsText(a.diagnostics) : "(valid)\n");
  }
  for (const [rel, text] of graphGoldens()) out.set(rel, text);
  for (const [rel, text] of diffGoldens()) out.set(rel, text);
  for (const [rel, text] of backfillGoldens()) out.set(rel, text);
  return out;
}

/** Specs whose backfill has goldens: a daily cron in UTC, an unscheduled lone job, a daily cron in a zone with DST. */
export const BACKFILL_SPECS = ["specs/contract-7.1-cron.yaml", "specs/contract-3.2-job.yaml", "specs/dst-safe-schedule.yaml"] as const;
/** Three days across the 2024 European spring-forward (31 March). */
export const BACKFILL_RANGE = { from: "2024-03-30", to: "2024-04-01" } as const;

/** `backfill/<spec>.<target><suffix>` for each backfill spec and target that accepts it: the runs files and the ledger. */
export function backfillGoldens(): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of BACKFILL_SPECS) {
    const a = analyze(spec, readSpec(spec));
    if (a.ir === null) throw new Error(`${spec} is invalid:\n${diagnosticsText(a.diagnostics)}`);
    const dates = partitions(a.ir, BACKFILL_RANGE.from, BACKFILL_RANGE.to);
    if (!Array.isArray(dates)) throw new Error(`${spec}: ${dates.message}`);
    for (const t of TARGETS) {
      if (compileFor(a, t).output === null) continue;
      const prefix = `${t.name}/${a.ir.name}.backfill-${BACKFILL_RANGE.from}-${BACKFILL_RANGE.to}`;
      for (const f of backfillFiles(a.ir, t, t.name, BACKFILL_RANGE.from, BACKFILL_RANGE.to, dates, { ref: "main" })) {
        out.set(`backfill/${stem(spec)}.${t.name}${f.path.slice(prefix.length)}`, f.text);
      }
    }
  }
  return out;
}

/** `graph/<spec>.mmd` and `graph/<spec>.dot` for every spec in `specs/`. */
export function graphGoldens(): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of specFiles()) {
    const a = analyze(spec, readSpec(spec));
    if (a.ir === null) throw new Error(`${spec} is invalid:\n${diagnosticsText(a.diagnostics)}`);
    out.set(`graph/${stem(spec)}.mmd`, renderGraph(a.ir, "mermaid"));
    out.set(`graph/${stem(spec)}.dot`, renderGraph(a.ir, "dot"));
  }
  return out;
}

export const DIFF_DIR = "test/diff";

/** The pairs in `test/diff/`: `<pair>.old.yaml` and `<pair>.new.yaml`, by pair name. */
export function diffPairs(): { pair: string; old: string; new: string }[] {
  const files = specFiles(DIFF_DIR);
  const pairs = [...new Set(files.map((f) => stem(f).replace(/\.(old|new)$/, "")))].sort();
  return pairs.map((pair) => {
    const old = `${DIFF_DIR}/${pair}.old.yaml`;
    const now = `${DIFF_DIR}/${pair}.new.yaml`;
    if (!files.includes(old) || !files.includes(now)) throw new Error(`${DIFF_DIR}/${pair}: a diff pair is <pair>.old.yaml and <pair>.new.yaml`);
    return { pair, old, new: now };
  });
}

/** `diff/<pair>.txt` and `diff/<pair>.json` for every pair in `test/diff/`. */
export function diffGoldens(): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of diffPairs()) {
    const [a, b] = [p.old, p.new].map((f) => analyze(f, readSpec(f)));
    if (a!.ir === null || b!.ir === null) throw new Error(`${p.pair} is invalid:\n${diagnosticsText([...a!.diagnostics, ...b!.diagnostics])}`);
    const d = semanticDiff(p.old, summarize(a!.ir), p.new, summarize(b!.ir));
    out.set(`diff/${p.pair}.txt`, diffText(d));
    out.set(`diff/${p.pair}.json`, diffJson(d));
  }
  return out;
}

/** Every file under golden/, relative to it. */
export function goldenFilesOnDisk(dir = GOLDEN_DIR, prefix = ""): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? goldenFilesOnDisk(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`])).sort();
}

/** A target's reading of its output for `ir`: the output, followed by the manual run's file when the target writes one (`Target.run`). */
export function lifted(target: Target, ir: Workflow, text: string): Summary {
  return target.lift(withRun(target, ir, text));
}

/** The output followed by the manual run's file, when the target writes one. */
export function withRun(target: Target, ir: Workflow, text: string): string {
  return target.run === undefined ? text : text + target.run(ir);
}
