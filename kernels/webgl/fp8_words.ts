/**
 * Packed words (FP8 codes, and float16 tensors' halves) on WebGL. tfjs-webgl keeps int32 tensors in
 * float32 textures, which hold an integer exactly only while |w| < 2^24: a packed word whose top code is
 * not 0x00 or 0xff would lose its low code on upload. So packed words never reach a texture as words.
 * While the words still live on the CPU (tfjs keeps a tensor's values there until a program first reads
 * it), they are handed to the GPU as 16-bit halves (two FP8 codes, or one IEEE half's bits, per float,
 * exact in float32), and this folder's QuantizeFp8 and ToFloat16 return their words on the CPU. Words that
 * already went through a texture may have lost bits: refused.
 */
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';
import {env, TensorInfo, TypedArray, util} from '@tensorflow/tfjs-core';

const EXACT = 1 << 24;

/** `kind`: what the words pack, for the messages ('FP8' or 'float16'). */
export function checkFp8Supported(what: string, kind = 'FP8'): void {
  if (!env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')) {
    throw new Error(`${what}: ${kind} tensors on the webgl backend need float32 textures ` +
                    `(WEBGL_RENDER_FLOAT32_ENABLED is false here, and float16 textures cannot hold ` +
                    `the 16-bit words exactly); use the cpu or webgpu backend for ${kind} tensors`);
  }
}

/** int32 words (CPU-resident) → float32 tensor [..., 2 × words per row] of (low 16 bits, high 16 bits). */
export function wordsAsHalves(backend: MathBackendWebGL, words: TensorInfo, what: string, kind = 'FP8'): TensorInfo {
  checkFp8Supported(what, kind);
  const data = backend.texData.get(words.dataId);
  const values = data.values as TypedArray|null;
  const exact = values != null &&
      (data.texture == null || (values as Int32Array).every(w => w > -EXACT && w < EXACT));
  if (!exact) {
    const maker = kind === 'FP8' ? 'quantizeFp8' : 'toFloat16';
    throw new Error(`${what}: the ${kind} words of this tensor already live in a WebGL texture, and ` +
                    `tfjs-webgl stores int32 in float32 textures (exact only below 2^24), so bits may ` +
                    `have been lost. Make ${kind} tensors with ${maker} on this backend (or from CPU data) ` +
                    `and pass their words to no other tfjs op first.`);
  }
  const n = util.sizeFromShape(words.shape);
  const halves = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const w = values[i];
    halves[2 * i] = w & 0xffff;
    halves[2 * i + 1] = (w >>> 16) & 0xffff;
  }
  return backend.makeTensorInfo([2 * n], 'float32', halves);
}

/** Float32 halves read back from the GPU → int32 words. */
export function halvesToWords(halves: ArrayLike<number>): Int32Array {
  const words = new Int32Array(halves.length / 2);
  for (let i = 0; i < words.length; i++) words[i] = (halves[2 * i] & 0xffff) | (halves[2 * i + 1] << 16);
  return words;
}

/** GLSL: code d of a row of FP8 words starting at word `base`, read from halves sampler getter `get`. */
export function fp8CodeGlsl(get: string): string {
  return `
int fp8CodeAt(int base, int d) {
  int pair = int(${get}(2 * (base + (d >> 2)) + ((d >> 1) & 1)));
  return (pair >> (8 * (d & 1))) & 255;
}
`;
}
