#!/usr/bin/env node
// Runs the built CLI (npm run build, done by `npm ci` through the prepare script).
import { main } from "../dist/src/cli/index.js";

process.exitCode = main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  cwd: process.cwd(),
});
