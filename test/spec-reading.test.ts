/**
 * Issue 7: reading specs fast, with exact positions only when needed (src/spec/load.ts).
 * A valid spec is read by the fast reader alone, numbers keep the text they were
 * written with, a problem is placed by the exact reader (run once, on first need), and
 * everything the two readers could read differently is left to the exact one.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { readSpec } from "../src/cli/common.js";
import { analyze } from "../src/compile.js";
import { problem } from "../src/diagnostics.js";
import { MAX_NESTING_DEPTH, MAX_SPEC_BYTES, MAX_YAML_TOKENS } from "../src/limits.js";
import { exactReaderRuns, loadSpec, readExact, readFast } from "../src/spec/load.js";

const NUMBERS = `job:
  name: a
  image: "x:1"
  env:
    MODE: 0755
    BIG: 1e3
    HEX: 0x1F
    OCT: 0o17
    YES: True
    HALF: .50
    MINUS_ZERO: -0
  params:
    p: 007
  resources: {cpu: 0.50, memory: 512Mi}
`;

describe("reading a spec (src/spec/load.ts)", () => {
  it("reads a valid spec without the exact reader, keeping numbers and booleans as written", () => {
    const runs = exactReaderRuns();
    const a = analyze("numbers.yaml", NUMBERS);
    expect(a.diagnostics).toEqual([]);
    const env = Object.fromEntries(a.ir!.jobs[0]!.env.map((e) => [e.name, "value" in e ? e.value : null]));
    expect(env).toMatchObject({
      MODE: [{ text: "0755" }],
      BIG: [{ text: "1e3" }],
      HEX: [{ text: "0x1F" }],
      OCT: [{ text: "0o17" }],
      YES: [{ text: "True" }],
      HALF: [{ text: ".50" }],
      MINUS_ZERO: [{ text: "-0" }],
    });
    expect(a.ir!.jobs[0]!.resources.cpu).toBe("0.50");
    expect(exactReaderRuns()).toBe(runs);
  });

  it("gives the exact reader's source for every number and boolean, and nothing elsewhere", () => {
    const fast = readFast(NUMBERS)!;
    const exact = readExact("numbers.yaml", NUMBERS);
    const paths = [
      ...["MODE", "BIG", "HEX", "OCT", "YES", "HALF", "MINUS_ZERO"].map((k) => ["job", "env", k]),
      ["job", "params", "p"],
      ["job", "resources", "cpu"],
    ];
    for (const path of paths) {
      expect(fast.scalarSource(path), path.join(".")).toBe(exact.scalarSource(path));
      expect(fast.scalarSource(path), path.join(".")).toBeDefined();
    }
    // Strings, missing paths, collections and paths through a scalar have no source in either reader.
    for (const path of [["job", "name"], ["job", "env", "NOPE"], ["job", "env"], ["job", "env", "MODE", "x"], [], ["job", "resources", 0]]) {
      expect(fast.scalarSource(path), JSON.stringify(path)).toBeUndefined();
      expect(exact.scalarSource(path), JSON.stringify(path)).toBeUndefined();
    }
    expect(Object.is((fast.data.job as { env: Record<string, unknown> }).env.MINUS_ZERO, -0)).toBe(true);
  });

  it("pairs sources with values in a sequence and in mappings after it, in document order", () => {
    const text = "job:\n  args: [1, 2.0, true]\n  env: {A: 010, B: [x, 0x10]}\n  last: 1e2\n";
    const fast = readFast(text)!;
    expect(fast.scalarSource(["job", "args", 1])).toBe("2.0");
    expect(fast.scalarSource(["job", "args", 2])).toBe("true");
    expect(fast.scalarSource(["job", "args", "1"])).toBeUndefined();
    expect(fast.scalarSource(["job", "env", "A"])).toBe("010");
    expect(fast.scalarSource(["job", "env", "B", 1])).toBe("0x10");
    expect(fast.scalarSource(["job", "last"])).toBe("1e2");
  });

  it("places problems with the exact reader, run once for all of them", () => {
    const text =
      "workflow:\n  name: w\n  jobs:\n    - job: {name: a, image: 'x:1'}\n      depends_on: [b]\n    - job: {name: c, image: 'x:1'}\n      depends_on: [d]\n";
    const runs = exactReaderRuns();
    const spec = loadSpec("w.yaml", text);
    expect(exactReaderRuns()).toBe(runs);
    const a = spec.locate(problem("KFM201", "unknown", ["workflow", "jobs", 0, "depends_on", 0]));
    const b = spec.locate(problem("KFM201", "unknown", ["workflow", "jobs", 1, "depends_on", 0]));
    const key = spec.locate(problem("KFM101", "key", ["workflow", "jobs"], true));
    expect([a.line, a.column, b.line, b.column, key.line, key.column]).toEqual([5, 20, 7, 20, 3, 3]);
    expect(exactReaderRuns()).toBe(runs + 1);
    // The same places as the exact reader alone gives.
    const exact = readExact("w.yaml", text);
    expect(exact.locate(problem("KFM201", "unknown", ["workflow", "jobs", 1, "depends_on", 0]))).toEqual(b);
  });

  it("places a problem at the top of a large spec from its first lines, and one at its end from the whole", () => {
    const jobs = Array.from(
      { length: 3000 },
      (_, i) => `    - job:\n        name: j${i}\n        image: "x:1"\n      depends_on: [${i === 0 ? "" : `j${i - 1}`}]\n`,
    );
    const text = `workflow:\n  name: w\n  jobs:\n${jobs.join("")}`;
    const whole = readExact("big.yaml", text);
    const top = problem("KFM302", "too big", ["workflow", "jobs"], true);
    const end = problem("KFM201", "unknown", ["workflow", "jobs", 2999, "depends_on", 0]);
    const spec = loadSpec("big.yaml", text);
    const runs = exactReaderRuns();
    expect(spec.locate(top)).toEqual(whole.locate(top));
    expect(spec.locate(top)).toMatchObject({ line: 3, column: 3 });
    expect(exactReaderRuns(), "the first part alone").toBe(runs + 1);
    expect(spec.locate(end)).toEqual(whole.locate(end));
    expect(spec.locate(end).line).toBe(3 + 4 * 3000);
    expect(spec.locate(top)).toEqual(whole.locate(top));
  }, 30_000);

  it(`places problems in a valid spec over the exact reader's ${MAX_YAML_TOKENS} tokens from its start, and past that on the first line`, () => {
    const items = Math.ceil(MAX_YAML_TOKENS / 4);
    const text = `workflow:\n  name: w\n  junk:\n${"    - 1\n".repeat(items)}`;
    expect(readExact("big.yaml", text).diagnostics).toMatchObject([{ code: "KFM008" }]);
    const spec = loadSpec("big.yaml", text);
    expect(spec.diagnostics).toEqual([]);
    expect(spec.locate(problem("KFM101", "m", ["workflow", "name"]))).toMatchObject({ line: 2, column: 9 });
    expect(spec.locate(problem("KFM101", "m", ["workflow", "junk", items - 1]))).toMatchObject({ line: 1, column: 1 });
    // Reading 750,000 tokens takes about 3 s on the 2-core CI machine: the bound is a guard
    // against a hang, not a measure of speed (npm run bench measures).
  }, 30_000);

  it("reports a problem in a valid spec with the severity it has", () => {
    const spec = loadSpec("w.yaml", "workflow:\n  name: w\n");
    expect(spec.locate({ ...problem("KFM216", "note", ["workflow", "name"]), severity: "warning" })).toMatchObject({ severity: "warning", line: 2 });
  });

  it.each([
    ["an anchor and an alias", "job: {name: &n a, image: *n}\n"],
    ["an alias bomb", `a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n`],
    ["an explicit tag", "job: {name: !!str 1, image: x}\n"],
    ["a non-specific tag", "job: {name: ! 1, image: x}\n"],
    ["a local tag", "job: !thing {name: a}\n"],
    ["a directive", "%YAML 1.1\n---\njob: {name: on}\n"],
    ["an explicit key", "job:\n  ? name\n  : a\n"],
    ["a flow sequence as a key", "job:\n  [a, b]: 1\n"],
    ["a flow mapping as a key in a flow mapping", "job: {name: a, {x: 1}}\n"],
    ["a number as a key", "job: {1: a}\n"],
    ["a float as a key", "job: {1.0: a}\n"],
    ["null as a key", "job: {~: a}\n"],
    ["an empty key", "job: {: a}\n"],
    ["true as a key", "job: {true: a}\n"],
    ["an integer-like quoted key", 'job: {"0": a, b: 1}\n'],
    ["a key named __proto__", 'job: {"__proto__": {a: 1}}\n'],
    ["a long key", `job: {${"k".repeat(65)}: a}\n`],
    ["a tab", "job:\n\tname: a\n"],
    ["a bare carriage return", "job:\r  name: a\n"],
    ["a byte order mark inside", "job:\n  name: \ufeffa\n"],
    ["content on the document start line", "--- job: {name: a}\n"],
    ["an indentation indicator", "job:\n  description: |2\n     x\n"],
    ["keep chomping", "job:\n  description: |+\n    x\n\n"],
    ["a block scalar starting with a blank line more indented than its text", "job:\n  description: |\n      \n    x\n"],
    ["a comment right after a quote", 'job: {name: "a"#c\n  }\n'],
    ["an empty sequence entry", "job:\n  args:\n  -\n  - a\n"],
    ["a \\U escape", 'job: {name: "\\U0001F600"}\n'],
    ["an escaped line break before an empty line", 'job: {name: "a\\\n\n  b"}\n'],
    ["an empty file", ""],
    ["comments only", "# nothing\n"],
    ["two documents", "job: {name: a}\n---\njob: {name: b}\n"],
    ["a sequence at the top", "- job: {name: a}\n"],
    ["a scalar at the top", "job\n"],
    ["a duplicate key", "job:\n  name: a\n  name: b\n"],
    ["broken YAML", "job: {name: a\n"],
    ["nesting past the bound", `workflow: ${"[".repeat(MAX_NESTING_DEPTH)}${"]".repeat(MAX_NESTING_DEPTH)}\n`],
  ])("leaves %s to the exact reader, which gives the answer", (_label, text) => {
    expect(readFast(text)).toBeNull();
    const spec = loadSpec("s.yaml", text);
    const exact = readExact("s.yaml", text);
    expect(spec.diagnostics).toEqual(exact.diagnostics);
    expect(spec.data).toEqual(exact.data);
  });

  it("reads nesting up to the bound", () => {
    const text = `workflow: ${"[".repeat(MAX_NESTING_DEPTH - 1)}${"]".repeat(MAX_NESTING_DEPTH - 1)}\n`;
    expect(readFast(text)).not.toBeNull();
    expect(readExact("s.yaml", text).diagnostics).toEqual([]);
  });

  it("leaves a scalar at the deepest level to the exact reader, which reads it", () => {
    const text = `workflow: ${"[".repeat(MAX_NESTING_DEPTH - 1)}1${"]".repeat(MAX_NESTING_DEPTH - 1)}\n`;
    expect(readFast(text)).toBeNull();
    expect(loadSpec("s.yaml", text).diagnostics).toEqual([]);
  });

  it("resolves plain scalars as the yaml package's core schema does (YAML 1.2), where the fast reader reads them", () => {
    const words = [
      ...["~", "null", "Null", "NULL", "nULL", "true", "True", "TRUE", "tRUE", "false", "False", "FALSE", "yes", "on", "off", "y", "n"],
      ...["0", "-0", "+0", "00", "0755", "+12", "-12", "123456789012345678901234567890", "9007199254740993", "1_000", "0b101", "0o17", "0O17", "0o8"],
      ...["0x1F", "0X1F", "0xg", "0x", "1.5", "-1.5", "+.5", ".5", "5.", "-5.", "1.50", "1e3", "1E3", "1e+3", "1.5e-3", "-.5e3", "1e", "e3", ".e3"],
      ...["1e400", "-1e400", "1.2.3", ".inf", ".Inf", ".INF", "-.inf", "+.inf", ".iNf", "inf", "Infinity", ".nan", ".NaN", ".NAN", "NaN", "-.nan"],
      ...["2001-12-14", "12:30:45", "1:20", "=", "<<", "a", "0755a", "1 2", "-", "+", "."],
    ];
    let read = 0;
    for (const w of words) {
      const fast = readFast(`v: ${w}\n`);
      if (fast === null) continue;
      read++;
      const expected = (YAML.parse(`v: ${w}\n`) as { v: unknown }).v;
      expect(Object.is(fast.data.v, expected), `${w}: ${String(fast.data.v)} vs ${String(expected)}`).toBe(true);
    }
    expect(read).toBeGreaterThan(words.length - 5);
  });
});

describe("reading a spec file (src/cli/common.ts readSpec)", () => {
  const dir = mkdtempSync(join(tmpdir(), "kfm-read-"));

  it("reads a file of exactly the size bound, and refuses one byte more", () => {
    const at = join(dir, "at.yaml");
    writeFileSync(at, "#".repeat(MAX_SPEC_BYTES - 1) + "\n");
    expect(readSpec(at)).toHaveLength(MAX_SPEC_BYTES);
    const over = join(dir, "over.yaml");
    writeFileSync(over, "#".repeat(MAX_SPEC_BYTES) + "\n");
    expect(readSpec(over)).toMatchObject({ code: "KFM008" });
  });

  it("reads small and empty files whole", () => {
    for (const text of ["", "a", "job: {name: a}\n", "é".repeat(1000)]) {
      const path = join(dir, "small.yaml");
      writeFileSync(path, text);
      expect(readSpec(path)).toBe(text);
    }
  });

  it.skipIf(process.platform !== "linux")("reads on past the size fstat gives, as for a file that grew (a /proc file says 0 bytes)", () => {
    const text = readSpec("/proc/self/status");
    expect(typeof text === "string" && text.includes("Pid:")).toBe(true);
  });
});
