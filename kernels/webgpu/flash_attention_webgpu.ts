/**
 * FlashAttention on the webgpu backend: inputs → spec → FlashAttentionProgram → [output] or
 * [output, lse].
 *
 * A tfjs program has one output buffer, so with returnLse the program writes the output followed by
 * the LSE into one buffer, which two CopyRangePrograms split into the two result tensors (the
 * intermediate is disposed; tf.memory() is unchanged). Without LSE the program's buffer is the output.
 * The small side inputs (ALiBi slopes, sinks, cuSeqlens, per-head descales) are first packed into one buffer
 * (SideInputsProgram) so the main program stays within 8 storage buffers. Inputs are bound as flat
 * views; a zero-size input (e.g. Tk = 0 in varlen) is bound as a one-vec4 placeholder, since WebGPU
 * cannot bind an empty buffer.
 */
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {util} from '@tensorflow/tfjs-core';
import {FlashAttention, FlashAttentionAttrs, FlashAttentionInputs} from '../../src/kernel_name';
import {lseShape, outputShape} from '../../src/spec';
import {CopyRangeProgram, copyRangeUniforms} from './copy_range_program';
import {FlashAttentionProgram, flashAttentionInputNames, sideInputNames} from './flash_attention_program';
import {flashAttentionUniforms} from './flash_attention_uniforms';
import {deviceFeatures} from './device_features';
import {BlockShape, LaunchPlan, planLaunch} from './launch_plan';
import {runEnabledProgram} from './own_pipeline';
import {matrixTilesFor} from './tiles/arithmetic';
import {MatrixAttentionProgram} from './tiles/matrix_attention_program';
import {planMatrixLaunch} from './tiles/matrix_plan';
import {SideInput, SideInputsProgram, sideOffsetUniforms} from './side_inputs_program';
import {mergeInvocations, SplitMergeProgram} from './split_merge_program';
import {uniformData} from './uniforms';
import {checkBindingSize, flatView, reshapedInfo} from './webgpu_tensors';

const {sizeFromShape} = util;

/** Packs the side inputs the spec uses into one int32 buffer; returns it and each one's offset. */
function packSideInputs(backend: WebGPUBackend, spec: FlashAttentionAttrs, inputs: FlashAttentionInputs):
    {packed: TensorInfo|null, offsets: Partial<Record<SideInput, number>>} {
  const offsets: Partial<Record<SideInput, number>> = {};
  const present = sideInputNames(spec).map(name => {
    const t = inputs[name];
    if (t == null) throw new Error(`${FlashAttention} (webgpu): the spec needs input '${name}', which is missing`);
    return {name, t};
  });
  if (present.length === 0) return {packed: null, offsets};
  let total = 0;
  for (const {name, t} of present) {
    offsets[name] = total;
    total += sizeFromShape(t.shape);
  }
  const program = new SideInputsProgram(present.map(({name, t}) => ({name, dtype: t.dtype})), total);
  const packed = backend.runWebGPUProgram(
      program, present.map(({t}) => flatView(t)), 'int32', uniformData(sideOffsetUniforms(offsets)));
  return {packed, offsets};
}

function copyRange(backend: WebGPUBackend, x: TensorInfo, offset: number, shape: number[]): TensorInfo {
  const size = sizeFromShape(shape);
  const out = backend.runWebGPUProgram(new CopyRangeProgram(size), [x], 'float32', uniformData(copyRangeUniforms(offset)));
  return reshapedInfo(out, shape);
}

export function flashAttentionWebgpu(args: {
  inputs: FlashAttentionInputs,
  backend: WebGPUBackend,
  attrs: FlashAttentionAttrs
}): TensorInfo[] {
  const {inputs, backend, attrs: spec} = args;
  const limits = backend.device.limits;
  // float16 on matrix tiles where the device and the flag say so and the tiles fit; else float32.
  const tiles = matrixTilesFor(spec, deviceFeatures(backend.device));
  const matrixPlan = tiles != null ? planMatrixLaunch(spec, limits, tiles) : null;
  const plan: LaunchPlan<BlockShape> = matrixPlan ?? planLaunch(spec, limits);
  const outSize = sizeFromShape(outputShape(spec));
  const lseSize = spec.returnLse ? sizeFromShape(lseShape(spec)) : 0;

  // Every size check before any GPU work, so a refused call leaves nothing behind.
  const tensorInputs = flashAttentionInputNames(spec).filter(name => name !== 'sideInputs');
  for (const name of tensorInputs) {
    const t = inputs[name as keyof FlashAttentionInputs];
    if (t == null) throw new Error(`${FlashAttention} (webgpu): the spec needs input '${name}', which is missing`);
    checkBindingSize(backend, FlashAttention, name, sizeFromShape(t.shape));
  }
  checkBindingSize(backend, FlashAttention, spec.returnLse ? 'the output with its LSE' : 'the output', outSize + lseSize);
  const split = plan.numSplits > 1;
  const partialsSize = split ? plan.numSplits * mergeInvocations(spec) / spec.headDim * (spec.headDim + 2) : 0;
  if (split) checkBindingSize(backend, FlashAttention, 'the split-KV partials', partialsSize);

  const {packed, offsets} = packSideInputs(backend, spec, inputs);
  const placeholders: TensorInfo[] = [];
  const programInputs = flashAttentionInputNames(spec).map(name => {
    const t = (name === 'sideInputs' ? packed : inputs[name as keyof FlashAttentionInputs])!;
    if (sizeFromShape(t.shape) > 0) return flatView(t);
    // WebGPU cannot bind an empty buffer; one vec4 is the smallest binding of any input's element type.
    const placeholder = backend.makeTensorInfo([4], t.dtype, t.dtype === 'int32' ? new Int32Array(4) : new Float32Array(4));
    placeholders.push(placeholder);
    return placeholder;
  });

  const uniforms = uniformData(flashAttentionUniforms(spec, plan, outSize, offsets));
  const mainSize = split ? partialsSize : outSize + lseSize;
  const maxPerDim = limits.maxComputeWorkgroupsPerDimension;
  const main = matrixPlan != null ?
      runEnabledProgram(backend, new MatrixAttentionProgram(spec, matrixPlan, tiles!, mainSize, maxPerDim), programInputs, uniforms) :
      backend.runWebGPUProgram(new FlashAttentionProgram(spec, plan as LaunchPlan, mainSize, maxPerDim), programInputs, 'float32', uniforms);
  placeholders.forEach(t => backend.disposeData(t.dataId));
  let written = main;
  if (split) {
    const mergeInputs = packed != null && spec.varlen ? [main, packed] : [main];
    written = backend.runWebGPUProgram(new SplitMergeProgram(spec, plan, outSize + lseSize), mergeInputs, 'float32', uniforms);
    backend.disposeData(main.dataId);
  }
  if (packed != null) backend.disposeData(packed.dataId);
  if (!spec.returnLse) return [reshapedInfo(written, outputShape(spec))];

  const output = copyRange(backend, written, 0, outputShape(spec));
  const lse = copyRange(backend, written, outSize, lseShape(spec));
  backend.disposeData(written.dataId);
  return [output, lse];
}

export const flashAttentionWebgpuConfig: KernelConfig = {
  kernelName: FlashAttention,
  backendName: 'webgpu',
  kernelFunc: flashAttentionWebgpu as unknown as KernelFunc,
};
