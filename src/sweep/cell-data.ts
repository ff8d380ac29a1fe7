/**
 * The simulated data of a sweep cell and the labelling of its environments, shared by the
 * materialised trials (finite-sample, LSCALE-I) and the GSCALE-I trials: the cell's simulation for
 * a trial's seed, its score differences, which node each environment intervenes, and the true
 * graph relabelled to follow the environments.
 */
import type { Backend } from '../backend.js';
import type { Simulation, SimulationConfig } from '../ops/simulate.js';
import type { NDArray } from '../types.js';
import type { Cell } from './config.js';

/**
 * The cell's data for `seed` with the arrays a materialised trial needs (z, x; dsx for exact
 * scores): single-node design, linear transform, unless `design` overrides them (GSCALE-I cells).
 */
export function simulateCell(crl: Backend, cell: Cell, seed: number, design: Partial<SimulationConfig> = {}): Simulation {
  return crl.simulate({
    n: cell.n,
    d: cell.d,
    samples: cell.samples,
    seed,
    density: cell.density,
    randomOrder: cell.randomOrder,
    latent: cell.latent,
    intervention: cell.intervention,
    varianceChange: cell.varianceChange,
    varianceFactors: cell.factor,
    design: 'single-node',
    randomInterventionOrder: cell.randomInterventionOrder,
    transform: 'linear',
    scaleDecoder: cell.scaleDecoder,
    conditionFloor: cell.conditionFloor,
    outputs: { z: true, x: true, dsx: cell.estimator === 'exact' },
    ...design,
  });
}

/** Score differences s_0 − s_m at the observational samples (K×N×d): exact, or the cell's estimator on x. */
export function cellScoreDifferences(crl: Backend, cell: Cell, sim: Simulation, seed: number): NDArray {
  if (cell.estimator === 'exact') return sim.dsx!;
  return crl.estimateScoreDifferences(sim.x!, { method: cell.estimator, seed, latents: cell.n }).dsx;
}

/** node[m]: the node environment m+1 intervenes (single-node design). */
export function interventionNodes(sim: Simulation): number[] {
  return Array.from({ length: sim.K }, (_, m) => {
    const targets = sim.interventions[m + 1]!;
    if (targets.length !== 1) throw new Error(`materialised trial: environment ${m + 1} intervenes ${targets.length} nodes, expected one`);
    return targets[0]!;
  });
}

/** node[i]: the node intervened by environments i+1 and n+i+1 (throws if the two differ). */
export function pairNodes(targets: NDArray): number[] {
  const [n, K] = targets.shape as [number, number];
  if (K !== 2 * n) throw new Error(`gscale trial: expected 2n = ${2 * n} environments, got ${K}`);
  return Array.from({ length: n }, (_, i) => {
    let node = -1;
    for (let k = 0; k < n; k++) {
      if (targets.data[k * K + i] === 1) {
        if (targets.data[k * K + n + i] !== 1)
          throw new Error(`gscale trial: environments ${i + 1} and ${n + i + 1} intervene different nodes`);
        node = k;
      }
    }
    if (node < 0) throw new Error(`gscale trial: environment ${i + 1} intervenes no node`);
    return node;
  });
}

/** The true graph (n×n, edge a→b at [a][b]) in the labelling of the environments: node a of the result is `nodes[a]`. */
export function relabelGraph(graph: NDArray, nodes: number[]): NDArray {
  const n = nodes.length;
  const data = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) data[a * n + b] = graph.data[nodes[a]! * n + nodes[b]!]!;
  return { data, shape: [n, n] };
}
