/** Reading folders back in tests. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

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
