/**
 * Per-call sizes of the WebGL FlashAttention backward (all of them reach the shaders as uniforms):
 * the forward's row layouts (../geometry.ts: rows r = (b·Hq + h)·SqP + i and key rows
 * (b·Hk + hk)·SkP + j with SqP, SkP multiples of 4, a texel = a 2×2 block [2 rows × 2 columns]; Q̃ and dO use
 * `rows`, K and V `keys`, the row facts and (lse, D) `rowStats`) plus the backward's own:
 *   block: P or dS of one key block, one group per row pair of blockN / 2 texels, each a 2×2 texel
 *       [rows r, r+1 × keys j, j+1] (channels (r, j), (r, j+1), (r+1, j), (r+1, j+1));
 *   dq: one group per row pair of dTexels texels (as Q), plus one texel (r's and r+1's
 *       Σ_j dS·|i + Sk − Sq − j|, 0, 0) with ALiBi, for dSlopes;
 *   dkv: one group per key pair of 2·dTexels texels: dK's dTexels texels, then dV's (as K and V).
 */
import type {FlashAttentionSpec} from '../../../src/spec';
import {geometry, Geometry} from '../geometry';
import {maxTextureSize, texelLayout, TexelLayout} from '../texel_layout';

/** Keys per block: one draw of each block pass consumes this many keys of every row. */
const GRAD_BLOCK_N = 256;

export interface GradGeometry extends Geometry {
  block: TexelLayout;
  dq: TexelLayout;
  dkv: TexelLayout;
}

export function gradGeometry(spec: FlashAttentionSpec): GradGeometry {
  const geo = geometry(spec);
  const rowPairs = spec.batch * spec.numHeadsQ * geo.seqQPadded / 2;
  const keyPairs = spec.batch * spec.numHeadsK * geo.seqKPadded / 2;
  // A block of a row pair fills one texture row (blockN / 2 texels), so MAX_TEXTURE_SIZE caps it.
  const blockN = Math.min(GRAD_BLOCK_N, geo.seqKPadded, 2 * maxTextureSize());
  const slopeColumn = spec.alibi !== 'none' ? 1 : 0;
  return {
    ...geo, blockN,
    numBlocks: Math.max(1, Math.ceil(spec.seqlenK / blockN)),
    block: texelLayout(rowPairs, blockN / 2, 'one key block of P or dS (B·Hq·Sq × BLOCK_N)', /* paired */ true),
    dq: texelLayout(rowPairs, geo.dTexels + slopeColumn, 'the dQ accumulator (B·Hq·Sq × D)', /* paired */ true),
    // Paired: a 2×2 fragment quad holds adjacent key pairs of one block (one lane computing and one
    // copying another block's texels would cost the quad a full loop).
    dkv: texelLayout(keyPairs, 2 * geo.dTexels, 'the dK / dV accumulator (B·Hk·Sk × 2·D)', /* paired */ true),
  };
}
