// Recycling of the JS arrays WASM results are copied into.
//
// A WASM result must be copied out of the module's memory (a view on it is
// detached when the memory grows). Copying into fresh arrays costs a page
// fault and a zeroed page per 4 KiB, which for large results (a simulation:
// hundreds of MB) takes longer than computing them. Results the caller
// releases (`Backend.release`) are detached and their memory kept here, up to
// a bound, for the next result of the same length. Detaching (a transfer,
// which moves the memory without copying it) leaves every view of a released
// result empty, so released data can never be seen changing under a view.
// Plain JS: used in Node and in the browser worker alike.

/** Arrays smaller than this are not kept (fresh small arrays are cheap). */
const minKeptBytes = 1 << 20;
/** At most this many bytes are kept. */
const maxKeptBytes = 2 ** 29;

export class ResultRecycler {
  /** Buffers this recycler handed out (or adopted) and may take back. */
  private readonly ours = new WeakSet<ArrayBuffer>();
  /** Kept buffers by length in values, oldest first. */
  private readonly kept = new Map<number, ArrayBuffer[]>();
  private keptBytes = 0;

  /** A Float64Array of `length` values (contents unspecified: the caller overwrites them all). */
  readonly allocate = (length: number): Float64Array => {
    const list = this.kept.get(length);
    const buffer = list?.pop();
    if (list && list.length === 0) this.kept.delete(length);
    const array = buffer ? new Float64Array(buffer) : new Float64Array(length);
    if (buffer) this.keptBytes -= buffer.byteLength;
    this.ours.add(array.buffer);
    return array;
  };

  /** Marks the arrays of results made elsewhere (a worker's, transferred here) as recyclable. */
  adopt(arrays: Iterable<Float64Array>): void {
    for (const a of arrays) this.ours.add(a.buffer as ArrayBuffer);
  }

  /**
   * Detaches every recyclable array found in `values` (results, or parts of
   * them: objects and arrays are searched) and keeps its memory; returns the
   * bytes taken back. Arrays not made by this backend are left alone.
   */
  release(values: unknown[]): number {
    let bytes = 0;
    for (const buffer of collectBuffers(values)) {
      if (!this.ours.has(buffer) || buffer.byteLength === 0) continue;
      this.ours.delete(buffer);
      const moved = structuredClone(buffer, { transfer: [buffer] });
      bytes += moved.byteLength;
      this.keep(moved);
    }
    return bytes;
  }

  /** Keeps buffers released elsewhere and transferred here (the page's, in the browser worker). */
  keepReleased(buffers: ArrayBuffer[]): void {
    for (const buffer of buffers) if (buffer.byteLength > 0) this.keep(buffer);
  }

  /** Drops every kept buffer; returns the bytes dropped. */
  clear(): number {
    const bytes = this.keptBytes;
    this.kept.clear();
    this.keptBytes = 0;
    return bytes;
  }

  private keep(buffer: ArrayBuffer): void {
    const bytes = buffer.byteLength;
    if (bytes < minKeptBytes || bytes > maxKeptBytes) return;
    // Make room by dropping kept buffers, the lengths kept longest first and
    // the oldest of each length first.
    for (const [length, list] of this.kept) {
      if (this.keptBytes + bytes <= maxKeptBytes) break;
      while (list.length && this.keptBytes + bytes > maxKeptBytes) this.keptBytes -= list.shift()!.byteLength;
      if (list.length === 0) this.kept.delete(length);
    }
    const length = bytes / Float64Array.BYTES_PER_ELEMENT;
    const list = this.kept.get(length) ?? [];
    list.push(buffer);
    this.kept.set(length, list);
    this.keptBytes += bytes;
  }
}

/** The ArrayBuffers behind the typed arrays reachable from `values` through objects and arrays. */
export function collectBuffers(values: unknown[]): Set<ArrayBuffer> {
  const out = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const visit = (value: unknown, depth: number): void => {
    if (value === null || typeof value !== 'object' || depth > 8 || seen.has(value)) return;
    seen.add(value);
    if (ArrayBuffer.isView(value)) {
      if (value.buffer instanceof ArrayBuffer) out.add(value.buffer);
      return;
    }
    for (const entry of Array.isArray(value) ? value : Object.values(value)) visit(entry, depth + 1);
  };
  visit(values, 0);
  return out;
}
