/**
 * The baseline every benchmark compares against: attention as tfjs users write it today,
 * matMul → softmax → matMul on [B, H, S, D] tensors, materializing the [B, H, Sq, Sk] score matrix.
 */
import * as tf from '@tensorflow/tfjs-core';

export function compositionAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, causal = false): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , sq, d] = q.shape;
    const sk = k.shape[2];
    let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d));
    if (causal) {
      // Bottom-right aligned: key j visible to query i iff j <= i + sk - sq.
      const i = tf.reshape(tf.range(0, sq, 1, 'int32'), [sq, 1]);
      const j = tf.reshape(tf.range(0, sk, 1, 'int32'), [1, sk]);
      const visible = tf.lessEqual(j, tf.add(i, sk - sq));
      scores = tf.where(visible, scores, tf.fill([sq, sk], -Infinity));
    }
    return tf.matMul(tf.softmax(scores), v) as tf.Tensor4D;
  });
}
