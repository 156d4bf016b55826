/**
 * FlashAttentionGrad on the webgpu backend (FlashAttention-2 backward; semantics of
 * kernels/cpu/attention_backward_loop.ts). Passes, in order:
 *   1. DeltaProgram        one buffer [lse | D = rowsum(dO ∘ O) − dLse | ALiBi slopes] (the "stats")
 *   2. dK/dV pass          one buffer [dK | dV], split by two CopyRangePrograms
 *   3. dQ pass             dQ (followed, with ALiBi, by per-query-block partial sums of dSlope)
 *      (2 and 3: MatrixGradProgram, the float16 passes on matrix tiles, for a float16 call where
 *      matrixTilesFor gives tiles and both passes fit the device's workgroup memory; else both
 *      FlashAttentionGradProgram)
 *   4. BiasGradProgram + PartialSumProgram    dBias (only with a bias)
 *   5. PartialSumProgram   dAlibiSlopes from the dQ pass's partials (only with ALiBi)
 * Nothing of size Sq × Sk is allocated (dBias has the bias's own size). Every intermediate is disposed, so
 * tf.memory() only grows by the returned tensors. Zero-size inputs are bound as 1-element placeholders.
 */
import type {WebGPUBackend, WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import {util} from '@tensorflow/tfjs-core';
import {FlashAttentionAttrs, FlashAttentionGrad, FlashAttentionGradInputs} from '../../../src/kernel_name';
import {CopyRangeProgram, copyRangeUniforms} from '../copy_range_program';
import {uniformData} from '../uniforms';
import {checkBindingSize, flatView, reshapedInfo} from '../webgpu_tensors';
import {FlashAttentionGradProgram, gradInputNames} from './grad_program';
import {chooseGradTiles, GradPass} from './grad_tiles';
import {MatrixGradProgram} from './matrix_grad_program';
import {chooseMatrixGradShape, residentRows} from './matrix_grad_shape';
import {deviceFeatures} from '../device_features';
import {runEnabledProgram} from '../own_pipeline';
import {matrixTilesFor} from '../tiles/arithmetic';
import {biasGradUniforms, deltaUniforms, gradUniforms, partialSumUniforms, statsLayout} from './grad_uniforms';
import {BiasGradProgram, DeltaProgram, PartialSumProgram} from './small_programs';

const {sizeFromShape} = util;
const NAME = FlashAttentionGrad;

export function flashAttentionGradWebgpu(args: {
  inputs: FlashAttentionGradInputs,
  backend: WebGPUBackend,
  attrs: FlashAttentionAttrs
}): TensorInfo[] {
  const {inputs, backend, attrs: spec} = args;
  if (spec.fp8Mode !== 'none') throw new Error(`${NAME} (webgpu): FP8 inputs are forward-only`);
  const limits = backend.device.limits;
  const maxDim = limits.maxComputeWorkgroupsPerDimension;
  const temporaries: TensorInfo[] = [];
  const temp = (t: TensorInfo) => (temporaries.push(t), t);
  const empty = (shape: number[]) => backend.makeTensorInfo(shape, 'float32', new Float32Array(sizeFromShape(shape)));

  const bind = (name: string, t: TensorInfo|undefined): TensorInfo => {
    if (t == null) throw new Error(`${NAME} (webgpu): the spec needs input '${name}', which is missing`);
    const size = sizeFromShape(t.shape);
    checkBindingSize(backend, NAME, name, size);
    if (size > 0) return flatView(t);
    return temp(backend.makeTensorInfo([1], t.dtype, t.dtype === 'int32' ? new Int32Array(1) : new Float32Array(1)));
  };
  const run = (program: WebGPUProgram, ins: TensorInfo[], uniforms: ReturnType<typeof uniformData>) =>
      backend.runWebGPUProgram(program, ins, 'float32', uniforms);

  const qSize = sizeFromShape(inputs.q.shape), kSize = sizeFromShape(inputs.k.shape);
  checkBindingSize(backend, NAME, 'dK with dV', 2 * kSize);

  // The two main passes run on matrix tiles for a float16 call where the device and the flag say so and
  // both passes' shapes fit its workgroup memory; else both run the float32 programs. Both or neither: they
  // share D_i, which is of the rounded dO exactly when the passes round dO.
  const matrixTiles = () => matrixTilesFor(spec, deviceFeatures(backend.device));
  const shapeOf = (pass: GradPass) => {
    const tiles = matrixTiles();
    return tiles == null ? null : chooseMatrixGradShape(
        pass, spec.headDim, limits.maxComputeWorkgroupStorageSize, tiles, limits.maxComputeInvocationsPerWorkgroup);
  };
  const dkdvShape = shapeOf('dkdv'), dqShape = shapeOf('dq');
  const matrixShapes = dkdvShape != null && dqShape != null ? {dkdv: dkdvShape, dq: dqShape} : null;

  // -- 1. delta --
  const named: Record<string, TensorInfo> = {};
  for (const name of ['q', 'k', 'v', 'dOutput', 'output', 'lse', 'bias', 'alibiSlopes', 'cuSeqlensQ', 'cuSeqlensK', 'cacheSeqlens', 'dLse']) {
    const t = inputs[name as keyof FlashAttentionGradInputs];
    if (t != null) named[name] = bind(name, t);
  }
  // stats = [lse | D | slopes]: one binding (see small_programs.ts)
  const layout = statsLayout(spec);
  checkBindingSize(backend, NAME, 'the LSE with D and slopes', layout.size);
  let stats: TensorInfo;
  const threads = Math.max(layout.lseSize, layout.slopesSize);
  if (threads > 0) {
    const hasDLse = inputs.dLse != null, hasSlopes = layout.slopesSize > 0;
    const ins = [named.output, named.dOutput, named.lse];
    if (hasDLse) ins.push(named.dLse);
    if (hasSlopes) ins.push(named.alibiSlopes);
    // D_i of the rounded dO where the main passes round it (the matrix tiles).
    const halfDO = matrixShapes != null;
    stats = temp(run(new DeltaProgram(spec, hasDLse, hasSlopes, threads, layout.size, maxDim, halfDO), ins, uniformData(deltaUniforms(spec))));
  } else {
    stats = temp(empty([1]));
  }
  named.stats = stats;
  const mainInputs = gradInputNames(spec).map(name => {
    if (named[name] == null) throw new Error(`${NAME} (webgpu): the spec needs input '${name}', which is missing`);
    return named[name];
  });

  const mainPass = (pass: GradPass): {blocks: number, run: (outputSize: number, extraOffset: number) => TensorInfo} => {
    const rows = pass === 'dkdv' ? spec.seqlenK : spec.seqlenQ;
    const heads = pass === 'dkdv' ? spec.numHeadsK : spec.numHeadsQ;
    const shape = matrixShapes != null ? matrixShapes[pass] : null;
    const tiles = shape == null ? chooseGradTiles(pass, spec.headDim, limits.maxComputeWorkgroupStorageSize, pass === 'dkdv' && spec.causal) : null;
    const blocks = Math.ceil(rows / (shape != null ? residentRows(shape) : pass === 'dkdv' ? tiles!.blockN : tiles!.blockM));
    const workgroups = blocks * heads * spec.batch;
    return {blocks, run: (outputSize, extraOffset) => {
      const uniforms = uniformData(gradUniforms(spec, blocks, extraOffset));
      return shape != null ?
          // Tiles of their own per program (the portable tiles collect the helpers its shader uses).
          runEnabledProgram(backend, new MatrixGradProgram(spec, shape, matrixTiles()!, outputSize, workgroups, maxDim), mainInputs, uniforms) :
          run(new FlashAttentionGradProgram(spec, tiles!, outputSize, workgroups, maxDim), mainInputs, uniforms);
    }};
  };

  // -- 2. dK, dV --
  let dk: TensorInfo, dv: TensorInfo;
  if (kSize > 0) {
    const both = temp(mainPass('dkdv').run(2 * kSize, kSize));
    const copy = (offset: number) => reshapedInfo(
        run(new CopyRangeProgram(kSize), [both], uniformData(copyRangeUniforms(offset))), inputs.k.shape);
    dk = copy(0);
    dv = copy(kSize);
  } else {
    dk = empty(inputs.k.shape);
    dv = empty(inputs.v.shape);
  }

  // -- 3. dQ (+ ALiBi partials) --
  const hasAlibi = spec.alibi !== 'none';
  let dq: TensorInfo;
  let slopePartials: TensorInfo|null = null, queryBlocks = 0;
  if (qSize > 0) {
    const pass = mainPass('dq');
    queryBlocks = pass.blocks;
    const partials = hasAlibi ? spec.batch * spec.numHeadsQ * queryBlocks : 0;
    checkBindingSize(backend, NAME, 'dQ', qSize + partials);
    const out = pass.run(qSize + partials, qSize);
    if (hasAlibi) {
      slopePartials = temp(out);
      dq = reshapedInfo(run(new CopyRangeProgram(qSize), [out], uniformData(copyRangeUniforms(0))), inputs.q.shape);
    } else {
      dq = reshapedInfo(out, inputs.q.shape);
    }
  } else {
    dq = empty(inputs.q.shape);
  }
  const outputs = [dq, dk, dv];

  // -- 4. dBias --
  if (spec.bias === 'matrix') {
    const biasShape = inputs.bias!.shape, biasSize = sizeFromShape(biasShape);
    const extents = [spec.batch, spec.numHeadsQ, spec.seqlenQ, spec.seqlenK];
    const combos = extents.reduce((acc, n, a) => (spec.biasStrides[a] === 0 ? acc * n : acc), 1);
    // Enough invocations to fill a GPU, at most max(2^16, |bias|) partials.
    const chunks = Math.max(1, Math.min(combos, Math.ceil(65536 / Math.max(1, biasSize))));
    const perChunk = Math.ceil(combos / chunks);
    if (biasSize === 0 || qSize === 0 || kSize === 0) {
      outputs.push(empty(biasShape));
    } else {
      checkBindingSize(backend, NAME, 'the dBias partial sums', biasSize * chunks);
      const ins = [named.q, named.k, named.v, named.dOutput, stats, named.bias, ...(spec.cacheSeqlens ? [named.cacheSeqlens] : [])];
      const partial = temp(run(
          new BiasGradProgram(spec, biasSize * chunks, maxDim), ins, uniformData(biasGradUniforms(spec, biasSize, chunks, perChunk))));
      outputs.push(reshapedInfo(run(new PartialSumProgram(biasSize, maxDim), [partial],
          uniformData(partialSumUniforms(biasSize, 1, chunks, biasSize, 1, 0, 0))), biasShape));
    }
  }

  // -- 5. dAlibiSlopes --
  if (hasAlibi) {
    const slopesShape = inputs.alibiSlopes!.shape, slopesSize = sizeFromShape(slopesShape);
    if (slopePartials == null || slopesSize === 0) {
      outputs.push(empty(slopesShape));
    } else {
      // partial (b, h, block) sits at qSize + (b·Hq + h)·blocks + block; slope e = b·alibiBatchStride + h.
      const perBatch = spec.alibiBatchStride !== 0;
      outputs.push(reshapedInfo(run(new PartialSumProgram(slopesSize, maxDim), [slopePartials], uniformData(partialSumUniforms(
          slopesSize, queryBlocks, perBatch ? 1 : spec.batch, spec.numHeadsQ * queryBlocks, queryBlocks, 1, qSize))), slopesShape));
    }
  }

  temporaries.forEach(t => backend.disposeData(t.dataId));
  return outputs;
}

export const flashAttentionGradWebgpuConfig: KernelConfig = {
  kernelName: FlashAttentionGrad,
  backendName: 'webgpu',
  kernelFunc: flashAttentionGradWebgpu as unknown as KernelFunc,
};
