/**
 * Every test run's temporary files in one folder of its own, removed when the run ends
 * (vitest `globalSetup`, in every suite's config). Tests, and the runners and tools they
 * start (Python's tempfile, Go's build folders, mktemp), all take their temporary folders
 * from TMPDIR (`os.tmpdir()`), and the workers inherit it from this process; without it the
 * folders tests make with mkdtemp were left in the system's temporary folder, hundreds per
 * run, many gigabytes on a machine that runs the suites daily.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const before = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), "kfm-test-run-"));
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(dir, { recursive: true, force: true });
  };
}
