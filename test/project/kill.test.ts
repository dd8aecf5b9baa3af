// A kill -9 during `kfm-compile --out` leaves every output old or new, never partial
// (issue 5: safe writes). The built CLI runs as a child process over many specs and is
// killed with SIGKILL at several points of its writing.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { removeStaleTemps, STALE_TEMP_MS } from "../../src/write.js";
import { buildPackage, tree } from "../files.js";

// The built CLI in a package folder of its own, as test/project/git-hook.test.ts does.
const PACKAGE = mkdtempSync(join(tmpdir(), "kfm-package-"));
const CLI = join(PACKAGE, "bin/kfm-compile.js");
const SPECS = 200;
const TEMP = /^\.[0-9a-f]{12}\.kfm-compile\.tmp$/;

function spec(i: number, version: string): string {
  return `job:
  name: job_${String(i).padStart(4, "0")}
  image: example/job:${version}
  args: ["--date", "{{ ds }}", "--pad", "${"x".repeat(2000)}"]
`;
}

function run(cwd: string, args: string[]) {
  return spawnSync("node", [CLI, ...args], { cwd, encoding: "utf8" });
}

const ARGS = ["--target", "argo,tekton", "--out", "out", ...Array.from({ length: SPECS }, (_, i) => `specs/${i}.yaml`)];

describe("kill -9 during kfm-compile --out", () => {
  let work: string;
  let oldOut: Map<string, string>;
  let newOut: Map<string, string>;
  let fullMs: number;

  beforeAll(() => {
    buildPackage(PACKAGE);

    // Given the old outputs of many specs and the new outputs after every spec changed.
    work = mkdtempSync(join(tmpdir(), "kfm-kill-"));
    mkdirSync(join(work, "specs"));
    for (let i = 0; i < SPECS; i++) writeFileSync(join(work, `specs/${i}.yaml`), spec(i, "1.0"));
    expect(run(work, ARGS).status).toBe(0);
    oldOut = tree(join(work, "out"));
    for (let i = 0; i < SPECS; i++) writeFileSync(join(work, `specs/${i}.yaml`), spec(i, "2.0"));
    cpSync(join(work, "out"), join(work, "old"), { recursive: true });
    const t0 = Date.now();
    expect(run(work, ARGS).status).toBe(0);
    fullMs = Date.now() - t0;
    newOut = tree(join(work, "out"));
    // Argo and Tekton files, Tekton's manual run files (its runs folder), and Tekton's shared
    // StepActions (a folder file, the same for both versions of the specs).
    expect(oldOut.size).toBe(3 * SPECS + 1);
    expect([...newOut.keys()].sort()).toEqual([...oldOut.keys()].sort());
    for (const [k, v] of newOut) if (k !== "tekton/kfm-step-actions.yaml") expect(v).not.toBe(oldOut.get(k));
  }, 180_000);

  it("given a run killed with SIGKILL at several points, then every output is entirely old or entirely new and parses, and leftovers are hidden dot-files", async () => {
    const outcomes: { old: number; new: number; temps: number }[] = [];
    // Kill points: once the first output is new (writing has begun), after 0, 15 and 40 ms more.
    const first = join(work, "out/argo/job_0000.yaml");
    for (const extra of [0, 15, 40]) {
      rmSync(join(work, "out"), { recursive: true, force: true });
      cpSync(join(work, "old"), join(work, "out"), { recursive: true });
      const child = spawn("node", [CLI, ...ARGS], { cwd: work, stdio: "ignore" });
      const exited = new Promise((r) => child.on("exit", r));
      const deadline = Date.now() + 2 * fullMs;
      while (Date.now() < deadline && readFileSync(first, "utf8") !== newOut.get("argo/job_0000.yaml")) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, extra));
      child.kill("SIGKILL");
      await exited;

      const now = tree(join(work, "out"));
      let old = 0;
      let fresh = 0;
      let temps = 0;
      for (const [rel, text] of now) {
        const name = rel.replace(/^.*\//, "");
        if (name.startsWith(".")) {
          // A kill between creating the temporary file and the rename leaves it: a dot-file, never an output.
          expect(name).toMatch(TEMP);
          temps++;
          continue;
        }
        expect(oldOut.has(rel), `${rel} is not an output`).toBe(true);
        const isOld = text === oldOut.get(rel);
        const isNew = text === newOut.get(rel);
        expect(isOld || isNew, `${rel} is neither the old nor the new file`).toBe(true);
        expect(() => YAML.parseAllDocuments(text).forEach((d) => expect(d.errors).toEqual([]))).not.toThrow();
        if (isOld) old++;
        else fresh++;
      }
      expect(old + fresh).toBe(oldOut.size);
      outcomes.push({ old, new: fresh, temps });
    }
    // The kills landed while files were being written: some runs left a mix of old and new files.
    expect(outcomes.filter((o) => o.old > 0 && o.new > 0).length, JSON.stringify(outcomes)).toBeGreaterThanOrEqual(2);

    // `check` does not take a leftover temporary file for an output or an orphan.
    const leftover = join(work, "out/argo/.0123456789ab.kfm-compile.tmp");
    writeFileSync(leftover, readFileSync(join(work, "out/argo/job_0000.yaml")));
    const checked = run(work, ["check", ...ARGS]);
    expect(checked.stdout + checked.stderr).not.toContain("kfm-compile.tmp");

    // The next run completes the outputs, and removes leftovers once they are old enough to be
    // no live run's (a fresh one may belong to a run writing at the same time).
    const stale = (Date.now() - STALE_TEMP_MS - 1000) / 1000;
    utimesSync(leftover, stale, stale);
    expect(run(work, ARGS).status).toBe(0);
    const after = tree(join(work, "out"));
    expect(existsSync(leftover)).toBe(false);
    for (const [rel, text] of newOut) expect(after.get(rel)).toBe(text);
    expect(run(work, ["check", ...ARGS]).status).toBe(0);
  }, 60_000);

  it("given a fresh temporary file of another run, then removeStaleTemps keeps it", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-temps-"));
    writeFileSync(join(dir, ".aaaaaaaaaaaa.kfm-compile.tmp"), "x");
    writeFileSync(join(dir, "keep.yaml"), "x");
    expect(removeStaleTemps(dir)).toEqual([]);
    expect(removeStaleTemps(dir, Date.now() + STALE_TEMP_MS + 1000)).toEqual([".aaaaaaaaaaaa.kfm-compile.tmp"]);
    expect(readdirSync(dir)).toEqual(["keep.yaml"]);
  });
});
