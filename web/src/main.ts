// The demo page: simulate → estimate score differences → fit → evaluate, all
// client-side in a Web Worker running scorecrl's WebAssembly core.
import { loadBackend, type BrowserBackend, type NDArray, type SimulationConfig } from 'scorecrl';
import { ALGORITHMS, ESTIMATORS, available, rows, type Algorithm, type Estimator, type Intervention } from './algorithms.js';
import { drawGraph, drawHeatmap } from './draw.js';
import { compareEdges, evaluate } from './evaluate.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('controls');
const runButton = $<HTMLButtonElement>('run');
const cancelButton = $<HTMLButtonElement>('cancel');
const progress = $<HTMLProgressElement>('progress');
const status = $<HTMLSpanElement>('status');
const errorBox = $<HTMLParagraphElement>('error');

let crl: BrowserBackend;
let algorithms: Algorithm[] = [];
let estimators: Estimator[] = [];
let controller: AbortController | undefined;

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
      if (name === 'samples') input.append(new Option(value, value));
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

interface Timing {
  stage: string;
  ms: number;
  workerMs?: number;
}

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

/** [x0 | z0]: observational samples of both, side by side (N x (d+n)). */
function joinObservational(x: NDArray, z: NDArray): NDArray {
  const [, N, d] = x.shape as [number, number, number];
  const n = z.shape[2]!;
  const out = new Float64Array(N * (d + n));
  for (let i = 0; i < N; i++) {
    out.set(x.data.subarray(i * d, (i + 1) * d), i * (d + n));
    out.set(z.data.subarray(i * n, (i + 1) * n), i * (d + n) + d);
  }
  return { data: out, shape: [N, d + n] };
}

async function run(): Promise<void> {
  errorBox.hidden = true;
  const n = Number(field('n').value);
  const d = Number(field('d').value);
  const samples = Number(field('samples').value);
  const seed = Number(field('seed').value);
  const latent = field('latent').value as SimulationConfig['latent'];
  const intervention = field('intervention').value as Intervention;
  const algorithm = algorithms.find((a) => a.id === field('algorithm').value)!;
  const estimator = estimators.find((e) => e.id === field('estimator').value)!;
  if (d < n) throw new RangeError(`observed d (${d}) must be at least n (${n})`);

  controller = new AbortController();
  const signal = controller.signal;
  runButton.disabled = true;
  cancelButton.disabled = false;
  document.body.dataset.state = 'running';
  const stages = ['simulate', ...(estimator.exact ? [] : ['estimate']), 'fit', 'evaluate'];
  const timings: Timing[] = [];
  const started = performance.now();
  const stage = (name: string) => {
    const index = stages.indexOf(name);
    setStatus(`${name}…`, index / stages.length);
    return {
      signal,
      onProgress: (fraction: number, message: string) =>
        setStatus(`${name}: ${message || `${Math.round(fraction * 100)}%`}`, (index + fraction) / stages.length),
    };
  };
  try {
    const config: SimulationConfig = {
      n,
      d,
      samples,
      seed,
      latent,
      intervention,
      design: algorithm.design,
      outputs: { z: true, x: true, dsx: estimator.exact === true },
    };
    const sim = await crl.timed('simulate', [config], stage('simulate'));
    timings.push({ stage: 'simulate', ms: sim.ms, workerMs: sim.workerMs });
    const x = sim.value.x!;

    let dsx = sim.value.dsx;
    if (!estimator.exact) {
      const est = await estimator.estimate!(crl, x, stage('estimate'));
      timings.push({ stage: 'estimate', ms: est.ms, workerMs: est.workerMs });
      dsx = est.value;
    }

    const fit = await algorithm.fit(crl, { x, dsx: dsx! }, intervention, stage('fit'));
    timings.push({ stage: 'fit', ms: fit.ms, workerMs: fit.workerMs });

    stage('evaluate');
    const evalStart = performance.now();
    const cov = await crl.timed('covariance', [joinObservational(x, sim.value.z!)], { signal });
    const result = evaluate(
      cov.value.data,
      d,
      fit.value.encoder,
      rows(sim.value.transform.decoder),
      rows(sim.value.graph),
      fit.value.graph,
      fit.value.kind,
    );
    timings.push({ stage: 'evaluate', ms: performance.now() - evalStart, workerMs: cov.workerMs });
    const total = performance.now() - started;
    timings.push({ stage: 'total', ms: total, workerMs: timings.reduce((a, t) => a + (t.workerMs ?? 0), 0) });

    const closure = fit.value.kind === 'closure';
    const edges = compareEdges(result.truth, result.graph);
    drawGraph($<SVGSVGElement & HTMLElement>('graph-true'), n, edges.filter((e) => e.status !== 'extra'), 'true graph');
    drawGraph($<SVGSVGElement & HTMLElement>('graph-est'), n, edges.filter((e) => e.status !== 'missing'), 'estimated graph');
    drawHeatmap($<SVGSVGElement & HTMLElement>('heatmap'), result.mixing, result.allowed);
    $('caption-true').textContent = closure ? 'True graph (transitive closure)' : 'True DAG';
    $('caption-est').textContent = closure ? `Estimated graph (${algorithm.id}, transitive closure)` : `Estimated DAG (${algorithm.id})`;
    $('mcc').textContent = result.mcc.toFixed(4);
    $('shd').textContent = String(result.shd);
    $('shd-label').textContent = closure ? 'SHD (closures)' : 'SHD';
    $('incorrect').textContent = `${result.incorrectMixing} / ${n * n - n}`;
    $('total').textContent = `${fmt(total)} ms`;
    $('note').textContent =
      `${algorithm.label}; ${estimator.label}; ${fit.value.note}. n=${n}, d=${d}, N=${samples} per environment, ` +
      `${sim.value.K + 1} environments, seed ${seed}.`;
    renderTimings(timings);
    $('results').hidden = false;
    setStatus(`Done in ${fmt(total)} ms.`, 1);
    document.body.dataset.state = 'done';
  } catch (error) {
    document.body.dataset.state = 'error';
    if ((error as Error).name === 'AbortError') {
      setStatus('Cancelled.', 0);
      document.body.dataset.state = 'cancelled';
    } else {
      setStatus('Failed.', 0);
      showError(error);
    }
  } finally {
    controller = undefined;
    runButton.disabled = false;
    cancelButton.disabled = true;
  }
}

function syncChoices(): void {
  // Interventions the selected algorithm handles.
  const algorithm = algorithms.find((a) => a.id === field('algorithm').value);
  const select = field('intervention') as HTMLSelectElement;
  for (const option of select.options) option.disabled = !!algorithm && !algorithm.interventions.includes(option.value as Intervention);
  const n = Number(field('n').value);
  (field('d') as HTMLInputElement).min = String(n);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  crl = await loadBackend();
  const loadMs = performance.now() - t0;
  const info = crl.info();
  algorithms = available(crl, ALGORITHMS);
  estimators = available(crl, ESTIMATORS);
  $('engine').textContent =
    `WebAssembly core ${info.version} (${info.simd}, Eigen ${info.eigen}) in a Web Worker, ready in ${fmt(loadMs)} ms. ` +
    `Algorithms here: ${algorithms.map((a) => a.id).join(', ') || 'none'}; estimators: ${estimators.map((e) => e.id).join(', ')}.`;
  document.body.dataset.loadMs = loadMs.toFixed(1);
  fill(field('algorithm') as HTMLSelectElement, algorithms);
  fill(field('estimator') as HTMLSelectElement, estimators);
  form.addEventListener('change', syncChoices);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!controller) void run().catch(showError);
  });
  cancelButton.addEventListener('click', () => controller?.abort());
  const autorun = applyQuery();
  syncChoices();
  if (algorithms.length === 0) throw new Error('this build of the core offers none of the algorithms the page knows');
  runButton.disabled = false;
  document.body.dataset.state = 'ready';
  if (autorun) await run();
}

main().catch((error) => {
  document.body.dataset.state = 'error';
  setStatus('Could not start.', 0);
  showError(error);
});
