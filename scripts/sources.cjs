// Build facts shared by binding.gyp, CMakeLists.txt and the WASM build, so the
// three builds compile the same core:
//   node scripts/sources.cjs list     core sources from native/sources.txt
//   node scripts/sources.cjs blas     1 if OpenBLAS can be linked (SCORECRL_BLAS=0 disables)
//   node scripts/sources.cjs version  the package version
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function coreSources() {
  return fs
    .readFileSync(path.join(root, 'native', 'sources.txt'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

function blasAvailable() {
  if (process.env.SCORECRL_BLAS === '0') return false;
  if (process.platform !== 'linux') return false;
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
  return dirs.some((dir) => fs.existsSync(path.join(dir, 'libopenblas.so')));
}

module.exports = { coreSources, blasAvailable, root };

if (require.main === module) {
  const what = process.argv[2];
  if (what === 'list') console.log(coreSources().join(' '));
  else if (what === 'blas') console.log(blasAvailable() ? '1' : '0');
  else if (what === 'version') console.log(require(path.join(root, 'package.json')).version);
  else {
    console.error('usage: node scripts/sources.cjs list|blas|version');
    process.exit(2);
  }
}
