/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time per function and per
 * module (a node_modules package, a file of ours, or node's own internals), and the
 * inclusive time of our own top-level phases.
 *
 *   node dist/bench/profile.js FILE.cpuprofile [--top N]
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly byModule: { name: string; selfMs: number }[];
  readonly byFunction: { name: string; selfMs: number }[];
  readonly inclusive: { name: string; totalMs: number }[];
}

/** The module a frame belongs to: `yaml`, `ajv`, `dist/src/spec/load.js`, `(node)`, `(gc)`. */
function moduleOf(url: string, fn: string): string {
  if (fn === "(garbage collector)") return "(gc)";
  if (fn === "(program)" || fn === "(idle)" || fn === "(root)") return `(${fn.replace(/[()]/g, "")})`;
  if (url === "") return "(native)";
  if (url.startsWith("node:")) return "(node internals)";
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const d = url.indexOf("/dist/");
  return d >= 0 ? url.slice(d + 1) : url.replace(/^file:\/\//, "");
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) return url.slice(nm + "/node_modules/".length);
  const d = url.indexOf("/dist/");
  return d >= 0 ? url.slice(d + 1) : url.replace(/^file:\/\//, "");
}

/**
 * Frames in the bundle of the CLI (dist/kfm-compile.js, scripts/bundle.ts) given the URL
 * of the module they came from: in the bundle, each module's code follows a comment
 * naming it relative to the package root (`// dist/src/lower.js`). Line numbers stay
 * those of the bundle.
 */
function unbundle(p: Profile): void {
  const regions = new Map<string, { line: number; url: string }[]>();
  const regionsOf = (url: string) => {
    let r = regions.get(url);
    if (r === undefined) {
      const root = url.slice(0, url.lastIndexOf("/dist/") + 1);
      r = [];
      readFileSync(new URL(url), "utf8")
        .split("\n")
        .forEach((text, line) => {
          const m = /^\/\/ (\S+\.[cm]?js)$/.exec(text);
          if (m) r!.push({ line, url: root + m[1] });
        });
      regions.set(url, r);
    }
    return r;
  };
  for (const n of p.nodes) {
    const f = n.callFrame;
    if (!f.url.startsWith("file://") || !f.url.endsWith("/dist/kfm-compile.js")) continue;
    let region: string | undefined;
    for (const r of regionsOf(f.url)) if (r.line <= f.lineNumber) region = r.url;
    if (region !== undefined) f.url = region;
  }
}

export function summarise(path: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(path, "utf8")) as Profile;
  unbundle(p);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  const mod = new Map<string, number>();
  const fn = new Map<string, number>();
  // Inclusive time of each of our own functions (counted once per sample even when recursive).
  const incl = new Map<string, number>();
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const m = moduleOf(n.callFrame.url, n.callFrame.functionName);
    mod.set(m, (mod.get(m) ?? 0) + ms);
    const name = `${n.callFrame.functionName || "(anonymous)"} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    fn.set(name, (fn.get(name) ?? 0) + ms);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!/\/dist\/(src|targets)\//.test(f.url) || f.functionName === "") continue;
      const k = `${f.functionName} ${shortUrl(f.url)}`;
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + ms);
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    totalMs: (p.endTime - p.startTime) / 1000,
    byModule: sorted(mod).map(([name, selfMs]) => ({ name, selfMs })),
    byFunction: sorted(fn).map(([name, selfMs]) => ({ name, selfMs })),
    inclusive: sorted(incl).map(([name, totalMs]) => ({ name, totalMs })),
  };
}

export function formatSummary(s: ProfileSummary): string {
  const pct = (ms: number) => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%`;
  const line = (ms: number, name: string) => `  ${ms.toFixed(0).padStart(7)} ms ${pct(ms)}  ${name}`;
  return [
    `profile: ${s.totalMs.toFixed(0)} ms sampled`,
    "self time by module:",
    ...s.byModule.map((r) => line(r.selfMs, r.name)),
    "self time by function:",
    ...s.byFunction.map((r) => line(r.selfMs, r.name)),
    "inclusive time of kfm-compile's own functions:",
    ...s.inclusive.map((r) => line(r.totalMs, r.name)),
  ].join("\n");
}

if (process.argv[1] && /profile\.[jt]s$/.test(process.argv[1])) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: node dist/bench/profile.js FILE.cpuprofile [--top N]\n");
    process.exit(2);
  }
  const t = process.argv.indexOf("--top");
  process.stdout.write(formatSummary(summarise(file, t > 0 ? Number(process.argv[t + 1]) : 15)) + "\n");
}
