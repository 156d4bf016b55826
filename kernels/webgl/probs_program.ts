/**
 * Block pass 3: P = exp2(S - m_ij) for one key block, the row pair's m_ij from pass 2. Masked
 * scores give exactly 0. Full FP8 mode with pScale: P goes through the FP8 grid (quantize P · pScale,
 * decode), as vLLM's kernel does before P·V; acc is divided by pScale in the epilogue.
 */
import type {FlashAttentionSpec} from '../../src/spec';
import {fp8CodecGlsl} from './fp8_glsl';
import type {Geometry} from './geometry';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL} from './texel_layout';
import type {ProgramDef} from './webgl_program';

export function probsProgram(spec: FlashAttentionSpec, geo: Geometry): ProgramDef {
  const pFormat = spec.pScale > 0 ? spec.pFormat : null;
  return {
    name: 'Probs', key: `p=${pFormat}`,
    inputs: ['scores', 'stats'], packedInputs: true, packedOutput: true, outputShape: layoutShape(geo.block),
    uniforms: [
      outGeoUniform(geo.block), geoUniform('scores', geo.block), geoUniform('stats', geo.rowStats),
      {name: 'pScale', type: 'float', value: spec.pScale},
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${pFormat ? fp8CodecGlsl(pFormat) : ''}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutput(vec4(0.0)); return; }
  vec4 s = texelFetch(scores, groupBase(scoresGeo, o.x) + ivec2(o.y, 0), 0);
  vec2 m = texelFetch(stats, groupBase(statsGeo, o.x), 0).xy;
  vec2 shift = vec2(m.x == -FA_INF ? 0.0 : m.x, m.y == -FA_INF ? 0.0 : m.y);
  vec4 p = mix(exp2(s - shift.xxyy), vec4(0.0), equal(s, vec4(-FA_INF)));
  ${pFormat ? `for (int c = 0; c < 4; c++) p[c] = fp8Decode(fp8Encode(p[c] * pScale));` : ''}
  setOutput(p);
}
`,
  };
}
