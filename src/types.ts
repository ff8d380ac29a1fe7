/**
 * A dense float64 array in row-major order with an explicit shape: the one
 * array type of the API. Samples are rows: one environment is `N x d`, all
 * environments `(K+1) x N x d`.
 */
export interface NDArray {
  data: Float64Array;
  shape: number[];
}

/** Builds an NDArray, checking that the shape matches the data length. */
export function ndarray(data: Float64Array | ArrayLike<number>, shape: number[]): NDArray {
  if (!Array.isArray(shape) || shape.some((s) => !Number.isSafeInteger(s) || s < 0)) {
    throw new RangeError(`ndarray: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const typed = data instanceof Float64Array ? data : Float64Array.from(data);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== typed.length) {
    throw new RangeError(`ndarray: shape [${shape.join(', ')}] implies ${size} values but data has ${typed.length}`);
  }
  return { data: typed, shape: [...shape] };
}

/** Reads element (i, j) of a 2-d NDArray. */
export function at(a: NDArray, i: number, j: number): number {
  if (a?.shape?.length !== 2) throw new RangeError(`at: 'a' must be a 2-d NDArray`);
  const [rows, cols] = a.shape as [number, number];
  if (!Number.isInteger(i) || i < 0 || i >= rows) throw new RangeError(`at: row index ${String(i)} is not an integer in [0, ${rows})`);
  if (!Number.isInteger(j) || j < 0 || j >= cols) throw new RangeError(`at: column index ${String(j)} is not an integer in [0, ${cols})`);
  return a.data[i * cols + j]!;
}

/** A 2-d NDArray as nested arrays (for printing and JSON). */
export function toRows(a: NDArray): number[][] {
  if (a.shape.length !== 2) throw new RangeError(`toRows: expected a 2-d array, got shape [${a.shape.join(', ')}]`);
  const [rows, cols] = a.shape as [number, number];
  return Array.from({ length: rows }, (_, i) => Array.from(a.data.subarray(i * cols, (i + 1) * cols)));
}

/** Nested arrays as a 2-d NDArray. */
export function fromRows(rows: ArrayLike<ArrayLike<number>>): NDArray {
  const r = rows.length;
  const c = r > 0 ? rows[0]!.length : 0;
  const data = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    if (rows[i]!.length !== c) throw new RangeError(`fromRows: row ${i} has ${rows[i]!.length} values, expected ${c}`);
    data.set(Array.from(rows[i]!), i * c);
  }
  return { data, shape: [r, c] };
}

/** Slice `index` of the first axis of an NDArray (a view, no copy). */
export function sliceFirst(a: NDArray, index: number): NDArray {
  const first = a.shape[0] ?? 0;
  if (a.shape.length < 2 || !Number.isSafeInteger(index) || index < 0 || index >= first) {
    throw new RangeError(
      `sliceFirst: index must be an integer in [0, ${first}) of an array of rank >= 2, got index ${index} for shape [${a.shape.join(', ')}]`,
    );
  }
  const inner = a.shape.slice(1);
  const size = inner.reduce((x, y) => x * y, 1);
  return { data: a.data.subarray(index * size, (index + 1) * size), shape: inner };
}
