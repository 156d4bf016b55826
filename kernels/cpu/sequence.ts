/**
 * Where sequence b lives: its first packed row and length in q and in k/v (varlen, a padded KV cache, or
 * dense).
 */
import type {TypedArray} from '@tensorflow/tfjs-core';
import type {FlashAttentionSpec} from '../../src/spec';

export interface SequenceBounds {
  startQ: number;
  startK: number;
  lenQ: number;
  lenK: number;
  /** Query row i sits on the bottom-right diagonal at key i + diagonal (= lenK - lenQ). */
  diagonal: number;
}

/** The int inputs that place sequences: cuSeqlens (varlen) or cacheSeqlens (a padded KV cache), else null. */
export interface SequenceInputs {
  cuSeqlensQ: TypedArray|null;
  cuSeqlensK: TypedArray|null;
  cacheSeqlens: TypedArray|null;
}

export function sequenceBounds(spec: FlashAttentionSpec, seq: SequenceInputs, b: number): SequenceBounds {
  const {cuSeqlensQ, cuSeqlensK, cacheSeqlens} = seq;
  const startQ = cuSeqlensQ ? cuSeqlensQ[b] : 0;
  const startK = cuSeqlensK ? cuSeqlensK[b] : 0;
  const lenQ = cuSeqlensQ ? cuSeqlensQ[b + 1] - startQ : spec.seqlenQ;
  // A cache's valid length is validated by the op (0..Sk): the clamp only mirrors the GPU kernels'.
  const lenK = cuSeqlensK ? cuSeqlensK[b + 1] - startK :
      cacheSeqlens ? Math.max(0, Math.min(cacheSeqlens[b], spec.seqlenK)) : spec.seqlenK;
  return {startQ, startK, lenQ, lenK, diagonal: lenK - lenQ};
}
