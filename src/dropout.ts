/**
 * Attention dropout's keep decision (SPEC.md, Attention variants): a counter-based integer hash of
 * (seed, b, h, i, j), the same 32-bit arithmetic on every backend (this file for cpu and the tests, the
 * WGSL and GLSL twins in the GPU kernels), so any kernel reproduces another's mask bit for bit, and the
 * backward regenerates the forward's:
 *   x = seed mod 2^32;  for v in (b, h, i, j):  x = lowbias32(x XOR v)
 *   lowbias32(x): x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16  (mod 2^32)
 *   keep iff x >= threshold,  threshold = floor(rate · 2^32)
 * (b: the sequence, h: the query head, i, j: the query and key positions in the sequence; lowbias32 is
 * Chris Wellons' 32-bit mixer). A kept P is scaled by 1 / (1 − rate); the LSE is unaffected.
 */

/** The uint32 threshold of a rate in [0, 1): P(x >= threshold) = 1 − threshold / 2^32 ≈ 1 − rate. */
export function dropoutThreshold(rate: number): number {
  return Math.floor(rate * 2 ** 32);
}

/** The seed's low 32 bits as a uint32 (any safe integer, negative ones too). */
export function dropoutSeed32(seed: number): number {
  return ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
}

function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The hash of (seed32, b, h, i, j) as a uint32. */
export function dropoutHash(seed32: number, b: number, h: number, i: number, j: number): number {
  return lowbias32(lowbias32(lowbias32(lowbias32(seed32 ^ b) ^ h) ^ i) ^ j);
}

export function dropoutKeeps(seed32: number, threshold: number, b: number, h: number, i: number, j: number): boolean {
  return dropoutHash(seed32, b, h, i, j) >= threshold;
}
