#!/usr/bin/env node
// Runs the built CLI: npm run build (done by `npm ci` through the prepare script) bundles it
// into one file, which starts faster than its modules one by one (scripts/bundle.ts).
import { main } from "../dist/kfm-compile.js";

process.exitCode = main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  cwd: process.cwd(),
});
