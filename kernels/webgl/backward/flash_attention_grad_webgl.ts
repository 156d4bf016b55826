/**
 * FlashAttentionGrad on the webgl backend: FlashAttention-2's backward (semantics of
 * kernels/cpu/attention_backward_loop.ts), in draws of RGBA fragments, key block by key block, like
 * the forward (../flash_attention_webgl.ts explains why); here a fragment owns one 2×2 texel.
 *
 * ALGORITHM. The forward saved O and the LSE, so P never needs a second online softmax:
 *   prep       Q̃ = Q · softmaxScale · log2 e, K, V, dO in the 2×2 row layout (../pack_rows_program.ts);
 *              per row pair (lse · log2 e, D = rowsum(dO ∘ O) − dLse) (row_grad_program.ts) and the
 *              sequence facts (../row_info_program.ts); bias copied to a dense texture.
 *   per block of BLOCK_N keys (outer loop over keys, as in FA2):
 *     1. P  = exp2(Q̃ Kᵀ + bias·log2 e − ALiBi − lse·log2 e), masked     (grad_probs_program.ts)
 *     2. dS = P ∘ (dO Vᵀ − D)                                              (dscores_program.ts)
 *     3. dV_j = Σ_i P_ij dO_i,  dK_j = Σ_i dS_ij Q̃_i over the group's query heads  (dkv_program.ts)
 *     4. dQ_i += dS_ij K_j, and the ALiBi term Σ_j dS_ij·|i + Sk − Sq − j|   (dq_program.ts)
 *     5. dBias += dS summed over the bias's broadcast axes (with a bias)    (dbias_program.ts)
 *   epilogue   dQ · softmaxScale, dK · ln 2 (Q̃'s scale / softmaxScale), dV in the caller's layouts
 *              (grad_output_program.ts); dBias, dSlopes (side_grads_program.ts).
 * Rows with no visible key (lse = -inf) have P = 0, hence zero gradients, as on the cpu.
 *
 * COST. Draws: 6 prep (+1 bias copy, +2 cuSeqlens copies for varlen) + 4 per key block (5 with a
 * bias) + 3 epilogue (+1 dBias, +1 dSlopes). At B1 H8 S1024 D64 (R = B·Hq·Sq = 8192 rows,
 * BLOCK_N = 256): 4 blocks, 25 draws.
 * Texture bytes (fp32): P and dS of one block, R·BLOCK_N·4 B each = 8 MiB (never Sq × Sk);
 * dQ accumulator R·D·4 B = 2 MiB (+R·8 B with ALiBi), ×2 ping-pong; dK/dV accumulator
 * 2·B·Hk·Sk·D·4 B = 4 MiB, ×2 ping-pong (each draw copies the other blocks' keys: B·Hk·Sk·D/2 texel
 * fetches per block, small next to the block's R·BLOCK_N·D/2); Q̃, dO: R·D·4 B; K, V: B·Hk·Sk·D·4 B;
 * row statistics R·8 B.
 * Texel fetches: steps 1, 2 and 4 read R·BLOCK_N·D/4 per block each, like the forward's QKᵀ and
 * P·V; step 3 twice that (dK and dV), reading P / dS down a key pair's column (one texel per row
 * pair, walked without divisions). dK/dV's layout is paired so that a fragment quad holds adjacent
 * key pairs of one block (all computing, or all copying). dBias reads each dS element once per bias
 * element it feeds.
 * Measured (SwiftShader, B1 H8 S1024 D64, each draw synced, noisy 2-core machine): forward 1.2 s;
 * backward ≈ 2.9 s: P 0.5, dS 0.5, dK/dV 1.4, dQ 0.5, the rest < 0.1 (causal: forward 0.7, backward 1.9).
 * Limits: the forward's (float32 render textures; every texture within MAX_TEXTURE_SIZE², checked
 * by texel_layout.ts with a clear error). FP8 inputs never get here (gradient.ts refuses them).
 */
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';
import {KernelConfig, KernelFunc, TensorInfo, util} from '@tensorflow/tfjs-core';
import {FlashAttentionAttrs, FlashAttentionGrad, FlashAttentionGradInputs} from '../../../src/kernel_name';
import type {FlashAttentionSpec} from '../../../src/spec';
import {denseCopy, denseLayout} from '../dense_copy_program';
import {packRowsProgram, rowSide} from '../pack_rows_program';
import {rowInfoInputs, rowInfoProgram} from '../row_info_program';
import type {TexelLayout} from '../texel_layout';
import {flatView} from '../webgl_inputs';
import {requireWebGL2Float32, runProgram} from '../webgl_program';
import {dBiasProgram} from './dbias_program';
import {dkvProgram} from './dkv_program';
import {droppedProbsProgram} from './dropped_probs_program';
import {dqProgram} from './dq_program';
import {dScoresProgram} from './dscores_program';
import {gradGeometry, GradGeometry} from './grad_geometry';
import {gradOutputProgram} from './grad_output_program';
import {gradProbsProgram} from './grad_probs_program';
import {rowGradProgram} from './row_grad_program';
import {denseOutputProgram, dSlopesProgram} from './side_grads_program';

const NAME = 'flashAttention gradient (webgl)';

/** Q̃, K, V or dO in the 2×2 row layout of ../geometry.ts, times `scale`. */
function packRows(
    backend: MathBackendWebGL, spec: FlashAttentionSpec, geo: GradGeometry, x: TensorInfo, side: 'q'|'k',
    strides: FlashAttentionSpec['qStrides'], scale: number, cu: TensorInfo|undefined, temps: TensorInfo[]): TensorInfo {
  const program = packRowsProgram({
    format: null, varlen: spec.varlen, headScale: false, groupScale: false,
    ...rowSide(spec, geo, side), strides, headDim: spec.headDim, scale, groupB: spec.groupSize,
  });
  return runProgram(backend, program, [x, ...(cu ? [cu] : [])].map(t => flatView(backend, t, temps)));
}

function flashAttentionGradWebGL(args: {
  inputs: FlashAttentionGradInputs,
  backend: MathBackendWebGL,
  attrs: FlashAttentionAttrs
}): TensorInfo[] {
  const {inputs, backend, attrs: spec} = args;
  if (spec.fp8Mode !== 'none') throw new Error(`${NAME}: FP8 inputs are forward-only; gradients need float32 q, k and v`);
  const sides = [inputs.q, inputs.k, inputs.v, ...(inputs.bias ? [inputs.bias] : []),
                 ...(inputs.alibiSlopes ? [inputs.alibiSlopes] : [])];
  const qSize = util.sizeFromShape(inputs.q.shape), kSize = util.sizeFromShape(inputs.k.shape);
  // No query rows or no keys: every gradient is 0 (a row with no visible key contributes nothing).
  if (qSize === 0 || kSize === 0) {
    return sides.map(t => backend.makeTensorInfo(t.shape, 'float32', new Float32Array(util.sizeFromShape(t.shape))));
  }
  requireWebGL2Float32(NAME);
  const geo = gradGeometry(spec);
  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo) => (temps.push(t), t);
  const cuQ = spec.varlen ? inputs.cuSeqlensQ! : undefined, cuK = spec.varlen ? inputs.cuSeqlensK! : undefined;

  // -- prep: Q̃, K, V, dO in the row layout; per-row facts; the bias as a dense texture --
  const q = keep(packRows(backend, spec, geo, inputs.q, 'q', spec.qStrides, spec.softmaxScale * Math.LOG2E, cuQ, temps));
  const k = keep(packRows(backend, spec, geo, inputs.k, 'k', spec.kStrides, 1, cuK, temps));
  const v = keep(packRows(backend, spec, geo, inputs.v, 'k', spec.vStrides, 1, cuK, temps));
  const dout = keep(packRows(backend, spec, geo, inputs.dOutput, 'q', spec.oStrides, 1, cuQ, temps));
  const rowInfo = keep(runProgram(backend, rowInfoProgram(spec, geo.rowStats, geo.seqQPadded),
                                  rowInfoInputs(spec, inputs).map(t => flatView(backend, t, temps))));
  const statsInputs = [inputs.output, inputs.dOutput, inputs.lse, ...(inputs.dLse ? [inputs.dLse] : []), ...(cuQ ? [cuQ] : [])];
  const stats = keep(runProgram(backend, rowGradProgram(spec, geo.rowStats, geo.seqQPadded, inputs.dLse != null),
                                statsInputs.map(t => flatView(backend, t, temps))));
  const bias = inputs.bias ? denseCopy(backend, inputs.bias, 'the bias', temps) : null;
  const biasSize = inputs.bias ? util.sizeFromShape(inputs.bias.shape) : 0;
  const dBiasLayout = inputs.bias ? denseLayout(biasSize, 'dBias') : null;

  // -- key blocks: P → dS → (dK, dV), dQ, dBias; accumulators ping-ponged between draws --
  let dq: TensorInfo|null = null, dkv: TensorInfo|null = null, dBias: TensorInfo|null = null;
  for (let block = 0; block < geo.numBlocks; block++) {
    const j0 = block * geo.blockN, first = block === 0;
    const probs = runProgram(backend, gradProbsProgram(spec, geo, j0, bias?.layout ?? null),
                             [q, k, rowInfo, stats, ...(bias ? [bias.info] : [])]);
    // dS for bias and ALiBi; under a soft-cap dQ and dK take dS through the cap (dsQK), a pass of its own
    // only when bias or ALiBi also need the plain dS.
    const cap = spec.softcap > 0, plainNeeded = !cap || bias != null || spec.alibi !== 'none';
    const dsInputs = [probs, dout, v, stats, rowInfo];
    const dscores = plainNeeded ? runProgram(backend, dScoresProgram(spec, geo, j0, false), dsInputs) : null;
    const dsQK = cap ? runProgram(backend, dScoresProgram(spec, geo, j0, true), [...dsInputs, q, k]) : dscores!;
    const separateSlopeScores = cap && spec.alibi !== 'none';
    // Dropout: dV takes P ∘ Z (the forward's mask, regenerated), dS the plain P.
    const probsForDv = spec.dropoutRate > 0 ? runProgram(backend, droppedProbsProgram(spec, geo, j0), [probs]) : probs;
    const newDkv = runProgram(backend, dkvProgram(spec, geo, j0, first), [probsForDv, dsQK, q, dout, rowInfo, dkv ?? q]);
    const newDq = runProgram(backend, dqProgram(spec, geo, j0, first, separateSlopeScores),
                             [dsQK, k, rowInfo, dq ?? q, ...(separateSlopeScores ? [dscores!] : [])]);
    const newDBias: TensorInfo|null = dBiasLayout ?
        runProgram(backend, dBiasProgram(spec, geo, dBiasLayout, biasSize, j0, first), [dscores!, dBias ?? dscores!]) : null;
    for (const t of new Set([probs, probsForDv, dscores, dsQK, dkv, dq, dBias])) if (t) backend.disposeIntermediateTensorInfo(t);
    dkv = newDkv;
    dq = newDq;
    dBias = newDBias;
  }
  temps.push(dkv!, dq!, ...(dBias ? [dBias] : []));

  // -- epilogue: the caller's layouts --
  const cuQCopy = cuQ ? denseCopy(backend, cuQ, 'cuSeqlensQ', temps) : null;
  const cuKCopy = cuK ? denseCopy(backend, cuK, 'cuSeqlensK', temps) : null;
  const toCaller = (acc: TensorInfo, side: 'q'|'k', layout: TexelLayout, texelOffset: number, scale: number, shape: number[]) => {
    const cu = side === 'q' ? cuQCopy : cuKCopy;
    const out = runProgram(backend, gradOutputProgram(spec, geo, {
      side, acc: layout, texelOffset, scale, size: util.sizeFromShape(shape), cuLayout: cu?.layout ?? null,
    }), [acc, ...(cu ? [cu.info] : [])]);
    return {dataId: out.dataId, shape, dtype: 'float32' as const};
  };
  const outputs: TensorInfo[] = [
    toCaller(dq!, 'q', geo.dq, 0, spec.softmaxScale, inputs.q.shape),
    toCaller(dkv!, 'k', geo.dkv, 0, Math.LN2, inputs.k.shape),
    toCaller(dkv!, 'k', geo.dkv, geo.dTexels, 1, inputs.v.shape),
  ];
  if (dBias) {
    const out = runProgram(backend, denseOutputProgram(dBiasLayout!, biasSize), [dBias]);
    outputs.push({dataId: out.dataId, shape: inputs.bias!.shape, dtype: 'float32'});
  }
  if (inputs.alibiSlopes) {
    const shape = inputs.alibiSlopes.shape;
    const out = runProgram(backend, dSlopesProgram(spec, geo, util.sizeFromShape(shape)), [dq!]);
    outputs.push({dataId: out.dataId, shape, dtype: 'float32'});
  }
  for (const t of temps) backend.disposeIntermediateTensorInfo(t);
  return outputs;
}

export const flashAttentionGradWebGLConfig: KernelConfig = {
  kernelName: FlashAttentionGrad,
  backendName: 'webgl',
  kernelFunc: flashAttentionGradWebGL as unknown as KernelFunc,
};
