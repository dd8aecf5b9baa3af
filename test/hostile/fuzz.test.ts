/**
 * Issue 6, item 7: fuzzing the parser path. The specs in `specs/` are mutated (byte
 * flips, deletions, duplications, splices between specs, indentation changes, line
 * swaps, hostile insertions) for a bounded time budget and each mutant goes through
 * `analyze` and `compileFor` on every target: never a throw, never more than 2 s for
 * one input, and every diagnostic points at a line and column inside the file.
 *
 * Seeded: the seed is printed, `KFM_FUZZ_SEED` replays it, `KFM_FUZZ_MS` sets the
 * budget (default 5000). An input that breaks a rule is written to
 * `test/hostile/regressions/<digest>.yaml`, which the replay test runs every time.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { analyze, compileFor } from "../../src/compile.js";
import { TARGETS } from "../../targets/index.js";
import { readSpec, specFiles } from "../matrix.js";
import { diagnosticPositionsOk, HOSTILE_TOKENS } from "./arbitraries.js";

const REGRESSIONS = join(PACKAGE_ROOT, "test/hostile/regressions");
const PER_INPUT_MS = 2000;
const BUDGET_MS = process.env.KFM_FUZZ_MS ? Number(process.env.KFM_FUZZ_MS) : 5000;

/** Runs one input through the parser path; returns what went wrong, or null. */
export function probe(file: string, text: string): string | null {
  const started = performance.now();
  try {
    const analysis = analyze(file, text);
    const bad = diagnosticPositionsOk(text, analysis.diagnostics);
    if (bad !== null) return `analyze: ${bad}`;
    if (analysis.ir !== null) {
      for (const target of TARGETS) {
        const r = compileFor(analysis, target);
        const badT = diagnosticPositionsOk(text, r.diagnostics);
        if (badT !== null) return `${target.name}: ${badT}`;
        if (r.output === null && !r.diagnostics.some((d) => d.severity === "error")) return `${target.name}: no output and no error`;
      }
    }
  } catch (e) {
    return `threw: ${(e as Error).stack ?? String(e)}`;
  }
  const ms = performance.now() - started;
  return ms > PER_INPUT_MS ? `took ${Math.round(ms)} ms (bound ${PER_INPUT_MS} ms)` : null;
}

/** mulberry32: a small seeded PRNG, the same sequence on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function mutate(text: string, corpus: readonly string[], rnd: () => number): string {
  const int = (n: number): number => Math.floor(rnd() * n);
  const pos = (): number => int(text.length + 1);
  switch (int(8)) {
    case 0: {
      // Byte flip in the UTF-8 encoding, decoded leniently as a file read would be.
      const bytes = Buffer.from(text, "utf8");
      if (bytes.length === 0) return text;
      bytes[int(bytes.length)] ^= 1 << int(8);
      return bytes.toString("utf8");
    }
    case 1: {
      const a = pos();
      return text.slice(0, a) + text.slice(a + 1 + int(40));
    }
    case 2: {
      const a = pos();
      const b = Math.min(text.length, a + 1 + int(200));
      return text.slice(0, b) + text.slice(a, b) + text.slice(b);
    }
    case 3: {
      const other = corpus[int(corpus.length)]!;
      const a = int(other.length);
      return text.slice(0, pos()) + other.slice(a, a + int(300)) + text.slice(pos());
    }
    case 4: {
      const lines = text.split("\n");
      const i = int(lines.length);
      const d = int(5) - 2;
      lines[i] = d >= 0 ? " ".repeat(d + 1) + lines[i] : lines[i]!.replace(/^ {1,2}/, "");
      return lines.join("\n");
    }
    case 5: {
      const lines = text.split("\n");
      const i = int(lines.length);
      const j = int(lines.length);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join("\n");
    }
    case 6: {
      const a = pos();
      return text.slice(0, a) + HOSTILE_TOKENS[int(HOSTILE_TOKENS.length)] + text.slice(a);
    }
    default: {
      const a = pos();
      const cp = rnd() < 0.5 ? int(0x80) : int(0x110000);
      const ch = cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
      return text.slice(0, a) + ch + text.slice(a);
    }
  }
}

function save(text: string, why: string): string {
  mkdirSync(REGRESSIONS, { recursive: true });
  const name = createHash("sha256").update(text).digest("hex").slice(0, 16) + ".yaml";
  writeFileSync(join(REGRESSIONS, name), text);
  writeFileSync(join(REGRESSIONS, name.replace(/\.yaml$/, ".why.txt")), why + "\n");
  return name;
}

describe("fuzzing the parser path", () => {
  const corpus = specFiles().map(readSpec);

  it(
    "mutated specs never throw, hang or point outside the file",
    () => {
      const seed = process.env.KFM_FUZZ_SEED ? Number(process.env.KFM_FUZZ_SEED) : Date.now() & 0x7fffffff;
      const budget = BUDGET_MS;
      const rnd = prng(seed);
      const deadline = performance.now() + budget;
      let inputs = 0;
      let slowest = 0;
      const failures: string[] = [];
      while (performance.now() < deadline && failures.length < 3) {
        let text = corpus[Math.floor(rnd() * corpus.length)]!;
        const rounds = 1 + Math.floor(rnd() * 4);
        for (let k = 0; k < rounds; k++) text = mutate(text, corpus, rnd);
        const t0 = performance.now();
        const bad = probe("specs/fuzz.yaml", text);
        slowest = Math.max(slowest, performance.now() - t0);
        inputs++;
        if (bad !== null) failures.push(`${save(text, bad)}: ${bad.split("\n")[0]}`);
      }
      console.log(`fuzz: seed ${seed} (KFM_FUZZ_SEED), ${inputs} inputs in ${budget} ms, slowest ${Math.round(slowest)} ms`);
      expect(failures, `seed ${seed}: inputs saved under test/hostile/regressions/`).toEqual([]);
      expect(inputs).toBeGreaterThan(50);
    },
    BUDGET_MS + 60_000,
  );

  const kept = (existsSync(REGRESSIONS) ? readdirSync(REGRESSIONS) : []).filter((f) => f.endsWith(".yaml")).sort();
  it.each(kept.length > 0 ? kept : ["(none yet)"])("regression %s", (name) => {
    if (name === "(none yet)") return;
    expect(probe(`test/hostile/regressions/${name}`, readFileSync(join(REGRESSIONS, name), "utf8"))).toBeNull();
  });
});
