// Plain TypeScript versions of the core kernels: the independent computation
// the backends are checked against.
import type { NDArray } from '../../src/types.js';

/** Deterministic uniform stream (mulberry32) so failures reproduce. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(shape: number[], seed: number, offset = 0, scale = 1): NDArray {
  const rand = seededRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = offset + scale * (rand() * 2 - 1);
  return { data, shape };
}

export function tsCovariance(x: NDArray): Float64Array {
  const [n, d] = x.shape as [number, number];
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x.data[i * d + j]! / n;
  const out = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const va = x.data[i * d + a]! - mean[a]!;
      for (let b = 0; b < d; b++) out[a * d + b]! += (va * (x.data[i * d + b]! - mean[b]!)) / n;
    }
  }
  return out;
}

/** E[dsx_i dsx_j^T] blocks; with `cross` false only the diagonal blocks (K×d×d). */
export function tsScoreDiffCovariance(dsx: NDArray, cross: boolean): Float64Array {
  const [K, N, d] = dsx.shape as [number, number, number];
  const width = K * d;
  const out = new Float64Array(cross ? width * width : K * d * d);
  for (let i = 0; i < K; i++) {
    for (let j = 0; j < K; j++) {
      if (!cross && i !== j) continue;
      for (let t = 0; t < N; t++) {
        for (let a = 0; a < d; a++) {
          const va = dsx.data[(i * N + t) * d + a]!;
          for (let b = 0; b < d; b++) {
            const v = (va * dsx.data[(j * N + t) * d + b]!) / N;
            if (cross) out[(i * d + a) * width + j * d + b]! += v;
            else out[(i * d + a) * d + b]! += v;
          }
        }
      }
    }
  }
  return out;
}

/** max |a - b| / max |b| */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

export function matVec(a: NDArray, v: ArrayLike<number>): Float64Array {
  const [r, c] = a.shape as [number, number];
  const out = new Float64Array(r);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[i]! += a.data[i * c + j]! * v[j]!;
  return out;
}
