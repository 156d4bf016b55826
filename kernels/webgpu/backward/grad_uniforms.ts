/**
 * Uniforms of the backward programs, each list declared once: the WGSL struct members and the uploaded data
 * both come from it (../uniforms.ts). Every shape-dependent value is here, so new shapes reuse pipelines.
 */
import type {FlashAttentionSpec, Strides3} from '../../../src/spec';
import type {UniformField} from '../uniforms';
import {dropoutUniforms} from '../forward_snippets';

const int = (name: string, value: number): UniformField => ({name, type: 'i32', value});
const float = (name: string, value: number): UniformField => ({name, type: 'f32', value});
const strides = (tensor: string, [b, s, h]: Strides3) =>
    [int(`${tensor}StrideB`, b), int(`${tensor}StrideS`, s), int(`${tensor}StrideH`, h)];

/** Rows of the LSE tensor per head ([B, Hq, Sq] dense, [Hq, Tq] varlen) and its batches. */
export function lseRows(spec: FlashAttentionSpec): {batches: number, rows: number} {
  return {batches: spec.varlen ? 1 : spec.batch, rows: spec.totalQ};
}

/**
 * The stats buffer the main passes read: [lse | D | ALiBi slopes]. |lse| = B·Hq·Sq dense, Hq·Tq varlen;
 * |slopes| = Hq or B·Hq (alibiBatchStride ≠ 0 means [B, Hq]).
 */
export function statsLayout(spec: FlashAttentionSpec): {lseSize: number, deltaOffset: number, slopesOffset: number, slopesSize: number, size: number} {
  const {batches, rows} = lseRows(spec);
  const lseSize = batches * spec.numHeadsQ * rows;
  const slopesSize = spec.alibi === 'none' ? 0 : (spec.alibiBatchStride !== 0 ? spec.batch : 1) * spec.numHeadsQ;
  return {lseSize, deltaOffset: lseSize, slopesOffset: 2 * lseSize, slopesSize, size: 2 * lseSize + slopesSize};
}

/** Stats pass: copies lse, computes D_i = rowsum(dO ∘ O) − dLse_i, copies the slopes. */
export function deltaUniforms(spec: FlashAttentionSpec): UniformField[] {
  const {batches, rows} = lseRows(spec);
  const layout = statsLayout(spec);
  return [
    int('deltaOffset', layout.deltaOffset), int('slopesOffset', layout.slopesOffset), int('slopesSize', layout.slopesSize),
    int('threads', Math.max(layout.lseSize, layout.slopesSize)),
    int('headDim', spec.headDim), int('numHeadsQ', spec.numHeadsQ), int('rows', rows),
    int('total', batches * spec.numHeadsQ * rows), ...strides('o', spec.oStrides), ...strides('lse', spec.lseStrides),
  ];
}

/**
 * The two main passes. `blocks`: key blocks per (batch, kv head) for dK/dV, query blocks per (batch, query
 * head) for dQ. `extraOffset`: where dV (dK/dV pass) or the ALiBi partial sums (dQ pass) start in the output.
 */
export function gradUniforms(spec: FlashAttentionSpec, blocks: number, extraOffset: number): UniformField[] {
  const [bB, bH, bI, bJ] = spec.biasStrides;
  return [
    int('headDim', spec.headDim), int('seqlenQ', spec.seqlenQ), int('seqlenK', spec.seqlenK),
    int('batch', spec.batch), int('numHeadsQ', spec.numHeadsQ), int('numHeadsK', spec.numHeadsK),
    int('groupSize', spec.groupSize), int('blocks', blocks),
    ...strides('q', spec.qStrides), ...strides('k', spec.kStrides), ...strides('v', spec.vStrides),
    ...strides('o', spec.oStrides), ...strides('lse', spec.lseStrides),
    int('biasStrideB', bB), int('biasStrideH', bH), int('biasStrideI', bI), int('biasStrideJ', bJ),
    int('alibiBatchStride', spec.alibiBatchStride), int('extraOffset', extraOffset),
    int('deltaOffset', statsLayout(spec).deltaOffset), int('slopesOffset', statsLayout(spec).slopesOffset),
    float('scaleLog2', spec.softmaxScale * Math.LOG2E), float('softmaxScale', spec.softmaxScale),
    int('windowLeft', spec.windowLeft), int('windowRight', spec.windowRight),
    float('softcapLog2', spec.softcap * Math.LOG2E), ...dropoutUniforms(spec),
  ];
}

/** dBias by recomputation: partial sums of dS over chunks of the bias's broadcast axes. */
export function biasGradUniforms(spec: FlashAttentionSpec, biasSize: number, chunks: number, perChunk: number): UniformField[] {
  return [
    ...gradUniforms(spec, 0, 0), int('biasSize', biasSize), int('chunks', chunks), int('perChunk', perChunk),
  ];
}

/** out[e] = Σ_{c1 < n1} Σ_{c2 < n2} x[offset + e·se + c1·s1 + c2·s2]. */
export function partialSumUniforms(
    size: number, se: number, n1: number, s1: number, n2: number, s2: number, offset: number): UniformField[] {
  return [
    int('count', size), int('se', se), int('n1', n1), int('s1', s1), int('n2', n2), int('s2', s2), int('offset', offset),
  ];
}
