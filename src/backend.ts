import type { AsyncOptions, Engine, EngineInfo } from './backend/engine.js';
import type { NDArray } from './types.js';
import { call, splitAsyncOptions } from './ops/call.js';
import * as moments from './ops/moments.js';
import * as random from './ops/random.js';
import * as trial from './ops/trial.js';
import * as umni from './ops/umni.js';
import * as simulation from './ops/simulate.js';
import * as lscaleOps from './ops/lscale.js';
import * as finiteSampleOps from './ops/finite-sample.js';
import * as graphOps from './ops/graph.js';
import * as estimators from './ops/estimators.js';
import * as learned from './ops/estimators-learned.js';
import * as gscaleOps from './ops/gscale.js';

/**
 * The typed API over one engine (native or WASM). Every method is written
 * once here and in src/ops/*, so both engines behave identically; get one
 * from `loadBackend()`.
 */
export class Backend {
  constructor(readonly engine: Engine) {}

  get name(): Engine['name'] {
    return this.engine.name;
  }

  info(): EngineInfo {
    return this.engine.info();
  }

  /** Threads one core call may use (native; WASM is single-threaded). */
  setThreads(threads: number): number {
    return call(this.engine, 'setThreads', { numbers: { threads } }).numbers.threads;
  }

  /**
   * Sets what one call may allocate, in bytes (0 restores the default: native
   * SCORECRL_MAX_CALL_BYTES or 3/4 of physical memory, WASM 2 GiB); a call
   * past it fails at once with code 'out-of-memory'. Applies to synchronous
   * and asynchronous calls. Returns the limit in force and the default.
   */
  setMemoryLimit(bytes: number): { bytes: number; defaultBytes: number } {
    if (!Number.isSafeInteger(bytes) || bytes < 0)
      throw new RangeError(`setMemoryLimit: 'bytes' must be a whole number >= 0, got ${bytes}`);
    const out = call(this.engine, 'setMemoryLimit', { numbers: { bytes } }).numbers;
    return { bytes: out.bytes, defaultBytes: out.defaultBytes };
  }

  /**
   * Gives the memory of results you are done with back for the next large
   * result (`values`: results or parts of them, searched through objects and
   * arrays), so that loops of large calls write into memory already mapped
   * instead of fresh pages; returns the bytes taken back. Arrays whose memory
   * is taken back are detached (length 0) — use nothing of a result after
   * releasing it; arrays this backend did not return are left alone. Native
   * results are also reused without this once the garbage collector frees
   * them; WASM results (copied out of the module's memory) only through it.
   */
  release(...values: unknown[]): number {
    return this.engine.release(values);
  }

  /**
   * Frees the memory kept for reuse (up to 512 MiB in the core, and for WASM
   * up to 512 MiB of released result arrays); returns the bytes freed.
   */
  releaseMemory(): number {
    return this.engine.releaseMemory();
  }

  // --- moments (src/ops/moments.ts) ---
  /** Centred covariance (1/N) of `x` (N×d) → d×d. */
  covariance(x: NDArray): NDArray {
    return moments.covariance.run(this.engine, [x]);
  }
  /** `covariance` off the event loop. */
  covarianceAsync(x: NDArray, options?: AsyncOptions): Promise<NDArray> {
    return moments.covariance.runAsync(this.engine, [x], options);
  }
  /** Uncentred E[dsx_k dsx_k^T] for each k of `dsx` (K×N×d) → K×d×d. */
  scoreDiffCovariance(dsx: NDArray): NDArray {
    return moments.scoreDiffCovariance.run(this.engine, [dsx]);
  }
  scoreDiffCovarianceAsync(dsx: NDArray, options?: AsyncOptions): Promise<NDArray> {
    return moments.scoreDiffCovariance.runAsync(this.engine, [dsx], options);
  }
  /** All cross moments E[dsx_i dsx_j^T] of `dsx` (K×N×d) → (K·d)×(K·d); block (i, j) is rows i·d.., columns j·d... */
  crossScoreDiffCovariance(dsx: NDArray): NDArray {
    return moments.crossScoreDiffCovariance.run(this.engine, [dsx]);
  }
  crossScoreDiffCovarianceAsync(dsx: NDArray, options?: AsyncOptions): Promise<NDArray> {
    return moments.crossScoreDiffCovariance.runAsync(this.engine, [dsx], options);
  }
  /** Eigen-decomposition of a symmetric matrix: ascending eigenvalues, eigenvectors as columns. */
  symmetricEigen(a: NDArray): { values: Float64Array; vectors: NDArray } {
    return moments.symmetricEigen(this.engine, a);
  }

  // --- random numbers (src/ops/random.ts) ---
  /** Draws from `numpy.random.default_rng(seed)`, step by step on one stream. */
  randomDraws(seed: number, plan: random.Draw[]): Float64Array[] {
    return random.randomDraws(this.engine, seed, plan);
  }

  // --- UMNI-CRL (src/ops/umni.ts) ---
  /**
   * UMNI-CRL on samples `x` ((K+1)×N×d) and score differences `dsx` (K×Ns×d) from unknown
   * multi-node interventions: encoder up to ancestors + transitive closure (soft), and with
   * `intervention: 'hard'` latents up to scaling + the exact DAG. See docs/umni.md.
   */
  umni(data: umni.UmniData, options?: umni.UmniOptions): umni.UmniResult {
    return umni.umni.run(this.engine, [data], options);
  }
  /** `umni` off the event loop, with progress and cancellation. */
  umniAsync(data: umni.UmniData, options?: umni.UmniOptions & AsyncOptions): Promise<umni.UmniResult> {
    return umni.umni.runAsync(this.engine, [data], options);
  }
  /** UMNI-CRL with Gaussian plug-in scores from per-environment covariances and means (no samples needed). */
  umniGaussian(moments: umni.UmniMoments, options?: umni.UmniOptions & { centred?: boolean }): umni.UmniResult {
    return umni.umniGaussian(this.engine, moments, options);
  }
  /** A fused simulated UMNI-CRL trial from `seed` (multi-node design): metrics in the true labelling. */
  umniTrial(spec: umni.UmniTrialSpec, seed: number): umni.UmniTrialResult {
    return umni.umniTrial(this.engine, spec, seed);
  }

  // --- simulation (src/ops/simulate.ts) ---
  /** Simulated latents, observations and exact score differences; see `SimulationConfig`, docs/simulation.md. */
  simulate(config: simulation.SimulationConfig): simulation.Simulation {
    return simulation.simulate(this.engine, config);
  }
  simulateAsync(config: simulation.SimulationConfig, options?: AsyncOptions): Promise<simulation.Simulation> {
    return simulation.simulation.runAsync(this.engine, [config], options);
  }
  /** Exact scores / log-densities of environment `environment` of the model `config` draws, at given points. */
  simulationScores(
    config: simulation.SimulationConfig,
    quantity: simulation.ScoreQuantity,
    environment: number,
    points: simulation.ScorePoints,
  ): NDArray {
    return simulation.simulationScores(this.engine, config, quantity, environment, points);
  }
  /** The model's transform: forward g(z), inverse g^{-1}(x), or Jacobian J_g(z) (N x d x n). */
  simulationTransform(config: simulation.SimulationConfig, map: 'forward' | 'inverse' | 'jacobian', points: NDArray): NDArray {
    return simulation.simulationTransform(this.engine, config, map, points);
  }

  // --- fused trials (src/ops/trial.ts) ---
  /** One simulated trial (simulate → estimate → algorithm → metrics) in the core; returns only its metrics. */
  trial(spec: Partial<trial.TrialSpec> & Pick<trial.TrialSpec, 'n' | 'd' | 'samples'>, seed: number): trial.TrialResult {
    return trial.trial(this.engine, spec, seed);
  }

  // --- LSCALE-I, sample-complexity algorithm, score estimators, graphs and metrics (src/ops/lscale.ts, finite-sample.ts, estimators.ts, graph.ts) ---
  /**
   * LSCALE-I on samples + score differences, on samples with the Gaussian plug-in (no dsx formed),
   * or on d×d moments. Soft stage: encoder up to ancestors, graph up to closure; `intervention:
   * 'hard'` adds latents up to scaling and the DAG; `fullRank` the full-rank variant. docs/lscale.md.
   */
  lscale(data: lscaleOps.LscaleData, options?: lscaleOps.LscaleOptions): lscaleOps.LscaleResult {
    return lscaleOps.lscale.run(this.engine, [data], options);
  }
  lscaleAsync(data: lscaleOps.LscaleData, options?: lscaleOps.LscaleOptions & AsyncOptions): Promise<lscaleOps.LscaleResult> {
    return lscaleOps.lscale.runAsync(this.engine, [data], options);
  }
  /** One simulated LSCALE-I trial from latent moments (linear SCM); metrics in the environments' labelling. */
  lscaleTrial(spec: lscaleOps.LscaleTrialSpec): lscaleOps.LscaleTrialResult {
    return lscaleOps.lscaleTrial(this.engine, spec);
  }
  /** The sample-complexity algorithm (NeurIPS 2024; src/ops/finite-sample.ts): causal order, transitive closure, encoder. */
  finiteSample(data: finiteSampleOps.FiniteSampleData, options?: finiteSampleOps.FiniteSampleOptions): finiteSampleOps.FiniteSampleResult {
    return finiteSampleOps.finiteSample.run(this.engine, [data], options);
  }
  finiteSampleAsync(
    data: finiteSampleOps.FiniteSampleData,
    options?: finiteSampleOps.FiniteSampleOptions & AsyncOptions,
  ): Promise<finiteSampleOps.FiniteSampleResult> {
    return finiteSampleOps.finiteSample.runAsync(this.engine, [data], options);
  }
  /** Score differences s_0 − s_m at the observational samples (K×N×d) by a named estimator ('gaussian', ...). */
  estimateScoreDifferences(x: NDArray, options: estimators.GaussianOptions): estimators.GaussianResult;
  estimateScoreDifferences(x: NDArray, options: estimators.ScoreDifferenceOptions): estimators.ScoreDifferenceResult;
  estimateScoreDifferences(x: NDArray, options: estimators.ScoreDifferenceOptions): estimators.ScoreDifferenceResult {
    return estimators.estimateScoreDifferences(this.engine, x, options);
  }
  estimateScoreDifferencesAsync(
    x: NDArray,
    options: estimators.ScoreDifferenceOptions & AsyncOptions,
  ): Promise<estimators.ScoreDifferenceResult> {
    return estimators.estimateScoreDifferencesAsync(this.engine, x, ...splitAsyncOptions(options));
  }
  transitiveClosure(a: NDArray): NDArray {
    return graphOps.transitiveClosure(this.engine, a);
  }
  transitiveReduction(dag: NDArray): NDArray {
    return graphOps.transitiveReduction(this.engine, dag);
  }
  isDag(a: NDArray): boolean {
    return graphOps.isDag(this.engine, a);
  }
  topologicalOrder(dag: NDArray): number[] {
    return graphOps.topologicalOrder(this.engine, dag);
  }
  closestDag(a: NDArray): { dag: NDArray; order: number[] } {
    return graphOps.closestDag(this.engine, a);
  }
  compareGraphs(truth: NDArray, estimate: NDArray): graphOps.GraphComparison {
    return graphOps.compareGraphs(this.engine, truth, estimate);
  }
  linearSumAssignment(cost: NDArray, options?: { maximize?: boolean }): { assignment: number[]; total: number } {
    return graphOps.linearSumAssignment(this.engine, cost, options);
  }
  meanCorrelationCoefficient(zTrue: NDArray, zEstimate: NDArray): { mcc: number; matching: number[]; perLatent: Float64Array } {
    return graphOps.meanCorrelationCoefficient(this.engine, zTrue, zEstimate);
  }
  /**
   * The DAG over identified latents from samples of every environment ((K+1)×M×n) and which
   * environments intervene each latent (n×K): order from the interventional shifts, linear
   * unmixing, an F-test per pair (docs/gscale.md#graphs-from-the-environments).
   */
  interventionalGraph(
    latents: NDArray,
    targets: NDArray,
    options?: graphOps.InterventionalGraphOptions,
  ): graphOps.InterventionalGraphResult {
    return graphOps.interventionalGraph(this.engine, latents, targets, options);
  }
  effectiveMixingError(encoder: NDArray, decoder: NDArray, allowed: NDArray, threshold?: number): graphOps.MixingError {
    return graphOps.effectiveMixingError(this.engine, encoder, decoder, allowed, threshold);
  }
  allowedPattern(graph: NDArray, includeAncestors?: boolean): NDArray {
    return graphOps.allowedPattern(this.engine, graph, includeAncestors);
  }
  relativeRmse(estimate: NDArray, truth: NDArray): number {
    return graphOps.relativeRmse(this.engine, estimate, truth);
  }

  // --- learned score-difference estimators (src/ops/estimators-learned.ts) ---
  // 'logistic-quadratic', 'classifier-mlp' and 'ssm' are methods of estimateScoreDifferences.
  /** Rebuilds a fitted learned score-difference model from its flat `params` (result.model.params). */
  learnedScoreModel(params: Float64Array | NDArray): learned.LearnedScoreModel {
    return learned.learnedScoreModel(this.engine, params instanceof Float64Array ? params : params.data);
  }
  /** A learned estimator's training objective and its hand-derived gradient at given parameters (checks). */
  learnedObjective(
    method: learned.LearnedMethodName,
    params: Float64Array,
    y: NDArray,
    aux: NDArray,
    options?: { width?: number; hiddenLayers?: number; l2?: number },
  ): { loss: number; gradient: Float64Array; hessian?: NDArray } {
    return learned.learnedObjective(this.engine, method, params, y, aux, options);
  }

  // --- GSCALE-I (src/ops/gscale.ts) ---
  /** GSCALE-I: autoencoder with the score-difference loss, latents and graph (general invertible transforms). */
  gscale(input: gscaleOps.GscaleInput, options?: gscaleOps.GscaleOptions): gscaleOps.GscaleResult {
    return gscaleOps.gscale(this.engine, input, options);
  }
  /**
   * `gscale` off the event loop, with progress (fraction of maxIterations) and cancellation: the
   * AsyncOptions go in `options` like every other asynchronous call. (A third argument with them is
   * still accepted, from earlier versions.)
   */
  gscaleAsync(
    input: gscaleOps.GscaleInput,
    options?: gscaleOps.GscaleOptions & AsyncOptions,
    legacyAsyncOptions?: AsyncOptions,
  ): Promise<gscaleOps.GscaleResult> {
    const [own, async] = splitAsyncOptions(options);
    return gscaleOps.gscaleAsync(this.engine, input, own, { ...async, ...legacyAsyncOptions });
  }
  /** ẑ (N×n) for x (N×d) under a trained GSCALE-I model. */
  gscaleEncode(model: gscaleOps.GscaleModel, x: NDArray): NDArray {
    return gscaleOps.gscaleEncode(this.engine, model, x);
  }
  /**
   * GSCALE-I's graph from the samples of every environment ((2n+1)×M×d, GSCALE-I's layout): the
   * data-based rule for learned score differences (see `interventionalGraph`).
   */
  gscaleEnvironmentGraph(
    model: gscaleOps.GscaleModel,
    x: NDArray,
    options?: graphOps.InterventionalGraphOptions,
  ): graphOps.InterventionalGraphResult {
    return gscaleOps.gscaleEnvironmentGraph(this.engine, model, x, options);
  }
  /** x̂ (N×d) for z (N×n) under a trained GSCALE-I model. */
  gscaleDecode(model: gscaleOps.GscaleModel, z: NDArray): NDArray {
    return gscaleOps.gscaleDecode(this.engine, model, z);
  }
  /** J_dec(ẑ)ᵀ dsx for each slice of dsx (K×N×d at the rows of x) → K×N×n. */
  gscaleLatentScoreDifferences(model: gscaleOps.GscaleModel, x: NDArray, dsx: NDArray): NDArray {
    return gscaleOps.gscaleLatentScoreDifferences(this.engine, model, x, dsx);
  }
  /** GSCALE-I loss terms, D and the hand-derived gradient at a model's parameters (checks). */
  gscaleLoss(
    model: gscaleOps.GscaleModel,
    input: Pick<gscaleOps.GscaleInput, 'x' | 'dsxPairs'>,
    options?: { targetScale?: number; reconstructionWeight?: number; gradient?: boolean },
  ): ReturnType<typeof gscaleOps.gscaleLoss> {
    return gscaleOps.gscaleLoss(this.engine, model, input, options);
  }

  /** Stops worker threads this backend started. */
  close(): Promise<void> {
    return this.engine.close();
  }
}
