/** Files shipped beside the code (the schema, templates), found the same way from `src/` under tsx and from `dist/` after a build. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("kfm-compile: package.json not found above " + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export const PACKAGE_ROOT = findRoot();

/** An asset path relative to the package root, for example `schemas/workflow.schema.json`. */
export function assetPath(relative: string): string {
  return join(PACKAGE_ROOT, relative);
}
