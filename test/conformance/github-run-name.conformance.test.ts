/**
 * Conformance: the facts behind GitHub Actions' refusal of cross-workflow dependencies
 * (targets/github-actions/README.md "Cross-workflow dependencies"), asked of GitHub's own
 * parser (@actions/workflow-parser) and actionlint. `run-name` may read the manual input
 * (so a dispatched run could carry its logical date) but neither a step's nor a job's
 * output (so a scheduled run, whose date kfm-context computes, cannot); a step's `name`
 * may read an earlier step's output, the carrier the README names for a construction.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setup, tools } from "./runners.js";

const dir = mkdtempSync(join(tmpdir(), "kfm-run-name-"));

/** One workflow whose `run-name` is `${{ <runName> }}` and whose second step is named after the first step's output. */
function workflow(file: string, runName: string): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    [
      "name: upstream",
      `run-name: "\${{ ${runName} }}"`,
      "on:",
      "  workflow_dispatch:",
      "    inputs:",
      "      logical_date: {required: true, type: string}",
      "jobs:",
      "  context:",
      "    runs-on: ubuntu-latest",
      "    outputs:",
      "      ts: ${{ steps.date.outputs.ts }}",
      "    steps:",
      "      - id: date",
      '        run: echo "ts=2024-01-31T04:00:00+00:00" >> "$GITHUB_OUTPUT"',
      '      - name: "kfm-logical-date ${{ steps.date.outputs.ts }}"',
      '        run: ":"',
      "",
    ].join("\n"),
  );
  return path;
}

const fromInput = workflow("input.yml", "inputs.logical_date");
const fromStep = workflow("step.yml", "steps.date.outputs.ts");
const fromJob = workflow("job.yml", "needs.context.outputs.ts");

beforeAll(() => {
  setup();
}, 1_800_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("run-name contexts (GitHub's parser and actionlint)", () => {
  it("workflow-parser: run-name reads inputs, not steps or needs; a step name reads steps", () => {
    const report = tools.workflowParser([fromInput, fromStep, fromJob]);
    const byFile = new Map(report.files.map((f) => [f.file, f]));
    expect(byFile.get(fromInput)!.errors).toEqual([]);
    expect(byFile.get(fromStep)!.errors.join("\n")).toContain("Unrecognized named-value: 'steps'");
    expect(byFile.get(fromJob)!.errors.join("\n")).toContain("Unrecognized named-value: 'needs'");
  });

  it("actionlint: the same verdicts, naming github, inputs and vars as run-name's contexts", () => {
    const report = tools.actionlint([fromInput, fromStep, fromJob]);
    const byFile = new Map(report.files.map((f) => [f.file, f]));
    expect(byFile.get(fromInput)!.errors).toEqual([]);
    for (const file of [fromStep, fromJob]) {
      expect(byFile.get(file)!.errors.join("\n")).toContain('available contexts are "github", "inputs", "vars"');
    }
  });
});
