/**
 * Reading and writing users' data: CSV with a header row, and NumPy `.npy`
 * files. Environments come either one per file (the first observational) or
 * from one file with an environment column (or one 3-d `.npy` array,
 * environments first). Also JSON Lines, line by line, tolerating a last line
 * cut short (result files are appended to while they are read).
 */
import { parse } from 'csv-parse/sync';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { DataError } from '../errors.js';
import type { NDArray } from '../types.js';
import { withPath, writeFileAtomic } from './files.js';
import { parseDecimal } from './numbers.js';

// ---------------------------------------------------------------------------
// .npy

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

interface DType {
  size: number;
  read: (view: DataView, offset: number, little: boolean) => number;
}

const DTYPES: Record<string, DType> = {
  f8: { size: 8, read: (v, o, le) => v.getFloat64(o, le) },
  f4: { size: 4, read: (v, o, le) => v.getFloat32(o, le) },
  i8: { size: 8, read: (v, o, le) => Number(v.getBigInt64(o, le)) },
  i4: { size: 4, read: (v, o, le) => v.getInt32(o, le) },
  i2: { size: 2, read: (v, o, le) => v.getInt16(o, le) },
  i1: { size: 1, read: (v, o) => v.getInt8(o) },
  u8: { size: 8, read: (v, o, le) => Number(v.getBigUint64(o, le)) },
  u4: { size: 4, read: (v, o, le) => v.getUint32(o, le) },
  u2: { size: 2, read: (v, o, le) => v.getUint16(o, le) },
  u1: { size: 1, read: (v, o) => v.getUint8(o) },
  b1: { size: 1, read: (v, o) => v.getUint8(o) },
};

/** Parses a .npy file (format 1.0-3.0; float, int, uint and bool dtypes; C or Fortran order) into float64. */
export function parseNpy(bytes: Buffer, name = 'array'): NDArray {
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(NPY_MAGIC)) {
    throw new DataError(`${name}: not a .npy file (missing the \\x93NUMPY magic)`);
  }
  const major = bytes[6]!;
  let headerLength: number;
  let start: number;
  if (major === 1) {
    headerLength = bytes.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLength = bytes.readUInt32LE(8);
    start = 12;
  } else {
    throw new DataError(`${name}: unsupported .npy format version ${major}`);
  }
  const header = bytes.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLength);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new DataError(`${name}: malformed .npy header: ${header.trim()}`);
  }
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  const dtype = m ? DTYPES[`${m[2]}${m[3]}`] : undefined;
  if (!m || !dtype) {
    throw new DataError(`${name}: dtype '${descr}' is not supported (use float64, float32, integers or bool)`);
  }
  const little = m[1] !== '>';
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (shape.some((s) => !Number.isSafeInteger(s) || s < 0)) throw new DataError(`${name}: bad shape (${shapeText})`);
  const size = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLength;
  if (bytes.length - dataStart < size * dtype.size) {
    throw new DataError(`${name}: file is truncated (${bytes.length - dataStart} bytes of data, ${size * dtype.size} expected)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, size * dtype.size);
  const data = new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = dtype.read(view, i * dtype.size, little);
  if (fortran === 'True' && shape.length > 1) {
    // Column-major to row-major.
    const out = new Float64Array(size);
    const strides = shape.map((_, k) => shape.slice(0, k).reduce((a, b) => a * b, 1));
    const index = new Array(shape.length).fill(0);
    for (let r = 0; r < size; r++) {
      let f = 0;
      for (let k = 0; k < shape.length; k++) f += index[k] * strides[k]!;
      out[r] = data[f]!;
      for (let k = shape.length - 1; k >= 0; k--) {
        if (++index[k] < shape[k]!) break;
        index[k] = 0;
      }
    }
    return { data: out, shape };
  }
  return { data, shape };
}

/** A .npy file (format 1.0, little-endian float64, C order). */
export function npyBytes(a: NDArray): Buffer {
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const head = Buffer.alloc(10);
  NPY_MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(a.data.length * 8);
  for (let i = 0; i < a.data.length; i++) body.writeDoubleLE(a.data[i]!, i * 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

export function writeNpy(path: string, a: NDArray): void {
  writeFileAtomic(path, npyBytes(a));
}

// ---------------------------------------------------------------------------
// CSV

export interface Table {
  columns: string[];
  /** rows x columns, row-major (text cells kept only for the environment column). */
  data: Float64Array;
  rows: number;
  /** Values of the environment column as text, if one was named. */
  environment?: string[];
}

const MISSING = /^(|na|nan|null|none)$/i;

/** Reads a CSV file with a header row; every cell numeric except the environment column (if named). */
export function readCsv(path: string, environmentColumn?: string): Table {
  const name = basename(path);
  let records: string[][];
  try {
    records = parse(
      withPath(path, 'read', () => readFileSync(path, 'utf8')),
      // .tsv files are tab-separated; .csv and .txt comma-separated.
      { skip_empty_lines: true, trim: true, relax_column_count: true, delimiter: extname(path).toLowerCase() === '.tsv' ? '\t' : ',' },
    ) as string[][];
  } catch (error) {
    if (error instanceof Error && error.name === 'FileError') throw error;
    throw new DataError(`${name}: cannot parse CSV (${(error as Error).message})`);
  }
  if (records.length === 0) throw new DataError(`${name}: the file is empty (a header row is needed)`);
  const header = records[0]!;
  if (header.some((h) => h.length === 0)) throw new DataError(`${name}: the header row has an empty column name`);
  const numericHeader = header.filter((h) => h !== environmentColumn).every((h) => Number.isFinite(parseDecimal(h)));
  if (numericHeader) {
    throw new DataError(
      `${name}: the first row looks like data (${header.slice(0, 3).join(', ')}...); a header row with column names is needed`,
    );
  }
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup) throw new DataError(`${name}: column '${dup}' appears twice in the header`);
  const envIndex = environmentColumn === undefined ? -1 : header.indexOf(environmentColumn);
  if (environmentColumn !== undefined && envIndex < 0) {
    throw new DataError(`${name}: no column '${environmentColumn}' (columns: ${header.join(', ')})`);
  }
  const columns = header.filter((_, j) => j !== envIndex);
  const rows = records.length - 1;
  const data = new Float64Array(rows * columns.length);
  const environment: string[] = [];
  for (let i = 1; i < records.length; i++) {
    const record = records[i]!;
    if (record.length !== header.length) {
      throw new DataError(`${name}: line ${i + 1} has ${record.length} fields, the header has ${header.length}`);
    }
    let c = 0;
    for (let j = 0; j < record.length; j++) {
      const cell = record[j]!;
      if (j === envIndex) {
        if (cell.length === 0) throw new DataError(`${name}: line ${i + 1}: empty environment label in column '${header[j]}'`);
        environment.push(cell);
        continue;
      }
      if (MISSING.test(cell)) {
        throw new DataError(`${name}: line ${i + 1}, column '${header[j]}': missing value or NaN ('${cell}'); remove or impute such rows`);
      }
      const v = parseDecimal(cell);
      if (!Number.isFinite(v)) {
        throw new DataError(
          `${name}: line ${i + 1}, column '${header[j]}': '${cell}' is not a finite number in decimal or scientific notation (e.g. 1.5, -2e-3)`,
        );
      }
      data[(i - 1) * columns.length + c++] = v;
    }
  }
  return { columns, data, rows, ...(envIndex >= 0 ? { environment } : {}) };
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Writes rows x columns data with a header (and an optional leading environment column). */
export function writeCsv(path: string, columns: string[], a: NDArray, environment?: { name: string; labels: string[] }): void {
  const [rows, cols] = a.shape as [number, number];
  const parts: string[] = [[...(environment ? [environment.name] : []), ...columns].map(csvField).join(',')];
  for (let i = 0; i < rows; i++) {
    const values: string[] = environment ? [csvField(environment.labels[i]!)] : [];
    for (let j = 0; j < cols; j++) values.push(String(a.data[i * cols + j]));
    parts.push(values.join(','));
  }
  writeFileAtomic(path, `${parts.join('\n')}\n`);
}

// ---------------------------------------------------------------------------
// Environments

export interface Environments {
  /** Observed variable names (d). */
  columns: string[];
  /** One N_k x d array per environment; [0] observational. */
  data: NDArray[];
  /** A label per environment (file name or environment-column value). */
  labels: string[];
}

/**
 * The environments stacked into (K+1)×rows×d, rows = the smallest row count
 * (the first rows of each), for estimators and algorithms that need equal sizes.
 */
export function stackEnvironments(env: Environments): { x: NDArray; rows: number } {
  const d = env.columns.length;
  const rows = Math.min(...env.data.map((a) => a.shape[0]!));
  const data = new Float64Array(env.data.length * rows * d);
  env.data.forEach((a, k) => data.set(a.data.subarray(0, rows * d), k * rows * d));
  return { x: { data, shape: [env.data.length, rows, d] }, rows };
}

export interface LoadOptions {
  /** Name (CSV) or 0-based index (.npy) of the environment column, for a single file holding all environments. */
  environmentColumn?: string;
  /** With an environment column: the label of the observational environment (default: the smallest label). */
  observational?: string;
}

function compareLabels(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

function splitByEnvironment(name: string, table: Table, labels: string[], options: LoadOptions): Environments {
  const distinct = [...new Set(labels)].sort(compareLabels);
  if (options.observational !== undefined) {
    if (!distinct.includes(options.observational)) {
      throw new DataError(`${name}: no environment labelled '${options.observational}' (labels: ${distinct.join(', ')})`);
    }
    distinct.splice(distinct.indexOf(options.observational), 1);
    distinct.unshift(options.observational);
  }
  const d = table.columns.length;
  const data = distinct.map((label) => {
    const rows = labels.flatMap((l, i) => (l === label ? [i] : []));
    const out = new Float64Array(rows.length * d);
    rows.forEach((r, i) => out.set(table.data.subarray(r * d, (r + 1) * d), i * d));
    return { data: out, shape: [rows.length, d] };
  });
  return { columns: table.columns, data, labels: distinct };
}

function loadNpyEnvironments(files: string[], options: LoadOptions): Environments {
  const arrays = files.map((f) => ({
    file: basename(f),
    array: parseNpy(
      withPath(f, 'read', () => readFileSync(f)),
      basename(f),
    ),
  }));
  if (files.length === 1) {
    const { file, array } = arrays[0]!;
    if (array.shape.length === 3) {
      const [K1, N, d] = array.shape as [number, number, number];
      const data = Array.from({ length: K1 }, (_, k) => ({ data: array.data.slice(k * N * d, (k + 1) * N * d), shape: [N, d] }));
      return { columns: Array.from({ length: d }, (_, j) => `x${j}`), data, labels: data.map((_, k) => `${file}[${k}]`) };
    }
    if (array.shape.length !== 2)
      throw new DataError(
        `${file}: expected a 2-d (rows x columns) or 3-d (environments x rows x columns) array, got shape (${array.shape.join(', ')})`,
      );
    if (options.environmentColumn === undefined) {
      throw new DataError(`${file}: one 2-d file holds one environment; give one file per environment, or --env-column <index>`);
    }
    const index = /^\d+$/.test(options.environmentColumn.trim()) ? Number(options.environmentColumn) : NaN;
    const [N, c] = array.shape as [number, number];
    if (!Number.isInteger(index) || index < 0 || index >= c) {
      throw new DataError(`${file}: --env-column for a .npy file is a column index in 0..${c - 1}, got '${options.environmentColumn}'`);
    }
    const columns = Array.from({ length: c }, (_, j) => `x${j}`).filter((_, j) => j !== index);
    const data = new Float64Array(N * (c - 1));
    const labels: string[] = [];
    for (let i = 0; i < N; i++) {
      let k = 0;
      for (let j = 0; j < c; j++) {
        const v = array.data[i * c + j]!;
        if (j === index) labels.push(String(v));
        else data[i * (c - 1) + k++] = v;
      }
    }
    checkFinite(file, data, c - 1, columns);
    return splitByEnvironment(file, { columns, data, rows: N }, labels, options);
  }
  const d0 = arrays[0]!.array.shape[1];
  for (const { file, array } of arrays) {
    if (array.shape.length !== 2)
      throw new DataError(`${file}: expected a 2-d array (rows x columns), got shape (${array.shape.join(', ')})`);
    if (array.shape[1] !== d0) {
      throw new DataError(
        `${file}: has ${array.shape[1]} columns but ${arrays[0]!.file} has ${d0}; every environment needs the same columns`,
      );
    }
  }
  const columns = Array.from({ length: d0! }, (_, j) => `x${j}`);
  for (const { file, array } of arrays) checkFinite(file, array.data, d0!, columns);
  return { columns, data: arrays.map((a) => a.array), labels: arrays.map((a) => a.file) };
}

function checkFinite(file: string, data: Float64Array, d: number, columns: string[]): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new DataError(
        `${file}: row ${Math.floor(i / d)}, column '${columns[i % d]}' is ${data[i]} (NaN or infinite values are not allowed)`,
      );
    }
  }
}

/** Loads environments from CSV or .npy files (see the module comment). */
export function loadEnvironments(files: string[], options: LoadOptions = {}): Environments {
  if (files.length === 0) throw new DataError('no data files given');
  for (const f of files) {
    if (!existsSync(f)) throw new DataError(`${f}: no such file`);
    if (withPath(f, 'read', () => statSync(f)).isDirectory())
      throw new DataError(`${f}: is a directory, not a data file (give the files inside it)`);
  }
  const kinds = new Set(files.map((f) => extname(f).toLowerCase()));
  if (kinds.size > 1) throw new DataError(`mix of file types (${[...kinds].join(', ')}); use all .csv or all .npy`);
  const kind = [...kinds][0]!;
  if (kind === '.npy') return loadNpyEnvironments(files, options);
  if (kind !== '.csv' && kind !== '.tsv' && kind !== '.txt') {
    throw new DataError(`${basename(files[0]!)}: unknown file type '${kind}' (use .csv with a header row, or .npy)`);
  }
  if (files.length === 1) {
    if (options.environmentColumn === undefined) {
      throw new DataError(
        `${basename(files[0]!)}: one file holds one environment; give one file per environment (the first observational), or --env-column <name>`,
      );
    }
    const table = readCsv(files[0]!, options.environmentColumn);
    return splitByEnvironment(basename(files[0]!), table, table.environment!, options);
  }
  if (options.environmentColumn !== undefined) throw new DataError('--env-column is for a single file holding every environment');
  const tables = files.map((f) => ({ file: basename(f), table: readCsv(f) }));
  const first = tables[0]!;
  for (const { file, table } of tables.slice(1)) {
    if (table.columns.join('\u0000') !== first.table.columns.join('\u0000')) {
      throw new DataError(
        `${file}: columns (${table.columns.join(', ')}) differ from ${first.file} (${first.table.columns.join(', ')}); every environment needs the same columns in the same order`,
      );
    }
  }
  return {
    columns: first.table.columns,
    data: tables.map(({ table }) => ({ data: table.data, shape: [table.rows, table.columns.length] })),
    labels: tables.map((t) => t.file),
  };
}

// ---------------------------------------------------------------------------
// JSON Lines

/** A non-blank line of a JSON Lines file (numbered from 1): its value, or why it has none. */
export type JsonLine = { line: number; value: unknown } | { line: number; bad: 'incomplete' | 'invalid' };

export interface JsonLines {
  /** The file's bytes. */
  bytes: Buffer;
  /** The non-blank lines, in order. */
  lines: JsonLine[];
  /** Byte length up to the end of the last complete line: where appends continue. */
  goodBytes: number;
}

/**
 * Reads a JSON Lines file. A line ending in a newline is read as JSON ('invalid' when it does not
 * parse); the bytes after the last newline are 'incomplete' (a write cut short by a kill) and lie
 * beyond `goodBytes`, so a writer cuts them off before appending. A complete bad line (edited by
 * hand, a damaged disk) is kept within `goodBytes`: only the reader skips it.
 */
export function readJsonLines(path: string): JsonLines {
  const bytes = readFileSync(path);
  const lines: JsonLine[] = [];
  let goodBytes = 0;
  let start = 0;
  let line = 0;
  while (start < bytes.length) {
    line++;
    const newline = bytes.indexOf(0x0a, start);
    const end = newline < 0 ? bytes.length : newline;
    const text = bytes.toString('utf8', start, end).trim();
    start = newline < 0 ? bytes.length : newline + 1;
    if (newline < 0) {
      lines.push({ line, bad: 'incomplete' });
      break;
    }
    goodBytes = start;
    if (text.length === 0) continue;
    try {
      lines.push({ line, value: JSON.parse(text) });
    } catch {
      lines.push({ line, bad: 'invalid' });
    }
  }
  return { bytes, lines, goodBytes };
}
