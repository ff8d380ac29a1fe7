// Builds wasm/dist/scorecrl.{mjs,wasm} from the same core sources as the
// native addon (native/sources.txt) with Debian's emscripten.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { coreSources, root } = require('./sources.cjs');
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const outDir = join(root, 'wasm', 'dist');
mkdirSync(outDir, { recursive: true });

const args = [
  ...coreSources(),
  'wasm/src/binding.cpp',
  '-std=c++17',
  '-O3',
  '-msimd128',
  '-fwasm-exceptions',
  '-DEIGEN_MPL2_ONLY',
  `-DSCORECRL_VERSION="${version}"`,
  '-isystem', 'native/third_party/eigen',
  '-Inative/include',
  '--bind',
  '-sMODULARIZE=1',
  '-sEXPORT_ES6=1',
  '-sEXPORT_NAME=createScorecrlModule',
  '-sENVIRONMENT=web,worker,node',
  '-sALLOW_MEMORY_GROWTH=1',
  '-sINITIAL_MEMORY=64MB',
  '-sMAXIMUM_MEMORY=2GB',
  '-sTOTAL_STACK=1MB',
  '-sFILESYSTEM=0',
  '-sDYNAMIC_EXECUTION=0',
  // The module must not install process-wide handlers in the host application.
  '-sNODEJS_CATCH_EXIT=0',
  '-sNODEJS_CATCH_REJECTION=0',
  '-ffile-prefix-map=' + root + '=.',
  '-o', join('wasm', 'dist', 'scorecrl.mjs'),
];

const env = { ...process.env, NODE_PATH: process.env.NODE_PATH ?? '/usr/share/nodejs', SOURCE_DATE_EPOCH: '0' };
console.log(`em++ ${args.join(' ')}`);
try {
  execFileSync('em++', args, { cwd: root, stdio: 'inherit', env });
} catch (error) {
  console.error(error.code === 'ENOENT' ? 'em++ not found: apt-get install -y emscripten' : `em++ failed (${error.status})`);
  process.exit(1);
}

// emscripten 3.1.6 emits `__dirname` in its Node branch even with EXPORT_ES6,
// where it does not exist. The facade always passes `wasmBinary`, so the
// directory is never used: make the reference safe in ES modules.
const loaderPath = join(outDir, 'scorecrl.mjs');
const loader = readFileSync(loaderPath, 'utf8');
const patched = loader.replaceAll('scriptDirectory=__dirname+"/"', 'scriptDirectory=(typeof __dirname!="undefined"?__dirname:".")+"/"');
if (patched === loader) {
  console.error('build-wasm: the expected __dirname reference was not found in the loader; check the emscripten version');
  process.exit(1);
}
writeFileSync(loaderPath, patched);
console.log(`wrote ${loaderPath} and scorecrl.wasm`);
