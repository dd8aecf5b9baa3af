/**
 * Issue 12: one definition of text that survives (src/text.ts). A character some reader
 * on the way cannot carry is refused in the core, at its string, before any target is
 * asked; every other character compiles on every target and reads back exactly through
 * the YAML readers (the `yaml` package and PyYAML here; the conformance suite adds
 * sigs.k8s.io/yaml and server-side apply).
 */
import { describe, expect, it } from "vitest";
import { analyze, compileFor } from "../src/compile.js";
import { summarize } from "../src/summary.js";
import { TARGETS } from "../targets/index.js";
import { lifted } from "./matrix.js";
import { pyyamlPython, readPyYaml, readYamlPackage } from "./yaml-readers.js";

/**
 * A one-job spec with `text` (a YAML double-quoted body) in every string field a user
 * writes; the notification channel only with `channel` (a notification is one header or
 * JSON line: the targets refuse controls there, whatever the core allows), and the image
 * only with `image` (a reference has no spaces or controls: KFM223).
 */
function spec(text: string, channel = text, image = `img:1${text}`): string {
  return `workflow:
  name: texts
  description: "d ${text}"
  jobs:
    - job:
        name: run
        description: "j ${text}"
        image: "${image}"
        command: ["sh ${text}"]
        args: ["a ${text}"]
        env:
          E: "e ${text}"
        params:
          p: "p ${text}"
  notifications:
    on_failure:
      - type: slack
        channel: "#c ${channel}"
        webhook: { secret: hook, key: url }
`;
}

const FIELDS = [
  "3:16 workflow description",
  "7:22 job description",
  "8:16 image",
  "9:19 command",
  "10:16 args",
  "12:14 env",
  "14:14 params",
  "18:18 notification channel",
];

describe("characters no target can pass on are refused in the core (KFM240)", () => {
  // [class, YAML escape, code point named in the message]
  const refused: [string, string, string][] = [
    ["NUL", "\\0", "U+0000 (NUL)"],
    ["DEL", "\\x7f", "U+007F (DEL)"],
    ["NEL", "\\x85", "U+0085 (NEL)"],
    ["a C1 control", "\\x9b", "U+009B (a C1 control)"],
    ["U+FFFE", "\\ufffe", "U+FFFE (a noncharacter)"],
    ["U+FFFF", "\\uffff", "U+FFFF (a noncharacter)"],
    ["a lone high surrogate", "\\ud800", "U+D800 (a lone surrogate)"],
    ["a lone low surrogate", "\\udc00x", "U+DC00 (a lone surrogate)"],
  ];
  it.each(refused)("given %s in every field, then each field gets one KFM240 and no target is asked", (_name, escape, named) => {
    const analysis = analyze("specs/texts.yaml", spec(escape));
    expect(analysis.ir).toBeNull();
    const ours = analysis.diagnostics.filter((d) => d.code === "KFM240");
    expect(ours.map((d) => `${d.line}:${d.column}`)).toEqual(FIELDS.map((f) => f.split(" ")[0]));
    for (const d of ours) expect(d.message).toContain(named);
    // Only this rule speaks: no target-specific refusal of the same text.
    expect(analysis.diagnostics.filter((d) => d.severity === "error").every((d) => d.code === "KFM240")).toBe(true);
  });

  it("says where in the text the character is, counting characters, not UTF-16 units", () => {
    const analysis = analyze("specs/texts.yaml", spec("🚀\\x7f"));
    // "d 🚀" is three characters, so DEL is the fourth.
    expect(analysis.diagnostics[0]!.message).toMatch(/^This text holds U\+007F \(DEL\) at character 4, .*Remove the character/);
  });

  it("checks keys too, pointing at the key", () => {
    const analysis = analyze("specs/texts.yaml", spec("x").replace('p: "p x"', '"p\\x80": v'));
    expect(analysis.diagnostics.map((d) => [d.line, d.column, d.code])).toEqual([[14, 11, "KFM240"]]);
  });
});

describe("every other character compiles on every target and reads back exactly", () => {
  // C0 controls other than NUL, the BOM, line and paragraph separators, NBSP, noncharacters YAML prints.
  const carried = "\\x01\\x08\\t\\x0b\\x0c\\r\\x0e\\x1b\\x1f \\ufeff\\u2028\\u2029\\u00a0\\ufdd0\\ufdef\\U0001FFFE\\U0010FFFF\\u00ff";
  const analysis = analyze("specs/texts.yaml", spec(carried, "\\ufeff\\u00a0\\ufdd0\\U0001FFFE", "img:1"));
  // The same text without the notification, for a target that refuses notifications.
  const quiet = analyze("specs/texts.yaml", spec(carried, "\\ufeff\\u00a0\\ufdd0\\U0001FFFE", "img:1").replace(/\n {2}notifications:[\s\S]*$/, "\n"));

  it("is accepted by the core", () => {
    expect(analysis.diagnostics).toEqual([]);
    expect(analysis.ir).not.toBeNull();
  });

  const py = pyyamlPython();
  it.each(TARGETS.map((t) => [t.name, t] as const))("%s: the output means the spec, to its own reader and to every YAML reader", (_name, target) => {
    const a = target.features["notify.failure"].support === "refused" ? quiet : analysis;
    const out = compileFor(a, target);
    expect(out.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const text = out.output!.text;
    expect(lifted(target, a.ir!, text)).toEqual(summarize(a.ir!));
    if (target.extension === "py") return;
    const yaml12 = readYamlPackage(text, "1.2");
    expect(yaml12.ok).toBe(true);
    expect(readYamlPackage(text, "1.1")).toEqual(yaml12);
    if (py !== null) expect(readPyYaml([text], py)[0]).toEqual(yaml12);
  });
});

describe("the spec's path in the header comment", () => {
  const py = pyyamlPython();
  it.skipIf(py === null)("given a path with characters YAML 1.1 takes as line breaks or refuses, then every reader still reads one comment", () => {
    // JSON leaves U+0085, U+2028, U+2029, DEL and C1 raw: PyYAML ended the comment there.
    const file = "specs/a\u0085b\u2028c\u2029d\u007fe\u009bf日本.yaml";
    const analysis = analyze(file, spec("x"));
    for (const target of TARGETS.filter((t) => t.extension !== "py")) {
      const text = compileFor(analysis, target).output!.text;
      expect(text.split("\n")[0]).toMatch(/^# Generated by kfm-compile \S+ \(target [^)]+\) from "[\x20-\x7e]*"$/);
      const yaml12 = readYamlPackage(text, "1.2");
      expect(yaml12.ok).toBe(true);
      expect(readPyYaml([text], py)[0], target.name).toEqual(yaml12);
    }
  });
});
