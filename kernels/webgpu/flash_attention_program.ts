/**
 * FlashAttention-2 forward as one WGSL program (vLLM Triton "Fused Attention" semantics, SPEC.md).
 *
 * Algorithm: a workgroup owns BLOCK_M packed rows of one (batch b, KV head hk): with GQA packing, packed
 * row p is query row p / G of query head hk·G + p % G, so the G query heads sharing K/V read each K/V block
 * once (launch_plan.ts). For it:
 *   load the Q rows into workgroup memory; m_i = -inf, l_i = 0, acc = 0 (registers)
 *   for each block of BLOCK_N keys that some row of the block can see (causal, window: blocks entirely
 *   above the bottom-right diagonal or outside the window are never loaded; split-KV: only this split's
 *   range of those blocks):
 *     -- load K --          the K block staged in registers during the previous block → workgroup memory
 *                           (FP8 codes and halves decoded here, KV-only descale applied; packed K/V are
 *                           read 16 bytes at a time, plan.kvUnit); then V's device reads are issued into
 *                           registers, to land while the block computes
 *     -- compute qk --      S = Q Kᵀ · qk_scale·log2(e), register tile RM × RN per thread
 *     -- score modifiers -- soft-cap, bias, ALiBi, and (only in blocks crossing a boundary) the causal /
 *                           window / sequence-end mask: one function, scoreModifier()
 *     -- online softmax --  m_ij = max(m_i, rowmax S) (partial maxima through workgroup memory);
 *                           P = exp2(S - m_ij), alpha = exp2(m_i - m_ij); l_i = l_i·alpha + rowsum P
 *                           (each thread keeps a partial l_i of its own keys); P → workgroup memory
 *                           (full FP8 with pScale: P goes through the FP8 grid first; dropout: P ·
 *                           keep / (1 − rate), dropoutScale, for P·V only)
 *     -- load V --          staged V → workgroup memory; the next K block's device reads are issued
 *     -- acc += P V --      acc = acc·alpha + P V, register tile RM rows × DC vec4 columns (the P = 0
 *                           guard against 0 · NaN only in masked blocks)
 *   epilogue: l_i reduced across the row's threads; the sink joins as a key without value (absorbSink);
 *             out = acc·accScale / l_i (· 1/oScale);
 *             lse = (m_i + log2 l_i)·ln 2; rows with no visible key give 0 and -inf. Split-KV: the
 *             unnormalized (acc, m_i, l_i) go to a partial record, merged by SplitMergeProgram.
 * Launch geometry: TM × TN threads (tile_config.ts); one workgroup per (split, row block, KV head, batch),
 *   numbered flat (split fastest, the last row block first so long causal rows start early) and spread
 *   over x, y, z so no dimension exceeds maxComputeWorkgroupsPerDimension.
 * Limits: D ≤ 256 (D_PAD of Q + one K/V tile must fit workgroup memory); every input and the output
 *   must fit one storage binding and index with i32 (checked by the kernel); varlen rows past
 *   maxSeqlenQ of a sequence are not computed (maxSeqlenQ must bound every sequence, as SPEC.md says).
 * Bindings: q, k, v, bias, and one packed buffer of ALiBi slopes, cuSeqlens and per-head descales
 *   (side_inputs_program.ts), plus the output: at most 6 storage buffers (WebGPU's default limit is 8).
 * Compile-time: kernelKey(spec) + planKey(plan) (tiles, vec4 rows, K/V read width, split or not); the rest is a
 *   uniform (flash_attention_uniforms.ts). Debug: tf.env().set('WEBGPU_PRINT_SHADER', 'flashattention')
 *   prints every generated FlashAttention shader; flashAttentionShader(spec, plan) returns this part of it.
 */
import {NAN_WGSL} from './nan_wgsl';
import {FlashAttentionSpec, kernelKey, Storage} from '../../src/spec';
import {spreadDispatch} from './dispatch';
import {FlatProgram} from './flat_program';
import {flashAttentionUniforms} from './flash_attention_uniforms';
import {SIDE_INPUTS, SideInput} from './side_inputs_program';
import {LaunchPlan, planKey} from './launch_plan';
import {forwardWorkgroupVariables, ROW_PAD_VEC4} from './tile_config';
import {workgroupDeclarations} from './workgroup_memory';
import {storeBlock} from './staging';
import {absorbSink, BLOCK_PROLOGUE, codecs, describeBlock, descale, dropoutSnippet, keyRange, kvReadLayout, pQuantizer, rowLoader, scoreModifier, stageRows, visibleKeys} from './forward_snippets';
import {unrollLoops} from './unroll';

/** Tensor inputs in binding order; optional ones are present exactly when the spec needs them. */
export function flashAttentionInputNames(spec: FlashAttentionSpec): string[] {
  const names = ['q', 'k', 'v'];
  if (spec.bias === 'matrix') names.push('bias');
  if (sideInputNames(spec).length > 0) names.push('sideInputs');
  return names;
}

/** The small inputs the kernel packs into `sideInputs` (side_inputs_program.ts), in SIDE_INPUTS order. */
export function sideInputNames(spec: FlashAttentionSpec): SideInput[] {
  const present: Record<SideInput, boolean> = {
    alibiSlopes: spec.alibi !== 'none', sinks: spec.sinks, cuSeqlensQ: spec.varlen, cuSeqlensK: spec.varlen,
    cacheSeqlens: spec.cacheSeqlens,
    qDescale: spec.qDescaleKind === 'perHead', kDescale: spec.kDescaleKind === 'perHead',
    vDescale: spec.vDescaleKind === 'perHead',
  };
  return SIDE_INPUTS.filter(name => present[name]);
}

/**
 * acc += P V over the block's keys, 4 keys per P read. When guarded, a key with P = 0 takes no part,
 * not even as 0 · NaN (as the reference loop skips it): needed only where P can be 0 by masking, so the
 * unmasked blocks run plain FMAs.
 */
function pvAccumulate(guarded: boolean): string {
  const update = guarded ?
      'acc[r][k] += select(pv[r][e] * vv[k], vec4<f32>(0.0), pv[r][e] == 0.0);' :
      'acc[r][k] = fma(vec4<f32>(pv[r][e]), vv[k], acc[r][k]);';
  return `
      for (var c4 = 0; c4 < BLOCK_N4; c4++) {
        var pv : array<vec4<f32>, RM>;
        for (var r = 0; r < RM; r++) { pv[r] = pTile[(tm + TM * r) * BLOCK_N4 + c4]; }
        for (var e = 0; e < 4; e++) {
          var vv : array<vec4<f32>, DC>;
          for (var k = 0; k < DC; k++) { vv[k] = kvTile[(4 * c4 + e) * ROW + tn + TN * k]; }
          for (var r = 0; r < RM; r++) {
            for (var k = 0; k < DC; k++) { ${update} }
          }
        }
      }`;
}

/** The staged block, decoded and descaled, into workgroup memory (kvTile). */
function storeStaged(name: 'k'|'v', unit: number): string {
  return storeBlock('KV_LOADS', 'BLOCK_N', [{
    tile: 'kvTile', value: `decodeRaw_${name}(staged${name.toUpperCase()}[u])`, scale: `${name}LoadScale`,
  }], kvReadLayout(unit));
}

/**
 * Components per binding: 4 for float32 q/k/v read as vec4 rows and for K/V read 16 bytes at a time
 * (plan.kvUnit > 1, as vec4<i32>), else 1 (float16 and FP8 words are i32).
 */
export function flashAttentionComponents(spec: FlashAttentionSpec, plan: {vec4Rows: boolean, kvUnit?: number}): number[] {
  const storages: Record<string, Storage> = {q: spec.qStorage, k: spec.kStorage, v: spec.vStorage};
  const wide = (name: string) => (name === 'k' || name === 'v') && (plan.kvUnit ?? 1) > 1;
  return flashAttentionInputNames(spec).map(name => (storages[name] === 'float32' && plan.vec4Rows) || wide(name) ? 4 : 1);
}

/**
 * The end of the main pass: the whole-key version normalizes and writes O (and LSE); the split version
 * writes its unnormalized partial (acc, m, l) for SplitMergeProgram.
 */
function epilogue(spec: FlashAttentionSpec, split: boolean): string {
  if (split) {
    return `
    ${absorbSink(spec, 'm_i[r]', 'l', 'h', 'split == 0')}
    let record = (((split * uniforms.batch + b) * uniforms.numHeadsQ + h) * uniforms.seqlenQ + i) * uniforms.recordSize;
    for (var k = 0; k < DC; k++) {
      let a = acc[r][k] * (accScale * keysWeight);
      let d = 4 * (tn + TN * k);
      for (var e = 0; e < 4; e++) {
        if (d + e < uniforms.headDim) { result[record + d + e] = a[e]; }
      }
    }
    if (tn == 0) {
      result[record + uniforms.headDim] = m_i[r];
      result[record + uniforms.headDim + 1] = select(l, uniforms.NAN, nanRow);
    }`;
  }
  return `
    ${absorbSink(spec, 'm_i[r]', 'l', 'h')}
    let oBase = (startQ + i) * uniforms.oStrideS + b * uniforms.oStrideB + h * uniforms.oStrideH;
    for (var k = 0; k < DC; k++) {
      let o = select(select(acc[r][k] * (accScale * keysWeight) / l * uniforms.oScaleInv, vec4<f32>(0.0), l == 0.0),
                     vec4<f32>(uniforms.NAN), nanRow);
      let d = 4 * (tn + TN * k);
      for (var e = 0; e < 4; e++) {
        if (d + e < uniforms.headDim) { result[oBase + d + e] = o[e]; }
      }
    }
    ${spec.returnLse ? `if (tn == 0) {
      let lse = select(select((m_i[r] + log2(l)) * LN2, -uniforms.INFINITY, l == 0.0), uniforms.NAN, nanRow);
      result[uniforms.lseOffset + (startQ + i) * uniforms.lseStrideS + b * uniforms.lseStrideB + h * uniforms.lseStrideH] = lse;
    }` : ''}`;
}

export function flashAttentionShader(spec: FlashAttentionSpec, plan: LaunchPlan): string {
  const t = plan.tiles, split = plan.numSplits > 1;
  const unit = plan.kvUnit;
  const kvLoads = Math.ceil(t.blockN * t.dPad / 4 / unit / t.threads);  // device reads of a K/V block per thread
  // Loops over a thread's rows (r), keys (c), vec4 columns (k) and vec4 lanes (e) are unrolled (unroll.ts).
  const full = spec.fp8Mode === 'full', kvOnly = spec.fp8Mode === 'kv';
  return unrollLoops(`${NAN_WGSL}
const D4 : i32 = ${t.dPad / 4};              // vec4 columns of the padded head size
const ROW : i32 = D4 + ${ROW_PAD_VEC4};       // row stride of the Q and K/V tiles, in vec4
const TM : i32 = ${t.tm};
const TN : i32 = ${t.tn};
const RM : i32 = ${t.rm};                    // query rows per thread
const RN : i32 = ${t.rn};                    // keys per thread in S
const DC : i32 = D4 / TN;                    // vec4 columns of acc per thread
const BLOCK_M : i32 = TM * RM;
const BLOCK_N : i32 = TN * RN;
const BLOCK_N4 : i32 = BLOCK_N / 4;          // vec4 of P per row
const KV_UNIT : i32 = ${unit};              // vec4 of K/V values per device read (plan.kvUnit)
const ROW_READS : i32 = D4 / KV_UNIT;        // device reads per K/V row
const KV_LOADS : i32 = ${kvLoads};  // device reads of a K/V block per thread
const THREADS : i32 = TM * TN;
const CAUSAL : bool = ${spec.causal};
// A bias of -inf makes P = 0 in any block, not only in masked ones.
const GUARD_EVERY_BLOCK : bool = ${spec.bias === 'matrix'};
const LN2 : f32 = 0.6931471805599453;
const LOG2E : f32 = 1.4426950408889634;

${workgroupDeclarations(forwardWorkgroupVariables(t))}

${codecs(spec)}
${rowLoader('q', spec.qFormat, plan.vec4Rows, spec.qStorage)}
${rowLoader('k', spec.kFormat, plan.vec4Rows, spec.kStorage, unit)}
${rowLoader('v', spec.vFormat, plan.vec4Rows, spec.vStorage, unit)}
${descale('q', spec)}
${descale('k', spec)}
${descale('v', spec)}
${visibleKeys(spec)}
${scoreModifier(spec)}
${pQuantizer(spec)}
${dropoutSnippet(spec)}

${describeBlock(spec)}
fn main(index : i32) {
  let tid = i32(localIndex);
  let tm = tid / TN;
  let tn = tid % TN;
  if (tid == 0) { blockInfo = describeBlock(); }${BLOCK_PROLOGUE}
  // Packed row p is query row i = p / G of query head h = hk·G + p % G.

  // Full FP8: raw codes in the dots, descales folded into the scales. KV-only: K, V descaled on load.
  let kLoadScale = ${kvOnly ? 'descale_k(hk)' : '1.0'};
  let vLoadScale = ${kvOnly ? 'descale_v(hk)' : '1.0'};
  let accScale = ${full ? `descale_v(hk)${spec.pScale > 0 ? ' / uniforms.pScale' : ''}` : '1.0'};

  let kBase = startK * uniforms.kStrideS + b * uniforms.kStrideB + hk * uniforms.kStrideH;
  let vBase = startK * uniforms.vStrideS + b * uniforms.vStrideB + hk * uniforms.vStrideH;
  let rows = min(BLOCK_M, packedRows - m0);
  // Query row i sits on the bottom-right diagonal at key i + diagonal.
  let diagonal = lenK - lenQ;

  // Per row of this thread: its query row, its head, and what depends on the head.
  var rowI = array<i32, RM>();
  var rowH = array<i32, RM>();
  var rowScale = array<f32, RM>();
  var ctx = array<ScoreContext, RM>();
  for (var r = 0; r < RM; r++) {
    let p = m0 + tm + TM * r;
    rowI[r] = p / G;
    let h = hk * G + p % G;
    rowH[r] = h;
    rowScale[r] = uniforms.qkScaleLog2${full ? ' * descale_q(h) * descale_k(hk)' : ''};
    ctx[r] = ScoreContext(diagonal, lenQ, lenK, 0.0, 0);
    ${spec.alibi !== 'none' ? 'ctx[r].slope = LOG2E * bitcast<f32>(sideInputs[uniforms.alibiSlopesOffset + b * uniforms.alibiBatchStride + h]);' : ''}
    ${spec.bias === 'matrix' ? 'ctx[r].biasBase = b * uniforms.biasStrideB + h * uniforms.biasStrideH;' : ''}
  }

  // -- load Q --
  for (var idx = tid; idx < BLOCK_M * D4; idx += THREADS) {
    let r = idx / D4;
    let d4 = idx % D4;
    var value = vec4<f32>(0.0);
    if (r < rows) {
      let p = m0 + r;
      let qRow = (startQ + p / G) * uniforms.qStrideS + b * uniforms.qStrideB + (hk * G + p % G) * uniforms.qStrideH;
      value = loadRow_q(qRow, d4 * 4);
    }
    qTile[r * ROW + d4] = value;
  }

  // Explicit initializers: some compilers hoist an uninitialized var out of its loop.
  var m_i = array<f32, RM>();
  var l_i = array<f32, RM>();
  var scoreBits = array<u32, RM>();  // the row's largest |s| as bits: above 0x7f800000 iff a score was NaN
  var acc = array<array<vec4<f32>, DC>, RM>();
  for (var r = 0; r < RM; r++) { m_i[r] = -uniforms.INFINITY; }

  // Keys outside what the block's rows see (causal diagonal, window) are never loaded.
  let iFirst = m0 / G;
  let iLast = (m0 + rows - 1) / G;${keyRange(split)}
  // K/V blocks travel device → registers (staged*) → workgroup memory, one stage ahead of their use.
  var stagedK = array<Raw_k, KV_LOADS>();
  var stagedV = array<Raw_v, KV_LOADS>();
  if (kBegin < kEnd) {${stageRows('k', 'kBegin', unit)}
  }
  for (var n0 = kBegin; n0 < kEnd; n0 += BLOCK_N) {
    // Only blocks crossing the sequence ends, the causal diagonal or a window bound need the mask.
    let masked = n0 + BLOCK_N > lenK || m0 + BLOCK_M > packedRows || blockCrossesBounds(iFirst, iLast, n0, BLOCK_N, diagonal, lenK);

    // -- load K -- (its device reads were issued during the previous block's P·V)
    workgroupBarrier();
    ${storeStaged('k', unit)}
    workgroupBarrier();
    // -- prefetch V -- into registers: the device reads overlap Q·Kᵀ and the softmax
    ${stageRows('v', 'n0', unit)}

    // -- compute qk --
    var s = array<array<f32, RN>, RM>();
    for (var d4 = 0; d4 < D4; d4++) {
      var kv : array<vec4<f32>, RN>;
      for (var c = 0; c < RN; c++) { kv[c] = kvTile[(tn + TN * c) * ROW + d4]; }
      for (var r = 0; r < RM; r++) {
        let qv = qTile[(tm + TM * r) * ROW + d4];
        for (var c = 0; c < RN; c++) { s[r][c] += dot(qv, kv[c]); }
      }
    }

    // -- score modifiers, then partial row maxima --
    for (var r = 0; r < RM; r++) {
      let row = tm + TM * r;
      var rowMax = -uniforms.INFINITY;
      for (var c = 0; c < RN; c++) {
        s[r][c] = scoreModifier(s[r][c] * rowScale[r], rowI[r], n0 + tn + TN * c, ctx[r], masked);
        rowMax = max(rowMax, s[r][c]);
        scoreBits[r] = max(scoreBits[r], magnitudeBits(s[r][c]));
      }
      rowTile[row * TN + tn] = rowMax;
    }
    workgroupBarrier();

    // -- online softmax --
    for (var r = 0; r < RM; r++) {
      let row = tm + TM * r;
      var mNew = m_i[r];
      for (var t = 0; t < TN; t++) { mNew = max(mNew, rowTile[row * TN + t]); }
      // A row that has seen only masked keys keeps m = -inf; shift by 0 so exp2 gives 0, not NaN.
      let shift = select(mNew, 0.0, mNew == -uniforms.INFINITY);
      let alpha = exp2(m_i[r] - shift);
      var rowSum = 0.0;
      for (var c = 0; c < RN; c++) {
        let p = exp2(s[r][c] - shift);
        rowSum += p;
        let key = tn + TN * c;
        pTile[row * BLOCK_N4 + key / 4][key % 4] = quantizeP(p)${spec.dropoutRate > 0 ? ' * dropoutScale(b, rowH[r], rowI[r], n0 + key)' : ''};
      }
      l_i[r] = l_i[r] * alpha + rowSum;
      m_i[r] = mNew;
      for (var k = 0; k < DC; k++) { acc[r][k] *= alpha; }
    }

    // -- load V -- (every K read finished before the barrier above)
    ${storeStaged('v', unit)}
    workgroupBarrier();
    // -- prefetch the next K -- (overlaps P·V)
    if (n0 + BLOCK_N < kEnd) {${stageRows('k', 'n0 + BLOCK_N', unit)}
    }

    // -- acc += P V -- (P read 4 keys at a time; only blocks that can hold P = 0 by masking pay
    // for the guard, see pvAccumulate)
    if (masked || GUARD_EVERY_BLOCK) {${pvAccumulate(true)}
    } else {${pvAccumulate(false)}
    }
  }

  // -- epilogue: reduce l_i over the row's threads, normalize, write --
  workgroupBarrier();
  // A row with a NaN score or m = +inf is NaN in the reference: its l goes on as NaN (nan_wgsl.ts).
  for (var r = 0; r < RM; r++) {
    let poisoned = scoreBits[r] > 0x7f800000u || m_i[r] == uniforms.INFINITY;
    rowTile[(tm + TM * r) * TN + tn] = select(l_i[r], uniforms.NAN, poisoned);
  }
  workgroupBarrier();
  for (var r = 0; r < RM; r++) {
    let row = tm + TM * r;
    if (row < rows) {
    var l = 0.0;
    for (var t = 0; t < TN; t++) { l += rowTile[row * TN + t]; }
    let nanRow = isNonFinite(l);
    let i = rowI[r];
    let h = rowH[r];${epilogue(spec, split)}
    }
  }
}
`, ['r', 'c', 'k', 'e', 'u'],
  {RM: t.rm, RN: t.rn, DC: t.dPad / 4 / t.tn, KV_LOADS: kvLoads});
}

export class FlashAttentionProgram extends FlatProgram {
  /** outputSize: O (+ LSE) floats, or the split partials when plan.numSplits > 1. */
  constructor(
      private readonly spec: FlashAttentionSpec, private readonly plan: LaunchPlan, outputSize: number,
      maxWorkgroupsPerDimension: number) {
    super({
      variableNames: flashAttentionInputNames(spec), variableComponents: flashAttentionComponents(spec, plan),
      outputSize, shaderKey: `flashAttention|${kernelKey(spec)}|${planKey(plan)}`,
      dispatch: spreadDispatch(plan.workgroups, maxWorkgroupsPerDimension, 'flashAttention'),
      workgroupSize: plan.tiles.threads, uniforms: flashAttentionUniforms(spec, plan, 0, {}),
    });
  }

  getUserCode(): string {
    return flashAttentionShader(this.spec, this.plan);
  }
}
