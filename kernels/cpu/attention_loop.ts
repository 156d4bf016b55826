/**
 * FlashAttention-2 forward on the CPU: the same tiled online-softmax loop the GPU kernels run.
 *
 * For each (sequence b, query head h) and each block of BLOCK_M query rows:
 *   load Q block; m_i = -inf, l_i = 0, acc = 0
 *   for each block of BLOCK_N keys that some row of the block can see:
 *     -- compute qk --      S = Q Kᵀ · qk_scale (soft-capped: c·tanh(S / c); + bias + ALiBi; causal and
 *                           window masks on the blocks that cross their bounds only)
 *     -- online softmax --  m_ij = max(m_i, rowmax S); P = exp(S - m_ij); alpha = exp(m_i - m_ij)
 *                           l_i = l_i · alpha + rowsum P
 *     -- rescale acc --     acc = acc · alpha + P V (dropout: P_ij · keep(b, h, i, j) / (1 − rate) in P V only)
 *   epilogue: the sink (when given) joins as one more key of score sink_h and no value:
 *             m = max(m_i, sink), l_i = l_i·e^(m_i − m) + e^(sink − m), acc·e^(m_i − m);
 *             out = acc / l_i; lse = m + log(l_i); rows with no visible key give 0 and -inf (sink_h with a sink).
 * Blocks entirely above the bottom-right causal diagonal or outside the window are never loaded. Memory: O(BLOCK_M · BLOCK_N
 * + (BLOCK_M + 2 BLOCK_N) · D) per call, never Sq × Sk. Scores stay in natural-log units (Math.exp is
 * what JS has; the GPU kernels fold log2(e) into qk_scale and use exp2).
 *
 * precision 'float16' (SPEC.md, Precision), the reference for every float16 kernel: the Q, K and V tiles
 * are rounded to IEEE half as they are loaded (FP8 KV-only: the decoded value · descale), and P is
 * rounded to half for P·V only; S, the row sum l (of the unrounded P), m, acc and the LSE stay as in
 * float32 (here: float64), and the output is float32.
 */
import type {TypedArray} from '@tensorflow/tfjs-core';
import {fp8DecodeTable, fp8Encode} from '../../src/fp8_codec';
import {dropoutKeeps} from '../../src/dropout';
import {roundToHalf} from '../../src/half';
import type {FlashAttentionSpec} from '../../src/spec';
import {RowLoader} from './row_loader';
import {sequenceBounds} from './sequence';
import {VisibleKeys} from './visible_keys';

export const BLOCK_M = 32;
export const BLOCK_N = 64;

export interface AttentionData {
  q: TypedArray;
  k: TypedArray;
  v: TypedArray;
  bias: TypedArray|null;
  alibiSlopes: TypedArray|null;
  sinks: TypedArray|null;
  cuSeqlensQ: TypedArray|null;
  cuSeqlensK: TypedArray|null;
  cacheSeqlens: TypedArray|null;
  qDescale: TypedArray|null;
  kDescale: TypedArray|null;
  vDescale: TypedArray|null;
}

export function attentionForward(
    spec: FlashAttentionSpec, data: AttentionData, out: Float32Array, lse: Float32Array|null): void {
  const D = spec.headDim;
  const full = spec.fp8Mode === 'full';
  // Full FP8 mode always has precision 'float32' (normalize_spec.ts): it keeps its own arithmetic.
  const half = spec.precision === 'float16';
  const qLoader = new RowLoader(data.q, spec.qStrides, spec.qFormat, D, half, spec.qStorage);
  const kLoader = new RowLoader(data.k, spec.kStrides, spec.kFormat, D, half, spec.kStorage);
  const vLoader = new RowLoader(data.v, spec.vStrides, spec.vFormat, D, half, spec.vStorage);
  const qTile = new Float32Array(BLOCK_M * D);
  const kTile = new Float32Array(BLOCK_N * D);
  const vTile = new Float32Array(BLOCK_N * D);
  // S, then P in place; float16 writes the half-rounded P that P·V multiplies to a buffer of its own,
  // so S's P (unrounded) still tells a masked key (p = 0) from one whose P rounds to 0 in half.
  const s = new Float64Array(BLOCK_M * BLOCK_N);
  // Dropout (its keep mask, src/dropout.ts, times 1 / (1 − rate)) scales P for P·V only: its own buffer too.
  const dropout = spec.dropoutRate > 0, keptScale = 1 / (1 - spec.dropoutRate);
  const pv = half || dropout ? new Float64Array(BLOCK_M * BLOCK_N) : s;
  const acc = new Float64Array(BLOCK_M * D);
  const mI = new Float64Array(BLOCK_M);
  const lI = new Float64Array(BLOCK_M);
  // Full FP8 with pScale: P goes through the FP8 grid before P·V (vLLM's quant_fp8(p, p_scale)).
  const pFormat = full && spec.pScale > 0 ? spec.pFormat! : null;
  const pTable = pFormat ? fp8DecodeTable(pFormat) : null;
  const [bsB, bsH, bsI, bsJ] = spec.biasStrides;
  const cap = spec.softcap;
  const descaleOf = (perHead: TypedArray|null, scalar: number, head: number) =>
      perHead ? perHead[head] : scalar;

  for (let b = 0; b < spec.batch; b++) {
    const {startQ, startK, lenQ, lenK, diagonal} = sequenceBounds(spec, data, b);
    const keys = new VisibleKeys(spec, diagonal, lenK);
    for (let h = 0; h < spec.numHeadsQ; h++) {
      const hk = Math.floor(h / spec.groupSize);
      const qd = descaleOf(data.qDescale, spec.qDescale, h);
      const kd = descaleOf(data.kDescale, spec.kDescale, hk);
      const vd = descaleOf(data.vDescale, spec.vDescale, hk);
      // Full mode: raw codes in the dots, descales applied to the products; KV-only: k, v dequantized on load.
      const qkScale = full ? spec.softmaxScale * qd * kd : spec.softmaxScale;
      const kLoadScale = full ? 1 : kd, vLoadScale = full ? 1 : vd;
      const slope = data.alibiSlopes ? data.alibiSlopes[b * spec.alibiBatchStride + h] : 0;
      const biasBase = b * bsB + h * bsH;

      for (let m0 = 0; m0 < lenQ; m0 += BLOCK_M) {
        const rows = Math.min(BLOCK_M, lenQ - m0);
        qLoader.load(qTile, b, h, startQ, m0, rows, 1);
        mI.fill(-Infinity);
        lI.fill(0);
        acc.fill(0);
        // Keys before the first row's window or past the last row's diagonal / window are invisible
        // to the whole block: never loaded. Key blocks stay aligned to BLOCK_N.
        const mLast = m0 + rows - 1;
        const kEnd = keys.end(mLast);
        const kBegin = keys.first(m0) - keys.first(m0) % BLOCK_N;
        for (let n0 = kBegin; n0 < kEnd; n0 += BLOCK_N) {
          const cols = Math.min(BLOCK_N, kEnd - n0);
          kLoader.load(kTile, b, hk, startK, n0, cols, kLoadScale);
          vLoader.load(vTile, b, hk, startK, n0, cols, vLoadScale);
          // Only blocks crossing the causal diagonal or a window bound need the mask.
          const masked = keys.blockNeedsMask(m0, mLast, n0, n0 + cols - 1);

          // -- compute qk --
          for (let r = 0; r < rows; r++) {
            const qo = r * D, so = r * BLOCK_N;
            for (let c = 0; c < cols; c++) {
              const ko = c * D;
              // Four independent partial sums keep the FMA pipeline busy.
              let d0 = 0, d1 = 0, d2 = 0, d3 = 0, d = 0;
              for (; d + 3 < D; d += 4) {
                d0 += qTile[qo + d] * kTile[ko + d];
                d1 += qTile[qo + d + 1] * kTile[ko + d + 1];
                d2 += qTile[qo + d + 2] * kTile[ko + d + 2];
                d3 += qTile[qo + d + 3] * kTile[ko + d + 3];
              }
              for (; d < D; d++) d0 += qTile[qo + d] * kTile[ko + d];
              s[so + c] = (d0 + d1 + d2 + d3) * qkScale;
            }
          }
          // -- score modifiers: soft-cap, bias, ALiBi, causal and window masks (one place) --
          if (data.bias != null || data.alibiSlopes != null || masked || cap > 0) {
            for (let r = 0; r < rows; r++) {
              const i = m0 + r, so = r * BLOCK_N;
              for (let c = 0; c < cols; c++) {
                const j = n0 + c;
                if (cap > 0) s[so + c] = cap * Math.tanh(s[so + c] / cap);
                if (masked && !keys.visible(i, j)) {
                  s[so + c] = -Infinity;
                  continue;
                }
                if (data.bias != null) s[so + c] += data.bias[biasBase + i * bsI + j * bsJ];
                if (data.alibiSlopes != null) s[so + c] -= slope * Math.abs(i + diagonal - j);
              }
            }
          }
          // -- online softmax and rescale acc --
          for (let r = 0; r < rows; r++) {
            const so = r * BLOCK_N, ao = r * D;
            let mNew = mI[r];
            for (let c = 0; c < cols; c++) mNew = Math.max(mNew, s[so + c]);
            // A row that has seen only masked keys keeps m = -inf; shift by 0 so exp gives 0, not NaN.
            const shift = mNew === -Infinity ? 0 : mNew;
            const alpha = Math.exp(mI[r] - shift);
            let rowSum = 0;
            for (let d = 0; d < D; d++) acc[ao + d] *= alpha;
            // P overwrites S in place (l sums it unrounded); P·V then runs four keys per pass over acc.
            for (let c = 0; c < cols; c++) {
              const p = Math.exp(s[so + c] - shift);
              rowSum += p;
              s[so + c] = pTable ? pTable[fp8Encode(p * spec.pScale, pFormat!)] : p;
              if (pv !== s) {
                const z = dropout && !dropoutKeeps(spec.dropoutSeed, spec.dropoutThreshold, b, h, m0 + r, n0 + c) ? 0 : dropout ? keptScale : 1;
                pv[so + c] = (half ? roundToHalf(p) : s[so + c]) * z;
              }
            }
            let c = 0;
            for (; c + 3 < cols; c += 4) {
              // A masked key (p = 0) takes no part, not even as 0 · NaN: handled one key at a time.
              if (s[so + c] === 0 || s[so + c + 1] === 0 || s[so + c + 2] === 0 || s[so + c + 3] === 0) break;
              const p0 = pv[so + c], p1 = pv[so + c + 1], p2 = pv[so + c + 2], p3 = pv[so + c + 3];
              const v0 = c * D, v1 = v0 + D, v2 = v1 + D, v3 = v2 + D;
              for (let d = 0; d < D; d++) {
                acc[ao + d] += p0 * vTile[v0 + d] + p1 * vTile[v1 + d] + p2 * vTile[v2 + d] + p3 * vTile[v3 + d];
              }
            }
            for (; c < cols; c++) {
              if (s[so + c] === 0) continue;
              const p = pv[so + c], vo = c * D;
              for (let d = 0; d < D; d++) acc[ao + d] += p * vTile[vo + d];
            }
            lI[r] = lI[r] * alpha + rowSum;
            mI[r] = mNew;
          }
        }
        // -- epilogue --
        const accScale = full ? vd / (spec.pScale > 0 ? spec.pScale : 1) : 1;
        const outScale = spec.oScale > 0 ? 1 / spec.oScale : 1;
        const [osB, osS, osH] = spec.oStrides;
        const sink = data.sinks ? data.sinks[h] : -Infinity;
        for (let r = 0; r < rows; r++) {
          const i = m0 + r;
          const base = (startQ + i) * osS + b * osB + h * osH;
          // -- the sink: one more key, score sink_h, no value --
          const m = Math.max(mI[r], sink);
          const shift = m === -Infinity ? 0 : m;
          const keysWeight = Math.exp(mI[r] - shift);
          const l = lI[r] * keysWeight + Math.exp(sink - shift);
          for (let d = 0; d < D; d++) {
            out[base + d] = l === 0 ? 0 : acc[r * D + d] * keysWeight * accScale / l * outScale;
          }
          if (lse != null) {
            const [lsB, lsS, lsH] = spec.lseStrides;
            lse[(startQ + i) * lsS + b * lsB + h * lsH] = l === 0 ? -Infinity : m + Math.log(l);
          }
        }
      }
    }
  }
}
