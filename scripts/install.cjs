// npm's install hook: load a prebuild that matches this platform, else build
// the addon from source with node-gyp — on every core unless JOBS says
// otherwise (a serial build of the Eigen-heavy sources takes minutes).
// A failed build does not fail the install: the package still works on its
// WebAssembly backend, and loadBackend() says why native is missing.
const { spawnSync } = require('node:child_process');

const bin = require.resolve('node-gyp-build/bin.js');
const result = spawnSync(process.execPath, [bin], {
  stdio: 'inherit',
  env: { ...process.env, JOBS: process.env.JOBS || 'max' },
});
if (result.status !== 0) {
  console.warn(
    'scorecrl: the native addon could not be built (a C++17 compiler, make and python3 are needed);' +
      ' the WebAssembly backend will be used. Build it later with `npm run build:native`.',
  );
}
