/**
 * Every Markdown table in the documents we ship or point to has as many cells in each row
 * as in its header. GitHub's Markdown (GFM) splits a row at every `|` that is not escaped,
 * inside code spans too, and silently drops or pads cells, so a row with a cell too many
 * renders its last column's text under the wrong heading (a README table once took
 * another table's column by a mistaken edit).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../src/assets.js";

function cells(row: string): number {
  const inner = row.trim().replace(/^\|/, "").replace(/\|$/, "");
  return inner.split(/(?<!\\)\|/).length;
}

/** `file:line: header has N cells, row has M` for every row that does not match its table's header. */
function tableProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  const lines = text.split("\n");
  let fence = false;
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*(```|~~~)/.test(lines[i]!)) fence = !fence;
    if (fence) continue;
    const header = lines[i]!;
    const delimiter = lines[i + 1] ?? "";
    if (!header.trim().startsWith("|") || !/^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(delimiter)) continue;
    const n = cells(header);
    if (cells(delimiter) !== n) problems.push(`${file}:${i + 2}: header has ${n} cells, delimiter row has ${cells(delimiter)}`);
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim().startsWith("|"); j++) {
      const m = cells(lines[j]!);
      if (m !== n) problems.push(`${file}:${j + 1}: header has ${n} cells, row has ${m}`);
    }
    i = j - 1;
  }
  return problems;
}

function documents(): string[] {
  const found = ["README.md", "SECURITY.md", "conformance/README.md", "conformance/execution/README.md"];
  for (const dir of ["targets", "conformance/execution"]) {
    for (const entry of readdirSync(join(PACKAGE_ROOT, dir), { withFileTypes: true })) {
      if (entry.isDirectory()) {
        const readme = join(dir, entry.name, "README.md");
        try {
          readFileSync(join(PACKAGE_ROOT, readme));
          found.push(readme);
        } catch {
          // no README in this folder
        }
      }
    }
  }
  return found;
}

describe("Markdown tables", () => {
  it("given a row with a cell too many or too few, then it is reported with its line", () => {
    const text = ["| a | b |", "| --- | --- |", "| 1 | 2 |", "| 1 | 2 | 3 |", "| `x \\| y` | 2 |", "", "```", "| not | a | table |", "| --- |", "```"].join(
      "\n",
    );
    expect(tableProblems("t.md", text)).toEqual(["t.md:4: header has 2 cells, row has 3"]);
  });

  it.each(documents())("given %s, then every row has its header's cells", (file) => {
    expect(tableProblems(file, readFileSync(join(PACKAGE_ROOT, file), "utf8"))).toEqual([]);
  });
});
