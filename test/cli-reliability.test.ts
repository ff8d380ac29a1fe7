// What the CLI promises about data and bad input: sweeps never lose or wipe
// results (merge keeps the folder's own trials, foreign files and links out of
// the folder are refused, one writer per result file, conflicting duplicates
// reported, native and WASM shards combine), a double Ctrl-C keeps every
// written trial, and bad flags, data and paths are named errors with exit 2.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { applyGrid, countTrials, defaultConfig, planTrials, shardTrials } from '../src/sweep/config.js';
import { mergeFiles } from '../src/sweep/merge.js';
import { parseDecimal } from '../src/io/numbers.js';
import { npyBytes, readCsv } from '../src/io/readers.js';
import { readResults, recordOutcome, sameOutcome, type TrialRecord } from '../src/sweep/store.js';
import { BACKENDS, backend } from './helpers/backends.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'scorecrl.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'scorecrl-rel-'));

function cli(args: string[], options: { cwd?: string; env?: Record<string, string>; timeout?: number } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    timeout: options.timeout ?? 120_000,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A tiny grid: 4 cells x 10 runs (--quick) = 40 trials of well under a millisecond each. */
const TINY = [
  '--quick',
  '--nd',
  '2x2,3x3',
  '--samples',
  '200,400',
  '--seed',
  '5',
  '--progress',
  'none',
  '--no-report',
  '--reference',
  'none',
];

function trialLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"type":"trial"'));
}

function outcomes(file: string): Map<string, string> {
  return new Map([...readResults(file).records.values()].map((r) => [r.id, recordOutcome(r)]));
}

/** A pid that is not running (a child that has exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function writeLock(file: string, pid: number, host = hostname()): void {
  writeFileSync(`${file}.lock`, `${JSON.stringify({ pid, host, token: 't', started: '2020-01-01T00:00:00.000Z', command: 'sweep' })}\n`);
}

describe('sweeps never lose or wipe data', () => {
  it('shard, merge, resume the whole sweep in the same folder, merge again: every trial is kept', () => {
    const dir = tmp();
    const r = join(dir, 'r');
    expect(cli(['sweep', ...TINY, '--shard', '1/2', '-o', r]).code).toBe(0);
    expect(cli(['merge', r, '--allow-partial']).code).toBe(0);
    expect(trialLines(join(r, 'trials.jsonl'))).toHaveLength(20);
    const whole = cli(['sweep', ...TINY, '-o', r]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stderr).toMatch(/20 already done/);
    expect(trialLines(join(r, 'trials.jsonl'))).toHaveLength(40);
    const merged = cli(['merge', r]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toMatch(/40\/40 trials/);
    expect(trialLines(join(r, 'trials.jsonl'))).toHaveLength(40);
    // The same as one uninterrupted sweep.
    const ref = join(dir, 'ref');
    expect(cli(['sweep', ...TINY, '-o', ref]).code).toBe(0);
    expect(outcomes(join(r, 'trials.jsonl'))).toEqual(outcomes(join(ref, 'trials.jsonl')));
    // A folder holding only its own file merges (into plan order), then to the same bytes.
    expect(cli(['merge', ref]).code).toBe(0);
    const bytes = readFileSync(join(ref, 'trials.jsonl'), 'utf8');
    expect(cli(['merge', ref]).code).toBe(0);
    expect(readFileSync(join(ref, 'trials.jsonl'), 'utf8') === bytes).toBe(true);
    expect(outcomes(join(ref, 'trials.jsonl'))).toEqual(outcomes(join(r, 'trials.jsonl')));
  });

  it('a file in the output folder that is not a result file is refused and left as it was', () => {
    const dir = tmp();
    const out = join(dir, 'o');
    mkdirSync(out);
    const file = join(out, 'trials.jsonl');
    writeFileSync(file, 'hello world\nsomething of mine\n');
    const r = cli(['sweep', ...TINY, '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/trials\.jsonl exists and is not a scorecrl result file.*left untouched/);
    expect(readFileSync(file, 'utf8')).toBe('hello world\nsomething of mine\n');
    // merge does not replace it either.
    const src = join(dir, 'src');
    expect(cli(['sweep', ...TINY, '-o', src]).code).toBe(0);
    const m = cli(['merge', join(src, 'trials.jsonl'), '-o', file]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/not a scorecrl result file/);
    expect(readFileSync(file, 'utf8')).toBe('hello world\nsomething of mine\n');
    // --out, as every command names it, and --output, its earlier name, are the same flag.
    const copies = ['--out', '--output'].map((flag) => {
      const copy = join(dir, `copy${flag}.jsonl`);
      expect(cli(['merge', join(src, 'trials.jsonl'), flag, copy]).code).toBe(0);
      return readFileSync(copy, 'utf8');
    });
    expect(copies[0]).toMatch(/"type":"trial"/);
    expect(copies[1]).toBe(copies[0]);
    // A complete line that is not JSON inside a result file is kept on resume (only a cut-off last line is cut).
    const noted = join(dir, 'noted');
    expect(cli(['sweep', ...TINY, '--shard', '1/2', '-o', noted]).code).toBe(0);
    const shardFile = join(noted, 'trials-shard-1-of-2.jsonl');
    appendFileSync(shardFile, 'a note of mine\n');
    const resumed = cli(['sweep', ...TINY, '--shard', '1/2', '-o', noted, '--retry-errors']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/not valid JSON; ignored/);
    expect(readFileSync(shardFile, 'utf8')).toContain('a note of mine\n');
    // A header cut short by a kill (one line, no newline) is the sweep's own: it starts again.
    const cut = join(dir, 'cut');
    mkdirSync(cut);
    writeFileSync(join(cut, 'trials.jsonl'), '{"type":"sweep","format":1,"swee');
    const c = cli(['sweep', ...TINY, '-o', cut]);
    expect(c.code, c.stderr).toBe(0);
    expect(trialLines(join(cut, 'trials.jsonl'))).toHaveLength(40);
  });

  it('never writes through a symlink out of the output folder; a link inside it is followed', () => {
    const dir = tmp();
    const outside = join(dir, 'precious.txt');
    writeFileSync(outside, 'precious\n');
    const out = join(dir, 'p');
    mkdirSync(out);
    symlinkSync(outside, join(out, 'trials.jsonl'));
    const r = cli(['sweep', ...TINY, '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/symbolic link to .*precious\.txt, outside/);
    expect(readFileSync(outside, 'utf8')).toBe('precious\n');
    // merge and report outputs too.
    const src = join(dir, 'src');
    expect(cli(['sweep', ...TINY, '-o', src]).code).toBe(0);
    const m = cli(['merge', join(src, 'trials.jsonl'), '-o', join(out, 'trials.jsonl')]);
    expect(m.code).toBe(2);
    expect(readFileSync(outside, 'utf8')).toBe('precious\n');
    symlinkSync(outside, join(src, 'summary.csv'));
    const rep = cli(['report', src, '--reference', 'none']);
    expect(rep.code).toBe(2);
    expect(rep.stderr).toMatch(/summary\.csv is a symbolic link/);
    expect(readFileSync(outside, 'utf8')).toBe('precious\n');
    // A link to a file inside the folder is fine: the results go to its target.
    const inner = join(dir, 'q');
    mkdirSync(inner);
    symlinkSync('real.jsonl', join(inner, 'trials.jsonl'));
    const ok = cli(['sweep', ...TINY, '-o', inner]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(trialLines(join(inner, 'real.jsonl'))).toHaveLength(40);
  });

  it('one writer per result file: a live holder is named; a lock left by a dead process is taken over', async () => {
    const dir = tmp();
    const out = join(dir, 'o');
    mkdirSync(out);
    const file = join(out, 'trials.jsonl');
    // Held by a live process (this one).
    writeLock(file, process.pid);
    const held = cli(['sweep', ...TINY, '-o', out]);
    expect(held.code).toBe(2);
    expect(held.stderr).toContain(`is being written by scorecrl pid ${process.pid}`);
    expect(existsSync(file)).toBe(false);
    const src = join(dir, 'src');
    expect(cli(['sweep', ...TINY, '-o', src]).code).toBe(0);
    const m = cli(['merge', join(src, 'trials.jsonl'), '-o', file]);
    expect(m.code).toBe(2);
    expect(m.stderr).toContain(`pid ${process.pid}`);
    expect(existsSync(file)).toBe(false);
    // Left by a killed process: taken over.
    writeLock(file, deadPid());
    const taken = cli(['sweep', ...TINY, '-o', out]);
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stderr).toMatch(/took over the lock .* no longer running/);
    expect(existsSync(`${file}.lock`)).toBe(false);
    // From another host: live while it is touched.
    writeLock(file, 1, 'some-other-host');
    const remote = cli(['sweep', ...TINY, '-o', out]);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/pid 1 on host some-other-host/);

    // Two real sweeps on one folder: the second is refused while the first runs.
    const busy = join(dir, 'busy');
    const slow = ['--nd', '10x15', '--samples', '100000', '--runs', '400', '--workers', '1', '--progress', 'none', '--no-report'];
    const first = spawn(process.execPath, [BIN, 'sweep', ...slow, '-o', busy], { stdio: ['ignore', 'ignore', 'pipe'] });
    let firstErr = '';
    first.stderr.on('data', (b) => (firstErr += b));
    const closed = new Promise<number | null>((resolve) => first.on('close', resolve));
    for (let i = 0; i < 600 && !existsSync(join(busy, 'trials.jsonl')); i++) await new Promise((r) => setTimeout(r, 25));
    const second = cli(['sweep', ...slow, '-o', busy]);
    first.kill('SIGTERM');
    expect(await closed, firstErr).toBe(143);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(existsSync(join(busy, 'trials.jsonl.lock'))).toBe(false);
  }, 60_000);

  it('two different results for one trial in one file are reported, and merge refuses them', () => {
    const dir = tmp();
    const out = join(dir, 'o');
    expect(cli(['sweep', ...TINY, '-o', out]).code).toBe(0);
    const file = join(out, 'trials.jsonl');
    const record = JSON.parse(trialLines(file).find((l) => l.includes('"status":"ok"'))!) as TrialRecord;
    const changed = { ...record, metrics: { ...record.metrics!, shd: record.metrics!.shd + 1, correct: false } };
    appendFileSync(file, `${JSON.stringify(changed)}\n`);
    const read = readResults(file);
    expect(read.conflicts).toHaveLength(1);
    expect(read.conflicts[0]!.difference).toMatch(/metrics\.shd/);
    const rep = cli(['report', out, '--no-write', '--reference', 'none']);
    expect(rep.code).toBe(0);
    expect(rep.stderr).toMatch(new RegExp(`trial ${record.id} has a different result than on line \\d+ \\(metrics\\.shd`));
    const resumed = cli(['sweep', ...TINY, '-o', out]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/has a different result/);
    const m = cli(['merge', out]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/different results .*metrics\.shd.*nothing was written/);
    // An identical repeat is only a duplicate.
    const dup = join(dir, 'dup');
    expect(cli(['sweep', ...TINY, '-o', dup]).code).toBe(0);
    appendFileSync(join(dup, 'trials.jsonl'), `${JSON.stringify(record)}\n`);
    expect(readResults(join(dup, 'trials.jsonl')).conflicts).toHaveLength(0);
    expect(cli(['merge', dup]).code).toBe(0);
  });

  it('results equal up to rounding are the same result; discrete fields must be equal', () => {
    const base: TrialRecord = {
      type: 'trial',
      id: 'k/0',
      cellKey: 'k',
      cell: {} as TrialRecord['cell'],
      run: 0,
      seed: 1,
      status: 'ok',
      metrics: { shd: 2, precision: 0.6666666666666666, recall: 1, encoderError: 0.09528089285516067, correct: false, trueEdges: 3 },
      ms: 1,
      backend: 'native',
    };
    const m = base.metrics!;
    const w = (metrics: Record<string, number | boolean | number[]>): TrialRecord => ({
      ...base,
      backend: 'wasm',
      ms: 2,
      metrics: { ...m, ...metrics } as TrialRecord['metrics'],
    });
    expect(sameOutcome(base, w({ encoderError: m.encoderError + 9e-14 }))).toBeNull();
    expect(sameOutcome(base, w({ precision: m.precision * (1 + 1e-12) }))).toBeNull();
    expect(sameOutcome(base, w({ recall: 1 - 1e-15 }))).toBeNull();
    expect(sameOutcome(base, w({ encoderError: m.encoderError * (1 + 1e-6) }))).toMatch(/metrics\.encoderError/);
    expect(sameOutcome(base, w({ shd: 3 }))).toMatch(/metrics\.shd 2 vs 3/);
    expect(sameOutcome(base, w({ correct: true }))).toMatch(/metrics\.correct/);
    expect(sameOutcome(base, w({ trueEdges: 4 }))).toMatch(/metrics\.trueEdges/);
    expect(sameOutcome({ ...base, metrics: { ...m, graph: [0, 1, 0] } }, w({ graph: [0, 1, 1] }))).toMatch(/metrics\.graph\[2\]/);
  });

  it('shards run on the native and the WASM core merge into one sweep', () => {
    const dir = tmp();
    const out = join(dir, 'mixed');
    const a = cli(['--backend', 'native', 'sweep', ...TINY, '--nd', '3x5,5x15', '--samples', '1000,10000', '--shard', '1/2', '-o', out]);
    expect(a.code, a.stderr).toBe(0);
    const b = cli(['--backend', 'wasm', 'sweep', ...TINY, '--nd', '3x5,5x15', '--samples', '1000,10000', '--shard', '2/2', '-o', out]);
    expect(b.code, b.stderr).toBe(0);
    // The whole sweep on WASM too, so every trial has a native and a WASM result.
    const w = cli(['--backend', 'wasm', 'sweep', ...TINY, '--nd', '3x5,5x15', '--samples', '1000,10000', '-o', join(dir, 'wasm')]);
    expect(w.code, w.stderr).toBe(0);
    const n = cli(['--backend', 'native', 'sweep', ...TINY, '--nd', '3x5,5x15', '--samples', '1000,10000', '-o', join(dir, 'native')]);
    expect(n.code, n.stderr).toBe(0);
    const m = cli(['merge', out, join(dir, 'wasm'), join(dir, 'native'), '-o', join(dir, 'all.jsonl')]);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/40\/40 trials.*80 duplicates dropped/);
    const merged = readResults(join(dir, 'all.jsonl'));
    expect(new Set([...merged.records.values()].map((r) => r.backend))).toEqual(new Set(['native', 'wasm']));
  });

  it('builds only the trials of a shard, equal to filtering the whole plan; counts without planning', () => {
    const config = applyGrid(
      { ...defaultConfig(), runs: 7, seed: 2 },
      {
        nd: [
          [2, 2],
          [3, 4],
          [4, 4],
        ],
        samples: [100, 1000],
      },
      'test',
    );
    const all = planTrials(config);
    for (const count of [1, 2, 3, 5, 8, 50]) {
      for (let index = 1; index <= count; index++) {
        const shard = { index, count };
        expect(planTrials(config, shard)).toEqual(shardTrials(all, shard));
        expect(countTrials(config, shard)).toBe(shardTrials(all, shard).length);
      }
    }
    expect(countTrials({ ...defaultConfig(), runs: 1_000_000 })).toBe(36_000_000);
  });

  it('a dry run of a huge sweep answers at once; running it asks for shards', () => {
    const dry = cli(['sweep', '--runs', '1000000', '--dry-run'], { timeout: 30_000 });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/36 cells x 1000000 runs = 36000000 trials/);
    expect(dry.stdout).toMatch(/--shard k\/18/);
    const shard = cli(['sweep', '--runs', '1000000', '--shard', '3/18', '--dry-run'], { timeout: 30_000 });
    expect(shard.stdout).toMatch(/shard 3\/18: 2000000 trials/);
    const dir = tmp();
    const run = cli(['sweep', '--runs', '1000000', '-o', join(dir, 'huge')], { timeout: 30_000 });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/36,000,000 trials.*--shard k\/18/);
    expect(existsSync(join(dir, 'huge'))).toBe(false);
  });
});

describe.each(BACKENDS)('double Ctrl-C (%s)', (name) => {
  it('a second SIGINT exits 130 at once; every trial written is kept and the run resumes', async () => {
    const dir = tmp();
    const out = join(dir, 'o');
    const grid = [
      '--nd',
      '5x15',
      '--samples',
      '100000',
      '--runs',
      '60',
      '--seed',
      '4',
      '--progress',
      'none',
      '--no-report',
      '--workers',
      '2',
    ];
    const child = spawn(process.execPath, [BIN, '--backend', name, 'sweep', ...grid, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    const file = join(out, 'trials.jsonl');
    for (let i = 0; i < 1200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      if (existsSync(file) && trialLines(file).length >= 3) break;
    }
    const before = trialLines(file).length;
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const { code, signal } = await closed;
    expect({ code, signal }, stderr).toEqual({ code: 130, signal: null });
    expect(stderr).toMatch(/second SIGINT, exiting now/);
    const read = readResults(file);
    expect(read.problems.filter((p) => !/incomplete/.test(p))).toEqual([]);
    expect(read.records.size).toBeGreaterThanOrEqual(before);
    expect(existsSync(`${file}.lock`)).toBe(false);
    const resumed = cli(['--backend', name, 'sweep', ...grid, '-o', out]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`${read.records.size} already done`));
    expect(readResults(file).records.size).toBe(60);
  }, 90_000);
});

describe.each(BACKENDS)('estimator options (%s)', (name) => {
  it('an unknown option is a named error listing the known ones', async () => {
    const crl = await backend(name);
    const sim = crl.simulate({ n: 2, d: 3, samples: 200, seed: 1, outputs: { x: true } });
    expect(() => crl.estimateScoreDifferences(sim.x!, { method: 'ssm', epoch: 2 })).toThrow(
      /unknown option 'epoch' for method 'ssm' \(known: .*epochs/,
    );
    expect(() => crl.estimateScoreDifferences(sim.x!, { method: 'logistic-quadratic', maxIteration: 2 })).toThrow(
      /unknown option 'maxIteration'.*maxIterations/,
    );
    expect(() => crl.estimateScoreDifferences(sim.x!, { method: 'gaussian', centered: false })).toThrow(
      /unknown option 'centered'.*centred/,
    );
    await expect(crl.estimateScoreDifferencesAsync(sim.x!, { method: 'classifier-mlp', epoch: 1 })).rejects.toThrow(
      /unknown option 'epoch'/,
    );
    // Known options (and a seed for any method) still work.
    expect(crl.estimateScoreDifferences(sim.x!, { method: 'gaussian', seed: 3, centred: false }).dsx.shape).toEqual([2, 200, 3]);
    expect(crl.estimateScoreDifferences(sim.x!, { method: 'ssm', epochs: 1, seed: 1 }).dsx.shape).toEqual([2, 200, 3]);
  });
});

describe('bad flags, data and paths are named errors with exit 2', () => {
  it('--backend and SCORECRL_BACKEND take only native, wasm or auto', () => {
    const r = cli(['--backend', 'foo', 'info']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'foo' is invalid.*native, wasm, auto/);
    const e = cli(['info'], { env: { SCORECRL_BACKEND: 'foo' } });
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/SCORECRL_BACKEND must be one of native, wasm, auto, got 'foo'/);
    expect(cli(['--backend', 'wasm', 'info']).stdout).toMatch(/backend\s+wasm/);
  });

  it('report refuses a file that is not a result file', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'data.csv'), 'x,y\n1,2\n');
    const r = cli(['report', join(dir, 'data.csv'), '--no-write']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/data\.csv is not a scorecrl result file/);
    writeFileSync(join(dir, 'empty.jsonl'), '');
    const e = cli(['report', join(dir, 'empty.jsonl'), '--no-write']);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/empty\.jsonl is empty/);
  });

  it('numbers are decimal or scientific only: 0x10 in a CSV cell, a .npy shape or a flag is refused', () => {
    expect(parseDecimal('0x10')).toBeNaN();
    expect(parseDecimal('0b1')).toBeNaN();
    expect(parseDecimal('1_000')).toBeNaN();
    expect(parseDecimal('')).toBeNaN();
    expect(parseDecimal('Infinity')).toBeNaN();
    expect(parseDecimal(' -2.5e-3 ')).toBe(-2.5e-3);
    expect(parseDecimal('.5')).toBe(0.5);
    expect(parseDecimal('7.')).toBe(7);
    const dir = tmp();
    const csv = join(dir, 'e.csv');
    writeFileSync(csv, 'a,b\n1,0x10\n');
    expect(() => readCsv(csv)).toThrow(/line 2, column 'b': '0x10' is not a finite number in decimal or scientific notation/);
    // Through the CLI: exit 2 naming the cell.
    expect(cli(['simulate', '-o', join(dir, 'sim'), '--n', '2', '--samples', '50']).code).toBe(0);
    const env1 = readFileSync(join(dir, 'sim', 'env1.csv'), 'utf8').split('\n');
    env1[3] = env1[3]!.replace(/^[^,]+/, '0x10');
    writeFileSync(join(dir, 'sim', 'env1.csv'), env1.join('\n'));
    const fit = cli(['fit', ...[0, 1, 2].map((k) => join(dir, 'sim', `env${k}.csv`))]);
    expect(fit.code).toBe(2);
    expect(fit.stderr).toMatch(/env1\.csv: line 4, column 'x0': '0x10'/);
    // A .npy header whose shape is not decimal.
    const good = npyBytes({ data: new Float64Array(6), shape: [2, 3] });
    const bad = Buffer.from(good.toString('latin1').replace("'shape': (2, 3)", "'shape': (0x2, 3)"), 'latin1');
    writeFileSync(join(dir, 'a.npy'), bad);
    writeFileSync(join(dir, 'b.npy'), good);
    const npy = cli(['fit', join(dir, 'a.npy'), join(dir, 'b.npy')]);
    expect(npy.code).toBe(2);
    expect(npy.stderr).toMatch(/a\.npy: bad shape/);
    const flag = cli(['sweep', '--runs', '0x10', '--dry-run']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--runs must be a whole number/);
  });

  it('file-system errors name the path and exit 2', () => {
    const dir = tmp();
    expect(cli(['simulate', '-o', join(dir, 'sim'), '--n', '2', '--samples', '50']).code).toBe(0);
    const data = [0, 1, 2].map((k) => join(dir, 'sim', `env${k}.csv`));
    // -o in a folder that does not exist: refused before fitting.
    const missing = cli(['fit', ...data, '-o', join(dir, 'no', 'such', 'fit.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot write .*no\/such\/fit\.json: its folder .* does not exist/);
    // A full device (only if it is one: a regular file there would be replaced like any output).
    if (existsSync('/dev/full') && statSync('/dev/full').isCharacterDevice()) {
      const full = cli(['fit', ...data, '-o', '/dev/full']);
      expect(full.code).toBe(2);
      expect(full.stderr).toMatch(/cannot write \/dev\/full: no space left/);
      const sweep = cli(['sweep', ...TINY, '-o', '/dev/full']);
      expect(sweep.code).toBe(2);
      expect(sweep.stderr).toMatch(/\/dev\/full as a directory: it exists and is not a directory/);
      const sim = cli(['simulate', '-o', '/dev/full/x']);
      expect(sim.code).toBe(2);
      expect(sim.stderr).toMatch(/\/dev\/full/);
    }
    // A device is not a result file, nor a merge output.
    if (existsSync('/dev/zero')) {
      const zero = cli(['merge', '/dev/zero', '-o', join(dir, 'm.jsonl')], { timeout: 30_000 });
      expect(zero.code).toBe(2);
      expect(zero.stderr).toMatch(/\/dev\/zero is not a regular file/);
      expect(cli(['sweep', ...TINY, '-o', join(dir, 'src')]).code).toBe(0);
      const intoDevice = cli(['merge', join(dir, 'src'), '-o', '/dev/zero'], { timeout: 30_000 });
      expect(intoDevice.code).toBe(2);
      expect(intoDevice.stderr).toMatch(/\/dev\/zero exists and is not a regular file/);
      expect(statSync('/dev/zero').isCharacterDevice()).toBe(true);
    }
    // A directory given as a data file.
    mkdirSync(join(dir, 'd.npy'));
    const asFile = cli(['fit', join(dir, 'd.npy'), join(dir, 'd.npy')]);
    expect(asFile.code).toBe(2);
    expect(asFile.stderr).toMatch(/d\.npy: is a directory/);
    // An output folder under a regular file, and one the system refuses (/proc: Node's own recursive mkdir never returns there).
    writeFileSync(join(dir, 'plain'), 'x');
    const under = cli(['sweep', ...TINY, '-o', join(dir, 'plain', 'sub')]);
    expect(under.code).toBe(2);
    expect(under.stderr).toMatch(/plain as a directory: it exists and is not a directory/);
    if (existsSync('/proc/self')) {
      const proc = cli(['sweep', ...TINY, '-o', '/proc/scorecrl-no-such-dir'], { timeout: 30_000 });
      expect(proc.signal).toBeNull();
      expect(proc.code).toBe(2);
      expect(proc.stderr).toMatch(/cannot create the directory \/proc\/scorecrl-no-such-dir/);
    }
  });
});

describe('merge in the library', () => {
  it('includes an existing output and writes it atomically', () => {
    const dir = tmp();
    const a = join(dir, 'a');
    expect(cli(['sweep', ...TINY, '--shard', '1/2', '-o', a]).code).toBe(0);
    expect(cli(['sweep', ...TINY, '--shard', '2/2', '-o', a]).code).toBe(0);
    const out = join(dir, 'merged.jsonl');
    expect(mergeFiles([join(a, 'trials-shard-1-of-2.jsonl')], out, { allowPartial: true }).trials).toBe(20);
    // The second merge names only shard 2: shard 1's trials stay, from the output itself.
    const s = mergeFiles([join(a, 'trials-shard-2-of-2.jsonl')], out);
    expect(s.trials).toBe(40);
    expect(s.inputs).toContain(out);
    // No temp files left beside it.
    expect(
      spawnSync('ls', ['-a', dir], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((f) => f.includes('tmp')),
    ).toEqual([]);
  });
});

describe('locks in one process', () => {
  it('a second run on a file this process is writing is refused; a lock with this pid but not held here is stale', async () => {
    const { acquireLock } = await import('../src/io/lock.js');
    const file = join(tmp(), 'trials.jsonl');
    const lock = acquireLock(file);
    expect(() => acquireLock(file)).toThrow(new RegExp(`being written by scorecrl pid ${process.pid}`));
    lock.release();
    expect(existsSync(`${file}.lock`)).toBe(false);
    // Left by an earlier process that had this pid (a restarted container's pid 1).
    writeLock(file, process.pid);
    const messages: string[] = [];
    const again = acquireLock(file, 'test', (m) => messages.push(m));
    expect(messages.join()).toMatch(/took over/);
    again.release();
  });
});
