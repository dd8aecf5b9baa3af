// Issue 6, item 3: bounded resources on bad input. Every hostile file is given to
// `kfm-compile validate` in a child process whose heap is capped at STATED_HEAP_MB
// (`--max-old-space-size`): it must end with exit 1 and a diagnostic with a code, no
// stack trace, within STATED_TIME_MS of CPU time, and without running out of memory (a
// crash fails the test). The bounds are the constants of src/limits.ts.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { MAX_JOBS, MAX_NESTING_DEPTH, MAX_SPEC_BYTES, MAX_WORKFLOW_BYTES, MAX_YAML_TOKENS, STATED_HEAP_MB, STATED_TIME_MS } from "../../src/limits.js";

const DIR = mkdtempSync(join(tmpdir(), "kfm-limits-"));
const CLI = pathToFileURL(resolve("src/cli/index.ts")).href;
const TSX = pathToFileURL(resolve("node_modules/tsx/dist/loader.mjs")).href;
const RUNNER = join(DIR, "runner.mts");
// Runs main() in-process and reports its exit code, output, work and peak memory. The
// work is main()'s CPU time (every thread: user + system), not the wall clock: the bound
// is on what the input costs, which another process on a busy machine does not change.
writeFileSync(
  RUNNER,
  `import { main } from ${JSON.stringify(CLI)};
let out = "", err = "";
const t = process.cpuUsage();
let code, crash = null;
try { code = main(process.argv.slice(2), { stdout: (s) => (out += s), stderr: (s) => (err += s), cwd: process.cwd() }); }
catch (e) { crash = String(e && e.stack); }
const used = process.cpuUsage(t);
const ms = (used.user + used.system) / 1000;
process.stdout.write(JSON.stringify({ code, out, err, crash, ms, heapMB: process.memoryUsage().heapUsed / 1048576, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
`,
);

interface Run {
  readonly status: number | null;
  readonly code: number;
  readonly err: string;
  readonly crash: string | null;
  readonly ms: number;
  readonly maxRssMB: number;
  readonly stderr: string;
}

function validate(file: string): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${STATED_HEAP_MB}`, "--stack-size=984", "--import", TSX, RUNNER, "validate", file], {
      cwd: DIR,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => {
      const r = stdout === "" ? { code: -1, err: "", crash: null, ms: Infinity, maxRssMB: Infinity } : JSON.parse(stdout);
      done({ ...r, status, stderr });
    });
  });
}

function write(name: string, content: string | Buffer): string {
  const path = join(DIR, name);
  writeFileSync(path, content);
  return path;
}

/** The bound every case is held to: exit 1, the code, no stack trace, in time, no crash. */
async function expectRefused(file: string, code: string, message?: RegExp): Promise<Run> {
  const r = await validate(file);
  expect(r.status, r.stderr).toBe(0); // the child itself did not crash (no OOM)
  expect(r.crash).toBeNull();
  expect(r.code).toBe(1);
  expect(r.err).toMatch(new RegExp(`error ${code}: `));
  if (message) expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
  expect(r.ms).toBeLessThan(STATED_TIME_MS);
  return r;
}

const JOB = (i: number) => `    - job: {name: j${i}, image: "x:1"}\n`;

describe("bounded resources on hostile input (src/limits.ts)", { timeout: 120_000 }, () => {
  it("refuses a billion-laughs alias bomb (KFM008) without expanding it", async () => {
    let text = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i <= 9; i++) text += `a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(",")}]\n`;
    const r = await expectRefused(
      write("bomb.yaml", `workflow:\n  name: w\n  description: *a9\n  ${text.replace(/\n/g, "\n  ")}jobs: []\n`),
      "KFM008",
      /alias/i,
    );
    expect(r.maxRssMB).toBeLessThan(STATED_HEAP_MB + 256);
  });

  it.each([
    ["flow sequences", "workflow: " + "[".repeat(10_000) + "]".repeat(10_000) + "\n"],
    ["flow mappings", "workflow: " + "{a: ".repeat(10_000) + "1" + "}".repeat(10_000) + "\n"],
    ["compact block sequences", "- ".repeat(10_000) + "x\n"],
    ["explicit keys", "? ".repeat(10_000) + "x\n"],
    ["indented mappings", Array.from({ length: 1000 }, (_, i) => " ".repeat(i) + "a:").join("\n") + " 1\n"],
  ])("refuses documents nested 10,000 deep (%s) before walking them (KFM008)", async (label, text) => {
    await expectRefused(write(`deep-${label.replace(/ /g, "-")}.yaml`, text), "KFM008", new RegExp(`nested more than ${MAX_NESTING_DEPTH} deep`));
  });

  it("accepts nesting up to the bound", async () => {
    const text = `job:\n  name: a\n  image: "x:1"\n  description: ok\n  params: {p: "${"[".repeat(MAX_NESTING_DEPTH)}"}\n`;
    const r = await validate(write("shallow.yaml", text));
    expect(r.code).toBe(0);
  });

  it("refuses a 100 MB file from its size, without reading it (KFM008)", async () => {
    const line = `# ${"x".repeat(1022)}\n`;
    const r = await expectRefused(write("huge.yaml", Buffer.from(line.repeat(100 * 1024))), "KFM008", new RegExp(`larger than the ${MAX_SPEC_BYTES} `));
    // Reading it would take 100 MB at least.
    expect(r.maxRssMB).toBeLessThan(400);
  });

  it(`refuses a file-sized run of tiny tokens (KFM008) in bounded time and memory`, async () => {
    // The fast reader stops counting nodes at the bound, the exact reader counting tokens.
    const r = await expectRefused(write("tokens.yaml", "workflow: [" + "1,".repeat(MAX_SPEC_BYTES / 2 - 10) + "1]\n"), "KFM008", /YAML tokens/);
    expect(r.maxRssMB).toBeLessThan(STATED_HEAP_MB + 256);
  });

  it("handles the costliest file the exact reader reads in full, just within its token bound, in bounded time and memory", async () => {
    // A tab sends it past the fast reader; the exact reader then builds the syntax tree of
    // almost MAX_YAML_TOKENS tokens (each `[],` is three): empty collections cost it most.
    const count = Math.floor(MAX_YAML_TOKENS / 3) - 100;
    const r = await expectRefused(write("tokens-within.yaml", "workflow:\t[" + "[],".repeat(count) + "1]\n"), "KFM103");
    expect(r.maxRssMB).toBeLessThan(STATED_HEAP_MB + 256);
  });

  it("handles very long lines within the size bound, and refuses longer ones", async () => {
    const long = "a".repeat(MAX_SPEC_BYTES - 200);
    // A 1 MB value where a name of a few characters belongs: a diagnostic, no quadratic "Did you mean".
    const zone = await expectRefused(
      write("long-zone.yaml", `workflow:\n  name: w\n  schedule: {cron: "0 2 * * *", timezone: ${long}}\n  jobs: [{job: {name: a, image: "x:1"}}]\n`),
      "KFM205",
    );
    expect(zone.err).not.toContain("Did you mean");
    // A 500 KB tag is past the reference grammar's 128 characters: refused in bounded time.
    await expectRefused(write("long-image.yaml", `job:\n  name: a\n  image: "x:${long.slice(0, 500_000)}"\n`), "KFM223");
    const ok = await validate(write("long-description.yaml", `job:\n  name: a\n  image: "x:1"\n  description: "${long.slice(0, 500_000)}"\n`));
    expect(ok.code).toBe(0);
    expect(ok.ms).toBeLessThan(STATED_TIME_MS);
    await expectRefused(write("long-line.yaml", `job: {name: a, image: "${"a".repeat(2 * MAX_SPEC_BYTES)}"}\n`), "KFM008");
  });

  it(`refuses more than ${MAX_JOBS} jobs before validating them (KFM008), accepts ${MAX_JOBS}, and refuses 250,000 jobs by size`, async () => {
    const head = "workflow:\n  name: w\n  jobs:\n";
    const many = head + Array.from({ length: MAX_JOBS + 1 }, (_, i) => JOB(i)).join("");
    const over = await expectRefused(write("jobs-over.yaml", many), "KFM008", new RegExp(`${MAX_JOBS + 1} jobs, more than the ${MAX_JOBS}`));
    // Placed by the exact reader, on the `jobs` key.
    expect(over.err).toMatch(/jobs-over\.yaml:3:3: error KFM008/);
    const atBound = head + Array.from({ length: MAX_JOBS }, (_, i) => JOB(i)).join("");
    const r = await validate(write("jobs-at-bound.yaml", atBound));
    expect(r.code, r.err).toBe(0);
    expect(r.ms).toBeLessThan(STATED_TIME_MS);
    // 100,000 jobs fit in a file, but not in the readers' bounds (nodes, tokens).
    const huge = head + Array.from({ length: 100_000 }, (_, i) => JOB(i)).join("");
    await expectRefused(write("jobs-100000.yaml", huge), "KFM008");
    const larger = head + Array.from({ length: 250_000 }, (_, i) => JOB(i)).join("");
    await expectRefused(write("jobs-250000.yaml", larger), "KFM008", /larger than the/);
    // 100,000 jobs in under 1 MiB, through one alias: refused as a bomb or by the job bound.
    const aliased = `workflow:\n  name: w\n  jobs: [&j {job: {name: a, image: "x:1"}}${", *j".repeat(100_000)}]\n`;
    await expectRefused(write("jobs-aliased.yaml", aliased), "KFM008");
  });

  it(`refuses a workflow whose job files hold more than ${MAX_WORKFLOW_BYTES / 1024 / 1024} MiB together (KFM008)`, async () => {
    mkdirSync(join(DIR, "jobs"), { recursive: true });
    const size = 900_000;
    const refs = Array.from({ length: Math.ceil(MAX_WORKFLOW_BYTES / size) + 1 }, (_, i) => {
      write(`jobs/big${i}.yaml`, `job:\n  name: j${i}\n  image: "x:1"\n  description: "${"d".repeat(size)}"\n`);
      return `    - job: jobs/big${i}.yaml\n`;
    });
    await expectRefused(
      write("big-workflow.yaml", `workflow:\n  name: w\n  jobs:\n${refs.join("")}`),
      "KFM008",
      new RegExp(`more than the ${MAX_WORKFLOW_BYTES / 1024 / 1024} MiB a workflow may`),
    );
  });

  it.each([
    ["duplicate keys", "job:\n  name: a\n  name: b\n  image: x\n", "KFM002"],
    ["multiple documents", "job: {name: a, image: x}\n---\njob: {name: b, image: x}\n", "KFM003"],
    ["an empty file", "", "KFM004"],
    ["a file of comments only", "# nothing\n\n", "KFM004"],
  ])("refuses %s with a diagnostic", async (label, text, code) => {
    await expectRefused(write(`${label.replace(/ /g, "-")}.yaml`, text), code);
  });

  it("refuses bytes that are not UTF-8 (KFM005)", async () => {
    await expectRefused(write("latin1.yaml", Buffer.from([...Buffer.from("job: {name: a, image: caf"), 0xe9, 0x7d, 0x0a])), "KFM005", /not UTF-8/);
  });

  it("refuses a binary file with NUL bytes (KFM005)", async () => {
    const bytes = Buffer.alloc(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37) % 256;
    await expectRefused(write("binary.yaml", bytes), "KFM005", /NUL byte/);
  });

  it("refuses a folder given as a spec (KFM005)", async () => {
    mkdirSync(join(DIR, "folder.yaml"), { recursive: true });
    await expectRefused(join(DIR, "folder.yaml"), "KFM005", /folder/);
  });

  it.skipIf(process.platform === "win32")("refuses a FIFO without opening it for a blocking read (KFM005)", async () => {
    const fifo = join(DIR, "pipe.yaml");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    // Nobody ever writes to the pipe: a blocking open or read would hang until the test times out.
    await expectRefused(fifo, "KFM005", /not a regular file/);
  });
});
