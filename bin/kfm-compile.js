#!/usr/bin/env node
// Runs the built CLI: npm run bundle (done by `npm ci` through the prepare script) bundles it
// into one file, which starts faster than its modules one by one (scripts/bundle.ts).
import { main } from "../dist/kfm-compile.js";

process.exitCode = await main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  cwd: process.cwd(),
  // The progress line rewrites itself with a carriage return and an erase-line escape:
  // only for a terminal that understands them, never into a file, pipe or CI log.
  isTTY: process.stderr.isTTY === true && process.env.TERM !== "dumb",
});
