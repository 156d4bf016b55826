/**
 * What the block passes share: the uniforms that place a row quad in its sequence, the GLSL that
 * turns a row quad into (b, h, i), its sequence lengths, key ranges and the first key pair of its kv
 * head, and the shape of their inner loops (unrolledLoop).
 */
import {FlashAttentionSpec, hasWindow} from '../../src/spec';
import type {Geometry} from './geometry';
import {geoUniform} from './texel_layout';
import type {Uniform} from './webgl_program';

export function rowUniforms(spec: FlashAttentionSpec, geo: Geometry, j0: number): Uniform[] {
  return [
    {name: 'blockStart', type: 'int', value: j0},
    {name: 'blockN', type: 'int', value: geo.blockN},
    {name: 'padded', type: 'ivec2', value: [geo.seqQPadded, geo.seqKPadded]},
    {name: 'heads', type: 'ivec3', value: [spec.numHeadsQ, spec.numHeadsK, spec.groupSize]},
    geoUniform('rowInfo', geo.rowStats),
    // The sliding window [left, right] of the spec (−1 = unbounded) and the soft-cap in log2 units.
    {name: 'window', type: 'ivec2', value: [spec.windowLeft, spec.windowRight]},
    {name: 'softcapLog2', type: 'float', value: spec.softcap * Math.LOG2E},
    ...dropoutUniforms(spec),
  ];
}

const halves = (x: number) => [x >>> 16, x & 0xffff];

/** The dropout seed and threshold as 16-bit halves (ints hold them exactly), and 1 / (1 − rate). */
export function dropoutUniforms(spec: FlashAttentionSpec): Uniform[] {
  return [
    {name: 'dropoutWords', type: 'ivec4', value: [...halves(spec.dropoutSeed), ...halves(spec.dropoutThreshold)]},
    {name: 'dropoutKeptScale', type: 'float', value: 1 / (1 - spec.dropoutRate)},
  ];
}

/**
 * GLSL: float dropoutScale(b, h, i, j) = keep / (1 − rate), keep from src/dropout.ts's hash in the same
 * 32-bit unsigned arithmetic (GLSL ES 3 uint wraps mod 2^32), so every backend draws the same mask; 1
 * without dropout. Needs the dropoutUniforms.
 */
export function dropoutGlsl(spec: FlashAttentionSpec): string {
  if (spec.dropoutRate <= 0) return 'float dropoutScale(int b, int h, int i, int j) { return 1.0; }';
  return `
uint lowbias32(uint v) {
  uint x = v;
  x ^= x >> 16u; x *= 0x7feb352du; x ^= x >> 15u; x *= 0x846ca68bu; x ^= x >> 16u;
  return x;
}
float dropoutScale(int b, int h, int i, int j) {
  uint seed = (uint(dropoutWords.x) << 16u) | uint(dropoutWords.y);
  uint threshold = (uint(dropoutWords.z) << 16u) | uint(dropoutWords.w);
  uint x = lowbias32(lowbias32(lowbias32(lowbias32(seed ^ uint(b)) ^ uint(h)) ^ uint(i)) ^ uint(j));
  return x >= threshold ? dropoutKeptScale : 0.0;
}`;
}

/**
 * GLSL: the soft-capped score in log2 units, c₂·tanh(s / c₂) with c₂ = softcap · log2 e, tanh from one
 * exp2 of −2|x| (no overflow for large |s|; NaN stays NaN). Identity without a soft-cap.
 */
export function softcapGlsl(spec: FlashAttentionSpec): string {
  if (spec.softcap <= 0) return 'float capScore(float s) { return s; }';
  return `float capScore(float s) {
  float t = exp2(-2.0 * 1.4426950408889634 * abs(s / softcapLog2));
  return softcapLog2 * sign(s) * (1.0 - t) / (1.0 + t);
}`;
}

/**
 * GLSL statements narrowing the key range [starts, ends) of four rows (ivec4 \`rows\`, diagonal \`diag\`) to the
 * sliding window (uniform \`window\`); nothing without a window. Shared by the forward's row quads and the
 * backward's row pairs.
 */
export function windowGlsl(spec: FlashAttentionSpec, starts: string, ends: string, rows: string, diag: string): string {
  if (!hasWindow(spec)) return '';
  return `if (window.y >= 0) { ${ends} = max(min(${ends}, ${rows} + 1 + ${diag} + window.y), 0); }
  if (window.x >= 0) { ${starts} = max(${rows} + ${diag} - window.x, 0); }`;
}

/**
 * GLSL: the exponent shift of two rows' running max m: a row that has seen only masked keys keeps
 * m = -inf and shifts by 0, so exp2 gives 0, not NaN.
 */
export const SHIFT_GLSL = `
vec2 shiftOf(vec2 m) {
  return vec2(m.x == -FA_INF ? 0.0 : m.x, m.y == -FA_INF ? 0.0 : m.y);
}
`;

/**
 * GLSL: struct Quad {b, h, i, lenQ, lenK, slope, kvPair0, starts, ends, keyStart, keyEnd, allStart, allEnd}
 * for row quad g (rows i..i+3 of head h of sequence b): row i+k sees keys starts[k] .. ends[k] − 1
 * (sequence end, causal diagonal, window; ends 0 for padding rows); keyStart .. keyEnd = the keys any row of
 * the quad sees; allStart .. allEnd = the keys every real row sees (padding rows' results are never read,
 * so they do not narrow it). Both bounds grow with the row.
 */
export function quadGlsl(spec: FlashAttentionSpec): string {
  return `
struct Quad { int b; int h; int i; int lenQ; int lenK; float slope; int kvPair0; ivec4 starts; ivec4 ends; int keyStart; int keyEnd; int allStart; int allEnd; };

Quad quadOf(int g) {
  Quad quad;
  int r = 4 * g, bh = r / padded.x;
  quad.i = r - bh * padded.x;
  quad.b = bh / heads.x;
  quad.h = bh - quad.b * heads.x;
  vec4 info = texelFetch(rowInfo, groupBase(rowInfoGeo, 2 * g), 0);
  quad.lenQ = int(info.x);
  quad.lenK = int(info.y);
  quad.slope = info.z;
  quad.kvPair0 = (quad.b * heads.y + quad.h / heads.z) * (padded.y / 2);
  ivec4 rows = quad.i + ivec4(0, 1, 2, 3);
  ivec4 real = ivec4(lessThan(rows, ivec4(quad.lenQ)));
  quad.ends = real * quad.lenK;
  quad.starts = ivec4(0);
  ${spec.causal ? 'quad.ends = max(min(quad.ends, rows + 1 + quad.lenK - quad.lenQ), 0);' : ''}
  ${windowGlsl(spec, 'quad.starts', 'quad.ends', 'rows', '(quad.lenK - quad.lenQ)')}
  quad.keyEnd = max(max(quad.ends.x, quad.ends.y), max(quad.ends.z, quad.ends.w));
  quad.allEnd = quad.ends.x;  // the first row sees least (ends grow with the row); 0 if it is padding
  quad.keyStart = quad.starts.x;
  ivec4 realStarts = quad.starts * real;  // the last real row starts latest
  quad.allStart = max(max(realStarts.x, realStarts.y), max(realStarts.z, realStarts.w));
  return quad;
}
${SHIFT_GLSL}`;
}

/**
 * Trip counts of the constant inner loops of unrolledLoop, longest first: D = 64 (32 texels a row pair)
 * and a 256-key block (64 key quads) run as whole 32-step chunks, other sizes finish in 8-step chunks.
 */
export const UNROLL_STEPS = [32, 8];

/**
 * GLSL: `for (int t = 0; t < count; t++) body` with `count` a uniform-derived value, written as
 * chunks whose inner loop has a compile-time trip count (each size of UNROLL_STEPS in turn, longest
 * first), then a plain remainder loop.
 * Why: SwiftShader runs a loop with a run-time bound lane-masked step by step; the constant inner
 * loop runs 2–3× faster there (measured with 8-step chunks, each draw timed alone, B1 H8 S1024 D64:
 * QKᵀ 3.1 → 1.7 s, P·V 4.6 → 1.5 s per call; BENCHMARKS.md), while the bound stays a uniform, so new
 * shapes still reuse the program.
 * `body` reads the step index as `t` (and its place in the chunk as `u`); `start` names the loop
 * variable (declared by the caller when it continues from where the chunks stopped);
 * `extraCondition(n)` may end the chunks of size n early, `after(n)` runs after each such chunk;
 * `tail: false` leaves the remainder to the caller.
 */
export function unrolledLoop(count: string, body: string, opts: {
  start?: string, extraCondition?: (n: number) => string, tail?: boolean, after?: (n: number) => string,
} = {}): string {
  const t0 = opts.start ?? 'tChunk';
  const chunks = UNROLL_STEPS.map(n => `for (; ${t0} + ${n} <= ${count}${
      opts.extraCondition ? ` && (${opts.extraCondition(n)})` : ''}; ${t0} += ${n}) {
    for (int u = 0; u < ${n}; u++) {
      int t = ${t0} + u;
      ${body}
    }${opts.after ? `\n    ${opts.after(n)}` : ''}
  }`);
  const tail = opts.tail === false ? '' : `
  for (; ${t0} < ${count}; ${t0}++) {
    int t = ${t0};
    ${body}
  }`;
  return `${opts.start ? '' : `int ${t0} = 0;`}
  ${chunks.join('\n  ')}${tail}`;
}
