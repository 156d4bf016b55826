// One flashAttention call on cpu against matMul → softmax → matMul, and one MultiHeadAttention layer call.
exports.check = async function check(tf, flashAttention, MultiHeadAttention, how) {
  await tf.setBackend('cpu');
  const q = tf.randomNormal([1, 6, 2, 8]), k = tf.randomNormal([1, 9, 2, 8]), v = tf.randomNormal([1, 9, 2, 8]);
  const out = flashAttention(q, k, v);
  const t = x => tf.transpose(x, [0, 2, 1, 3]);
  const ref = t(tf.matMul(tf.softmax(tf.mul(tf.matMul(t(q), t(k), false, true), 1 / Math.sqrt(8))), t(v)));
  const diff = (await tf.max(tf.abs(tf.sub(out, ref))).data())[0];
  const layer = new MultiHeadAttention({numHeads: 2, keyDim: 4});
  const y = layer.apply([tf.randomNormal([1, 5, 8]), tf.randomNormal([1, 7, 8])], {useCausalMask: true});
  if (!(diff < 1e-5)) throw new Error(`${how}: flashAttention differs from the composition by ${diff}`);
  if (y.shape.join() !== '1,5,8') throw new Error(`${how}: MultiHeadAttention output shape ${y.shape}`);
  console.log(`${how}: flashAttention matches the composition (max |diff| ${diff.toExponential(1)}); MultiHeadAttention ok`);
};
