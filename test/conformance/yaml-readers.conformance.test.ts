/**
 * Issue 12: every generated YAML file, read by the three YAML readers it meets, means
 * the same: the `yaml` package (YAML 1.2 and 1.1), PyYAML (the Airflow venv's), and
 * sigs.k8s.io/yaml (conformance/go/k8syaml: kubectl, the argo CLI, the controllers, and
 * the API server under server-side apply). For Kubernetes files (Argo, Tekton) every
 * container also decodes into corev1.Container. Two sources: every spec in specs/, and
 * generated specs with numbers, timestamps, noncharacters, surrogates and controls in
 * every string field, which either compile on every target and read back byte for byte,
 * or are refused in the core (KFM240) the same way for every target.
 */
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { analyze, compileFor } from "../../src/compile.js";
import { TARGETS } from "../../targets/index.js";
import { propertyParams, specLiteral, specYaml, UNCARRIED_CHARS } from "../hostile/arbitraries.js";
import { k8syamlBinary, readK8sYaml, readPyYaml, readYamlPackage, type K8sFile, type Reading } from "../yaml-readers.js";
import { CACHE, compileAll, setup } from "./runners.js";

const YAML_TARGETS = new Set(["argo", "tekton", "github-actions"]);
const KUBERNETES = new Set(["argo", "tekton"]);

let go = "";
let python = "";
beforeAll(() => {
  setup();
  go = k8syamlBinary(CACHE) ?? "";
  python = join(CACHE, "venv", "bin", "python");
});

/** The three readers agree on each file, and sigs.k8s.io/yaml decodes its containers and survives server-side apply. */
function expectSameMeaning(files: readonly { label: string; target: string; text: string }[]): void {
  const py = readPyYaml(
    files.map((f) => f.text),
    python,
  );
  const k8s = readK8sYaml(
    go,
    files.map((f) => f.text),
  );
  files.forEach((f, i) => {
    const where = `${f.label} (${f.target})`;
    const yaml12 = readYamlPackage(f.text, "1.2");
    expect(yaml12, `${where}: the yaml package (1.2)`).toMatchObject({ ok: true });
    expect(readYamlPackage(f.text, "1.1"), `${where}: the yaml package (1.1)`).toEqual(yaml12);
    expect(py[i], `${where}: PyYAML`).toEqual(yaml12);
    expectGoReads(k8s[i]!, yaml12, f.target, where);
  });
}

function expectGoReads(file: K8sFile, yaml12: Reading, target: string, where: string): void {
  expect(file.error, `${where}: sigs.k8s.io/yaml`).toBeUndefined();
  const docs = yaml12.ok ? yaml12.docs : [];
  expect(file.docs.length, `${where}: documents`).toBe(docs.length);
  file.docs.forEach((d, j) => {
    expect(d.error, `${where}: sigs.k8s.io/yaml, document ${j}`).toBeUndefined();
    expect(d.json, `${where}: sigs.k8s.io/yaml reads document ${j} differently`).toEqual(docs[j]);
    if (!KUBERNETES.has(target)) return;
    for (const c of d.containers ?? []) expect(c.error, `${where}: ${c.path} as corev1.Container`).toBeUndefined();
    expect(d.applyError, `${where}: server-side apply of document ${j}`).toBeUndefined();
    expect(d.applied, `${where}: server-side apply changes document ${j}`).toEqual(d.json);
  });
  if (KUBERNETES.has(target))
    expect(
      file.docs.some((d) => (d.containers ?? []).length > 0),
      `${where}: no container found`,
    ).toBe(true);
}

describe("every generated YAML file means the same to the yaml package, PyYAML and sigs.k8s.io/yaml", () => {
  it("for every spec in specs/ on every YAML target", () => {
    expect(go, "conformance/setup.sh builds bin/k8syaml").not.toBe("");
    const { outputs } = compileAll();
    const files = outputs
      .filter((o) => YAML_TARGETS.has(o.target) && o.drift === undefined)
      .map((o) => ({ label: o.spec, target: o.target, text: readFileSync(o.file, "utf8") }));
    expect(files.length).toBeGreaterThan(30);
    expectSameMeaning(files);
  });
});

// ---- generated text in every string field ----

/** Text that readers resolve to numbers or timestamps, or cannot carry, or carry only escaped. */
const piece = fc.oneof(
  // numbers as go-yaml, PyYAML or YAML 1.2 read them
  fc
    .tuple(
      fc.constantFrom("", "-", "+", "_"),
      fc.constantFrom("0", "1", "08", "0x", "0X", "0b", "0B", "0o", "0O", ".", "1:2"),
      fc.array(fc.constantFrom("0", "1", "7", "9", "f", "F", "_", ".", "e", "E", "+", "-", ":"), { maxLength: 5 }),
    )
    .map(([a, b, c]) => a + b + c.join("")),
  // timestamps, with zones of any two digits and empty fractions
  fc
    .tuple(
      fc.constantFrom("2024-01-01", "2024-1-1", "1999-12-31"),
      fc.constantFrom("", "T00:00:00", "t1:02:03", " 00:00:00", "T00:00:00."),
      fc.constantFrom("", "Z", "+35", "-05:00", " +1", ".5Z"),
    )
    .map(([d, t, z]) => d + t + z),
  // YAML 1.1 words
  fc.constantFrom("on", "No", "y", "~", "null", "<<", "=", ".inf", ".NaN"),
  // noncharacters, surrogates, controls (C0, DEL, C1), separators, BOM
  fc.constantFrom("\ufffe", "\uffff", "\ufdd0", "\u{1fffe}", "\u{10ffff}", "\ud800", "\udfff", "\ufeff", "\u2028", "\u2029", "\u00a0"),
  fc
    .integer({ min: 0, max: 0x9f })
    .filter((c) => c < 0x20 || c >= 0x7f)
    .map((c) => String.fromCharCode(c)),
  fc.constantFrom("a", " ", "é", "🚀", "x: y", "# c", "- "),
);
const fieldText = fc.array(piece, { minLength: 1, maxLength: 3 }).map((a) => a.join(""));

interface Fields {
  readonly texts: readonly string[];
}

/** A spec with one generated text in every string field a user writes (template fields escaped as literals). */
function specOf(f: Fields): string {
  const [wd, jd, image, cmd, arg, env, param] = f.texts as [string, string, string, string, string, string, string];
  return specYaml({
    workflow: {
      name: "texts",
      description: wd,
      jobs: [
        {
          job: {
            name: "run",
            description: jd,
            // A reference has no spaces or controls (KFM223): the image gets its text only
            // when that text holds a character no target carries, to show KFM240 there too.
            image: "img:1" + (new RegExp(UNCARRIED_CHARS.source).test(image) ? specLiteral(image, 0) : ""),
            command: [specLiteral(cmd, 0)],
            args: [specLiteral(arg, 0), "{{ params.p }}"],
            env: { E: specLiteral(env, 0) },
            params: { p: specLiteral(param, 0) },
          },
        },
      ],
    },
  });
}

describe("generated specs with numbers, timestamps, noncharacters, surrogates and controls in every string field", () => {
  it("compile on every target and mean the same to the three readers, or are refused in the core the same way", () => {
    expect(go, "conformance/setup.sh builds bin/k8syaml").not.toBe("");
    // Half the specs with the characters no target carries taken out, so both outcomes are common.
    const spec = fc
      .tuple(fc.boolean(), fc.array(fieldText, { minLength: 7, maxLength: 7 }))
      .map(([clean, texts]) => (clean ? texts.map((t) => t.replace(UNCARRIED_CHARS, "") || "a") : texts));
    const samples = fc.sample(spec, { numRuns: 300, seed: propertyParams(1).seed });
    const files: { label: string; target: string; text: string }[] = [];
    let refused = 0;
    samples.forEach((texts, i) => {
      const text = specOf({ texts });
      const a = analyze(`specs/generated-${i}.yaml`, text);
      const uncarried = texts.some((t) => new RegExp(UNCARRIED_CHARS.source).test(t));
      const label = `generated ${i}: ${JSON.stringify(texts)}`;
      // Refused in the core exactly when some text holds a character no target carries.
      expect(
        a.diagnostics.some((d) => d.code === "KFM240"),
        label,
      ).toBe(uncarried);
      if (a.ir === null) {
        expect(uncarried, `${label}: refused for another reason: ${a.diagnostics.map((d) => d.message).join(" ")}`).toBe(true);
        refused++;
        return;
      }
      for (const t of TARGETS) {
        const r = compileFor(a, t);
        expect(r.output, `${label} on ${t.name}: ${r.diagnostics.map((d) => d.message).join(" ")}`).not.toBeNull();
        if (YAML_TARGETS.has(t.name)) files.push({ label, target: t.name, text: r.output!.text });
      }
    });
    // Not vacuous: both outcomes occur often.
    expect(refused).toBeGreaterThan(30);
    expect(files.length).toBeGreaterThan(3 * 100);
    expectSameMeaning(files);
  });
});
