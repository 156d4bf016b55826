/**
 * Per-call sizes of the WebGL FlashAttention passes (all of them reach the shaders as uniforms).
 *
 * Rows: every (sequence b, query head h, query i) is one row r = (b·Hq + h)·SqP + i, with SqP the
 * longest query sequence rounded up to even, so that a texel's two rows share (b, h). Keys likewise:
 * kv row (b·Hk + hk)·SkP + j. A texel of Q / K / V / acc holds a 2×2 block [2 rows × 2 columns of D].
 */
import type {FlashAttentionSpec} from '../../src/spec';
import {maxTextureSize, texelLayout, TexelLayout} from './texel_layout';

/** Keys per block: one draw of each block pass consumes this many keys of every row. */
export const BLOCK_N = 256;

const even = (n: number) => Math.max(2, n + (n & 1));

export interface Geometry {
  /** Head size rounded up to even, and texels per row pair (Dp / 2). */
  headDimPadded: number;
  dTexels: number;
  /** Sequence extents rounded up to even (>= 2). */
  seqQPadded: number;
  seqKPadded: number;
  blockN: number;
  numBlocks: number;
  /** Q, acc: one group per row pair, dTexels texels. */
  rows: TexelLayout;
  /** K, V: one group per key pair. */
  keys: TexelLayout;
  /** Row info and running (m, l): one texel per row pair. */
  rowStats: TexelLayout;
  /** Scores / probabilities of one key block: one group per row pair, blockN / 2 texels. */
  block: TexelLayout;
}

export function geometry(spec: FlashAttentionSpec): Geometry {
  const headDimPadded = even(spec.headDim);
  const dTexels = headDimPadded / 2;
  const seqQPadded = even(spec.seqlenQ);
  const seqKPadded = even(spec.seqlenK);
  // A block's scores of a row pair fill one texture row (blockN / 2 texels), so MAX_TEXTURE_SIZE caps it.
  const blockN = Math.min(BLOCK_N, seqKPadded, 2 * maxTextureSize());
  const rowPairs = spec.batch * spec.numHeadsQ * seqQPadded / 2;
  const keyPairs = spec.batch * spec.numHeadsK * seqKPadded / 2;
  return {
    headDimPadded, dTexels, seqQPadded, seqKPadded, blockN,
    // At least one block, so that rows with no key still get (m, l) = (-inf, 0).
    numBlocks: Math.max(1, Math.ceil(spec.seqlenK / blockN)),
    rows: texelLayout(rowPairs, dTexels, 'the query rows (B·Hq·Sq × D)', /* paired */ true),
    // Linear: the P·V loop walks consecutive key pairs along a texture row.
    keys: texelLayout(keyPairs, dTexels, 'the key / value rows (B·Hk·Sk × D)'),
    rowStats: texelLayout(rowPairs, 1, 'the row statistics (B·Hq·Sq)'),
    block: texelLayout(rowPairs, blockN / 2, 'one key block of scores (B·Hq·Sq × BLOCK_N)', /* paired */ true),
  };
}
