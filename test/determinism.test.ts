/**
 * Same spec, same bytes: twice in one process, and in another process whose time
 * zone and locale differ (dates, sorting and number formatting must not leak in).
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../src/assets.js";
import { expectedGoldens } from "./matrix.js";

describe("output is deterministic", () => {
  it("compiling everything twice gives the same bytes", () => {
    expect(expectedGoldens()).toEqual(expectedGoldens());
  }, 60_000);

  it("another process in another time zone and locale gives the same bytes", () => {
    const script = 'import { expectedGoldens } from "./test/matrix.ts"; process.stdout.write(JSON.stringify([...expectedGoldens()]));';
    const stdout = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, TZ: "Pacific/Chatham", LANG: "tr_TR.UTF-8", LC_ALL: "tr_TR.UTF-8" },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(new Map(JSON.parse(stdout) as [string, string][])).toEqual(expectedGoldens());
  }, 60_000);
});
