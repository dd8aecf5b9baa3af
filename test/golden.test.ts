import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GOLDEN_DIR, expectedGoldens, goldenFilesOnDisk } from "./matrix.js";

const expected = expectedGoldens();

describe("golden matrix: every spec x every target, and every invalid spec", () => {
  it.each([...expected.keys()])("%s matches its golden file", (rel) => {
    const path = join(GOLDEN_DIR, rel);
    expect(existsSync(path), `golden/${rel} is missing: run npm run golden:update and review the diff`).toBe(true);
    expect(expected.get(rel)).toBe(readFileSync(path, "utf8"));
  });

  it("has no orphan golden file (one that no spec and target produce)", () => {
    const orphans = goldenFilesOnDisk().filter((rel) => !expected.has(rel));
    expect(orphans).toEqual([]);
  });

  it("covers every target for every spec", () => {
    const targets = new Set([...expected.keys()].map((k) => k.split("/")[0]));
    expect([...targets].sort()).toEqual(["airflow", "argo", "backfill", "dagster", "diagnostics", "diff", "explain", "github-actions", "graph", "tekton"]);
  });
});
