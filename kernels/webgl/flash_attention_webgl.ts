/**
 * FlashAttention on the webgl backend: inputs → spec → programs → outputs.
 *
 * DESIGN. A WebGL fragment writes 4 floats per render target (one RGBA texel), so one fragment cannot
 * own a whole output row of D values. Options, costed for B1 H8 S1024 (R = B·H·Sq = 8192 rows,
 * Sk = 1024 keys), N = BLOCK_N = 256, fp32 textures:
 *
 *   A. one draw, fragment = (query row, 4-wide slice of D), loop over all keys, score recomputed
 *      per slice: QK work × D/4.  FLOPs (D=64): 2·R·Sk·D·(D/4 + 1) = 36 GFLOP (vs 2.1 minimal);
 *      D=128: 140 GFLOP (vs 4.3).  1 draw, no intermediate texture.  Far too slow in software.
 *   B. LSE pass (fragment per row, all keys) then output pass (fragment per row × 4-slice, scores
 *      recomputed against the final LSE): still QK × D/4 in the second pass: 35 / 139 GFLOP, 2 draws.
 *   C. (chosen) FlashAttention-2 recurrence, one set of draws per key block, state in ping-pong
 *      textures: per block  S = Q Kᵀ → (m, l) per row → P = exp2(S - m) → acc = acc·α + P V.
 *      FLOPs = the minimal 4·R·Sk·D (2.1 / 4.3 GFLOP) + R·Sk exps ×2.
 *      Draws: 5 prep (Q, K, V, row info, [bias/cuSeqlens copy]) + 4 per block + 1 output (+1 LSE):
 *      4 blocks → 22 draws at S=1024, 32 blocks → 134 at S=8192.
 *      Texture bytes: S and P of one block = R·N·4 B = 8 MiB each (never Sq × Sk; 64 MiB at S=8192,
 *      H8); acc = R·D·4 = 2 MiB (D=64) / 4 MiB (D=128), ×2 ping-pong; (m, l) = R·8 B; Q̃ = R·D·4,
 *      K̃, Ṽ = B·Hk·Sk·D·4 each. tfjs's matMul→softmax→matMul writes the whole R×Sk score matrix
 *      (32 MiB here, 2 GiB at S=8192) three to four times.
 *      Texel fetches (what a software GPU pays for): with 2×2-texel fragments (one render target, as
 *      tfjs's packed matMul) QKᵀ and PV cost R·Sk·D/4 = 134M fetches each at D=64 (8 multiply-adds per 2
 *      fetches). The block passes therefore draw to four render targets (multi_output_program.ts): a
 *      fragment owns a 4×4 tile, 32 multiply-adds per 4 fetches in QKᵀ, 64 per 8 in PV: R·Sk·D/8 = 67M
 *      each. Four targets is WebGL2's guaranteed minimum (MAX_DRAW_BUFFERS ≥ 4). Row statistics and P
 *      add ~R·Sk/2 fetches.
 *   Same algorithm, other splits: a single pass per block that recomputes the row max per P texel
 *   costs R·Sk·N/8 more fetches (≈ QKᵀ itself at N=256), hence the separate (m, l) draw.
 *
 * WHERE THE TIME GOES (SwiftShader, B1 H8 S1024 D64; BENCHMARKS.md has the history): with one render
 * target the QKᵀ and P·V loops were ~85% (0.9 s + 1.0 s of 2.1 s, each draw timed alone), row stats + P
 * ~8%, prep and epilogue ~4%. A stand-alone QKᵀ draw ran 1.5–1.7× faster as 4×4 tiles on four targets
 * (107 → 64–73 ms); the whole op went from 1.46 s to 0.86 s (idle machine, BENCHMARKS.md). The loops also run in
 * constant-trip chunks (block_common.ts unrolledLoop): SwiftShader executes a loop with a run-time bound
 * lane-masked step by step, 2–3× slower.
 *
 * Every block pass reads only this folder's texel-addressed textures (texel_layout.ts); the prep
 * passes resolve layout, strides, GQA, varlen, FP8 and float16 decoding and scales once, so the key loop is the
 * same program for every layout. The LSE is a second draw over the final (m, l) textures.
 * Limits: WebGL 2 (texelFetch, integer ops, multiple render targets; WebGL 1 is refused with a clear
 * error); float32 render textures (float16 ones would round sequence lengths, indices stored as floats
 * past 2048 and the unnormalized acc: refused with a clear error); every texture within
 * MAX_TEXTURE_SIZE² texels (texel_layout.ts throws otherwise).
 */
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';
import {KernelConfig, KernelFunc, TensorInfo, util} from '@tensorflow/tfjs-core';
import {FlashAttention, FlashAttentionAttrs, FlashAttentionInputs} from '../../src/kernel_name';
import {FlashAttentionSpec, lseShape, outputShape} from '../../src/spec';
import {accumulateProgram} from './accumulate_program';
import {denseCopy} from './dense_copy_program';
import {wordsAsHalves} from './fp8_words';
import {geometry, Geometry} from './geometry';
import {lseProgram} from './lse_program';
import {runMultiOutputProgram} from './multi_output_program';
import {outputProgram} from './output_program';
import {packRowsProgram, rowSide} from './pack_rows_program';
import {probsProgram} from './probs_program';
import {rowInfoInputs, rowInfoProgram} from './row_info_program';
import {rowStatsProgram} from './row_stats_program';
import {scoresProgram} from './scores_program';
import {flatView} from './webgl_inputs';
import {requireWebGL2Float32, runProgram} from './webgl_program';

const NAME = 'flashAttention (webgl)';

/** Q̃, K̃ or Ṽ in the 2×2 row layout; see pack_rows_program.ts for the scale each one carries. */
function packRows(
    backend: MathBackendWebGL, spec: FlashAttentionSpec, geo: Geometry, role: 'q'|'k'|'v',
    inputs: FlashAttentionInputs, temps: TensorInfo[]): TensorInfo {
  const format = role === 'q' ? spec.qFormat : role === 'k' ? spec.kFormat : spec.vFormat;
  const storage = role === 'q' ? spec.qStorage : role === 'k' ? spec.kStorage : spec.vStorage;
  const packed = storage !== 'float32';
  const source = packed ? wordsAsHalves(backend, inputs[role], NAME, storage === 'fp8' ? 'FP8' : 'float16') : inputs[role];
  if (packed) temps.push(source);
  const isQ = role === 'q', full = spec.fp8Mode === 'full', kvOnly = spec.fp8Mode === 'kv';
  const aux: TensorInfo[] = [];
  if (spec.varlen) aux.push(isQ ? inputs.cuSeqlensQ! : inputs.cuSeqlensK!);
  let scale = 1;
  let headScale: TensorInfo|undefined, groupScale: TensorInfo|undefined;
  if (isQ) {
    scale = spec.softmaxScale * Math.LOG2E * (full ? spec.qDescale * spec.kDescale : 1);
    if (full && spec.qDescaleKind === 'perHead') headScale = inputs.qDescale;
    if (full && spec.kDescaleKind === 'perHead') groupScale = inputs.kDescale;
  } else if (role === 'k' && kvOnly) {
    scale = spec.kDescale;
    if (spec.kDescaleKind === 'perHead') headScale = inputs.kDescale;
  } else if (role === 'v' && spec.fp8Mode !== 'none') {
    scale = spec.vDescale;
    if (spec.vDescaleKind === 'perHead') headScale = inputs.vDescale;
  }
  if (headScale) aux.push(headScale);
  if (groupScale) aux.push(groupScale);
  const program = packRowsProgram({
    format, storage, varlen: spec.varlen, headScale: headScale != null, groupScale: groupScale != null,
    ...rowSide(spec, geo, isQ ? 'q' : 'k'),
    strides: isQ ? spec.qStrides : role === 'k' ? spec.kStrides : spec.vStrides,
    headDim: spec.headDim, scale, groupB: spec.groupSize,
  });
  return runProgram(backend, program, [source, ...aux].map(t => flatView(backend, t, temps)));
}

export function flashAttentionWebGL(args: {
  inputs: FlashAttentionInputs,
  backend: MathBackendWebGL,
  attrs: FlashAttentionAttrs
}): TensorInfo[] {
  const {inputs, backend, attrs: spec} = args;
  const outShape = outputShape(spec), outSize = util.sizeFromShape(outShape);
  const lseSize = util.sizeFromShape(lseShape(spec));
  if (outSize === 0) {
    const outputs = [backend.makeTensorInfo(outShape, 'float32', new Float32Array(0))];
    if (spec.returnLse) outputs.push(backend.makeTensorInfo(lseShape(spec), 'float32', new Float32Array(0)));
    return outputs;
  }
  requireWebGL2Float32(NAME);
  const geo = geometry(spec);
  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo) => (temps.push(t), t);

  // -- prep: gather q, k, v and the per-row facts into this folder's layouts --
  const q = keep(packRows(backend, spec, geo, 'q', inputs, temps));
  const k = keep(packRows(backend, spec, geo, 'k', inputs, temps));
  const v = keep(packRows(backend, spec, geo, 'v', inputs, temps));
  const rowAux = rowInfoInputs(spec, inputs).map(t => flatView(backend, t, temps));
  const rowInfo = keep(runProgram(backend, rowInfoProgram(spec, geo.rowStats, geo.seqQPadded), rowAux));
  const bias = spec.bias === 'matrix' ? denseCopy(backend, inputs.bias!, 'the bias', temps) : null;
  const cuQ = spec.varlen ? denseCopy(backend, inputs.cuSeqlensQ!, 'cuSeqlensQ', temps) : null;

  // -- key blocks: S → (m, l) → P → acc, state ping-ponged between draws (several targets each) --
  let stats: TensorInfo[]|null = null, acc: TensorInfo[]|null = null;
  for (let block = 0; block < geo.numBlocks; block++) {
    const j0 = block * geo.blockN, first = block === 0;
    const scores = runMultiOutputProgram(
        backend, scoresProgram(spec, geo, j0, bias?.layout ?? null), [q, k, rowInfo, ...(bias ? [bias.info] : [])]);
    const newStats = runMultiOutputProgram(
        backend, rowStatsProgram(spec, geo, first), [...scores, ...(stats ?? scores.slice(0, 2)), ...(spec.sinks ? [rowInfo] : [])]);
    const probs = runMultiOutputProgram(backend, probsProgram(spec, geo, j0), [...scores, ...newStats]);
    // The first block reads no previous state: its slots are filled with textures of the right kind.
    const newAcc = runMultiOutputProgram(
        backend, accumulateProgram(spec, geo, j0, first),
        [...probs, v, ...(stats ?? newStats), ...newStats, ...(acc ?? probs), rowInfo]);
    for (const t of [...scores, ...probs, ...(stats ?? []), ...(acc ?? [])]) backend.disposeIntermediateTensorInfo(t);
    stats = newStats;
    acc = newAcc;
  }

  // -- epilogue --
  const cuInputs = cuQ ? [cuQ.info] : [];
  const out = runProgram(backend, outputProgram(spec, geo, outSize, cuQ?.layout ?? null), [...acc!, ...stats!, ...cuInputs]);
  const outputs: TensorInfo[] = [{dataId: out.dataId, shape: outShape, dtype: 'float32'}];
  if (spec.returnLse) {
    const lse = runProgram(backend, lseProgram(spec, geo, lseSize, cuQ?.layout ?? null), [...stats!, ...cuInputs]);
    outputs.push({dataId: lse.dataId, shape: lseShape(spec), dtype: 'float32'});
  }
  for (const t of [...temps, ...stats!, ...acc!]) backend.disposeIntermediateTensorInfo(t);
  return outputs;
}

export const flashAttentionWebGLConfig: KernelConfig = {
  kernelName: FlashAttention,
  backendName: 'webgl',
  kernelFunc: flashAttentionWebGL as unknown as KernelFunc,
};
