/**
 * Block pass 3: P = exp2(S - m_ij) for one key block, the rows' m_ij from pass 2. Masked scores give
 * exactly 0. Full FP8 mode with pScale: P goes through the FP8 grid (quantize P · pScale, decode), as
 * vLLM's kernel does before P·V; acc is divided by pScale in the epilogue. Dropout: P · keep / (1 − rate)
 * (dropoutScale of (b, h, i, j)); the row statistics (pass 2) read S, so l and the LSE stay undropped. One fragment = a 4×4 tile,
 * four targets, laid out as the scores (geometry.ts).
 */
import type {FlashAttentionSpec} from '../../src/spec';
import {dropoutGlsl, rowUniforms, SHIFT_GLSL} from './block_common';
import {fp8CodecGlsl} from './fp8_glsl';
import type {Geometry} from './geometry';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL} from './texel_layout';
import type {ProgramDef} from './webgl_program';

export function probsProgram(spec: FlashAttentionSpec, geo: Geometry, j0: number): ProgramDef {
  const pFormat = spec.pScale > 0 ? spec.pFormat : null, dropout = spec.dropoutRate > 0;
  return {
    name: 'Probs', key: `p=${pFormat}|dropout=${dropout}`,
    inputs: ['s0', 's1', 's2', 's3', 'stats0', 'stats1'], packedInputs: true, packedOutput: true, outputs: 4,
    outputShape: layoutShape(geo.quadBlock),
    uniforms: [
      outGeoUniform(geo.quadBlock), geoUniform('s', geo.quadBlock), geoUniform('stats', geo.quadStats),
      {name: 'pScale', type: 'float', value: spec.pScale},
      ...(dropout ? rowUniforms(spec, geo, j0) : []),
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${SHIFT_GLSL}
${pFormat ? fp8CodecGlsl(pFormat) : ''}
${dropout ? dropoutGlsl(spec) : ''}

// P of a [2 rows × 2 keys] score texel, the two rows' running max m.
vec4 probs(vec4 s, vec2 m) {
  vec4 p = mix(exp2(s - shiftOf(m).xxyy), vec4(0.0), equal(s, vec4(-FA_INF)));
  ${pFormat ? `for (int c = 0; c < 4; c++) p[c] = fp8Decode(fp8Encode(p[c] * pScale));` : ''}
  return p;
}

${dropout ? `// Z of a [2 rows × 2 keys] texel from row i, key j.
vec4 dropped(int b, int h, int i, int j) {
  return vec4(dropoutScale(b, h, i, j), dropoutScale(b, h, i, j + 1), dropoutScale(b, h, i + 1, j), dropoutScale(b, h, i + 1, j + 1));
}` : ''}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutputs(vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0)); return; }
  ivec2 at = groupBase(sGeo, o.x) + ivec2(o.y, 0), statsAt = groupBase(statsGeo, o.x);
  vec2 mA = texelFetch(stats0, statsAt, 0).xy, mB = texelFetch(stats1, statsAt, 0).xy;
  ${dropout ? `// -- dropout: texel (row quad o.x, key quad o.y): targets [rows i, i+1 | i+2, i+3] × [keys j, j+1 | j+2, j+3] --
  int r = 4 * o.x, bh = r / padded.x, i = r - bh * padded.x, b = bh / heads.x, h = bh - b * heads.x;
  int j = blockStart + 4 * o.y;
  setOutputs(probs(texelFetch(s0, at, 0), mA) * dropped(b, h, i, j), probs(texelFetch(s1, at, 0), mA) * dropped(b, h, i, j + 2),
             probs(texelFetch(s2, at, 0), mB) * dropped(b, h, i + 2, j), probs(texelFetch(s3, at, 0), mB) * dropped(b, h, i + 2, j + 2));` :
  `setOutputs(probs(texelFetch(s0, at, 0), mA), probs(texelFetch(s1, at, 0), mA),
             probs(texelFetch(s2, at, 0), mB), probs(texelFetch(s3, at, 0), mB));`}
}
`,
  };
}
