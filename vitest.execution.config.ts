import { defineConfig } from "vitest/config";

// `npm run test:execution`: runs generated files on each runner's own engine (Airflow's
// dag.test, Argo's workflow operator, Tekton's reconcilers, nektos/act) with the container
// replaced by a stub that follows a scenario, and compares each run with the reference
// interpreter (src/interpret.ts). Kept out of `npm test`: it uses the conformance cache.
export default defineConfig({
  test: {
    // One temporary folder per run, removed at its end (test/temp-folder.ts); the conformance
    // tools installed once before any file starts (test/conformance/setup-once.ts).
    globalSetup: ["test/temp-folder.ts", "test/conformance/setup-once.ts"],
    include: ["test/execution/**/*.execution.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 1_800_000,
    fileParallelism: false,
  },
});
