import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NDArray } from '../../src/types.js';

/**
 * test/fixtures: the reference cases (produced by the authors' public reference
 * implementation on seeded synthetic data; see test/fixtures/README.md) and the
 * NumPy RNG vectors the tests compare with.
 */
export const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));

export interface ReferenceCase {
  name: string;
  meta: Record<string, any>;
  arrays: Record<string, NDArray>;
}

/** Names of the reference cases whose folder starts with `prefix` ('lscale-', 'finite-', 'umni-'). */
export function referenceCases(prefix: string): string[] {
  return readdirSync(join(FIXTURES, 'reference'))
    .filter((name) => name.startsWith(prefix))
    .sort();
}

/** Reads case.json + arrays.f64 (little-endian float64; int and bool arrays are stored as float64 too). */
export function readReferenceCase(name: string): ReferenceCase {
  const dir = join(FIXTURES, 'reference', name);
  const spec = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
  const bytes = readFileSync(join(dir, 'arrays.f64'));
  const all = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const arrays: Record<string, NDArray> = {};
  for (const [key, entry] of Object.entries<any>(spec.arrays)) {
    const size = (entry.shape as number[]).reduce((a, b) => a * b, 1);
    arrays[key] = { data: all.slice(entry.offset, entry.offset + size), shape: entry.shape };
  }
  return { name, meta: spec.meta, arrays };
}

export function numpyRngVectors(): any {
  return JSON.parse(readFileSync(join(FIXTURES, 'numpy-rng.json'), 'utf8'));
}
