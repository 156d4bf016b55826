/**
 * Block pass 5 of the backward (only with a bias), -- dBias --: dBias[e] += Σ dS(b, h, i, j) over the
 * block's keys and over the bias's broadcast axes (those with stride 0 in spec.biasStrides), the sum
 * ping-ponged between blocks in a dense texture (four bias elements per texel, dense_copy_program.ts).
 * One fragment = four consecutive bias elements; element e has coordinate (e / stride) mod extent on
 * each axis it does not broadcast, and its fragment loops over every (b, h, i, j) of the block it
 * stands for, reading one dS texel each: over a draw, every dS element is read once per bias element
 * it feeds (the block's B·Hq·Sq·BLOCK_N elements when nothing is broadcast).
 */
import type {FlashAttentionSpec} from '../../../src/spec';
import {geoUniform, layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL, TexelLayout} from '../texel_layout';
import type {ProgramDef} from '../webgl_program';
import type {GradGeometry} from './grad_geometry';

export function dBiasProgram(
    spec: FlashAttentionSpec, geo: GradGeometry, layout: TexelLayout, size: number, j0: number, first: boolean): ProgramDef {
  return {
    name: 'GradDBias', key: '',
    inputs: ['dscores', 'prev'], packedInputs: true, packedOutput: true, outputShape: layoutShape(layout),
    uniforms: [
      outGeoUniform(layout), geoUniform('dscores', geo.block), geoUniform('prev', layout),
      {name: 'first', type: 'int', value: first ? 1 : 0},
      {name: 'size', type: 'int', value: size},
      {name: 'biasStrides', type: 'ivec4', value: spec.biasStrides},
      {name: 'extents', type: 'ivec4', value: [spec.batch, spec.numHeadsQ, spec.seqlenQ, spec.seqlenK]},
      {name: 'keyRange', type: 'ivec2', value: [j0, Math.min(j0 + geo.blockN, spec.seqlenK)]},
      {name: 'seqPadded', type: 'int', value: geo.seqQPadded},
    ],
    body: `
${OUTPUT_TEXEL_GLSL}

// dS of (b, h, i, j) from the block's texture (row r = (b·Hq + h)·SqP + i, key j − blockStart).
float dsAt(ivec4 at) {
  int r = (at.x * extents.y + at.y) * seqPadded + at.z, c = at.w - keyRange.x;
  return texelFetch(dscores, groupBase(dscoresGeo, r >> 1) + ivec2(c >> 1, 0), 0)[2 * (r & 1) + (c & 1)];
}

void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutput(vec4(0.0)); return; }
  vec4 result = first == 1 ? vec4(0.0) : texelFetch(prev, groupBase(prevGeo, o.x), 0);
  for (int c = 0; c < 4; c++) {
    int e = 4 * o.x + c;
    if (e >= size) break;
    // -- pinned coordinates, and how many (b, h, i) combinations the broadcast axes add --
    ivec4 pinned = ivec4(0);
    int combos = 1;
    for (int a = 0; a < 3; a++) {
      if (biasStrides[a] != 0) pinned[a] = (e / biasStrides[a]) % extents[a]; else combos *= extents[a];
    }
    int keys = keyRange.y - keyRange.x;
    if (biasStrides.w != 0) {
      pinned.w = (e / biasStrides.w) % extents.w;
      if (pinned.w < keyRange.x || pinned.w >= keyRange.y) continue;
      keys = 1;
    } else {
      pinned.w = keyRange.x;
    }
    // -- Σ dS over the combinations (keys innermost) --
    float sum = 0.0;
    for (int n = 0; n < combos * keys; n++) {
      ivec4 at = pinned;
      at.w += n % keys;
      int x = n / keys;
      for (int a = 2; a >= 0; a--) {
        if (biasStrides[a] == 0) { at[a] = x % extents[a]; x /= extents[a]; }
      }
      sum += dsAt(at);
    }
    result[c] += sum;
  }
  setOutput(result);
}
`,
  };
}
