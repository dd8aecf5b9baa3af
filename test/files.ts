/** Reading folders back in tests, and the built CLI for tests that run it as a process. */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../src/assets.js";

/** Every file under `dir`, relative, `/`-separated, with its bytes. */
export function tree(dir: string, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) for (const [k, v] of tree(dir, rel)) out.set(k, v);
    else out.set(rel, readFileSync(join(dir, rel), "utf8"));
  }
  return out;
}

/**
 * Builds the CLI into `dir`, a package folder of its own, as `npm run bundle` does (tsc,
 * then the bundle of scripts/bundle.ts): a build in the shared dist/ could be rewritten
 * by another build while a test runs it. Its bin is then `dir`/bin/kfm-compile.js.
 */
export function buildPackage(dir: string): void {
  spawnSync(join(PACKAGE_ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.json", "--outDir", join(dir, "dist")], { cwd: PACKAGE_ROOT, encoding: "utf8" });
  for (const f of ["package.json", "bin"]) cpSync(join(PACKAGE_ROOT, f), join(dir, f), { recursive: true });
  for (const f of ["schemas", "targets", "node_modules"]) symlinkSync(join(PACKAGE_ROOT, f), join(dir, f));
  spawnSync(process.execPath, [join(dir, "dist/scripts/bundle.js")], { encoding: "utf8" });
  if (!existsSync(join(dir, "dist/kfm-compile.js"))) throw new Error("building the CLI into a package folder failed");
}
