/**
 * WebGL-only checks of the FlashAttention kernel's texture handling, against the cpu backend on
 * fresh random inputs: a second call with new shapes compiles nothing new, packed input textures
 * (outputs of packed tfjs programs) give the same result as unpacked ones, and a small
 * WEBGL_MAX_TEXTURE_SIZE forces multi-row texel layouts (and a clear error past the limit).
 * Entry: import {defineWebglTests} from '../webgl_cases' in test/browser/index.ts and call it.
 */
import * as tf from '@tensorflow/tfjs-core';
import {expect} from 'chai';
import {flashAttention} from '../src/index';

async function onCpu(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options = {}): Promise<Float32Array> {
  const [qd, kd, vd] = await Promise.all([q.data(), k.data(), v.data()]);
  await tf.setBackend('cpu');
  const out = tf.tidy(() => flashAttention(tf.tensor(qd, q.shape), tf.tensor(kd, k.shape), tf.tensor(vd, v.shape), options) as tf.Tensor);
  const data = await out.data() as Float32Array;
  out.dispose();
  await tf.setBackend('webgl');
  return data;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>) {
  expect(actual.length).to.equal(expected.length);
  for (let i = 0; i < actual.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `element ${i}`).to.be.at.most(2e-4 + 2e-3 * Math.abs(expected[i]));
  }
}

/** Keys of tfjs-webgl's compiled-program cache (our programs' userCode starts with 'flash-attention webgl'). */
function binaryKeys(): string[] {
  return Object.keys((tf.backend() as unknown as {binaryCache: object}).binaryCache);
}

export function defineWebglTests(): void {
  describe('flashAttention webgl textures', function() {
    this.timeout(120000);
    before(async function() {
      if (tf.findBackendFactory('webgl') == null || !(await tf.setBackend('webgl'))) this.skip();
    });

    it('a second call with new shapes reuses every compiled program', async () => {
      const run = (s: number, sk: number, h: number, d: number) => tf.tidy(() => flashAttention(
          tf.randomNormal([2, s, h, d]), tf.randomNormal([2, sk, h, d]), tf.randomNormal([2, sk, h, d]), {causal: true}) as tf.Tensor);
      await run(9, 13, 2, 24).data();
      const before = new Set(binaryKeys());
      const y = run(31, 150, 3, 40);
      await y.data();
      y.dispose();
      // tfjs's own upload / download programs are keyed by shape; ours must not be.
      const added = binaryKeys().filter(key => !before.has(key) && key.includes('flash-attention webgl'));
      expect(added.map(key => key.slice(0, key.indexOf('\n'))), 'programs compiled again').to.deep.equal([]);
    });

    it('packed input textures give the same output as unpacked ones', async () => {
      const q = tf.randomNormal([1, 14, 2, 16]), k = tf.randomNormal([1, 19, 2, 16]), v = tf.randomNormal([1, 19, 2, 16]);
      // matMul with an identity runs a packed program: its outputs are packed textures.
      const eye = tf.eye(16);
      const packed = [q, k, v].map(t => tf.reshape(tf.matMul(tf.reshape(t, [-1, 16]), eye), t.shape));
      const out = flashAttention(packed[0], packed[1], packed[2]) as tf.Tensor;
      expectClose(await out.data(), await onCpu(q, k, v));
      tf.dispose([q, k, v, eye, ...packed, out]);
    });

    // 64, D = 40 (20 texels a row pair): two key pairs per texture row, read together by the P·V loop.
    // 48, D = 52 (26 texels): one key pair per texture row, so the P·V loop's key pairs straddle rows.
    for (const [maxSize, d] of [[64, 40], [48, 52]]) {
      it(`a small MAX_TEXTURE_SIZE (${maxSize}, D = ${d}) lays textures out over many rows`, async () => {
        const saved = tf.env().getNumber('WEBGL_MAX_TEXTURE_SIZE');
        const q = tf.randomNormal([1, 9, 2, d]), k = tf.randomNormal([1, 13, 2, d]), v = tf.randomNormal([1, 13, 2, d]);
        try {
          tf.env().set('WEBGL_MAX_TEXTURE_SIZE', maxSize);
          const out = flashAttention(q, k, v, {causal: true}) as tf.Tensor;
          const data = await out.data();
          out.dispose();
          tf.env().set('WEBGL_MAX_TEXTURE_SIZE', saved);
          expectClose(data, await onCpu(q, k, v, {causal: true}));
        } finally {
          tf.env().set('WEBGL_MAX_TEXTURE_SIZE', saved);
          tf.dispose([q, k, v]);
        }
      });
    }

    it('WebGL 1 is refused with a clear error before any draw', () => {
      const saved = tf.env().getNumber('WEBGL_VERSION');
      const q = tf.zeros([1, 4, 1, 8]);
      const before = tf.memory().numTensors;
      try {
        tf.env().set('WEBGL_VERSION', 1);
        expect(() => flashAttention(q, q, q)).to.throw(/WebGL 2/);
      } finally {
        tf.env().set('WEBGL_VERSION', saved);
      }
      expect(tf.memory().numTensors).to.equal(before);
      q.dispose();
    });

    it('textures past MAX_TEXTURE_SIZE² texels fail with a clear error', () => {
      const saved = tf.env().getNumber('WEBGL_MAX_TEXTURE_SIZE');
      const q = tf.zeros([1, 64, 8, 64]);
      try {
        tf.env().set('WEBGL_MAX_TEXTURE_SIZE', 16);
        expect(() => flashAttention(q, q, q)).to.throw(/MAX_TEXTURE_SIZE/);
      } finally {
        tf.env().set('WEBGL_MAX_TEXTURE_SIZE', saved);
        q.dispose();
      }
    });
  });
}
