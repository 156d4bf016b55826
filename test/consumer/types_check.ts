// Type-checked inside the consumer project (no emit), once as ESM and once as CommonJS.
import {flashAttention, type FlashAttentionOptions} from 'tfjs-flash-attention';
import {MultiHeadAttention, type MultiHeadAttentionArgs} from 'tfjs-flash-attention/layers';

const options: FlashAttentionOptions = {causal: true};
const args: MultiHeadAttentionArgs = {numHeads: 2, keyDim: 8, numKeyValueHeads: 1};
export const used: [typeof flashAttention, FlashAttentionOptions, MultiHeadAttention|null] = [flashAttention, options, args ? null : null];
// Fails ("unused @ts-expect-error") if the package's types resolved to `any`.
// @ts-expect-error: numbers are not tensors
flashAttention(1, 2, 3);
// @ts-expect-error: numHeads is required
export const noHeads = new MultiHeadAttention({keyDim: 8});
