/**
 * The backward's small passes:
 *  - DeltaProgram (the stats pass): writes [lse | D | ALiBi slopes] into one buffer that the main passes bind
 *    once (varlen then needs q, k, v, dO, stats, cuSeqlensQ/K + the output: 8 storage buffers, WebGPU's
 *    default limit); D_i = rowsum(dO_i ∘ O_i) − dLse_i, in the LSE's layout. Geometry: flat, 64 invocations per workgroup (tfjs folds large dispatches into y, z).
 *  - BiasGradProgram (rare path: only when a bias is given): dBias by recomputation, no tiles. Invocation
 *    (chunk c, bias element e) sums dS(b, h, i, j) over the c-th chunk of the bias's broadcast axes (those with
 *    stride 0 in biasStrides), recomputing each dS from q, k, v, dO, lse and D with two length-D dots; the
 *    partials [chunks, |bias|] are then summed by a PartialSumProgram. O(B·Hq·Sq·Sk·D) like the main passes,
 *    but without tiling; correct first. Geometry: flat, 64 per workgroup.
 *  - PartialSumProgram: out[e] = Σ_{c1 < n1} Σ_{c2 < n2} x[offset + e·se + c1·s1 + c2·s2] (dBias chunks, ALiBi blocks).
 *  - CopyRangeProgram (../copy_range_program.ts) splits the dK/dV pass's one output buffer.
 */
import {FlashAttentionSpec, kernelKey} from '../../../src/spec';
import {spreadDispatch} from '../dispatch';
import {cacheLength} from '../forward_snippets';
import {FlatProgram} from '../flat_program';
import {ROUND_TO_HALF_WGSL} from '../tiles/portable_tiles';
import {gradRowLoader, gradScoreSnippet} from './grad_program';
import {biasGradUniforms, deltaUniforms, partialSumUniforms} from './grad_uniforms';

const WORKGROUP = 64;

export class DeltaProgram extends FlatProgram {
  /**
   * Inputs: output, dOutput, lse, then dLse and alibiSlopes when present. `halfDO`: D_i takes dO rounded to
   * half, as the float16 backward's products do (the matrix passes; kernels/cpu/attention_backward_loop.ts).
   */
  constructor(
      spec: FlashAttentionSpec, private readonly hasDLse: boolean, private readonly hasSlopes: boolean, threads: number,
      size: number, maxPerDimension: number, private readonly halfDO = false) {
    super({
      variableNames: ['output', 'dOutput', 'lse', ...(hasDLse ? ['dLse'] : []), ...(hasSlopes ? ['alibiSlopes'] : [])],
      outputSize: size, shaderKey: `flashAttentionGradStats|${hasDLse}|${hasSlopes}|${halfDO}`,
      dispatch: spreadDispatch(Math.ceil(threads / WORKGROUP), maxPerDimension, 'FlashAttentionGrad'),
      workgroupSize: WORKGROUP, uniforms: deltaUniforms(spec),
    });
  }

  getUserCode(): string {
    return `${this.halfDO ? ROUND_TO_HALF_WGSL : ''}
fn main(index : i32) {
  if (index >= uniforms.threads) { return; }
  ${this.hasSlopes ? 'if (index < uniforms.slopesSize) { result[uniforms.slopesOffset + index] = alibiSlopes[index]; }' : ''}
  if (index >= uniforms.total) { return; }
  let s = index % uniforms.rows;
  let h = (index / uniforms.rows) % uniforms.numHeadsQ;
  let b = index / (uniforms.rows * uniforms.numHeadsQ);
  let o = s * uniforms.oStrideS + b * uniforms.oStrideB + h * uniforms.oStrideH;
  let at = s * uniforms.lseStrideS + b * uniforms.lseStrideB + h * uniforms.lseStrideH;
  var acc = 0.0;
  for (var d = 0; d < uniforms.headDim; d++) { acc += ${this.halfDO ? 'roundToHalf(dOutput[o + d])' : 'dOutput[o + d]'} * output[o + d]; }
  ${this.hasDLse ? 'acc -= dLse[at];' : ''}
  result[at] = lse[at];
  result[uniforms.deltaOffset + at] = acc;
}
`;
  }
}

export class BiasGradProgram extends FlatProgram {
  constructor(private readonly spec: FlashAttentionSpec, size: number, maxPerDimension: number) {
    super({
      // With a padded KV cache its lengths too: 7 inputs and the output, WebGPU's default 8 storage buffers.
      variableNames: ['q', 'k', 'v', 'dOutput', 'stats', 'bias', ...(spec.cacheSeqlens ? ['cacheSeqlens'] : [])], outputSize: size,
      shaderKey: `flashAttentionGradBias|${kernelKey(spec)}`,
      dispatch: spreadDispatch(Math.ceil(size / WORKGROUP), maxPerDimension, 'FlashAttentionGrad'),
      workgroupSize: WORKGROUP, uniforms: biasGradUniforms(spec, 0, 0, 0),
    });
  }

  getUserCode(): string {
    const spec = this.spec;
    return `
const LOG2E : f32 = 1.4426950408889634;
${gradRowLoader('q')}
${gradRowLoader('k')}
${gradRowLoader('v')}
${gradRowLoader('dOutput')}
${gradScoreSnippet(spec)}

fn main(index : i32) {
  if (index >= uniforms.biasSize * uniforms.chunks) { return; }
  let e = index % uniforms.biasSize;
  let chunk = index / uniforms.biasSize;
  let strides = vec4<i32>(uniforms.biasStrideB, uniforms.biasStrideH, uniforms.biasStrideI, uniforms.biasStrideJ);
  let extents = vec4<i32>(uniforms.batch, uniforms.numHeadsQ, uniforms.seqlenQ, uniforms.seqlenK);
  var fixed = vec4<i32>(0);
  var combos = 1;
  for (var a = 0; a < 4; a++) {
    if (strides[a] != 0) { fixed[a] = (e / strides[a]) % extents[a]; } else { combos *= extents[a]; }
  }
  var acc = 0.0;
  let first = chunk * uniforms.perChunk;
  let last = min(combos, first + uniforms.perChunk);
  for (var combo = first; combo < last; combo++) {
    var x = combo;
    var at = fixed;
    for (var a = 3; a >= 0; a--) {
      if (strides[a] == 0) { at[a] = x % extents[a]; x = x / extents[a]; }
    }
    let b = at[0]; let h = at[1]; let i = at[2]; let j = at[3];
    let lenK = ${spec.cacheSeqlens ? cacheLength('cacheSeqlens[b]') : 'uniforms.seqlenK'};
    diagonal = lenK - uniforms.seqlenQ;
    if (j >= lenK || !isVisible(i, j, lenK)) { continue; }
    let hk = h / uniforms.groupSize;
    let lseAt = i * uniforms.lseStrideS + b * uniforms.lseStrideB + h * uniforms.lseStrideH;
    let lse2 = stats[lseAt] * LOG2E;
    if (lse2 == -uniforms.INFINITY) { continue; }
    biasBase = b * uniforms.biasStrideB + h * uniforms.biasStrideH;
    ${spec.alibi !== 'none' ? 'slopeLog2 = LOG2E * stats[uniforms.slopesOffset + b * uniforms.alibiBatchStride + h];' : ''}
    let qb = i * uniforms.qStrideS + b * uniforms.qStrideB + h * uniforms.qStrideH;
    let ob = i * uniforms.oStrideS + b * uniforms.oStrideB + h * uniforms.oStrideH;
    let kb = j * uniforms.kStrideS + b * uniforms.kStrideB + hk * uniforms.kStrideH;
    let vb = j * uniforms.vStrideS + b * uniforms.vStrideB + hk * uniforms.vStrideH;
    var qk = 0.0;
    var dp = 0.0;
    for (var d = 0; d < uniforms.headDim; d += 4) {
      qk += dot(loadRow_q(qb, d), loadRow_k(kb, d));
      dp += dot(loadRow_dOutput(ob, d), loadRow_v(vb, d));
    }
    let p = exp2(scoreLog2(qk, i, j) - lse2);
    if (p != 0.0) { acc += p * (dropoutScale(b, h, i, j) * dp - stats[uniforms.deltaOffset + lseAt]); }
  }
  result[index] = acc;
}
`;
  }
}

export class PartialSumProgram extends FlatProgram {
  constructor(size: number, maxPerDimension: number) {
    super({
      variableNames: ['x'], outputSize: size, shaderKey: 'flashAttentionGradPartialSum',
      dispatch: spreadDispatch(Math.ceil(size / WORKGROUP), maxPerDimension, 'FlashAttentionGrad'),
      workgroupSize: WORKGROUP, uniforms: partialSumUniforms(0, 0, 0, 0, 0, 0, 0),
    });
  }

  getUserCode(): string {
    return `
fn main(index : i32) {
  if (index >= uniforms.count) { return; }
  var acc = 0.0;
  for (var c1 = 0; c1 < uniforms.n1; c1++) {
    for (var c2 = 0; c2 < uniforms.n2; c2++) { acc += x[uniforms.offset + index * uniforms.se + c1 * uniforms.s1 + c2 * uniforms.s2]; }
  }
  result[index] = acc;
}
`;
  }
}
