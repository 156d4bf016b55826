/**
 * Block pass 4 of the backward, -- dQ --:  dQ_i += dS_ij K_j  over the block's keys (softmaxScale comes
 * in the epilogue), the accumulator ping-ponged between blocks. The loop runs over the keys either row of
 * the pair can see (window, sequence end, causal diagonal), so blocks outside them cost nothing.
 * Under a soft-cap with bias or ALiBi, dS K reads dscores (dS through the cap) and the ALiBi sum reads
 * `slopeScores` (the plain dS).
 * One fragment = a 2×2 texel [rows r, r+1 × columns d, d+1]; per key pair one dS texel and one K texel
 * feed 8 multiply-adds. With ALiBi, the group's extra texel accumulates, for rows r and r+1,
 * Σ_j dS_ij · |i + Sk − Sq − j| (dSlope = −Σ over the head's rows, dslopes_program.ts).
 */
import {FlashAttentionSpec, hasWindow} from '../../../src/spec';
import {unrolledLoop} from '../block_common';
import {geoUniform, layoutShape, OUTPUT_TEXEL_GLSL} from '../texel_layout';
import type {ProgramDef} from '../webgl_program';
import type {GradGeometry} from './grad_geometry';
import {accumulatorUniforms, gradRowGlsl} from './grad_rows';

/** GLSL: dS K of one key pair, dropping each product whose dS is 0 (a NaN in a key a row cannot see stays out). */
const MASKED_DS_K = `
vec4 maskedDsK(vec4 ds, vec4 kt) {
  return mix(ds.xxzz * kt.xyxy, vec4(0.0), equal(ds.xxzz, vec4(0.0))) +
         mix(ds.yyww * kt.zwzw, vec4(0.0), equal(ds.yyww, vec4(0.0)));
}`;

export function dqProgram(spec: FlashAttentionSpec, geo: GradGeometry, j0: number, first: boolean, separateSlopeScores: boolean): ProgramDef {
  const alibi = spec.alibi !== 'none', window = hasWindow(spec);
  const slopeScores = separateSlopeScores ? 'slopeScores' : 'dscores';
  return {
    name: 'GradDQ', key: `${spec.causal ? 'causal' : 'full'}|alibi=${alibi}|window=${window}|slopeScores=${separateSlopeScores}`,
    inputs: ['dscores', 'k', 'rowInfo', 'prev', ...(separateSlopeScores ? ['slopeScores'] : [])],
    packedInputs: true, packedOutput: true, outputShape: layoutShape(geo.dq),
    uniforms: [
      geoUniform('dscores', geo.block), geoUniform('k', geo.keys), ...accumulatorUniforms(spec, geo, geo.dq, j0, first),
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${gradRowGlsl(spec)}
${MASKED_DS_K}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutput(vec4(0.0)); return; }
  Row row = rowOf(o.x);
  vec4 acc = first == 1 ? vec4(0.0) : texelFetch(prev, groupBase(prevGeo, o.x) + ivec2(o.y, 0), 0);
  int pairs = (min(row.keyEnd - blockStart, blockN) + 1) / 2;  // may be <= 0
  ivec2 dsBase = groupBase(dscoresGeo, o.x);
  ${alibi ? `if (o.y == dTexels) {
    // -- ALiBi: Σ_j dS_ij · |i + Sk − Sq − j| --
    ivec4 rowsMinusKeys = ivec4(row.i, row.i, row.i + 1, row.i + 1) + (row.lenK - row.lenQ) - blockStart - ivec4(0, 1, 0, 1);
    vec2 sum = vec2(0.0);
    for (int t = 0; t < pairs; t++) {
      vec4 w = texelFetch(${slopeScores}, dsBase + ivec2(t, 0), 0) * abs(vec4(rowsMinusKeys - 2 * t));
      sum += w.xz + w.yw;
    }
    setOutput(acc + vec4(sum, 0.0, 0.0));
    return;
  }` : ''}
  // -- dS K: key pairs both rows see run unmasked; on the rest (the diagonal) a product with dS = 0 is
  // dropped, so a NaN in a key a row cannot see never reaches it --
  int end0 = row.i < row.lenQ ? row.lenK : 0;
  ${spec.causal ? 'end0 = min(end0, row.i + 1 + row.lenK - row.lenQ);' : ''}
  ${window ? 'if (window.y >= 0) { end0 = max(min(end0, row.i + 1 + row.lenK - row.lenQ + window.y), 0); }' : ''}
  // Window: pairs before firstPair hold no key either row sees, [firstPair, fullPair) keys only row i + 1
  // may not see yet (masked).
  int firstPair = ${window ? 'min(max(row.keyStart - blockStart, 0) / 2, max(pairs, 0))' : '0'};
  int fullPair = ${window ? 'clamp((max(row.keyStart + 1 - blockStart, 0) + 1) / 2, firstPair, max(pairs, 0))' : '0'};
  int visiblePairs = clamp(max(end0 - blockStart, 0) / 2, fullPair, max(pairs, fullPair));
  ${window ? `for (int t = firstPair; t < fullPair; t++) {
    ivec2 kAt = groupBase(kGeo, row.kvPair0 + blockStart / 2 + t);
    acc += maskedDsK(texelFetch(dscores, dsBase + ivec2(t, 0), 0), texelFetch(k, kAt + ivec2(o.y, 0), 0));
  }` : ''}
  // K's key pairs are consecutive groups of a linear layout: walk them without a division per step.
  ivec2 kAt = groupBase(kGeo, row.kvPair0 + blockStart / 2 + fullPair);
  int tChunk = fullPair;
  int kRowEnd = kGeo.x * kGeo.y;
  ${unrolledLoop('visiblePairs', `vec4 ds = texelFetch(dscores, dsBase + ivec2(t, 0), 0);
      vec4 kt = texelFetch(k, kAt + ivec2(o.y, 0), 0);
      acc += ds.xxzz * kt.xyxy + ds.yyww * kt.zwzw;
      kAt.x += kGeo.y;
      if (kAt.x == kRowEnd) kAt = ivec2(0, kAt.y + 1);`, {start: 'tChunk'})}
  for (int t = visiblePairs; t < pairs; t++) {
    acc += maskedDsK(texelFetch(dscores, dsBase + ivec2(t, 0), 0), texelFetch(k, kAt + ivec2(o.y, 0), 0));
    kAt.x += kGeo.y;
    if (kAt.x == kRowEnd) kAt = ivec2(0, kAt.y + 1);
  }
  setOutput(acc);
}
`,
  };
}
