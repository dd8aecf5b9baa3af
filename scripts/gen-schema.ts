// Writes schemas/workflow.schema.json from the spec types, and the spec reference in
// README.md from the schema; `--check` fails when either committed file is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { generateSpecSchema, SCHEMA_PATH } from "../src/spec/schema-gen.js";
import { specReference, withReference } from "../src/spec/reference.js";

const schema = generateSpecSchema();
const readme = withReference(readFileSync("README.md", "utf8"), specReference(JSON.parse(schema)));
if (process.argv.includes("--check")) {
  const stale = [
    ...(readFileSync(SCHEMA_PATH, "utf8") !== schema ? [`${SCHEMA_PATH} is stale: run npm run schema`] : []),
    ...(readFileSync("README.md", "utf8") !== readme ? ["the spec reference in README.md is stale: run npm run schema"] : []),
  ];
  for (const line of stale) console.error(line);
  process.exit(stale.length > 0 ? 1 : 0);
} else {
  writeFileSync(SCHEMA_PATH, schema);
  writeFileSync("README.md", readme);
}
