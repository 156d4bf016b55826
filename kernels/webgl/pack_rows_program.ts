/**
 * Prep pass: gathers q, k or v from the caller's tensor (any layout through the spec's strides,
 * varlen through cuSeqlens, FP8 codes and float16 tensors' halves decoded from 16-bit pairs) into the 2×2-texel row layout of
 * geometry.ts, multiplied by a per-head scale. Rows past a sequence's end and columns past D are 0.
 *   Q: scale = softmaxScale · log2(e) (· qDescale · kDescale in full FP8 mode): scores come out in log2 units.
 *   K: kDescale in KV-only FP8 mode.  V: vDescale in both FP8 modes (acc needs no epilogue descale).
 */
import type {FlashAttentionSpec, Fp8Format, Storage, Strides3} from '../../src/spec';
import type {Geometry} from './geometry';
import {fp8CodecGlsl} from './fp8_glsl';
import {fp8CodeGlsl} from './fp8_words';
import {HALF_GLSL} from './half_glsl';
import {layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL, TexelLayout} from './texel_layout';
import type {ProgramDef, Uniform} from './webgl_program';

export interface PackRowsParams {
  /** FP8 format of the source words (null: float32 or float16). */
  format: Fp8Format|null;
  /** 'float16': the source is 16-bit pairs of packed halves (default: FP8 when format is set, else float32). */
  storage?: Storage;
  varlen: boolean;
  /** Per-head scale tensors: indexed by the head, and by head / groupB. */
  headScale: boolean;
  groupScale: boolean;
  layout: TexelLayout;
  /** Rows per (batch, head) block (the padded sequence extent), heads, dense sequence length. */
  seqPadded: number;
  heads: number;
  seqlen: number;
  strides: Strides3;
  headDim: number;
  scale: number;
  groupB: number;
}

/**
 * GLSL: where padded row r = (b·heads + h)·seqPadded + i comes from: (b, h, i) and its sequence's rows
 * [start, start + len) of the caller's tensor (cuSeqlens through the input `cu` when varlen, else 0 and
 * seqlen). Needs the uniforms seqPadded, heads and seqlen (rowOriginUniforms).
 */
export function rowOriginGlsl(varlen: boolean): string {
  return `
struct RowOrigin { int b; int h; int i; int start; int len; };

RowOrigin rowOrigin(int r) {
  RowOrigin o;
  int bh = r / seqPadded;
  o.i = r - bh * seqPadded;
  o.b = bh / heads;
  o.h = bh - o.b * heads;
  ${varlen ? 'o.start = int(getCu(o.b)); o.len = int(getCu(o.b + 1)) - o.start;' : 'o.start = 0; o.len = seqlen;'}
  return o;
}
`;
}

/** The uniforms rowOriginGlsl reads. */
export function rowOriginUniforms(seqPadded: number, heads: number, seqlen: number): Uniform[] {
  return [
    {name: 'seqPadded', type: 'int', value: seqPadded},
    {name: 'heads', type: 'int', value: heads},
    {name: 'seqlen', type: 'int', value: seqlen},
  ];
}

/** The PackRowsParams that depend only on the side: query rows (q, dO) or key rows (k, v). */
export function rowSide(spec: FlashAttentionSpec, geo: Geometry, side: 'q'|'k'):
    Pick<PackRowsParams, 'layout'|'seqPadded'|'heads'|'seqlen'> {
  const isQ = side === 'q';
  return {
    layout: isQ ? geo.rows : geo.keys, seqPadded: isQ ? geo.seqQPadded : geo.seqKPadded,
    heads: isQ ? spec.numHeadsQ : spec.numHeadsK, seqlen: isQ ? spec.seqlenQ : spec.seqlenK,
  };
}

export function packRowsProgram(p: PackRowsParams): ProgramDef {
  const inputs = ['x'];
  if (p.varlen) inputs.push('cu');
  if (p.headScale) inputs.push('headScale');
  if (p.groupScale) inputs.push('groupScale');
  const half = p.storage === 'float16';
  const source = p.format ? `float(fp8Decode(fp8CodeAt(base, d)))` : half ? 'halfAt(base, d)' : `getX(base + d)`;
  return {
    name: 'PackRows',
    key: `fp8=${p.format}|half=${half}|${p.varlen ? 'varlen' : 'dense'}|head=${p.headScale}|group=${p.groupScale}`,
    inputs, packedInputs: false, packedOutput: true, outputShape: layoutShape(p.layout),
    uniforms: [
      outGeoUniform(p.layout), ...rowOriginUniforms(p.seqPadded, p.heads, p.seqlen),
      {name: 'strides', type: 'ivec3', value: p.strides},
      {name: 'headDim', type: 'int', value: p.headDim},
      {name: 'scale', type: 'float', value: p.scale},
      {name: 'groupB', type: 'int', value: p.groupB},
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${rowOriginGlsl(p.varlen)}
${p.format ? fp8CodecGlsl(p.format) + fp8CodeGlsl('getX') : ''}${half ? HALF_GLSL : ''}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutput(vec4(0.0)); return; }
  int d0 = 2 * o.y;
  RowOrigin origin = rowOrigin(2 * o.x);
  int b = origin.b, h = origin.h, i = origin.i, start = origin.start, len = origin.len;
  float s = scale${p.headScale ? ' * getHeadScale(h)' : ''}${p.groupScale ? ' * getGroupScale(h / groupB)' : ''};
  vec4 result = vec4(0.0);
  for (int c = 0; c < 4; c++) {
    int row = i + (c >> 1), d = d0 + (c & 1);
    if (row >= len || d >= headDim) continue;
    int base = (start + row) * strides.y + b * strides.x + h * strides.z;
    result[c] = ${source} * s;
  }
  setOutput(result);
}
`,
  };
}
