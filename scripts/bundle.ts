/**
 * The last step of `npm run bundle`: the compiled CLI (dist/src/cli/index.js) and the
 * packages it imports, bundled into dist/kfm-compile.js, which bin/kfm-compile.js runs.
 *
 * Why: a cold start spent most of its time resolving, reading and linking some two
 * hundred small modules; one file loads in a fraction of that. The bundle is made from
 * tsc's output, so it holds the same code the tests run, only joined. Identifiers are
 * kept (no minifying), so a stack trace, which means a compiler bug, stays readable.
 *
 * Run from the build output (node dist/scripts/bundle.js): the folder above this file
 * is the one bundled, so a build into another --outDir bundles that one.
 */
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = dirname(dirname(fileURLToPath(import.meta.url)));

await build({
  entryPoints: [join(dist, "src", "cli", "index.js")],
  outfile: join(dist, "kfm-compile.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // CommonJS packages inside an ES module bundle (yaml's Node build) still call
  // require() for Node's own modules; ES modules have no require, so give them one.
  banner: { js: 'import { createRequire as bundleRequire } from "node:module";\nconst require = bundleRequire(import.meta.url);' },
  // Each module's code follows a comment naming it relative to the package root
  // (// dist/src/lower.js), which bench/profile.ts reads to attribute profile samples.
  absWorkingDir: dirname(dist),
  // A package folder whose node_modules is a symbolic link (test/files.ts builds one) names
  // the packages' modules by the link, as an installed package does, so the committed
  // bundle and a scratch build of it are byte for byte the same.
  preserveSymlinks: true,
  // The Kubernetes client is for `kfm-compile apply` alone, which imports it on first use
  // (src/cli/kube.ts): bundled, its several megabytes would be read by every command.
  // It is a dependency of the package, loaded from node_modules like handlebars.
  external: ["@kubernetes/client-node"],
  // The input is tsc's JavaScript; no tsconfig.json may change it. Found beside the
  // sources (strict: true), one made esbuild add "use strict" to a module it loads on
  // first use (kube.js), so a build in another folder came out different.
  tsconfigRaw: {},
  logLevel: "warning",
});
