// Issue 11, item 5: numbers too large for any field, anywhere, are diagnostics, never a
// crash (`max_attempts: 4294967296` ended in "Fatal JavaScript invalid size error",
// exit 133) and never a silent change of meaning (`timeout: 30000000000000d` became
// "no timeout"). Huge integers and huge durations go into every numeric field of one
// spec, through the library API (many runs) and the CLI as a process (a few).
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TARGETS } from "../../targets/index.js";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { analyze, compileFor } from "../../src/compile.js";
import { diagnosticPositionsOk, propertyParams } from "./arbitraries.js";

/** Every numeric field of the format, with a valid value, and whether a huge value must be refused there. */
const FIELDS = {
  workflowTimeout: { value: "6h", kind: "duration" },
  maxActiveRuns: { value: "2", kind: "count" },
  interval: { value: "1h", kind: "duration" },
  dependencyTimeout: { value: "2h", kind: "duration" },
  jobTimeout: { value: "30m", kind: "duration" },
  cpu: { value: "1", kind: "free" },
  memory: { value: "1Gi", kind: "free" },
  env: { value: "3", kind: "free" },
  param: { value: "7", kind: "free" },
  maxAttempts: { value: "3", kind: "count" },
  delay: { value: "1m", kind: "duration" },
  multiplier: { value: "2", kind: "count" },
  maxDelay: { value: "10m", kind: "duration" },
  approvalTimeout: { value: "1d", kind: "duration" },
} as const;
type Field = keyof typeof FIELDS;

function spec(values: Partial<Record<Field, string>>): { text: string; lines: Record<Field, number> } {
  const v = (f: Field) => values[f] ?? FIELDS[f].value;
  const rows: [string, Field | null][] = [
    ["workflow:", null],
    ["  name: huge", null],
    [`  timeout: ${v("workflowTimeout")}`, "workflowTimeout"],
    [`  max_active_runs: ${v("maxActiveRuns")}`, "maxActiveRuns"],
    ["  schedule:", null],
    [`    interval: ${v("interval")}`, "interval"],
    ["  dependencies:", null],
    ["    - workflow: upstream", null],
    [`      timeout: ${v("dependencyTimeout")}`, "dependencyTimeout"],
    ["  jobs:", null],
    ["    - job:", null],
    ["        name: a", null],
    ['        image: "busybox:1.36"', null],
    [`        timeout: ${v("jobTimeout")}`, "jobTimeout"],
    ["        resources:", null],
    [`          cpu: ${v("cpu")}`, "cpu"],
    [`          memory: ${v("memory")}`, "memory"],
    ["        env:", null],
    [`          COUNT: ${v("env")}`, "env"],
    ["        params:", null],
    [`          n: ${v("param")}`, "param"],
    ["        retry:", null],
    [`          max_attempts: ${v("maxAttempts")}`, "maxAttempts"],
    [`          delay: ${v("delay")}`, "delay"],
    ["          exponential_backoff: true", null],
    [`          backoff_multiplier: ${v("multiplier")}`, "multiplier"],
    [`          max_delay: ${v("maxDelay")}`, "maxDelay"],
    ["    - approval:", null],
    ["        name: gate", null],
    [`        timeout: ${v("approvalTimeout")}`, "approvalTimeout"],
    ["      depends_on: [a]", null],
  ];
  const lines = {} as Record<Field, number>;
  rows.forEach(([, f], i) => f !== null && (lines[f] = i + 1));
  return { text: rows.map(([r]) => r).join("\n") + "\n", lines };
}

const hugeInteger = fc.oneof(
  fc.constantFrom(
    "4294967296",
    "2147483648",
    "9007199254740992",
    "9007199254740993",
    "18446744073709551616",
    "1e308",
    "1.7976931348623157e308",
    "1e309",
    "-4294967296",
    "0x100000000",
    "9".repeat(400),
  ),
  fc.bigInt({ min: 2n ** 31n, max: 2n ** 256n }).map(String),
);
const hugeDuration = fc.oneof(
  fc.constantFrom("30000000000000d", "4000d", "3651d", "87601h", `${"9".repeat(400)}s`, "99999999999999999999d23h59m59s", "1d99999999999999999999s"),
  fc.tuple(fc.bigInt({ min: 10n ** 9n, max: 10n ** 60n }), fc.constantFrom("d", "h", "m", "s")).map(([n, u]) => `${n}${u}`),
);

const fieldNames = Object.keys(FIELDS) as Field[];
const mutation = fc
  .subarray(fieldNames, { minLength: 1 })
  .chain((fields) => fc.tuple(...fields.map((f) => (FIELDS[f].kind === "duration" ? hugeDuration : hugeInteger).map((v) => [f, v] as const))));

describe("huge numbers in every numeric field (issue 11)", () => {
  it("given the spec with its valid values, then it is valid (the property below starts from a working spec)", () => {
    expect(analyze("huge.yaml", spec({}).text).diagnostics).toEqual([]);
  });

  it("given huge integers and durations in any fields, then a diagnostic at each bounded one, and never a crash", () => {
    fc.assert(
      fc.property(mutation, (pairs) => {
        const { text, lines } = spec(Object.fromEntries(pairs));
        const a = analyze("huge.yaml", text);
        expect(diagnosticPositionsOk(text, a.diagnostics)).toBeNull();
        for (const d of a.diagnostics) expect(d.message, d.message).not.toMatch(/Infinity|NaN|e\+\d/);
        // Every count and duration out of any runner's range is refused where it is written.
        for (const [field] of pairs) {
          if (FIELDS[field].kind === "free") continue;
          expect(
            a.diagnostics.some((d) => d.severity === "error" && d.line === lines[field]),
            `${field}: ${a.diagnostics.map((d) => `${d.line}: ${d.message}`).join("\n")}`,
          ).toBe(true);
        }
        if (a.ir === null) return;
        // A huge quantity, env value or param that is accepted compiles or is refused by the target.
        for (const t of TARGETS) {
          const r = compileFor(a, t);
          if (r.output === null) expect(r.diagnostics.some((d) => d.severity === "error")).toBe(true);
        }
      }),
      propertyParams(150),
    );
  }, 60_000);
});

describe("the CLI on huge numbers: exit 1, a diagnostic, no crash or stack trace", () => {
  const dir = mkdtempSync(join(tmpdir(), "kfm-huge-"));
  const runner = join(dir, "runner.mts");
  writeFileSync(
    runner,
    `import { main } from ${JSON.stringify(pathToFileURL(join(PACKAGE_ROOT, "src/cli/index.ts")).href)};
process.exitCode = main(process.argv.slice(2), { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), cwd: process.cwd() });
`,
  );
  const tsx = pathToFileURL(join(PACKAGE_ROOT, "node_modules/tsx/dist/loader.mjs")).href;
  it.each([
    ["max_attempts 2^32 (the crash)", { maxAttempts: "4294967296" }],
    ["every field at once", Object.fromEntries(fieldNames.map((f) => [f, FIELDS[f].kind === "duration" ? "30000000000000d" : "4294967296"]))],
    ["a 400-digit duration", { jobTimeout: `${"9".repeat(400)}s` }],
  ])("%s", (_label, values) => {
    const file = join(dir, "huge.yaml");
    writeFileSync(file, spec(values).text);
    for (const args of [
      ["validate", file],
      [file, "--target", "all", "--out", join(dir, "out")],
    ]) {
      const child = spawnSync(process.execPath, ["--import", tsx, runner, ...args], { cwd: dir, encoding: "utf8" });
      expect(child.status, child.stderr).toBe(1);
      expect(child.stderr).toMatch(/huge\.yaml:\d+:\d+: error KFM\d{3}: /);
      expect(child.stderr).not.toMatch(/Fatal|\n\s+at .+:\d+:\d+/);
    }
  });
});
