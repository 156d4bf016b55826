/**
 * The FlashAttention program's uniforms: every shape-dependent value of the spec (sizes, strides,
 * scales), listed once. Their WGSL declaration and their data both come from this list (uniforms.ts).
 */
import type {FlashAttentionSpec, Strides3} from '../../src/spec';
import {SideInput, sideOffsetUniforms} from './side_inputs_program';
import {BlockShape, LaunchPlan, queryBlocks} from './launch_plan';
import {UniformField} from './uniforms';
import {dropoutUniforms} from './forward_snippets';

const LOG2E = Math.LOG2E;

const int = (name: string, value: number): UniformField => ({name, type: 'i32', value});
const float = (name: string, value: number): UniformField => ({name, type: 'f32', value});
const strides = (tensor: string, [b, s, h]: Strides3) =>
    [int(`${tensor}StrideB`, b), int(`${tensor}StrideS`, s), int(`${tensor}StrideH`, h)];

/**
 * Shared by the main pass and the split merge, so both read one declaration.
 * `lseOffset`: where LSE starts in the program's one output buffer (0 when there is no LSE);
 * `sideOffsets`: where each side input starts in the packed side-input buffer.
 */
export function flashAttentionUniforms(
    spec: FlashAttentionSpec, plan: LaunchPlan<BlockShape>, lseOffset: number,
    sideOffsets: Partial<Record<SideInput, number>>): UniformField[] {
  const [bB, bH, bI, bJ] = spec.biasStrides;
  return [
    int('headDim', spec.headDim), int('seqlenQ', spec.seqlenQ), int('seqlenK', spec.seqlenK),
    int('batch', spec.batch), int('numHeadsQ', spec.numHeadsQ), int('groupSize', spec.groupSize),
    int('queryBlocks', queryBlocks(spec, plan.tiles)), int('numSplits', plan.numSplits),
    // A split partial per (split, batch, head, query row): headDim floats of acc, then m and l.
    int('recordSize', spec.headDim + 2),
    ...strides('q', spec.qStrides), ...strides('k', spec.kStrides), ...strides('v', spec.vStrides),
    ...strides('o', spec.oStrides), ...strides('lse', spec.lseStrides), int('lseOffset', lseOffset),
    int('biasStrideB', bB), int('biasStrideH', bH), int('biasStrideI', bI), int('biasStrideJ', bJ),
    int('alibiBatchStride', spec.alibiBatchStride),
    int('windowLeft', spec.windowLeft), int('windowRight', spec.windowRight),
    float('softcapLog2', spec.softcap * LOG2E), ...dropoutUniforms(spec),
    // Scores live in log2 units: exp2(x · log2 e) = exp(x).
    float('qkScaleLog2', spec.softmaxScale * LOG2E),
    float('qDescale', spec.qDescale), float('kDescale', spec.kDescale), float('vDescale', spec.vDescale),
    float('pScale', spec.pScale), float('oScaleInv', spec.oScale > 0 ? 1 / spec.oScale : 1),
    ...sideOffsetUniforms(sideOffsets),
  ];
}
