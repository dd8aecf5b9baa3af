/**
 * What the golden folder must hold: every spec in `specs/` compiled for every target
 * (the output, or the target's refusal as diagnostics), what `explain` says of
 * every spec, every invalid spec in `test/invalid/` as its diagnostics, the `graph`
 * of every spec (Mermaid and DOT), and the `diff` of every pair in `test/diff/`
 * (text and JSON). The golden test compares it with the disk; the
 * update command (`npm run golden:update`) writes it and deletes orphans.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TARGETS } from "../targets/index.js";
import { analyze, compileFor } from "../src/compile.js";
import { formatDiagnostic, type Diagnostic } from "../src/diagnostics.js";
import { PACKAGE_ROOT } from "../src/assets.js";
import { explainTargets, explainText } from "../src/explain.js";
import { usedFeatures } from "../src/features.js";
import { renderGraph } from "../src/graph.js";
import { diffJson, diffText, semanticDiff } from "../src/diff.js";
import { summarize } from "../src/summary.js";

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
  for (const spec of specFiles()) {
    const a = analyze(spec, readSpec(spec));
    const used = usedFeatures(a.ir!);
    out.set(
      `explain/${stem(spec)}.txt`,
      explainText(
        a.ir!.name,
        spec,
        used,
        explainTargets(used, TARGETS, (t) => compileFor(a, t).diagnostics.filter((d) => d.severity === "error")),
      ),
    );
  }
  for (const spec of specFiles("test/invalid")) {
    const a = analyze(spec, readSpec(spec));
    out.set(`diagnostics/${stem(spec)}.txt`, a.ir === null ? diagnosticsText(a.diagnostics) : "(valid)\n");
  }
  for (const [rel, text] of graphGoldens()) out.set(rel, text);
  for (const [rel, text] of diffGoldens()) out.set(rel, text);
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
