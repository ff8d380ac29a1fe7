// Matrices as rows of numbers, to and from the library's NDArray: the form the page's
// algorithms return, its evaluation compares and its drawings show.
import type { NDArray } from 'scorecrl';

/** A matrix as rows of numbers (what the page draws and compares). */
export type Matrix = number[][];

/** A 2-d array as rows. */
export function rows(a: NDArray): Matrix {
  const [r, c] = a.shape as [number, number];
  return Array.from({ length: r }, (_, i) => Array.from(a.data.subarray(i * c, (i + 1) * c)));
}

/** Rows as a 2-d array (row-major). */
export function fromMatrix(m: Matrix): NDArray {
  const r = m.length;
  const c = m[0]?.length ?? 0;
  const data = new Float64Array(r * c);
  m.forEach((row, i) => data.set(row, i * c));
  return { data, shape: [r, c] };
}
