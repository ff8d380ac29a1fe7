// The sweep with the real fused trial: the core's moment path against
// materialised data, backends, determinism across worker counts, and the
// CLI end to end (run, interrupt + resume, shards + merge, report, errors).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { trial, trialCovariances, type TrialInput } from '../src/ops/trial.js';
import { applyGrid, defaultConfig, type SweepConfig } from '../src/sweep/config.js';
import { runSweep } from '../src/sweep/run.js';
import { readResults, recordOutcome } from '../src/sweep/store.js';
import { BACKENDS, backend } from './helpers/backends.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'scorecrl.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'scorecrl-cli-'));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function outcomes(file: string): Map<string, string> {
  return new Map([...readResults(file).records.values()].map((r) => [r.id, recordOutcome(r)]));
}

const SMALL_GRID = ['--nd', '2x2,3x5', '--samples', '300,3000', '--runs', '5', '--seed', '11', '--progress', 'lines'];

describe.each(BACKENDS)('fused trial (%s)', (name) => {
  it('is deterministic and identical across backends; metrics are consistent', async () => {
    const crl = await backend(name);
    const native = await backend('native');
    const spec: TrialInput = { n: 4, d: 7, samples: 2000 };
    for (const seed of [1, 2, 3]) {
      const a = trial(crl.engine, spec, seed);
      expect(trial(crl.engine, spec, seed)).toEqual(a);
      const b = trial(native.engine, spec, seed);
      expect(a.shd).toBe(b.shd);
      expect(a.correct).toBe(b.correct);
      expect(a.encoderError).toBeCloseTo(b.encoderError, 8);
      // SHD = FP + FN on closures; precision and recall from the same counts.
      const tp = Math.round(a.recall * a.trueEdges);
      expect(a.shd).toBe(a.estimatedEdges - tp + (a.trueEdges - tp));
      if (a.estimatedEdges > 0) expect(a.precision).toBeCloseTo(tp / a.estimatedEdges, 12);
      expect(a.correct).toBe(a.shd === 0);
    }
  });
});

describe('fused trial against materialised data', () => {
  it('latent moments are those of simulate() with the same seed; plug-in covariances match ones computed from x', async () => {
    const crl = await backend('native');
    const { simulate } = await import('../src/ops/simulate.js');
    const n = 3;
    const d = 5;
    const N = 4000;
    const seed = 12345;
    const spec: TrialInput = { n, d, samples: N };
    const fused = trialCovariances(crl.engine, spec, seed);
    const sim = simulate(crl.engine, {
      n,
      d,
      samples: N,
      seed,
      density: 0.5,
      randomOrder: true,
      randomInterventionOrder: true,
      intervention: 'hard',
      varianceFactors: 0.25,
      scaleDecoder: false,
      outputs: { z: true, x: true, dsx: false },
    });
    const K = sim.K;
    expect(K).toBe(n);
    // Moments of the latents simulate() drew.
    for (let k = 0; k <= K; k++) {
      const z = sim.z!.data.subarray(k * N * n, (k + 1) * N * n);
      for (let i = 0; i < n; i++) {
        let mean = 0;
        for (let t = 0; t < N; t++) mean += z[t * n + i]!;
        expect(fused.latentMeans.data[k * n + i]).toBeCloseTo(mean / N, 10);
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let t = 0; t < N; t++) s += z[t * n + i]! * z[t * n + j]!;
          expect(fused.latentSecondMoments.data[(k * n + i) * n + j]).toBeCloseTo(s / N, 9);
        }
      }
    }
    // Gaussian plug-in R_m from the observations, computed here independently.
    const x = (k: number) => ({ data: sim.x!.data.slice(k * N * d, (k + 1) * N * d), shape: [N, d] });
    const eig = crl.symmetricEigen(crl.covariance(x(0)));
    const B = Array.from({ length: n }, (_, c) => Array.from({ length: d }, (_, r) => eig.vectors.data[r * d + (d - n + c)]!));
    const reduce = (k: number) => {
      const y = new Float64Array(N * n);
      for (let t = 0; t < N; t++)
        for (let c = 0; c < n; c++) {
          let s = 0;
          for (let r = 0; r < d; r++) s += sim.x!.data[(k * N + t) * d + r]! * B[c]![r]!;
          y[t * n + c] = s;
        }
      return y;
    };
    const moments = (y: Float64Array, centred: boolean) => {
      const m = new Array(n).fill(0);
      if (centred) for (let t = 0; t < N; t++) for (let i = 0; i < n; i++) m[i] += y[t * n + i]! / N;
      const c = Array.from({ length: n }, () => new Array(n).fill(0));
      for (let t = 0; t < N; t++)
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) c[i][j] += ((y[t * n + i]! - m[i]) * (y[t * n + j]! - m[j])) / N;
      return c as number[][];
    };
    const inverse = (a: number[][]) => {
      const m = a.map((r, i) => [...r, ...r.map((_, j) => (i === j ? 1 : 0))]);
      for (let i = 0; i < n; i++) {
        const p = m[i]![i]!;
        for (let j = 0; j < 2 * n; j++) m[i]![j]! /= p;
        for (let r = 0; r < n; r++)
          if (r !== i) {
            const f = m[r]![i]!;
            for (let j = 0; j < 2 * n; j++) m[r]![j]! -= f * m[i]![j]!;
          }
      }
      return m.map((r) => r.slice(n));
    };
    const mul = (a: number[][], b: number[][]) => a.map((r) => b[0]!.map((_, j) => r.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
    const ys = Array.from({ length: K + 1 }, (_, k) => reduce(k));
    const P = ys.map((y) => inverse(moments(y, true)));
    const U0 = moments(ys[0]!, false);
    for (let m = 1; m <= K; m++) {
      const D = P[m]!.map((r, i) => r.map((v, j) => v - P[0]![i]![j]!));
      const inner = mul(mul(D, U0), D);
      let scale = 0;
      let err = 0;
      for (let r = 0; r < d; r++)
        for (let c = 0; c < d; c++) {
          let s = 0;
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s += B[i]![r]! * inner[i]![j]! * B[j]![c]!;
          const got = fused.covariances.data[((m - 1) * d + r) * d + c]!;
          scale = Math.max(scale, Math.abs(s));
          err = Math.max(err, Math.abs(got - s));
        }
      expect(err / scale).toBeLessThan(1e-8);
    }
  });

  it('recovers the closure with exact scores and many samples; the Gaussian plug-in gets there as N grows', async () => {
    const crl = await backend('native');
    const rate = (spec: TrialInput) => {
      let ok = 0;
      for (let seed = 0; seed < 20; seed++) ok += trial(crl.engine, spec, 1000 + seed).correct ? 1 : 0;
      return ok / 20;
    };
    expect(rate({ n: 4, d: 6, samples: 100000, estimator: 'exact' })).toBeGreaterThanOrEqual(0.9);
    const small = rate({ n: 4, d: 6, samples: 316 });
    const large = rate({ n: 4, d: 6, samples: 100000 });
    expect(large).toBeGreaterThanOrEqual(0.8);
    expect(small).toBeLessThan(large);
  });
});

describe('Wishart sampling', () => {
  it('draws latent moments with the same distribution as drawing the samples', async () => {
    const crl = await backend('native');
    const spec = (samples: number, sampling: 'samples' | 'wishart'): TrialInput => ({ n: 3, d: 3, samples, sampling });
    // Per seed the model is the same in both modes; a huge Wishart N gives its true latent covariance.
    const devs = { samples: [] as number[], wishart: [] as number[] };
    for (let seed = 0; seed < 300; seed++) {
      const truth = trialCovariances(crl.engine, spec(100_000_000, 'wishart'), seed).latentSecondMoments.data;
      for (const mode of ['samples', 'wishart'] as const) {
        const m = trialCovariances(crl.engine, spec(200, mode), seed).latentSecondMoments.data;
        // Environment 0, entries (0,0) and (0,1), relative to the variance scale.
        devs[mode].push((m[0]! - truth[0]!) / truth[0]!, (m[1]! - truth[1]!) / Math.sqrt(truth[0]! * truth[4]!));
      }
    }
    const meanSquare = (v: number[]) => v.reduce((s, x) => s + x * x, 0) / v.length;
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const ratio = meanSquare(devs.wishart) / meanSquare(devs.samples);
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.25);
    // Unbiased: (1/N) sum z z^T has mean Sigma in both modes.
    for (const mode of ['samples', 'wishart'] as const) expect(Math.abs(mean(devs[mode]))).toBeLessThan(0.02);
    // Cost does not grow with N (timed in `sweep --sampling wishart`, README), so N = 10^8 is a
    // usable setting; with that many samples the estimated closure is exact and the encoder nearly so.
    const huge = trial(crl.engine, { n: 10, d: 15, samples: 100_000_000, sampling: 'wishart' }, 1);
    expect(huge.correct).toBe(true);
    expect(huge.encoderError).toBeLessThan(0.01);
  });
});

describe('sweep with the real trial', () => {
  it('gives identical results with 1 and 2 workers', async () => {
    const config: SweepConfig = applyGrid(
      { ...defaultConfig(), runs: 4, seed: 5 },
      {
        nd: [
          [3, 4],
          [4, 4],
        ],
        samples: [500, 5000],
      },
      'test',
    );
    const dir = tmp();
    const one = await runSweep({ config, file: join(dir, 'w1.jsonl'), workers: 1 });
    const two = await runSweep({ config, file: join(dir, 'w2.jsonl'), workers: 2 });
    expect(one.ran).toBe(16);
    expect(two.ran).toBe(16);
    expect(one.errors + two.errors).toBe(0);
    expect(two.backend).toBe('native');
    expect(outcomes(join(dir, 'w2.jsonl'))).toEqual(outcomes(join(dir, 'w1.jsonl')));
  });
});

describe('scorecrl CLI', () => {
  it('sweep prints the table and writes the report; the same command resumes with nothing to do', () => {
    const out = join(tmp(), 'run');
    const r = cli(['sweep', ...SMALL_GRID, '-o', out, '--workers', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Correct-graph rate/);
    expect(r.stdout).toMatch(/n\s+d\s+N\s+runs\s+correct\s+SHD/);
    expect(r.stderr).toMatch(/20 trials run/);
    for (const f of ['trials.jsonl', 'summary.csv', 'summary.json', 'report.html', 'figures/correct-graph-rate.svg']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const again = cli(['sweep', ...SMALL_GRID, '-o', out, '--no-report']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/0 trials run .*20 already done/);
    const report = cli(['report', out, '--no-write']);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/20 trials of 20 in 4 cells/);
  });

  it('SIGINT stops after the running trials (exit 130); running again resumes to the uninterrupted result', async () => {
    const dir = tmp();
    const grid = ['--nd', '5x15', '--samples', '100000', '--runs', '40', '--seed', '2', '--progress', 'lines', '--no-report'];
    const full = join(dir, 'full');
    expect(cli(['sweep', ...grid, '-o', full, '--workers', '2']).code).toBe(0);

    const out = join(dir, 'stopped');
    const child = spawn(process.execPath, [BIN, 'sweep', ...grid, '-o', out, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    // Wait until a few trials are written, then interrupt.
    const file = join(out, 'trials.jsonl');
    for (let i = 0; i < 400; i++) {
      await new Promise((r) => setTimeout(r, 25));
      if (existsSync(file) && readFileSync(file, 'utf8').split('\n').length > 4) break;
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/SIGINT: finishing the running trials/);
    const partial = readResults(file);
    expect(partial.records.size).toBeGreaterThan(0);
    expect(partial.records.size).toBeLessThan(40);
    // A kill mid-write leaves a partial line: resume must ignore it.
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"type":"trial","id":"x`);
    const resumed = cli(['sweep', ...grid, '-o', out, '--workers', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/incomplete/);
    expect(resumed.stderr).toMatch(new RegExp(`${partial.records.size} already done`));
    expect(outcomes(file)).toEqual(outcomes(join(full, 'trials.jsonl')));
  });

  it('3 shards merged with `scorecrl merge` equal the unsharded sweep', () => {
    const dir = tmp();
    const whole = join(dir, 'whole');
    expect(cli(['sweep', ...SMALL_GRID, '-o', whole, '--no-report']).code).toBe(0);
    const sharded = join(dir, 'sharded');
    for (const k of [1, 2, 3]) {
      const r = cli(['sweep', ...SMALL_GRID, '-o', sharded, '--shard', `${k}/3`, '--workers', '1']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`shard ${k}/3 done`));
    }
    const merged = cli(['merge', sharded]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toMatch(/shards 1\/3, 2\/3, 3\/3.*20\/20 trials/);
    expect(outcomes(join(sharded, 'trials.jsonl'))).toEqual(outcomes(join(whole, 'trials.jsonl')));
    // Idempotent.
    const bytes = readFileSync(join(sharded, 'trials.jsonl'), 'utf8');
    expect(cli(['merge', sharded]).code).toBe(0);
    expect(readFileSync(join(sharded, 'trials.jsonl'), 'utf8')).toBe(bytes);
    const a = cli(['report', whole, '--no-write', '--json']);
    const b = cli(['report', sharded, '--no-write', '--json']);
    expect(JSON.parse(b.stdout)).toEqual(JSON.parse(a.stdout));
    // Mixing shards of another sweep is a config mismatch.
    const other = join(dir, 'other');
    expect(cli(['sweep', ...SMALL_GRID, '--seed', '12', '-o', other, '--shard', '1/3']).code).toBe(0);
    const bad = cli([
      'merge',
      join(sharded, 'trials-shard-1-of-3.jsonl'),
      join(other, 'trials-shard-1-of-3.jsonl'),
      '-o',
      join(dir, 'x.jsonl'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/different sweep .*config mismatch: seed 11 vs 12/);
  });

  it('usage errors exit with code 2 and a message on stderr', () => {
    for (const command of ['sweep', 'report', 'merge', 'fit', 'simulate', 'info']) {
      const r = cli([command, '--help']);
      expect(r.code, command).toBe(0);
      expect(r.stdout).toMatch(/Usage: scorecrl/);
    }
    const cases: [string[], RegExp][] = [
      [['sweep', '--shard', '0/3'], /numbered from 1/],
      [['sweep', '--estimator', 'magic'], /'magic' is not one of gaussian, exact/],
      [['sweep', '--latent', 'mlp'], /latent = mlp is not supported/],
      [['sweep', '--nd', '5x3'], /d \(3\) must be >= n \(5\)/],
      [['sweep', '--runs', 'many'], /--runs must be a whole number/],
      [['sweep', '--config', '/nonexistent.json'], /does not exist/],
      [['report', '/nonexistent'], /does not exist/],
      [['merge', '/nonexistent'], /does not exist/],
      [['nosuchcommand'], /unknown command/],
    ];
    for (const [args, message] of cases) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    // A usage error prints the error and a one-line pointer to the command's help, not the help itself.
    const unknown = cli(['sweep', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--bogus'\n\(run 'scorecrl sweep --help' for the usage\)\n$/);
    expect(unknown.stdout + unknown.stderr).not.toMatch(/Usage:/);
    expect(cli(['slurm', 'init', '--bogus']).stderr).toMatch(/\(run 'scorecrl slurm init --help' for the usage\)/);
    // Resuming into a directory of another sweep.
    const out = join(tmp(), 'a');
    expect(cli(['sweep', '--nd', '2x2', '--samples', '100', '--runs', '2', '-o', out, '--no-report']).code).toBe(0);
    const r = cli(['sweep', '--nd', '2x2', '--samples', '100', '--runs', '3', '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/different sweep/);
  });
});
