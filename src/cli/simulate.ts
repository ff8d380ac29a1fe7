import { Option, type Command } from 'commander';
import { makeDirectory, writeFileAtomic } from '../io/files.js';
import { join } from 'node:path';
import { backendInfo, loadBackend } from '../backend/load.js';
import { simulate, type SimulationConfig } from '../ops/simulate.js';
import { DEFAULT_CELL } from '../sweep/config.js';
import { writeCsv, writeNpy } from '../io/readers.js';
import { sliceFirst, toRows } from '../types.js';
import { backendOption } from './info.js';
import { UsageError } from '../errors.js';
import { booleanList, integer, packageVersion, positiveNumber } from './options.js';

export interface SimulateFlags {
  out: string;
  n: number;
  d?: number;
  samples: number;
  seed: number;
  format: 'csv' | 'npy';
  singleFile?: boolean;
  latent: 'linear' | 'quadratic' | 'mlp';
  density: number;
  randomOrder: boolean[];
  intervention: 'hard' | 'soft';
  factor: number;
  design: 'single-node' | 'two-hard-per-node' | 'multi-node';
  randomInterventionOrder: boolean[];
  transform: 'linear' | 'tanh' | 'tanh-mlp';
  scaleDecoder: boolean[];
}

/** Transitive closure of a 0/1 adjacency given as rows. */
function closure(graph: number[][]): number[][] {
  const n = graph.length;
  const reach = graph.map((r) => r.map((v) => v === 1));
  for (let k = 0; k < n; k++)
    for (let i = 0; i < n; i++) if (reach[i]![k]) for (let j = 0; j < n; j++) if (reach[k]![j]) reach[i]![j] = true;
  return reach.map((r, i) => r.map((v, j) => (v && i !== j ? 1 : 0)));
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('write a simulated interventional data set (one CSV or .npy file per environment + truth.json) that `scorecrl fit` reads')
    .requiredOption('-o, --out <dir>', 'output directory')
    .option('--n <n>', 'latent variables', integer('--n', 1, 20), 3)
    .option('--d <d>', 'observed variables (default n)', integer('--d', 1, 100000))
    .option('--samples <N>', 'samples per environment', integer('--samples', 2, 100_000_000), 10000)
    .option('--seed <s>', 'seed (a sweep trial with this seed and the same settings draws the same data)', integer('--seed', 0), 0)
    .addOption(new Option('--format <kind>', 'file format').choices(['csv', 'npy']).default('csv'))
    .option('--single-file', 'one file with an environment column (CSV: column "env"; .npy: a (K+1) x N x d array)')
    .addOption(new Option('--latent <model>', 'latent mechanisms').choices(['linear', 'quadratic', 'mlp']).default(DEFAULT_CELL.latent))
    .option('--density <p>', 'edge probability of the latent DAG', Number, DEFAULT_CELL.density)
    .option('--random-order <bool>', 'random topological order', booleanList, [DEFAULT_CELL.randomOrder])
    .addOption(new Option('--intervention <type>', 'hard or soft').choices(['hard', 'soft']).default(DEFAULT_CELL.intervention))
    .option(
      '--factor <x>',
      'noise-variance factor of an intervention (two-hard-per-node: factor, then 1/factor)',
      positiveNumber,
      DEFAULT_CELL.factor,
    )
    .addOption(
      new Option('--design <name>', 'intervention design')
        .choices(['single-node', 'two-hard-per-node', 'multi-node'])
        .default(DEFAULT_CELL.design),
    )
    .option('--random-intervention-order <bool>', 'assign environments to nodes at random', booleanList, [
      DEFAULT_CELL.randomInterventionOrder,
    ])
    .addOption(new Option('--transform <kind>', 'mixing x = g(z)').choices(['linear', 'tanh', 'tanh-mlp']).default(DEFAULT_CELL.transform))
    .option('--scale-decoder <bool>', 'scale decoder columns to max |entry| 1', booleanList, [DEFAULT_CELL.scaleDecoder])
    .addHelpText(
      'after',
      `
Defaults are the settings of the default sweep's trials. Files: env0 (observational),
env1..envK (environment k intervenes the node(s) listed in truth.json), columns
x0..x{d-1}; truth.json holds the graph, its closure, the targets, the decoder and
the encoder.

Example:
  scorecrl simulate -o data --n 3 --d 5 --samples 5000 --seed 7 && scorecrl fit data/env*.csv`,
    )
    .action(async (flags: SimulateFlags) => {
      const d = flags.d ?? flags.n;
      if (d < flags.n) throw new UsageError(`--d (${d}) must be >= --n (${flags.n})`);
      if (!(flags.density >= 0 && flags.density <= 1)) throw new UsageError(`--density must be in [0, 1], got ${flags.density}`);
      const config: SimulationConfig = {
        n: flags.n,
        d,
        samples: flags.samples,
        seed: flags.seed,
        density: flags.density,
        randomOrder: flags.randomOrder[0]!,
        latent: flags.latent,
        intervention: flags.intervention,
        // Two hard interventions per node: factor and 1/factor (as the sweep's gscale trials), so a pair differs.
        varianceFactors: flags.design === 'two-hard-per-node' ? [flags.factor, 1 / flags.factor] : flags.factor,
        design: flags.design,
        randomInterventionOrder: flags.randomInterventionOrder[0]!,
        transform: flags.transform,
        scaleDecoder: flags.scaleDecoder[0]!,
        outputs: { z: false, x: true, dsx: false },
      };
      makeDirectory(flags.out);
      const crl = await loadBackend({ backend: backendOption(program) });
      const sim = simulate(crl.engine, config);
      const x = sim.x!;
      const columns = Array.from({ length: d }, (_, j) => `x${j}`);
      const files: string[] = [];
      if (flags.singleFile) {
        if (flags.format === 'npy') {
          files.push(join(flags.out, 'data.npy'));
          writeNpy(files[0]!, x);
        } else {
          const N = sim.samples;
          const labels = Array.from({ length: (sim.K + 1) * N }, (_, i) => String(Math.floor(i / N)));
          files.push(join(flags.out, 'data.csv'));
          writeCsv(files[0]!, columns, { data: x.data, shape: [(sim.K + 1) * N, d] }, { name: 'env', labels });
        }
      } else {
        for (let k = 0; k <= sim.K; k++) {
          const file = join(flags.out, `env${k}.${flags.format}`);
          const slice = sliceFirst(x, k);
          if (flags.format === 'npy') writeNpy(file, slice);
          else writeCsv(file, columns, slice);
          files.push(file);
        }
      }
      const graph = toRows(sim.graph);
      const truth = {
        scorecrl: packageVersion(),
        backend: (await backendInfo({ backend: backendOption(program) })).name,
        config,
        files,
        n: sim.n,
        d: sim.d,
        samples: sim.samples,
        environments: sim.K + 1,
        interventions: sim.interventions,
        graph,
        closure: closure(graph),
        order: sim.order,
        decoder: toRows(sim.transform.decoder),
        encoder: toRows(sim.transform.encoder),
        varianceFactors: Array.from(sim.varianceFactors),
      };
      writeFileAtomic(join(flags.out, 'truth.json'), `${JSON.stringify(truth, null, 2)}\n`);
      console.log(
        `simulated n=${sim.n} d=${sim.d}, ${sim.K + 1} environments x ${sim.samples} samples (seed ${flags.seed}); ` +
          `wrote ${files.length} ${flags.format} file(s) and truth.json to ${flags.out}`,
      );
    });
}
