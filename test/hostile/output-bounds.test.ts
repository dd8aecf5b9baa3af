// Issue 12, item 1: bounded output. The input bounds (src/limits.ts) do not bound what a
// spec expands to: `{{ params.p }}` names a whole parameter, and each runtime variable
// becomes an expression on some runners. Every command reading a spec is run here as the
// built CLI in a child process whose heap is capped at STATED_HEAP_MB, on specs within the
// input bound that expand past the output bounds: each must end with a KFM009 diagnostic
// (or the runner's own KFM302), no stack trace, within STATED_TIME_MS of CPU time and without running
// out of memory. Properties then check the bounds on random specs whose references multiply.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { TARGETS } from "../../targets/index.js";
import { analyze, compileFor } from "../../src/compile.js";
import { specTemplates, templateChars } from "../../src/expansion.js";
import { MAX_EXPANDED_CHARS, MAX_SPEC_BYTES, MAX_VALUE_CHARS, STATED_HEAP_MB, STATED_TIME_MS } from "../../src/limits.js";
import { escapeCodePoints, escapedLength } from "../../targets/python.js";
import { buildPackage } from "../files.js";
import { fileSafeText, propertyParams, specTemplate, specYaml, templateOf } from "./arbitraries.js";

const PACKAGE = mkdtempSync(join(tmpdir(), "kfm-package-"));
const CLI = join(PACKAGE, "bin/kfm-compile.js");
const DIR = mkdtempSync(join(tmpdir(), "kfm-output-bounds-"));

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

// The CLI process reports its own CPU time (every thread: user + system) when it exits:
// the bound is on what the input costs, which a busy machine's wall clock would blur.
const CPU_PRELOAD = join(DIR, "cpu.mjs");
writeFileSync(
  CPU_PRELOAD,
  `import { writeFileSync } from "node:fs";
process.on("exit", () => { const u = process.cpuUsage(); writeFileSync(process.env.KFM_CPU_FILE, String((u.user + u.system) / 1000)); });
`,
);
let cpuFiles = 0;

/** The built CLI with the stated heap, in DIR; `ms` is its CPU time. */
function cli(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    const cpuFile = join(DIR, `cpu-${cpuFiles++}.txt`);
    const child = spawn(process.execPath, [`--max-old-space-size=${STATED_HEAP_MB}`, "--import", pathToFileURL(CPU_PRELOAD).href, CLI, ...args], {
      cwd: DIR,
      env: { ...process.env, KFM_CPU_FILE: cpuFile },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => done({ status, stdout, stderr, ms: existsSync(cpuFile) ? Number(readFileSync(cpuFile, "utf8")) : Infinity }));
  });
}

/** A one-job spec with the given params and args, written as JSON-quoted YAML. */
function jobSpec(file: string, params: Record<string, string>, args: readonly string[]): string {
  const ps = Object.entries(params)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}\n`)
    .join("");
  const text = `job:\n  name: j\n  image: "x:1"\n  params:\n${ps || "    none: x\n"}  args:\n${args.map((a) => `    - ${JSON.stringify(a)}\n`).join("")}`;
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_SPEC_BYTES);
  writeFileSync(join(DIR, file), text);
  return file;
}

/** The bound every run is held to: the status, no stack trace or crash, in time. */
function expectBounded(r: Run, status: 0 | 1): void {
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(r.stderr).not.toMatch(/heap out of memory|RangeError|Invalid string length/);
  expect(r.status, r.stderr.slice(0, 2000)).toBe(status);
  expect(r.ms).toBeLessThan(STATED_TIME_MS);
}

const refs = (n: number) => "{{ params.p }}".repeat(n);

describe("bounded output on hostile input (src/limits.ts, Output bounds)", { timeout: 300_000 }, () => {
  beforeAll(() => {
    buildPackage(PACKAGE);
    mkdirSync(join(DIR, "out"), { recursive: true });
  }, 300_000);

  it("given one value naming a 100,000-character parameter 6,000 times (a 184 KB spec), then every command refuses it at the value (KFM009)", async () => {
    // Today: `RangeError: Invalid string length` and a stack trace, on every target.
    const spec = jobSpec("multiplied.yaml", { p: "A".repeat(100_000) }, [refs(6000)]);
    const expected =
      /^multiplied\.yaml:7:7: error KFM009: This value expands to 600,000,000 characters, more than the 1,048,576 one value may have \(src\/limits\.ts\)\. `params\.p` \(100,000 characters\) is used 6,000 times in it\./m;
    const runs: Array<[string, string[]]> = [
      ...TARGETS.map((t): [string, string[]] => [`compile ${t.name}`, [spec, "--target", t.name, "--out", "out"]]),
      ["validate", ["validate", spec]],
      ["check", ["check", spec, "--target", "all", "--out", "out"]],
      ["explain", ["explain", spec]],
      ["graph", ["graph", spec]],
      ["diff", ["diff", spec, spec]],
      ["backfill", ["backfill", spec, "--target", "all", "--out", "out", "--from", "2024-01-01", "--to", "2024-01-02"]],
    ];
    for (const [label, args] of runs) {
      const r = await cli(...args);
      expectBounded(r, 1);
      expect(r.stderr, label).toMatch(expected);
    }
  });

  it("given 2,000 values each just within the value bound (a 400 KB spec), then the value that takes the workflow past its bound is refused (KFM009)", async () => {
    // Today: about 2 billion characters, out of memory under a 512 MB heap.
    const spec = jobSpec(
      "many-values.yaml",
      { p: "A".repeat(100_000) },
      Array.from({ length: 2000 }, () => refs(10)),
    );
    const r = await cli(spec, "--target", "all", "--out", "out");
    expectBounded(r, 1);
    const perValue = 1_000_000;
    const line = 7 + Math.floor(MAX_EXPANDED_CHARS / perValue);
    expect(r.stderr).toMatch(
      new RegExp(
        `^many-values\\.yaml:${line}:7: error KFM009: With this value \\(1,000,000 characters\\) the values of this workflow expand to more than the 8,388,608 characters a workflow may have`,
        "m",
      ),
    );
    // Said once, not for each of the 1,990 values after it.
    expect(r.stderr.match(/KFM009/g)).toHaveLength(1);
  });

  it("given 4.2 MB of `{{ ds }}` in one value, then it is refused at the value (KFM009) before any runner's expression is built", async () => {
    // Today: a 93 MB Argo file, with only a warning.
    const spec = jobSpec("ds.yaml", {}, ["{{ ds }}".repeat(525_000)]);
    const r = await cli(spec, "--target", "all", "--out", "out");
    expectBounded(r, 1);
    expect(r.stderr).toMatch(/^ds\.yaml:7:7: error KFM009: This value expands to 5,250,000 characters, more than the 1,048,576 one value may have/m);
  });

  it("given 4.2 MB of `{{ ds }}` spread over values within the bounds, then argo refuses the file before building it, and the targets it fits build it", async () => {
    const spec = jobSpec(
      "ds-spread.yaml",
      {},
      Array.from({ length: 6 }, () => "{{ ds }}".repeat(87_500)),
    );
    const argo = await cli(spec, "--target", "argo", "--out", "out");
    expectBounded(argo, 1);
    expect(argo.stderr).toMatch(
      /^ds-spread\.yaml:1:1: error KFM009: The argo file for this workflow would be at least [\d,]+ bytes, more than the 33,554,432 \(32 MiB\) any output file may be \(src\/limits\.ts\)\. The values of this job are the largest part of it \(5,250,000 characters\)\./m,
    );
    // GitHub's 500 KB limit, decided before the file is built too.
    const github = await cli(spec, "--target", "github-actions", "--out", "out");
    expectBounded(github, 1);
    expect(github.stderr).toMatch(/error KFM302: The github-actions file for this workflow is at least/);
    for (const t of ["airflow", "tekton"]) expectBounded(await cli(spec, "--target", t, "--out", "out"), 0);
  });

  it("given values near the workflow bound of characters Airflow escapes (astral emoji, 10 bytes each), then airflow refuses before building, within the heap", async () => {
    const spec = jobSpec(
      "astral.yaml",
      { p: "\u{1F600}".repeat(50_000) },
      Array.from({ length: 8 }, () => refs(10)),
    );
    const r = await cli(spec, "--target", "airflow", "--out", "out");
    expectBounded(r, 1);
    expect(r.stderr).toMatch(/error KFM009: The airflow file for this workflow would be at least 40,000,000 bytes/);
  });

  it.each([
    ["dollars (doubled for Kubernetes)", "$".repeat(100_000)],
    ["quotes, backslashes and braces", `'"\\{`.repeat(25_000)],
  ])("given 8 million characters of %s, within every bound, then each target writes its file in time and within the heap", async (label, p) => {
    // Today (before one-replace escaping), Airflow took 14 s and 600 MB on the dollars.
    const spec = jobSpec(
      `escapes-${label.split(" ")[0]}.yaml`,
      { p },
      Array.from({ length: 8 }, () => refs(10)),
    );
    for (const t of ["airflow", "argo", "tekton"]) expectBounded(await cli(spec, "--target", t, "--out", "out"), 0);
    const github = await cli(spec, "--target", "github-actions", "--out", "out");
    expectBounded(github, 1);
    expect(github.stderr).toMatch(/error KFM302: The github-actions file for this workflow is at least/);
    // Every target in one process: explain compiles each (GitHub Actions refuses, hence 1).
    expectBounded(await cli("explain", spec), 1);
  });

  it("accepts a value of exactly the value bound", async () => {
    const spec = jobSpec("at-bound.yaml", { p: "A".repeat(MAX_VALUE_CHARS / 4) }, [refs(4)]);
    expectBounded(await cli("validate", spec), 0);
  });
});

describe("expansion bounds on random specs whose references multiply", () => {
  it("refuses a spec exactly when a value or the workflow expands past its bound, counted without building it", () => {
    const paramOf = fc.record({ chars: fc.integer({ min: 0, max: 60_000 }), variables: fc.integer({ min: 0, max: 3 }) });
    const valueOf = (names: number) =>
      fc.array(fc.oneof(fc.integer({ min: 0, max: names - 1 }), fc.constantFrom("text", "{{ ts }}")), { minLength: 1, maxLength: 60 });
    const arb = fc
      .integer({ min: 1, max: 3 })
      .chain((names) =>
        fc.record({ params: fc.array(paramOf, { minLength: names, maxLength: names }), values: fc.array(valueOf(names), { minLength: 1, maxLength: 12 }) }),
      );
    fc.assert(
      fc.property(arb, ({ params, values }) => {
        const paramText = params.map((p) => "a".repeat(p.chars) + "{{ ds }}".repeat(p.variables));
        const paramChars = params.map((p) => p.chars + 10 * p.variables);
        const valueText = values.map((v) => v.map((x) => (typeof x === "number" ? `{{ params.p${x} }}` : x)).join(""));
        const valueChars = values.map((v) => v.reduce<number>((n, x) => n + (typeof x === "number" ? paramChars[x]! : x === "text" ? 4 : 25), 0));
        const spec = specYaml({
          job: { name: "j", image: "x:1", params: Object.fromEntries(paramText.map((t, i) => [`p${i}`, t])), args: valueText },
        });
        // The arithmetic the bound promises: a value over MAX_VALUE_CHARS, or the running total over MAX_EXPANDED_CHARS.
        let total = 0;
        let refused = false;
        for (const c of valueChars) {
          if (c > MAX_VALUE_CHARS) refused = true;
          else if ((total += c) > MAX_EXPANDED_CHARS) refused = true;
        }
        const a = analyze("multiply.yaml", spec);
        const codes = a.diagnostics.filter((d) => d.severity === "error").map((d) => d.code);
        expect(codes.every((c) => c === "KFM009")).toBe(true);
        expect(codes.length > 0).toBe(refused);
        if (a.ir !== null) {
          const sizes = [...specTemplates(a.ir)].map(templateChars);
          for (const s of sizes) expect(s).toBeLessThanOrEqual(MAX_VALUE_CHARS);
          expect(sizes.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(MAX_EXPANDED_CHARS);
          expect(a.ir.jobs[0]!.args!.map(templateChars)).toEqual(valueChars);
        }
      }),
      propertyParams(60),
    );
  }, 120_000);

  it("never puts a target's lower bound on its output above what it writes, for hostile text and variables, so no file that fits is refused", () => {
    const text = fileSafeText;
    fc.assert(
      fc.property(fc.array(templateOf(text), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 2 }), (args, style) => {
        const spec = specYaml({
          workflow: {
            name: "w",
            schedule: { cron: "0 * * * *" },
            jobs: [{ job: { name: "j", image: "x:1", args: args.map((t) => specTemplate(t, style)), env: { V: specTemplate(args[0]!, style) } } }],
          },
        });
        const a = analyze("w.yaml", spec);
        if (a.ir === null) return;
        for (const target of TARGETS) {
          if (target.check(a.ir).some((p) => p.severity === "error")) continue;
          expect(target.minimumBytes!(a.ir), target.name).toBeLessThanOrEqual(Buffer.byteLength(target.emit(a.ir)));
          expect(compileFor(a, target).diagnostics.some((d) => d.code === "KFM009")).toBe(false);
        }
      }),
      propertyParams(150),
    );
  }, 120_000);

  it("counts Airflow's escaped length exactly as it escapes", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.constantFrom("'" as const, '"' as const), (s, q) => {
        expect(escapedLength(s, q)).toBe(escapeCodePoints(s, q).length);
      }),
      propertyParams(300),
    );
  });
});
