/**
 * The merge of split-KV partials (FlashDecoding): for each query row, the numSplits partials
 * (acc_s unnormalized, m_s in log2 units, l_s) of the main pass combine as
 *   M = max_s m_s,  L = Σ_s 2^(m_s − M) l_s,  O = Σ_s 2^(m_s − M) acc_s / L,  LSE = (M + log2 L) · ln 2,
 * the same rescaling the online softmax applies between key blocks. A sink joins here, once per row, as
 * one more partial with m = sink_h · log2 e, l = 1 and acc = 0 (no split adds it). Rows no key reached
 * (L = 0) give 0 and LSE −inf (sink_h with a sink), as in the main pass. One invocation per output element (b, h, i, d); the one with d = 0
 * also writes the LSE. Output layout and uniforms are the main pass's (flash_attention_uniforms.ts), so
 * the webgpu kernel treats this program's buffer exactly as the unsplit program's.
 */
import type {FlashAttentionSpec} from '../../src/spec';
import {FlatProgram, perElementDispatch} from './flat_program';
import {flashAttentionUniforms} from './flash_attention_uniforms';
import {NAN_WGSL} from './nan_wgsl';
import type {BlockShape, LaunchPlan} from './launch_plan';

const WORKGROUP = 64;

/** Output elements the merge computes (and invocations it launches): B · Hq · Sq · D. */
export function mergeInvocations(spec: FlashAttentionSpec): number {
  return spec.batch * spec.numHeadsQ * spec.seqlenQ * spec.headDim;
}

/** The merge reads cuSeqlens (varlen) and the sinks from the packed side inputs. */
export function mergeNeedsSideInputs(spec: FlashAttentionSpec): boolean {
  return spec.varlen || spec.sinks;
}

export class SplitMergeProgram extends FlatProgram {
  constructor(private readonly spec: FlashAttentionSpec, plan: LaunchPlan<BlockShape>, outputSize: number) {
    super({
      variableNames: mergeNeedsSideInputs(spec) ? ['partials', 'sideInputs'] : ['partials'], outputSize,
      shaderKey: `flashAttentionSplitMerge|${spec.varlen}|${spec.returnLse}|${spec.sinks}`,
      dispatch: perElementDispatch(mergeInvocations(spec), WORKGROUP), workgroupSize: WORKGROUP,
      uniforms: flashAttentionUniforms(spec, plan, 0, {}),
    });
  }

  getUserCode(): string {
    const spec = this.spec;
    const seqBounds = spec.varlen ? `
  startQ = sideInputs[uniforms.cuSeqlensQOffset + b];
  lenQ = sideInputs[uniforms.cuSeqlensQOffset + b + 1] - startQ;` : '';
    return `${NAN_WGSL}
const LN2 : f32 = 0.6931471805599453;
const LOG2E : f32 = 1.4426950408889634;

fn main(index : i32) {
  let d = index % uniforms.headDim;
  let i = (index / uniforms.headDim) % uniforms.seqlenQ;
  let bh = index / (uniforms.headDim * uniforms.seqlenQ);
  let h = bh % uniforms.numHeadsQ;
  let b = bh / uniforms.numHeadsQ;
  if (b >= uniforms.batch) { return; }
  var startQ = 0; var lenQ = uniforms.seqlenQ;${seqBounds}
  if (i >= lenQ) { return; }

  let rowStride = uniforms.batch * uniforms.numHeadsQ * uniforms.seqlenQ * uniforms.recordSize;
  let row = ((b * uniforms.numHeadsQ + h) * uniforms.seqlenQ + i) * uniforms.recordSize;
  ${spec.sinks ? 'let sinkLog2 = LOG2E * bitcast<f32>(sideInputs[uniforms.sinksOffset + h]);' : ''}
  var mMax = ${spec.sinks ? 'sinkLog2' : '-uniforms.INFINITY'};
  for (var s = 0; s < uniforms.numSplits; s++) {
    mMax = max(mMax, partials[s * rowStride + row + uniforms.headDim]);
  }
  // All partials empty: shift by 0 so every weight is exp2(-inf) = 0, not NaN.
  let shift = select(mMax, 0.0, mMax == -uniforms.INFINITY);
  var l = ${spec.sinks ? 'exp2(sinkLog2 - shift)' : '0.0'};
  var o = 0.0;
  var nanRow = false;  // a split whose l is NaN (a NaN score, nan_wgsl.ts) makes the row NaN
  for (var s = 0; s < uniforms.numSplits; s++) {
    let record = s * rowStride + row;
    nanRow = nanRow || isNonFinite(partials[record + uniforms.headDim + 1]);
    let weight = exp2(partials[record + uniforms.headDim] - shift);
    if (weight == 0.0) { continue; }  // an empty split takes no part, not even as 0 · NaN
    l += weight * partials[record + uniforms.headDim + 1];
    o += weight * partials[record + d];
  }
  let oIndex = (startQ + i) * uniforms.oStrideS + b * uniforms.oStrideB + h * uniforms.oStrideH + d;
  result[oIndex] = select(select(o / l * uniforms.oScaleInv, 0.0, l == 0.0), uniforms.NAN, nanRow);
  ${spec.returnLse ? `if (d == 0) {
    result[uniforms.lseOffset + (startQ + i) * uniforms.lseStrideS + b * uniforms.lseStrideB + h * uniforms.lseStrideH] =
        select(select((mMax + log2(l)) * LN2, -uniforms.INFINITY, l == 0.0), uniforms.NAN, nanRow);
  }` : ''}
}
`;
  }
}
