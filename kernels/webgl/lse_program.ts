/**
 * Epilogue, second output: LSE = m_i + log l_i in natural log ([B, Hq, Sq], or [Hq, Tq] varlen),
 * -Infinity for a row with no visible key. A separate draw because a tfjs program writes one
 * texture; it reads only the final (m, l) texture (one texel per row pair), so it costs one
 * fetch per row, nothing next to the key loop.
 */
import type {FlashAttentionSpec} from '../../src/spec';
import type {Geometry} from './geometry';
import {queryRowGlsl, queryRowUniforms, STATS_OF_GLSL, statsUniform} from './query_row';
import {TEXEL_GLSL, TexelLayout} from './texel_layout';
import type {ProgramDef} from './webgl_program';

export function lseProgram(spec: FlashAttentionSpec, geo: Geometry, size: number, cuLayout: TexelLayout|null): ProgramDef {
  return {
    name: 'Lse', key: spec.varlen ? 'varlen' : 'dense',
    inputs: ['stats0', 'stats1', ...(spec.varlen ? ['cuQ'] : [])],
    packedInputs: true, packedOutput: false, outputShape: [size],
    uniforms: [...queryRowUniforms(spec, geo, cuLayout), statsUniform(geo)],
    body: `
${TEXEL_GLSL}
${queryRowGlsl(spec.varlen)}
${STATS_OF_GLSL}

void main() {
  int f = getOutputCoords();
  ${spec.varlen ? `int h = f / seqlen, t = f - h * seqlen;
  int b = batchOf(t), i = t - int(cuQAt(b));
  int r = queryRow(b, h, i);` : `int bh = f / seqlen;
  int r = bh * padded + (f - bh * seqlen);`}
  vec2 ml = statsOf(r);
  setOutput(ml.y == 0.0 ? -FA_INF : (ml.x + log2(ml.y)) * 0.6931471805599453);
}
`,
  };
}
