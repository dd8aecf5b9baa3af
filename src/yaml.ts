/**
 * The one YAML writer. Every YAML file the compiler emits goes through `toYaml`, so
 * quoting is decided once: strings that a YAML 1.1 reader (PyYAML, Go's yaml.v2,
 * GitHub's parser) would take as a boolean, number, null or timestamp (`on`, `no`,
 * `0755`, `1e3`, `~`, `12:30`) are quoted, as cdk8s learnt the hard way (cdk8s#1231),
 * and strings holding characters some readers fold or drop are double-quoted with
 * escapes.
 */
import YAML, { visit } from "yaml";

/** Characters that must never stand unescaped in output: C0/C1 controls (tab included), NEL, line/paragraph separators, BOM, lone surrogates. */
const NEEDS_ESCAPE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\t]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A line of only blanks in a multi-line string: the writer would put it in a block
 * scalar, where such a line reads back as empty (`"  \n"` came back as `"\n"`).
 */
const BLANK_LINE = /(?:^|\n)[ \t]+(?:\n|$)/;

export function toYaml(value: unknown): string {
  const doc = new YAML.Document(value, { version: "1.1" });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === "string" && (NEEDS_ESCAPE.test(node.value) || (node.value.includes("\n") && BLANK_LINE.test(node.value))))
        node.type = "QUOTE_DOUBLE";
    },
  });
  // The writer leaves NEL, C1 controls, U+2028/2029 and BOM raw even inside double
  // quotes; YAML 1.1 readers treat some as line breaks. Every string holding one was
  // forced to double quotes above, so escaping them in the text is always in a quoted scalar.
  return doc
    .toString({ lineWidth: 0, minContentWidth: 0, indentSeq: true })
    .replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** Several YAML documents in one stream, each starting with `---`. */
export function toYamlStream(values: readonly unknown[]): string {
  return values.map((v) => "---\n" + toYaml(v)).join("");
}

/** Parses output written by `toYaml` back (lifters use this; user specs go through `src/spec/load.ts`). */
export function parseYamlStream(text: string): unknown[] {
  return YAML.parseAllDocuments(text, { version: "1.1" }).map((d) => {
    if (d.errors.length > 0) throw new Error(`generated YAML does not parse: ${d.errors[0]!.message}`);
    return d.toJS();
  });
}
