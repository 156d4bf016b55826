/**
 * FlashAttention-2 backward on the CPU, tiled like the forward, never holding Sq × Sk.
 *
 *   precompute  D_i = rowsum(dO_i ∘ O_i) - dLse_i                      (per query row)
 *   for each (sequence b, kv head g) and each block of BLOCK_N keys:    (outer loop over K/V, as in FA2)
 *     load K_j, V_j; dK_j = dV_j = 0
 *     for each query head h of the group, each block of BLOCK_M rows that can see the key block:
 *       -- recompute P --   S = Q_i K_jᵀ · scale (soft-cap, + bias + ALiBi, causal / window mask); P = exp(S - lse_i)
 *                           (with sinks the LSE includes the sink, so P needs nothing more: src/sink_gradient.ts)
 *       -- dV --            dV_j += (P ∘ Z)ᵀ dO_i        (dropout: Z = keep / (1 − rate), regenerated; else 1)
 *       -- dS --            dP = Z ∘ (dO_i V_jᵀ); dS = P ∘ (dP - D_i)
 *       -- dQ, dK --        dQ_i += scale · dS' K_j;  dK_j += scale · dS'ᵀ Q_i, dS' = dS · (1 − tanh²) under a
 *                           soft-cap c (tanh = capped score / c), else dS
 *       -- dBias, dSlope -- dBias += dS (summed over broadcast axes); dSlope -= Σ dS · |i + Sk - Sq - j|
 *     store dK_j, dV_j (summed over the group's query heads: GQA/MQA)
 * Rows with no visible key (lse = -inf) have P = 0 and contribute nothing.
 *
 * precision 'float16' (the forward's rounding points carried to the five products, as FlashAttention-2's
 * fp16 backward): q, k, v and dO are rounded to IEEE half as they are loaded (D_i takes the rounded dO);
 * P is rounded to half for dV = Pᵀ dO (then the dropout scale, as the forward's P·V); dS' is rounded to
 * half for dQ = dS' K and dK = dS'ᵀ Q (the softmax scale after, as FA2 scales its dQ and dK at the end).
 * dS itself, D_i, the recomputed S and P, and every accumulator stay float64/float32; dBias and dSlope
 * sum the unrounded dS (they are sums, not matrix products).
 */
import type {TypedArray} from '@tensorflow/tfjs-core';
import type {FlashAttentionSpec} from '../../src/spec';
import {dropoutKeeps} from '../../src/dropout';
import {roundToHalf} from '../../src/half';
import {RowLoader} from './row_loader';
import {sequenceBounds} from './sequence';
import {VisibleKeys} from './visible_keys';

const BLOCK_M = 32;
const BLOCK_N = 64;

export interface BackwardData {
  q: TypedArray;
  k: TypedArray;
  v: TypedArray;
  output: TypedArray;
  dOutput: TypedArray;
  lse: TypedArray;
  dLse: TypedArray|null;
  bias: TypedArray|null;
  alibiSlopes: TypedArray|null;
  cuSeqlensQ: TypedArray|null;
  cuSeqlensK: TypedArray|null;
  cacheSeqlens: TypedArray|null;
}

export interface BackwardResult {
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
  /** Same size as the bias tensor (broadcast axes summed), or null. */
  dBias: Float64Array|null;
  dSlopes: Float64Array|null;
}

export function attentionBackward(spec: FlashAttentionSpec, data: BackwardData, result: BackwardResult): void {
  const D = spec.headDim, scale = spec.softmaxScale;
  const [osB, osS, osH] = spec.oStrides;
  const [ksB, ksS, ksH] = spec.kStrides;
  const [lsB, lsS, lsH] = spec.lseStrides;
  const [bsB, bsH, bsI, bsJ] = spec.biasStrides;
  const half = spec.precision === 'float16';
  const toHalf = half ? roundToHalf : (x: number) => x;
  const load = (x: TypedArray, strides: typeof spec.qStrides) => new RowLoader(x, strides, null, D, half);
  const qLoader = load(data.q, spec.qStrides), doLoader = load(data.dOutput, spec.oStrides);
  const kLoader = load(data.k, spec.kStrides), vLoader = load(data.v, spec.vStrides);
  const qTile = new Float32Array(BLOCK_M * D), doTile = new Float32Array(BLOCK_M * D);
  const kTile = new Float32Array(BLOCK_N * D), vTile = new Float32Array(BLOCK_N * D);
  const dkAcc = new Float64Array(BLOCK_N * D), dvAcc = new Float64Array(BLOCK_N * D);
  const p = new Float64Array(BLOCK_M * BLOCK_N), ds = new Float64Array(BLOCK_M * BLOCK_N);
  // Under a soft-cap, d(capped score) / d(scaled dot) = 1 − tanh² per element, for dQ and dK.
  const cap = spec.softcap;
  const dCap = cap > 0 ? new Float64Array(BLOCK_M * BLOCK_N) : null;
  const dropout = spec.dropoutRate > 0, keptScale = 1 / (1 - spec.dropoutRate);
  const rowLse = new Float64Array(BLOCK_M), rowD = new Float64Array(BLOCK_M);
  const {dq, dk, dv, dBias, dSlopes} = result;

  for (let b = 0; b < spec.batch; b++) {
    const {startQ, startK, lenQ, lenK, diagonal} = sequenceBounds(spec, data, b);
    const keys = new VisibleKeys(spec, diagonal, lenK);
    for (let g = 0; g < spec.numHeadsK; g++) {
      for (let n0 = 0; n0 < lenK; n0 += BLOCK_N) {
        const cols = Math.min(BLOCK_N, lenK - n0);
        kLoader.load(kTile, b, g, startK, n0, cols, 1);
        vLoader.load(vTile, b, g, startK, n0, cols, 1);
        dkAcc.fill(0);
        dvAcc.fill(0);
        // Causal / window: only rows i with end(i) > n0 and first(i) < n0 + cols see any key of this block
        // (both bounds rise with i).
        const firstRow = keys.firstRowReaching(n0), rowEnd = keys.rowEndReaching(n0 + cols - 1, lenQ);
        for (let h = g * spec.groupSize; h < (g + 1) * spec.groupSize; h++) {
          const slope = data.alibiSlopes ? data.alibiSlopes[b * spec.alibiBatchStride + h] : 0;
          let dSlope = 0;
          for (let m0 = firstRow - (firstRow % BLOCK_M); m0 < rowEnd; m0 += BLOCK_M) {
            const rows = Math.min(BLOCK_M, lenQ - m0);
            qLoader.load(qTile, b, h, startQ, m0, rows, 1);
            doLoader.load(doTile, b, h, startQ, m0, rows, 1);
            for (let r = 0; r < rows; r++) {
              const i = m0 + r;
              rowLse[r] = data.lse[(startQ + i) * lsS + b * lsB + h * lsH];
              const o = (startQ + i) * osS + b * osB + h * osH;
              let di = 0;
              for (let d = 0; d < D; d++) di += doTile[r * D + d] * data.output[o + d];
              rowD[r] = di - (data.dLse ? data.dLse[(startQ + i) * lsS + b * lsB + h * lsH] : 0);
            }
            // -- recompute P, then dV and dS --
            for (let r = 0; r < rows; r++) {
              const i = m0 + r, ro = r * BLOCK_N, qo = r * D;
              for (let c = 0; c < cols; c++) {
                const j = n0 + c;
                if (!keys.visible(i, j) || rowLse[r] === -Infinity) {
                  p[ro + c] = 0;
                  continue;
                }
                let dot = 0;
                for (let d = 0; d < D; d++) dot += qTile[qo + d] * kTile[c * D + d];
                let s = dot * scale;
                if (dCap) {
                  const t = Math.tanh(s / cap);
                  s = cap * t;
                  dCap[ro + c] = 1 - t * t;
                }
                if (data.bias) s += data.bias[b * bsB + h * bsH + i * bsI + j * bsJ];
                if (data.alibiSlopes) s -= slope * Math.abs(i + diagonal - j);
                p[ro + c] = Math.exp(s - rowLse[r]);
              }
              for (let c = 0; c < cols; c++) {
                const pij = p[ro + c];
                const z = dropout && !dropoutKeeps(spec.dropoutSeed, spec.dropoutThreshold, b, h, i, n0 + c) ? 0 : dropout ? keptScale : 1;
                const pz = toHalf(pij) * z;
                let dp = 0;
                if (pij !== 0) {
                  for (let d = 0; d < D; d++) {
                    dvAcc[c * D + d] += pz * doTile[qo + d];
                    dp += doTile[qo + d] * vTile[c * D + d];
                  }
                }
                ds[ro + c] = pij === 0 ? 0 : pij * (z * dp - rowD[r]);
              }
            }
            // -- dQ, dK, dBias, dSlope --
            for (let r = 0; r < rows; r++) {
              const i = m0 + r, ro = r * BLOCK_N, qo = r * D;
              const dqBase = (startQ + i) * osS + b * osB + h * osH;
              for (let c = 0; c < cols; c++) {
                const dsij = ds[ro + c];
                if (dsij === 0) continue;
                const j = n0 + c;
                const dsDot = scale * toHalf(dsij * (dCap ? dCap[ro + c] : 1));
                for (let d = 0; d < D; d++) {
                  dq[dqBase + d] += dsDot * kTile[c * D + d];
                  dkAcc[c * D + d] += dsDot * qTile[qo + d];
                }
                if (dBias) dBias[b * bsB + h * bsH + i * bsI + j * bsJ] += dsij;
                if (dSlopes) dSlope -= dsij * Math.abs(i + diagonal - j);
              }
            }
          }
          if (dSlopes) dSlopes[b * spec.alibiBatchStride + h] += dSlope;
        }
        // -- store dK_j, dV_j --
        for (let c = 0; c < cols; c++) {
          const base = (startK + n0 + c) * ksS + b * ksB + g * ksH;
          for (let d = 0; d < D; d++) {
            dk[base + d] = dkAcc[c * D + d];
            dv[base + d] = dvAcc[c * D + d];
          }
        }
      }
    }
  }
}
