/**
 * FlashAttention-2 forward as one WGSL program (vLLM Triton "Fused Attention" semantics, SPEC.md).
 *
 * Algorithm: a workgroup owns BLOCK_M query rows of one (batch b, query head h):
 *   load the Q block into workgroup memory; m_i = -inf, l_i = 0, acc = 0 (registers)
 *   for each block of BLOCK_N keys that some row of the block can see (causal: blocks entirely above
 *   the bottom-right diagonal are never loaded):
 *     -- load K --          K block → workgroup memory (FP8 words decoded here, KV-only descale applied)
 *     -- compute qk --      S = Q Kᵀ · qk_scale·log2(e), register tile RM × RN per thread
 *     -- score modifiers -- bias, ALiBi, and (only in blocks crossing a boundary) the causal /
 *                           sequence-end mask: one function, scoreModifier()
 *     -- online softmax --  m_ij = max(m_i, rowmax S) (partial maxima through workgroup memory);
 *                           P = exp2(S - m_ij), alpha = exp2(m_i - m_ij); l_i = l_i·alpha + rowsum P
 *                           (each thread keeps a partial l_i of its own keys); P → workgroup memory
 *                           (full FP8 with pScale: P goes through the FP8 grid first)
 *     -- load V --, -- rescale acc --  acc = acc·alpha + P V, register tile RM rows × DC vec4 columns
 *   epilogue: l_i reduced across the row's threads; out = acc·accScale / l_i (· 1/oScale);
 *             lse = (m_i + log2 l_i)·ln 2; rows with no visible key give 0 and -inf.
 * Launch geometry: TM × TN threads (tile_config.ts); one workgroup per (query block, head, batch),
 *   numbered flat (query block fastest, the last block first so long causal rows start early) and
 *   spread over x, y, z so no dimension exceeds maxComputeWorkgroupsPerDimension.
 * Limits: D ≤ 256 (D_PAD of Q + one K/V tile must fit workgroup memory); every input and the output
 *   must fit one storage binding and index with i32 (checked by the kernel); varlen rows past
 *   maxSeqlenQ of a sequence are not computed (maxSeqlenQ must bound every sequence, as SPEC.md says).
 * Bindings: q, k, v, bias, and one packed buffer of ALiBi slopes, cuSeqlens and per-head descales
 *   (side_inputs_program.ts), plus the output: at most 6 storage buffers (WebGPU's default limit is 8).
 * Compile-time: kernelKey(spec) + the tile config; everything else is a uniform
 *   (flash_attention_uniforms.ts). Debug: tf.env().set('WEBGPU_PRINT_SHADER', 'flashattention') prints
 *   every generated FlashAttention shader; flashAttentionShader(spec, tiles) returns this part of it.
 */
import type {WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';
import {FlashAttentionSpec, Fp8Format, kernelKey} from '../../src/spec';
import {spreadDispatch} from './dispatch';
import {fp8CodecSnippet} from './fp8_wgsl';
import {flashAttentionUniforms} from './flash_attention_uniforms';
import {SIDE_INPUTS, SideInput} from './side_inputs_program';
import {ROW_PAD_VEC4, TileConfig, tileKey} from './tile_config';
import {uniformDeclaration} from './uniforms';

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
    alibiSlopes: spec.alibi !== 'none', cuSeqlensQ: spec.varlen, cuSeqlensK: spec.varlen,
    qDescale: spec.qDescaleKind === 'perHead', kDescale: spec.kDescaleKind === 'perHead',
    vDescale: spec.vDescaleKind === 'perHead',
  };
  return SIDE_INPUTS.filter(name => present[name]);
}

// -- snippets --

/** loadRow_X(base, d): elements d..d+3 of the row at `base` of tensor X as floats, 0 past D. */
function rowLoader(name: string, format: Fp8Format|null): string {
  const body = format == null ? `
  var r = vec4<f32>(0.0);
  for (var e = 0; e < 4; e++) {
    if (d + e < uniforms.headDim) { r[e] = ${name}[base + d + e]; }
  }
  return r;` : `
  if (d >= uniforms.headDim) { return vec4<f32>(0.0); }
  let codes = fp8DecodeWord_${format}(bitcast<u32>(${name}[base + d / 4]));
  return select(codes, vec4<f32>(0.0), vec4<i32>(d) + vec4<i32>(0, 1, 2, 3) >= vec4<i32>(uniforms.headDim));`;
  return `fn loadRow_${name}(base : i32, d : i32) -> vec4<f32> {${body}\n}`;
}

/** descale_X(head): per-head tensor, else the scalar uniform (1 when X is float32). */
function descale(name: 'q'|'k'|'v', spec: FlashAttentionSpec): string {
  const perHead = spec[`${name}DescaleKind`] === 'perHead';
  const read = perHead ? `bitcast<f32>(sideInputs[uniforms.${name}DescaleOffset + head])` : `uniforms.${name}Descale`;
  return `fn descale_${name}(head : i32) -> f32 { return ${read}; }`;
}

/** The one place where causal, sequence bounds, ALiBi and bias modify a score (log2 units). */
function scoreModifier(spec: FlashAttentionSpec): string {
  const bias = spec.bias === 'matrix' ?
      `s = s + LOG2E * bias[ctx.biasBase + i * uniforms.biasStrideI + j * uniforms.biasStrideJ];` : '';
  // ctx.slope is the ALiBi slope times log2(e).
  const alibi = spec.alibi !== 'none' ? `s = s - ctx.slope * f32(abs(i + ctx.diagonal - j));` : '';
  return `
struct ScoreContext { diagonal : i32, lenQ : i32, lenK : i32, slope : f32, biasBase : i32, }

fn scoreModifier(score : f32, i : i32, j : i32, ctx : ScoreContext, masked : bool) -> f32 {
  if (masked && (j >= ctx.lenK || i >= ctx.lenQ || (CAUSAL && j > i + ctx.diagonal))) {
    return -uniforms.INFINITY;
  }
  var s = score;
  ${bias}
  ${alibi}
  return s;
}`;
}

/** P as P·V sees it: through the FP8 grid (vLLM's quant_fp8(p, p_scale)) in full mode with pScale. */
function pQuantizer(spec: FlashAttentionSpec): string {
  const body = spec.pScale > 0 ? `return fp8Decode_${spec.pFormat}(fp8Encode_${spec.pFormat}(p * uniforms.pScale));` : 'return p;';
  return `fn quantizeP(p : f32) -> f32 { ${body} }`;
}

function codecs(spec: FlashAttentionSpec): string {
  const formats = new Set([spec.qFormat, spec.kFormat, spec.vFormat, spec.pScale > 0 ? spec.pFormat : null]);
  return [...formats].filter((f): f is Fp8Format => f != null).map(fp8CodecSnippet).join('\n');
}

export function flashAttentionShader(spec: FlashAttentionSpec, t: TileConfig): string {
  const full = spec.fp8Mode === 'full', kvOnly = spec.fp8Mode === 'kv';
  const seqBounds = spec.varlen ? `
    startQ = sideInputs[uniforms.cuSeqlensQOffset + b]; lenQ = sideInputs[uniforms.cuSeqlensQOffset + b + 1] - startQ;
    startK = sideInputs[uniforms.cuSeqlensKOffset + b]; lenK = sideInputs[uniforms.cuSeqlensKOffset + b + 1] - startK;` : '';
  return `
const D4 : i32 = ${t.dPad / 4};              // vec4 columns of the padded head size
const ROW : i32 = D4 + ${ROW_PAD_VEC4};       // row stride of the Q and K/V tiles, in vec4
const TM : i32 = ${t.tm};
const TN : i32 = ${t.tn};
const RM : i32 = ${t.rm};                    // query rows per thread
const RN : i32 = ${t.rn};                    // keys per thread in S
const DC : i32 = D4 / TN;                    // vec4 columns of acc per thread
const BLOCK_M : i32 = TM * RM;
const BLOCK_N : i32 = TN * RN;
const THREADS : i32 = TM * TN;
const CAUSAL : bool = ${spec.causal};
const LN2 : f32 = 0.6931471805599453;
const LOG2E : f32 = 1.4426950408889634;

var<workgroup> qTile : array<vec4<f32>, BLOCK_M * ROW>;
var<workgroup> kvTile : array<vec4<f32>, BLOCK_N * ROW>;
var<workgroup> pTile : array<f32, BLOCK_M * BLOCK_N>;
var<workgroup> rowTile : array<f32, BLOCK_M * TN>;
var<workgroup> blockInfo : array<i32, 8>;

${codecs(spec)}
${rowLoader('q', spec.qFormat)}
${rowLoader('k', spec.kFormat)}
${rowLoader('v', spec.vFormat)}
${descale('q', spec)}
${descale('k', spec)}
${descale('v', spec)}
${scoreModifier(spec)}
${pQuantizer(spec)}

/** (b, h, m0, startQ, lenQ, startK, lenK, valid) of this workgroup, read once by invocation 0. */
fn describeBlock() -> array<i32, 8> {
  let flat = i32(workgroupId.x + numWorkgroups.x * (workgroupId.y + numWorkgroups.y * workgroupId.z));
  let total = uniforms.queryBlocks * uniforms.numHeadsQ * uniforms.batch;
  if (flat >= total) { return array<i32, 8>(0, 0, 0, 0, 0, 0, 0, 0); }
  let mb = uniforms.queryBlocks - 1 - flat % uniforms.queryBlocks;
  let bh = flat / uniforms.queryBlocks;
  let h = bh % uniforms.numHeadsQ;
  let b = bh / uniforms.numHeadsQ;
  var startQ = 0; var lenQ = uniforms.seqlenQ;
  var startK = 0; var lenK = uniforms.seqlenK;${seqBounds}
  return array<i32, 8>(b, h, mb * BLOCK_M, startQ, lenQ, startK, lenK, 1);
}

fn main(index : i32) {
  let tid = i32(localIndex);
  let tm = tid / TN;
  let tn = tid % TN;
  if (tid == 0) { blockInfo = describeBlock(); }
  let info = workgroupUniformLoad(&blockInfo);
  let b = info[0]; let h = info[1]; let m0 = info[2];
  let startQ = info[3]; let lenQ = info[4]; let startK = info[5]; let lenK = info[6];
  if (info[7] == 0 || m0 >= lenQ) { return; }
  let hk = h / uniforms.groupSize;

  // Full FP8: raw codes in the dots, descales folded into the scales. KV-only: K, V descaled on load.
  let qkScale = uniforms.qkScaleLog2${full ? ' * descale_q(h) * descale_k(hk)' : ''};
  let kLoadScale = ${kvOnly ? 'descale_k(hk)' : '1.0'};
  let vLoadScale = ${kvOnly ? 'descale_v(hk)' : '1.0'};
  let accScale = ${full ? `descale_v(hk)${spec.pScale > 0 ? ' / uniforms.pScale' : ''}` : '1.0'};

  let qBase = startQ * uniforms.qStrideS + b * uniforms.qStrideB + h * uniforms.qStrideH;
  let kBase = startK * uniforms.kStrideS + b * uniforms.kStrideB + hk * uniforms.kStrideH;
  let vBase = startK * uniforms.vStrideS + b * uniforms.vStrideB + hk * uniforms.vStrideH;
  let rows = min(BLOCK_M, lenQ - m0);
  // Query row i sits on the bottom-right diagonal at key i + diagonal.
  let diagonal = lenK - lenQ;
  var ctx = ScoreContext(diagonal, lenQ, lenK, 0.0, 0);
  ${spec.alibi !== 'none' ? 'ctx.slope = LOG2E * bitcast<f32>(sideInputs[uniforms.alibiSlopesOffset + b * uniforms.alibiBatchStride + h]);' : ''}
  ${spec.bias === 'matrix' ? 'ctx.biasBase = b * uniforms.biasStrideB + h * uniforms.biasStrideH;' : ''}

  // -- load Q --
  for (var idx = tid; idx < BLOCK_M * D4; idx += THREADS) {
    let r = idx / D4;
    let d4 = idx % D4;
    var value = vec4<f32>(0.0);
    if (r < rows) { value = loadRow_q(qBase + (m0 + r) * uniforms.qStrideS, d4 * 4); }
    qTile[r * ROW + d4] = value;
  }

  // Explicit initializers: some compilers hoist an uninitialized var out of its loop.
  var m_i = array<f32, RM>();
  var l_i = array<f32, RM>();
  var acc = array<array<vec4<f32>, DC>, RM>();
  for (var r = 0; r < RM; r++) { m_i[r] = -uniforms.INFINITY; }

  // Keys past the last row's diagonal are invisible to the whole block: never loaded.
  var kEnd = lenK;
  if (CAUSAL) { kEnd = clamp(m0 + rows + diagonal, 0, lenK); }
  for (var n0 = 0; n0 < kEnd; n0 += BLOCK_N) {
    // Only blocks crossing the sequence ends or the first row's diagonal need the mask.
    let masked = n0 + BLOCK_N > lenK || m0 + BLOCK_M > lenQ || (CAUSAL && n0 + BLOCK_N - 1 > m0 + diagonal);

    // -- load K --
    workgroupBarrier();
    for (var idx = tid; idx < BLOCK_N * D4; idx += THREADS) {
      let c = idx / D4;
      let d4 = idx % D4;
      var value = vec4<f32>(0.0);
      if (n0 + c < lenK) { value = loadRow_k(kBase + (n0 + c) * uniforms.kStrideS, d4 * 4) * kLoadScale; }
      kvTile[c * ROW + d4] = value;
    }
    workgroupBarrier();

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
        s[r][c] = scoreModifier(s[r][c] * qkScale, m0 + row, n0 + tn + TN * c, ctx, masked);
        rowMax = max(rowMax, s[r][c]);
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
        pTile[row * BLOCK_N + tn + TN * c] = quantizeP(p);
      }
      l_i[r] = l_i[r] * alpha + rowSum;
      m_i[r] = mNew;
      for (var k = 0; k < DC; k++) { acc[r][k] *= alpha; }
    }

    // -- load V -- (every K read finished before the barrier above)
    for (var idx = tid; idx < BLOCK_N * D4; idx += THREADS) {
      let c = idx / D4;
      let d4 = idx % D4;
      var value = vec4<f32>(0.0);
      if (n0 + c < lenK) { value = loadRow_v(vBase + (n0 + c) * uniforms.vStrideS, d4 * 4) * vLoadScale; }
      kvTile[c * ROW + d4] = value;
    }
    workgroupBarrier();

    // -- acc += P V --
    for (var c = 0; c < BLOCK_N; c++) {
      var vv : array<vec4<f32>, DC>;
      for (var k = 0; k < DC; k++) { vv[k] = kvTile[c * ROW + tn + TN * k]; }
      for (var r = 0; r < RM; r++) {
        let p = pTile[(tm + TM * r) * BLOCK_N + c];
        // A key with P = 0 takes no part, not even as 0 · NaN (as the reference loop skips it).
        let skip = p == 0.0;
        for (var k = 0; k < DC; k++) { acc[r][k] += select(p * vv[k], vec4<f32>(0.0), skip); }
      }
    }
  }

  // -- epilogue: reduce l_i over the row's threads, normalize, write --
  workgroupBarrier();
  for (var r = 0; r < RM; r++) { rowTile[(tm + TM * r) * TN + tn] = l_i[r]; }
  workgroupBarrier();
  for (var r = 0; r < RM; r++) {
    let row = tm + TM * r;
    if (row >= rows) { continue; }
    var l = 0.0;
    for (var t = 0; t < TN; t++) { l += rowTile[row * TN + t]; }
    let i = m0 + row;
    let oBase = (startQ + i) * uniforms.oStrideS + b * uniforms.oStrideB + h * uniforms.oStrideH;
    for (var k = 0; k < DC; k++) {
      let o = select(acc[r][k] * accScale / l * uniforms.oScaleInv, vec4<f32>(0.0), l == 0.0);
      let d = 4 * (tn + TN * k);
      for (var e = 0; e < 4; e++) {
        if (d + e < uniforms.headDim) { result[oBase + d + e] = o[e]; }
      }
    }
    ${spec.returnLse ? `if (tn == 0) {
      let lse = select((m_i[r] + log2(l)) * LN2, -uniforms.INFINITY, l == 0.0);
      result[uniforms.lseOffset + (startQ + i) * uniforms.lseStrideS + b * uniforms.lseStrideB + h * uniforms.lseStrideH] = lse;
    }` : ''}
  }
}
`;
}

export class FlashAttentionProgram implements WebGPUProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = {x: [0]};
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;

  constructor(
      private readonly spec: FlashAttentionSpec, private readonly tiles: TileConfig, outputSize: number,
      workgroups: number, maxWorkgroupsPerDimension: number) {
    this.variableNames = flashAttentionInputNames(spec);
    this.outputShape = [outputSize];
    this.workgroupSize = [tiles.threads, 1, 1];
    this.dispatch = spreadDispatch(workgroups, maxWorkgroupsPerDimension, 'flashAttention');
    this.uniforms = uniformDeclaration(flashAttentionUniforms(spec, tiles, 0, {}));
    this.shaderKey = `flashAttention|${kernelKey(spec)}|${tileKey(tiles)}`;
  }

  getUserCode(): string {
    return flashAttentionShader(this.spec, this.tiles);
  }
}
