// Drives the native addon from several worker_threads at once (each its own
// napi_env), in a child process so that a crash shows as its exit status.
//   node native-threads.mjs stress <root> <threads> <ms>
//     every thread calls, in a loop: sync covariance, async covariance,
//     randomDraws (results lent to JS and finalized on that thread), release()
//     and an async call on a lent result it then releases;
//   node native-threads.mjs terminate <root> <rounds>
//     each round starts workers running sync and async calls (with progress)
//     and terminates them at once;
//   node native-threads.mjs exit <root> <ms>
//     starts such workers and calls process.exit(7) after <ms>, as a sweep
//     does on a second Ctrl-C (exit status 7 expected, never an abort).
// Prints one JSON line { calls } and exits 0 when every thread finished.
import { createRequire } from 'node:module';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';

if (isMainThread) {
  const [mode, root, a, b] = process.argv.slice(2);
  const spawn = (data) => new Worker(new URL(import.meta.url), { workerData: { root, ...data } });
  const finished = (worker) =>
    new Promise((resolve, reject) => {
      let calls = 0;
      worker.on('message', (m) => (calls = m));
      worker.on('error', reject);
      worker.on('exit', () => resolve(calls));
    });
  if (mode === 'stress') {
    const threads = Number(a);
    const ms = Number(b);
    const counts = await Promise.all(Array.from({ length: threads }, () => finished(spawn({ mode, ms }))));
    console.log(JSON.stringify({ calls: counts.reduce((x, y) => x + y, 0) }));
  } else if (mode === 'terminate') {
    let calls = 0;
    for (let round = 0; round < Number(a); round++) {
      const workers = Array.from({ length: 3 }, () => spawn({ mode, ms: 10_000 }));
      // Let them start their calls (loading the addon takes a moment), then stop them mid-call.
      await new Promise((resolve) => setTimeout(resolve, 30 + 7 * (round % 16)));
      await Promise.all(workers.map((w) => w.terminate()));
      calls += workers.length;
    }
    console.log(JSON.stringify({ calls }));
  } else if (mode === 'exit') {
    // process.exit while workers are inside calls (a second Ctrl-C in a sweep).
    Array.from({ length: 3 }, () => spawn({ mode: 'terminate', ms: 10_000 }));
    setTimeout(() => process.exit(7), Number(a));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} else {
  const require = createRequire(import.meta.url);
  const addon = require('node-gyp-build')(workerData.root);
  const x = { data: Float64Array.from({ length: 300 }, (_, i) => Math.sin(i * 0.7) + (i % 3)), shape: [100, 3] };
  const expected = addon.call('covariance', { x }, {}, {}).arrays.covariance.data;
  const same = (data) => data.length === 9 && data.every((v, i) => Math.abs(v - expected[i]) < 1e-12);
  const end = Date.now() + workerData.ms;
  let calls = 0;
  const progress = () => undefined;
  while (Date.now() < end) {
    const sync = addon.call('covariance', { x }, {}, {}).arrays.covariance;
    if (!same(sync.data)) throw new Error('wrong covariance');
    const pending = addon.callAsync('covariance', { x }, {}, {}, progress, new Int32Array(1));
    const draws = addon.call('randomDraws', {}, { seed: calls }, { plan: 'random:64;standardNormal:300' }).arrays;
    // A lent result as the input of an async call, released while it runs.
    const lent = { data: draws.draw1.data, shape: [100, 3] };
    const onLent = addon.callAsync('covariance', { x: lent }, {}, {}, progress, new Int32Array(1));
    addon.release(draws.draw1.data.buffer);
    if (calls % 2 === 0) addon.release(sync.data.buffer);
    if (workerData.mode === 'stress') {
      const results = await Promise.all([pending, onLent]);
      if (!same(results[0].arrays.covariance.data)) throw new Error('wrong async covariance');
      parentPort.postMessage(++calls);
    } else {
      // Terminated at any point: keep calls in flight without awaiting them.
      pending.catch(() => undefined);
      onLent.catch(() => undefined);
      for (let i = 0; i < 4; i++) {
        addon.callAsync('simulate', {}, { n: 3, d: 5, samples: 5000, seed: calls }, {}, progress, new Int32Array(1)).catch(() => undefined);
      }
      // A sync call long enough to be running when the worker is terminated.
      addon.call('simulate', {}, { n: 5, d: 10, samples: 100_000, seed: calls }, {});
      ++calls;
      if (calls % 4 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
