/**
 * FlashAttention-2 backward, the two main WGSL passes (semantics: kernels/cpu/attention_backward_loop.ts).
 * Both recompute, block by block, S = Q Kᵀ·scale (soft-cap, + bias, ALiBi, causal / window / sequence mask),
 * P = exp(S − lse_i) (the LSE includes a sink: nothing more to do for it here), dP = dO Vᵀ and
 * dS = P ∘ (dP − D_i); under a soft-cap dQ and dK take dS·(1 − tanh²), the chain rule through the cap (D_i from the stats pass, small_programs.ts); neither ever holds more than
 * one BLOCK_M × BLOCK_N tile of it. WebGPU has no float atomics, so dQ gets its own pass (FA2's clean split):
 *
 * dK/dV pass ('dkdv'): one workgroup per (batch b, kv head g, block of BLOCK_N keys):
 *   K_j, V_j → workgroup memory; dK_j = dV_j = 0 (registers)
 *   for each query head h of the group (GQA/MQA: summed here), each block of BLOCK_M rows that can see a key
 *   of the block (causal, window: row blocks that see no key of the block are skipped):
 *     Q_i, dO_i, lse_i, D_i → workgroup memory; recompute P and dS (register tile)
 *     P → workgroup memory;  dV_j += Pᵀ dO_i
 *     dS → workgroup memory; dK_j += dSᵀ Q_i
 *   dK_j ·= scale; write dK to [0, |k|) and dV to [extraOffset, ...) of the one output buffer.
 * dQ pass ('dq'): one workgroup per (batch b, query head h, block of BLOCK_M rows), the last block first:
 *   Q_i, dO_i, lse_i, D_i → workgroup memory; dQ_i = 0 (registers)
 *   for each block of BLOCK_N keys the rows can see: K_j, V_j → workgroup memory; recompute P, dS;
 *     dS → workgroup memory; dQ_i += dS K_j
 *   dQ_i ·= scale → output (q's layout); with ALiBi, the block's Σ −dS·|i + Sk − Sq − j| goes to
 *   output[extraOffset + (b·Hq + h)·blocks + block] (summed by a PartialSumProgram).
 * A P (dS) of exactly 0 contributes nothing, not even 0·NaN, as in the reference loop.
 * Launch geometry: 128 invocations (grad_tiles.ts); workgroups numbered flat and spread over x, y, z within
 *   maxComputeWorkgroupsPerDimension.
 * Limits: D ≤ 256; every tensor must fit one storage binding and index with i32 (checked by the kernel);
 *   varlen sequences longer than maxSeqlenQ/K are not covered (SPEC.md: maxSeqlen bounds every sequence).
 * Compile-time: the pass, kernelKey(spec) and the tiles; everything else is a uniform (grad_uniforms.ts).
 */
import {FlashAttentionSpec, kernelKey} from '../../../src/spec';
import {cacheLength, dropoutSnippet, TANH_WGSL, visibleKeys} from '../forward_snippets';
import {spreadDispatch} from '../dispatch';
import {FlatProgram} from '../flat_program';
import {stageBlock, storeBlock} from '../staging';
import {unrollLoops} from '../unroll';
import {GRAD_ROW_PAD_VEC4, GRAD_THREADS, GradPass, GradTiles, gradTileKey} from './grad_tiles';
import {gradUniforms} from './grad_uniforms';

/** Tensor inputs of the main passes, in binding order. */
export function gradInputNames(spec: FlashAttentionSpec): string[] {
  // stats = [lse | D | ALiBi slopes] (one binding for three, so varlen stays within 8 storage buffers)
  const names = ['q', 'k', 'v', 'dOutput', 'stats'];
  if (spec.bias === 'matrix') names.push('bias');
  if (spec.varlen) names.push('cuSeqlensQ', 'cuSeqlensK');
  if (spec.cacheSeqlens) names.push('cacheSeqlens');  // never with varlen: within 8 storage buffers too
  return names;
}

/** loadRow_X(base, d): elements d..d+3 of the row at `base` of float tensor X, 0 past the head size. */
export function gradRowLoader(name: string): string {
  return `fn loadRow_${name}(base : i32, d : i32) -> vec4<f32> {
  if (d + 4 <= uniforms.headDim) {
    return vec4<f32>(${name}[base + d], ${name}[base + d + 1], ${name}[base + d + 2], ${name}[base + d + 3]);
  }
  var r = vec4<f32>(0.0);
  for (var e = 0; e < 4; e++) {
    if (d + e < uniforms.headDim) { r[e] = ${name}[base + d + e]; }
  }
  return r;
}`;
}

/**
 * The score of (i, j) in log2 units, before the LSE: the one place the soft-cap, bias and ALiBi enter (as in
 * the forward), and which keys are visible (visibleKeys). capSlope(dotQK) = d capped / d scaled dot = 1 − tanh².
 */
export function gradScoreSnippet(spec: FlashAttentionSpec): string {
  const cap = spec.softcap > 0;
  const softcap = cap ? 's = uniforms.softcapLog2 * tanhOf(s / uniforms.softcapLog2);' : '';
  const bias = spec.bias === 'matrix' ?
      's = s + LOG2E * bias[biasBase + i * uniforms.biasStrideI + j * uniforms.biasStrideJ];' : '';
  const alibi = spec.alibi !== 'none' ? 's = s - slopeLog2 * f32(abs(i + diagonal - j));' : '';
  return `
var<private> biasBase : i32;
var<private> slopeLog2 : f32;
var<private> diagonal : i32;
const CAUSAL : bool = ${spec.causal};
${visibleKeys(spec)}
${cap ? TANH_WGSL : ''}
${dropoutSnippet(spec)}
fn scoreLog2(dotQK : f32, i : i32, j : i32) -> f32 {
  var s = dotQK * uniforms.scaleLog2;
  ${softcap}
  ${bias}
  ${alibi}
  return s;
}
fn isVisible(i : i32, j : i32, lenK : i32) -> bool {
  return j >= firstVisibleKey(i, diagonal) && j < visibleKeyEnd(i, diagonal, lenK);
}
fn capSlope(dotQK : f32) -> f32 {
  ${cap ? 'let t = tanhOf(dotQK * uniforms.scaleLog2 / uniforms.softcapLog2); return 1.0 - t * t;' : 'return 1.0;'}
}
// The recompute of one element (i, j) of head h from its two dots, S = q·k and dP = dO·v: (P∘Z, what dV
// takes; dS = P∘(Z∘dP − D_i), before the cap's slope). A masked key has P = dS = 0.
fn gradElement(dotQK : f32, dotDOV : f32, i : i32, j : i32, lse2 : f32, di : f32, lenK : i32, b : i32, h : i32) -> vec2<f32> {
  var p = 0.0;
  if (lse2 != -uniforms.INFINITY && isVisible(i, j, lenK)) { p = exp2(scoreLog2(dotQK, i, j) - lse2); }
  ${spec.dropoutRate > 0 ? `// dropout: P V took P ∘ Z, so dV does, and dP = Z ∘ (dO Vᵀ)
  let z = dropoutScale(b, h, i, j);
  return vec2<f32>(p * z, select(0.0, p * (z * dotDOV - di), p != 0.0));` :
      'return vec2<f32>(p, select(0.0, p * (dotDOV - di), p != 0.0));'}
}`;
}

/**
 * After gradElement: the ALiBi slope's partial from the unrounded dS (the dQ pass sums it in `slopeAcc`),
 * then dS through the cap (1 − tanh²), what dQ and dK take.
 */
export function dsForProducts(spec: FlashAttentionSpec, ds: string, slopePartial: boolean): string {
  return [
    slopePartial && spec.alibi !== 'none' ? `slopeAcc -= ${ds} * f32(abs(i + diagonal - j));` : '',
    spec.softcap > 0 ? `${ds} *= capSlope(dotQK);` : '',
  ].filter(x => x !== '').join('\n        ');
}

/** Operand accessors: workgroup tile or straight from the storage buffer (rows past the sequence read 0). */
function operand(name: string, tensor: string, strideS: string, shared: boolean, rows: string): string {
  if (shared) return `fn op_${name}(r : i32, d4 : i32) -> vec4<f32> { return ${name}Tile[r * ROW + d4]; }`;
  return `fn op_${name}(r : i32, d4 : i32) -> vec4<f32> {
  if (r >= ${rows}) { return vec4<f32>(0.0); }
  return loadRow_${tensor}(${name}Base + r * uniforms.${strideS}, d4 * 4);
}`;
}

function tileDecl(name: string, rows: string, shared: boolean): string {
  return shared ? `var<workgroup> ${name}Tile : array<vec4<f32>, ${rows} * ROW>;` : '';
}

/** Loads rows [0, BLOCK) of an operand pair into its tiles (no-op when read from storage). */
function tileLoader(pair: [string, string], tensors: [string, string], strides: [string, string], block: string, shared: boolean, rows: string): string {
  const body = shared ? `
  for (var idx = tid; idx < ${block} * D4; idx += THREADS) {
    let r = idx / D4;
    let d4 = idx % D4;
    var a = vec4<f32>(0.0);
    var c = vec4<f32>(0.0);
    if (r < ${rows}) {
      a = loadRow_${tensors[0]}(${pair[0]}Base + r * uniforms.${strides[0]}, d4 * 4);
      c = loadRow_${tensors[1]}(${pair[1]}Base + r * uniforms.${strides[1]}, d4 * 4);
    }
    ${pair[0]}Tile[r * ROW + d4] = a;
    ${pair[1]}Tile[r * ROW + d4] = c;
  }` : '';
  return `fn load_${pair[0]}${pair[1]}(tid : i32) {${body}\n}`;
}

/**
 * The streamed operand pair of a pass (Q_i, dO_i for dK/dV; K_j, V_j for dQ) in two stages, so that a
 * block's device reads are in flight while the previous block is being computed:
 *   stage: device → this thread's registers (stagedA, stagedB): vec4 u of the thread is tile element
 *          tid + u·THREADS (row idx / D4, column idx % D4), rows past the sequence 0 — the same values
 *          and tile positions as tileLoader, so the tiles (and every result) are bit-identical;
 *   store: registers → workgroup tiles, between two barriers.
 * `bases` are the row-0 offsets of the two tensors and `rows` the valid row count of the staged block.
 */
interface StreamedPair {
  names: [string, string];
  tensors: [string, string];
  strides: [string, string];
}

function stageStreamed(p: StreamedPair, bases: [string, string], rows: string): string {
  return stageBlock('STREAM_LOADS', 'STREAM_BLOCK', `row < ${rows}`, [0, 1].map(i => ({
    staged: i === 0 ? 'stagedA' : 'stagedB', zero: 'vec4<f32>(0.0)',
    load: `loadRow_${p.tensors[i]}(${bases[i]} + row * uniforms.${p.strides[i]}, (idx % D4) * 4)`,
  })));
}

function storeStreamed(p: StreamedPair): string {
  return storeBlock('STREAM_LOADS', 'STREAM_BLOCK', [
    {tile: `${p.names[0]}Tile`, value: 'stagedA[u]'}, {tile: `${p.names[1]}Tile`, value: 'stagedB[u]'},
  ]);
}

/** lse_i (log2 units) and D_i of rows [m, m + BLOCK_M) of head h into registers, as loadRowStats computes them. */
export function stageRowStats(h: string, m: string): string {
  return `
      for (var u = 0; u < STATS_LOADS; u++) {
        let r = tid + u * THREADS;
        var l = -uniforms.INFINITY;
        var dd = 0.0;
        if (r < BLOCK_M && ${m} + r < lenQ) {
          let at = (startQ + ${m} + r) * uniforms.lseStrideS + b * uniforms.lseStrideB + ${h} * uniforms.lseStrideH;
          l = stats[at] * LOG2E;
          dd = stats[uniforms.deltaOffset + at];
        }
        stagedLse[u] = l;
        stagedDelta[u] = dd;
      }`;
}

export function storeRowStats(): string {
  return `
    for (var u = 0; u < STATS_LOADS; u++) {
      let r = tid + u * THREADS;
      if (r < BLOCK_M) {
        lseRow[r] = stagedLse[u];
        deltaRow[r] = stagedDelta[u];
      }
    }`;
}

/**
 * The workgroup's block of a main pass, read by every invocation from one workgroupUniformLoad (control
 * flow then depends only on uniform values): b, the head (g: kv head for 'dkdv'; h: query head for 'dq'),
 * the block (n0: first key of the dK/dV block; mb, m0: index and first row of the dQ block, the last block
 * first), the sequence's startQ, lenQ, startK, lenK, and info[7] = 0 for a workgroup past the grid.
 */
export function gradBlockInfo(spec: FlashAttentionSpec, pass: GradPass): string {
  const seqBounds = spec.varlen ? `
    startQ = cuSeqlensQ[b]; lenQ = cuSeqlensQ[b + 1] - startQ;
    startK = cuSeqlensK[b]; lenK = cuSeqlensK[b + 1] - startK;` :
      spec.cacheSeqlens ? `
    lenK = ${cacheLength('cacheSeqlens[b]')};` : '';
  const dkdv = pass === 'dkdv';
  const heads = dkdv ? 'uniforms.numHeadsK' : 'uniforms.numHeadsQ';
  return `
  let flat = i32(workgroupId.x + numWorkgroups.x * (workgroupId.y + numWorkgroups.y * workgroupId.z));
  if (tid == 0) {
    var inf = array<i32, 8>(0, 0, 0, 0, 0, 0, 0, 0);
    if (flat < uniforms.blocks * ${heads} * uniforms.batch) {
      let block = ${dkdv ? 'flat % uniforms.blocks' : 'uniforms.blocks - 1 - flat % uniforms.blocks'};
      let bh = flat / uniforms.blocks;
      let b = bh / ${heads};
      var startQ = 0; var lenQ = uniforms.seqlenQ;
      var startK = 0; var lenK = uniforms.seqlenK;${seqBounds.replace(/\n/g, '\n  ')}
      inf = array<i32, 8>(b, bh % ${heads}, ${dkdv ? 'block * BLOCK_N' : 'block'}, startQ, lenQ, startK, lenK, 1);
    }
    blockInfo = inf;
  }
  let info = workgroupUniformLoad(&blockInfo);
  ${dkdv ? 'let b = info[0]; let g = info[1]; let n0 = info[2];' : 'let b = info[0]; let h = info[1]; let mb = info[2]; let m0 = mb * BLOCK_M;'}
  let startQ = info[3]; let lenQ = info[4]; let startK = info[5]; let lenK = info[6];`;
}

/** Head h's bias row base and ALiBi slope (log2 units), which scoreLog2 reads. */
export function headSideInputs(spec: FlashAttentionSpec): string {
  return [
    spec.bias === 'matrix' ? 'biasBase = b * uniforms.biasStrideB + h * uniforms.biasStrideH;' : '',
    spec.alibi !== 'none' ? 'slopeLog2 = LOG2E * stats[uniforms.slopesOffset + b * uniforms.alibiBatchStride + h];' : '',
  ].filter(x => x !== '').join('\n  ');
}

/**
 * The dQ pass after gradBlockInfo: a block past the sequence writes its ALiBi partial 0 and returns; then
 * the sequence's diagonal, the kv head hk, head h's side inputs, and the block's slope partial `slopeAcc`.
 */
export function dqBlockPrologue(spec: FlashAttentionSpec): string {
  return `
  let partialAt = uniforms.extraOffset + (b * uniforms.numHeadsQ + h) * uniforms.blocks + mb;
  if (info[7] == 0 || m0 >= lenQ) {
    ${spec.alibi !== 'none' ? 'if (info[7] != 0 && tid == 0) { result[partialAt] = 0.0; }' : ''}
    return;
  }
  diagonal = lenK - lenQ;
  let hk = h / uniforms.groupSize;
  ${headSideInputs(spec)}
  var slopeAcc = 0.0;`;
}

/** ALiBi: the dQ block's partial sum of −dS·|i + diagonal − j| over its invocations (reduceTile) → output[partialAt]. */
export function slopePartialStore(spec: FlashAttentionSpec): string {
  return spec.alibi === 'none' ? '' : `
  workgroupBarrier();
  reduceTile[tid] = slopeAcc;
  workgroupBarrier();
  if (tid == 0) {
    var total = 0.0;
    for (var x = 0; x < THREADS; x++) { total += reduceTile[x]; }
    result[partialAt] = total;
  }`;
}

/** lse_i (log2 units) and D_i of rows [m0, m0 + BLOCK_M) of head h into lseRow, deltaRow (-inf, 0 past lenQ). */
export function rowStatsLoader(): string {
  return `
fn loadRowStats(tid : i32, b : i32, h : i32, m0 : i32, startQ : i32, lenQ : i32) {
  for (var r = tid; r < BLOCK_M; r += THREADS) {
    var l = -uniforms.INFINITY;
    var dd = 0.0;
    if (m0 + r < lenQ) {
      let at = (startQ + m0 + r) * uniforms.lseStrideS + b * uniforms.lseStrideB + h * uniforms.lseStrideH;
      l = stats[at] * LOG2E;
      dd = stats[uniforms.deltaOffset + at];
    }
    lseRow[r] = l;
    deltaRow[r] = dd;
  }
}`;
}

/**
 * Writes this thread's accumulator rows (ta + 16·a, those below 'count'; keys for dK/dV, query rows for dQ)
 * to the output: vec4 columns td + 8·c clipped to the head size, one output per accumulator at 'offset'
 * plus the row's 'base' (WGSL in terms of 'row'); dK and dQ are scaled by softmaxScale (the chain rule through S).
 */
function storeAccumulators(count: string, base: string, outputs: Array<{acc: string, scaled: boolean, offset: string}>): string {
  return `
  for (var a = 0; a < RA; a++) {
    let row = ta + 16 * a;
    if (row >= ${count}) { continue; }
    let base = ${base};
    for (var c = 0; c < DC; c++) {
      let d = 4 * (td + 8 * c);${outputs.map((o, i) => `
      let v${i} = ${o.acc}[a][c]${o.scaled ? ' * uniforms.softmaxScale' : ''};`).join('')}
      for (var e = 0; e < 4; e++) {
        if (d + e < uniforms.headDim) {${outputs.map((o, i) => ` result[${o.offset}base + d + e] = v${i}[e];`).join('')} }
      }
    }
  }`;
}

export function gradShader(spec: FlashAttentionSpec, t: GradTiles): string {
  const dkdv = t.pass === 'dkdv';
  const qShared = dkdv ? t.streamedShared : t.residentShared;
  const kShared = dkdv ? t.residentShared : t.streamedShared;
  const hasAlibi = spec.alibi !== 'none';
  // The streamed block of each loop iteration travels device → registers (staged*) → workgroup memory one
  // iteration ahead of its use: its device reads are issued right after the previous block reached the
  // tiles and overlap that block's math (recompute, both accumulations) instead of stalling the loop.
  const streamedShared = t.streamedShared;
  const streamed: StreamedPair = dkdv ?
      {names: ['q', 'dO'], tensors: ['q', 'dOutput'], strides: ['qStrideS', 'oStrideS']} :
      {names: ['k', 'v'], tensors: ['k', 'v'], strides: ['kStrideS', 'vStrideS']};

  // -- phase 1, shared by both passes: S, dP register tiles, then P and dS --
  const recompute = `
    var s = array<array<f32, RNS>, RMS>();
    var dp = array<array<f32, RNS>, RMS>();
    for (var d4 = 0; d4 < D4; d4++) {
      var kk : array<vec4<f32>, RNS>;
      var vv : array<vec4<f32>, RNS>;
      for (var c = 0; c < RNS; c++) { kk[c] = op_k(sn + 16 * c, d4); vv[c] = op_v(sn + 16 * c, d4); }
      for (var a = 0; a < RMS; a++) {
        let qv = op_q(sm + 8 * a, d4);
        let dov = op_dO(sm + 8 * a, d4);
        for (var c = 0; c < RNS; c++) { s[a][c] += dot(qv, kk[c]); dp[a][c] += dot(dov, vv[c]); }
      }
    }
    for (var a = 0; a < RMS; a++) {
      let row = sm + 8 * a;
      let i = m0 + row;
      let lse2 = lseRow[row];
      let di = deltaRow[row];
      for (var c = 0; c < RNS; c++) {
        let j = n0 + sn + 16 * c;
        let dotQK = s[a][c];
        let e = gradElement(dotQK, dp[a][c], i, j, lse2, di, lenK, b, h);
        s[a][c] = e.x;
        dp[a][c] = e.y;
        ${dsForProducts(spec, 'dp[a][c]', !dkdv)}
      }
    }`;
  const storeTile = (what: string) => `
    for (var a = 0; a < RMS; a++) {
      for (var c = 0; c < RNS; c++) { pTile[(sm + 8 * a) * BLOCK_N + sn + 16 * c] = ${what}[a][c]; }
    }`;
  // acc[a][c] += w(row r, key ta + 16a) * op(r, td + 8c), skipping w == 0
  const accumulateKeys = (acc: string, op: string) => `
    for (var r = 0; r < BLOCK_M; r++) {
      var ov : array<vec4<f32>, DC>;
      for (var c = 0; c < DC; c++) { ov[c] = ${op}(r, td + 8 * c); }
      for (var a = 0; a < RA; a++) {
        let w = pTile[r * BLOCK_N + ta + 16 * a];
        if (w != 0.0) {
          for (var c = 0; c < DC; c++) { ${acc}[a][c] += w * ov[c]; }
        }
      }
    }`;


  const stageNext = dkdv ? (streamedShared ? stageStreamed(streamed, [
    '(startQ + stageM) * uniforms.qStrideS + b * uniforms.qStrideB + stageH * uniforms.qStrideH',
    '(startQ + stageM) * uniforms.oStrideS + b * uniforms.oStrideB + stageH * uniforms.oStrideH',
  ], 'min(BLOCK_M, lenQ - stageM)') : '') + stageRowStats('stageH', 'stageM') :
      (streamedShared ? stageStreamed(streamed, [
        '(startK + stageN) * uniforms.kStrideS + b * uniforms.kStrideB + hk * uniforms.kStrideH',
        '(startK + stageN) * uniforms.vStrideS + b * uniforms.vStrideB + hk * uniforms.vStrideH',
      ], 'min(BLOCK_N, lenK - stageN)') : '');

  const body = dkdv ? `
  // -- dK/dV pass: (b, g, key block) --
${gradBlockInfo(spec, 'dkdv')}
  // A padded KV cache's keys past the valid length still get their dK = dV = 0 written (no query sees
  // them); elsewhere a block past lenK belongs to no sequence.
  if (info[7] == 0 || (n0 >= lenK && ${!spec.cacheSeqlens})) { return; }
  diagonal = lenK - lenQ;
  kBase = (startK + n0) * uniforms.kStrideS + b * uniforms.kStrideB + g * uniforms.kStrideH;
  vBase = (startK + n0) * uniforms.vStrideS + b * uniforms.vStrideB + g * uniforms.vStrideH;
  rowsK = max(0, min(BLOCK_N, lenK - n0));
  let rowsStored = ${spec.cacheSeqlens ? 'min(BLOCK_N, uniforms.seqlenK - n0)' : 'rowsK'};
  load_kv(tid);

  var dk = array<array<vec4<f32>, DC>, RA>();
  var dv = array<array<vec4<f32>, DC>, RA>();
  // Causal / window: only rows firstRowReaching(n0) .. rowEndReaching(last key) see some key of the block.
  // (Control flow reads only workgroup-uniform values: private variables would fail WGSL's uniformity analysis.)
  let mStart = (firstRowReaching(n0, lenK - lenQ) / BLOCK_M) * BLOCK_M;
  let mEnd = select(rowEndReaching(min(n0 + BLOCK_N, lenK) - 1, lenK - lenQ, lenQ), mStart, n0 >= lenK);
  // The iterations run over (query head h of the group, row block m0) in order; stageNext stages the
  // streamed block (Q_i, dO_i when in workgroup memory, lse_i, D_i) of iteration (stageH, stageM).
  let hEnd = (g + 1) * uniforms.groupSize;
  if (mStart < mEnd) {
    let stageH = g * uniforms.groupSize;
    let stageM = mStart;${stageNext}
  }
  for (var hh = 0; hh < uniforms.groupSize; hh++) {
    let h = g * uniforms.groupSize + hh;
    ${headSideInputs(spec)}
    for (var m0 = mStart; m0 < mEnd; m0 += BLOCK_M) {
      qBase = (startQ + m0) * uniforms.qStrideS + b * uniforms.qStrideB + h * uniforms.qStrideH;
      dOBase = (startQ + m0) * uniforms.oStrideS + b * uniforms.oStrideB + h * uniforms.oStrideH;
      rowsQ = min(BLOCK_M, lenQ - m0);
      // -- this block into the tiles -- (its device reads were issued during the previous iteration)
      workgroupBarrier();${streamedShared ? storeStreamed(streamed) : ''}${storeRowStats()}
      workgroupBarrier();
      // -- prefetch the next iteration's block -- (the next row block, else the next head's first)
      {
        var stageH = h;
        var stageM = m0 + BLOCK_M;
        if (stageM >= mEnd) { stageH = h + 1; stageM = mStart; }
        if (stageH < hEnd) {${stageNext}
        }
      }
      ${recompute}
      ${storeTile('s')}
      workgroupBarrier();
      ${accumulateKeys('dv', 'op_dO')}
      workgroupBarrier();
      ${storeTile('dp')}
      workgroupBarrier();
      ${accumulateKeys('dk', 'op_q')}
    }
  }
  // -- store dK, dV --${storeAccumulators('rowsStored', '(startK + n0 + row) * uniforms.kStrideS + b * uniforms.kStrideB + g * uniforms.kStrideH',
      [{acc: 'dk', scaled: true, offset: ''}, {acc: 'dv', scaled: false, offset: 'uniforms.extraOffset + '}])}` : `
  // -- dQ pass: (b, h, query block), the last block first --
${gradBlockInfo(spec, 'dq')}
${dqBlockPrologue(spec)}
  qBase = (startQ + m0) * uniforms.qStrideS + b * uniforms.qStrideB + h * uniforms.qStrideH;
  dOBase = (startQ + m0) * uniforms.oStrideS + b * uniforms.oStrideB + h * uniforms.oStrideH;
  rowsQ = min(BLOCK_M, lenQ - m0);
  load_qdO(tid);
  loadRowStats(tid, b, h, m0, startQ, lenQ);

  var dq = array<array<vec4<f32>, DC>, RA>();
  // Keys outside what the block's rows see (causal diagonal, window) are never loaded.
  let kEnd = visibleKeyEnd(m0 + min(BLOCK_M, lenQ - m0) - 1, lenK - lenQ, lenK);
  let kBegin = (firstVisibleKey(m0, lenK - lenQ) / BLOCK_N) * BLOCK_N;
  // stageNext stages K_j, V_j of the key block at stageN (when they live in workgroup memory).
  if (kBegin < kEnd) {
    let stageN = kBegin;${stageNext}
  }
  for (var n0 = kBegin; n0 < kEnd; n0 += BLOCK_N) {
    kBase = (startK + n0) * uniforms.kStrideS + b * uniforms.kStrideB + hk * uniforms.kStrideH;
    vBase = (startK + n0) * uniforms.vStrideS + b * uniforms.vStrideB + hk * uniforms.vStrideH;
    rowsK = min(BLOCK_N, lenK - n0);
    // -- K_j, V_j into the tiles -- (their device reads were issued during the previous block)
    workgroupBarrier();${streamedShared ? storeStreamed(streamed) : ''}
    workgroupBarrier();
    // -- prefetch the next key block --
    if (n0 + BLOCK_N < kEnd) {
      let stageN = n0 + BLOCK_N;${stageNext}
    }
    ${recompute}
    ${storeTile('dp')}
    workgroupBarrier();
    for (var c = 0; c < BLOCK_N; c++) {
      var kv : array<vec4<f32>, DC>;
      for (var e = 0; e < DC; e++) { kv[e] = op_k(c, td + 8 * e); }
      for (var a = 0; a < RA; a++) {
        let w = pTile[(ta + 16 * a) * BLOCK_N + c];
        if (w != 0.0) {
          for (var e = 0; e < DC; e++) { dq[a][e] += w * kv[e]; }
        }
      }
    }
  }
  // -- store dQ (rows with no visible key get 0) --${storeAccumulators('rowsQ', '(startQ + m0 + row) * uniforms.qStrideS + b * uniforms.qStrideB + h * uniforms.qStrideH',
      [{acc: 'dq', scaled: true, offset: ''}])}
  ${slopePartialStore(spec)}`;

  // Per-thread register counts of the staged block, derived from the tiles (and used to unroll the u loops).
  const streamBlock = dkdv ? t.blockM : t.blockN;
  const streamLoads = Math.ceil(streamBlock * t.dPad / 4 / GRAD_THREADS);
  const statsLoads = Math.ceil(t.blockM / GRAD_THREADS);
  const staged = [
    streamedShared ? `var stagedA = array<vec4<f32>, STREAM_LOADS>();
  var stagedB = array<vec4<f32>, STREAM_LOADS>();` : '',
    dkdv ? `var stagedLse = array<f32, STATS_LOADS>();
  var stagedDelta = array<f32, STATS_LOADS>();` : '',
  ].filter(x => x !== '').join('\n  ');
  // Every staged-array index must be a constant so the arrays stay in registers: the u loops are unrolled.
  return unrollLoops(`
const D4 : i32 = ${t.dPad / 4};
const ROW : i32 = D4 + ${GRAD_ROW_PAD_VEC4};
const BLOCK_M : i32 = ${t.blockM};
const BLOCK_N : i32 = ${t.blockN};
const THREADS : i32 = ${GRAD_THREADS};
const RMS : i32 = BLOCK_M / 8;                   // S-tile rows per thread
const RNS : i32 = BLOCK_N / 16;                  // S-tile keys per thread
const RA : i32 = ${dkdv ? 'BLOCK_N' : 'BLOCK_M'} / 16;   // accumulator rows (keys) per thread
const DC : i32 = D4 / 8;                         // accumulator vec4 columns per thread
const STREAM_BLOCK : i32 = ${dkdv ? 'BLOCK_M' : 'BLOCK_N'};   // rows of the streamed operand block
const STREAM_LOADS : i32 = ${streamLoads};          // vec4 of a streamed block per thread
const STATS_LOADS : i32 = ${statsLoads};           // rows of lse_i / D_i per thread
const LOG2E : f32 = 1.4426950408889634;

${tileDecl('q', 'BLOCK_M', qShared)}
${tileDecl('dO', 'BLOCK_M', qShared)}
${tileDecl('k', 'BLOCK_N', kShared)}
${tileDecl('v', 'BLOCK_N', kShared)}
var<workgroup> pTile : array<f32, BLOCK_M * BLOCK_N>;
var<workgroup> lseRow : array<f32, BLOCK_M>;
var<workgroup> deltaRow : array<f32, BLOCK_M>;
var<workgroup> blockInfo : array<i32, 8>;
${!dkdv && hasAlibi ? 'var<workgroup> reduceTile : array<f32, THREADS>;' : ''}

var<private> qBase : i32;
var<private> dOBase : i32;
var<private> kBase : i32;
var<private> vBase : i32;
var<private> rowsQ : i32;
var<private> rowsK : i32;

${gradRowLoader('q')}
${gradRowLoader('k')}
${gradRowLoader('v')}
${gradRowLoader('dOutput')}
${gradScoreSnippet(spec)}
${operand('q', 'q', 'qStrideS', qShared, 'rowsQ')}
${operand('dO', 'dOutput', 'oStrideS', qShared, 'rowsQ')}
${operand('k', 'k', 'kStrideS', kShared, 'rowsK')}
${operand('v', 'v', 'vStrideS', kShared, 'rowsK')}
${dkdv ? tileLoader(['k', 'v'], ['k', 'v'], ['kStrideS', 'vStrideS'], 'BLOCK_N', kShared, 'rowsK') :
        tileLoader(['q', 'dO'], ['q', 'dOutput'], ['qStrideS', 'oStrideS'], 'BLOCK_M', qShared, 'rowsQ')}
${dkdv ? '' : rowStatsLoader()}

fn main(index : i32) {
  let tid = i32(localIndex);
  let sm = tid / 16;         // S tile: rows sm + 8a, keys sn + 16c
  let sn = tid % 16;
  let ta = tid / 8;          // accumulator tile: rows (keys) ta + 16a, vec4 columns td + 8c
  let td = tid % 8;
  ${staged}
  ${body}
}
`, ['u'], {STREAM_LOADS: streamLoads, STATS_LOADS: statsLoads});
}

export class FlashAttentionGradProgram extends FlatProgram {
  constructor(
      private readonly spec: FlashAttentionSpec, private readonly tiles: GradTiles, outputSize: number,
      workgroups: number, maxWorkgroupsPerDimension: number) {
    super({
      variableNames: gradInputNames(spec), outputSize, shaderKey: `flashAttentionGrad|${kernelKey(spec)}|${gradTileKey(tiles)}`,
      dispatch: spreadDispatch(workgroups, maxWorkgroupsPerDimension, 'FlashAttentionGrad'),
      workgroupSize: GRAD_THREADS, uniforms: gradUniforms(spec, 0, 0),
    });
  }

  getUserCode(): string {
    return gradShader(this.spec, this.tiles);
  }
}

