#!/usr/bin/env node
/**
 * Replays one fuzz case (the JSON `npm run fuzz` prints) in a child process
 * with the same limits, and prints its classification and output:
 *   node fuzz/repro.mjs '{"target":"api","backend":"native","call":"simulate","args":[...]}'
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_COMMANDS } from './cli-cases.mjs';
import { makeFixtures, runApiBatch, runCliCase } from './lib.mjs';

/** @type {((import('./api-cases.mjs').ApiCase | import('./cli-cases.mjs').CliCase) & { id?: string }) | null} */
const c = JSON.parse(process.argv[2] ?? 'null');
if (!c?.target) {
  console.error("usage: node fuzz/repro.mjs '<case JSON printed by npm run fuzz>'");
  process.exit(2);
}
c.id ??= 'repro';
const limits = { caseTimeoutMs: 30_000, rssCapMb: Number(process.env.FUZZ_RSS_CAP_MB ?? 2048) };
if (c.target === 'api') {
  const { records, result } = await runApiBatch([c], { backend: c.backend, ...limits });
  console.log(JSON.stringify(records.get(0) ?? { class: 'crash', detail: 'no report' }));
  if (result.stderr.trim()) console.log(`--- stderr\n${result.stderr.trim()}`);
  console.log(`--- exit ${result.signal ?? result.code}, peak resident size ${result.peakMb} MiB`);
} else {
  const work = mkdtempSync(join(tmpdir(), 'scorecrl-repro-'));
  try {
    if (c.argv.some((a) => a.includes('$D')) || JSON.stringify(c.files ?? {}).includes('copy'))
      await makeFixtures(join(work, 'fixtures'), FIXTURE_COMMANDS);
    const r = await runCliCase(/** @type {typeof c & { id: string }} id set above */ (c), {
      fixtures: join(work, 'fixtures'),
      work,
      ...limits,
    });
    console.log(JSON.stringify(r, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
