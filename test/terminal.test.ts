// The progress line through a real pseudo-terminal: the built CLI runs under util-linux
// `script`, which gives it a terminal for standard error as a user's shell would. A
// preloaded module makes performance.now() advance 400 ms per reading, so each run is
// "slow" without taking time; the fake clock is the only thing not real here.
// test/cli.test.ts covers the line itself (throttling, erasing) with a fake Io.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../src/assets.js";
import { buildPackage } from "./files.js";

const SCRIPT = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;
const PACKAGE = mkdtempSync(join(tmpdir(), "kfm-terminal-pkg-"));
const DIR = mkdtempSync(join(tmpdir(), "kfm-terminal-"));
const CLOCK = join(DIR, "clock.mjs");
const FRAME = /\r\x1b\[Kkfm-compile: (reading|compiling|writing) \d+\/\d+ (specs|files)…/g;

/** What the terminal receives when `kfm-compile ...args` runs under a pseudo-terminal (or a pipe). */
function run(args: string[], how: { terminal: boolean; env?: Record<string, string> }): { status: number | null; screen: string } {
  const command = ["node", "--import", CLOCK, join(PACKAGE, "bin/kfm-compile.js"), ...args];
  const env = { ...process.env, TERM: "xterm", ...how.env };
  if (!how.terminal) {
    const r = spawnSync(command[0]!, command.slice(1), { cwd: DIR, env, encoding: "utf8" });
    return { status: r.status, screen: r.stderr };
  }
  // -q: no start and end banners; -e: the command's exit status; -c: the command (no spaces in these paths).
  const r = spawnSync("script", ["-qec", command.join(" "), "/dev/null"], { cwd: DIR, env, encoding: "utf8", input: "" });
  return { status: r.status, screen: r.stdout };
}

describe.skipIf(!SCRIPT)("the progress line on a real terminal", () => {
  beforeAll(() => {
    buildPackage(PACKAGE);
    writeFileSync(CLOCK, "let t = 0;\nperformance.now = () => (t += 400);\n");
    const text = readFileSync(join(PACKAGE_ROOT, "specs/contract-4.2-workflow.yaml"), "utf8");
    for (const i of [0, 1, 2]) writeFileSync(join(DIR, `s${i}.yaml`), text.replace("name: daily_sales_pipeline", `name: p_${i}`));
  }, 120_000);

  it("given a terminal and a slow run, then the line is drawn and erased before the lines per file", () => {
    const { status, screen } = run(["s0.yaml", "s1.yaml", "s2.yaml", "-t", "argo", "-o", "tty"], { terminal: true });
    expect(status).toBe(0);
    expect(screen).toContain("\r\x1b[Kkfm-compile: compiling 2/3 specs…");
    expect(screen).toMatch(/\r\x1b\[Kkfm-compile: writing 2\/3 files…\r\x1b\[Kwritten {4}tty\/argo\/p_0\.yaml\r\n/);
    // The terminal turns \n into \r\n; once the frames are gone, the lines are those of a pipe.
    expect(screen.replace(FRAME, "").replaceAll("\r\x1b[K", "").replaceAll("\r\n", "\n")).toBe(
      "written    tty/argo/p_0.yaml\nwritten    tty/argo/p_1.yaml\nwritten    tty/argo/p_2.yaml\nkfm-compile: 3 files: 3 written, 0 unchanged.\n",
    );
  });

  it("given a pipe, a terminal that cannot erase (TERM=dumb), or --quiet, then never a progress line", () => {
    const args = ["s0.yaml", "s1.yaml", "-t", "argo", "-o"];
    const piped = run([...args, "pipe"], { terminal: false });
    expect(piped).toEqual({
      status: 0,
      screen: "written    pipe/argo/p_0.yaml\nwritten    pipe/argo/p_1.yaml\nkfm-compile: 2 files: 2 written, 0 unchanged.\n",
    });
    const dumb = run([...args, "dumb"], { terminal: true, env: { TERM: "dumb" } });
    expect(dumb.status).toBe(0);
    expect(dumb.screen).not.toMatch(/[\x1b…]/);
    expect(dumb.screen).toContain("written    dumb/argo/p_0.yaml\r\n");
    expect(run([...args, "quiet", "--quiet"], { terminal: true })).toEqual({ status: 0, screen: "" });
  });
});
