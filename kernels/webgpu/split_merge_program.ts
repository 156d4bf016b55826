/**
 * The merge of split-KV partials (FlashDecoding): for each query row, the numSplits partials
 * (acc_s unnormalized, m_s in log2 units, l_s) of the main pass combine as
 *   M = max_s m_s,  L = Σ_s 2^(m_s − M) l_s,  O = Σ_s 2^(m_s − M) acc_s / L,  LSE = (M + log2 L) · ln 2,
 * the same rescaling the online softmax applies between key blocks. Rows no key reached (L = 0) give 0
 * and LSE −inf, as in the main pass. A sink is already in split 0's partial (forward_snippets.ts absorbSink),
 * so it joins the merge once, as one more key of that split. One invocation per output element (b, h, i, d); the one with d = 0
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

export class SplitMergeProgram extends FlatProgram {
  constructor(private readonly spec: FlashAttentionSpec, plan: LaunchPlan<BlockShape>, outputSize: number) {
    super({
      variableNames: spec.varlen ? ['partials', 'sideInputs'] : ['partials'], outputSize,
      shaderKey: `flashAttentionSplitMerge|${spec.varlen}|${spec.returnLse}`,
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
  var mMax = -uniforms.INFINITY;
  for (var s = 0; s < uniforms.numSplits; s++) {
    mMax = max(mMax, partials[s * rowStride + row + uniforms.headDim]);
  }
  // All partials empty: shift by 0 so every weight is exp2(-inf) = 0, not NaN.
  let shift = select(mMax, 0.0, mMax == -uniforms.INFINITY);
  var l = 0.0;
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
