// scorecrl in a real browser: Debian's Chromium driven by playwright-core.
// Serves the built demo (web/dist, from `npm run build:web`) and the package
// itself on localhost, then checks the browser entry point end to end: the
// demo page running LSCALE-I, a plain ES-module import without a bundler, a
// Vite build of an app that imports 'scorecrl', progress and cancellation in
// the worker, and that no Node built-in reaches the browser bundles.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBackend, scoreEstimators } from '../src/index.js';
import type { Backend } from '../src/backend.js';
import type { BackendName } from '../src/backend/engine.js';
import type { Runner } from '../web/src/algorithms.js';
import { runPipeline, type Settings } from '../web/src/pipeline.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const WEB_DIST = join(ROOT, 'web', 'dist');
const OUTPUT = join(ROOT, 'test-output');
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const IN_CI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
// Without Chromium the browser suite is skipped on a workstation, but fails in CI.
const SKIP_BROWSER = !existsSync(CHROMIUM) && !IN_CI;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** A page that imports the package's browser entry with an import map: no bundler. */
function plainPage(prefix: string): string {
  return `<!doctype html><meta charset="utf-8"><title>scorecrl, plain ES module</title>
<script type="importmap">{"imports":{"scorecrl":"${prefix}/pkg/dist/browser/index.js"}}</script>
<script type="module">
import * as scorecrl from 'scorecrl';
window.scorecrl = scorecrl;
document.body.dataset.ready = '1';
</script><body></body>`;
}

/**
 * Static files on 127.0.0.1: / → web/dist, /pkg/ → the package (dist/ and
 * wasm/dist/ only), /consumer/ → the Vite consumer build, /plain.html → the
 * import-map page. Everything under /iso/ is the same with COOP/COEP headers
 * (a cross-origin isolated page, where shared memory is available).
 */
function serve(consumerDir: () => string | undefined): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    let prefix = '';
    if (path.startsWith('/iso/')) {
      prefix = '/iso';
      path = path.slice(4);
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    res.setHeader('Cache-Control', 'no-store');
    if (path === '/plain.html') {
      res.setHeader('Content-Type', MIME['.html']!);
      res.end(plainPage(prefix));
      return;
    }
    if (path === '/favicon.ico') {
      res.statusCode = 204;
      res.end();
      return;
    }
    let base = WEB_DIST;
    let rest = path;
    if (path.startsWith('/pkg/')) {
      base = ROOT;
      rest = path.slice(4);
      if (!rest.startsWith('/dist/') && !rest.startsWith('/wasm/dist/')) rest = '/forbidden';
    } else if (path.startsWith('/consumer/')) {
      base = consumerDir() ?? '/nonexistent';
      rest = path.slice('/consumer'.length);
    }
    if (rest.endsWith('/')) rest += 'index.html';
    const file = normalize(join(base, rest));
    if (!file.startsWith(base + sep) || !existsSync(file)) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('Content-Type', MIME[extname(file)] ?? 'application/octet-stream');
    res.end(readFileSync(file));
  });
  return new Promise((resolvePromise) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      resolvePromise({ origin: `http://127.0.0.1:${address.port}`, server });
    }),
  );
}

/** Static import specifiers of an ES module's source. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  const pattern = /(?:^|[;\s}])(?:import|export)\s*(?:[\w*{}\s,$]+\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const match of source.matchAll(pattern)) found.push((match[1] ?? match[2])!);
  return found;
}

/** Every module a browser loads from `entry` by following relative imports. */
function moduleGraph(entries: string[]): { files: string[]; external: string[] } {
  const files = new Set<string>();
  const external = new Set<string>();
  const stack = [...entries];
  while (stack.length) {
    const file = stack.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.') || spec.startsWith('/')) stack.push(resolve(dirname(file), spec));
      else external.add(spec);
    }
  }
  return { files: [...files].map((f) => relative(ROOT, f)).sort(), external: [...external] };
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(m?js)$/.test(f))
    .map((f) => join(dir, f));
}

/** A Node backend as the demo pipeline's Runner (synchronous calls, timed). */
function nodeRunner(backend: Backend): Runner {
  const methods = backend as unknown as Record<string, (...args: unknown[]) => unknown>;
  return {
    has: (method) => typeof methods[method] === 'function',
    ops: () => backend.engine.ops(),
    scoreEstimators,
    timed: async (method, args) => {
      const start = performance.now();
      const value = methods[method]!.apply(backend, args);
      const ms = performance.now() - start;
      return { value, ms, workerMs: ms };
    },
  };
}

/** The demo's LSCALE-I case, as the page's form takes it. */
const CASE: Settings = {
  n: 5,
  d: 20,
  samples: 5000,
  latent: 'linear',
  intervention: 'hard',
  estimator: 'gaussian',
  algorithm: 'lscale',
  seed: 1,
};

const NODE_ONLY = ['dist/index.js', 'dist/backend/load.js', 'dist/backend/native.js', 'dist/backend/wasm.js', 'dist/backend/paths.js'];

describe('browser bundles carry no Node built-ins', () => {
  it('dist/browser: the modules a plain import loads are all relative, none is Node-only, none names node:', () => {
    const entries = ['index.js', 'worker.js'].map((f) => join(ROOT, 'dist', 'browser', f));
    for (const entry of entries) expect(existsSync(entry), `${entry} is missing: run npm run build:ts`).toBe(true);
    const graph = moduleGraph(entries);
    // A page without a bundler or import map can only load relative imports.
    expect(graph.external).toEqual([]);
    expect(graph.files).toContain('wasm/dist/scorecrl.mjs');
    expect(graph.files).toContain('dist/backend.js');
    for (const nodeOnly of NODE_ONLY) expect(graph.files).not.toContain(nodeOnly);
    for (const file of graph.files) {
      const source = readFileSync(join(ROOT, file), 'utf8');
      expect(source, file).not.toMatch(/['"]node:/);
    }
  });

  it('web/dist: the built demo has a worker chunk that loads the .wasm asset, and no node: import', () => {
    expect(existsSync(join(WEB_DIST, 'index.html')), 'web/dist is missing: run npm run build:web').toBe(true);
    const assets = readdirSync(join(WEB_DIST, 'assets'));
    const wasm = assets.filter((f) => f.endsWith('.wasm'));
    expect(wasm).toHaveLength(1);
    const workers = assets.filter((f) => /^worker-.*\.js$/.test(f));
    expect(workers).toHaveLength(1);
    expect(readFileSync(join(WEB_DIST, 'assets', workers[0]!), 'utf8')).toContain(wasm[0]);
    const js = jsFiles(WEB_DIST);
    for (const file of js)
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/['"]node:|\bfrom\s*['"](fs|path|module|url|worker_threads)['"]/);
  });
});

describe.skipIf(SKIP_BROWSER)('in headless Chromium', () => {
  let context: BrowserContext;
  let origin: string;
  let server: Server;
  let profile: string;
  let consumer: string | undefined;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    ({ origin, server } = await serve(() => consumer));
    profile = mkdtempSync(join(tmpdir(), 'scorecrl-chromium-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    mkdirSync(OUTPUT, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await new Promise((r) => server?.close(r));
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (consumer) rmSync(dirname(consumer), { recursive: true, force: true });
  });

  async function open(path: string): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`${path}: page error ${error.message}`));
    page.on('response', (response) => {
      if (response.status() >= 400 && !response.url().includes('/no/such/'))
        problems.push(`${path}: HTTP ${response.status()} ${response.url()}`);
    });
    await page.goto(origin + path);
    return page;
  }

  it('demo page: LSCALE-I, hard interventions, n=5, d=20, N=5000, Gaussian plug-in scores', async () => {
    const query = new URLSearchParams(Object.entries(CASE).map(([k, v]) => [k, String(v)])).toString();
    const page = await open(`/?${query}`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 30_000 });
    // A heartbeat on the page's thread: its longest gap shows whether the run blocked the page.
    await page.evaluate(() => {
      const w = window as unknown as { beat: { last: number; maxGap: number } };
      w.beat = { last: performance.now(), maxGap: 0 };
      setInterval(() => {
        const now = performance.now();
        w.beat.maxGap = Math.max(w.beat.maxGap, now - w.beat.last);
        w.beat.last = now;
      }, 5);
    });
    await page.click('#run');
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { state: 'attached', timeout: 60_000 });
    expect(await page.textContent('#error'), 'the page reported an error').toBe('');
    await page.screenshot({ path: join(OUTPUT, 'browser-lscale-hard.png'), fullPage: true });

    const shown = await page.evaluate(() => {
      const text = (id: string) => document.getElementById(id)!.textContent!;
      const graph = (id: string) => {
        const svg = document.getElementById(id)!;
        const count = (status: string) => svg.querySelectorAll(`path.edge-${status}`).length;
        return {
          nodes: svg.querySelectorAll('g.node').length,
          correct: count('correct'),
          missing: count('missing'),
          extra: count('extra'),
        };
      };
      const timings = Object.fromEntries(
        [...document.querySelectorAll('#timings tbody tr')].map((tr) => {
          const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent!);
          return [cells[0], { pageMs: Number(cells[1]), workerMs: Number(cells[2]) }];
        }),
      );
      return {
        mcc: Number(text('mcc')),
        shd: Number(text('shd')),
        shdLabel: text('shd-label'),
        truth: graph('graph-true'),
        estimate: graph('graph-est'),
        heatmapCells: document.querySelectorAll('#heatmap rect').length,
        timings,
        loadMs: Number(document.body.dataset.loadMs),
        maxGapMs: (window as unknown as { beat: { maxGap: number } }).beat.maxGap,
        engine: text('engine'),
      };
    });
    // A second run of the same case on the warm worker.
    await page.click('#run');
    await page.waitForSelector('body[data-runs="2"], body[data-state="error"]', { state: 'attached', timeout: 60_000 });
    const again = await page.evaluate(() => ({
      mcc: Number(document.getElementById('mcc')!.textContent),
      totalMs: Number(document.querySelector('#timings tr[data-stage="total"] td:nth-child(2)')!.textContent),
    }));
    console.log(`browser ${JSON.stringify(CASE)}: ${JSON.stringify(shown)}; second run ${JSON.stringify(again)}`);
    expect(again.mcc).toBe(shown.mcc);

    expect(shown.mcc).toBeGreaterThanOrEqual(0.95);
    expect(shown.mcc).toBeLessThanOrEqual(1 + 1e-9);
    expect(shown.shdLabel).toBe('SHD');
    // Both graphs are drawn on the same 5 latents; the truth shows correct + missing edges,
    // the estimate correct + extra ones, and they agree on the correct ones.
    expect(shown.truth.nodes).toBe(5);
    expect(shown.estimate.nodes).toBe(5);
    expect(shown.truth.extra).toBe(0);
    expect(shown.estimate.missing).toBe(0);
    expect(shown.truth.correct).toBe(shown.estimate.correct);
    expect(shown.truth.correct + shown.truth.missing).toBeGreaterThan(0);
    // SHD counts a reversal once but it shows as one missing and one extra edge.
    const differing = shown.truth.missing + shown.estimate.extra;
    expect(shown.shd).toBeLessThanOrEqual(differing);
    expect(differing).toBeLessThanOrEqual(2 * shown.shd);
    expect(shown.heatmapCells).toBe(25);
    for (const stage of ['simulate', 'estimate', 'fit', 'evaluate', 'total']) expect(shown.timings[stage]?.pageMs).toBeGreaterThan(0);
    await page.close();

    // The same run in Node: the WASM backend computes exactly what the page showed; native agrees on quality.
    const node: Record<string, { mcc: number; shd: number; totalMs: number[]; stages: Record<string, number> }> = {};
    for (const name of ['wasm', 'native'] as BackendName[]) {
      const backend = await loadBackend({ backend: name });
      const runner = nodeRunner(backend);
      const runs = [];
      for (let r = 0; r < 2; r++) runs.push(await runPipeline(runner, CASE));
      const last = runs.at(-1)!;
      // The page's MCC (from second moments) equals the library's MCC on the latent samples.
      const { simulation: sim, fit } = last;
      const [, N, d] = sim.x!.shape as [number, number, number];
      const zHat = new Float64Array(N * CASE.n);
      for (let i = 0; i < N; i++)
        for (let t = 0; t < CASE.n; t++) {
          let v = 0;
          for (let k = 0; k < d; k++) v += sim.x!.data[i * d + k]! * fit.encoder![t]![k]!;
          zHat[i * CASE.n + t] = v;
        }
      const z0 = { data: sim.z!.data.subarray(0, N * CASE.n), shape: [N, CASE.n] };
      expect(backend.meanCorrelationCoefficient(z0, { data: zHat, shape: [N, CASE.n] }).mcc).toBeCloseTo(last.evaluation.mcc, 10);
      node[name] = {
        mcc: last.evaluation.mcc,
        shd: last.evaluation.shd,
        totalMs: runs.map((o) => o.timings.find((t) => t.stage === 'total')!.ms),
        stages: Object.fromEntries(last.timings.map((t) => [t.stage, Number(t.ms.toFixed(1))])),
      };
    }
    const ms = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', then ');
    console.log(
      `same run, total ms: browser ${shown.timings.total!.pageMs}, then ${again.totalMs}; ` +
        `node wasm ${ms(node.wasm!.totalMs)}; node native ${ms(node.native!.totalMs)}; ${JSON.stringify(node)}`,
    );
    expect(node.wasm!.mcc).toBeCloseTo(shown.mcc, 4);
    expect(node.wasm!.shd).toBe(shown.shd);
    expect(node.native!.mcc).toBeGreaterThanOrEqual(0.95);
  });

  it('demo page: soft interventions compare transitive closures, as Node computes them', async () => {
    const soft: Settings = { ...CASE, intervention: 'soft', estimator: 'exact', seed: 2 };
    const query = new URLSearchParams(Object.entries(soft).map(([k, v]) => [k, String(v)]));
    query.set('run', '1');
    const page = await open(`/?${query}`);
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { state: 'attached', timeout: 60_000 });
    expect(await page.textContent('#error')).toBe('');
    const shown = await page.evaluate(() => ({
      mcc: Number(document.getElementById('mcc')!.textContent),
      shd: Number(document.getElementById('shd')!.textContent),
      label: document.getElementById('shd-label')!.textContent,
      caption: document.getElementById('caption-true')!.textContent,
      truthEdges: document.querySelectorAll('#graph-true path.edge').length,
    }));
    await page.close();
    const expected = await runPipeline(nodeRunner(await loadBackend({ backend: 'wasm' })), soft);
    expect(shown.label).toBe('SHD (closures)');
    expect(shown.caption).toMatch(/closure/);
    expect(shown.mcc).toBeCloseTo(expected.evaluation.mcc, 4);
    expect(shown.shd).toBe(expected.evaluation.shd);
    // The true panel draws the closure of the true DAG: every edge of the closure, nothing else.
    expect(shown.truthEdges).toBe(expected.evaluation.truth.flat().filter((v) => v !== 0).length);
  });

  for (const isolated of [false, true]) {
    it(`progress and cancellation in the worker (${isolated ? 'cross-origin isolated: shared flag' : 'plain page: worker restart'})`, async () => {
      const page = await open(`${isolated ? '/iso' : ''}/plain.html`);
      await page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
      const out = await page.evaluate(async () => {
        const { loadBackend } = (window as any).scorecrl;
        const crl = await loadBackend();
        const config = { n: 5, d: 20, samples: 40_000, seed: 3, intervention: 'hard' };
        // Full run with progress, while a timer on the page's thread measures its longest gap.
        const events: [number, string][] = [];
        let last = performance.now();
        let maxGapMs = 0;
        const beat = setInterval(() => {
          const now = performance.now();
          maxGapMs = Math.max(maxGapMs, now - last);
          last = now;
        }, 4);
        const full = await crl.with({ onProgress: (f: number, m: string) => events.push([f, m]) }).timed('simulate', [config]);
        clearInterval(beat);
        // The same run, cancelled at its first progress report.
        const controller = new AbortController();
        let abortedAt = 0;
        const view = crl.with({
          signal: controller.signal,
          onProgress: () => {
            if (!abortedAt) {
              abortedAt = performance.now();
              controller.abort();
            }
          },
        });
        const cancelled = view.simulate(config).then(
          () => 'finished',
          (e: Error) => e.name,
        );
        // A call queued behind it and aborted before it starts never runs.
        const queuedController = new AbortController();
        const queued = crl
          .with({ signal: queuedController.signal })
          .covariance({ data: new Float64Array(4), shape: [2, 2] })
          .then(
            () => 'finished',
            (e: Error) => e.name,
          );
        queuedController.abort();
        const outcome = await cancelled;
        const cancelMs = performance.now() - abortedAt;
        // The backend still works afterwards (once the core has stopped, or in a new worker).
        const cov = await crl.covariance({ data: Float64Array.from([1, 2, 3, 4, 5, 7]), shape: [3, 2] });
        const resumeMs = performance.now() - abortedAt;
        const result = {
          isolated: crossOriginIsolated,
          fullMs: full.workerMs,
          maxGapMs,
          fullShape: full.value.x.shape,
          events: events.length,
          increasing: events.every((e, i) => i === 0 || e[0] >= events[i - 1]![0]),
          lastFraction: events.at(-1)?.[0],
          outcome,
          queued: await queued,
          cancelMs,
          resumeMs,
          starts: crl.workerStarts,
          cov: Array.from(cov.data as Float64Array),
        };
        await crl.close();
        return result;
      });
      console.log(`cancellation (${isolated ? 'isolated' : 'plain'}): ${JSON.stringify(out)}`);
      expect(out.isolated).toBe(isolated);
      expect(out.fullShape).toEqual([6, 40_000, 20]);
      expect(out.events).toBeGreaterThan(1);
      // The run did not block the page: its timer kept firing while the worker computed.
      expect(out.maxGapMs).toBeLessThan(out.fullMs / 3);
      expect(out.increasing).toBe(true);
      expect(out.outcome).toBe('AbortError');
      expect(out.queued).toBe('AbortError');
      // The promise rejects at once, well before the run would have finished.
      expect(out.cancelMs).toBeLessThan(out.fullMs / 4);
      // Shared memory: the core stops cooperatively and the same worker runs the next call soon after;
      // otherwise the worker is replaced.
      expect(out.starts).toBe(isolated ? 1 : 2);
      if (isolated) expect(out.resumeMs).toBeLessThan(out.fullMs / 2);
      const expected = [8 / 3, 10 / 3, 10 / 3, 38 / 9];
      out.cov.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
      await page.close();
    });
  }

  it('plain ES module import (no bundler): wasmUrl, errors across the worker boundary', async () => {
    const page = await open('/plain.html');
    await page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
    const out = await page.evaluate(async () => {
      const { loadBackend, ScorecrlError } = (window as any).scorecrl;
      const crl = await loadBackend({ wasmUrl: '/pkg/wasm/dist/scorecrl.wasm' });
      const cov = await crl.covariance({ data: Float64Array.from([1, 2, 3, 4, 5, 7]), shape: [3, 2] });
      // Handing the buffer over instead of copying it: same result, the page's copy is detached.
      const handed = { data: Float64Array.from([1, 2, 3, 4, 5, 7]), shape: [3, 2] };
      const covHanded = await crl.run('covariance', [handed], { transfer: [handed.data.buffer] });
      const transfer = { same: Array.from(covHanded.data).join() === Array.from(cov.data).join(), left: handed.data.length };
      // Released results go back to the worker; the next ones are written into that memory.
      const config = { n: 5, d: 10, samples: 20000, seed: 7 };
      const first = await crl.simulate(config);
      const x = Array.from(first.x.data as Float64Array);
      const bytes = first.x.data.byteLength + first.z.data.byteLength + first.dsx.data.byteLength;
      const releasedBytes = crl.release(first);
      const again = await crl.simulate(config);
      const released = {
        atLeastResults: releasedBytes >= bytes,
        left: first.x.data.length,
        twice: crl.release(first),
        same: Array.from(again.x.data as Float64Array).every((v, i) => v === x[i]) && again.x.data.length === x.length,
        notOurs: crl.release({ data: new Float64Array(8) }),
      };
      const fail = (p: Promise<unknown>) =>
        p.then(
          () => undefined,
          (e: Error) => ({ name: e.name, message: e.message, scorecrl: e instanceof ScorecrlError }),
        );
      const shape = await fail(crl.covariance({ data: new Float64Array(3), shape: [2, 2] }));
      const core = await fail(crl.covariance({ data: Float64Array.from([1, NaN, 3, 4]), shape: [2, 2] }));
      const unknown = await fail(crl.run('noSuchMethod', []));
      const missing = await fail(loadBackend({ wasmUrl: '/no/such/scorecrl.wasm' }));
      const result = {
        info: crl.info(),
        methods: crl.methods(),
        ops: crl.ops(),
        cov: Array.from(cov.data as Float64Array),
        transfer,
        released,
        shape,
        core,
        unknown,
        missing,
      };
      await crl.close();
      const closed = await fail(crl.covariance({ data: new Float64Array(4), shape: [2, 2] }));
      return { ...result, closed };
    });
    expect(out.info.name).toBe('wasm');
    expect(out.info.simd).toContain('wasm');
    expect(out.methods).toEqual(expect.arrayContaining(['simulate', 'covariance', 'umni']));
    expect(out.methods.some((m: string) => m.endsWith('Async'))).toBe(false);
    expect(out.ops).toEqual(expect.arrayContaining(['simulate', 'covariance']));
    const expected = [8 / 3, 10 / 3, 10 / 3, 38 / 9];
    out.cov.forEach((v: number, i: number) => expect(v).toBeCloseTo(expected[i]!, 12));
    expect(out.transfer).toEqual({ same: true, left: 0 });
    expect(out.released).toEqual({ atLeastResults: true, left: 0, twice: 0, same: true, notOurs: 0 });
    // Validation in the worker keeps its error class and message.
    expect(out.shape).toMatchObject({ name: 'RangeError' });
    expect(out.shape!.message).toMatch(/covariance/);
    // The core's own checks arrive as ScorecrlError.
    expect(out.core).toMatchObject({ name: 'ScorecrlError', scorecrl: true });
    expect(out.core!.message).toMatch(/NaN|finite/i);
    expect(out.unknown!.message).toMatch(/unknown method 'noSuchMethod'/);
    expect(out.missing!.message).toMatch(/\/no\/such\/scorecrl\.wasm.*HTTP 404/);
    expect(out.closed!.message).toMatch(/closed/);
    await page.close();
  });

  it('hostile calls in the worker: bad and throwing onProgress, uncloneable arguments, a trap, close during a call', async () => {
    const page = await open('/plain.html');
    await page.waitForSelector('body[data-ready="1"]', { state: 'attached' });
    const out = await page
      .evaluate(async () => {
        const { loadBackend } = (window as any).scorecrl;
        const crl = await loadBackend();
        const x = { data: Float64Array.from([1, 2, 3, 4, 5, 7]), shape: [3, 2] };
        const fail = (p: Promise<unknown>) =>
          p.then(
            () => undefined,
            (e: Error) => ({ name: e.name, message: e.message }),
          );
        const notFunction = await fail(Promise.resolve().then(() => crl.with({ onProgress: 3 }).covariance(x)));
        const boom = new Error('boom');
        let thrownBack = false;
        await crl
          .with({
            onProgress: () => {
              throw boom;
            },
          })
          .simulate({ n: 5, d: 20, samples: 40_000, seed: 3 })
          .catch((e: Error) => (thrownBack = e === boom));
        const uncloneable = await fail(crl.covariance({ data: x.data, shape: [3, 2], extra: () => 1 }));
        const trap = await fail(crl.simulate({ n: 2, d: 3, samples: 2 ** 30, seed: 1 }));
        const cov = Array.from((await crl.covariance(x)).data as Float64Array);
        const running = fail(crl.simulate({ n: 5, d: 20, samples: 40_000, seed: 3 }));
        const queued = fail(crl.covariance(x));
        await crl.close();
        return { notFunction, thrownBack, uncloneable, trap, cov, running: await running, queued: await queued };
      })
      .catch((e: Error) => ({ evaluateError: e.message }));
    expect(out).not.toHaveProperty('evaluateError');
    const o = out as any;
    expect(o.notFunction).toMatchObject({ name: 'TypeError' });
    expect(o.notFunction.message).toMatch(/option 'onProgress' must be a function/);
    expect(o.thrownBack).toBe(true);
    expect(o.uncloneable).toMatchObject({ name: 'TypeError' });
    expect(o.uncloneable.message).toMatch(/^covariance: the arguments could not be sent to the worker/);
    expect(o.trap).toMatchObject({ name: 'ScorecrlError' });
    expect(o.trap.message).toMatch(/^simulate: /);
    const expected = [8 / 3, 10 / 3, 10 / 3, 38 / 9];
    o.cov.forEach((v: number, i: number) => expect(v).toBeCloseTo(expected[i]!, 12));
    expect(o.running.message).toMatch(/closed/);
    expect(o.queued.message).toMatch(/closed/);
    await page.close();
  });

  it("a Vite app that imports 'scorecrl' gets the browser build, its worker and the .wasm", async () => {
    const app = mkdtempSync(join(tmpdir(), 'scorecrl-vite-app-'));
    mkdirSync(join(app, 'node_modules'));
    symlinkSync(ROOT, join(app, 'node_modules', 'scorecrl'), 'dir');
    writeFileSync(
      join(app, 'index.html'),
      '<!doctype html><meta charset="utf-8"><script type="module" src="./main.js"></script><body></body>',
    );
    writeFileSync(
      join(app, 'main.js'),
      `import { loadBackend } from 'scorecrl';
       const crl = await loadBackend();
       const sim = await crl.simulate({ n: 3, d: 6, samples: 200, seed: 7 });
       const cov = await crl.covariance({ data: Float64Array.from([1, 2, 3, 4, 5, 7]), shape: [3, 2] });
       window.result = { info: crl.info(), x: sim.x.shape, cov: Array.from(cov.data) };`,
    );
    const { build } = await import('vite');
    // Default Vite settings apart from relative asset URLs (the app is served under /consumer/).
    await build({ root: app, base: './', logLevel: 'error', configFile: false, build: { outDir: join(app, 'dist') } });
    consumer = join(app, 'dist');
    const assets = readdirSync(join(consumer, 'assets'));
    expect(assets.filter((f) => f.endsWith('.wasm'))).toHaveLength(1);
    for (const file of jsFiles(consumer)) expect(readFileSync(file, 'utf8'), file).not.toMatch(/['"]node:/);

    const page = await open('/consumer/');
    await page.waitForFunction(() => (window as any).result, null, { timeout: 30_000 });
    const out = await page.evaluate(() => (window as any).result);
    expect(out.info.name).toBe('wasm');
    expect(out.x).toEqual([4, 200, 6]);
    const expected = [8 / 3, 10 / 3, 10 / 3, 38 / 9];
    out.cov.forEach((v: number, i: number) => expect(v).toBeCloseTo(expected[i]!, 12));
    await page.close();
  });

  it('no page errors', () => {
    expect(problems).toEqual([]);
  });
});
