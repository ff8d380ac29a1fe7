// Builds wasm/dist/scorecrl.{mjs,wasm} from the same core sources as the
// native addon (native/sources.txt) with Debian's emscripten. Objects are
// cached in wasm/build/ (rebuilt when a source or an included header changes)
// and compiled two at a time; the link step always runs.
//
//   node scripts/build-wasm.mjs            # incremental, for development
//   node scripts/build-wasm.mjs --clean    # from scratch: the module to commit
//
// CI rebuilds the module from scratch and requires it byte for byte equal to
// the committed one; commit only what --clean produced.
//
// Reproducibility: clang 14 lowers some nested exception cleanups for
// WebAssembly differently from one compile to the next (the order of
// try/delegate blocks follows pointer values); native/src/runtime/limits.cpp
// had such a function and gave two different objects about half the time.
// Code in the core keeps one temporary with a destructor per statement where
// it builds messages; `npm run build:wasm -- --clean` twice, in two folders,
// must give the same bytes.
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);
const require = createRequire(import.meta.url);
const { coreSources, root } = require('./sources.cjs');
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const outDir = join(root, 'wasm', 'dist');
const objDir = join(root, 'wasm', 'build');
if (process.argv.includes('--clean')) rmSync(objDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
mkdirSync(objDir, { recursive: true });

const compileFlags = [
  '-std=c++17',
  '-O3',
  '-msimd128',
  '-fwasm-exceptions',
  '-DEIGEN_MPL2_ONLY',
  `-DSCORECRL_VERSION="${version}"`,
  '-isystem',
  'native/third_party/eigen',
  '-Inative/include',
  // Paths in the output do not depend on where the tree is checked out.
  `-ffile-prefix-map=${root}=.`,
];

const linkFlags = [
  '-O3',
  '-fwasm-exceptions',
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
];

const env = { ...process.env, NODE_PATH: process.env.NODE_PATH ?? '/usr/share/nodejs', SOURCE_DATE_EPOCH: '0' };

const flagsKey = JSON.stringify(compileFlags);
const flagsFile = join(objDir, 'flags.json');
const flagsChanged = !existsSync(flagsFile) || readFileSync(flagsFile, 'utf8') !== flagsKey;

/** @param {string} path */
function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

// True when the object is missing or older than its source or any header it
// included last time (from the -MMD dependency file).
/**
 * @param {string} source
 * @param {string} object
 * @param {string} depfile
 */
function stale(source, object, depfile) {
  if (flagsChanged || !existsSync(object) || !existsSync(depfile)) return true;
  const built = mtime(object);
  const deps = readFileSync(depfile, 'utf8').replace(/\\\n/g, ' ').split(':').slice(1).join(':').trim().split(/\s+/);
  return [source, ...deps].some((dep) => dep && mtime(join(root, dep)) > built);
}

const sources = [...coreSources(), 'wasm/src/binding.cpp'];
const objects = sources.map((source) => join(objDir, source.replace(/[\\/]/g, '_').replace(/\.cpp$/, '.o')));
const todo = sources
  .map((source, i) => ({ source, object: objects[i], depfile: objects[i].replace(/\.o$/, '.d') }))
  .filter(({ source, object, depfile }) => stale(source, object, depfile));

/** @param {{ source: string, object: string, depfile: string }} job */
async function compile({ source, object, depfile }) {
  console.log(`em++ -c ${source}`);
  const started = new Date();
  await execFile('em++', [...compileFlags, '-MMD', '-MF', depfile, '-c', source, '-o', object], { cwd: root, env });
  // Date the object from the start of its compile: a source edited while it
  // compiled is then newer than the object and is compiled again next time.
  utimesSync(object, started, started);
}

try {
  const jobs = Math.max(1, Math.min(2, cpus().length));
  const queue = [...todo];
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      while (queue.length) await compile(/** @type {(typeof queue)[number]} */ (queue.shift()));
    }),
  );
  writeFileSync(flagsFile, flagsKey);
  console.log(`em++ link (${objects.length} objects)`);
  execFileSync('em++', [...objects, ...linkFlags, '-o', join(outDir, 'scorecrl.mjs')], { cwd: root, stdio: 'inherit', env });
} catch (caught) {
  // A spawn failure (code) or em++'s own failure (stderr, from execFile).
  const error = /** @type {NodeJS.ErrnoException & { stderr?: string }} */ (caught);
  if (error.code === 'ENOENT') console.error('em++ not found: apt-get install -y emscripten');
  else console.error(error.stderr || error.message);
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
