import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // One temporary folder per run, removed at its end (test/temp-folder.ts).
    globalSetup: ["test/temp-folder.ts"],
    include: ["test/**/*.test.ts"],
    exclude: ["test/conformance/**", "test/adoption/**", "test/execution/**/*.execution.test.ts", "node_modules/**"],
    // A hang guard, not a speed check (speed is `npm run bench`): the property tests run
    // hundreds of cases and take a few seconds alone, several times that on a loaded 2-core
    // machine, where vitest's 5 s default failed them (yaml-writer, huge-numbers, emission).
    testTimeout: 30_000,
  },
});
