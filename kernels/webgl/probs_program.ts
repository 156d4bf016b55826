/**
 * Block pass 3: P = exp2(S - m_ij) for one key block, the rows' m_ij from pass 2. Masked scores give
 * exactly 0. Full FP8 mode with pScale: P goes through the FP8 grid (quantize P · pScale, decode), as
 * vLLM's kernel does before P·V; acc is divided by pScale in the epilogue. One fragment = a 4×4 tile,
 * four targets, laid out as the scores (geometry.ts).
 */
import type {FlashAttentionSpec} from '../../src/spec';
import {SHIFT_GLSL} from './block_common';
import {fp8CodecGlsl} from './fp8_glsl';
import type {Geometry} from './geometry';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL} from './texel_layout';
import type {ProgramDef} from './webgl_program';

export function probsProgram(spec: FlashAttentionSpec, geo: Geometry): ProgramDef {
  const pFormat = spec.pScale > 0 ? spec.pFormat : null;
  return {
    name: 'Probs', key: `p=${pFormat}`,
    inputs: ['s0', 's1', 's2', 's3', 'stats0', 'stats1'], packedInputs: true, packedOutput: true, outputs: 4,
    outputShape: layoutShape(geo.quadBlock),
    uniforms: [
      outGeoUniform(geo.quadBlock), geoUniform('s', geo.quadBlock), geoUniform('stats', geo.quadStats),
      {name: 'pScale', type: 'float', value: spec.pScale},
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${SHIFT_GLSL}
${pFormat ? fp8CodecGlsl(pFormat) : ''}

// P of a [2 rows × 2 keys] score texel, the two rows' running max m.
vec4 probs(vec4 s, vec2 m) {
  vec4 p = mix(exp2(s - shiftOf(m).xxyy), vec4(0.0), equal(s, vec4(-FA_INF)));
  ${pFormat ? `for (int c = 0; c < 4; c++) p[c] = fp8Decode(fp8Encode(p[c] * pScale));` : ''}
  return p;
}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutputs(vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0)); return; }
  ivec2 at = groupBase(sGeo, o.x) + ivec2(o.y, 0), statsAt = groupBase(statsGeo, o.x);
  vec2 mA = texelFetch(stats0, statsAt, 0).xy, mB = texelFetch(stats1, statsAt, 0).xy;
  setOutputs(probs(texelFetch(s0, at, 0), mA), probs(texelFetch(s1, at, 0), mA),
             probs(texelFetch(s2, at, 0), mB), probs(texelFetch(s3, at, 0), mB));
}
`,
  };
}
