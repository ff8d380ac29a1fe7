/**
 * Running cases in child processes with a memory cap and a time limit.
 *
 * Every child runs under `prlimit --data` (a backstop that keeps a runaway
 * allocation from taking the machine) and a watchdog that reads its resident
 * size every 50 ms and kills it past `rssCapMb`: a request that grows without
 * a clean limit error is a crash, not an OOM kill of something else.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyCli } from './classify.mjs';
import { rng } from './values.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'scorecrl.js');

/**
 * A finished child: exit code or signal (null for our own kills), its output, and the limit it hit.
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, timedOut: number,
 *   rssKilled: number, peakMb: number }} RunResult
 */
/** @typedef {import('./classify.mjs').Outcome} Outcome */
/** @typedef {import('./cli-cases.mjs').CliCase} CliCase */
/** @typedef {import('./cli-cases.mjs').FileSpec} FileSpec */
/** @typedef {import('./cli-cases.mjs').Damage} Damage */

/** @param {number | undefined} pid */
function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Spawns `node args` with the limits; `onData(fd3Text)` receives the report
 * channel; `idleMs()` returns how long the child may stay silent now.
 * Resolves with { code, signal, stdout, stderr, timedOut, rssKilled, peakMb }.
 * @param {string[]} args
 * @param {{ input?: string, cwd: string, rssCapMb: number, idleMs: () => number, onData?: (text: string) => void,
 *   env?: Record<string, string> }} options
 * @returns {Promise<RunResult>}
 */
export function runLimited(args, { input, cwd, rssCapMb, idleMs, onData, env }) {
  return new Promise((resolve) => {
    const dataLimit = String(Math.round(rssCapMb * 3 * 2 ** 20));
    const child = spawn('prlimit', [`--data=${dataLimit}`, '--core=0', process.execPath, '--max-old-space-size=1024', ...args], {
      cwd,
      // The library's per-call limit, set below the watchdog's cap: a request
      // past it must end as the library's own out-of-memory error, so one that
      // reaches the cap is a request the limit did not cover.
      env: { ...process.env, SCORECRL_MAX_CALL_BYTES: `${Math.floor(rssCapMb / 2)}M`, ...env },
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = 0;
    let rssKilled = 0;
    let peakMb = 0;
    let lastActivity = performance.now();
    child.stdout.on('data', (d) => {
      if (stdout.length < 200_000) stdout += d;
    });
    child.stderr.on('data', (d) => {
      if (stderr.length < 200_000) stderr += d;
    });
    /** @type {import('node:stream').Readable} fd 3, opened as a pipe above */ (child.stdio[3]).on('data', (d) => {
      lastActivity = performance.now();
      onData?.(String(d));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
    const watchdog = setInterval(() => {
      const rss = rssMb(child.pid);
      peakMb = Math.max(peakMb, rss);
      if (rss > rssCapMb && !rssKilled) {
        rssKilled = rssCapMb;
        child.kill('SIGKILL');
      }
      const limit = idleMs();
      if (!timedOut && performance.now() - lastActivity > limit) {
        timedOut = limit;
        child.kill('SIGKILL');
      }
    }, 50);
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      // Our own kills are reported as timeout / memory, not as the signal.
      if (timedOut || rssKilled) signal = null;
      resolve({ code, signal, stdout, stderr, timedOut, rssKilled, peakMb: Math.round(peakMb) });
    });
  });
}

/**
 * Runs API cases (one backend) in one child. Returns a record per case that
 * started: the ones after a crash or hang are left for the caller to rerun.
 * @param {object[]} cases
 * @param {{ backend: string, caseTimeoutMs: number, rssCapMb: number }} options
 */
export async function runApiBatch(cases, { backend, caseTimeoutMs, rssCapMb }) {
  /** @type {Map<number, Outcome & { i: number }>} */
  const records = new Map();
  let started = -1;
  let buffer = '';
  const result = await runLimited([join(ROOT, 'fuzz', 'api-child.mjs'), backend, String(caseTimeoutMs)], {
    input: JSON.stringify(cases),
    cwd: ROOT,
    rssCapMb,
    // A case is a hang when the child reports nothing for longer than one case may take (async
    // calls time out in the child first, with a clearer message).
    idleMs: () => caseTimeoutMs + 5000,
    onData: (text) => {
      buffer += text;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        const r = JSON.parse(line);
        if (r.start) started = r.i;
        else records.set(r.i, r);
      }
    },
  });
  const dead = result.signal || result.timedOut || result.rssKilled || result.code !== 0;
  if (dead && started >= 0 && !records.has(started)) {
    const tail = result.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ').slice(0, 300);
    /** @type {string} */
    let detail;
    let cls = 'crash';
    if (result.timedOut) {
      cls = 'hang';
      detail = `no answer for ${result.timedOut} ms (sync call did not return)`;
    } else if (result.rssKilled) detail = `memory: resident size passed the ${result.rssKilled} MiB cap (no limit error)`;
    else if (result.signal) detail = `killed by ${result.signal}${tail ? `: ${tail}` : ''}`;
    else detail = `process exited with code ${result.code}${tail ? `: ${tail}` : ''}`;
    records.set(started, { i: started, class: cls, detail });
  }
  if (!dead && records.size < cases.length && started >= 0 && !records.has(started)) {
    records.set(started, { i: started, class: 'crash', detail: `process exited (code ${result.code}) during the case` });
  }
  return { records, result };
}

// --- CLI -------------------------------------------------------------------------------------

/**
 * Makes the fixtures the CLI cases damage (valid data and results), once per run.
 * @param {string} dir
 * @param {string[][]} commands
 * @param {(line: string) => void} [log]
 */
export async function makeFixtures(dir, commands, log) {
  mkdirSync(dir, { recursive: true });
  for (const argv of commands) {
    const r = await runLimited([CLI, ...argv], { cwd: dir, rssCapMb: 4096, idleMs: () => 120_000, env: { SCORECRL_BACKEND: 'native' } });
    if (r.code !== 0) {
      // A fixture that failed makes the cases built on it meaningless: stop.
      throw new Error(`fixture 'scorecrl ${argv.join(' ')}' failed (exit ${r.code}, ${r.signal ?? ''}): ${r.stderr.slice(0, 500)}`);
    }
    log?.(`fixture: scorecrl ${argv.join(' ')}`);
  }
}

/**
 * @param {Buffer} bytes
 * @param {Damage} d
 */
function damage(bytes, d) {
  let b = Buffer.from(bytes);
  if (d.truncate !== undefined) b = b.subarray(0, d.truncate < 1 ? Math.floor(b.length * d.truncate) : d.truncate);
  if (d.replace) b = Buffer.from(b.toString('latin1').split(d.replace[0]).join(d.replace[1]), 'latin1');
  if (d.overwrite) Buffer.from(d.overwrite[1], 'latin1').copy(b, d.overwrite[0]);
  if (d.insert) b = Buffer.concat([b.subarray(0, d.insert[0]), Buffer.from(d.insert[1], 'latin1'), b.subarray(d.insert[0])]);
  if (d.prefix) b = Buffer.concat([Buffer.from(d.prefix), b]);
  if (d.append) b = Buffer.concat([b, Buffer.from(d.append, 'latin1')]);
  return b;
}

/** @param {string} s @param {string} F @param {string} D */
const subst = (s, F, D) => s.replaceAll('$F', F).replaceAll('$D', D);

/**
 * Creates a case's files in its folder F from the fixtures in D.
 * @param {Record<string, FileSpec> | undefined} files
 * @param {string} F
 * @param {string} D
 */
export function makeFiles(files, F, D) {
  mkdirSync(F, { recursive: true });
  for (const [name, spec] of Object.entries(files ?? {})) {
    const path = join(F, name);
    mkdirSync(dirname(path), { recursive: true });
    if (spec.dir) mkdirSync(path, { recursive: true });
    else if (spec.device === 'full')
      execFileSync('mknod', [path, 'c', '1', '7']); // needs root; else the case is skipped
    else if (spec.symlink) symlinkSync(subst(spec.symlink, F, D), path);
    else if (spec.text !== undefined) writeFileSync(path, spec.text);
    else if (spec.bytes) {
      const r = rng(spec.seed ?? 1);
      writeFileSync(path, Buffer.from(Array.from({ length: spec.bytes }, () => r.int(256))));
    } else if (spec.copyDir) {
      cpSync(join(D, spec.copyDir), path, { recursive: true });
      for (const [file, d] of Object.entries(spec.damage ?? {})) writeFileSync(join(path, file), damage(readFileSync(join(path, file)), d));
    } else if (spec.copy) writeFileSync(path, damage(readFileSync(join(D, spec.copy)), spec));
  }
}

/**
 * Runs one CLI case in its own folder; returns its classification and output.
 * @param {CliCase & { id: string }} c
 * @param {{ fixtures: string, work: string, caseTimeoutMs: number, rssCapMb: number, backend?: string }} options
 * @returns {Promise<Outcome>}
 */
export async function runCliCase(c, { fixtures, work, caseTimeoutMs, rssCapMb, backend }) {
  const F = join(work, `case-${c.id.replace(/\W+/g, '_')}`);
  rmSync(F, { recursive: true, force: true });
  try {
    makeFiles(c.files, F, fixtures);
  } catch (error) {
    return { class: 'skipped', detail: `could not make the case's files: ${String(/** @type {Error} */ (error).message).split('\n')[0]}` };
  }
  const argv = c.argv.map((a) => subst(a, F, fixtures));
  const r = await runLimited([CLI, ...argv], {
    cwd: F,
    rssCapMb,
    idleMs: () => caseTimeoutMs,
    env: backend ? { SCORECRL_BACKEND: backend } : {},
  });
  const record = classifyCli(r, c);
  record.exit = r.signal ?? r.code;
  if (record.class !== 'result' && record.class !== 'named-error') record.stderr = r.stderr.slice(0, 1500);
  rmSync(F, { recursive: true, force: true });
  return record;
}

/** @param {string} dir */
export function fixturesReady(dir) {
  return existsSync(join(dir, 'other', 'trials.jsonl'));
}
