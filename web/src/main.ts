// The demo page: simulate → estimate score differences → fit → evaluate, all
// client-side in a Web Worker running scorecrl's WebAssembly core.
import { loadBackend, type BrowserBackend } from 'scorecrl';
import {
  ALGORITHMS,
  ESTIMATORS,
  REQUIRED_OPS,
  available,
  type Algorithm,
  type Estimator,
  type Intervention,
  type Runner,
} from './algorithms.js';
import { drawGraph, drawHeatmap } from './draw.js';
import { compareEdges } from './evaluate.js';
import { runPipeline, type Settings, type Timing } from './pipeline.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
type SvgElement = SVGSVGElement & HTMLElement;
const form = $<HTMLFormElement>('controls');
const runButton = $<HTMLButtonElement>('run');
const cancelButton = $<HTMLButtonElement>('cancel');
const progress = $<HTMLProgressElement>('progress');
const status = $<HTMLSpanElement>('status');
const errorBox = $<HTMLParagraphElement>('error');

let runner: Runner;
let algorithms: Algorithm[] = [];
let estimators: Estimator[] = [];
let controller: AbortController | undefined;

/** The browser backend as the pipeline's Runner. */
function asRunner(crl: BrowserBackend): Runner {
  return {
    has: (method) => crl.has(method),
    ops: () => crl.ops(),
    scoreEstimators: () => crl.scoreEstimators(),
    timed: (method, args, options) => (crl.timed as Runner['timed'])(method, args, options),
  };
}

function field(name: string): HTMLInputElement | HTMLSelectElement {
  return form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
}

function fill(select: HTMLSelectElement, items: { id: string; label: string }[]): void {
  select.replaceChildren(...items.map((item) => new Option(item.label, item.id)));
}

/** Form values from the URL (?n=5&d=20&samples=5000&algorithm=lscale&...; run=1 starts at once). */
function applyQuery(): boolean {
  const query = new URLSearchParams(location.search);
  for (const name of ['n', 'd', 'samples', 'latent', 'intervention', 'seed', 'estimator', 'algorithm']) {
    const value = query.get(name);
    if (value === null) continue;
    const input = field(name);
    if (input instanceof HTMLSelectElement && ![...input.options].some((o) => o.value === value)) {
      if (name === 'samples' && /^\d+$/.test(value)) input.append(new Option(value, value));
      else throw new Error(`'${name}=${value}' is not available here (choices: ${[...input.options].map((o) => o.value).join(', ')})`);
    }
    input.value = value;
  }
  return query.get('run') === '1';
}

function setStatus(text: string, fraction?: number): void {
  status.textContent = text;
  if (fraction === undefined) progress.removeAttribute('value');
  else progress.value = fraction;
}

function showError(error: unknown): void {
  errorBox.hidden = false;
  errorBox.textContent = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(1) : ms.toFixed(0));

function renderTimings(timings: Timing[]): void {
  const body = document.querySelector<HTMLTableSectionElement>('#timings tbody')!;
  body.replaceChildren(
    ...timings.map((t) => {
      const tr = document.createElement('tr');
      tr.dataset.stage = t.stage;
      for (const text of [t.stage, fmt(t.ms), t.workerMs === undefined ? '' : fmt(t.workerMs)]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
}

function settings(): Settings {
  return {
    n: Number(field('n').value),
    d: Number(field('d').value),
    samples: Number(field('samples').value),
    seed: Number(field('seed').value),
    latent: field('latent').value as Settings['latent'],
    intervention: field('intervention').value as Intervention,
    estimator: field('estimator').value,
    algorithm: field('algorithm').value,
  };
}

async function run(): Promise<void> {
  errorBox.hidden = true;
  const s = settings();
  const algorithm = algorithms.find((a) => a.id === s.algorithm)!;
  const estimator = estimators.find((e) => e.id === s.estimator)!;
  controller = new AbortController();
  runButton.disabled = true;
  cancelButton.disabled = false;
  document.body.dataset.state = 'running';
  let current = { index: 0, count: 1 };
  try {
    const outcome = await runPipeline(runner, s, {
      signal: controller.signal,
      onStage: (stage, index, count) => {
        current = { index, count };
        setStatus(`${stage}…`, index / count);
      },
      onProgress: (stage, fraction, message) =>
        setStatus(`${stage}${message ? `: ${message}` : ''} (${Math.round(fraction * 100)}%)`, (current.index + fraction) / current.count),
    });
    const { evaluation: result, fit, simulation: sim, timings } = outcome;
    const total = timings.find((t) => t.stage === 'total')!.ms;
    const closure = fit.kind === 'closure';
    const edges = compareEdges(result.truth, result.graph);
    drawGraph(
      $<SvgElement>('graph-true'),
      s.n,
      edges.filter((e) => e.status !== 'extra'),
      'true graph',
    );
    drawGraph(
      $<SvgElement>('graph-est'),
      s.n,
      edges.filter((e) => e.status !== 'missing'),
      'estimated graph',
    );
    drawHeatmap($<SvgElement>('heatmap'), result.mixing, result.allowed);
    $('caption-true').textContent = closure ? 'True graph (transitive closure)' : 'True DAG';
    $('caption-est').textContent = closure ? `Estimated graph (${algorithm.id}, transitive closure)` : `Estimated DAG (${algorithm.id})`;
    $('mcc').textContent = result.mcc.toFixed(4);
    $('shd').textContent = String(result.shd);
    $('shd-label').textContent = closure ? 'SHD (closures)' : 'SHD';
    $('pr').textContent = `${result.comparison.precision.toFixed(2)} / ${result.comparison.recall.toFixed(2)}`;
    const effective = result.mixingKind === 'effective';
    $('incorrect').textContent = effective ? `${result.incorrectMixing} / ${result.allowed.flat().filter((a) => !a).length}` : '–';
    $('incorrect').title = effective
      ? `entries |E| ≥ 0.05 outside the allowed pattern; spectral norm off the pattern ${result.offPatternNorm!.toFixed(3)}`
      : 'the encoder is nonlinear: no effective-mixing matrix';
    $('caption-mixing').textContent = effective
      ? 'Effective mixing (encoder · true decoder), unit rows; outlined: nonzero outside the allowed pattern'
      : 'Correlation of each matched estimated latent ẑ (rows) with the true latents z (columns)';
    $('total').textContent = `${fmt(total)} ms`;
    $('note').textContent =
      `${algorithm.label}; ${estimator.label}; ${fit.note}. n=${s.n}, d=${s.d}, N=${s.samples} per environment, ` +
      `${sim.K + 1} environments, seed ${s.seed}.`;
    renderTimings(timings);
    $('results').hidden = false;
    setStatus(`Done in ${fmt(total)} ms.`, 1);
    document.body.dataset.runs = String(Number(document.body.dataset.runs ?? 0) + 1);
    document.body.dataset.state = 'done';
  } catch (error) {
    if ((error as Error).name === 'AbortError') {
      setStatus('Cancelled.', 0);
      document.body.dataset.state = 'cancelled';
    } else {
      setStatus('Failed.', 0);
      showError(error);
      document.body.dataset.state = 'error';
    }
  } finally {
    controller = undefined;
    runButton.disabled = false;
    cancelButton.disabled = true;
  }
}

/** Keeps the form consistent: interventions the algorithm handles, d >= n. */
function syncChoices(): void {
  const algorithm = algorithms.find((a) => a.id === field('algorithm').value);
  const select = field('intervention') as HTMLSelectElement;
  for (const option of select.options) option.disabled = !!algorithm && !algorithm.interventions.includes(option.value as Intervention);
  (field('d') as HTMLInputElement).min = field('n').value;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const crl = await loadBackend();
  const loadMs = performance.now() - t0;
  runner = asRunner(crl);
  const info = crl.info();
  algorithms = available(runner, ALGORITHMS);
  estimators = available(runner, ESTIMATORS);
  $('engine').textContent =
    `WebAssembly core ${info.version} (${info.simd}, Eigen ${info.eigen}) in a Web Worker, ready in ${fmt(loadMs)} ms. ` +
    `Algorithms: ${algorithms.map((a) => a.id).join(', ') || 'none'}; score differences: ${estimators.map((e) => e.id).join(', ')}.`;
  document.body.dataset.loadMs = loadMs.toFixed(1);
  fill(field('algorithm') as HTMLSelectElement, algorithms);
  fill(field('estimator') as HTMLSelectElement, estimators);
  form.addEventListener('change', syncChoices);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!controller) void run();
  });
  cancelButton.addEventListener('click', () => controller?.abort());
  const missing = REQUIRED_OPS.filter((op) => !crl.ops().includes(op));
  if (missing.length) throw new Error(`this build of the core lacks operations the page needs: ${missing.join(', ')}`);
  if (algorithms.length === 0) throw new Error('this build of the core offers none of the algorithms the page knows');
  const autorun = applyQuery();
  syncChoices();
  runButton.disabled = false;
  document.body.dataset.state = 'ready';
  if (autorun) await run();
}

main().catch((error) => {
  document.body.dataset.state = 'error';
  setStatus('Could not start.', 0);
  showError(error);
});
