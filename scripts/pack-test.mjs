// Shows that a packed tarball installs into an empty folder and loads the
// shipped prebuild without compiling: `npm pack`, `npm install <tgz>` in a
// temp dir, then load scorecrl from there and check where the addon came from.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const prebuildDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
if (!existsSync(prebuildDir) || readdirSync(prebuildDir).length === 0) {
  console.error(`pack-test: no prebuild in ${prebuildDir}; run 'npm run build:prebuilds' first`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'scorecrl-pack-'));
try {
  /** @type {Array<{ filename: string, size: number, files: Array<{ path: string }> }>} */
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' }));
  const tarball = join(work, packed[0].filename);
  const files = packed[0].files.map((f) => f.path);
  console.log(`packed ${packed[0].filename}: ${files.length} files, ${(packed[0].size / 1e6).toFixed(2)} MB`);
  for (const needed of ['dist/index.js', 'wasm/dist/scorecrl.wasm', 'bin/scorecrl.js']) {
    if (!files.includes(needed)) throw new Error(`the tarball lacks ${needed}`);
  }
  if (!files.some((f) => f.startsWith('prebuilds/'))) throw new Error('the tarball lacks prebuilds/');

  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-test-app', version: '1.0.0', type: 'module' }));
  // No compiler on the path and no install scripts: loading must not need them.
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: app, stdio: 'inherit' });
  const installed = join(app, 'node_modules', 'scorecrl');
  if (existsSync(join(installed, 'build'))) throw new Error('the installed package has a build/ folder: it was compiled');

  const check = `
    import { createRequire } from 'node:module';
    import { loadBackend } from 'scorecrl';
    const require = createRequire(import.meta.url);
    const crl = await loadBackend({ backend: 'native' });
    const path = require('node-gyp-build').resolve(${JSON.stringify(installed)});
    const cov = crl.covariance({ data: Float64Array.from([1, 2, 3, 4, 5, 7]), shape: [3, 2] });
    console.log(JSON.stringify({ info: crl.info(), addon: path, cov: Array.from(cov.data) }));
  `;
  /** @type {{ info: object, addon: string, cov: number[] }} */
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', check], { cwd: app, encoding: 'utf8' }));
  if (!out.addon.includes(`${join('prebuilds', `${process.platform}-${process.arch}`)}`)) {
    throw new Error(`the addon was not loaded from the prebuild: ${out.addon}`);
  }
  const expected = [8 / 3, 10 / 3, 10 / 3, 38 / 9];
  if (out.cov.some((v, i) => Math.abs(v - expected[i]) > 1e-12)) throw new Error(`wrong covariance ${out.cov}`);
  console.log(`pack-test: installed tarball loaded ${out.addon}`);
  console.log(`pack-test: backend ${JSON.stringify(out.info)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
