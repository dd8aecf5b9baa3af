import { defineConfig } from "vitest/config";

// `npm run test:conformance`: hands every generated file to the runners' own code
// (conformance/README.md). Kept out of `npm test`: it installs Airflow and builds Go tools.
export default defineConfig({
  test: {
    // One temporary folder per run, removed at its end (test/temp-folder.ts); the conformance
    // tools installed once before any file starts (test/conformance/setup-once.ts).
    globalSetup: ["test/temp-folder.ts", "test/conformance/setup-once.ts"],
    include: ["test/conformance/**/*.conformance.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 1_800_000,
    fileParallelism: false,
  },
});
