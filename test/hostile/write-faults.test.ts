// Issue 6, item 6: faults while writing. A full disk (ENOSPC), a read-only file system
// (EROFS), permission errors (EACCES) and an output path that is a folder each end with
// the error reported and exit 1; every output file is entirely old or entirely new, no
// temporary file is left, and nothing outside the output paths changes. The faults are
// injected through the write seam of src/write.ts (`setWriteFs`), failing one chosen
// call; kill -9 is covered by test/project/kill.test.ts.
import * as nodeFs from "node:fs";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli/index.js";
import { setWriteFs, type WriteFs } from "../../src/write.js";
import { tree } from "../files.js";

const NAMES = ["a", "b", "c"];

function run(cwd: string, args: string[]): { code: number; err: string } {
  let err = "";
  const code = main(args, { stdout: () => {}, stderr: (s) => (err += s), cwd }) as number; // no apply here: synchronous
  return { code, err };
}

function spec(name: string, version: string): string {
  return `job:\n  name: ${name}\n  image: example/job:${version}\n  args: ["--pad", "${"x".repeat(5000)}"]\n`;
}

/** A project compiled once at v1 (the old files), with its specs then changed to v2. */
function setUp(): { root: string; old: Map<string, string>; fresh: Map<string, string> } {
  const root = mkdtempSync(join(tmpdir(), "kfm-faults-"));
  const args = [...NAMES.map((n) => `${n}.yaml`), "--target", "all", "--out", "out"];
  for (const n of NAMES) writeFileSync(join(root, `${n}.yaml`), spec(n, "2"));
  expect(run(root, args).code).toBe(0);
  const fresh = tree(join(root, "out"));
  for (const n of NAMES) writeFileSync(join(root, `${n}.yaml`), spec(n, "1"));
  expect(run(root, [...args, "--force"]).code).toBe(0);
  const old = tree(join(root, "out"));
  for (const n of NAMES) writeFileSync(join(root, `${n}.yaml`), spec(n, "2"));
  return { root, old, fresh };
}

const ARGS = [...NAMES.map((n) => `${n}.yaml`), "--target", "all", "--out", "out"];

function fault(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated fault`), { code });
}

/** Runs the compile with `inject` in place; checks exit 1, the message, and the all-or-nothing state of every file. */
function expectSafeFailure(inject: (count: () => number) => Partial<WriteFs>, message: RegExp): void {
  const { root, old, fresh } = setUp();
  const specs = new Map(NAMES.map((n) => [n, readFileSync(join(root, `${n}.yaml`), "utf8")]));
  let calls = 0;
  const restore = setWriteFs(inject(() => ++calls));
  let r;
  try {
    r = run(root, ARGS);
  } finally {
    restore();
  }
  expect(r.code).toBe(1);
  expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(/\n\s+at .+:\d+:\d+/);
  const now = tree(join(root, "out"));
  // Exactly the output files, no temporary file left behind.
  expect([...now.keys()].sort()).toEqual([...old.keys()].sort());
  let newer = 0;
  for (const [path, text] of now) {
    expect(text === old.get(path) || text === fresh.get(path), `${path} is neither entirely old nor entirely new`).toBe(true);
    if (text === fresh.get(path) && text !== old.get(path)) newer++;
  }
  expect(newer).toBeLessThan(now.size); // the fault stopped the run part way
  // Nothing outside the output paths changed: the specs and the project folder.
  for (const [n, text] of specs) expect(readFileSync(join(root, `${n}.yaml`), "utf8")).toBe(text);
  expect(readdirSync(root).sort()).toEqual(["a.yaml", "b.yaml", "c.yaml", "out"]);
}

afterEach(() => setWriteFs({})());

describe("faults while writing leave every output old or new, and exit 1", () => {
  it("a full disk (ENOSPC) in the middle of a file's bytes", () => {
    expectSafeFailure(
      (count) => ({
        writeSync: (fd, buffer, offset, length) => {
          // The fifth file: half its bytes land, then the disk is full.
          if (count() === 5) {
            nodeFs.writeSync(fd, buffer, offset, Math.floor(length / 2));
            throw fault("ENOSPC");
          }
          return nodeFs.writeSync(fd, buffer, offset, length);
        },
      }),
      /kfm-compile: .*: ENOSPC: simulated fault; files written before it are complete, it and the rest are unchanged\./,
    );
  });

  it("a short write followed by ENOSPC (the writer loops over short writes)", () => {
    let short = true;
    expectSafeFailure(
      (count) => ({
        writeSync: (fd, buffer, offset, length) => {
          const n = count();
          if (n === 3 && short) {
            short = false;
            return nodeFs.writeSync(fd, buffer, offset, 100); // a short write: the loop must continue
          }
          if (n === 6) throw fault("ENOSPC");
          return nodeFs.writeSync(fd, buffer, offset, length);
        },
      }),
      /ENOSPC/,
    );
  });

  it("a full disk at fsync", () => {
    expectSafeFailure(
      (count) => ({
        fsyncSync: (fd) => {
          if (count() === 2) throw fault("ENOSPC");
          nodeFs.fsyncSync(fd);
        },
      }),
      /ENOSPC/,
    );
  });

  it("a read-only file system (EROFS) when creating the temporary file", () => {
    expectSafeFailure(
      () => ({
        openSync: () => {
          throw fault("EROFS");
        },
      }),
      /EROFS: simulated fault/,
    );
  });

  it("a permission error (EACCES) on the rename into place", () => {
    expectSafeFailure(
      (count) => ({
        renameSync: (a, b) => {
          if (count() === 4) throw fault("EACCES");
          nodeFs.renameSync(a, b);
        },
      }),
      /EACCES: simulated fault/,
    );
  });

  it("a permission error (EPERM) creating an output folder", () => {
    expectSafeFailure(
      () => ({
        mkdirSync: () => {
          throw fault("EPERM");
        },
      }),
      /EPERM: simulated fault/,
    );
  });

  it("an output path that is a folder: refused before anything is written", () => {
    const { root, old } = setUp();
    const target = join(root, "out", "argo", "b.yaml");
    const before = tree(join(root, "out"));
    // Replace one output file by a folder holding a file.
    nodeFs.rmSync(target);
    mkdirSync(target);
    writeFileSync(join(target, "inside.txt"), "kept\n");
    const r = run(root, ARGS);
    expect(r.code).toBe(1);
    expect(r.err).toContain("kfm-compile: argo/b.yaml is a folder, where the output file would go; nothing was written.");
    const now = tree(join(root, "out"));
    for (const [path, text] of before) if (!path.startsWith("argo/b.yaml")) expect(now.get(path)).toBe(text);
    expect(now.get("argo/b.yaml/inside.txt")).toBe("kept\n");
    expect(old.size).toBe(before.size);
  });

  it.skipIf(process.getuid?.() === 0)("a real read-only output folder (not as root)", () => {
    const { root, old } = setUp();
    const folder = join(root, "out", "argo");
    chmodSync(folder, 0o555);
    try {
      const r = run(root, ARGS);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/EACCES/);
      expect(tree(folder).size).toBe([...old.keys()].filter((k) => k.startsWith("argo/")).length);
    } finally {
      chmodSync(folder, 0o755);
    }
    expect(statSync(folder).isDirectory()).toBe(true);
  });
});
