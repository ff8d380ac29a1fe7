// npm's install hook: load a prebuild that matches this platform, else build
// the addon from source with node-gyp — on every core unless JOBS says
// otherwise (a serial build of the Eigen-heavy sources takes minutes).
process.env.JOBS = process.env.JOBS || 'max';
require('node-gyp-build/bin.js');
