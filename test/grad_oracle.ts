/**
 * Float64 gradients of SPEC.md's attention, differentiated by hand the plain O(Sq·Sk) way, row by row:
 *   P = softmax(S) over visible keys, dP_ij = dO_i · v_j, dS_ij = P_ij (dP_ij - Σ_t P_it dP_it + dLse_i)
 *   dq_i = scale Σ_j dS_ij k_j,  dk_j = scale Σ_i dS_ij q_i,  dv_j = Σ_i P_ij dO_i,
 *   dBias = dS summed over broadcast axes,  dSlope(b, h) = -Σ dS_ij |i + Sk - Sq - j|.
 * Sliding window: masked keys simply leave the sums. Soft-cap s = c·tanh(x / c) of the scaled dot x:
 *   dq, dk take dS_ij · (1 − tanh²) (the chain rule through the cap); bias and ALiBi, added after it, take dS.
 * Sinks: P_sink(i) = exp(sink_h) / Z_i takes part in the normalization, so Σ_j P_ij = 1 − P_sink(i) and
 *   d out_i / d sink = −P_sink(i) out_i, d lse_i / d sink = P_sink(i):
 *   dSink_h = Σ_i P_sink(i) (dLse_i − dO_i · out_i), out_i = Σ_j P_ij Z_ij v_j computed here from P.
 * Dropout at a fixed mask Z_ij = keep / (1 − rate): out_i = Σ_j P_ij Z_ij v_j, so dv_j = Σ_i P_ij Z_ij dO_i and
 *   dP_ij = Z_ij dO_i · v_j (the softmax's own Jacobian then as above; Σ_t P_it dP_it = dO_i · out_i).
 * (The kernels use D_i = rowsum(dO ∘ O); this uses Σ P dP: the same number, reached another way.)
 * Canonical layouts as in oracle.ts; float inputs only (FP8 is forward-only).
 * precision 'float16' (x.half set): q, k, v and dO are rounded to half before everything; P is rounded for
 * dv = Σ half(P) Z dO, and dS · (1 − tanh²) is rounded for dq and dk (the scale after): the rounding points
 * of FlashAttention-2's fp16 backward (kernels/cpu/attention_backward_loop.ts). dBias and dSlope sum dS.
 */
import {oracleHalfRound} from './half_oracle';
import {oracleDropoutScale, OracleInputs, oracleScore, oracleVisible} from './oracle';

export interface OracleGradInputs extends OracleInputs {
  /** Upstream gradients, canonical [rowsQ, Hq, D] and lse-indexed like oracleAttention's lse. */
  dOut: ArrayLike<number>;
  dLse?: (b: number, h: number, i: number) => number;
  /** Map (b, h, i, j) to the index of the bias element it reads, when bias is given. */
  biasIndex?: (b: number, h: number, i: number, j: number) => number;
  biasSize?: number;
  /** Index of the slope that (b, h) reads, and the slopes' size. */
  slopeIndex?: (b: number, h: number) => number;
  slopeSize?: number;
  /** With half: leave one rounding point out (tests that each one is visible). */
  halfSkip?: 'inputs'|'p'|'ds';
}

export interface OracleGrads {
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
  dBias: Float64Array|null;
  dSlopes: Float64Array|null;
  /**
   * The sums of |term| behind dq, dk, dv, dBias and dSlopes (Σ |dS·k|·scale, Σ |dS·q|·scale, Σ |P∘Z·dO|,
   * Σ |dS|, Σ |dS|·|distance|): the scale an error in every dS or P (a float16 forward's O in D_i, its LSE in
   * P, move them all a little) reaches these sums at, however they cancel.
   */
  dqScale: Float64Array;
  dkScale: Float64Array;
  dvScale: Float64Array;
  dBiasScale: Float64Array|null;
  dSlopesScale: Float64Array|null;
  dSinks: Float64Array|null;
}

export function oracleAttentionGrad(given: OracleGradInputs, rowsQ: number, rowsK: number): OracleGrads {
  const point = (name: 'inputs'|'p'|'ds') => (given.half && given.halfSkip !== name ? oracleHalfRound : (y: number) => y);
  const [roundInput, roundP, roundDs] = [point('inputs'), point('p'), point('ds')];
  const rounded = (a: ArrayLike<number>) => Float64Array.from(a, roundInput);
  const x: OracleGradInputs = given.half ?
      {...given, q: rounded(given.q), k: rounded(given.k), v: rounded(given.v), dOut: rounded(given.dOut)} : given;
  const {hq, hk, d} = x;
  const group = hq / hk;
  const g: OracleGrads = {
    dq: new Float64Array(rowsQ * hq * d), dk: new Float64Array(rowsK * hk * d), dv: new Float64Array(rowsK * hk * d),
    dqScale: new Float64Array(rowsQ * hq * d), dkScale: new Float64Array(rowsK * hk * d), dvScale: new Float64Array(rowsK * hk * d),
    dBias: x.biasSize ? new Float64Array(x.biasSize) : null, dSlopes: x.slopeSize ? new Float64Array(x.slopeSize) : null,
    dBiasScale: x.biasSize ? new Float64Array(x.biasSize) : null, dSlopesScale: x.slopeSize ? new Float64Array(x.slopeSize) : null,
    dSinks: x.sinks ? new Float64Array(hq) : null,
  };
  const at = (rows: number, heads: number) => (row: number, h: number, c: number) => (row * heads + h) * d + c;
  const qi = at(rowsQ, hq), ki = at(rowsK, hk);
  for (let b = 0; b < x.batch; b++) {
    const lq = x.lensQ[b], lk = x.lensK[b];
    for (let h = 0; h < hq; h++) {
      const gh = Math.floor(h / group);
      for (let i = 0; i < lq; i++) {
        const rq = x.startsQ[b] + i;
        const keys: number[] = [], scores: number[] = [], dCaps: number[] = [];
        for (let j = 0; j < lk; j++) {
          if (!oracleVisible(x, i, j, lq, lk)) continue;
          let dot = 0;
          for (let c = 0; c < d; c++) dot += x.q[qi(rq, h, c)] * x.k[ki(x.startsK[b] + j, gh, c)];
          const {s, dCap} = oracleScore(x, b, h, i, j, lq, lk, x.softmaxScale * dot);
          keys.push(j);
          scores.push(s);
          dCaps.push(dCap);
        }
        const sink = x.sinks ? x.sinks[h] : -Infinity;
        const m = scores.reduce((a, s) => Math.max(a, s), sink);
        if (m === -Infinity) continue;
        const z = keys.map(j => oracleDropoutScale(x, b, h, i, j));
        const e = scores.map(s => Math.exp(s - m));
        const l = e.reduce((a, b) => a + b, Math.exp(sink - m));
        const p = e.map(v => v / l);
        const dLse = x.dLse ? x.dLse(b, h, i) : 0;
        if (g.dSinks) {
          let dOut = 0;
          for (let c = 0; c < d; c++) {
            let out = 0;
            keys.forEach((j, t) => (out += p[t] * z[t] * x.v[ki(x.startsK[b] + j, gh, c)]));
            dOut += x.dOut[qi(rq, h, c)] * out;
          }
          g.dSinks[h] += Math.exp(sink - m) / l * (dLse - dOut);
        }
        const dp = keys.map((j, t) => {
          let s = 0;
          for (let c = 0; c < d; c++) s += x.dOut[qi(rq, h, c)] * x.v[ki(x.startsK[b] + j, gh, c)];
          return z[t] * s;
        });
        const rowD = p.reduce((a, pj, t) => a + pj * dp[t], 0) - dLse;
        keys.forEach((j, t) => {
          const rk = x.startsK[b] + j;
          const ds = p[t] * (dp[t] - rowD);
          const dsDot = roundDs(ds * dCaps[t]);
          const pz = roundP(p[t]) * z[t];
          for (let c = 0; c < d; c++) {
            const [dqTerm, dkTerm, dvTerm] = [x.softmaxScale * dsDot * x.k[ki(rk, gh, c)], x.softmaxScale * dsDot * x.q[qi(rq, h, c)], pz * x.dOut[qi(rq, h, c)]];
            g.dq[qi(rq, h, c)] += dqTerm;
            g.dk[ki(rk, gh, c)] += dkTerm;
            g.dv[ki(rk, gh, c)] += dvTerm;
            g.dqScale[qi(rq, h, c)] += Math.abs(dqTerm);
            g.dkScale[ki(rk, gh, c)] += Math.abs(dkTerm);
            g.dvScale[ki(rk, gh, c)] += Math.abs(dvTerm);
          }
          if (g.dBias) g.dBias[x.biasIndex!(b, h, i, j)] += ds;
          if (g.dBiasScale) g.dBiasScale[x.biasIndex!(b, h, i, j)] += Math.abs(ds);
          if (g.dSlopes) g.dSlopes[x.slopeIndex!(b, h)] -= ds * Math.abs(i + lk - lq - j);
          if (g.dSlopesScale) g.dSlopesScale[x.slopeIndex!(b, h)] += Math.abs(ds) * Math.abs(i + lk - lq - j);
        });
      }
    }
  }
  return g;
}
