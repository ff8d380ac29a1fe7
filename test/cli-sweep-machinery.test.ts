// The sweep machinery (plan, seeds, JSONL store, resume, worker pool, shards,
// merge, report) with a stand-in trial, so these tests do not depend on the
// core's algorithms. test/cli-sweep.test.ts runs the real trial.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { aggregate, compareWithReference, parseReferenceCsv, stat, toCsv } from '../src/sweep/aggregate.js';
import { formatRateMatrix } from '../src/sweep/table.js';
import {
  applyGrid,
  ConfigError,
  configFromJson,
  configToJson,
  defaultConfig,
  expandCells,
  parseShard,
  planTrials,
  shardTrials,
  sweepId,
  trialSeed,
  type SweepConfig,
} from '../src/sweep/config.js';
import { mergeFiles } from '../src/sweep/merge.js';
import { writeReport } from '../src/sweep/report.js';
import { runSweep } from '../src/sweep/run.js';
import { readResults, recordOutcome } from '../src/sweep/store.js';
import type { TrialTask } from '../src/sweep/task.js';
// @ts-expect-error plain JS test double
import fakeRun, { fakeMetrics } from './helpers/fake-trial-worker.mjs';

const FAKE_WORKER = fileURLToPath(new URL('./helpers/fake-trial-worker.mjs', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'scorecrl-sweep-'));

function smallConfig(overrides: Record<string, unknown> = {}, runs = 6, seed = 3): SweepConfig {
  return applyGrid(
    { ...defaultConfig(), runs, seed },
    {
      nd: [
        [2, 2],
        [3, 4],
      ],
      samples: [100, 1000],
      ...overrides,
    },
    'test',
  );
}

const inline = (task: TrialTask) => fakeRun(task);

/** id -> outcome (identity + metrics) of a result file. */
function outcomes(file: string): Map<string, string> {
  return new Map([...readResults(file).records.values()].map((r) => [r.id, recordOutcome(r)]));
}

describe('sweep config and plan', () => {
  it('the default sweep is the NeurIPS 2024 grid: 6 (n, d) x 6 N x 100 runs', () => {
    const config = defaultConfig();
    const cells = expandCells(config);
    expect(cells).toHaveLength(36);
    expect(planTrials(config)).toHaveLength(3600);
    expect(new Set(cells.map((c) => `${c.n}x${c.d}`))).toEqual(new Set(['3x3', '3x15', '5x5', '5x15', '10x10', '10x15']));
    expect([...new Set(cells.map((c) => c.samples))]).toEqual([316, 1000, 3162, 10000, 31622, 100000]);
    const c = cells[0]!;
    expect(c).toMatchObject({
      latent: 'linear',
      density: 0.5,
      randomOrder: true,
      intervention: 'hard',
      factor: 0.25,
      design: 'single-node',
      randomInterventionOrder: true,
      transform: 'linear',
      scaleDecoder: false,
      estimator: 'gaussian',
      algorithm: 'finite-sample',
      tolEigv: 0.01,
      tolOrth: 0.1,
    });
  });

  it('a trial seed depends only on (sweep seed, cell, run), not on the rest of the grid', () => {
    const a = planTrials(smallConfig());
    const b = planTrials(smallConfig({ nd: [[3, 4]], samples: [1000, 5000] }));
    const shared = b.filter((t) => t.cell.samples === 1000);
    expect(shared.length).toBeGreaterThan(0);
    for (const t of shared) {
      const same = a.find((x) => x.id === t.id)!;
      expect(same.seed).toBe(t.seed);
    }
    expect(new Set(a.map((t) => t.seed)).size).toBe(a.length);
    expect(trialSeed(4, a[0]!.cell, 0)).not.toBe(trialSeed(3, a[0]!.cell, 0));
    expect(Number.isSafeInteger(a[0]!.seed)).toBe(true);
  });

  it('config round-trips through the JSON written in result headers', () => {
    const config = smallConfig({ estimator: ['gaussian', 'exact'], tolOrth: [0.1, 0.2] });
    expect(sweepId(configFromJson(configToJson(config)))).toBe(sweepId(config));
    expect(planTrials(config)).toHaveLength(4 * 4 * 6);
    // An editor's "$schema" pointer is accepted and does not change the sweep.
    expect(sweepId(configFromJson({ $schema: 'https://example.org/sweep.schema.json', ...configToJson(config) }))).toBe(sweepId(config));
  });

  it('rejects bad configs with messages naming the field', () => {
    expect(() => configFromJson({ grid: { nd: [[5, 3]] } })).toThrow(/d \(3\) must be >= n \(5\)/);
    expect(() => configFromJson({ grid: { estimator: 'magic' } })).toThrow(/'magic' is not one of gaussian, exact/);
    expect(() => configFromJson({ grid: { samples: [1000, 1000] } })).toThrow(/appears twice/);
    expect(() => configFromJson({ runs: 0 })).toThrow(/runs must be/);
    expect(() => configFromJson({ grid: { colour: 1 } })).toThrow(/unknown grid field 'colour'/);
    expect(() => configFromJson({ extra: 1 })).toThrow(ConfigError);
    expect(() => configFromJson({ $schema: 3 })).toThrow(/\$schema: expected a string/);
    expect(() => parseShard('0/3')).toThrow(/numbered from 1/);
    expect(() => parseShard('2-3')).toThrow(/k\/N/);
  });

  it('shards partition the plan', () => {
    const plan = planTrials(smallConfig());
    const parts = [1, 2, 3].map((k) => shardTrials(plan, { index: k, count: 3 }));
    expect(
      parts
        .flat()
        .map((t) => t.id)
        .sort(),
    ).toEqual(plan.map((t) => t.id).sort());
    expect(Math.max(...parts.map((p) => p.length)) - Math.min(...parts.map((p) => p.length))).toBeLessThanOrEqual(1);
  });
});

describe('running, resuming, sharding, merging', () => {
  it('gives the same results with 0 (inline), 1 and 2 pooled workers; failing trials are recorded and the sweep goes on', async () => {
    const config = smallConfig();
    const dir = tmp();
    const files = [join(dir, 'w0.jsonl'), join(dir, 'w1.jsonl'), join(dir, 'w2.jsonl')];
    await runSweep({ config, file: files[0]!, workers: 0, inlineTrial: inline });
    const s1 = await runSweep({ config, file: files[1]!, workers: 1, workerFile: FAKE_WORKER });
    const s2 = await runSweep({ config, file: files[2]!, workers: 2, workerFile: FAKE_WORKER });
    expect(s1.ran).toBe(24);
    expect(s2.ran).toBe(24);
    const [a, b, c] = files.map(outcomes);
    expect(a!.size).toBe(24);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    const records = [...readResults(files[2]!).records.values()];
    const failing = records.filter((r) => r.seed % 7 === 0);
    expect(s2.errors).toBe(failing.length);
    for (const r of records) {
      if (r.seed % 7 === 0) expect(r).toMatchObject({ status: 'error', error: `fake failure for seed ${r.seed}` });
      else expect(r.metrics).toEqual(fakeMetrics({ seed: r.seed, cell: r.cell }));
    }
  });

  it('resumes after a kill: a cut-off last line is ignored, finished trials are skipped, the result equals an uninterrupted run', async () => {
    const config = smallConfig();
    const dir = tmp();
    const full = join(dir, 'full.jsonl');
    await runSweep({ config, file: full, workers: 0, inlineTrial: inline });

    const file = join(dir, 'killed.jsonl');
    const first = await runSweep({ config, file, workers: 2, workerFile: FAKE_WORKER, limit: 9 });
    expect(first.ran).toBe(9);
    // The writer was killed half-way through the next line.
    const lines = readFileSync(full, 'utf8').split('\n');
    appendFileSync(file, lines[5]!.slice(0, 40));
    const broken = readResults(file);
    expect(broken.truncatedTail).toBe(true);
    expect(broken.records.size).toBe(9);
    expect(broken.problems.join()).toMatch(/incomplete/);

    const warnings: string[] = [];
    const second = await runSweep({ config, file, workers: 2, workerFile: FAKE_WORKER, onWarning: (w) => warnings.push(w) });
    expect(second.skipped).toBe(9);
    expect(second.ran).toBe(24 - 9);
    expect(warnings.join()).toMatch(/incomplete/);
    const after = readResults(file);
    expect(after.problems).toEqual([]);
    expect(after.lines).toBe(24);
    expect(outcomes(file)).toEqual(outcomes(full));

    // A third run has nothing to do; --retry-errors re-runs only the failed trials.
    expect((await runSweep({ config, file, workers: 0, inlineTrial: inline })).ran).toBe(0);
    const errors = [...after.records.values()].filter((r) => r.status === 'error').length;
    expect((await runSweep({ config, file, workers: 0, inlineTrial: inline, retryErrors: true })).ran).toBe(errors);
  });

  it('stops scheduling when its signal aborts and writes the trials in flight', async () => {
    const config = smallConfig();
    const file = join(tmp(), 'stopped.jsonl');
    const controller = new AbortController();
    let calls = 0;
    const summary = await runSweep({
      config,
      file,
      workers: 0,
      signal: controller.signal,
      inlineTrial: async (task) => {
        if (++calls === 4) controller.abort();
        return fakeRun(task);
      },
    });
    expect(summary.interrupted).toBe(true);
    expect(summary.ran).toBe(4);
    expect(readResults(file).records.size).toBe(4);
  });

  it('refuses to resume a file of another sweep', async () => {
    const file = join(tmp(), 'a.jsonl');
    await runSweep({ config: smallConfig(), file, workers: 0, inlineTrial: inline, limit: 2 });
    await expect(runSweep({ config: smallConfig({}, 6, 4), file, workers: 0, inlineTrial: inline })).rejects.toThrow(/different sweep/);
  });

  it('3 shards merged equal the unsharded sweep; merge is idempotent and detects duplicates, conflicts and config mismatches', async () => {
    const config = smallConfig();
    const dir = tmp();
    const whole = join(dir, 'whole.jsonl');
    await runSweep({ config, file: whole, workers: 2, workerFile: FAKE_WORKER });
    const shards = [1, 2, 3].map((k) => join(dir, `shard-${k}.jsonl`));
    for (const [k, f] of shards.entries()) {
      const s = await runSweep({ config, file: f, workers: 1, workerFile: FAKE_WORKER, shard: { index: k + 1, count: 3 } });
      expect(s.planned).toBe(8);
      expect(readResults(f).header!.shard).toEqual({ index: k + 1, count: 3 });
    }
    const merged = join(dir, 'merged.jsonl');
    const m = mergeFiles(shards, merged);
    expect(m).toMatchObject({ trials: 24, missing: 0, planned: 24, duplicates: 0, shards: ['1/3', '2/3', '3/3'] });
    expect(outcomes(merged)).toEqual(outcomes(whole));
    const toRows = (f: string) => JSON.stringify(aggregate(readResults(f).records.values()).map((r) => [r.cell, r.correctRate, r.metrics]));
    expect(toRows(merged)).toBe(toRows(whole));

    // Idempotent: merging again (with the previous output among the inputs) gives the same bytes.
    const bytes = readFileSync(merged, 'utf8');
    const again = mergeFiles([...shards, merged], merged);
    expect(again.duplicates).toBe(24);
    expect(readFileSync(merged, 'utf8')).toBe(bytes);
    // Merging the whole run with the merged shards: all duplicates.
    expect(mergeFiles([whole, merged], join(dir, 'm2.jsonl')).duplicates).toBe(24);

    // Missing shard: reported by name; nothing is written unless a partial merge is allowed,
    // and the partial file resumes into the full sweep.
    const partial = join(dir, 'partial.jsonl');
    const refused = mergeFiles(shards.slice(0, 2), partial);
    expect(refused).toMatchObject({
      missing: 8,
      written: false,
      shardCount: 3,
      missingShards: [{ index: 3, count: 3, missing: 8, planned: 8 }],
    });
    expect(existsSync(partial)).toBe(false);
    expect(mergeFiles(shards.slice(0, 2), partial, { allowPartial: true })).toMatchObject({ missing: 8, written: true });
    const resumed = await runSweep({ config, file: partial, workers: 0, inlineTrial: inline });
    expect(resumed.ran).toBe(8);
    expect(outcomes(partial)).toEqual(outcomes(whole));

    // Config mismatch: a shard of a sweep with another seed.
    const other = join(dir, 'other.jsonl');
    await runSweep({ config: smallConfig({}, 6, 99), file: other, workers: 0, inlineTrial: inline, shard: { index: 1, count: 3 } });
    expect(() => mergeFiles([shards[0]!, other], join(dir, 'x.jsonl'))).toThrow(/different sweep.*seed 3 vs 99/);

    // Conflict: the same trial with different metrics in two files.
    const tampered = join(dir, 'tampered.jsonl');
    const text = readFileSync(shards[0]!, 'utf8').split('\n');
    const okLine = text.findIndex((l) => l.includes('"status":"ok"'));
    const rec = JSON.parse(text[okLine]!);
    rec.metrics.shd += 1;
    text[okLine] = JSON.stringify(rec);
    writeFileSync(tampered, text.join('\n'));
    expect(() => mergeFiles([shards[0]!, tampered], join(dir, 'y.jsonl'))).toThrow(/different results in different files/);
    expect(existsSync(join(dir, 'y.jsonl'))).toBe(false);
  });
});

describe('report', () => {
  it("compares with a reference only the cells with the reference experiment's settings", async () => {
    const config = smallConfig({ estimator: ['gaussian', 'exact'] });
    const file = join(tmp(), 'ref.jsonl');
    await runSweep({ config, file, workers: 0, inlineTrial: inline });
    const rows = aggregate(readResults(file).records.values(), expandCells(config));
    const reference = parseReferenceCsv('samples,n,d,runs,correct_graph_rate\n100,2,2,100,0.5\n1000,3,4,100,0.25\n');
    const comparisons = compareWithReference(rows, reference);
    expect(comparisons.map((c) => [c.n, c.d, c.samples])).toEqual([
      [2, 2, 100],
      [3, 4, 1000],
    ]);
    for (const c of comparisons) {
      const row = rows.find((r) => r.cellKey === c.cellKey)!;
      expect(row.cell.estimator).toBe('gaussian');
      expect(c.diff).toBeCloseTo(row.correctRate.mean - c.reference, 12);
    }
    const matrix = formatRateMatrix(rows, comparisons).split('\n');
    expect(matrix.filter((l) => l.includes('(0.50)'))).toHaveLength(1);
    expect(matrix.find((l) => l.startsWith('2 2 exact'))).not.toMatch(/\(/);
  });

  it('aggregates mean ± standard error per cell and writes CSV, JSON, SVG figures and HTML', async () => {
    expect(stat([1, 2, 3, 4])).toEqual({ mean: 2.5, se: Math.sqrt(((1.5 ** 2 + 0.5 ** 2) * 2) / 3 / 4), count: 4 });
    const config = smallConfig();
    const dir = tmp();
    const file = join(dir, 'trials.jsonl');
    await runSweep({ config, file, workers: 0, inlineTrial: inline });
    const records = [...readResults(file).records.values()];
    const rows = aggregate(records, expandCells(config));
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      const mine = records.filter((r) => r.cell.n === row.cell.n && r.cell.samples === row.cell.samples);
      const ok = mine.filter((r) => r.status === 'ok');
      expect(row.runs + row.errors).toBe(6);
      expect(row.errors).toBe(mine.length - ok.length);
      const shd = ok.map((r) => r.metrics!.shd);
      expect(row.metrics.shd.mean).toBeCloseTo(shd.reduce((a, b) => a + b, 0) / shd.length, 12);
      expect(row.correctRate.mean).toBeCloseTo(shd.filter((s) => s === 0).length / shd.length, 12);
    }
    const csv = toCsv(rows).trim().split('\n');
    expect(csv[0]).toBe(
      'n,d,samples,runs,errors,correct_graph_rate,correct_graph_rate_se,shd_mean,shd_se,precision_mean,precision_se,recall_mean,recall_se,encoder_err_mean,encoder_err_se,ms_mean',
    );
    expect(csv).toHaveLength(5);
    const written = await writeReport(dir, rows, { sources: [file], trials: records.length, errors: 0 });
    expect(written.figures.length).toBeGreaterThanOrEqual(4);
    for (const f of written.figures) {
      const svg = readFileSync(f, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('samples per environment N');
    }
    const html = readFileSync(written.html, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('Correct-graph rate');
    expect(JSON.parse(readFileSync(written.json, 'utf8')).cells).toHaveLength(4);
  });
});
