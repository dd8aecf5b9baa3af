/**
 * The Handlebars template of a target that writes its file through one (Airflow's DAG file,
 * Dagster's module): compiled once, on first use, in strict mode with no helpers and no
 * escaping, so a template only places the finished text its view model holds. Required
 * here, not imported: handlebars and its compiler took a large share of every start of
 * kfm-compile, and only these outputs need them.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { assetPath } from "../src/assets.js";

export function lazyTemplate<View>(path: string): (view: View) => string {
  let compiled: HandlebarsTemplateDelegate<View> | null = null;
  return (view) => {
    if (compiled === null) {
      const source = readFileSync(assetPath(path), "utf8");
      const Handlebars = createRequire(import.meta.url)("handlebars") as typeof import("handlebars");
      compiled = Handlebars.create().compile<View>(source, { strict: true, noEscape: true, knownHelpersOnly: true });
    }
    return compiled(view);
  };
}
