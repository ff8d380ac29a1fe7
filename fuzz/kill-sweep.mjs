#!/usr/bin/env node
/**
 * What a sweep keeps when it is stopped hard: runs `scorecrl sweep --quick`
 * once to the end (the reference), then again and again stopped at several
 * moments by SIGKILL, by SIGTERM, by two SIGINTs, and (as root, on a small
 * tmpfs) by a full disk; after each stop it checks the results file, resumes
 * with the same command, and compares every trial with the reference.
 * Prints one JSON line per experiment and a summary; exits 1 on any loss.
 *
 *   node fuzz/kill-sweep.mjs [--moments 0.1,0.25,0.5,0.75,0.9] [--args "--quick ..."]
 *
 * Moments are fractions of the reference run's duration. A signal that
 * arrives before the sweep has installed its handlers (startup) ends the
 * process by the signal itself; that is accepted, no trial is at risk then.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const argv = process.argv.slice(2);
/** @param {string} name @param {string} fallback */
const opt = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const fractions = opt('--moments', '0.1,0.25,0.5,0.75,0.9').split(',').map(Number);
const sweepArgs = opt('--args', '--quick --workers 2 --progress none --reference none').split(' ').filter(Boolean);
const CLI = join(ROOT, 'bin', 'scorecrl.js');
const work = mkdtempSync(join(tmpdir(), 'scorecrl-kill-'));

/**
 * A sweep into `out`, sent each [seconds, signal] of `signals`.
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null, stderr: string, seconds: number, allDoneAt?: number,
 *   linesAt: Record<number, number> }} SweepRun
 * @param {string} out
 * @param {{ signals?: Array<[number, NodeJS.Signals]>, env?: Record<string, string> }} [options]
 * @returns {Promise<SweepRun>}
 */
function sweep(out, { signals = [], env = {} } = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, 'sweep', ...sweepArgs, '-o', out], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', () => {});
    /** @type {Record<number, number>} */
    const linesAt = {};
    // When the last trial line appears (the reference run's moments are fractions of it).
    /** @type {number | undefined} */
    let allDoneAt;
    const poll = setInterval(() => {
      if (allDoneAt === undefined && readLines(join(out, 'trials.jsonl')).trials.size >= 360)
        allDoneAt = (performance.now() - started) / 1000;
    }, 100);
    for (const [at, signal] of signals) {
      setTimeout(() => {
        linesAt[at] = readLines(join(out, 'trials.jsonl')).trials.size;
        child.kill(signal);
      }, at * 1000);
    }
    child.on('close', (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal, stderr, seconds: (performance.now() - started) / 1000, allDoneAt, linesAt });
    });
  });
}

/**
 * Trials in a results file: id -> metrics JSON; plus lines that do not parse.
 * @typedef {{ trials: Map<string, string>, bad: number, duplicates: number, truncatedTail?: boolean }} Lines
 * @param {string} file
 * @returns {Lines}
 */
function readLines(file) {
  const trials = new Map();
  let bad = 0;
  let duplicates = 0;
  if (!existsSync(file)) return { trials, bad, duplicates };
  const text = readFileSync(file, 'utf8');
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const r = JSON.parse(line);
      if (r.type !== 'trial') continue;
      if (trials.has(r.id)) duplicates++;
      trials.set(r.id, JSON.stringify({ status: r.status, metrics: r.metrics, error: r.error }));
    } catch {
      bad++;
    }
  }
  return { trials, bad, duplicates, truncatedTail: text.length > 0 && !text.endsWith('\n') };
}

/**
 * @param {string} file
 * @param {Lines} reference
 * @param {Lines} before
 */
function compare(file, reference, before) {
  const now = readLines(file);
  let lost = 0;
  let changed = 0;
  for (const [id, m] of before.trials) {
    if (!now.trials.has(id)) lost++;
    else if (now.trials.get(id) !== m) changed++;
  }
  let differ = 0;
  for (const [id, m] of reference.trials) if (now.trials.get(id) !== m) differ++;
  return {
    trials: now.trials.size,
    expectedTrials: reference.trials.size,
    lostAfterResume: lost,
    changedAfterResume: changed,
    differFromReference: differ,
    badLines: now.bad,
    duplicates: now.duplicates,
  };
}

/** @typedef {{ experiment: string, ok?: boolean, [field: string]: unknown }} Experiment one printed line */
/** @type {Experiment[]} */
const results = [];
const log = (/** @type {Experiment} */ r) => {
  results.push(r);
  console.log(JSON.stringify(r));
};

try {
  const refDir = join(work, 'reference');
  const ref = await sweep(refDir);
  if (ref.code !== 0) throw new Error(`reference sweep failed (exit ${ref.code}): ${ref.stderr.slice(-500)}`);
  const reference = readLines(join(refDir, 'trials.jsonl'));
  log({
    experiment: 'reference',
    exit: ref.code,
    trials: reference.trials.size,
    seconds: Math.round(ref.seconds * 10) / 10,
    trialsDoneAt: ref.allDoneAt,
  });
  const moments = fractions.map((f) => Math.round(f * (ref.allDoneAt ?? ref.seconds) * 100) / 100);
  /**
   * @param {string} name
   * @param {Array<[number, NodeJS.Signals]>} signals
   * @param {Array<number | string | null>} expectCodes the exit codes or signals that are right
   * @param {string} [dirFor]
   */
  const experiment = async (name, signals, expectCodes, dirFor) => {
    const dir = dirFor ?? join(work, name);
    const stop = await sweep(dir, { signals });
    const file = join(dir, 'trials.jsonl');
    const before = readLines(file);
    const resumed = await sweep(dir);
    const c = compare(file, reference, before);
    // A run that finished before the signal arrived says nothing about the signal: noted, not failed.
    const finishedFirst = stop.code === 0;
    const ok =
      c.lostAfterResume === 0 &&
      c.changedAfterResume === 0 &&
      c.differFromReference === 0 &&
      c.trials === c.expectedTrials &&
      resumed.code === 0 &&
      (finishedFirst || expectCodes.includes(stop.code ?? stop.signal));
    log({
      experiment: name,
      stoppedWith: stop.signal ?? stop.code,
      expectedExit: expectCodes,
      finishedFirst,
      trialsWhenStopped: before.trials.size,
      badLinesWhenStopped: before.bad,
      cutLastLine: before.truncatedTail,
      stopMessage: stop.stderr.trim().split('\n').slice(-1)[0]?.slice(0, 160),
      resumeExit: resumed.code,
      ...c,
      ok,
    });
  };
  for (const t of moments) await experiment(`kill-9-at-${t}s`, [[t, 'SIGKILL']], ['SIGKILL']);
  // SIGTERM and two SIGINTs 50 ms apart, at the middle moments.
  for (const t of moments.slice(1, 4)) await experiment(`sigterm-at-${t}s`, [[t, 'SIGTERM']], [143, 'SIGTERM']);
  for (const t of moments.slice(1, 4))
    await experiment(
      `double-sigint-at-${t}s`,
      [
        [t, 'SIGINT'],
        [t + 0.05, 'SIGINT'],
      ],
      [130, 'SIGINT'],
    );
  // A full disk: a 64 kB tmpfs holds part of the results; then it is given room and the sweep resumed.
  if (process.getuid?.() === 0) {
    const mnt = join(work, 'small');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
      const dir = join(mnt, 'out');
      const full = await sweep(dir);
      const file = join(dir, 'trials.jsonl');
      const before = readLines(file);
      const keep = join(work, 'full-disk-copy');
      cpSync(dir, keep, { recursive: true });
      execFileSync('mount', ['-o', 'remount,size=16m', mnt]);
      const resumed = await sweep(dir);
      const c = compare(file, reference, before);
      log({
        experiment: 'full-disk-64k',
        stoppedWith: full.signal ?? full.code,
        message: full.stderr.trim().split('\n').slice(-1)[0]?.slice(0, 200),
        trialsWhenFull: before.trials.size,
        badLinesWhenFull: before.bad,
        cutLastLine: before.truncatedTail,
        resumeExit: resumed.code,
        ...c,
        ok:
          c.lostAfterResume === 0 &&
          c.changedAfterResume === 0 &&
          c.differFromReference === 0 &&
          c.trials === c.expectedTrials &&
          resumed.code === 0 &&
          !full.signal,
      });
    } catch (error) {
      log({ experiment: 'full-disk-64k', skipped: String(/** @type {Error} */ (error).message).slice(0, 200) });
    } finally {
      try {
        execFileSync('umount', [mnt]);
      } catch {}
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const failed = results.filter((r) => r.ok === false);
console.log(
  `\n${results.length} experiments, ${failed.length} with a lost, changed or missing trial or an unexpected exit: ${failed.map((r) => r.experiment).join(', ') || 'none'}`,
);
process.exitCode = failed.length ? 1 : 0;
