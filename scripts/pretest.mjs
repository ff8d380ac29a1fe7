// Runs before `npm test` (npm's pretest hook): brings up to date what the
// suites test, so that a fresh clone passes `npm install && npm test` as is.
//   - dist/       TypeScript output: the CLI suites run bin/scorecrl.js on it.
//   - web/dist/   the demo page's static build: test/browser.test.ts serves it.
//   - build/      the native addon, rebuilt (incrementally) when a C++ source
//                 is newer than it.
// Each is rebuilt only when one of its inputs is newer than its output.
// wasm/dist is committed and checked byte for byte by CI, not here (a clone
// gives its files arbitrary relative mtimes).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';

/**
 * Newest modification time (ms) under the given files/folders; 0 when none exists.
 * @param {string[]} paths
 */
function newest(paths) {
  let latest = 0;
  /** @param {string} path */
  const visit = (path) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) if (entry !== 'node_modules') visit(join(path, entry));
    } else {
      latest = Math.max(latest, stat.mtimeMs);
    }
  };
  for (const path of paths) visit(join(root, path));
  return latest;
}

/** @param {string} path */
function mtime(path) {
  const full = join(root, path);
  return existsSync(full) ? statSync(full).mtimeMs : 0;
}

/**
 * @param {string} what
 * @param {string} command
 * @param {string[]} args
 */
function run(what, command, args) {
  const started = Date.now();
  process.stdout.write(`pretest: ${what} ... `);
  const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) {
    process.stdout.write('failed\n');
    process.stderr.write(result.stdout + result.stderr);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`done (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

// 1. TypeScript output.
const tsInputs = newest(['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json']);
if (mtime('dist/index.js') < tsInputs)
  run('dist/ is older than src/: tsc -p tsconfig.build.json', npx, ['tsc', '-p', 'tsconfig.build.json']);

// 2. The demo page (it bundles dist/browser, wasm/dist and the algorithm registry src/algorithms.ts).
const webInputs = newest([
  'web/src',
  'src/algorithms.ts',
  'web/index.html',
  'web/vite.config.ts',
  'web/tsconfig.json',
  'dist/browser',
  'wasm/dist',
  'package.json',
]);
if (mtime('web/dist/index.html') < webInputs) {
  run('web/dist is missing or older than its sources: type-check web/', npx, ['tsc', '-p', 'web/tsconfig.json']);
  run('web/dist: vite build', npx, ['vite', 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn']);
}

// 3. The native addon, where it was built from source here.
const addon = 'build/Release/scorecrl.node';
if (existsSync(join(root, addon))) {
  if (mtime(addon) < newest(['native/src', 'native/include', 'native/addon', 'binding.gyp', 'native/sources.txt'])) {
    // node-gyp is npm's own (on PATH inside npm scripts), not a dependency. Configure again
    // when the source list or binding.gyp changed (a new core file), then build what changed.
    if (mtime('build/Makefile') < newest(['binding.gyp', 'native/sources.txt']))
      run('native source list changed: node-gyp configure', 'node-gyp', ['configure']);
    run('native addon is older than native/: node-gyp build', 'node-gyp', ['build', '-j', 'max']);
  }
} else if (!existsSync(join(root, 'prebuilds'))) {
  console.log(
    'pretest: no native addon (build/Release) or prebuild: the native suites will fail; run `npm run build:native` (needs a C++17 compiler, make, python3)',
  );
}

if (!existsSync(CHROMIUM)) {
  console.log(`pretest: browser suite skipped: no Chromium at ${CHROMIUM} (to run it: apt-get install chromium)`);
}
