/**
 * The YAML writer (src/yaml.ts) against the writer it replaced, kept below as the
 * reference: the `yaml` package's own stringifier on a YAML 1.1 Document, with our
 * forcing to double quotes and `\u` escapes. The goldens were written by it, so the
 * new writer must give the same bytes: for generated nested data and for strings built
 * to reach every quoting rule (plain, single, double, folded double, `|` blocks with
 * every chomping and indentation indicator, explicit `?` keys), plus one table of
 * targeted cases that pins each branch to literal expected text. Where the reference
 * wrote text that does not read back (three cases, below), the new writer differs on
 * purpose; everything it writes must read back exactly, as YAML 1.1 and as YAML 1.2.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import YAML, { visit } from "yaml";
import { parseYamlStream, toYaml, toYamlStream } from "../src/yaml.js";
import { HOSTILE_TOKENS, hostileText, propertyParams } from "./hostile/arbitraries.js";
import { pyyamlPython, readPyYaml, readYamlPackage } from "./yaml-readers.js";

// ---- the reference: do not change it, it is what the goldens were written with ----

const REF_NEEDS_ESCAPE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\t]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const REF_BLANK_LINE = /(?:^|\n)[ \t]+(?:\n|$)/;

function referenceToYaml(value: unknown): string {
  const doc = new YAML.Document(value, { version: "1.1" });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === "string" && (REF_NEEDS_ESCAPE.test(node.value) || (node.value.includes("\n") && REF_BLANK_LINE.test(node.value))))
        node.type = "QUOTE_DOUBLE";
    },
  });
  return doc
    .toString({ lineWidth: 0, minContentWidth: 0, indentSeq: true })
    .replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

// ---- generators ----

/** Pieces that steer the quoting rules: YAML 1.1 look-alikes, indicators, markers, blanks and breaks. */
const YAML_PIECES: readonly string[] = [
  ...["y", "Y", "n", "N", "yes", "No", "ON", "off", "True", "FALSE", "null", "Null", "NULL", "~", "<<", "=", ""],
  ...["0", "1", "-1", "+1", "0755", "0o7", "0b101", "0x1F", "1_000", "1.5", ".5", "1.", ".", "._", "-.inf", ".NaN", "1e3", "e5", "E+3", "1.2e-3"],
  ...["1:20", "-1:20:30", "1:20.5", "2024-01-01", "2024-1-1t12:00:00.5Z", "2024-01-01 12:00:00 +1", "12:30"],
  // What go-yaml (sigs.k8s.io/yaml) or PyYAML alone read as a number or timestamp.
  ...["0X1F", "0B101", "0O17", "-0o17", "+0o17", "0o1_7", "1e3_", "-_1", "0_x1F", "2024-01-01T00:00:00+35", "2024-01-01T00:00:00."],
  ...["---", "...", "%", "- ", "-", "? ", "?", ": ", ":", "#", " #", "&", "*", "!", "|", ">", "'", '"', "`", "@", ",", "[", "]", "{", "}"],
  ...[" ", "  ", "\n", "\n\n", "\n ", " \n", "\t", "\r", "\0", "\x07", "\x0b", "\x1b", "\x7f", "\x85", "\u00a0", "\u2028", "\ufeff", "\ud800", "\udc00"],
  ...["a", "job", "x-y.z/w_1", "run", "echo hi", "$(params.x)", "{{ ds }}", "é", "🚀"],
];

const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...YAML_PIECES) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_TOKENS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 5 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 3 }) },
);

/** Short text: usually one or two pieces, so single tokens (`on`, `1:20`, `---`) stand alone. */
const shortText = fc.array(piece, { minLength: 0, maxLength: 3 }).map((a) => a.join(""));

/** Lines of text, joined by breaks: block scalars and long double-quoted strings (folded from 40 characters). */
const line = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "  ",
    "word",
    "  indented",
    " one space",
    "x".repeat(45),
    "--- marker",
    "...",
    "%YAML",
    "# comment",
    "key: value",
    "trailing ",
    "tab\there",
  ),
  shortText,
);
const multiLineText = fc
  .tuple(fc.constantFrom("", "\n", "\n\n", " "), fc.array(line, { minLength: 1, maxLength: 6 }), fc.constantFrom("", "\n", "\n\n", " ", " \n", "\n\n\n"))
  .map(([lead, lines, trail]) => lead + lines.join("\n") + trail);

/** Text of at least 40 characters, so that double-quoted line breaks fold. */
const longText = fc.tuple(fc.constantFrom("a".repeat(40), "b ".repeat(20), "c\n".repeat(20)), fc.oneof(shortText, multiLineText)).map(([a, b]) => a + b);

const text = fc.oneof(
  { weight: 4, arbitrary: shortText },
  { weight: 3, arbitrary: multiLineText },
  { weight: 1, arbitrary: longText },
  { weight: 1, arbitrary: hostileText },
);

/** Keys, some past the 1,024 characters after which a key is written as `? key`. */
const key = fc.oneof(
  { weight: 8, arbitrary: text },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1018, max: 1030 }), fc.constantFrom("", "\t", '"', "on", "\n")).map(([n, s]) => "k".repeat(n) + s) },
);

const number = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1e21, 1e-7, 0.1, 2 ** 53, -(2 ** 53), 12345678901234567890, NaN, Infinity, -Infinity),
);

const scalarValue = fc.oneof({ weight: 6, arbitrary: text }, { weight: 2, arbitrary: number }, fc.boolean(), fc.constant(null), fc.constant(undefined));

/** Nested plain data: objects (some without a prototype), arrays, scalars, `undefined` here and there. */
const { data } = fc.letrec<{ data: unknown }>((tie) => ({
  data: fc.oneof({ maxDepth: 4, depthSize: "small" }, scalarValue, fc.array(tie("data"), { maxLength: 4 }), fc.dictionary(key, tie("data"), { maxKeys: 4 })),
}));

// ---- properties ----

/**
 * Whether `v` holds a string the reference wrote so that it did not read back (see
 * "where the reference did not read back"): `<<`, `=`, YAML 1.2 octal, or a line of one
 * space in a string long enough for its breaks to fold; or one where the writer differs on
 * purpose: a multi-line string with a line ending in a space, which the reference wrote
 * with a blank at the end of an output line (yamllint's `trailing-spaces`), a block scalar
 * opening with an empty line, which the reference wrote as a line of blanks, or U+FFFE
 * and U+FFFF, which it wrote raw (PyYAML refuses them). Generous: some such data would still be written
 * the same.
 */
function touchesFixedCases(v: unknown): boolean {
  if (typeof v === "string")
    return (
      v === "<<" ||
      v === "=" ||
      /^[-+]?0[oOxXbB]/.test(v) ||
      /^[-+0-9].*_/.test(v) ||
      /^[0-9]{4}-/.test(v) ||
      (v.includes("\n \n") && JSON.stringify(v).length >= 40) ||
      (v.includes("\n") && / (?:\n|$)/.test(v)) ||
      v.startsWith("\n") ||
      /[\ufffe\uffff]/.test(v)
    );
  if (Array.isArray(v)) return v.some(touchesFixedCases);
  if (v !== null && typeof v === "object") return Object.entries(v).some(([k, x]) => touchesFixedCases(k) || touchesFixedCases(x));
  return false;
}

/** Same bytes as the reference, unless the reference's would not read back (a top-level block opening with a space is one such). */
function sameAsReference(v: unknown): void {
  if (touchesFixedCases(v) || (typeof v === "string" && /^\n* /.test(v))) return;
  expect(toYaml(v)).toBe(referenceToYaml(v));
}

/** What a reader gives back for `v`: `undefined` dropped from objects and `null` in arrays. */
function asRead(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : asRead(x)));
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (x === undefined ? [] : [[k, asRead(x)]])));
  return v === undefined ? null : v;
}

function readsBack(v: unknown): void {
  const text = toYaml(v);
  for (const version of ["1.1", "1.2"] as const) expect(YAML.parse(text, { version }), `as YAML ${version}:\n${text}`).toEqual(asRead(v));
}

describe("toYaml writes the bytes the yaml package wrote", () => {
  it("for nested data", () => {
    fc.assert(fc.property(data, sameAsReference), propertyParams(4000));
  });

  it("for every string as a top-level scalar, a key at each depth, a value in a mapping, an item of a sequence", () => {
    fc.assert(
      fc.property(text, (s) => {
        sameAsReference({ [s]: s, list: [s, [s], { [s]: [s] }], deep: { a: { [s]: { b: s } } } });
        sameAsReference(s);
        sameAsReference([s]);
      }),
      propertyParams(4000),
    );
  });

  it("for a long text repeated in many places (worked out once per document)", () => {
    fc.assert(
      fc.property(fc.oneof(longText, multiLineText), (s) => {
        const long = s.padEnd(300, "z");
        sameAsReference({ a: long, b: [long, { c: long }], d: { e: { f: long } }, g: long });
      }),
      propertyParams(500),
    );
  });
});

describe("toYaml output reads back exactly, as YAML 1.1 and as YAML 1.2", () => {
  it("for nested data", () => {
    fc.assert(fc.property(data, readsBack), propertyParams(2000));
  });

  it("for every string, as a key, a value and at the top", () => {
    fc.assert(
      fc.property(text, (s) => {
        readsBack({ [s]: s, list: [s, { [s]: [s] }], deep: { a: { [s]: s } } });
        readsBack(s);
      }),
      propertyParams(3000),
    );
  });
});

describe("where the reference did not read back", () => {
  it("quotes the merge key, which a YAML 1.1 reader merges at `<<:` and PyYAML cannot load as a value", () => {
    const v = { "<<": "<<", l: ["<<"] };
    expect(referenceToYaml(v)).toBe("<<: <<\nl:\n  - <<\n");
    expect(() => YAML.parse(referenceToYaml(v), { version: "1.1" })).toThrow(/Merge/);
    expect(toYaml(v)).toBe('"<<": "<<"\nl:\n  - "<<"\n');
    readsBack(v);
  });

  it("quotes `=`, the YAML 1.1 value key, which PyYAML cannot load", () => {
    const v = { "=": "=", l: ["a", "=", "b"] };
    expect(referenceToYaml(v)).toBe("=: =\nl:\n  - a\n  - =\n  - b\n");
    expect(toYaml(v)).toBe('"=": "="\nl:\n  - a\n  - "="\n  - b\n');
    readsBack(v);
  });

  it("indents a top-level block scalar that opens with a space (`|1` at column 0 read back wrong or failed)", () => {
    expect(referenceToYaml(" a\nb")).toBe("|1-\n a\nb\n");
    expect(() => YAML.parse(referenceToYaml(" a\nb"))).toThrow();
    expect(YAML.parse(referenceToYaml(" a\n"))).toBe("a\n");
    expect(toYaml(" a\nb")).toBe("|2-\n   a\n  b\n");
    expect(toYaml("\n a\n")).toBe("|2\n\n   a\n");
    for (const s of [" a\nb", " a\n", "\n a\n", "  --- a\nb"]) readsBack(s);
  });

  it("quotes YAML 1.2 octal, which a YAML 1.2 reader takes as a number", () => {
    expect(referenceToYaml(["0o7"])).toBe("- 0o7\n");
    expect(YAML.parse(referenceToYaml(["0o7"]), { version: "1.2" })).toEqual([7]);
    expect(toYaml(["0o7", "0o8", "-0o7"])).toBe('- "0o7"\n- 0o8\n- "-0o7"\n');
    readsBack(["0o7", "0o8", "-0o7"]);
  });

  it("escapes a line of one space in a folded string once, not as a backslash", () => {
    const v = { k: "a".repeat(40) + "\n \nb" };
    expect(referenceToYaml(v)).toBe(`k: "${"a".repeat(40)}\n\n  \\\\ \n\n  b"\n`);
    expect(YAML.parse(referenceToYaml(v))).toEqual({ k: "a".repeat(40) + "\n\\\nb" });
    expect(toYaml(v)).toBe(`k: "${"a".repeat(40)}\n\n  \\x20\n\n  b"\n`);
    readsBack(v);
    // Two spaces: the first escaped as a line's start, the second as the space before the break.
    expect(toYaml({ k: "a".repeat(40) + "\n  \nb" })).toBe(`k: "${"a".repeat(40)}\n\n  \\ \\x20\n\n  b"\n`);
    readsBack({ k: "a".repeat(40) + "\n  \nb" });
  });

  it("escapes U+FFFE and U+FFFF, outside YAML's printable set (PyYAML refuses a file holding them raw)", () => {
    const v = { k: "a\ufffeb\uffff", [`\uffff`]: ["\ufffe"] };
    expect(referenceToYaml(v)).toBe("k: a\ufffeb\uffff\n\uffff:\n  - \ufffe\n");
    expect(toYaml(v)).toBe('k: "a\\ufffeb\\uffff"\n"\\uffff":\n  - "\\ufffe"\n');
    readsBack(v);
  });

  it("writes a block scalar's leading empty lines empty, where the reference indented them (yamllint's trailing-spaces)", () => {
    const cases: [unknown, string, string][] = [
      [{ k: "\n", l: "\n\n" }, "k: |+\n  \nl: |+\n  \n\n", "k: |+\n\nl: |+\n\n\n"],
      [{ k: "\n\na\n\n\nb" }, "k: |-\n  \n\n  a\n\n\n  b\n", "k: |-\n\n\n  a\n\n\n  b\n"],
      [[{ k: "\n  a\nb" }], "- k: |2-\n    \n      a\n    b\n", "- k: |2-\n\n      a\n    b\n"],
    ];
    for (const [v, reference, ours] of cases) {
      expect(referenceToYaml(v)).toBe(reference);
      expect(toYaml(v)).toBe(ours);
      readsBack(v);
    }
  });

  it("never ends a line in a blank: a line ending in a space is double-quoted, and a space before a folded break is `\\x20` (yamllint's trailing-spaces)", () => {
    const v = { k: "a".repeat(40) + " \nb", short: "a \nb", last: "a\nb  ", kept: "a\nb \n\n" };
    expect(referenceToYaml(v)).toBe(`k: |-\n  ${"a".repeat(40)} \n  b\nshort: |-\n  a \n  b\nlast: |-\n  a\n  b  \nkept: |+\n  a\n  b \n\n`);
    expect(toYaml(v)).toBe(`k: "${"a".repeat(40)}\\x20\n\n  b"\nshort: "a\\ \\nb"\nlast: "a\\nb  "\nkept: "a\\nb\\ \\n\\n"\n`);
    expect(
      toYaml(v)
        .split("\n")
        .filter((line) => / $/.test(line)),
    ).toEqual([]);
    readsBack(v);
  });
});

describe("toYaml quotes what any reader on the way resolves to a non-string (issue 12)", () => {
  // Given text that go-yaml (sigs.k8s.io/yaml: kubectl, the argo CLI, the API server) or
  // PyYAML alone resolves to a number or a timestamp, when written, then it is quoted.
  const goNumbers = ["0X1F", "0B101", "0O17", "-0o17", "+0o17", "0o1_7", "-0X1f", "+0b1", "1e3_", "1_e3", "-_1", "0_x1F", "+_.5", "1_."];
  const pyTimestamps = ["2024-01-01T00:00:00+35", "2024-01-01T00:00:00.", "2024-1-1 1:02:03 -9", "2024-01-01t00:00:00.Z"];
  it.each([...goNumbers, ...pyTimestamps])("%s", (s) => {
    expect(toYaml([s])).toBe(`- "${s}"\n`);
    expect(toYaml({ [s]: s })).toBe(`"${s}": "${s}"\n`);
  });

  it("leaves plain what no reader takes for a number or a timestamp", () => {
    expect(toYaml(["0x", "0o8", "0b2", "0xG", "_1", "1_a", "2024-01-01T00:00:00+", "2024-01-01T0:00"])).toBe(
      "- 0x\n- 0o8\n- 0b2\n- 0xG\n- _1\n- 1_a\n- 2024-01-01T00:00:00+\n- 2024-01-01T0:00\n",
    );
  });

  const py = pyyamlPython();
  it.skipIf(py === null)(
    "PyYAML, the yaml package (1.1 and 1.2) read back every generated number- or date-like string exactly",
    () => {
      // Given strings built from the pieces numbers and timestamps are made of (signs,
      // prefixes in both cases, `_`, `.`, exponents, dates, times, zones), as keys and
      // values, when written and read by each reader, then each gives back the strings.
      const numberLike = fc
        .tuple(
          fc.constantFrom("", "-", "+", "_", "."),
          fc.constantFrom(
            "0",
            "1",
            "08",
            "0x",
            "0X",
            "0b",
            "0B",
            "0o",
            "0O",
            ".",
            "1:2",
            "2024-01-01",
            "2024-1-1T1:02:03",
            "2024-01-01 00:00:00",
            "2024-01-01t00:00:00",
          ),
          fc.array(fc.constantFrom("0", "1", "7", "9", "f", "F", "_", ".", "e", "E", "+", "-", ":", "5", "Z", "+35", "-05:00", " ", "\t", "T", "x"), {
            maxLength: 6,
          }),
        )
        .map(([a, b, c]) => a + b + c.join(""));
      const samples = fc.sample(fc.array(numberLike, { minLength: 1, maxLength: 4 }), { numRuns: 2000, seed: propertyParams(1).seed });
      const texts = samples.map((ss) => toYaml(Object.fromEntries(ss.map((s, i) => [s, [s, i]]))));
      const meant = samples.map((ss) => Object.fromEntries(ss.map((s, i) => [s, [s, i]])));
      const pyReadings = readPyYaml(texts, py);
      texts.forEach((text, i) => {
        const want = { ok: true, docs: [meant[i]] };
        expect(pyReadings[i], `PyYAML:\n${text}`).toEqual(want);
        for (const version of ["1.1", "1.2"] as const) expect(readYamlPackage(text, version), `yaml ${version}:\n${text}`).toEqual(want);
      });
    },
    60_000,
  );
});

describe("toYaml, case by case", () => {
  const K = "k".repeat(1025);
  // [input, exact output]; each row is checked against the reference too.
  const cases: [string, unknown, string][] = [
    // scalars and collections
    ["null", null, "null\n"],
    ["undefined at the top", undefined, "null\n"],
    ["booleans", [true, false], "- true\n- false\n"],
    [
      "numbers",
      [0, -0, 1.5, 1e21, 1e-7, 12345678901234567890, NaN, Infinity, -Infinity],
      "- 0\n- -0\n- 1.5\n- 1e+21\n- 1e-7\n- 12345678901234567000\n- .nan\n- .inf\n- -.inf\n",
    ],
    ["empty collections", { a: {}, b: [], c: [[], {}] }, "a: {}\nb: []\nc:\n  - []\n  - {}\n"],
    ["undefined leaves", { a: undefined, b: [undefined], c: { d: undefined } }, "b:\n  - null\nc: {}\n"],
    ["only undefined", { a: undefined }, "{}\n"],
    ["sequences in sequences", [[1, [2, 3]], { a: [4] }], "- - 1\n  - - 2\n    - 3\n- a:\n    - 4\n"],
    ["object without prototype", Object.assign(Object.create(null) as object, { a: 1 }), "a: 1\n"],
    // explicit keys
    ["long key, scalar", { [K]: 1 }, `? ${K}\n: 1\n`],
    ["long key, mapping", { [K]: { a: 1, b: 2 } }, `? ${K}\n: a: 1\n  b: 2\n`],
    ["long key, empty sequence", { x: { [K]: [] } }, `x:\n  ? ${K}\n  : []\n`],
    ["key of exactly 1024", { ["k".repeat(1024)]: 1 }, `${"k".repeat(1024)}: 1\n`],
    ["key long once quoted", { ["k".repeat(1022) + "\t"]: 1 }, `? "${"k".repeat(1022)}\\t"\n: 1\n`],
    // plain and the fast path
    [
      "plain words",
      { name: "kfm-run", image: "lakehouse/step:1.0", url: "https://x.y/z#a" },
      "name: kfm-run\nimage: lakehouse/step:1.0\nurl: https://x.y/z#a\n",
    ],
    [
      "YAML 1.1 words",
      ["on", "Off", "y", "N", "yes", "TRUE", "null", "Null", "~", ""],
      '- "on"\n- "Off"\n- "y"\n- "N"\n- "yes"\n- "TRUE"\n- "null"\n- "Null"\n- "~"\n- ""\n',
    ],
    [
      "YAML 1.1 numbers",
      ["0755", "0b1", "0x1F", "1_000", "+1", ".5", "1.", ".", "1e3", "e5", "E+3", ".inf", "-.Inf", ".NaN"],
      '- "0755"\n- "0b1"\n- "0x1F"\n- "1_000"\n- "+1"\n- ".5"\n- "1."\n- "."\n- "1e3"\n- "e5"\n- "E+3"\n- ".inf"\n- "-.Inf"\n- ".NaN"\n',
    ],
    [
      "not numbers or timestamps",
      ["0o8", "1e", "ee5", "1:60", "x1", "2024-01-001", "2024-01-01T1:2"],
      "- 0o8\n- 1e\n- ee5\n- 1:60\n- x1\n- 2024-01-001\n- 2024-01-01T1:2\n",
    ],
    [
      "sexagesimals and timestamps",
      ["1:20", "1:5", "-1:20:30.5", "2024-01-01", "2024-1-1T12:00:00Z", "2024-01-01 12:00:00 +1"],
      '- "1:20"\n- "1:5"\n- "-1:20:30.5"\n- "2024-01-01"\n- "2024-1-1T12:00:00Z"\n- "2024-01-01 12:00:00 +1"\n',
    ],
    // indicators
    [
      "indicators first",
      ["- a", "-", "?", "? a", "#a", "&a", "*a", "!a", "|", ">", "%a", "@a", "`a", ",a", "[a", "{a"],
      '- "- a"\n- "-"\n- "?"\n- "? a"\n- "#a"\n- "&a"\n- "*a"\n- "!a"\n- "|"\n- ">"\n- "%a"\n- "@a"\n- "`a"\n- ",a"\n- "[a"\n- "{a"\n',
    ],
    [
      "indicators inside",
      ["a: b", "a #b", "a:", "a ", " a", "-a", "?a", "a#b", "a:b"],
      '- "a: b"\n- "a #b"\n- "a:"\n- "a "\n- " a"\n- -a\n- ?a\n- a#b\n- a:b\n',
    ],
    // quotes
    ["quotes inside stay plain", ['say "hi"', "it's"], `- say "hi"\n- it's\n`],
    ["single quotes for a double quote only", ['"hi" there', "'it'", `'"`, '"'], `- '"hi" there'\n- "'it'"\n- "'\\""\n- '"'\n`],
    // document markers
    ["marker at the top", "--- a", "|-\n  --- a\n"],
    ["marker as a top key", { "--- a": 1, "...": 2 }, '"--- a": 1\n"...": 2\n'],
    ["marker as a deeper key and as values", { x: { "--- a": "..." }, z: ["--- b"] }, "x:\n  --- a: ...\nz:\n  - --- b\n"],
    ["marker inside a top-level block", "a\n---\nb", "|-\n  a\n  ---\n  b\n"],
    // block scalars
    ["strip", { k: "a\nb" }, "k: |-\n  a\n  b\n"],
    ["clip", { k: "a\nb\n" }, "k: |\n  a\n  b\n"],
    ["keep", { k: "a\nb\n\n" }, "k: |+\n  a\n  b\n\n"],
    ["indentation indicator", [" a\nb", { k: "  a\nb" }], "- |2-\n   a\n  b\n- k: |2-\n      a\n    b\n"],
    ["multi-line key", { "a\nb": 1, 'a"\nb': 2 }, '"a\\nb": 1\n"a\\"\\nb": 2\n'],
    ["multi-line with indicators", { k: "- a\nb:" }, "k: |-\n  - a\n  b:\n"],
    // double quotes
    ["escapes", { k: "\0\x07\x0b\x1b\x01\t\r\b\f\\" }, 'k: "\\0\\a\\v\\e\\x01\\t\\r\\b\\f\\\\"\n'],
    ["raw breaks escaped", { k: "\x7f\x85\u2028\u2029\ufeff" }, 'k: "\\u007f\\u0085\\u2028\\u2029\\ufeff"\n'],
    ["lone surrogates", ["\ud800", "a\udc00", "\ud83d\ude80"], '- "\\ud800"\n- "a\\udc00"\n- 🚀\n'],
    ["blank line forces double quotes", { k: "  \n", l: "a\n \nb" }, 'k: " \\ \\n"\nl: "a\\n\\ \\nb"\n'],
    ["short: breaks stay escaped", { k: "a\tb\nc \nd" }, 'k: "a\\tb\\nc\\ \\nd"\n'],
    ["long: breaks fold", { k: "a".repeat(40) + "\t\n\n x\ny\n" }, `k: "${"a".repeat(40)}\\t\n\n\n  \\ x\n\n  y\\n"\n`],
    ["long key: no folding", { ["a".repeat(40) + "\t\nb"]: 1 }, `"${"a".repeat(40)}\\t\\nb": 1\n`],
    ["long at the top, marker", "\t" + "b".repeat(40) + "\n--- a", `"\\t${"b".repeat(40)}\n\n  --- a"\n`],
    ["long at the top, no marker", "\t" + "b".repeat(40) + "\nc", `"\\t${"b".repeat(40)}\n\nc"\n`],
  ];
  it.each(cases)("%s", (_name, input, expected) => {
    expect(toYaml(input)).toBe(expected);
    expect(referenceToYaml(input)).toBe(expected);
  });

  it("writes each document of a stream after `---`", () => {
    expect(toYamlStream([{ a: 1 }, ["b"]])).toBe("---\na: 1\n---\n- b\n");
    expect(parseYamlStream(toYamlStream([{ a: 1 }, ["b"]]))).toEqual([{ a: 1 }, ["b"]]);
  });
});

describe("toYaml takes plain data only", () => {
  it("writes an object reached twice in full each time (the reference wrote an anchor and an alias)", () => {
    const shared = { a: [1] };
    const v = { first: shared, again: [shared] };
    expect(toYaml(v)).toBe("first:\n  a:\n    - 1\nagain:\n  - a:\n      - 1\n");
    expect(referenceToYaml(v)).toBe("first: &a1\n  a:\n    - 1\nagain:\n  - *a1\n");
    expect(YAML.parse(toYaml(v))).toEqual(v);
  });

  class Point {
    x = 1;
  }
  it.each([
    ["a Map", new Map([["a", 1]]), /Map/],
    ["a Date", new Date(0), /Date/],
    ["a class instance", new Point(), /Point/],
    ["a function", () => 1, /function/],
    ["a symbol", Symbol("s"), /symbol/],
    ["a bigint", 1n, /bigint/],
  ])("refuses %s, at any depth", (_name, v, message) => {
    expect(() => toYaml(v)).toThrow(message);
    expect(() => toYaml({ a: [v] })).toThrow(message);
  });
});

describe("toYaml anchors a repeated string when asked", () => {
  it("writes it once under its anchor, where it first occurs, and as an alias after; readers get the same data", () => {
    fc.assert(
      fc.property(fc.oneof(longText, multiLineText, text), data, (s, other) => {
        const v = { first: { run: s }, other, jobs: [{ run: s }, { steps: [{ run: s }] }] };
        const out = toYaml(v, { anchors: new Map([[s, "kfm-run"]]) });
        expect(out.split("&kfm-run").length - 1).toBe(1);
        expect(out.indexOf("&kfm-run")).toBeLessThan(out.indexOf("*kfm-run"));
        // The same data as the output without anchors, to both kinds of reader.
        for (const version of ["1.1", "1.2"] as const) expect(YAML.parse(out, { version, maxAliasCount: -1 })).toEqual(YAML.parse(toYaml(v), { version }));
        expect(parseYamlStream(out)).toEqual(parseYamlStream(toYaml(v)));
      }),
      propertyParams(500),
    );
  });

  it("anchors nothing when the string occurs once (an unused anchor is an error to actionlint), or only as a key", () => {
    const anchors = new Map([["echo hi", "kfm-run"]]);
    expect(toYaml({ run: "echo hi", other: "x" }, { anchors })).toBe("run: echo hi\nother: x\n");
    expect(toYaml({ "echo hi": "echo hi" }, { anchors })).toBe("echo hi: echo hi\n");
    expect(toYaml({ a: "echo hi", b: ["echo hi"] }, { anchors })).toBe("a: &kfm-run echo hi\nb:\n  - *kfm-run\n");
  });

  it("without anchors, writes what it always wrote", () => {
    const v = { a: "echo hi", b: ["echo hi"] };
    expect(toYaml(v, { anchors: new Map() })).toBe(referenceToYaml(v));
  });
});
