/** Where sequence b lives: its first packed row and length in q and in k/v (varlen or dense). */
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

export function sequenceBounds(
    spec: FlashAttentionSpec, cuSeqlensQ: TypedArray|null, cuSeqlensK: TypedArray|null, b: number): SequenceBounds {
  const startQ = cuSeqlensQ ? cuSeqlensQ[b] : 0;
  const startK = cuSeqlensK ? cuSeqlensK[b] : 0;
  const lenQ = cuSeqlensQ ? cuSeqlensQ[b + 1] - startQ : spec.seqlenQ;
  const lenK = cuSeqlensK ? cuSeqlensK[b + 1] - startK : spec.seqlenK;
  return {startQ, startK, lenQ, lenK, diagonal: lenK - lenQ};
}
