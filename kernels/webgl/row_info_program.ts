/**
 * Prep pass: one texel per row pair, (lenQ, lenK, ALiBi slope · log2(e), sink · log2(e)), the per-sequence
 * and per-head facts the block passes need (lengths from cuSeqlens for varlen, lenK from cacheSeqlens for a
 * padded KV cache, else Sq and Sk; the sink -inf without sinks).
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {FlashAttentionSpec} from '../../src/spec';
import {layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL, TexelLayout} from './texel_layout';
import type {ProgramDef} from './webgl_program';

/** The tensors rowInfoProgram reads, in its input order (forward and backward pass the op's inputs). */
export function rowInfoInputs(spec: FlashAttentionSpec, inputs: {
  cuSeqlensQ?: TensorInfo, cuSeqlensK?: TensorInfo, cacheSeqlens?: TensorInfo, alibiSlopes?: TensorInfo, sinks?: TensorInfo,
}): TensorInfo[] {
  return [
    ...(spec.varlen ? [inputs.cuSeqlensQ!, inputs.cuSeqlensK!] : []),
    ...(spec.cacheSeqlens ? [inputs.cacheSeqlens!] : []),
    ...(spec.alibi !== 'none' ? [inputs.alibiSlopes!] : []),
    ...(spec.sinks ? [inputs.sinks!] : []),
  ];
}

export function rowInfoProgram(spec: FlashAttentionSpec, layout: TexelLayout, seqQPadded: number): ProgramDef {
  const inputs: string[] = [];
  if (spec.varlen) inputs.push('cuQ', 'cuK');
  if (spec.cacheSeqlens) inputs.push('cache');
  if (spec.alibi !== 'none') inputs.push('slopes');
  if (spec.sinks) inputs.push('sinks');
  return {
    name: 'RowInfo',
    key: `${spec.varlen ? 'varlen' : spec.cacheSeqlens ? 'cache' : 'dense'}|alibi=${spec.alibi !== 'none'}|sinks=${spec.sinks}`,
    inputs, packedInputs: false, packedOutput: true, outputShape: layoutShape(layout),
    uniforms: [
      outGeoUniform(layout),
      {name: 'seqPadded', type: 'int', value: seqQPadded},
      {name: 'heads', type: 'int', value: spec.numHeadsQ},
      {name: 'lens', type: 'ivec2', value: [spec.seqlenQ, spec.seqlenK]},
      {name: 'slopeBatchStride', type: 'int', value: spec.alibiBatchStride},
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutput(vec4(0.0)); return; }
  int bh = 2 * o.x / seqPadded, b = bh / heads, h = bh - b * heads;
  ${spec.varlen ? `vec2 seqLens = vec2(getCuQ(b + 1) - getCuQ(b), getCuK(b + 1) - getCuK(b));` :
    spec.cacheSeqlens ? `vec2 seqLens = vec2(lens.x, clamp(getCache(b), 0.0, float(lens.y)));` : `vec2 seqLens = vec2(lens);`}
  float slope = ${spec.alibi !== 'none' ? 'getSlopes(b * slopeBatchStride + h) * 1.4426950408889634' : '0.0'};
  float sink = ${spec.sinks ? 'getSinks(h) * 1.4426950408889634' : '-FA_INF'};
  setOutput(vec4(seqLens, slope, sink));
}
`,
  };
}
