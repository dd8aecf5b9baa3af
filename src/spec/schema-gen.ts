import { fileURLToPath } from "node:url";
import * as TJS from "typescript-json-schema";
import { optionsSchema, type OptionDecls } from "../options.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
export const SCHEMA_PATH = "schemas/workflow.schema.json";
export const CONFIG_SCHEMA_PATH = "schemas/config.schema.json";

/** A JSON Schema for the type `type` of the file `source` (relative to the package root), with `$id` set. */
function generate(source: string, type: string, id: string): string {
  const program = TJS.getProgramFromFiles([root + source], { strict: true, skipLibCheck: true });
  const schema = TJS.generateSchema(program, type, {
    required: true,
    noExtraProps: true,
    strictNullChecks: true,
    ref: true,
    aliasRef: false,
    titles: false,
    defaultProps: false,
    uniqueNames: false,
    validationKeywords: [],
  });
  if (!schema) throw new Error(`typescript-json-schema produced no schema for ${type}`);
  return JSON.stringify({ $id: id, ...schema }, null, 2) + "\n";
}

/** Generates the spec's JSON Schema from `src/spec/types.ts`. Only the docs script and its tests load this. */
export function generateSpecSchema(): string {
  return generate("src/spec/types.ts", "SpecFile", "https://kfm-compile.dev/schemas/workflow.schema.json");
}

/** Generates the project configuration's JSON Schema from `src/config/types.ts`. */
export function generateConfigSchema(): string {
  return generate("src/config/types.ts", "ProjectConfig", "https://kfm-compile.dev/schemas/config.schema.json");
}

/**
 * The config schema with each target's options spelled out under `targets.<name>.options`
 * (src/options.ts `optionsSchema`), for editors; other target names keep the open shape.
 */
export function withTargetOptions(configSchema: string, targets: readonly { readonly name: string; readonly options: OptionDecls }[]): string {
  const schema = JSON.parse(configSchema) as { properties: { targets: Record<string, unknown> } };
  schema.properties.targets.properties = Object.fromEntries(
    targets.map((t) => [t.name, { allOf: [{ $ref: "#/definitions/TargetConfig" }, { properties: { options: optionsSchema(t.options) } }] }]),
  );
  return JSON.stringify(schema, null, 2) + "\n";
}
