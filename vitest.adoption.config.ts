import { defineConfig } from "vitest/config";

// `npm run test:adoption`: kfm-compile as a user adopts it, with the real tools: the
// pre-commit framework hooks installed by pre-commit 3.8 and 4.x (pinned in
// conformance/versions.env, installed by conformance/pre-commit/setup.sh), and the npm
// tarball installed into a scratch project running the README's commands. Kept out of
// `npm test`: it installs packages from the npm registry.
export default defineConfig({
  test: {
    // One temporary folder per run, removed at its end (test/temp-folder.ts).
    globalSetup: ["test/temp-folder.ts"],
    include: ["test/adoption/**/*.adoption.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
