/**
 * The MultiHeadAttention layer (src/layers/) on one backend: its outputs against the plain-tfjs reference
 * with the same weights, model.fit of the example language model, save/load round trips, and its errors.
 *
 * Tolerance: |layer − reference| <= 2e-5 + 2e-4·|reference|. Both sides are float32 with different summation
 * orders (tiled online softmax vs a full softmax; one matMul per projection vs einsum) over at most 48
 * features, 40 keys and 32 head dims of O(1) values: float32's 6e-8 relative rounding, accumulated over those
 * chains, stays near 1e-6 (measured: ≤ 3e-6 on cpu); the bound leaves room for GPU exp/FMA differences.
 */
import {expect} from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {MultiHeadAttention, MultiHeadAttentionArgs} from '../src/layers/index';
import {activateBackend} from './backends';
import {referenceMha, ReferenceCall} from './layers_reference';
import {makeRng, Rng, runSeed} from './rng';
import {generate, trainTransformerLm} from '../examples/transformer_lm';

const ATOL = 2e-5, RTOL = 2e-4;

function randomTensor(rng: Rng, shape: number[], scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({length: n}, () => rng.normal() * scale), shape);
}

/** Builds the layer on the call's shapes, then gives every weight (biases too) seeded random values. */
function seededLayer(rng: Rng, args: MultiHeadAttentionArgs, call: ReferenceCall): MultiHeadAttention {
  const layer = new MultiHeadAttention(args);
  tf.dispose(layer.apply(call.key ? [call.query, call.value, call.key] : [call.query, call.value]) as tf.Tensor);
  layer.setWeights(layer.getWeights().map(w => randomTensor(rng, w.shape, 0.3)));
  return layer;
}

async function expectClose(actual: tf.Tensor, expected: tf.Tensor, what: string): Promise<number> {
  expect(actual.shape, `${what}: shape`).to.deep.equal(expected.shape);
  const [a, e] = [await actual.data(), await expected.data()];
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - e[i]);
    if (!(err <= ATOL + RTOL * Math.abs(e[i]))) {
      throw new Error(`${what}: element ${i} is ${a[i]}, the reference ${e[i]} (|diff| ${err} > ${ATOL} + ${RTOL}·|ref|)`);
    }
    worst = Math.max(worst, err);
  }
  return worst;
}

interface LayerCase {
  name: string;
  args: MultiHeadAttentionArgs;
  b: number; sq: number; sk: number; fq: number; fv: number; fk?: number;
  causal?: boolean;
  mask?: 'bool' | 'int' | 'float' | 'bool2d';
}

const CASES: LayerCase[] = [
  {name: 'self-attention shapes, 4 heads', args: {numHeads: 4, keyDim: 8}, b: 2, sq: 9, sk: 9, fq: 16, fv: 16},
  {name: 'cross-attention with a key of its own width', args: {numHeads: 2, keyDim: 16}, b: 2, sq: 7, sk: 12, fq: 10, fv: 6, fk: 14},
  {name: 'GQA: 4 query heads over 2 kv heads', args: {numHeads: 4, numKeyValueHeads: 2, keyDim: 8}, b: 1, sq: 11, sk: 13, fq: 12, fv: 12},
  {name: 'MQA: 3 query heads over 1 kv head', args: {numHeads: 3, numKeyValueHeads: 1, keyDim: 4}, b: 2, sq: 5, sk: 8, fq: 8, fv: 8},
  {name: 'valueDim 12 ≠ keyDim 4 (zero-padded heads)', args: {numHeads: 2, keyDim: 4, valueDim: 12}, b: 1, sq: 6, sk: 10, fq: 8, fv: 8},
  {name: 'valueDim 3 < keyDim 32', args: {numHeads: 2, keyDim: 32, valueDim: 3}, b: 1, sq: 6, sk: 10, fq: 8, fv: 8},
  {name: 'outputShape [3, 4] and no biases', args: {numHeads: 2, keyDim: 8, outputShape: [3, 4], useBias: false}, b: 2, sq: 5, sk: 5, fq: 6, fv: 6},
  {name: 'causal, Sq = Sk', args: {numHeads: 2, keyDim: 8}, b: 2, sq: 17, sk: 17, fq: 8, fv: 8, causal: true},
  {name: 'causal, Sq < Sk (Keras: top-left aligned)', args: {numHeads: 2, keyDim: 8}, b: 1, sq: 6, sk: 15, fq: 8, fv: 8, causal: true},
  {name: 'causal, Sq > Sk (Keras: top-left aligned)', args: {numHeads: 2, keyDim: 8, numKeyValueHeads: 1}, b: 2, sq: 14, sk: 5, fq: 8, fv: 8, causal: true},
  {name: 'boolean attentionMask [B, Sq, Sk]', args: {numHeads: 2, keyDim: 8}, b: 2, sq: 8, sk: 11, fq: 8, fv: 8, mask: 'bool'},
  {name: 'int32 attentionMask (0 = masked) with causal', args: {numHeads: 2, keyDim: 8}, b: 2, sq: 9, sk: 9, fq: 8, fv: 8, mask: 'int', causal: true},
  {name: 'boolean attentionMask [Sq, Sk] with causal, Sq > Sk', args: {numHeads: 2, keyDim: 8}, b: 1, sq: 12, sk: 7, fq: 8, fv: 8, mask: 'bool2d', causal: true},
  {name: 'float32 additive attentionMask [B, Hq, Sq, Sk]', args: {numHeads: 2, keyDim: 8}, b: 2, sq: 6, sk: 9, fq: 8, fv: 8, mask: 'float'},
];

function makeMask(rng: Rng, c: LayerCase): tf.Tensor|undefined {
  const bits = (n: number) => Array.from({length: n}, (_, i) => (i % c.sk === 0 ? 1 : rng.next() < 0.7 ? 1 : 0));  // key 0 always visible
  switch (c.mask) {
    case 'bool': return tf.tensor(bits(c.b * c.sq * c.sk), [c.b, c.sq, c.sk], 'bool');
    case 'int': return tf.tensor(bits(c.b * c.sq * c.sk), [c.b, c.sq, c.sk], 'int32');
    case 'bool2d': return tf.tensor(bits(c.sq * c.sk), [c.sq, c.sk], 'bool');
    case 'float': return randomTensor(rng, [c.b, c.args.numHeads, c.sq, c.sk], 2);
    default: return undefined;
  }
}

export interface LayerSuiteOptions {
  /** Also round-trip through IndexedDB (browsers). */
  indexedDb?: boolean;
  /** Steps of the language-model fit (fewer on slow software GPUs). */
  fitSteps?: number;
}

export function defineLayerSuite(backend: string, options: LayerSuiteOptions = {}): void {
  describe(`MultiHeadAttention layer on ${backend}`, function() {
    this.timeout(240000);
    const seed = runSeed();
    before(async function() {
      const reason = await activateBackend(backend);
      if (reason != null) {
        console.log(`    (MultiHeadAttention layer on ${backend} skipped: ${reason})`);
        this.skip();
      }
    });
    beforeEach(async () => {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
    });

    describe(`equals matMul → softmax → matMul with the same weights (seed ${seed}; FA_SEED replays)`, () => {
      for (const c of CASES) {
        it(c.name, async () => {
          const rng = makeRng(`${seed}:${c.name}`);
          const call: ReferenceCall = {
            query: randomTensor(rng, [c.b, c.sq, c.fq]), value: randomTensor(rng, [c.b, c.sk, c.fv]),
            key: c.fk ? randomTensor(rng, [c.b, c.sk, c.fk]) : undefined, useCausalMask: c.causal, attentionMask: makeMask(rng, c),
          };
          const layer = seededLayer(rng, c.args, call);
          const before = tf.memory().numTensors;
          const out = layer.apply(call.key ? [call.query, call.value, call.key] : [call.query, call.value],
                                  {useCausalMask: c.causal, attentionMask: call.attentionMask}) as tf.Tensor;
          expect(tf.memory().numTensors, 'a call leaves only its output').to.equal(before + 1);
          const ref = referenceMha(layer, call);
          await expectClose(out, ref, c.name);
          tf.dispose([out, ref, call.query, call.value, call.key!, call.attentionMask!].filter(t => t != null));
          layer.dispose();
        });
      }
      it('a query row whose keys are all masked gives the output bias (attention 0, as the op), not NaN', async () => {
        const rng = makeRng(`${seed}:masked row`);
        const call = {query: randomTensor(rng, [1, 3, 4]), value: randomTensor(rng, [1, 5, 4])};
        const layer = seededLayer(rng, {numHeads: 1, keyDim: 4}, call);
        const mask = tf.tensor([[[1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, 1, 1, 1]]], [1, 3, 5], 'bool');
        const out = layer.apply([call.query, call.value], {attentionMask: mask}) as tf.Tensor;
        const row = await tf.slice(out, [0, 1, 0], [1, 1, 4]).data();
        const bias = await layer.weights.find(w => w.originalName.endsWith('attention_output/bias'))!.read().data();
        expect(Array.from(row).map((x, i) => Math.abs(x - bias[i]) < 1e-6)).to.deep.equal([true, true, true, true]);
        tf.dispose([out, mask, call.query, call.value]);
        layer.dispose();
      });
    });

    it('model.fit trains the example transformer LM (loss falls below 80% of its start) and it generates text', async () => {
      const steps = options.fitSteps ?? 40;
      const before = tf.memory().numTensors;
      const lm = await trainTransformerLm({steps, batch: 8, learningRate: 0.02, seed: 3,
                                          shape: {seqLen: 16, dModel: 16, numHeads: 4, numKeyValueHeads: 2, numBlocks: 1}});
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const first = mean(lm.losses.slice(0, 5)), last = mean(lm.losses.slice(-5));
      expect(lm.losses).to.have.length(steps);
      expect(last, `losses ${lm.losses.map(l => l.toFixed(2)).join(' ')}`).to.be.lessThan(0.8 * first);
      expect(await generate(lm, 'the ', 8)).to.have.length(12);
      lm.model.optimizer.dispose();   // passed in by the example, so the model does not own it
      lm.model.dispose();
      expect(tf.memory().numTensors, 'tensors left after disposing the model').to.equal(before);
    });

    describe('save → load round trip', () => {
      /** A model with every path: cross-attention with a key, GQA, causal, and a symbolic mask input. */
      function buildModel(): tfl.LayersModel {
        const q = tfl.input({shape: [6, 8], name: 'q'}), v = tfl.input({shape: [6, 5], name: 'v'});
        const k = tfl.input({shape: [6, 7], name: 'k'}), mask = tfl.input({shape: [6, 6], name: 'mask'});
        const cross = new MultiHeadAttention({numHeads: 4, numKeyValueHeads: 2, keyDim: 4, valueDim: 6, name: 'cross'});
        const self = new MultiHeadAttention({numHeads: 2, keyDim: 8, outputShape: 8, name: 'self',
                                             kernelInitializer: 'heNormal', biasInitializer: {className: 'Ones', config: {}}});
        const x = cross.apply([q, v, k], {attentionMask: mask}) as tfl.SymbolicTensor;
        const y = self.apply([x, x], {useCausalMask: true}) as tfl.SymbolicTensor;
        const out = tfl.layers.add().apply([x, y]) as tfl.SymbolicTensor;   // x feeds the layer twice and the Add
        return tfl.model({inputs: [q, v, k, mask], outputs: out});
      }
      function inputs(): tf.Tensor[] {
        const rng = makeRng(`${seed}:roundtrip`);
        const mask = tf.tensor(Array.from({length: 2 * 36}, (_, i) => (i % 6 === 0 || rng.next() < 0.6 ? 1 : 0)), [2, 6, 6]);
        return [randomTensor(rng, [2, 6, 8]), randomTensor(rng, [2, 6, 5]), randomTensor(rng, [2, 6, 7]), mask];
      }
      async function roundTrip(url: tf.io.IOHandler|string, load: tf.io.IOHandler|string): Promise<void> {
        const model = buildModel(), xs = inputs();
        const before = model.predict(xs) as tf.Tensor;
        await model.save(url);
        const loaded = await tfl.loadLayersModel(load);
        const after = loaded.predict(xs) as tf.Tensor;
        expect(await tf.max(tf.abs(tf.sub(before, after))).data()).to.deep.equal(new Float32Array([0]));
        const configOf = (m: tfl.LayersModel, name: string) => JSON.parse(JSON.stringify(m.getLayer(name).getConfig(), (_, v) => (v === null ? undefined : v)));  // a loaded seed is null, a fresh one undefined
        for (const name of ['cross', 'self']) expect(configOf(loaded, name)).to.deep.equal(configOf(model, name));
        expect(loaded.getLayer('self')).to.be.instanceOf(MultiHeadAttention);
        // And it still trains after loading (the graph's mask input and causal flag survived).
        loaded.compile({optimizer: 'sgd', loss: 'meanSquaredError'});
        const h = await loaded.fit(xs, tf.zerosLike(after), {epochs: 2, verbose: 0});
        expect(h.history.loss.every(l => Number.isFinite(l as number))).to.equal(true);
        tf.dispose([before, after, ...xs]);
        model.dispose();
        loaded.dispose();
      }

      it('through an in-memory IO handler: same config, weights and predictions', async () => {
        let saved: tf.io.ModelArtifacts|null = null;
        const sink = tf.io.withSaveHandler(async artifacts => {
          saved = artifacts;
          return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
        });
        const source: tf.io.IOHandler = {load: async () => saved!};
        await roundTrip(sink, source);
        expect(JSON.stringify(saved!.modelTopology)).to.contain('"class_name":"FlashMultiHeadAttention"');
      });
      if (options.indexedDb) {
        it('through IndexedDB (indexeddb://): same config, weights and predictions', async () => {
          const url = 'indexeddb://tfjs-flash-attention-layer-test';
          await roundTrip(url, url);
          await tf.io.removeModel(url);
        });
      }
    });

    describe('attention dropout (the op\'s dropout option, in training calls only)', () => {
      it('inference drops nothing; training calls drop, reproducibly per seed, with fresh masks each call', async () => {
        const rng = makeRng(`${seed}:dropout`);
        const x = randomTensor(rng, [2, 9, 12]);
        const call: ReferenceCall = {query: x, value: x};
        const weights = (layer: MultiHeadAttention) => layer.getWeights();
        const plain = seededLayer(rng, {numHeads: 3, keyDim: 4}, call);
        const make = () => {
          const layer = new MultiHeadAttention({numHeads: 3, keyDim: 4, dropout: 0.4, seed: 77});
          tf.dispose(layer.apply([x, x]) as tf.Tensor);
          layer.setWeights(weights(plain));
          return layer;
        };
        const [a, b] = [make(), make()];
        const run = (layer: MultiHeadAttention, training: boolean) => layer.apply([x, x], {training}) as tf.Tensor;
        const reference = run(plain, false), inference = run(a, false);
        await expectClose(inference, reference, 'inference with dropout 0.4');
        const [a1, b1, a2] = [run(a, true), run(b, true), run(a, true)];
        const [va1, vb1, va2, vref] = await Promise.all([a1.data(), b1.data(), a2.data(), reference.data()]);
        expect(Array.from(va1), 'two layers with seed 77: the same first training call').to.deep.equal(Array.from(vb1));
        const differs = (u: ArrayLike<number>, w: ArrayLike<number>) => Array.from(u).some((e, i) => Math.abs(e - w[i]) > 1e-3);
        expect(differs(va1, vref), 'a training call drops probabilities').to.equal(true);
        expect(differs(va1, va2), 'the next training call draws a new mask').to.equal(true);
        expect(Array.from(va1).every(Number.isFinite)).to.equal(true);
        tf.dispose([x, reference, inference, a1, b1, a2]);
        [plain, a, b].forEach(l => l.dispose());
      });
    });

    describe('clear errors', () => {
      const throws = (f: () => unknown, pattern: RegExp) => expect(f).to.throw(pattern);
      it('an unknown argument names itself and the closest known one', () => {
        throws(() => new MultiHeadAttention({numHead: 2, keyDim: 4} as unknown as MultiHeadAttentionArgs), /unknown argument 'numHead' \(did you mean 'numHeads'\?\)/);
        throws(() => new MultiHeadAttention({numHeads: 2, keyDim: 4, kernel_initializer: 'zeros'} as unknown as MultiHeadAttentionArgs), /'kernel_initializer' \(did you mean 'kernelInitializer'\?\)/);
      });
      it('a dropout seed that is not an integer', () => {
        throws(() => new MultiHeadAttention({numHeads: 2, keyDim: 4, dropout: 0.1, seed: 1.5}), /seed must be an integer, got 1.5/);
      });
      it('bad numbers: numKeyValueHeads not dividing numHeads, keyDim over 256, numHeads 0', () => {
        throws(() => new MultiHeadAttention({numHeads: 4, numKeyValueHeads: 3, keyDim: 4}), /numKeyValueHeads must be a positive integer dividing numHeads = 4, got 3/);
        throws(() => new MultiHeadAttention({numHeads: 1, keyDim: 300}), /keyDim must be an integer in 1..256/);
        throws(() => new MultiHeadAttention({numHeads: 0, keyDim: 4}), /numHeads must be a positive integer, got 0/);
        throws(() => new MultiHeadAttention({numHeads: 1, keyDim: 4, precision: 'half' as 'float16'}), /precision must be 'float32' or 'float16'/);
        throws(() => new MultiHeadAttention({numHeads: 2, keyDim: 4, kernelInitializer: 'glorotUniformm'}), /kernelInitializer 'glorotUniformm' is not an initializer \(did you mean 'glorotUniform'\?\)/);
      });
      it('wrong inputs, a misspelt call option, a mask of the wrong shape', () => {
        const layer = new MultiHeadAttention({numHeads: 2, keyDim: 4});
        const x = tf.zeros([1, 3, 4]), y = tf.zeros([1, 5, 4]);
        throws(() => layer.apply(x), /inputs must be \[query, value\] or \[query, value, key\], got 1/);
        throws(() => layer.apply([x, x], {useCasualMask: true}), /unknown argument 'useCasualMask' \(did you mean 'useCausalMask'\?\)/);
        throws(() => layer.apply([x, y], {attentionMask: tf.ones([1, 3, 4], 'bool')}), /attentionMask of shape \[1,3,4\] is not broadcastable to \[B, Sq, Sk\] = \[1, 3, 5\]/);
        throws(() => layer.apply([x, y, tf.zeros([1, 4, 4])]), /key and value the sequence length/);
        throws(() => layer.apply([tf.zeros([3, 4]), y]), /query must be \[batch, seq, features\]/);
        tf.dispose([x, y]);
      });
      it('symbolic inputs: a Tensor mask, and one layer applied with two different causal flags', () => {
        const layer = new MultiHeadAttention({numHeads: 2, keyDim: 4});
        const a = tfl.input({shape: [3, 4]}), b = tfl.input({shape: [3, 4]});
        throws(() => layer.apply([a, b], {attentionMask: tf.ones([1, 3, 3], 'bool')}), /attentionMask must be symbolic too/);
        layer.apply([a, b], {useCausalMask: true});
        throws(() => layer.apply([a, b]), /one layer keeps one form .*: use a second layer/);
      });
    });
  });
}

