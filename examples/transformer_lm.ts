/**
 * A small character-level transformer language model made of tfjs-layers layers and this package's
 * MultiHeadAttention (flashAttention inside, GQA: 4 query heads over 2 key/value heads), trained with
 * model.fit on the toy corpus in examples/data/tiny_corpus.ts. Residual blocks:
 *   x = tokenEmbedding(tokens) + positionEmbedding(positions)
 *   x = x + MultiHeadAttention([x, x], causal);  x = x + Dense(Dense_relu(x))
 *   next-character probabilities = softmax(Dense(x))
 * No LayerNormalization: tfjs-layers' one broadcasts its scale with tf.tile, whose gradient is one slice and
 * one add per tiled row (5000 kernels a step here); at this size the model trains well without it.
 * The model's inputs are the characters and their positions 0..S-1 as one-hot float32 [batch, S, vocab] and
 * [batch, S, S] (encodeWindows makes them): a bias-free Dense on a one-hot row is an embedding lookup, and its
 * gradient is a matMul, where tfjs's cpu backend spends ~10x longer on an Embedding layer's gather gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {MultiHeadAttention} from '../src/layers/index';
import {TINY_CORPUS} from './data/tiny_corpus';

export interface LmShape {
  seqLen: number;
  dModel: number;
  numHeads: number;
  numKeyValueHeads: number;
  numBlocks: number;
}
export const DEFAULT_LM: LmShape = {seqLen: 32, dModel: 32, numHeads: 4, numKeyValueHeads: 2, numBlocks: 2};

/** Character vocabulary of a text, and its encoder/decoder. */
export class CharVocab {
  readonly chars: string[];
  constructor(text: string) {
    this.chars = [...new Set(text)].sort();
  }
  get size(): number { return this.chars.length; }
  encode(text: string): number[] {
    return [...text].map(ch => Math.max(0, this.chars.indexOf(ch)));
  }
  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, id => this.chars[id] ?? '?').join('');
  }
}

export function buildTransformerLm(vocabSize: number, shape: LmShape = DEFAULT_LM): tfl.LayersModel {
  const {seqLen, dModel, numHeads, numKeyValueHeads, numBlocks} = shape;
  const tokens = tfl.input({shape: [seqLen, vocabSize], name: 'tokens'});
  const positions = tfl.input({shape: [seqLen, seqLen], name: 'positions'});
  const embed = (name: string) => tfl.layers.dense({units: dModel, useBias: false, name});
  const embedded = [embed('token_embedding').apply(tokens), embed('position_embedding').apply(positions)];
  let x = tfl.layers.add().apply(embedded as tfl.SymbolicTensor[]) as tfl.SymbolicTensor;
  for (let i = 0; i < numBlocks; i++) {
    const attention = new MultiHeadAttention({numHeads, numKeyValueHeads, keyDim: dModel / numHeads, name: `block${i}_attention`});
    const attended = attention.apply([x, x], {useCausalMask: true}) as tfl.SymbolicTensor;
    x = tfl.layers.add().apply([x, attended]) as tfl.SymbolicTensor;
    const hidden = tfl.layers.dense({units: 4 * dModel, activation: 'relu', name: `block${i}_mlp_in`}).apply(x);
    const mlp = tfl.layers.dense({units: dModel, name: `block${i}_mlp_out`}).apply(hidden) as tfl.SymbolicTensor;
    x = tfl.layers.add().apply([x, mlp]) as tfl.SymbolicTensor;
  }
  const probs = tfl.layers.dense({units: vocabSize, activation: 'softmax', name: 'next_char'}).apply(x) as tfl.SymbolicTensor;
  return tfl.model({inputs: [tokens, positions], outputs: probs, name: 'tiny_transformer_lm'});
}

/** The model's two inputs for windows of character ids (each seqLen long): one-hot characters and positions. */
export function encodeWindows(windows: number[][], vocabSize: number, seqLen: number): [tf.Tensor3D, tf.Tensor3D] {
  return tf.tidy(() => {
    const ids = tf.tensor2d(windows.flat(), [windows.length, seqLen], 'int32');
    const positions = tf.tile(tf.expandDims(tf.oneHot(tf.range(0, seqLen, 1, 'int32'), seqLen), 0), [windows.length, 1, 1]);
    return [tf.cast(tf.oneHot(ids, vocabSize), 'float32') as tf.Tensor3D, positions as tf.Tensor3D];
  });
}

export interface TrainLmOptions {
  /** Optimizer steps (batches); default 150. */
  steps?: number;
  batch?: number;
  learningRate?: number;
  shape?: LmShape;
  text?: string;
  seed?: number;
  /** After every step, with its loss; awaited (the demo page yields to the browser there). */
  onStep?: (step: number, loss: number) => void|Promise<void>;
}

export interface TrainedLm {
  model: tfl.LayersModel;
  vocab: CharVocab;
  losses: number[];
}

/** Builds the model and trains it with model.fit on random windows of the corpus (next character at every position). */
export async function trainTransformerLm(options: TrainLmOptions = {}): Promise<TrainedLm> {
  const {steps = 150, batch = 16, learningRate = 0.01, shape = DEFAULT_LM, text = TINY_CORPUS, seed = 7, onStep} = options;
  const vocab = new CharVocab(text), ids = vocab.encode(text), s = shape.seqLen;
  const model = buildTransformerLm(vocab.size, shape);
  model.compile({optimizer: tf.train.adam(learningRate), loss: 'sparseCategoricalCrossentropy'});
  let state = seed;
  const randomOffset = () => (state = (state * 1103515245 + 12345) % 2147483648) % (ids.length - s - 1);
  const offsets = Array.from({length: steps * batch}, randomOffset);
  const [xs, positions] = encodeWindows(offsets.map(o => ids.slice(o, o + s)), vocab.size, s);
  const ys = tf.tensor3d(offsets.flatMap(o => ids.slice(o + 1, o + s + 1)), [offsets.length, s, 1], 'float32');
  const losses: number[] = [];
  try {
    await model.fit([xs, positions], ys, {
      batchSize: batch, epochs: 1, shuffle: false, verbose: 0,
      callbacks: {onBatchEnd: async (step, logs) => {
        losses.push(logs?.loss ?? NaN);
        await onStep?.(step, losses[losses.length - 1]);
      }},
    });
  } finally {
    tf.dispose([xs, ys, positions]);
  }
  return {model, vocab, losses};
}

/** Greedy continuation of `prompt` by `length` characters (the window is the last seqLen characters). */
export async function generate(lm: TrainedLm, prompt: string, length: number): Promise<string> {
  const s = lm.model.inputs[0].shape[1] as number;
  let text = prompt;
  for (let i = 0; i < length; i++) {
    const window = lm.vocab.encode(text.slice(-s)), last = window.length - 1;
    // Causal attention: padding on the right changes nothing at positions 0..last.
    const next = tf.tidy(() => {
      const probs = lm.model.predict(encodeWindows([[...window, ...new Array(s - window.length).fill(0)]], lm.vocab.size, s)) as tf.Tensor3D;
      return tf.argMax(tf.squeeze(tf.slice(probs, [0, last, 0], [1, 1, -1])));
    });
    const id = (await next.data())[0];   // never dataSync: WebGPU in Node cannot read synchronously
    next.dispose();
    text += lm.vocab.decode([id]);
  }
  return text;
}
