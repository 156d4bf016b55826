/**
 * The float64 oracle: SPEC.md's formula computed the plain O(Sq·Sk) way, one query row at a time,
 * on canonical inputs (q as [T, Hq, D] rows of each sequence, k and v as [T, Hk, D]), independent of
 * the kernels' layouts, strides, tiles and codecs. FP8 comes in as codes and is decoded by
 * fp8_oracle.ts. For precision 'float16' it rounds its inputs to half first (half_oracle.ts), and can
 * also round P for P·V.
 */
import {OracleFp8Format, oracleFp8Round, oracleFp8Value} from './fp8_oracle';
import {oracleHalfRound} from './half_oracle';

export interface OracleFp8 {
  mode: 'kv'|'full';
  format: OracleFp8Format;
  /** Codes, canonical order, one per element (only the FP8 tensors). */
  qCodes?: Uint8Array;
  kCodes: Uint8Array;
  vCodes: Uint8Array;
  /** Descale per head (length Hq for q, Hk for k and v). */
  qDescale?: number[];
  kDescale: number[];
  vDescale: number[];
  pScale?: number;
  oScale?: number;
}

export interface OracleInputs {
  batch: number;
  hq: number;
  hk: number;
  d: number;
  /** Start row of every sequence in the canonical arrays, and their lengths. */
  startsQ: number[];
  startsK: number[];
  lensQ: number[];
  lensK: number[];
  /** Canonical float inputs, [rows, H, D] (q is ignored in full FP8 mode, k and v in any FP8 mode). */
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  causal: boolean;
  softmaxScale: number;
  /** bias(b, h, i, j), already broadcast by the caller's index math. */
  bias?: (b: number, h: number, i: number, j: number) => number;
  slope?: (b: number, h: number) => number;
  fp8?: OracleFp8;
  /**
   * Rounding to IEEE half, SPEC.md's float16 points. 'qkv': q, k and v are rounded before the products
   * (KV-only FP8: the decoded value · descale); the rest stays float64. 'qkvp': also each
   * p = exp(s − m) (m the row max) for P·V, while l sums the unrounded p. Not with full FP8 mode.
   */
  half?: 'qkv'|'qkvp';
  /** windowSize as given (SPEC.md: i + δ − left <= j <= i + δ + right, −1 unbounded), ANDed with causal. */
  window?: [number, number];
  /** Logit soft-cap (absent or 0: off). */
  softcap?: number;
  /** Sink logit per query head. */
  sinks?: ArrayLike<number>;
  /** Dropout at a fixed mask: P·V takes P_ij · keep(b, h, i, j) / (1 − rate); l and the LSE do not. */
  dropout?: {rate: number, keep: (b: number, h: number, i: number, j: number) => boolean};
}

/** Z_ij = keep / (1 − rate) of dropout (1 without), what P_ij is multiplied by in P·V. */
export function oracleDropoutScale(x: OracleInputs, b: number, h: number, i: number, j: number): number {
  if (!x.dropout) return 1;
  return x.dropout.keep(b, h, i, j) ? 1 / (1 - x.dropout.rate) : 0;
}

/** Whether key j is visible to query i of a sequence of lq queries and lk keys (SPEC.md's masks). */
export function oracleVisible(x: OracleInputs, i: number, j: number, lq: number, lk: number): boolean {
  const diagonal = lk - lq;
  if (x.causal && j > i + diagonal) return false;
  const [left, right] = x.window ?? [-1, -1];
  if (left >= 0 && j < i + diagonal - left) return false;
  return !(right >= 0 && j > i + diagonal + right);
}

/**
 * The score of a visible key from its scaled dot product: soft-capped first, then bias and ALiBi; and
 * d score / d scaledDot (1 − tanh², 1 without a cap).
 */
export function oracleScore(
    x: OracleInputs, b: number, h: number, i: number, j: number, lq: number, lk: number,
    scaledDot: number): {s: number, dCap: number} {
  let s = scaledDot, dCap = 1;
  if (x.softcap) {
    const t = Math.tanh(scaledDot / x.softcap);
    s = x.softcap * t;
    dCap = 1 - t * t;
  }
  if (x.bias) s += x.bias(b, h, i, j);
  if (x.slope) s -= x.slope(b, h) * Math.abs(i + lk - lq - j);
  return {s, dCap};
}

export interface OracleOutputs {
  /** Canonical [rowsQ, Hq, D]. In oScale mode: the FP8-rounded clamp(out / oScale) times oScale. */
  out: Float64Array;
  /** [B or 1, Hq, rows]: indexed lse[h * rowsQ + row] for varlen, [(b * Hq + h) * Sq + i] dense. */
  lse: Float64Array;
  /**
   * With pScale only, like out: Σ p·|v| / l, the scale of what P's FP8 rounding can move. A kernel rounds
   * P against a key block's running max, this oracle against the row max, so each p may land one FP8
   * step away; where the signs of v cancel, the output is much smaller than that scale.
   */
  magnitude?: Float64Array;
}

export function oracleAttention(x: OracleInputs, rowsQ: number, denseLse: boolean): OracleOutputs {
  const {hq, hk, d, fp8} = x;
  const group = hq / hk;
  const out = new Float64Array(rowsQ * hq * d);
  const lseLength = denseLse ? x.batch * hq * Math.max(...x.lensQ) : hq * rowsQ;
  const lse = new Float64Array(lseLength);
  const magnitude = fp8?.pScale ? new Float64Array(rowsQ * hq * d) : null;
  if (x.half && fp8?.mode === 'full') throw new Error('oracle: full FP8 mode keeps its own arithmetic, no half rounding');
  const round = x.half ? oracleHalfRound : (y: number) => y;
  const qAt = (row: number, h: number, c: number) => {
    const idx = (row * hq + h) * d + c;
    if (fp8?.mode === 'full') return oracleFp8Value(fp8.qCodes![idx], fp8.format);
    return round(x.q[idx]);
  };
  const kvAt = (which: 'k'|'v', row: number, h: number, c: number) => {
    const idx = (row * hk + h) * d + c;
    if (fp8 == null) return round((which === 'k' ? x.k : x.v)[idx]);
    const value = oracleFp8Value((which === 'k' ? fp8.kCodes : fp8.vCodes)[idx], fp8.format);
    // KV-only mode dequantizes k and v; full mode keeps raw codes and descales the products.
    return fp8.mode === 'kv' ? round(value * (which === 'k' ? fp8.kDescale : fp8.vDescale)[h]) : value;
  };

  for (let b = 0; b < x.batch; b++) {
    const lq = x.lensQ[b], lk = x.lensK[b];
    for (let h = 0; h < hq; h++) {
      const g = Math.floor(h / group);
      let scale = x.softmaxScale;
      if (fp8?.mode === 'full') scale *= fp8.qDescale![h] * fp8.kDescale[g];
      for (let i = 0; i < lq; i++) {
        const rowQ = x.startsQ[b] + i;
        const scores: number[] = [];
        const keys: number[] = [];
        for (let j = 0; j < lk; j++) {
          if (!oracleVisible(x, i, j, lq, lk)) continue;
          let dot = 0;
          for (let c = 0; c < d; c++) dot += qAt(rowQ, h, c) * kvAt('k', x.startsK[b] + j, g, c);
          scores.push(oracleScore(x, b, h, i, j, lq, lk, scale * dot).s);
          keys.push(j);
        }
        // m is the max over the keys (P is rounded against it, as the kernels do); the sink joins the
        // denominator afterwards: a key of score sink_h and no value.
        const sink = x.sinks ? x.sinks[h] : -Infinity;
        const m = scores.reduce((a, s) => Math.max(a, s), -Infinity);
        const outRow = (rowQ * hq + h) * d;
        const lseIndex = denseLse ? (b * hq + h) * (lseLength / (x.batch * hq)) + i : h * rowsQ + rowQ;
        if (m === -Infinity) {  // no visible key (or every visible score is -inf): the sink alone, or nothing
          lse[lseIndex] = sink;
          continue;  // out stays 0
        }
        let l = Math.exp(sink - m);
        const acc = new Float64Array(d), mag = new Float64Array(d);
        for (let t = 0; t < scores.length; t++) {
          const p = Math.exp(scores[t] - m);
          l += p;
          let pv = x.half === 'qkvp' ? oracleHalfRound(p) : p;
          if (fp8?.pScale) pv = oracleFp8Round(p * fp8.pScale, fp8.format) / fp8.pScale;
          pv *= oracleDropoutScale(x, b, h, i, keys[t]);
          for (let c = 0; c < d; c++) {
            const vc = kvAt('v', x.startsK[b] + keys[t], g, c);
            acc[c] += pv * vc;
            mag[c] += p * Math.abs(vc);
          }
        }
        if (magnitude) {
          const vScale = fp8?.mode === 'full' ? Math.abs(fp8.vDescale[g]) : 1;
          for (let c = 0; c < d; c++) magnitude[outRow + c] = mag[c] / l * vScale;
        }
        lse[lseIndex] = m + Math.log(l);
        for (let c = 0; c < d; c++) {
          let o = acc[c] / l;
          if (fp8?.mode === 'full') o *= fp8.vDescale[g];
          if (fp8?.oScale) o = oracleFp8Round(o / fp8.oScale, fp8.format) * fp8.oScale;
          out[outRow + c] = o;
        }
      }
    }
  }
  return {out, lse, ...(magnitude ? {magnitude} : {})};
}
