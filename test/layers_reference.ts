/**
 * The reference for the MultiHeadAttention layer: the same weights through plain tfjs ops, written the way
 * Keras computes it (einsum projections, scores = q·kᵀ/sqrt(keyDim), a boolean mask and the causal mask
 * applied as Keras does, by adding -1e9, softmax, P·V), with no flashAttention in it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {MultiHeadAttention} from '../src/layers/index';

export interface ReferenceCall {
  query: tf.Tensor;
  value: tf.Tensor;
  key?: tf.Tensor;
  useCausalMask?: boolean;
  /** bool/int32 [B, Sq, Sk] or [Sq, Sk] (true = attend), or float32 additive [B, Hq, Sq, Sk]-broadcastable. */
  attentionMask?: tf.Tensor;
}

function weight(layer: MultiHeadAttention, name: string): tf.Tensor|null {
  const w = layer.weights.find(x => x.originalName.endsWith(`/${name}`));
  return w ? w.read() : null;
}

export function referenceMha(layer: MultiHeadAttention, call: ReferenceCall): tf.Tensor {
  return tf.tidy(() => {
    const {query, value} = call, key = call.key ?? value;
    const project = (x: tf.Tensor, name: string) => {
      const y = tf.einsum('bsf,fhd->bshd', x, weight(layer, `${name}/kernel`)!);
      const bias = weight(layer, `${name}/bias`);
      return bias ? tf.add(y, bias) : y;
    };
    const group = layer.numHeads / layer.numKeyValueHeads;
    const heads = tf.tensor1d(Array.from({length: layer.numHeads}, (_, h) => Math.floor(h / group)), 'int32');
    const q = tf.transpose(project(query, 'query'), [0, 2, 1, 3]);                  // [B, Hq, Sq, Dk]
    const k = tf.transpose(tf.gather(project(key, 'key'), heads, 2), [0, 2, 1, 3]);   // kv heads repeated
    const v = tf.transpose(tf.gather(project(value, 'value'), heads, 2), [0, 2, 1, 3]);
    let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(layer.keyDim));    // [B, Hq, Sq, Sk]
    const [sq, sk] = [query.shape[1]!, key.shape[1]!];
    let allowed: tf.Tensor|null = null;
    const m = call.attentionMask;
    if (m != null && m.dtype !== 'float32') allowed = tf.cast(m.rank === 2 ? m : tf.expandDims(m, 1), 'bool');
    if (m != null && m.dtype === 'float32') scores = tf.add(scores, m.rank === 3 ? tf.expandDims(m, 1) : m);
    if (call.useCausalMask) {
      const causal = tf.cast(tf.linalg.bandPart(tf.ones([sq, sk]), -1, 0), 'bool');   // Keras: key j <= query i
      allowed = allowed ? tf.logicalAnd(allowed, causal) : causal;
    }
    if (allowed) scores = tf.add(scores, tf.mul(tf.sub(1, tf.cast(allowed, 'float32')), -1e9));
    const attended = tf.transpose(tf.matMul(tf.softmax(scores), v), [0, 2, 1, 3]);     // [B, Sq, Hq, Dv]
    const outKernel = weight(layer, 'attention_output/kernel')!;
    const outDims = outKernel.shape.slice(2);
    const [hq, dv] = outKernel.shape as number[];
    const flat = tf.reshape(outKernel, [hq, dv, -1]);
    let out = tf.einsum('bshd,hdo->bso', attended, flat);
    const outBias = weight(layer, 'attention_output/bias');
    if (outBias) out = tf.add(out, tf.reshape(outBias, [-1]));
    return tf.reshape(out, [query.shape[0], sq, ...outDims]);
  });
}
