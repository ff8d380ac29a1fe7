// `npm run bench`: runs every bench/*.mjs (except helpers) one after another
// and prints their JSON as one object keyed by script name. Pass names to run
// a subset: `npm run bench -- moments simulate`.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const skip = new Set(['run.mjs', 'common.mjs']);
const wanted = process.argv.slice(2);
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs') && !skip.has(f))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.mjs$/, '')))
  .sort();

/** @type {Record<string, unknown>} */
const out = {};
for (const script of scripts) {
  const name = script.replace(/\.mjs$/, '');
  process.stderr.write(`bench: ${name}...\n`);
  const stdout = execFileSync(process.execPath, [`${dir}/${script}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  out[name] = JSON.parse(stdout);
}
console.log(JSON.stringify(out, null, 2));
