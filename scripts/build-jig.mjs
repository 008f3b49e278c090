// Bundles the `jig` CLI into one file, dist/jig.mjs (package.json "bin"). A CLI pays for every module it
// loads on each run: one bundled file starts in about a third of the time of the ~60 files tsc emits,
// which is what keeps `jig status` under its 300 ms budget (bench/jig-status.ts). ora stays external: it
// is loaded only when a spinner is shown.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

// An optional argument names another output file (the bundle test writes to a temporary directory).
const outfile = process.argv[2] ?? 'dist/jig.mjs';
await build({
  entryPoints: ['cli/src/main.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: ['ora'],
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  // Bundled CommonJS dependencies (commander, cli-table3) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __jigRequire } from 'node:module'; const require = __jigRequire(import.meta.url);" },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
