/**
 * Block pass 3 of the backward, -- dK, dV --: for the block's keys j (of kv head g),
 *   dV_j = Σ_i P_ij dO_i        dK_j = Σ_i dS_ij Q̃_i      (dK's softmaxScale comes in the epilogue)
 * summed over every query row i of every query head of g's group (GQA/MQA) that can see j (causal:
 * rows from j − (Sk − Sq) on; window [L, R]: rows j − (Sk − Sq) − R .. j − (Sk − Sq) + L). Each key pair belongs to one block, so its texels are final after that
 * block's draw; the draw copies every other key's texels from the previous block's texture (ping-pong),
 * zeros on the first block.
 * One fragment = a 2×2 texel [keys j, j+1 × columns d, d+1] of dK (texels 0 .. dTexels−1 of the key
 * pair's group) or of dV (the next dTexels); per row pair one P (dS) texel and one dO (Q̃) texel feed
 * 8 multiply-adds.
 */
import {FlashAttentionSpec, hasWindow} from '../../../src/spec';
import {unrolledLoop} from '../block_common';
import {geoUniform, layoutShape, OUTPUT_TEXEL_GLSL} from '../texel_layout';
import type {ProgramDef} from '../webgl_program';
import type {GradGeometry} from './grad_geometry';
import {accumulatorUniforms} from './grad_rows';

/** GLSL: the row pairs [from, to) of rowPairLoop with products of p = 0 dropped. */
function maskedRowPairs(pairs: string, rows: string, from: string, to: string): string {
  return `for (int rp = base + ${from}; rp < base + ${to}; rp++) {
        vec4 p = texelFetch(${pairs}, groupBase(blockGeo, rp) + ivec2(jp, 0), 0);
        vec4 x = texelFetch(${rows}, groupBase(rowsGeo, rp) + ivec2(d2, 0), 0);
        acc += mix(p.xxyy * x.xyxy, vec4(0.0), equal(p.xxyy, vec4(0.0))) +
               mix(p.zzww * x.zwzw, vec4(0.0), equal(p.zzww, vec4(0.0)));
      }`;
}

/**
 * GLSL: acc += Σ over row pairs [rp0, rpEnd) of `pairs`ᵀ · `rows` (both read at row pair base + rp).
 * Row pairs before rpFull (causal: the one on the diagonal, where a row sees only the first key of the
 * pair) and from rpPartial on (window: the rows whose window ends inside the pair) drop products with
 * p = 0, so a NaN in a row that cannot see the key never reaches it. The others run unmasked in
 * unrolled chunks, walking both paired layouts without a division per step (nextRowPair).
 */
function rowPairLoop(pairs: string, rows: string, window: boolean): string {
  return `{
      ${maskedRowPairs(pairs, rows, 'rp0', 'rpFull')}
      ivec2 pAt = groupBase(blockGeo, base + rpFull), xAt = groupBase(rowsGeo, base + rpFull);
      int parity = (base + rpFull) & 1;
      ${unrolledLoop('rpPartial - rpFull', `vec4 p = texelFetch(${pairs}, pAt + ivec2(jp, 0), 0);
        vec4 x = texelFetch(${rows}, xAt + ivec2(d2, 0), 0);
        acc += p.xxyy * x.xyxy + p.zzww * x.zwzw;
        pAt = nextRowPair(pAt, parity, blockGeo);
        xAt = nextRowPair(xAt, parity, rowsGeo);
        parity = 1 - parity;`)}
      ${window ? maskedRowPairs(pairs, rows, 'rpPartial', 'rpEnd') : ''}
      }`;
}

export function dkvProgram(spec: FlashAttentionSpec, geo: GradGeometry, j0: number, first: boolean): ProgramDef {
  const window = hasWindow(spec);
  return {
    name: 'GradDKV', key: `${spec.causal ? 'causal' : 'full'}|window=${window}`,
    inputs: ['probs', 'dscores', 'q', 'dout', 'rowInfo', 'prev'],
    packedInputs: true, packedOutput: true, outputShape: layoutShape(geo.dkv),
    uniforms: [
      geoUniform('block', geo.block), geoUniform('rows', geo.rows), ...accumulatorUniforms(spec, geo, geo.dkv, j0, first),
    ],
    body: `
${OUTPUT_TEXEL_GLSL}

// First texel of the next row pair after the one at "at" (parity = its index's parity) in a paired
// layout (../texel_layout.ts): even → the texture row below; odd → the next group to the right, back
// up a row, or at the row's end the first group two texture rows down.
ivec2 nextRowPair(ivec2 at, int parity, ivec3 geo) {
  at += ivec2(parity * geo.y, 1 - 2 * parity);
  return at.x == geo.x * geo.y ? ivec2(0, at.y + 2) : at;
}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutput(vec4(0.0)); return; }
  int kr = 2 * o.x, bhk = kr / padded.y, j = kr - bhk * padded.y;
  int b = bhk / heads.y, hk = bhk - b * heads.y;
  if (j < blockStart || j >= blockStart + blockN) {
    setOutput(first == 1 ? vec4(0.0) : texelFetch(prev, groupBase(prevGeo, o.x) + ivec2(o.y, 0), 0));
    return;
  }
  // Row pairs of the group's first query head; the group's heads follow one another.
  int headPairs = padded.x / 2;
  int group0 = (b * heads.x + hk * heads.z) * headPairs;
  vec4 info = texelFetch(rowInfo, groupBase(rowInfoGeo, group0), 0);
  int lenQ = int(info.x), lenK = int(info.y);
  vec4 acc = vec4(0.0);
  if (j < lenK) {
    // Causal: row i sees key j from i = j − (Sk − Sq) on, both keys of the pair from j + 1 − (Sk − Sq).
    int rpEnd = (lenQ + 1) / 2;
    int rp0 = ${spec.causal ? 'max(0, j - (lenK - lenQ)) / 2' : '0'};
    int rpFull = ${spec.causal ? 'clamp(max(0, j + 2 - (lenK - lenQ)) / 2, rp0, max(rp0, rpEnd))' : '0'};
    ${window ? `// Window right R: row i sees key j from i = j − (Sk − Sq) − R on (both keys of the pair one row later);
    // window left L: up to row j − (Sk − Sq) + L (both keys: that row − 1 ... the pair's rows both up to it).
    if (window.y >= 0) {
      rp0 = max(0, j - (lenK - lenQ) - window.y) / 2;
      rpFull = clamp(max(0, j + 2 - (lenK - lenQ) - window.y) / 2, rp0, max(rp0, rpEnd));
    }
    int lastRow = j + 1 - (lenK - lenQ) + window.x;  // the last row that sees key j + 1
    if (window.x >= 0) { rpEnd = lastRow < 0 ? 0 : min(rpEnd, lastRow / 2 + 1); }
    // Both rows of a pair see both keys up to the pair holding row j − (Sk − Sq) + L (= lastRow − 1).
    int rpPartial = window.x >= 0 ? clamp(max(0, lastRow) / 2, rpFull, max(rpFull, rpEnd)) : rpEnd;
    rpPartial = max(rpPartial, rpFull);` : 'int rpPartial = max(rpEnd, rpFull);'}
    int jp = (j - blockStart) / 2;
    bool isV = o.y >= dTexels;
    int d2 = isV ? o.y - dTexels : o.y;
    for (int g = 0; g < heads.z; g++) {
      int base = group0 + g * headPairs;
      if (isV) ${rowPairLoop('probs', 'dout', window)} else ${rowPairLoop('dscores', 'q', window)}
    }
  }
  setOutput(acc);
}
`,
  };
}
