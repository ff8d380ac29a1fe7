// `scorecrl fit` on small CSV and .npy files written here, and `scorecrl
// simulate` feeding it; data errors exit with code 2 and say what is wrong.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.js';
import { loadEnvironments, npyBytes, parseNpy, readCsv } from '../src/io/readers.js';

const BIN = join(fileURLToPath(new URL('..', import.meta.url)), 'bin', 'scorecrl.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'scorecrl-fit-'));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Closure of the true graph relabelled to the fit's latents (z_t = the node environment t+1 intervenes). */
function expectedClosure(truth: { closure: number[][]; interventions: number[][] }): number[][] {
  const perm = truth.interventions.slice(1).map((t) => t[0]!);
  return perm.map((a) => perm.map((b) => truth.closure[a]![b]!));
}

describe('readers', () => {
  it('.npy round trip, other dtypes, Fortran order and big-endian', () => {
    const a = { data: Float64Array.from([1, 2.5, -3, 4, 5, 6]), shape: [2, 3] };
    expect(parseNpy(npyBytes(a))).toEqual(a);
    // int32, Fortran order, version 1.0, hand-made like numpy.save(np.asfortranarray(...)).
    const header = "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }";
    const pad = `${' '.repeat(64 - ((10 + header.length + 1) % 64))}\n`;
    const head = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
    head.writeUInt16LE(header.length + pad.length, 8);
    const body = Buffer.alloc(24);
    [1, 4, 2, 5, 3, 6].forEach((v, i) => body.writeInt32LE(v, i * 4));
    const parsed = parseNpy(Buffer.concat([head, Buffer.from(header + pad, 'latin1'), body]));
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(parsed.shape).toEqual([2, 3]);
    const be = Buffer.from(npyBytes(a));
    const text = be.toString('latin1');
    const swapped = Buffer.from(text.replace("'<f8'", "'>f8'"), 'latin1');
    const start = swapped.length - 48;
    for (let i = 0; i < 6; i++) swapped.writeDoubleBE(a.data[i]!, start + i * 8);
    expect(parseNpy(swapped)).toEqual(a);
    expect(() => parseNpy(Buffer.from('hello world'))).toThrow(/not a .npy file/);
  });

  it('CSV errors name the file, line and column', () => {
    const dir = tmp();
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    expect(readCsv(write('ok.csv', 'a,b\n1,2\n3,4e-1\n'))).toMatchObject({ columns: ['a', 'b'], rows: 2 });
    // .tsv is split on tabs (a comma inside a cell is then an error, not a column).
    const tsv = readCsv(write('ok.tsv', 'a\tb\n1\t2\n3\t4e-1\n'));
    expect(tsv).toMatchObject({ columns: ['a', 'b'], rows: 2 });
    expect(Array.from(tsv.data)).toEqual([1, 2, 3, 0.4]);
    expect(() => readCsv(write('comma.tsv', 'a\tb\n1,5\t2\n'))).toThrow(/comma.tsv: line 2, column 'a': '1,5' is not a finite number/);
    expect(() => readCsv(write('text.csv', 'a,b\n1,2\n3,abc\n'))).toThrow(/text.csv: line 3, column 'b': 'abc' is not a finite number/);
    expect(() => readCsv(write('nan.csv', 'a,b\n1,NaN\n'))).toThrow(/nan.csv: line 2, column 'b': missing value or NaN/);
    expect(() => readCsv(write('empty.csv', 'a,b\n1,\n'))).toThrow(/missing value or NaN/);
    expect(() => readCsv(write('ragged.csv', 'a,b\n1,2,3\n'))).toThrow(/line 2 has 3 fields, the header has 2/);
    expect(() => readCsv(write('nohead.csv', '1,2\n3,4\n'))).toThrow(/header row/);
    const one = write('one.csv', 'a,b\n1,2\n');
    const other = write('other.csv', 'a,c\n1,2\n');
    expect(() => loadEnvironments([one, other])).toThrow(DataError);
    expect(() => loadEnvironments([one, other])).toThrow(/other.csv: columns \(a, c\) differ from one.csv \(a, b\)/);
    const envs = loadEnvironments([write('all.csv', 'env,a,b\nobs,1,2\nint,3,4\nobs,5,6\n')], {
      environmentColumn: 'env',
      observational: 'obs',
    });
    expect(envs.labels).toEqual(['obs', 'int']);
    expect(Array.from(envs.data[0]!.data)).toEqual([1, 2, 5, 6]);
  });
});

describe('scorecrl simulate + fit', () => {
  it('recovers the true closure from per-environment CSV files', () => {
    const dir = tmp();
    const sim = cli(['simulate', '-o', dir, '--n', '3', '--d', '6', '--samples', '40000', '--seed', '3']);
    expect(sim.code, sim.stderr).toBe(0);
    const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8'));
    const files = [0, 1, 2, 3].map((k) => join(dir, `env${k}.csv`));
    const r = cli(['fit', ...files, '-o', join(dir, 'fit.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/causal order: /);
    expect(r.stdout).toMatch(/graph \(transitive closure/);
    const fit = JSON.parse(readFileSync(join(dir, 'fit.json'), 'utf8'));
    expect(fit.graph).toEqual(expectedClosure(truth));
    expect(fit.encoder).toHaveLength(3);
    expect(fit.encoder[0]).toHaveLength(6);
    // Encoder rows recover latents up to scale and ancestors: each row is nearly orthogonal
    // to the decoder columns of non-ancestors of its latent.
    const perm = truth.interventions.slice(1).map((t: number[]) => t[0]);
    for (let t = 0; t < 3; t++) {
      for (let j = 0; j < 3; j++) {
        const allowed = j === perm[t] || truth.closure[j][perm[t]] === 1;
        if (allowed) continue;
        const col = truth.decoder.map((row: number[]) => row[j]);
        const dot = fit.encoder[t].reduce((s: number, v: number, i: number) => s + v * col[i], 0);
        const norm = Math.hypot(...col);
        expect(Math.abs(dot) / norm).toBeLessThan(0.05);
      }
    }
    // Hard interventions x0.25 shrink each latent's variance in its own environment.
    for (const l of fit.perLatent) expect(l.varianceRatio).toBeLessThan(0.6);
    expect(fit.diagnostics.supportExplainedVariance).toBeGreaterThan(0.999999);
  });

  it('reads one .npy per environment, a 3-d .npy, and one CSV with an environment column, with the same result', () => {
    const dir = tmp();
    const args = ['--n', '3', '--d', '4', '--samples', '20000', '--seed', '9'];
    expect(cli(['simulate', '-o', join(dir, 'npy'), '--format', 'npy', ...args]).code).toBe(0);
    expect(cli(['simulate', '-o', join(dir, 'one'), '--format', 'npy', '--single-file', ...args]).code).toBe(0);
    expect(cli(['simulate', '-o', join(dir, 'csv'), '--single-file', ...args]).code).toBe(0);
    const a = cli(['fit', ...[0, 1, 2, 3].map((k) => join(dir, 'npy', `env${k}.npy`)), '--json']);
    const b = cli(['fit', join(dir, 'one', 'data.npy'), '--json']);
    const c = cli(['fit', join(dir, 'csv', 'data.csv'), '--env-column', 'env', '--json']);
    for (const r of [a, b, c]) expect(r.code, r.stderr).toBe(0);
    const [fa, fb, fc] = [a, b, c].map((r) => JSON.parse(r.stdout));
    expect(fb.graph).toEqual(fa.graph);
    expect(fc.graph).toEqual(fa.graph);
    expect(fb.order).toEqual(fa.order);
    for (let t = 0; t < 3; t++)
      for (let j = 0; j < 4; j++) {
        expect(fb.encoder[t][j]).toBeCloseTo(fa.encoder[t][j], 12);
        expect(fc.encoder[t][j]).toBeCloseTo(fa.encoder[t][j], 6);
      }
    const truth = JSON.parse(readFileSync(join(dir, 'npy', 'truth.json'), 'utf8'));
    expect(fa.graph).toEqual(expectedClosure(truth));
  });

  it('data errors exit with code 2 and say what is wrong', () => {
    const dir = tmp();
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const rows = (k: number, cols = 3) =>
      [
        'a,b,c'.split(',').slice(0, cols).join(','),
        ...Array.from({ length: k }, (_, i) => Array.from({ length: cols }, (_, j) => Math.sin(i * 7 + j * 3 + k)).join(',')),
      ].join('\n');
    const e0 = write('e0.csv', rows(50));
    const e1 = write('e1.csv', rows(50));
    const cases: [string[], RegExp][] = [
      [[e0, write('cols.csv', rows(50, 2))], /columns \(a, b\) differ from e0.csv \(a, b, c\)/],
      [[e0, write('text.csv', 'a,b,c\n1,2,x\n')], /text.csv: line 2, column 'c': 'x' is not a finite number/],
      [[e0, write('nan.csv', 'a,b,c\n1,nan,2\n')], /nan.csv: line 2, column 'b': missing value or NaN/],
      [[e0, write('few.csv', rows(2))], /environment few.csv has 2 rows; at least 3 are needed/],
      [[e0, e1, '--latents', '2'], /fewer environments than latents: 1 interventional environment\(s\) \(e1.csv\) for 2 latents/],
      [[e0], /one file holds one environment/],
      [[e0, write('x.json', '{}')], /mix of file types/],
      [[e0, join(dir, 'missing.csv')], /missing.csv: no such file/],
    ];
    for (const [args, message] of cases) {
      const r = cli(['fit', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });
});

describe('output', () => {
  it('piped into a reader that stops early, the CLI ends quietly with code 0', async () => {
    const child = spawn(process.execPath, [BIN, 'fit', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Close our end before the help is written: the CLI's writes meet a closed pipe.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  });
});
