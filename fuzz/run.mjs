#!/usr/bin/env node
/**
 * The fuzz suite: bad inputs for every public operation (both backends) and
 * every CLI command, each run in a child process with a memory cap and a
 * time limit, classified as named error / result / crash / hang (and the
 * softer unnamed error, invalid result, failed run, accepted bad input).
 *
 *   npm run fuzz                      # full run
 *   npm run fuzz -- --quick           # the CI subset: one bad value per slot, a quarter of
 *                                     # the CLI cases (about 2 minutes on 2 cores)
 *   npm run fuzz -- --seed 7 --only api --backend wasm
 *   npm run fuzz -- --case api:native:123    # one case, with its output
 *
 * Prints a table and a JSON summary (also written with --json FILE); exits 1
 * when a crash or hang was found (--strict: also unnamed errors and invalid
 * results). Each crashing or hanging case is printed with the command that
 * replays it (node fuzz/repro.mjs '<case>').
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiCases, ENGINE_OPS } from './api-cases.mjs';
import { cliCases, FIXTURE_COMMANDS } from './cli-cases.mjs';
import { makeFixtures, ROOT, runApiBatch, runCliCase } from './lib.mjs';
import { hash, render, rng } from './values.mjs';

/** @typedef {import('./classify.mjs').Outcome} Outcome */
/** @typedef {import('./cli-cases.mjs').CliCase & { id: string }} CliCase */
/** @typedef {(import('./api-cases.mjs').ApiCase & { id: string }) | CliCase} Case a case with its id */
/** @typedef {Outcome & { id: string }} Result */
/**
 * @typedef {{ seed: number, quick: boolean, jobs: number, only?: string, backend?: string, json?: string, strict: boolean,
 *   rssCapMb: number, batch: number, case?: string, verbose: boolean }} Options
 */

const CLASSES = ['named-error', 'result', 'unnamed-error', 'invalid-result', 'failed', 'crash', 'hang', 'skipped'];

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {Options} */
  const o = {
    seed: 1,
    quick: false,
    jobs: Math.min(2, availableParallelism()),
    only: undefined,
    backend: undefined,
    json: undefined,
    strict: false,
    rssCapMb: 2048,
    batch: 40,
    case: undefined,
    verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--seed') o.seed = Number(value());
    else if (a === '--quick') o.quick = true;
    else if (a === '--jobs') o.jobs = Number(value());
    else if (a === '--only') o.only = value();
    else if (a === '--backend') o.backend = value();
    else if (a === '--json') o.json = value();
    else if (a === '--strict') o.strict = true;
    else if (a === '--rss-cap-mb') o.rssCapMb = Number(value());
    else if (a === '--batch') o.batch = Number(value());
    else if (a === '--case') o.case = value();
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--help') {
      console.log(
        'usage: node fuzz/run.mjs [--quick] [--seed N] [--jobs N] [--only api|cli] [--backend native|wasm] [--case ID] [--json FILE] [--strict] [--rss-cap-mb N] [--verbose]',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new Error('--seed must be a non-negative integer');
  if (!(o.jobs >= 1)) throw new Error('--jobs must be >= 1');
  return o;
}

/** dist/ must be built from the current src/ (the suite runs the built library and CLI). */
function ensureBuilt() {
  /** @param {string} dir @returns {number} */
  const newest = (dir) => {
    let t = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }
    return t;
  };
  let built = 0;
  try {
    built = statSync(join(ROOT, 'dist', 'index.js')).mtimeMs;
  } catch {}
  if (built < newest(join(ROOT, 'src'))) {
    console.error('fuzz: dist/ is older than src/: building (tsc -p tsconfig.build.json)');
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  }
}

/**
 * Picks `fraction` of a list, reproducibly for a seed (always keeping the first, valid, cases).
 * @template T
 * @param {T[]} list
 * @param {number} fraction
 * @param {number} seed
 */
function subset(list, fraction, seed) {
  if (fraction >= 1) return list;
  const r = rng(seed);
  return list.filter((_, i) => i < 3 || r.next() < fraction);
}

/** @param {Options} o */
function buildCases(o) {
  /** @type {Case[]} */
  const cases = [];
  if (o.only !== 'cli') {
    for (const backend of o.backend ? [o.backend] : ['native', 'wasm']) {
      const list = apiCases({ seed: o.seed, backend, perSlot: o.quick ? 1 : 4, raw: o.quick ? 1 : 4, opNames: ENGINE_OPS });
      list.forEach((c, i) => cases.push({ id: `api:${backend}:${i}`, ...c }));
    }
  }
  if (o.only !== 'api') {
    const list = cliCases();
    const chosen = o.quick ? subset(list, 0.25, hash(`${o.seed}:quick:cli`)) : list;
    chosen.forEach((c, i) => cases.push({ id: `cli:${i}`, ...c }));
  }
  return cases;
}

/**
 * A few lines that replay a case.
 * @param {Case} c
 */
export function reproOf(c) {
  const json = JSON.stringify(c);
  const lines = [];
  if (c.target === 'api') {
    lines.push(`  // ${c.backend}${c.during ? `, ${c.during} during the call` : ''}${c.note ? ` (${c.note})` : ''}`);
    lines.push(`  crl.${c.call.split(':')[0]}(${c.args.map(render).join(', ')})`);
  } else {
    const files = Object.entries(c.files ?? {}).map(([k, v]) => `$F/${k} = ${JSON.stringify(v)}`);
    if (files.length) lines.push(`  # files: ${files.join('; ')}`);
    lines.push(`  scorecrl ${c.argv.map((a) => (/^[\w./$=:-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
  }
  lines.push(`  node fuzz/repro.mjs '${json.replaceAll("'", "'\\''")}'`);
  return lines.join('\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  ensureBuilt();
  const started = performance.now();
  let cases = buildCases(o);
  if (o.case) cases = cases.filter((c) => c.id === o.case);
  const caseTimeoutMs = o.quick ? 10_000 : 20_000;
  const work = mkdtempSync(join(tmpdir(), 'scorecrl-fuzz-'));
  const fixtures = join(work, 'fixtures');
  const log = (/** @type {string} */ m) => process.stderr.write(`${m}\n`);
  /** @type {Map<string, Result>} */
  const results = new Map();

  try {
    if (cases.some((c) => c.target === 'cli')) await makeFixtures(fixtures, FIXTURE_COMMANDS, o.verbose ? log : undefined);

    // Work items: API batches (one backend each) and single CLI cases.
    /** @type {Array<{ kind: 'batch', backend: string, cases: Case[] } | { kind: 'cli', case: CliCase }>} */
    const queue = [];
    for (const backend of ['native', 'wasm']) {
      const api = cases.filter((c) => c.target === 'api' && c.backend === backend);
      for (let i = 0; i < api.length; i += o.batch) queue.push({ kind: 'batch', backend, cases: api.slice(i, i + o.batch) });
    }
    for (const c of cases.filter((c) => c.target === 'cli')) queue.push({ kind: 'cli', case: c });

    let done = 0;
    const total = cases.length;
    let lastPrint = 0;
    const progress = () => {
      if (performance.now() - lastPrint < 5000 && done < total) return;
      lastPrint = performance.now();
      log(`fuzz: ${done}/${total} cases (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    };
    /** @param {Case} c @param {Outcome} r */
    const record = (c, r) => {
      results.set(c.id, { ...r, id: c.id });
      done++;
      if (o.verbose) log(`${c.id} ${r.class} ${r.detail ?? ''}`);
      progress();
    };

    /** @param {{ backend: string, cases: Case[] }} item */
    const runBatch = async (item) => {
      let pending = item.cases;
      while (pending.length) {
        const { records, result } = await runApiBatch(pending, { backend: item.backend, caseTimeoutMs, rssCapMb: o.rssCapMb });
        if (records.size === 0)
          throw new Error(`the API child did not start (exit ${result.code ?? result.signal}): ${result.stderr.slice(0, 2000)}`);
        let next = pending.length;
        for (const [i, r] of [...records.entries()].sort((a, b) => a[0] - b[0])) {
          const c = pending[i];
          if ((r.class === 'crash' || r.class === 'hang') && pending.length > 1 && !r.attributed) {
            // Attribute it: the same case alone in a fresh process.
            const alone = await runApiBatch([c], { backend: item.backend, caseTimeoutMs, rssCapMb: o.rssCapMb });
            const a = alone.records.get(0);
            if (a && (a.class === 'crash' || a.class === 'hang')) record(c, a);
            else {
              record(c, {
                ...r,
                detail: `${r.detail} (only after the cases before it in one process: ${pending
                  .slice(0, i)
                  .map((p) => p.id)
                  .join(', ')}; alone: ${a?.class})`,
                sequence: pending.slice(0, i + 1).map((p) => p.id),
              });
            }
            next = i + 1;
            break;
          }
          record(c, r);
          if (r.class === 'crash' || r.class === 'hang') {
            next = i + 1;
            break;
          }
        }
        if (next === pending.length && records.size < pending.length) {
          // The child died between cases (after a report): resume after the last reported case.
          next = Math.max(-1, ...records.keys()) + 1;
        }
        pending = pending.slice(next);
      }
    };

    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        if (item.kind === 'batch') await runBatch(item);
        else record(item.case, await runCliCase(item.case, { fixtures, work, caseTimeoutMs, rssCapMb: o.rssCapMb }));
      }
    };
    await Promise.all(Array.from({ length: o.jobs }, worker));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  // --- summary
  const elapsed = (performance.now() - started) / 1000;
  /** @type {Record<string, (c: Case) => boolean>} */
  const groups = {
    'api native': (c) => c.target === 'api' && c.backend === 'native',
    'api wasm': (c) => c.target === 'api' && c.backend === 'wasm',
    cli: (c) => c.target === 'cli',
  };
  /** @param {(c: Case) => boolean} filter */
  const count = (filter) => {
    /** @type {Record<string, number>} cases per class */
    const row = { inputs: 0 };
    for (const k of CLASSES) row[k] = 0;
    row.accepted = 0;
    for (const c of cases.filter(filter)) {
      const r = results.get(c.id);
      if (!r) continue;
      row.inputs++;
      row[r.class]++;
      if (r.note?.startsWith('accepted')) row.accepted++;
    }
    return row;
  };
  /** @type {Record<string, Record<string, number>>} */
  const table = {};
  for (const [name, f] of Object.entries(groups)) table[name] = count(f);
  table.total = count(() => true);
  const byId = new Map(cases.map((c) => [c.id, c]));
  // Every result has its case.
  const caseOf = (/** @type {string} */ id) => /** @type {Case} */ (byId.get(id));
  const listed = (/** @type {string} */ cls) =>
    [...results.values()].filter((r) => r.class === cls).map((r) => ({ ...r, case: caseOf(r.id) }));
  const failures = [...listed('crash'), ...listed('hang')];
  const summary = {
    seed: o.seed,
    mode: o.quick ? 'quick' : 'full',
    commit: (() => {
      try {
        return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
      } catch {
        return undefined;
      }
    })(),
    date: new Date().toISOString().slice(0, 10),
    seconds: Math.round(elapsed),
    counts: table,
    crashes: table.total.crash,
    hangs: table.total.hang,
    failures: failures.map((f) => ({ id: f.id, class: f.class, detail: f.detail, case: f.case })),
    unnamedErrors: listed('unnamed-error').map((f) => ({ id: f.id, detail: f.detail, case: f.case })),
    invalidResults: listed('invalid-result').map((f) => ({ id: f.id, detail: f.detail, case: f.case })),
    failedRuns: listed('failed').map((f) => ({ id: f.id, detail: f.detail, case: f.case })),
    accepted: [...results.values()]
      .filter((r) => r.note?.startsWith('accepted'))
      .map((r) => ({ id: r.id, note: r.note, case: caseOf(r.id) })),
    slowAborts: [...results.values()]
      .filter(
        (r) => (r.abortLatencyMs ?? 0) > 1000 || (r.note?.startsWith('abort ignored') && byId.get(r.id)?.note?.startsWith('long call')),
      )
      .map((r) => ({ id: r.id, class: r.class, abortLatencyMs: r.abortLatencyMs, note: r.note, case: byId.get(r.id) })),
  };
  if (o.json) writeFileSync(o.json, `${JSON.stringify(summary, null, 2)}\n`);

  /**
   * @param {string} title
   * @param {Array<{ id: string, class?: string, detail?: string, note?: string, case: Case }>} list
   * @param {boolean} withRepro
   */
  const show = (title, list, withRepro) => {
    if (!list.length) return;
    console.log(`\n${title} (${list.length})`);
    for (const f of list) {
      console.log(`- ${f.id} ${f.class ?? ''}: ${f.detail ?? f.note ?? ''}`);
      if (withRepro) console.log(reproOf(f.case));
    }
  };
  show('Crashes and hangs', failures, true);
  if (o.verbose || o.case) {
    show('Unnamed errors', summary.unnamedErrors, true);
    show('Invalid results', summary.invalidResults, true);
    show('Failed runs (exit 1)', summary.failedRuns, true);
    show('Bad input accepted', summary.accepted, true);
    show('Skipped', listed('skipped'), false);
  } else {
    for (const [title, list] of /** @type {Array<[string, Array<{ id: string }>]>} */ ([
      ['Unnamed errors', summary.unnamedErrors],
      ['Invalid results', summary.invalidResults],
      ['Failed runs (exit 1)', summary.failedRuns],
      ['Bad input accepted', summary.accepted],
    ])) {
      if (list.length)
        console.log(
          `\n${title}: ${list.length} (${list
            .slice(0, 8)
            .map((f) => f.id)
            .join(', ')}${list.length > 8 ? ', ...' : ''}; --verbose or --json to list)`,
        );
    }
  }
  const cols = ['inputs', 'named-error', 'result', 'unnamed-error', 'invalid-result', 'failed', 'accepted', 'crash', 'hang'];
  console.log(`\nscorecrl fuzz (${summary.mode}, seed ${o.seed}, ${summary.seconds} s)\n`);
  console.log(['', ...cols].map((c, i) => (i === 0 ? c.padEnd(11) : c.padStart(c.length + 2))).join(''));
  for (const [name, row] of Object.entries(table))
    console.log([name.padEnd(11), ...cols.map((c) => String(row[c]).padStart(c.length + 2))].join(''));
  console.log(
    `\n${JSON.stringify({ seed: o.seed, mode: summary.mode, seconds: summary.seconds, inputs: table.total.inputs, namedErrors: table.total['named-error'], results: table.total.result, unnamedErrors: table.total['unnamed-error'], invalidResults: table.total['invalid-result'], failedRuns: table.total.failed, accepted: table.total.accepted, crashes: table.total.crash, hangs: table.total.hang, skipped: table.total.skipped })}`,
  );
  if (table.total.skipped)
    console.log(`(${table.total.skipped} cases skipped: their setup failed, e.g. mknod without root; --verbose lists them)`);
  const bad = table.total.crash + table.total.hang + (o.strict ? table.total['unnamed-error'] + table.total['invalid-result'] : 0);
  process.exitCode = bad > 0 ? 1 : 0;
}

main().catch((error) => {
  console.error(`fuzz: ${error.message}`);
  process.exitCode = 2;
});
