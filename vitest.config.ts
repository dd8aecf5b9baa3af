import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/conformance/**", "test/adoption/**", "test/execution/**/*.execution.test.ts", "node_modules/**"],
  },
});
