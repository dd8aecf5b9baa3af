// What the npm package holds (issue 11): the committed bundle is what the sources build,
// the tarball ships what runs and the documents the READMEs link to and no tests, and
// the runtime dependencies are exactly the packages the bundle loads.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/assets.js";
import { buildPackage } from "../files.js";

const BUNDLE = "dist/kfm-compile.js";

/** The files `npm pack` would put in the tarball, relative to the package root. */
function packedFiles(): string[] {
  const pack = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PACKAGE_ROOT, encoding: "utf8" });
  expect(pack.status, pack.stderr).toBe(0);
  const [report] = JSON.parse(pack.stdout) as { files: { path: string }[] }[];
  return report!.files.map((f) => f.path).sort();
}

/** The packages a bundle loads at run time (bare specifiers of require calls and dynamic imports), without Node's own modules. */
function packagesLoadedBy(bundle: string): string[] {
  const names = new Set<string>();
  for (const m of bundle.matchAll(/\b(?:require\d*|createRequire\d*\(import\.meta\.url\)|import)\(\s*"([^"]+)"\s*\)/g)) {
    const spec = m[1]!;
    if (spec.startsWith("node:") || builtinModules.includes(spec) || spec.startsWith(".")) continue;
    names.add(
      spec
        .split("/")
        .slice(0, spec.startsWith("@") ? 2 : 1)
        .join("/"),
    );
  }
  return [...names].sort();
}

describe("the npm package", () => {
  it("given package.json, then it has no script that makes npm prepare a git dependency (installing every devDependency first, as the pre-commit hooks' git install would)", () => {
    // npm's git fetcher prepares a clone whose package.json has any of these scripts
    // (pacote lib/git.js): a full devDependency install on each user's first hook run, which
    // the adoption suite saw fail (ENOTEMPTY) with a `build` script.
    const scripts = Object.keys((JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { scripts: object }).scripts);
    expect(scripts.filter((s) => ["build", "preinstall", "install", "postinstall", "prepack", "prepare"].includes(s))).toEqual([]);
  });

  it("given the sources, when built in a scratch package folder, then the bundle is byte for byte the committed dist/kfm-compile.js (else run npm run bundle and commit it)", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-bundle-"));
    buildPackage(dir);
    const fresh = readFileSync(join(dir, BUNDLE), "utf8");
    const committed = readFileSync(join(PACKAGE_ROOT, BUNDLE), "utf8");
    // Compared as booleans first: a 1 MB string diff helps nobody.
    expect(fresh === committed, `${BUNDLE} is stale: run npm run bundle and commit it`).toBe(true);
  }, 180_000);

  it("given npm pack, then it lists the CLI, its assets and the documents, and no test, source or build file", () => {
    const files = packedFiles();
    expect(files.filter((f) => /(^|\/)test\/|\.test\.|\.ts$|^dist\/(?!kfm-compile\.js$)|^golden\/|^specs\//.test(f))).toEqual([]);
    for (const f of [
      "bin/kfm-compile.js",
      BUNDLE,
      "schemas/workflow.schema.json",
      "schemas/config.schema.json",
      "targets/airflow/dag.py.hbs",
      "scripts/pre-commit",
      "package.json",
      "README.md",
    ]) {
      expect(files, f).toContain(f);
    }
  }, 60_000);

  it("given the READMEs in the package, then every relative link in them names a file the package ships", () => {
    const files = new Set(packedFiles());
    const broken: string[] = [];
    for (const doc of [...files].filter((f) => f.endsWith(".md"))) {
      // Code (fenced blocks, inline spans) is not prose: a pattern like `[a-z](x)?` is no link.
      const text = readFileSync(join(PACKAGE_ROOT, doc), "utf8")
        .replace(/^```[\s\S]*?^```/gm, "")
        .replace(/`[^`\n]*`/g, "");
      for (const m of text.matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target)) continue;
        const path = normalize(join(dirname(doc), target));
        if (!files.has(path) && ![...files].some((f) => f.startsWith(`${path}/`))) broken.push(`${doc}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  }, 60_000);

  it("given package.json, then no script runs when the package is installed or packed (a git install runs it without dev dependencies, npm/cli#8440)", () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(
      Object.keys(pkg.scripts).filter((s) =>
        ["preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare", "prepack", "postpack"].includes(s),
      ),
    ).toEqual([]);
  });

  it("given the committed bundle, then the runtime dependencies are exactly the packages it loads", () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    const loaded = packagesLoadedBy(readFileSync(join(PACKAGE_ROOT, BUNDLE), "utf8"));
    expect(Object.keys(pkg.dependencies).sort()).toEqual(loaded);
  });

  it("given a require of a package, a scoped package, a dynamic import and Node's own modules, then only the packages are named", () => {
    const bundle = `const a = require2("ajv/dist/runtime/ucs2length"); createRequire(import.meta.url)("@scope/pkg/x"); require("node:fs"); require("buffer"); require("./local.js"); await import("@kube/client"); await import("node:os");`;
    expect(packagesLoadedBy(bundle)).toEqual(["@kube/client", "@scope/pkg", "ajv"]);
  });
});
