/** Strict number parsing for everything read from text (CSV cells, reference tables, CLI flags). */

/** A number in decimal or scientific notation ('1', '-2.5', '.5', '3e-4'). */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses a number written in decimal or scientific notation, and nothing
 * else: NaN for '0x10', '0b1', '1_000', '' or 'Infinity' (which `Number`
 * would read as 16, 1, NaN, 0 and Infinity).
 */
export function parseDecimal(text: string): number {
  const t = text.trim();
  return DECIMAL.test(t) ? Number(t) : NaN;
}
