// Writes the generated documentation: schemas/workflow.schema.json from the spec
// types, schemas/config.schema.json from the project config types (src/config/types.ts), the spec and config references in README.md from the schemas, docs/support-matrix.md
// from the targets' feature tables, and the validators compiled from both schemas (scripts/gen-validators.ts). `--check` fails when a committed file is stale.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { TARGETS } from "../targets/index.js";
import { supportMatrix } from "../src/explain.js";
import { CONFIG_SCHEMA_PATH, generateConfigSchema, generateSpecSchema, SCHEMA_PATH } from "../src/spec/schema-gen.js";
import { generateValidators, VALIDATORS_PATH } from "./gen-validators.js";
import { configReference, specReference, withConfigReference, withReference } from "../src/spec/reference.js";

const schema = generateSpecSchema();
const configSchema = generateConfigSchema();
const readme = withReference(readFileSync("README.md", "utf8"), specReference(JSON.parse(schema)));
const files: [string, string][] = [
  [SCHEMA_PATH, schema],
  [CONFIG_SCHEMA_PATH, configSchema],
  ["README.md", withConfigReference(readme, configReference(JSON.parse(configSchema)))],
  ["docs/support-matrix.md", supportMatrix(TARGETS)],
  [VALIDATORS_PATH, generateValidators(schema, configSchema)],
];
if (process.argv.includes("--check")) {
  const stale = files.filter(([path, text]) => readFileSync(path, "utf8") !== text).map(([path]) => path);
  for (const path of stale) console.error(`${path} is stale: run npm run docs`);
  process.exit(stale.length > 0 ? 1 : 0);
} else {
  mkdirSync("docs", { recursive: true });
  for (const [path, text] of files) writeFileSync(path, text);
}
