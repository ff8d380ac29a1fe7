// Every estimator and LSCALE-I by name in `scorecrl sweep` and `scorecrl fit`: LSCALE-I cells
// (fused trial against the materialised pipeline on the same seed, soft and hard metrics),
// learned estimators with finite-sample and lscale (materialised trials: sane metrics,
// determinism across worker counts, resume), `fit --estimator` / `--algorithm lscale` on CSV
// files written here (graph and latents against the simulation's truth), and error paths.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CELL, type Cell } from '../src/sweep/config.js';
import { lscaleFusedMetrics } from '../src/sweep/lscale.js';
import { finiteSampleMaterialised, lscaleMaterialised } from '../src/sweep/materialised.js';
import { readResults, type TrialRecord } from '../src/sweep/store.js';
import { runTrial } from '../src/sweep/trial.js';
import type { NDArray } from '../src/types.js';
import { BACKENDS, backend } from './helpers/backends.js';

const BIN = join(fileURLToPath(new URL('..', import.meta.url)), 'bin', 'scorecrl.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'scorecrl-estimators-'));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cell = (fields: Partial<Cell>): Cell => ({ ...DEFAULT_CELL, n: 3, d: 5, samples: 5000, ...fields });

function records(file: string): TrialRecord[] {
  return [...readResults(file).records.values()];
}

/** Metrics of the ok records by trial id (throws on an error record, with its message). */
function metricsById(file: string): Map<string, Record<string, unknown>> {
  return new Map(
    records(file).map((r) => {
      if (r.status !== 'ok') throw new Error(`trial ${r.id} failed: ${r.error}`);
      return [r.id, r.metrics as Record<string, unknown>];
    }),
  );
}

function checkSane(m: Record<string, unknown>): void {
  expect(Number.isInteger(m.shd)).toBe(true);
  expect(m.shd as number).toBeGreaterThanOrEqual(0);
  for (const k of ['precision', 'recall']) {
    expect(m[k] as number).toBeGreaterThanOrEqual(0);
    expect(m[k] as number).toBeLessThanOrEqual(1);
  }
  expect(Number.isFinite(m.encoderError)).toBe(true);
  expect(m.correct).toBe(m.shd === 0);
}

describe.each(BACKENDS)('LSCALE-I sweep trials (%s)', (name) => {
  it('the fused trial equals the materialised pipeline on the same seed (exact scores, soft and hard)', async () => {
    const crl = await backend(name);
    let wrong = 0;
    for (const intervention of ['soft', 'hard'] as const) {
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        // Few samples, so that some graphs are wrong and the comparison has something to compare.
        const c = cell({ estimator: 'exact', algorithm: 'lscale', intervention, samples: 40, n: 4, d: 6 });
        const fused = lscaleFusedMetrics(crl, c, seed);
        const mat = lscaleMaterialised(crl, c, seed);
        for (const k of ['shd', 'precision', 'recall', 'correct', 'trueEdges', 'estimatedEdges', 'closureShd'])
          expect(mat[k], `${intervention} ${seed} ${k}`).toEqual(fused[k]);
        expect(mat.mcc as number).toBeCloseTo(fused.mcc as number, 9);
        expect(mat.encoderError).toBeCloseTo(1 - (mat.mcc as number), 12);
        // The paper's l_scale (hard) / l_pa (soft), from moments in the core and from samples here.
        expect(mat.mixingLoss as number).toBeCloseTo(fused.mixingLoss as number, 6);
        expect(fused.mixingLoss as number).toBeGreaterThanOrEqual(0);
        expect(fused.mixingLoss as number).toBeLessThanOrEqual(Math.sqrt(4));
        checkSane(fused);
        if (intervention === 'hard') expect(fused.closureMcc as number).toBeLessThanOrEqual(1);
        wrong += fused.shd as number;
      }
    }
    expect(wrong).toBeGreaterThan(0);
  });
});

describe('materialised finite-sample trials', () => {
  it('exact scores: the fused trial and the materialised one recover the graph and the encoder in the true labelling', async () => {
    const crl = await backend('native');
    for (const seed of [1, 2, 3, 4]) {
      const c = cell({ estimator: 'exact', samples: 200, n: 4, d: 6 });
      const fused = runTrial(crl, c, seed);
      const mat = finiteSampleMaterialised(crl, c, seed);
      // A mislabelled encoder or graph would show up as SHD and off-pattern mixing.
      expect(mat.shd).toBe(0);
      expect(mat.encoderError).toBeLessThan(1e-10);
      expect(mat.trueEdges).toBe(fused.trueEdges);
      expect(mat.estimatedEdges).toBe(fused.estimatedEdges);
    }
  });

  it('gaussian plug-in scores: close to the fused moments path on the same data', async () => {
    const crl = await backend('native');
    let agree = 0;
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const c = cell({ samples: 60, n: 4, d: 6 });
      const fused = runTrial(crl, c, seed);
      const mat = finiteSampleMaterialised(crl, c, seed);
      checkSane(mat);
      if (mat.shd === fused.shd) agree++;
      expect(Math.abs(mat.trueEdges as number)).toBe(fused.trueEdges);
    }
    expect(agree).toBeGreaterThanOrEqual(6);
  });

  it('a learned estimator: deterministic for a seed, good at large N; lscale with it and with a nonlinear SCM', async () => {
    const crl = await backend('native');
    const c = cell({ estimator: 'logistic-quadratic', samples: 20000 });
    let correct = 0;
    for (const seed of [1, 2, 3]) {
      const a = runTrial(crl, c, seed);
      expect(runTrial(crl, c, seed)).toEqual(a);
      checkSane(a);
      expect(a.encoderError).toBeLessThan(0.2);
      if (a.correct) correct++;
      const l = runTrial(crl, { ...c, algorithm: 'lscale', intervention: 'hard' }, seed);
      checkSane(l);
      expect(l.mcc as number).toBeGreaterThan(0.98);
    }
    expect(correct).toBeGreaterThanOrEqual(2);
    const q = runTrial(crl, cell({ algorithm: 'lscale', latent: 'quadratic', estimator: 'exact', samples: 3000 }), 5);
    checkSane(q);
    expect(q.mcc as number).toBeGreaterThan(0.5);
  });
});

describe('scorecrl sweep with lscale and learned estimators', () => {
  it('lscale cells: soft and hard, with exact scores at large N', () => {
    const dir = tmp();
    const out = join(dir, 'lscale');
    const r = cli([
      'sweep',
      '--algorithm',
      'lscale',
      '--intervention',
      'soft,hard',
      '--estimator',
      'exact',
      '--nd',
      '3x5',
      '--samples',
      '30000',
      '--runs',
      '8',
      '-o',
      out,
      '--progress',
      'none',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/intervention/);
    const rows = records(join(out, 'trials.jsonl'));
    expect(rows.length).toBe(16);
    const soft = rows.filter((t) => t.cell.intervention === 'soft').map((t) => t.metrics!);
    const hard = rows.filter((t) => t.cell.intervention === 'hard').map((t) => t.metrics!);
    for (const m of [...soft, ...hard]) checkSane(m);
    // Soft: the closure is recovered; hard: the DAG nearly always, the latents up to scale.
    expect(soft.every((m) => m.shd === 0)).toBe(true);
    expect(hard.reduce((s, m) => s + m.shd, 0) / hard.length).toBeLessThanOrEqual(0.5);
    expect(hard.every((m) => (m.mcc as number) > 0.999 && m.closureShd === 0)).toBe(true);
  });

  it('learned estimator cells: the same results with 1 and 2 workers, and a second run resumes', () => {
    const dir = tmp();
    const grid = [
      '--estimator',
      'logistic-quadratic',
      '--algorithm',
      'finite-sample,lscale',
      '--nd',
      '3x5',
      '--samples',
      '5000',
      '--runs',
      '3',
      '--progress',
      'none',
      '--no-report',
    ];
    const one = cli(['sweep', ...grid, '-o', join(dir, 'one'), '--workers', '1']);
    expect(one.code, one.stderr).toBe(0);
    const two = cli(['sweep', ...grid, '-o', join(dir, 'two'), '--workers', '2']);
    expect(two.code, two.stderr).toBe(0);
    const a = metricsById(join(dir, 'one', 'trials.jsonl'));
    const b = metricsById(join(dir, 'two', 'trials.jsonl'));
    expect(a.size).toBe(6);
    expect(b).toEqual(a);
    for (const m of a.values()) checkSane(m);
    const again = cli(['sweep', ...grid, '-o', join(dir, 'one')]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/0 trials run.*6 already done/);
  });

  it('rejects combinations that do not run, with the reason', () => {
    const dir = tmp();
    const run = (args: string[]) => cli(['sweep', '--nd', '3x5', '--runs', '1', '-o', join(dir, 'x'), ...args]);
    const cases: [string[], RegExp][] = [
      [
        ['--algorithm', 'umni', '--design', 'multi-node', '--estimator', 'ssm'],
        /ssm runs with algorithms finite-sample, lscale and gscale, not umni/,
      ],
      [['--algorithm', 'lscale', '--design', 'multi-node'], /algorithm lscale runs on design single-node, not multi-node/],
      [['--algorithm', 'lscale', '--transform', 'tanh'], /transform = tanh is not supported/],
      [['--estimator', 'classifier-mlp', '--sampling', 'wishart'], /sampling 'wishart'.*estimator classifier-mlp.*use sampling 'samples'/],
      [
        ['--algorithm', 'finite-sample,lscale', '--latent', 'mlp'],
        /latent = mlp .* with algorithm finite-sample .*lscale and gscale take quadratic, mlp/,
      ],
      [['--algorithm', 'lscale', '--estimator', 'magic'], /'magic' is not one of gaussian, exact/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });
});

describe('scorecrl fit with learned estimators and lscale', () => {
  /** Simulated environments written as CSV; truth in the fit's labelling (z_t = node of environment t+1). */
  async function writeData(dir: string, samples: number) {
    const crl = await backend('native');
    const n = 3;
    const d = 5;
    const sim = crl.simulate({
      n,
      d,
      samples,
      seed: 21,
      randomOrder: true,
      randomInterventionOrder: true,
      scaleDecoder: false,
      varianceFactors: 0.25,
    });
    const files: string[] = [];
    for (let k = 0; k <= n; k++) {
      const lines = [Array.from({ length: d }, (_, j) => `x${j}`).join(',')];
      for (let i = 0; i < samples; i++)
        lines.push(Array.from(sim.x!.data.subarray((k * samples + i) * d, (k * samples + i + 1) * d)).join(','));
      files.push(join(dir, `env${k}.csv`));
      writeFileSync(files[k]!, `${lines.join('\n')}\n`);
    }
    const node = Array.from({ length: n }, (_, t) => sim.interventions[t + 1]![0]!);
    const dag = node.map((a) => node.map((b) => sim.graph.data[a * n + b]!));
    const closureArray = crl.transitiveClosure({ data: Float64Array.from(dag.flat()), shape: [n, n] });
    const closure = node.map((_, a) => node.map((_, b) => closureArray.data[a * n + b]!));
    const z0 = node.map((a) => Array.from({ length: samples }, (_, i) => sim.z!.data[i * n + a]!));
    const x0: NDArray = { data: sim.x!.data.slice(0, samples * d), shape: [samples, d] };
    return { crl, files, dag, closure, z0, x0, n, d };
  }

  /** Mean |correlation| of each fitted latent with its own true latent (no matching: the labelling is known). */
  function latentCorrelation(encoder: number[][], x0: NDArray, z0: number[][]): number {
    const [N, d] = x0.shape as [number, number];
    let total = 0;
    encoder.forEach((row, t) => {
      const est = Array.from({ length: N }, (_, i) => row.reduce((s, w, j) => s + w * x0.data[i * d + j]!, 0));
      const z = z0[t]!;
      const me = est.reduce((s, v) => s + v, 0) / N;
      const mz = z.reduce((s, v) => s + v, 0) / N;
      let ez = 0;
      let ee = 0;
      let zz = 0;
      for (let i = 0; i < N; i++) {
        ez += (est[i]! - me) * (z[i]! - mz);
        ee += (est[i]! - me) ** 2;
        zz += (z[i]! - mz) ** 2;
      }
      total += Math.abs(ez) / Math.sqrt(ee * zz);
    });
    return total / encoder.length;
  }

  it('--estimator logistic-quadratic with finite-sample and lscale recovers the graph; errors exit 2', async () => {
    const dir = tmp();
    const data = await writeData(dir, 6000);
    const out = join(dir, 'fit.json');
    const fs = cli(['fit', ...data.files, '--estimator', 'logistic-quadratic', '--seed', '3', '-o', out]);
    expect(fs.code, fs.stderr).toBe(0);
    expect(fs.stdout).toMatch(/estimator logistic-quadratic \(learned on 6000 rows per environment, seed 3/);
    expect(fs.stdout).toMatch(/graph \(transitive closure/);
    expect(fs.stderr).toMatch(/estimating score differences \(logistic-quadratic\): 100%/);
    const fit = JSON.parse(readFileSync(out, 'utf8'));
    expect(fit.options).toMatchObject({ estimator: 'logistic-quadratic', algorithm: 'finite-sample', seed: 3 });
    expect(fit.graph).toEqual(data.closure);
    expect(fit.encoder.length).toBe(data.n);
    for (const row of fit.encoder as number[][]) expect(Math.hypot(...row)).toBeCloseTo(1, 10);
    expect(fit.diagnostics.scoreDiffEigenvalues.length).toBe(data.n);
    // Same seed, same result.
    const again = cli(['fit', ...data.files, '--estimator', 'logistic-quadratic', '--seed', '3', '--json', '--no-progress']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    expect(JSON.parse(again.stdout).encoder).toEqual(fit.encoder);

    // LSCALE-I hard: the DAG and the latents up to scale.
    const hard = cli([
      'fit',
      ...data.files,
      '--algorithm',
      'lscale',
      '--intervention',
      'hard',
      '--estimator',
      'logistic-quadratic',
      '--json',
      '--no-progress',
    ]);
    expect(hard.code, hard.stderr).toBe(0);
    const h = JSON.parse(hard.stdout);
    expect(h.options).toMatchObject({ algorithm: 'lscale', intervention: 'hard', estimator: 'logistic-quadratic' });
    expect(h.graphKind).toBe('DAG');
    expect(h.graph).toEqual(data.dag);
    expect(latentCorrelation(h.encoder, data.x0, data.z0)).toBeGreaterThan(0.99);
    // LSCALE-I soft with the Gaussian plug-in: the closure, printed as a summary.
    const soft = cli(['fit', ...data.files, '--algorithm', 'lscale']);
    expect(soft.code, soft.stderr).toBe(0);
    expect(soft.stdout).toMatch(/algorithm lscale \(soft interventions, adaptive edge rule\)/);
    expect(soft.stdout).toMatch(/latent +environment +var obs +var int +ratio +shift +parents/);

    const umni = cli(['fit', ...data.files, '--algorithm', 'umni', '--estimator', 'ssm']);
    expect(umni.code).toBe(2);
    expect(umni.stderr).toMatch(/--estimator ssm runs with --algorithm finite-sample, lscale or gscale \(umni takes gaussian\)/);
    const bogus = cli(['fit', ...data.files, '--estimator', 'magic']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/'magic' is invalid/);
    // Too few rows for the estimator's features: bad input, the estimator's message.
    const small = data.files.map((f, k) => {
      const file = join(dir, `small${k}.csv`);
      writeFileSync(file, `${readFileSync(f, 'utf8').split('\n').slice(0, 9).join('\n')}\n`);
      return file;
    });
    const rows = cli(['fit', ...small, '--estimator', 'logistic-quadratic', '--no-progress']);
    expect(rows.code).toBe(2);
    expect(rows.stderr).toMatch(/too few samples for logistic-quadratic: N = 8 per environment, need at least/);
    const few = cli(['fit', ...data.files.slice(0, 3), '--algorithm', 'lscale', '--latents', '3']);
    expect(few.code).toBe(2);
    expect(few.stderr).toMatch(/fewer environments than latents/);
  });
});
