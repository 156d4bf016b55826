/**
 * Block pass 1, -- compute qk --: S = Q Kᵀ for one block of BLOCK_N keys, in log2 units (Q carries
 * softmaxScale · log2 e), with the score modifiers in one place: the soft-cap, bias, ALiBi, and the masks
 * (causal bottom-right diagonal, sliding window, sequence ends) as -inf. One fragment = a 4×4 tile [rows 4g..4g+3 × keys
 * j..j+3] written as four 2×2 texels (four render targets, geometry.ts): per step four texel fetches
 * (two row pairs of Q, two key pairs of K) feed 32 multiply-adds. A tile no row can see is -inf
 * without any fetch (this is where causal blocks above the diagonal and blocks outside the window are skipped).
 */
import {FlashAttentionSpec, hasWindow} from '../../src/spec';
import {quadGlsl, rowUniforms, softcapGlsl, unrolledLoop} from './block_common';
import {denseGlsl} from './dense_copy_program';
import type {Geometry} from './geometry';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL, TexelLayout} from './texel_layout';
import type {ProgramDef} from './webgl_program';

const LOG2E = Math.LOG2E;

export function scoresProgram(
    spec: FlashAttentionSpec, geo: Geometry, j0: number, biasLayout: TexelLayout|null): ProgramDef {
  const bias = spec.bias === 'matrix', alibi = spec.alibi !== 'none';
  return {
    name: 'Scores',
    key: `${spec.causal ? 'causal' : 'full'}|bias=${bias}|alibi=${alibi}|window=${hasWindow(spec)}|softcap=${spec.softcap > 0}`,
    inputs: ['q', 'k', 'rowInfo', ...(bias ? ['bias'] : [])],
    packedInputs: true, packedOutput: true, outputs: 4, outputShape: layoutShape(geo.quadBlock),
    uniforms: [
      outGeoUniform(geo.quadBlock), geoUniform('q', geo.rows), geoUniform('k', geo.keys),
      ...rowUniforms(spec, geo, j0),
      ...(bias ? [geoUniform('bias', biasLayout!), {name: 'biasStrides', type: 'ivec4' as const, value: spec.biasStrides}] : []),
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${quadGlsl(spec)}
${bias ? denseGlsl('bias') : ''}
${softcapGlsl(spec)}

// [2 rows × 2 columns of D] · [2 keys × 2 columns of D]ᵀ = [2 rows × 2 keys].
vec4 qk(vec4 q2, vec4 k2) {
  return q2.xxzz * k2.xzxz + q2.yyww * k2.ywyw;
}

// -- score modifiers and masks -- of the texel [rows i, i+1 × keys j, j+1]; starts, ends: the rows' key bounds.
vec4 finish(vec4 s, Quad quad, int i, int j, ivec2 starts, ivec2 ends) {
  ivec4 rows = ivec4(i, i, i + 1, i + 1);
  ivec4 keys = ivec4(j, j + 1, j, j + 1);
  bvec4 visible = bvec4(ivec4(lessThan(keys, ends.xxyy)) * ivec4(greaterThanEqual(keys, starts.xxyy)));
  ${spec.softcap > 0 ? 'for (int c = 0; c < 4; c++) s[c] = capScore(s[c]);' : ''}
  ${bias ? `for (int c = 0; c < 4; c++) {
    if (visible[c]) {
      s[c] += biasAt(quad.b * biasStrides.x + quad.h * biasStrides.y + rows[c] * biasStrides.z +
                     keys[c] * biasStrides.w) * ${LOG2E};
    }
  }` : ''}
  ${alibi ? `s -= quad.slope * abs(vec4(rows + (quad.lenK - quad.lenQ) - keys));` : ''}
  return mix(vec4(-FA_INF), s, visible);
}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutputs(vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0)); return; }
  Quad quad = quadOf(o.x);
  int j = blockStart + 4 * o.y;
  if (j >= quad.keyEnd || j + 4 <= quad.keyStart) { vec4 none = vec4(-FA_INF); setOutputs(none, none, none, none); return; }

  // -- compute qk --
  ivec2 qBase0 = groupBase(qGeo, 2 * o.x), qBase1 = groupBase(qGeo, 2 * o.x + 1);
  int keyPair = quad.kvPair0 + j / 2;
  ivec2 kBase0 = groupBase(kGeo, keyPair), kBase1 = groupBase(kGeo, keyPair + 1);
  vec4 s0 = vec4(0.0), s1 = vec4(0.0), s2 = vec4(0.0), s3 = vec4(0.0);
  ${unrolledLoop('qGeo.y', `vec4 q0 = texelFetch(q, qBase0 + ivec2(t, 0), 0);
      vec4 q1 = texelFetch(q, qBase1 + ivec2(t, 0), 0);
      vec4 k0 = texelFetch(k, kBase0 + ivec2(t, 0), 0);
      vec4 k1 = texelFetch(k, kBase1 + ivec2(t, 0), 0);
      s0 += qk(q0, k0);
      s1 += qk(q0, k1);
      s2 += qk(q1, k0);
      s3 += qk(q1, k1);`)}
  setOutputs(finish(s0, quad, quad.i, j, quad.starts.xy, quad.ends.xy), finish(s1, quad, quad.i, j + 2, quad.starts.xy, quad.ends.xy),
             finish(s2, quad, quad.i + 2, j, quad.starts.zw, quad.ends.zw), finish(s3, quad, quad.i + 2, j + 2, quad.starts.zw, quad.ends.zw));
}
`,
  };
}
