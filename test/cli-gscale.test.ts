// GSCALE-I from the command line: `scorecrl sweep --algorithm gscale` (trials equal the library
// pipeline on the same seed; design and transform checks) and `scorecrl fit --algorithm gscale`
// on `scorecrl simulate` output (latents against the true ones, roles, errors, progress and
// Ctrl-C).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadBackend } from '../src/backend/load.js';
import { gscalePairs } from '../src/ops/gscale.js';
import { readResults } from '../src/sweep/store.js';
import { pairNodes, relabelGraph } from '../src/sweep/cell-data.js';
import { sliceFirst } from '../src/types.js';

const BIN = join(fileURLToPath(new URL('..', import.meta.url)), 'bin', 'scorecrl.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'scorecrl-gscale-'));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const GRID = [
  '--algorithm',
  'gscale',
  '--design',
  'two-hard-per-node',
  '--transform',
  'tanh',
  '--latent',
  'quadratic',
  '--scale-decoder',
  'true',
];

/** |Pearson correlation| of two equal-length columns. */
function absCorrelation(a: number[], b: number[]): number {
  const N = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / N;
  const mb = b.reduce((s, v) => s + v, 0) / N;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let t = 0; t < N; t++) {
    ab += (a[t]! - ma) * (b[t]! - mb);
    aa += (a[t]! - ma) ** 2;
    bb += (b[t]! - mb) ** 2;
  }
  return Math.abs(ab) / Math.sqrt(aa * bb);
}

/** Rows of a CSV with a header. */
function readRows(file: string): number[][] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map(Number));
}

/** True latents of the observational rows for x = tanh(T z): z = pinv(T) atanh(x) (T has full column rank). */
function trueLatents(T: number[][], x: number[][]): number[][] {
  const n = T[0]!.length;
  // pinv(T) = (TᵀT)^{-1} Tᵀ by Gauss-Jordan on the n×n Gram matrix.
  const gram = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => T.reduce((s, row) => s + row[i]! * row[j]!, 0)));
  const inv = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let c = 0; c < n; c++) {
    const p = gram[c]![c]!;
    for (let j = 0; j < n; j++) {
      gram[c]![j]! /= p;
      inv[c]![j]! /= p;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = gram[r]![c]!;
      for (let j = 0; j < n; j++) {
        gram[r]![j]! -= f * gram[c]![j]!;
        inv[r]![j]! -= f * inv[c]![j]!;
      }
    }
  }
  return x.map((row) => {
    const y = row.map((v) => Math.atanh(v));
    const ty = Array.from({ length: n }, (_, i) => T.reduce<number>((s, tr, k) => s + tr[i]! * y[k]!, 0));
    return Array.from({ length: n }, (_, i) => inv[i]!.reduce<number>((s, v, j) => s + v * ty[j]!, 0));
  });
}

describe('scorecrl sweep --algorithm gscale', () => {
  it('trials equal the library pipeline on their seed; exact scores recover the DAG and latents (n = 3)', async () => {
    const out = join(tmp(), 'sweep');
    const r = cli([
      'sweep',
      ...GRID,
      '--nd',
      '3x12',
      '--samples',
      '200',
      '--runs',
      '3',
      '--estimator',
      'exact,logistic-quadratic',
      '-o',
      out,
      '--workers',
      '1',
      '--no-report',
      '--reference',
      'none',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const records = [...readResults(join(out, 'trials.jsonl')).records.values()];
    expect(records).toHaveLength(6);
    for (const rec of records) expect(rec.status, rec.error).toBe('ok');
    const exact = records.filter((rec) => rec.cell.estimator === 'exact');
    for (const rec of exact) {
      expect(rec.metrics!.shd).toBe(0);
      expect(rec.metrics!.correct).toBe(true);
      expect(rec.metrics!.mcc as number).toBeGreaterThan(0.999);
      expect(rec.metrics!.encoderError).toBeCloseTo(1 - (rec.metrics!.mcc as number), 12);
    }
    // Learned scores (on atanh(x)): the latents are still close; the graph is harder.
    for (const rec of records.filter((x) => x.cell.estimator === 'logistic-quadratic'))
      expect(rec.metrics!.mcc as number).toBeGreaterThan(0.95);
    // Independent recomputation of one exact trial with the library.
    const crl = await loadBackend({ backend: 'native' });
    const rec = exact[0]!;
    const sim = crl.simulate({
      n: 3,
      d: 12,
      samples: 200,
      seed: rec.seed,
      latent: 'quadratic',
      density: 0.5,
      randomOrder: true,
      intervention: 'hard',
      varianceFactors: [0.25, 4],
      design: 'two-hard-per-node',
      randomInterventionOrder: true,
      transform: 'tanh',
      scaleDecoder: true,
    });
    const fit = crl.gscale({ x: sliceFirst(sim.x!, 0), ...gscalePairs(sim.dsx!) });
    const truth = relabelGraph(sim.graph, pairNodes(sim.targets));
    expect(Array.from(fit.graph!.data)).toEqual(Array.from(truth.data));
    expect(crl.meanCorrelationCoefficient(sliceFirst(sim.z!, 0), fit.latents).mcc).toBeCloseTo(rec.metrics!.mcc as number, 10);
  });

  it('rejects cells gscale cannot run, with the fix in the message', () => {
    const dir = tmp();
    const run = (args: string[]) => cli(['sweep', '--nd', '3x12', '--runs', '1', '-o', join(dir, 'x'), ...args]);
    const design = run(['--algorithm', 'gscale', '--transform', 'tanh']);
    expect(design.code).toBe(2);
    expect(design.stderr).toMatch(/gscale needs design two-hard-per-node.*--design two-hard-per-node/);
    const linear = run(['--algorithm', 'gscale', '--design', 'two-hard-per-node']);
    expect(linear.code).toBe(2);
    expect(linear.stderr).toMatch(/gscale needs a nonlinear transform \(tanh or tanh-mlp\), not linear/);
    const soft = run([...GRID, '--intervention', 'soft']);
    expect(soft.code).toBe(2);
    expect(soft.stderr).toMatch(/needs hard interventions/);
    const tanhMixing = run(['--transform', 'tanh']);
    expect(tanhMixing.code).toBe(2);
    expect(tanhMixing.stderr).toMatch(/transform = tanh is not supported by the sweep's trial yet/);
  });
});

describe('scorecrl fit --algorithm gscale', () => {
  const simulate = (dir: string, extra: string[] = []) => {
    const r = cli([
      'simulate',
      '-o',
      dir,
      '--n',
      '3',
      '--d',
      '12',
      '--samples',
      '300',
      '--seed',
      '1',
      '--latent',
      'quadratic',
      '--design',
      'two-hard-per-node',
      '--transform',
      'tanh',
      '--scale-decoder',
      'true',
      ...extra,
    ]);
    expect(r.code, r.stderr).toBe(0);
    return Array.from({ length: 7 }, (_, k) => join(dir, `env${k}.csv`));
  };

  it('estimates scores, trains and returns latents that match the true ones; JSON roles and shapes', () => {
    const dir = tmp();
    const files = simulate(join(dir, 'data'));
    const truth = JSON.parse(readFileSync(join(dir, 'data', 'truth.json'), 'utf8'));
    // The two interventions of a pair hit the same node with factors 0.25 and 4.
    expect(truth.varianceFactors).toEqual([0.25, 0.25, 0.25, 4, 4, 4]);
    for (let i = 1; i <= 3; i++) expect(truth.interventions[i]).toEqual(truth.interventions[i + 3]);
    const out = join(dir, 'fit.json');
    const r = cli(['fit', ...files, '--algorithm', 'gscale', '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/estimator logistic-quadratic on atanh\(x\), algorithm gscale \(glm, spectral start\)/);
    expect(r.stderr).toMatch(/training \(glm\): 100%/);
    const fit = JSON.parse(readFileSync(out, 'utf8'));
    expect(fit.latents).toEqual(['z0', 'z1', 'z2']);
    expect(fit.input.environments.map((e: { role: string }) => e.role)).toEqual([
      'observational',
      'first hard intervention on z0',
      'first hard intervention on z1',
      'first hard intervention on z2',
      'second hard intervention on z0',
      'second hard intervention on z1',
      'second hard intervention on z2',
    ]);
    expect(fit.latentValues).toHaveLength(300);
    expect(fit.model.parameters).toHaveLength(36);
    for (let t = 0; t < 3; t++) expect(fit.D[t][t]).toBeCloseTo(1, 2);
    // z_t is the latent of the node that environments t+1 and t+4 intervene.
    const z = trueLatents(truth.decoder, readRows(files[0]!));
    for (let t = 0; t < 3; t++) {
      const node = truth.interventions[t + 1][0];
      const corr = absCorrelation(
        fit.latentValues.map((row: number[]) => row[t]),
        z.map((row) => row[node]!),
      );
      expect(corr).toBeGreaterThan(0.99);
    }
    // The graph is a DAG over the latents, consistent with the printed order.
    const pos = new Map<string, number>(fit.order.map((name: string, i: number) => [name, i]));
    for (const [a, b] of fit.edges as [string, string][]) expect(pos.get(a)!).toBeLessThan(pos.get(b)!);
    // Learned scores: the graph comes from the samples of every environment, each edge with its p-value.
    expect(fit.options.edgeRule).toBe('environments');
    expect(fit.edgeEvidence.map((e: { from: string; to: string }) => [e.from, e.to])).toEqual(fit.edges);
    for (const e of fit.edgeEvidence) expect(e.pValue).toBeLessThan(fit.options.threshold);
    expect(r.stdout).toMatch(
      /graph \(\d+ edges, environments rule: tests on 300 rows of each environment, an edge below p = 0\.0033 per pair\)/,
    );
    // The score statistic's rule on request.
    const adaptive = cli(['fit', ...files, '--algorithm', 'gscale', '--edge-rule', 'adaptive', '--json', '--no-progress']);
    expect(adaptive.code, adaptive.stderr).toBe(0);
    expect(JSON.parse(adaptive.stdout).options.edgeRule).toBe('adaptive');
  });

  it('--init chooses the start: the linear start uses nothing of tanh and recovers the same latents', () => {
    const dir = tmp();
    const files = simulate(join(dir, 'data'));
    const truth = JSON.parse(readFileSync(join(dir, 'data', 'truth.json'), 'utf8'));
    const r = cli(['fit', ...files, '--algorithm', 'gscale', '--init', 'linear', '--json', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    const fit = JSON.parse(r.stdout);
    expect(fit.options.init).toBe('linear');
    const z = trueLatents(truth.decoder, readRows(files[0]!));
    for (let t = 0; t < 3; t++) {
      const node = truth.interventions[t + 1][0];
      expect(
        absCorrelation(
          fit.latentValues.map((row: number[]) => row[t]),
          z.map((row) => row[node]!),
        ),
      ).toBeGreaterThan(0.99);
    }
    const text = cli(['fit', ...files, '--algorithm', 'gscale', '--init', 'random', '--max-iterations', '50', '--no-progress']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/algorithm gscale \(glm, random start\)/);
    const mlpSpectral = cli(['fit', ...files, '--algorithm', 'gscale', '--family', 'mlp', '--init', 'spectral']);
    expect(mlpSpectral.code).toBe(2);
    expect(mlpSpectral.stderr).toMatch(
      /--init spectral needs --family glm \(it solves x = tanh\(Uz\)\); use --init random or linear with mlp/,
    );
    const bogus = cli(['fit', ...files, '--algorithm', 'gscale', '--init', 'magic']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/'magic' is invalid/);
  });

  it('data and usage errors exit with code 2 and say what to change', () => {
    const dir = tmp();
    const files = simulate(join(dir, 'data'));
    const odd = cli(['fit', ...files.slice(0, 6), '--algorithm', 'gscale']);
    expect(odd.code).toBe(2);
    expect(odd.stderr).toMatch(/two hard interventions per latent \(2n environments/);
    const latents = cli(['fit', ...files, '--algorithm', 'gscale', '--latents', '2']);
    expect(latents.code).toBe(2);
    expect(latents.stderr).toMatch(/6 interventional environments for 2 latents; gscale needs exactly 2n = 4 \(use --latents 3\)/);
    // atanh(x) needs values in [-1, 1].
    const lines = readFileSync(files[2]!, 'utf8').split('\n');
    lines[5] = lines[5]!.replace(/^[^,]+/, '1.5');
    writeFileSync(files[2]!, lines.join('\n'));
    const range = cli(['fit', ...files, '--algorithm', 'gscale']);
    expect(range.code).toBe(2);
    expect(range.stderr).toMatch(
      /--score-space atanh needs every value in \[-1, 1\].*found 1.5 in environment env2.csv; use --score-space x/,
    );
  });

  it('reports training progress and Ctrl-C cancels it (exit 130)', async () => {
    const dir = tmp();
    const files = simulate(join(dir, 'data'));
    const child = spawn(
      process.execPath,
      [
        BIN,
        'fit',
        ...files,
        '--algorithm',
        'gscale',
        '--family',
        'mlp',
        '--hidden',
        '8',
        '--max-iterations',
        '100000000',
        '-o',
        join(dir, 'never.json'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    for (let i = 0; i < 400 && !/training \(mlp\)/.test(stderr); i++) await new Promise((r) => setTimeout(r, 25));
    expect(stderr).toMatch(/training \(mlp\): 0% \(gscale: iteration 0, loss/);
    const t0 = performance.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/scorecrl: fit cancelled/);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
