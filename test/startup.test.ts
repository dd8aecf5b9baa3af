// What a command loads (issue 7: cold start). Packages that only some commands need are
// required where they are used, so the others start without them: handlebars only to
// write Airflow output, tinyglobby (and the picomatch it loads) only to expand a project
// config's globs, and ajv's schema compiler never (the validators are generated ahead of
// time, test/schema.test.ts). Each command runs in a child process, from the sources,
// and reports the CommonJS modules it loaded; no timing is measured here (npm run bench).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../src/assets.js";

const DIR = mkdtempSync(join(tmpdir(), "kfm-startup-"));
const RUNNER = join(DIR, "runner.mts");
const TSX = pathToFileURL(join(PACKAGE_ROOT, "node_modules/tsx/dist/loader.mjs")).href;
writeFileSync(
  RUNNER,
  `import { createRequire } from "node:module";
import { main } from ${JSON.stringify(pathToFileURL(join(PACKAGE_ROOT, "src/cli/index.ts")).href)};
let err = "";
const code = main(process.argv.slice(2), { stdout: () => {}, stderr: (s) => (err += s), cwd: process.cwd() });
process.stdout.write(JSON.stringify({ code, err, modules: Object.keys(createRequire(import.meta.url).cache) }));
`,
);

/** The exit code of `kfm-compile ...args`, and each package file it loaded, as `package/path`. */
function loads(args: string[], cwd = PACKAGE_ROOT): { code: number; err: string; packages: string[] } {
  const child = spawnSync(process.execPath, ["--import", TSX, RUNNER, ...args], { cwd, encoding: "utf8" });
  expect(child.status, child.stderr).toBe(0);
  const { code, err, modules } = JSON.parse(child.stdout) as { code: number; err: string; modules: string[] };
  const packages = modules.flatMap((m) => {
    const at = m.lastIndexOf("/node_modules/");
    return at < 0 ? [] : [m.slice(at + "/node_modules/".length)];
  });
  return { code, err, packages };
}

const from = (packages: string[], name: string) => packages.filter((p) => p.startsWith(`${name}/`));

describe("what each command loads", { timeout: 60_000 }, () => {
  it("given --version, validate and --target argo, then neither handlebars nor tinyglobby nor ajv's compiler is loaded", () => {
    for (const args of [["--version"], ["validate", "specs/contract-4.2-workflow.yaml"], ["specs/contract-4.2-workflow.yaml", "--target", "argo"]]) {
      const { code, err, packages } = loads(args);
      expect(code, err).toBe(0);
      expect(from(packages, "handlebars"), args.join(" ")).toEqual([]);
      expect(from(packages, "tinyglobby"), args.join(" ")).toEqual([]);
      expect(from(packages, "picomatch"), args.join(" ")).toEqual([]);
      expect(
        from(packages, "ajv").filter((p) => !p.startsWith("ajv/dist/runtime/")),
        args.join(" "),
      ).toEqual([]);
    }
  });

  it("given validate, then the generated validators' runtime helper is what it loads of ajv (the probe sees required packages)", () => {
    const { code, packages } = loads(["validate", "specs/contract-4.2-workflow.yaml"]);
    expect(code).toBe(0);
    expect(from(packages, "ajv")).toEqual(["ajv/dist/runtime/ucs2length.js"]);
  });

  it("given --target airflow, then handlebars is loaded to write the DAG", () => {
    const { code, err, packages } = loads(["specs/contract-4.2-workflow.yaml", "--target", "airflow"]);
    expect(code, err).toBe(0);
    expect(from(packages, "handlebars")).not.toEqual([]);
  });

  it("given a project config, then tinyglobby is loaded to expand its globs", () => {
    const dir = mkdtempSync(join(tmpdir(), "kfm-startup-project-"));
    writeFileSync(join(dir, "kfm.config.yaml"), "specs: ['*.yaml', '!kfm.config.yaml']\ntargets:\n  argo: {out: argo}\n");
    writeFileSync(join(dir, "job.yaml"), "job:\n  name: one\n  image: x:1\n");
    const { code, err, packages } = loads(["check"], dir);
    expect(err).toMatch(/missing/);
    expect(code).toBe(1);
    expect(from(packages, "tinyglobby")).not.toEqual([]);
  });
});

describe("the Kubernetes client", () => {
  it("given the bundle, then @kubernetes/client-node is left out of it and imported only on first use, by apply (src/cli/kube.ts)", () => {
    const bundle = readFileSync(join(PACKAGE_ROOT, "dist/kfm-compile.js"), "utf8");
    const mentions = [...bundle.matchAll(/.*@kubernetes\/client-node.*/g)].map((m) => m[0].trim());
    expect(mentions).toEqual(['const { KubeConfig } = await import("@kubernetes/client-node");']);
    // and the module holding that import is itself imported on first use only
    expect(bundle).toMatch(/await Promise\.resolve\(\)\.then\(\(\) => \(init_kube\(\), kube_exports\)\)/);
  });
});
