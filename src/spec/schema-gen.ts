import { fileURLToPath } from "node:url";
import * as TJS from "typescript-json-schema";

const root = fileURLToPath(new URL("../../", import.meta.url));
export const SCHEMA_PATH = "schemas/workflow.schema.json";

/** Generates the spec's JSON Schema from `src/spec/types.ts`. Only the schema script and its test load this. */
export function generateSpecSchema(): string {
  const program = TJS.getProgramFromFiles([root + "src/spec/types.ts"], { strict: true, skipLibCheck: true });
  const schema = TJS.generateSchema(program, "SpecFile", {
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
  if (!schema) throw new Error("typescript-json-schema produced no schema");
  const withId = { $id: "https://kfm-compile.dev/schemas/workflow.schema.json", ...schema };
  return JSON.stringify(withId, null, 2) + "\n";
}

export const CONFIG_SCHEMA_PATH = "schemas/config.schema.json";

/** Generates the project configuration's JSON Schema from `src/config/types.ts`. */
export function generateConfigSchema(): string {
  const program = TJS.getProgramFromFiles([root + "src/config/types.ts"], { strict: true, skipLibCheck: true });
  const schema = TJS.generateSchema(program, "ProjectConfig", {
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
  if (!schema) throw new Error("typescript-json-schema produced no schema");
  const withId = { $id: "https://kfm-compile.dev/schemas/config.schema.json", ...schema };
  return JSON.stringify(withId, null, 2) + "\n";
}
