/**
 * Bad invocations of every CLI command (sweep, fit, simulate, report, merge,
 * info): bad flag values, unknown flags, and damaged or odd files (truncated
 * CSV/.npy/JSONL, directories, devices, symlinks, a full device as output:
 * a private node made with mknod, never the machine's /dev/full).
 *
 * A case is { argv, files, expect? }: `files` are made in the case's own
 * folder ($F) before the run, from text or from the fixtures ($D) made once
 * per run by the CLI itself; `expect: 'error'` marks input that must be
 * refused (a result is then listed as "accepted").
 */

/**
 * How a copied fixture is damaged (fuzz/lib.mjs applies it).
 * @typedef {{ truncate?: number, replace?: [string, string], overwrite?: [number, string], insert?: [number, string],
 *   prefix?: string, append?: string }} Damage
 */
/**
 * One file or folder of a case: text, a (damaged) copy of a fixture, a folder, a symlink, a device or random bytes.
 * @typedef {Damage & { text?: string, copy?: string, dir?: boolean, symlink?: string, device?: string, bytes?: number,
 *   seed?: number, copyDir?: string, damage?: Record<string, Damage> }} FileSpec
 */
/** @typedef {{ argv: string[], files: Record<string, FileSpec>, expect?: 'error', note?: string }} CliCaseSpec */
/** @typedef {CliCaseSpec & { target: 'cli', id?: string }} CliCase */

/** Fixtures: valid data and results the cases damage. Commands run once, in order. */
export const FIXTURE_COMMANDS = [
  ['simulate', '-o', 'csv', '--n', '2', '--d', '3', '--samples', '200', '--seed', '1'],
  ['simulate', '-o', 'npy', '--n', '2', '--d', '3', '--samples', '200', '--seed', '1', '--format', 'npy'],
  ['simulate', '-o', 'single', '--n', '2', '--d', '3', '--samples', '200', '--seed', '1', '--single-file'],
  [
    'simulate',
    '-o',
    'gscale',
    '--n',
    '2',
    '--d',
    '3',
    '--samples',
    '300',
    '--seed',
    '1',
    '--design',
    'two-hard-per-node',
    '--transform',
    'tanh',
  ],
  [
    'sweep',
    '--nd',
    '2x2',
    '--samples',
    '60',
    '--runs',
    '2',
    '--workers',
    '1',
    '--reference',
    'none',
    '--no-report',
    '--progress',
    'none',
    '-o',
    'sweep',
  ],
  [
    'sweep',
    '--nd',
    '2x2',
    '--samples',
    '60',
    '--runs',
    '2',
    '--workers',
    '1',
    '--reference',
    'none',
    '--progress',
    'none',
    '--shard',
    '1/2',
    '-o',
    'shards',
  ],
  [
    'sweep',
    '--nd',
    '2x2',
    '--samples',
    '60',
    '--runs',
    '2',
    '--workers',
    '1',
    '--reference',
    'none',
    '--progress',
    'none',
    '--shard',
    '2/2',
    '-o',
    'shards',
  ],
  [
    'sweep',
    '--nd',
    '2x2',
    '--samples',
    '60',
    '--runs',
    '2',
    '--workers',
    '1',
    '--seed',
    '9',
    '--reference',
    'none',
    '--no-report',
    '--progress',
    'none',
    '-o',
    'other',
  ],
];

const CSV3 = ['$D/csv/env0.csv', '$D/csv/env1.csv', '$D/csv/env2.csv'];
const NPY3 = ['$D/npy/env0.npy', '$D/npy/env1.npy', '$D/npy/env2.npy'];
const TINY_SWEEP = [
  '--nd',
  '2x2',
  '--samples',
  '60',
  '--runs',
  '1',
  '--workers',
  '1',
  '--reference',
  'none',
  '--no-report',
  '--progress',
  'none',
];

/** File makers: text, a damaged copy of a fixture, a folder, a symlink. */
/** @returns {FileSpec} @param {string} content */
const text = (content) => ({ text: content });
/** @returns {FileSpec} @param {string} from @param {Damage} [damage] */
const copy = (from, damage = {}) => ({ copy: from, ...damage });
/** @returns {FileSpec} */
const dir = () => ({ dir: true });
/** @returns {FileSpec} @param {string} to */
const link = (to) => ({ symlink: to });
/** A private "disk full" device (mknod c 1 7) in the case folder: renaming over it harms nothing. */
const FULL = { full: { device: 'full' } };

const HEADER = 'x0,x1,x2\n';
/**
 * k CSV rows of three cells.
 * @param {number} k
 * @param {(i: number, j: number) => string} [cell]
 */
const rows = (k, cell = () => '0.1') =>
  `${Array.from({ length: k }, (_, i) => [cell(i, 0), cell(i, 1), cell(i, 2)].join(',')).join('\n')}\n`;

function cases() {
  /** @type {CliCaseSpec[]} */
  const out = [];
  /** @param {string[]} argv @param {Record<string, FileSpec>} [files] @param {string} [note] */
  const bad = (argv, files = {}, note) => out.push({ argv, files, expect: 'error', note });
  /** @param {string[]} argv @param {Record<string, FileSpec>} [files] @param {string} [note] */
  const odd = (argv, files = {}, note) => out.push({ argv, files, note });

  // --- top level and info
  odd(['info']);
  odd(['info', '--json']);
  odd(['--backend', 'wasm', 'info']);
  bad(['--backend', 'foo', 'info'], {}, 'unknown backend');
  bad(['--backend', '', 'info'], {}, 'empty backend');
  bad(['nosuch']);
  bad(['info', '--bogus']);
  bad(['info', 'extra', 'args']);
  odd(['--version']);
  odd(['--help']);
  odd([]);

  // --- simulate
  const simBase = ['simulate', '-o', '$F/o', '--n', '2', '--d', '3', '--samples', '50'];
  /** @param {string[]} base @param {string} flag @param {string} value */
  const withFlag = (base, flag, value) => {
    const i = base.indexOf(flag);
    if (i >= 0) return [...base.slice(0, i + 1), value, ...base.slice(i + 2)];
    return [...base, flag, value];
  };
  odd(simBase);
  for (const [flag, values] of Object.entries({
    '--n': ['0', '-1', '21', 'abc', '1.5', '', '1e3', 'NaN'],
    '--d': ['1', '0', '100001', 'abc'],
    '--samples': ['0', '1', '-5', '2.5', '1e9', 'Infinity'],
    '--seed': ['-1', '1e20', 'x'],
    '--density': ['2', '-1', 'NaN', 'x', 'Infinity'],
    '--factor': ['0', '-1', 'x', 'Infinity'],
    '--format': ['foo', ''],
    '--latent': ['foo'],
    '--design': ['foo'],
    '--transform': ['foo'],
    '--random-order': ['maybe', ''],
    '--intervention': ['both'],
  })) {
    for (const v of values) bad(withFlag(simBase, flag, v), {}, `simulate ${flag} ${v}`);
  }
  odd(withFlag(simBase, '--samples', '100000000'), {}, 'simulate: 7 GB of samples (must stop at the memory limit)');
  odd(['simulate', '-o', '$F/o', '--n', '20', '--d', '100000', '--samples', '100000000'], {}, 'simulate: far past memory');
  bad(['simulate', '--n', '2'], {}, 'missing -o');
  bad(withFlag(simBase, '-o', '$F/full'), FULL);
  bad(withFlag(simBase, '-o', '/dev/null/x'));
  bad(withFlag(simBase, '-o', '$F/file'), { file: text('not a folder\n') });
  odd(withFlag(simBase, '-o', ''), {}, 'simulate -o empty (the current folder)');
  bad(
    [...withFlag(simBase, '-o', '$F/o'), '--single-file', '--format', 'npy'],
    { ...FULL, o: link('$F/full') },
    'output folder is a symlink to a full device',
  );
  odd([...simBase, '--single-file', '--format', 'npy']);
  bad([...simBase, '--bogus']);

  // --- fit
  odd(['fit', ...CSV3]);
  odd(['fit', ...NPY3]);
  odd(['fit', '$D/single/data.csv', '--env-column', 'env']);
  const fitFlags = {
    '--latents': ['0', '21', 'x', '5', '-1'],
    '--estimator': ['foo'],
    '--algorithm': ['foo', ''],
    '--tol-eigv': ['-1', '0', 'NaN', 'x', 'Infinity'],
    '--tol-orth': ['0', '-0'],
    '--kappa': ['0', '11', 'x'],
    '--tol-ci': ['0', 'x'],
    '--order': ['foo'],
    '--family': ['foo'],
    '--hidden': ['0', '5000'],
    '--max-iterations': ['-1', 'x', '1.5'],
    '--edge-threshold': ['-1'],
    '--seed': ['-1', 'x'],
    '--intervention': ['foo'],
    '--score-space': ['foo'],
    '--edge-rule': ['foo'],
  };
  for (const [flag, values] of Object.entries(fitFlags)) for (const v of values) bad(['fit', ...CSV3, flag, v], {}, `fit ${flag} ${v}`);
  odd(['fit', ...CSV3, '--algorithm', 'lscale', '--intervention', 'hard']);
  odd(['fit', ...CSV3, '--algorithm', 'umni', '--kappa', '1']);
  odd(['fit', ...CSV3, '--estimator', 'logistic-quadratic']);
  bad(['fit', ...CSV3, '--algorithm', 'umni', '--estimator', 'ssm']);
  bad(['fit', ...CSV3, '--algorithm', 'gscale']);
  odd([
    'fit',
    '$D/gscale/env0.csv',
    '$D/gscale/env1.csv',
    '$D/gscale/env2.csv',
    '$D/gscale/env3.csv',
    '$D/gscale/env4.csv',
    '--algorithm',
    'gscale',
    '--max-iterations',
    '20',
  ]);
  bad(['fit', ...CSV3, '--env-column', 'env'], {}, 'env column on per-environment files');
  bad(['fit', '$D/single/data.csv', '--env-column', 'nosuch']);
  bad(['fit', '$D/single/data.csv', '--env-column', 'env', '--observational', 'nosuch']);
  bad(['fit', '$D/single/data.csv'], {}, 'single file without --env-column');
  bad(['fit', '$D/npy/env0.npy', '--env-column', '7']);
  bad(['fit', ...CSV3, '-o', '$F/full'], FULL);
  bad(['fit', ...CSV3, '-o', '$F'], {}, 'output is a folder');
  odd(['fit', ...CSV3, '-o', '$F/no/such/dir/fit.json'], {}, 'fit -o under a missing folder');
  bad(['fit']);
  bad(['fit', '$D/csv/env0.csv'], {}, 'one environment');
  bad(['fit', '$F/missing.csv', '$D/csv/env1.csv', '$D/csv/env2.csv']);
  // Damaged environment files: the first file is replaced.
  /** @param {string} name @param {FileSpec} file @param {string} note */
  const fitWith = (name, file, note, expect = true) =>
    (expect ? bad : odd)(['fit', `$F/${name}`, '$D/csv/env1.csv', '$D/csv/env2.csv'], { [name]: file }, note);
  fitWith('dir.csv', dir(), 'a folder as a data file');
  fitWith('null.csv', link('/dev/null'), '/dev/null as a data file');
  fitWith('zero.csv', link('/dev/zero'), '/dev/zero as a data file (endless)');
  fitWith('loop.csv', link('loop.csv'), 'a symlink loop');
  fitWith('dangling.csv', link('/nonexistent/file.csv'), 'a dangling symlink');
  fitWith('empty.csv', text(''), 'empty file');
  fitWith('header.csv', text(HEADER), 'header only');
  fitWith('trunc.csv', copy('csv/env0.csv', { truncate: 0.5 }), 'truncated mid-file', false);
  fitWith('trunc2.csv', copy('csv/env0.csv', { truncate: 30 }), 'truncated to 30 bytes');
  fitWith('nan.csv', text(HEADER + rows(20, (i, j) => (i === 3 && j === 1 ? 'NaN' : String(Math.sin(i + j))))), 'a NaN cell');
  fitWith('inf.csv', text(HEADER + rows(20, (i, j) => (i === 3 ? '1e999' : String(Math.sin(i * 3 + j))))), 'an infinite cell');
  fitWith('word.csv', text(HEADER + rows(20, (i, j) => (i === 3 ? 'abc' : String(Math.cos(i + j))))), 'a word in a cell');
  fitWith('hex.csv', text(HEADER + rows(20, (i, j) => (i === 3 && j === 0 ? '0x10' : String(Math.cos(i * 2 + j))))), "a cell '0x10'");
  fitWith('blank.csv', text(HEADER + rows(20, (i, j) => (i === 3 && j === 0 ? '' : String(Math.cos(i * 2 + j))))), 'an empty cell');
  fitWith('ragged.csv', text(`${HEADER + rows(10, (i, j) => String(i + j))}1,2\n1,2,3,4\n`), 'ragged rows');
  fitWith('cols.csv', text(`a,b\n${'1,2\n'.repeat(20)}`), 'two columns where the others have three');
  fitWith('bom.csv', copy('csv/env0.csv', { prefix: '\ufeff' }), 'a byte-order mark', false);
  fitWith('crlf.csv', copy('csv/env0.csv', { replace: ['\n', '\r\n'] }), 'CRLF line ends', false);
  fitWith('quote.csv', copy('csv/env0.csv', { insert: [40, '"'] }), 'an unbalanced quote');
  fitWith('nul.csv', copy('csv/env0.csv', { insert: [40, '\0\0\0'] }), 'NUL bytes');
  fitWith('binary.csv', { bytes: 4096, seed: 3 }, 'random bytes');
  fitWith('longline.csv', text(`${HEADER + '1,'.repeat(200000)}1\n`), 'one very long row');
  fitWith('const.csv', text(HEADER + rows(50, () => '1')), 'a constant environment', false);
  // .npy damage.
  /** @param {string} name @param {FileSpec} file @param {string} note */
  const npyWith = (name, file, note, expect = true) =>
    (expect ? bad : odd)(['fit', `$F/${name}`, '$D/npy/env1.npy', '$D/npy/env2.npy'], { [name]: file }, note);
  npyWith('trunc.npy', copy('npy/env0.npy', { truncate: 0.5 }), 'truncated .npy');
  npyWith('trunc2.npy', copy('npy/env0.npy', { truncate: 9 }), '.npy cut inside the header');
  npyWith('magic.npy', copy('npy/env0.npy', { overwrite: [0, 'XNUMPY'] }), 'wrong magic');
  npyWith('hugeshape.npy', copy('npy/env0.npy', { replace: ['(200, 3)', '(99999999999, 3)'] }), 'header claims a huge shape');
  npyWith('negshape.npy', copy('npy/env0.npy', { replace: ['(200, 3)', '(-200, 3)'] }), 'negative shape');
  npyWith('zeroshape.npy', copy('npy/env0.npy', { replace: ['(200, 3)', '(0, 3)'] }), 'zero rows');
  npyWith('oned.npy', copy('npy/env0.npy', { replace: ['(200, 3)', '(600,)'] }), 'a 1-d array');
  npyWith('complex.npy', copy('npy/env0.npy', { replace: ["'<f8'", "'<c8'"] }), 'complex dtype');
  npyWith('object.npy', copy('npy/env0.npy', { replace: ["'<f8'", "'|O8'"] }), 'object dtype');
  npyWith('fortran.npy', copy('npy/env0.npy', { replace: ['False', 'True '] }), 'Fortran order', false);
  npyWith('version.npy', copy('npy/env0.npy', { overwrite: [6, '\u0009'] }), 'unknown format version');
  npyWith('hdrlen.npy', copy('npy/env0.npy', { overwrite: [8, '\u00ff\u00ff'] }), 'header length past the file');
  npyWith('v2.npy', copy('npy/env0.npy', { overwrite: [6, '\u0002'] }), 'version 2 read with a 1.0 header');
  npyWith('csvasnpy.npy', copy('csv/env0.csv'), 'CSV text named .npy');
  odd(['fit', '$D/csv/env0.csv', ...NPY3.slice(1)], {}, 'CSV and .npy mixed');

  // --- sweep
  const sweepBase = ['sweep', ...TINY_SWEEP, '-o', '$F/out'];
  odd(sweepBase);
  odd([...sweepBase, '--print-config']);
  odd(['sweep', '--dry-run', '-o', '$F/out']);
  const sweepFlags = {
    '--runs': ['0', '-1', 'abc', '1.5', '1000001', ''],
    '--seed': ['-1', 'x', '1e300', '9007199254740993'],
    '--nd': ['0x0', '3x2', '2x', 'x', '2x2x2', ' ', '1e3x1e3', '-2x3'],
    '--n': ['0', '-1', 'x', '1.5'],
    '--d': ['1', '0'],
    '--samples': ['0', '-5', '1e30', 'Infinity', '10^99', 'NaN', 'abc', '1.5'],
    '--latent': ['foo'],
    '--density': ['2', '-1'],
    '--random-order': ['maybe'],
    '--intervention': ['foo'],
    '--factor': ['0', '-1'],
    '--variance-change': ['foo'],
    '--design': ['foo'],
    '--transform': ['foo'],
    '--estimator': ['foo'],
    '--sampling': ['foo'],
    '--algorithm': ['foo'],
    '--tol-eigv': ['-1', 'NaN'],
    '--workers': ['0', '257', 'x'],
    '--shard': ['0/2', '3/2', 'a/b', '1/0', '1/2/3', '2'],
    '--reference': ['$F/missing.csv'],
    '--tolerance': ['-1', 'x'],
    '--progress': ['foo'],
    '--progress-interval': ['0', '-1'],
  };
  for (const [flag, values] of Object.entries(sweepFlags))
    for (const v of values) bad(withFlag(sweepBase, flag, v), {}, `sweep ${flag} ${v}`);
  bad([...sweepBase, '--bogus']);
  bad([...sweepBase, '--reference', '$F/bad.csv'], { 'bad.csv': text('this,is\nnot,a reference\n') });
  bad([...sweepBase, '--reference', '$F/bin.csv'], { 'bin.csv': { bytes: 2000, seed: 5 } });
  for (const [name, content] of [
    ['missing', null],
    ['invalid', '{ not json'],
    ['empty', ''],
    ['array', '[1,2,3]'],
    ['runs', '{"runs": -1}'],
    ['bign', '{"grid": {"n": [1000000000]}}'],
    ['badkey', '{"grid": {"nosuch": [1]}}'],
    ['nested', '{"grid": {"n": [[2]]}}'],
    ['proto', '{"__proto__": {"runs": 5}, "grid": {"n": [2]}}'],
  ]) {
    bad(
      ['sweep', ...TINY_SWEEP, '--config', `$F/${name}.json`, '-o', '$F/out'],
      content === null ? {} : { [`${name}.json`]: text(content) },
      `--config ${name}`,
    );
  }
  bad(['sweep', ...TINY_SWEEP, '--config', '$F/d', '-o', '$F/out'], { d: dir() }, '--config is a folder');
  bad(['sweep', ...TINY_SWEEP, '--config', '$F/z.json', '-o', '$F/out'], { 'z.json': link('/dev/zero') }, '--config is /dev/zero');
  bad(withFlag(sweepBase, '-o', '$F/full'), FULL);
  bad(withFlag(sweepBase, '-o', '$F/file'), { file: text('x\n') }, '-o is a file');
  odd(withFlag(sweepBase, '-o', '$F/no/such/parent/out'), {}, '-o under a missing parent');
  // Output folders with something already in them.
  bad(sweepBase, { 'out/trials.jsonl': text('my own notes, not a sweep\n') }, 'foreign trials.jsonl in -o');
  bad(sweepBase, { 'out/trials.jsonl': link('$F/outside.txt'), 'outside.txt': text('keep me\n') }, 'trials.jsonl is a symlink out of -o');
  bad(sweepBase, { 'out/trials.jsonl': dir() }, 'trials.jsonl is a folder');
  bad(sweepBase, { ...FULL, 'out/trials.jsonl': link('$F/full') }, 'trials.jsonl is a symlink to a full device');
  odd(sweepBase, { out: { copyDir: 'sweep' } }, 'resume a finished sweep with another grid');
  odd(
    [
      'sweep',
      '--nd',
      '2x2',
      '--samples',
      '60',
      '--runs',
      '2',
      '--workers',
      '1',
      '--reference',
      'none',
      '--no-report',
      '--progress',
      'none',
      '-o',
      '$F/out',
    ],
    { out: { copyDir: 'sweep', damage: { 'trials.jsonl': { truncate: 0.6 } } } },
    'resume a truncated results file',
  );
  odd(
    [
      'sweep',
      '--nd',
      '2x2',
      '--samples',
      '60',
      '--runs',
      '2',
      '--workers',
      '1',
      '--reference',
      'none',
      '--no-report',
      '--progress',
      'none',
      '-o',
      '$F/out',
    ],
    { out: { copyDir: 'sweep', damage: { 'trials.jsonl': { append: '{"broken": \n\u0000\u0000garbage\n' } } } },
    'resume a results file with garbage lines',
  );
  bad(['sweep', '--dry-run', '--runs', '1000000', '-o', '$F/out'], {}, 'planning 36 M trials');
  odd(['sweep', '--dry-run', '--nd', '20x20', '--samples', '10^9', '-o', '$F/out']);

  // --- report
  /** @param {string} input @param {Record<string, FileSpec>} files @param {string} note */
  const reportWith = (input, files, note, expect = true) => (expect ? bad : odd)(['report', input, '--reference', 'none'], files, note);
  reportWith('$F/s', { s: { copyDir: 'sweep' } }, 'a finished sweep', false);
  odd(['report', '$F/s', '--json', '--no-write'], { s: { copyDir: 'sweep' } });
  odd(['report', '$F/s'], { s: { copyDir: 'shards' } }, 'shards');
  reportWith('$F/missing', {}, 'missing input');
  reportWith('$F/e.jsonl', { 'e.jsonl': text('') }, 'empty file');
  reportWith('$F/c.jsonl', { 'c.jsonl': copy('csv/env0.csv') }, 'CSV named .jsonl');
  reportWith('$F/c.csv', { 'c.csv': copy('csv/env0.csv') }, 'a CSV file');
  reportWith('$F/t.jsonl', { 't.jsonl': copy('sweep/trials.jsonl', { truncate: 0.5 }) }, 'truncated results', false);
  reportWith('$F/h.jsonl', { 'h.jsonl': copy('sweep/trials.jsonl', { truncate: 0.02 }) }, 'results cut inside the header', false);
  reportWith('$F/g.jsonl', { 'g.jsonl': copy('sweep/trials.jsonl', { append: 'garbage\n{"x":1}\n[]\nnull\n' }) }, 'garbage lines', false);
  reportWith('$F/b.jsonl', { 'b.jsonl': { bytes: 5000, seed: 9 } }, 'random bytes');
  reportWith('$F/d', { d: dir() }, 'a folder without results');
  reportWith('$F/n.jsonl', { 'n.jsonl': link('/dev/null') }, '/dev/null');
  reportWith('$F/z.jsonl', { 'z.jsonl': link('/dev/zero') }, '/dev/zero (endless)');
  reportWith('$F/l.jsonl', { 'l.jsonl': link('l.jsonl') }, 'a symlink loop');
  bad(['report', '$D/sweep', '$D/other', '--no-write', '--reference', 'none'], {}, 'two different sweeps');
  bad(['report', '$F/s', '--reference', '$F/missing.csv'], { s: { copyDir: 'sweep' } });
  bad(['report', '$F/s', '--reference', '$F/bad.csv'], { s: { copyDir: 'sweep' }, 'bad.csv': text('a,b\n1,2\n') });
  bad(['report', '$F/s', '--tolerance', '0'], { s: { copyDir: 'sweep' } });
  bad(['report', '$F/s', '--tolerance', 'x'], { s: { copyDir: 'sweep' } });
  bad(['report', '$F/s', '-o', '$F/full'], { ...FULL, s: { copyDir: 'sweep' } });
  bad(['report', '$F/s', '-o', '$F/file'], { s: { copyDir: 'sweep' }, file: text('x\n') }, 'report -o is a file');
  bad(['report']);

  // --- merge
  odd(['merge', '$F/s'], { s: { copyDir: 'shards' } }, 'merge shards');
  odd(['merge', '$F/s/trials-shard-1-of-2.jsonl', '$F/s/trials-shard-2-of-2.jsonl', '-o', '$F/m.jsonl'], { s: { copyDir: 'shards' } });
  bad(['merge', '$F/s', '-o', '$F/full'], { ...FULL, s: { copyDir: 'shards' } }, 'merge output is a full device');
  odd(['merge', '$F/s', '-o', '$F/no/such/m.jsonl'], { s: { copyDir: 'shards' } }, 'merge -o under a missing folder');
  bad(['merge', '$F/s', '-o', '$F/s'], { s: { copyDir: 'shards' } }, 'merge output is a folder');
  bad(
    ['merge', '$F/s', '-o', '$F/link.jsonl'],
    { s: { copyDir: 'shards' }, 'link.jsonl': link('$F/outside.txt'), 'outside.txt': text('keep\n') },
    'merge output is a symlink',
  );
  bad(['merge', '$D/sweep/trials.jsonl', '$D/other/trials.jsonl', '-o', '$F/m.jsonl'], {}, 'two different sweeps');
  bad(['merge', '$F/missing', '-o', '$F/m.jsonl']);
  bad(['merge', '$F/e', '-o', '$F/m.jsonl'], { e: dir() }, 'empty folder');
  bad(['merge', '$F/n.jsonl', '-o', '$F/m.jsonl'], { 'n.jsonl': link('/dev/null') });
  bad(['merge', '$F/z.jsonl', '-o', '$F/m.jsonl'], { 'z.jsonl': link('/dev/zero') }, 'merge /dev/zero (endless)');
  bad(['merge', '$F/b.jsonl', '-o', '$F/m.jsonl'], { 'b.jsonl': { bytes: 3000, seed: 4 } });
  odd(['merge', '$F/t.jsonl', '-o', '$F/m.jsonl'], { 't.jsonl': copy('sweep/trials.jsonl', { truncate: 0.5 }) }, 'truncated');
  odd(['merge', '$F/t.jsonl', '-o', '$F/t.jsonl'], { 't.jsonl': copy('sweep/trials.jsonl') }, 'output is the input');
  odd(
    ['merge', '$F/s'],
    { s: { copyDir: 'shards', damage: { 'trials-shard-1-of-2.jsonl': { replace: ['"correct":true', '"correct":false'] } } } },
    'a shard edited by hand',
  );
  bad(['merge']);
  bad(['merge', '$F/s'], { s: text('x') }, 'first input is a file, no -o');

  // --- slurm init, k8s init (scripts and manifests written into the case folder)
  const TINY_GRID = ['--nd', '2x2', '--samples', '60', '--runs', '2'];
  const slurmBase = ['slurm', 'init', ...TINY_GRID, '--shards', '2', '-d', '$F/slurm', '-o', '$F/results'];
  odd(slurmBase);
  const slurmFlags = {
    '--shards': ['0', '-1', 'x', '1000000000', '3'],
    '--cpus': ['0', 'x', '1.5'],
    '--mem-per-cpu': ['1 G', 'lots', '-1G'],
    '--time': ['2h', '1:2:3:4', ''],
    '--partition': ['a b', 'x;rm -rf /', ''],
    '--account': ["a'b"],
    '--max-running': ['0', '3'],
    '--sbatch': ['constraint', '--x=$(id)', '--a b'],
    '--node': ['/no such/node'],
    '-o': ['$F/with space'],
  };
  for (const [flag, values] of Object.entries(slurmFlags))
    for (const v of values) bad(withFlag(slurmBase, flag, v), {}, `slurm init ${flag} ${v}`);
  bad(slurmBase, { slurm: text('x\n') }, 'slurm init: --dir is a file');
  bad(slurmBase, { 'slurm/submit.sh': text('mine\n') }, 'slurm init over an existing script (no --force)');
  bad(['slurm', 'init', '--shards', '2', '--config', '$F/c.json', '-d', '$F/slurm'], { 'c.json': text('{ not json') });
  bad(['slurm', 'init', ...TINY_GRID]);
  bad(['slurm']);
  const k8sBase = ['k8s', 'init', ...TINY_GRID, '--shards', '2', '-d', '$F/k8s'];
  odd(k8sBase);
  const k8sFlags = {
    '--shards': ['0', '3'],
    '--name': ['Upper', '-x', 'a'.repeat(60), 'a_b'],
    '--image': ['a b', "x'y", ''],
    '--memory': ['2GB', 'x'],
    '--storage': ['lots'],
    '--storage-class': ['A B'],
    '--access-mode': ['ReadOnlyMany'],
    '--parallelism': ['0', '3'],
    '--grace': ['0', 'x'],
    '-d': ['$F/with space'],
  };
  for (const [flag, values] of Object.entries(k8sFlags))
    for (const v of values) bad(withFlag(k8sBase, flag, v), {}, `k8s init ${flag} ${v}`);
  bad(k8sBase, { k8s: text('x\n') }, 'k8s init: --dir is a file');
  return out;
}

/** @returns {CliCase[]} */
export function cliCases() {
  return cases().map((c) => ({ target: 'cli', ...c }));
}
