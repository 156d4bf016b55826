/**
 * Per-call sizes of the WebGL FlashAttention passes (all of them reach the shaders as uniforms).
 *
 * Rows: every (sequence b, query head h, query i) is one row r = (b·Hq + h)·SqP + i, with SqP the
 * longest query sequence rounded up to a multiple of 4, so that a row quad (the four rows one block
 * fragment owns) shares (b, h). Keys likewise: kv row (b·Hk + hk)·SkP + j, SkP a multiple of 4.
 * A texel of Q / K / V / acc holds a 2×2 block [2 rows × 2 columns of D]; D is padded to a multiple
 * of 4 so that a fragment of acc owns 4 whole columns.
 *
 * The block passes render to several targets at once (multi_output_program.ts): a fragment owns a
 * 4×4 tile (4 rows × 4 keys of S and P, 4 rows × 4 columns of acc) written as four 2×2 texels, one
 * per target, at the same place of four textures. Target c = 2·a + b holds row pair a of the quad
 * and key pair (or column pair) b of the tile. The row statistics (m, l) likewise go to two
 * textures, one per row pair of the quad.
 */
import type {FlashAttentionSpec} from '../../src/spec';
import {maxTextureSize, texelLayout, TexelLayout} from './texel_layout';

/** Keys per block: one draw of each block pass consumes this many keys of every row. */
export const BLOCK_N = 256;

/** n rounded up to a multiple of 4 (at least 4). */
const quad = (n: number) => Math.max(4, Math.ceil(n / 4) * 4);

export interface Geometry {
  /** Head size rounded up to a multiple of 4, and texels per row pair (Dp / 2). */
  headDimPadded: number;
  dTexels: number;
  /** Sequence extents rounded up to a multiple of 4. */
  seqQPadded: number;
  seqKPadded: number;
  blockN: number;
  numBlocks: number;
  /** Q: one group per row pair, dTexels texels. */
  rows: TexelLayout;
  /** K, V: one group per key pair (an even number of groups per texture row where the width allows). */
  keys: TexelLayout;
  /** Row info: one texel per row pair. */
  rowStats: TexelLayout;
  /** Running (m, l), two textures (row pair a of the quad): one texel per row quad. */
  quadStats: TexelLayout;
  /** acc, four textures: one group per row quad, Dp / 4 texels (column quads). */
  quadRows: TexelLayout;
  /** Scores / probabilities of one key block, four textures: one group per row quad, blockN / 4 texels. */
  quadBlock: TexelLayout;
}

export function geometry(spec: FlashAttentionSpec): Geometry {
  const headDimPadded = quad(spec.headDim);
  const dTexels = headDimPadded / 2;
  const seqQPadded = quad(spec.seqlenQ);
  const seqKPadded = quad(spec.seqlenK);
  // A block's scores of a row quad fill one texture row (blockN / 4 texels), so MAX_TEXTURE_SIZE caps it.
  const blockN = Math.min(BLOCK_N, seqKPadded, 4 * maxTextureSize());
  const rowPairs = spec.batch * spec.numHeadsQ * seqQPadded / 2;
  const keyPairs = spec.batch * spec.numHeadsK * seqKPadded / 2;
  const rowQuads = rowPairs / 2;
  return {
    headDimPadded, dTexels, seqQPadded, seqKPadded, blockN,
    // At least one block, so that rows with no key still get (m, l) = (-inf, 0).
    numBlocks: Math.max(1, Math.ceil(spec.seqlenK / blockN)),
    rows: texelLayout(rowPairs, dTexels, 'the query rows (B·Hq·Sq × D)', /* paired */ true),
    // Linear: the P·V loop walks consecutive key pairs along a texture row, two at a time.
    keys: texelLayout(keyPairs, dTexels, 'the key / value rows (B·Hk·Sk × D)', false, /* evenGroups */ true),
    rowStats: texelLayout(rowPairs, 1, 'the row statistics (B·Hq·Sq)'),
    quadStats: texelLayout(rowQuads, 1, 'the row statistics (B·Hq·Sq)', true),
    quadRows: texelLayout(rowQuads, dTexels / 2, 'the output accumulator (B·Hq·Sq × D)', true),
    quadBlock: texelLayout(rowQuads, blockN / 4, 'one key block of scores (B·Hq·Sq × BLOCK_N)', true),
  };
}
