// Regenerates golden/ from specs/ and test/invalid/, deleting orphans. Read the diff before committing it.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { atomicWrite } from "../src/write.js";
import { GOLDEN_DIR, expectedGoldens, goldenFilesOnDisk } from "../test/matrix.js";

const expected = expectedGoldens();
for (const [rel, text] of expected) atomicWrite(join(GOLDEN_DIR, rel), text);
for (const rel of goldenFilesOnDisk()) {
  if (!expected.has(rel)) {
    rmSync(join(GOLDEN_DIR, rel));
    console.log(`removed orphan golden/${rel}`);
  }
}
console.log(`wrote ${expected.size} golden files; review them with git diff -- golden`);
