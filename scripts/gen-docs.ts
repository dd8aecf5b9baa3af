// Writes the generated documentation: schemas/workflow.schema.json from the spec
// types, schemas/config.schema.json from the project config types (src/config/types.ts), the spec and config references in README.md from the schemas, docs/support-matrix.md
// from the targets' feature tables, and the validators compiled from both schemas (scripts/gen-validators.ts). `--check` fails when a committed file is stale.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { TARGETS } from "../targets/index.js";
import { supportMatrix } from "../src/explain.js";
import { CONFIG_SCHEMA_PATH, generateConfigSchema, generateSpecSchema, SCHEMA_PATH, withTargetOptions } from "../src/spec/schema-gen.js";
import { generateValidators, VALIDATORS_PATH } from "./gen-validators.js";
import { configReference, optionsReference, specReference, withConfigReference, withOptionsReference, withReference } from "../src/spec/reference.js";

const schema = generateSpecSchema();
// The validators check the config's shape with every target's options open; each
// target's options are checked by src/options.ts (did-you-mean, per target). The
// published schema, which editors read, has each target's options spelled out.
const configSchema = generateConfigSchema();
const publishedConfigSchema = withTargetOptions(configSchema, TARGETS);
const readme = withReference(readFileSync("README.md", "utf8"), specReference(JSON.parse(schema)));
const files: [string, string][] = [
  [SCHEMA_PATH, schema],
  [CONFIG_SCHEMA_PATH, publishedConfigSchema],
  ["README.md", withOptionsReference(withConfigReference(readme, configReference(JSON.parse(configSchema))), optionsReference(TARGETS))],
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
