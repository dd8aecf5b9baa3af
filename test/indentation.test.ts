// Issue 11: an indentation mistake is one diagnostic, at the line that is out of line,
// in the spec's words (src/spec/indent.ts), not the YAML reader's follow-on errors at
// the line above. The checker reads lines, not YAML, so it is tested both ways: it finds
// nothing in any text the real reader (the `yaml` package) reads, and it finds the
// one-space mistakes made in the bundled specs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { globSync } from "tinyglobby";
import { analyze } from "../src/compile.js";
import { PACKAGE_ROOT } from "../src/assets.js";
import { indentationMistake } from "../src/spec/indent.js";
import { propertyParams } from "./hostile/arbitraries.js";

const yamlFiles = globSync(["specs/*.yaml", "test/**/*.{yaml,yml}", "golden/**/*.{yaml,yml}", "docs/**/*.yml"], { cwd: PACKAGE_ROOT }).sort();

describe("indentation mistakes (src/spec/indent.ts)", () => {
  it("are not found in any YAML file of the repository the real reader reads", () => {
    let read = 0;
    for (const f of yamlFiles) {
      const text = readFileSync(join(PACKAGE_ROOT, f), "utf8");
      if (YAML.parseAllDocuments(text).some((d) => "errors" in d && d.errors.length > 0)) continue;
      read++;
      expect(indentationMistake(text), f).toBeNull();
    }
    expect(read).toBeGreaterThan(100);
  });

  it("are not found in random documents written in any block style", () => {
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small", withCrossShrink: true }, tie("leaf"), tie("map"), tie("list")),
      leaf: fc.oneof(
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.constantFrom("a: b", "- x", "#no", "line\nline\n  more", "'", '"', "[", "{ x"),
      ),
      map: fc.dictionary(fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/), fc.string({ maxLength: 4 })), tie("node"), { maxKeys: 4 }),
      list: fc.array(tie("node"), { maxLength: 4 }),
    }));
    fc.assert(
      fc.property(
        value.node,
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.constantFrom("PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE", "BLOCK_LITERAL"),
        (doc, indent, indentSeq, style) => {
          const text = YAML.stringify(doc, { indent, indentSeq, defaultStringType: style as "PLAIN", lineWidth: 0 });
          expect(YAML.parseDocument(text).errors).toEqual([]);
          expect(indentationMistake(text), text).toBeNull();
        },
      ),
      propertyParams(400),
    );
  });

  it("given one key of a bundled spec moved by one space so the reader fails, then one diagnostic at that key or after it", () => {
    let caught = 0;
    for (const f of yamlFiles.filter((x) => x.startsWith("specs/"))) {
      const lines = readFileSync(join(PACKAGE_ROOT, f), "utf8").split("\n");
      lines.forEach((line, i) => {
        if (i === 0 || !/^\s+[a-z_]+:/.test(line)) return;
        for (const moved of [" " + line, line.slice(1)]) {
          const text = [...lines.slice(0, i), moved, ...lines.slice(i + 1)].join("\n");
          const ds = analyze(f, text).diagnostics.filter((d) => d.code === "KFM001");
          if (ds.length === 0) continue; // still YAML (a deeper key under one without a value)
          caught++;
          expect(ds, `${f}:${i + 1} ${JSON.stringify(moved)}`).toHaveLength(1);
          expect(ds[0]!.line, `${f}:${i + 1} ${JSON.stringify(moved)}: ${ds[0]!.message}`).toBeGreaterThanOrEqual(i + 1);
          expect(ds[0]!.message).toMatch(/ is indented \d+ spaces?, /);
        }
      });
    }
    expect(caught).toBeGreaterThan(200);
  });
});
