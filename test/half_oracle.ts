/**
 * The oracle's own round-to-half, written from the definition and independent of src/half.ts (which
 * works on float32 bits): find the binade of |x|, count its quanta (2^(e - 10), subnormals sharing the
 * smallest normal binade's 2^-24), round the count to nearest even. |x| ≥ 65520 is ±Infinity (65504 plus
 * half a quantum rounds to the even neighbour 2^16, past the largest half); NaN stays NaN; ±0 keeps its sign.
 */
export const ORACLE_HALF_MAX = 65504;

export function oracleHalfRound(x: number): number {
  if (Number.isNaN(x) || x === 0 || !Number.isFinite(x)) return x;
  const a = Math.abs(x), sign = x < 0 ? -1 : 1;
  if (a >= 65520) return sign * Infinity;
  let e = Math.floor(Math.log2(a));
  // Math.log2 may land one off next to a power of two: settle 2^e <= a < 2^(e + 1) exactly.
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  const quantum = 2 ** (Math.max(e, -14) - 10);
  const steps = a / quantum;  // exact: a power-of-two division
  let n = Math.floor(steps);
  const frac = steps - n;
  if (frac > 0.5 || (frac === 0.5 && n % 2 === 1)) n += 1;
  // n = 0 keeps the sign of x: -1e-9 rounds to -0.
  return sign * n * quantum;
}
