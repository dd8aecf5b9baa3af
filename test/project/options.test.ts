/**
 * Target options, run files and folder files, through the same selection, compile and
 * check code the CLI uses, with a small backend declared here (so these rules hold for
 * any backend, not only the four of targets/index.ts).
 */
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { argo } from "../../targets/argo/index.js";
import type { Target } from "../../targets/types.js";
import { checkOutputs, difference, staleReason, trustCurrent } from "../../src/check.js";
import { TARGETS } from "../../targets/index.js";
import { withOptions } from "../../src/cli/project.js";
import { UsageError } from "../../src/cli/common.js";
import { parseConfig } from "../../src/config/load.js";
import { HEADER_MARK, hashComment, headerLines, readHeader, sealHolds } from "../../src/header.js";
import { changedOptions, option, optionsDigest, parseOptionText, resolveOptions } from "../../src/options.js";
import { problem, warning } from "../../src/diagnostics.js";
import { compileSelection, relativeDisplay, selectionFolders, type Selection } from "../../src/project.js";
import { writeOutputs } from "../../src/write.js";
import { readSpec } from "../../src/cli/common.js";

const OPTIONS = {
  namespace: option.string({ description: "where", pattern: /^[a-z]+$/, patternText: "lower-case letters" }),
  labels: option.strings({ description: "runner labels", default: ["linux"] }),
  paused: option.boolean({ description: "paused", default: false }),
  replicas: option.integer({ description: "how many", minimum: 1, maximum: 5 }),
  mode: option.oneOf({ description: "mode", values: ["fast", "safe"], default: "safe" }),
  context: option.mapping({ description: "a mapping" }),
};

/** A backend whose output shows the options it was given, with a run file and a folder file. */
const demo: Target = {
  ...argo,
  name: "demo",
  extension: "txt",
  options: OPTIONS,
  check: () => [],
  emit: (ir, o = {}) => hashComment(headerLines(ir, "demo")) + `workflow ${ir.name} namespace=${String((o as { namespace?: string }).namespace)}\n`,
  run: (ir) => hashComment(headerLines(ir, "demo")) + `run ${ir.name}\n`,
  folderFiles: (entries, _o, header) => [{ name: "index.txt", text: hashComment(header) + entries.map((e) => `${e.file}\n`).join("") }],
};

const SPEC = (name: string) => `workflow:\n  name: ${name}\n  jobs:\n    - job:\n        name: a\n        image: busybox:1.36\n`;

function project(): { dir: string; sel: (options?: Record<string, unknown>) => Selection } {
  const dir = mkdtempSync(join(tmpdir(), "kfm-options-"));
  mkdirSync(join(dir, "specs"));
  writeFileSync(join(dir, "specs/one.yaml"), SPEC("one"));
  writeFileSync(join(dir, "specs/two.yaml"), SPEC("two"));
  return {
    dir,
    sel: (given = {}) => {
      const r = resolveOptions("demo", OPTIONS, given, []);
      if (r.options === null) throw new Error(JSON.stringify(r.problems));
      return {
        base: dir,
        root: dir,
        specs: [join(dir, "specs/one.yaml"), join(dir, "specs/two.yaml")],
        targets: [{ target: demo, folder: "deploy/demo", runsFolder: "deploy/demo-runs", options: { ...r.options, digest: optionsDigest(r.options.given) } }],
        whole: true,
        display: relativeDisplay(dir),
        readFile: readSpec,
      };
    },
  };
}

describe("target options", () => {
  it("fills in defaults, keeps what was given apart, and refuses unknown names with a did-you-mean", () => {
    const ok = resolveOptions("demo", OPTIONS, { namespace: "data" }, ["targets", "demo", "options"]);
    expect(ok.problems).toEqual([]);
    expect(ok.options).toEqual({
      values: { namespace: "data", labels: ["linux"], paused: false, replicas: undefined, mode: "safe", context: undefined },
      given: { namespace: "data" },
    });
    const bad = resolveOptions("demo", OPTIONS, { namespce: "data", mode: "fats", replicas: 9, labels: ["a", "a"], namespace: "Data" }, [
      "targets",
      "demo",
      "options",
    ]);
    expect(bad.options).toBeNull();
    expect(bad.problems.map((p) => [p.code, p.at.join("."), p.message])).toEqual([
      ["KFM013", "targets.demo.options.namespce", "Unknown demo option `namespce`. Did you mean 'namespace'?"],
      ["KFM014", "targets.demo.options.mode", "The demo option `mode` is one of `fast`, `safe`, not `fats`. Did you mean 'fast'?"],
      ["KFM014", "targets.demo.options.replicas", "The demo option `replicas` is a whole number from 1 to 5, not `9`."],
      ["KFM014", "targets.demo.options.labels", "The demo option `labels` lists an item twice."],
      ["KFM014", "targets.demo.options.namespace", "The demo option `namespace` must be lower-case letters; `Data` is not."],
    ]);
  });

  it("says what a value of the wrong type is, and to quote a number or boolean YAML read where text is wanted", () => {
    const bad = resolveOptions("demo", OPTIONS, { namespace: 42, labels: ["a", true], context: ["x"], replicas: "3" }, []);
    expect(bad.problems.map((p) => p.message)).toEqual([
      "The demo option `namespace` is text, not `42` (quote it in YAML: '42').",
      "The demo option `labels` is a list of text; the item `true` is not text (quote it in YAML: 'true').",
      'The demo option `context` is a mapping, not `["x"]`.',
      'The demo option `replicas` is a whole number from 1 to 5, not `"3"`.',
    ]);
  });

  it("checks the options against each other once each is valid, placing the target's problems inside the mapping", () => {
    const related = (v: Record<string, unknown>) =>
      v.paused === true && v.replicas !== undefined
        ? [problem("KFM260", "paused and replicas exclude each other.", ["replicas"]), warning("KFM260", "about the whole mapping.", [])]
        : [];
    const at = ["targets", "demo", "options"];
    const both = resolveOptions("demo", OPTIONS, { paused: true, replicas: 2 }, at, related);
    expect(both.options).toBeNull();
    expect(both.problems.map((p) => [p.severity, p.at.join("."), p.atKey])).toEqual([
      ["error", "targets.demo.options.replicas", false],
      ["warning", "targets.demo.options", true],
    ]);
    // Not while a value is wrong on its own: that is said first.
    expect(resolveOptions("demo", OPTIONS, { paused: true, replicas: 9 }, at, related).problems.map((p) => p.code)).toEqual(["KFM014"]);
    // A warning alone keeps the options.
    const warned = resolveOptions("demo", OPTIONS, { paused: true, replicas: 2 }, at, (v) => related(v).slice(1));
    expect(warned.options?.given).toEqual({ paused: true, replicas: 2 });
  });

  it("reads --option text as the declared type", () => {
    expect(parseOptionText(OPTIONS.labels, "self-hosted, gpu")).toEqual({ value: ["self-hosted", "gpu"] });
    expect(parseOptionText(OPTIONS.paused, "true")).toEqual({ value: true });
    expect(parseOptionText(OPTIONS.paused, "yes")).toEqual({ error: "is `true` or `false`" });
    expect(parseOptionText(OPTIONS.replicas, "3")).toEqual({ value: 3 });
    expect(parseOptionText(OPTIONS.context, '{"runAsUser": 1000}')).toEqual({ value: { runAsUser: 1000 } });
    expect("error" in parseOptionText(OPTIONS.context, "runAsUser=1000")).toBe(true);
  });

  it("names each option given with a short digest of its value, whatever the key order, and says none for nothing", () => {
    expect(optionsDigest({})).toBe("none");
    expect(optionsDigest({ b: { y: 1, x: 2 }, a: 1 })).toMatch(/^a sha256:[0-9a-f]{12}, b sha256:[0-9a-f]{12}$/);
    expect(optionsDigest({ a: 1, b: { y: 1, x: 2 } })).toBe(optionsDigest({ b: { x: 2, y: 1 }, a: 1 }));
    expect(optionsDigest({ a: 1 })).not.toBe(optionsDigest({ a: 2 }));
    // The header reads it back, and still reads the one digest older files carry.
    const text = (value: string) =>
      `# ${HEADER_MARK} 1.0.0 (target demo) from s.yaml\n# spec digest: sha256:00\n# output digest: sha256:11\n# options: ${value}\n`;
    expect(readHeader(text(optionsDigest({ namespace: "x", runsOn: ["a"] })))!.options).toBe(optionsDigest({ namespace: "x", runsOn: ["a"] }));
    expect(readHeader(text(`sha256:${"a".repeat(64)}`))!.options).toBe(`sha256:${"a".repeat(64)}`);
    expect(readHeader(text("namespace=prod"))!.options).toBeNull();
  });

  it("tells which options changed between two headers, and nothing when an old header does not name them", () => {
    const before = optionsDigest({ namespace: "data", paused: true, labels: ["x"] });
    const now = optionsDigest({ namespace: "prod", labels: ["x"], replicas: 2 });
    expect(changedOptions(before, now)).toEqual([
      { name: "namespace", change: "changed" },
      { name: "paused", change: "removed" },
      { name: "replicas", change: "added" },
    ]);
    expect(changedOptions("none", "none")).toEqual([]);
    expect(changedOptions(`sha256:${"a".repeat(64)}`, now)).toBeNull();
  });

  it("every target's option names fit the header line", () => {
    for (const t of TARGETS) {
      const all = Object.fromEntries(Object.keys(t.options).map((k) => [k, 1]));
      expect(optionsDigest(all).split(", ").length, t.name).toBe(Math.max(1, Object.keys(all).length));
    }
  });

  it("--option goes to the targets that declare it, over the config's, and a name no selected target has is a usage error", () => {
    const { sel } = project();
    const targets = sel({ namespace: "config" }).targets.map((t) => ({ ...t }));
    const [t] = withOptions(targets, { option: ["namespace=cli", "demo.paused=true"] });
    expect(t!.options!.given).toEqual({ namespace: "cli", paused: true });
    expect(() => withOptions(targets, { option: ["namespac=x"] })).toThrow(UsageError);
    expect(() => withOptions(targets, { option: ["namespac=x"] })).toThrow(/Did you mean 'namespace'/);
    expect(() => withOptions(targets, { option: ["paused=maybe"] })).toThrow(/is `true` or `false`/);
    expect(() => withOptions(targets, { option: ["namespace"] })).toThrow(/name=value/);
    expect(() => withOptions(targets, { option: ["dmeo.namespace=x"] })).toThrow(/`dmeo` is not a selected target \(demo\)\. Did you mean 'demo'\?/);
  });

  it("given an option named for a target that lacks it but another selected target has, then the error names the target that has it", () => {
    const { sel } = project();
    const [base] = sel({}).targets;
    const other = { ...demo, name: "other", options: { runsOn: option.string({ description: "Runner labels." }) } };
    const targets = [
      { ...base!, target: demo },
      { ...base!, target: other },
    ];
    expect(() => withOptions(targets, { option: ["demo.runsOn=x"] })).toThrow(
      /^--option demo\.runsOn: demo has no option `runsOn`\. It is an option of other: write `other\.runsOn=\.\.\.`\.$/,
    );
    expect(() => withOptions(targets, { option: ["demo.namespac=x"] })).toThrow(
      /^--option demo\.namespac: demo has no option `namespac`\. Did you mean 'namespace'\?$/,
    );
  });

  it("--option is checked against the other options, the config's included, by the target's checkOptions", () => {
    const { sel } = project();
    const strict = {
      ...demo,
      checkOptions: (o: { paused?: boolean; mode?: string }) => (o.paused && o.mode === "fast" ? [problem("KFM260", "a paused run cannot be fast.", [])] : []),
    };
    const targets = sel({ paused: true }).targets.map((t) => ({ ...t, target: strict }));
    expect(() => withOptions(targets, { option: ["mode=fast"] })).toThrow(/^--option: a paused run cannot be fast\.$/);
    expect(withOptions(targets, { option: ["mode=safe"] })[0]!.options!.given).toEqual({ paused: true, mode: "safe" });
  });
});

describe("run files, folder files and the options line", () => {
  it("writes run files to the runs folder and the folder file from every workflow, each with the options digest in its header", () => {
    const { dir, sel } = project();
    const compiled = compileSelection(sel({ namespace: "data" }));
    expect(compiled.diagnostics.map((d) => d.message)).toEqual([]);
    expect(compiled.outputs.map((o) => [o.path, o.role ?? "output"])).toEqual([
      ["deploy/demo/one.txt", "output"],
      ["deploy/demo-runs/one.run.txt", "run"],
      ["deploy/demo/two.txt", "output"],
      ["deploy/demo-runs/two.run.txt", "run"],
      ["deploy/demo/index.txt", "folder"],
    ]);
    const index = compiled.outputs.find((o) => o.role === "folder")!;
    expect(index.text.endsWith("one.txt\ntwo.txt\n")).toBe(true);
    for (const o of compiled.outputs) {
      expect(readHeader(o.text)!.options).toBe(optionsDigest({ namespace: "data" }));
      expect(sealHolds(o.path.slice(o.path.lastIndexOf("/") + 1), o.text)).toBe(true);
    }
    expect(compiled.outputs[0]!.text).toContain("namespace=data");
    writeOutputs(dir, compiled.outputs, { force: false });
    expect(readFileSync(join(dir, "deploy/demo-runs/one.run.txt"), "utf8")).toContain("run one");
  });

  it("check trusts nothing once an option changed, and says the options changed", () => {
    const { dir, sel } = project();
    writeOutputs(dir, compileSelection(sel({ namespace: "data" })).outputs, { force: false });
    const same = sel({ namespace: "data" });
    expect(trustCurrent(same).compile).toEqual([]);
    const changed = sel({ namespace: "prod" });
    expect(trustCurrent(changed).trusted).toEqual([]);
    const compiled = compileSelection(changed);
    const result = checkOutputs(dir, compiled.outputs, selectionFolders(changed));
    expect(result.stale.map((s) => [s.path, s.why])).toEqual([
      ["deploy/demo/one.txt", "options-changed"],
      ["deploy/demo-runs/one.run.txt", "options-changed"],
      ["deploy/demo/two.txt", "options-changed"],
      ["deploy/demo-runs/two.run.txt", "options-changed"],
      ["deploy/demo/index.txt", "options-changed"],
    ]);
    expect(result.stale.map(staleReason)).toEqual(
      Array(5).fill("stale: the target's options (kfm.config.yaml or --option) changed since it was generated: `namespace` changed. Run kfm-compile"),
    );
    const more = sel({ paused: true });
    const reasons = checkOutputs(dir, compileSelection(more).outputs, selectionFolders(more)).stale.map(staleReason);
    expect(new Set(reasons)).toEqual(
      new Set([
        "stale: the target's options (kfm.config.yaml or --option) changed since it was generated: `namespace` is no longer given, `paused` is now given. Run kfm-compile",
      ]),
    );
  });

  it("a deleted run file makes its spec compiled again, and a workflow gone from the folder makes the folder file stale", () => {
    const { dir, sel } = project();
    writeOutputs(dir, compileSelection(sel()).outputs, { force: false });
    writeFileSync(join(dir, "deploy/demo-runs/one.run.txt"), "");
    expect(trustCurrent(sel()).compile).toEqual([join(dir, "specs/one.yaml")]);
    const fewer = { ...sel(), specs: [join(dir, "specs/one.yaml")] };
    const compiled = compileSelection(fewer);
    const index = compiled.outputs.find((o) => o.role === "folder")!;
    const onDisk = readFileSync(join(dir, "deploy/demo/index.txt"), "utf8");
    expect(difference(onDisk, index.text)).toBe("folder-changed");
  });

  it("writes no folder file when only part of the folder's specs is compiled", () => {
    const { sel } = project();
    const part = compileSelection({ ...sel(), whole: false });
    expect(part.outputs.some((o) => o.role === "folder")).toBe(false);
  });
});

describe("the runs folder in kfm.config.yaml", () => {
  const parse = (targets: string) => parseConfig("kfm.config.yaml", `specs: [specs/*.yaml]\ntargets:\n${targets}`, join(project().dir, "kfm.config.yaml"));

  it("defaults to the output folder followed by -runs", () => {
    const { project: p, diagnostics } = parse("  argo:\n    out: deploy/argo\n");
    expect(diagnostics).toEqual([]);
    expect(p!.targets.map((t) => [t.out, t.runs])).toEqual([["deploy/argo", "deploy/argo-runs"]]);
  });

  it("refuses a runs folder that is the output folder, inside it, or holding it (KFM015)", () => {
    for (const runs of ["deploy/argo", "deploy/argo/runs", "deploy"]) {
      const { project: p, diagnostics } = parse(`  argo:\n    out: deploy/argo\n    runs: ${runs}\n`);
      expect(p).toBeNull();
      expect(diagnostics.map((d) => [d.code, d.line])).toEqual([["KFM015", 5]]);
    }
  });

  it("says a folder problem and an option problem of one target at once", () => {
    const { diagnostics } = parse("  argo:\n    out: deploy/argo\n    runs: deploy/argo\n    options:\n      nonexistent: 1\n");
    expect(diagnostics.map((d) => d.code).sort()).toEqual(["KFM013", "KFM015"]);
  });

  it("refuses GitHub registry options given in part once, at the target's options key, with the config's other problems (KFM260)", () => {
    const { diagnostics } = parse(
      "  argo:\n    out: deploy/argo\n    runs: deploy/argo\n  github-actions:\n    out: .github/workflows\n    options:\n      registry: ghcr.io\n",
    );
    expect(diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([
      ["KFM015", 5, 11],
      ["KFM260", 8, 5],
    ]);
    expect(diagnostics[1]!.message).toMatch(/only `registry` is given: add `registryUsername` and `registryPasswordSecret`, or remove it/);
    const whole = parse(
      "  github-actions:\n    out: .github/workflows\n    options:\n      registry: ghcr.io\n      registryUsername: u\n      registryPasswordSecret: P\n",
    );
    expect(whole.diagnostics).toEqual([]);
  });

  it("refuses an unknown option where it is written, with a did-you-mean (KFM013)", () => {
    const { diagnostics } = parse("  argo:\n    out: deploy/argo\n    options:\n      nonexistent: 1\n");
    expect(diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([["KFM013", 6, 7]]);
  });
});
