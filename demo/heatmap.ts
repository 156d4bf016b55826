/**
 * Attention heat-maps of a small case, read out of flashAttention itself on the active backend: with D = Sk
 * and v = the Sk×Sk identity, output row i is exactly query i's softmax weights over the keys. q and k are
 * seeded random normal; one head, B = 1. With a sink the row sums to less than 1: the sink's weight is the
 * missing mass, 1 − Σ_j P_ij, drawn as one more column.
 */
import * as tf from '@tensorflow/tfjs-core';
import {flashAttention} from '../src/index';
import {normalArray} from './rng';

export interface MapCase {
  title: string;
  causal: boolean;
  alibiSlope: number;
  windowSize?: [number, number];
  /** One sink logit for the head. */
  sink?: number;
}
export const MAP_CASES: MapCase[] = [
  {title: 'causal', causal: true, alibiSlope: 0},
  {title: 'ALiBi, not causal', causal: false, alibiSlope: 0.5},
  {title: 'causal + ALiBi', causal: true, alibiSlope: 0.5},
  {title: 'sliding window [3, 1]', causal: false, alibiSlope: 0, windowSize: [3, 1]},
  {title: 'causal + sink', causal: true, alibiSlope: 0, sink: 1},
];

/** Weights P[i][j] of one head for Sq queries over Sk keys (Sk ≤ 256, the op's largest head size). */
export async function attentionWeights(sq: number, sk: number, m: MapCase): Promise<number[][]> {
  const out = tf.tidy(() => {
    const q = tf.tensor4d(normalArray(sq * sk, 11, 0.8), [1, sq, 1, sk]);
    const k = tf.tensor4d(normalArray(sk * sk, 12, 0.8), [1, sk, 1, sk]);
    const v = tf.reshape(tf.eye(sk), [1, sk, 1, sk]);
    const alibiSlopes = m.alibiSlope ? tf.tensor1d([m.alibiSlope]) : undefined;
    const sinks = m.sink != null ? tf.tensor1d([m.sink]) : undefined;
    return flashAttention(q, k, v, {causal: m.causal, alibiSlopes, windowSize: m.windowSize, sinks}) as tf.Tensor;
  });
  const data = await out.data();
  out.dispose();
  return Array.from({length: sq}, (_, i) => Array.from(data.subarray(i * sk, (i + 1) * sk)));
}

export function heatmapSvg(p: number[][], m: MapCase): string {
  const sq = p.length, sk = p[0].length, cell = Math.max(8, Math.min(18, Math.floor(300 / sk))), top = 22, left = 4;
  // The sink column: each row's missing mass, after a gap.
  const sinkWeights = m.sink != null ? p.map(row => Math.max(0, 1 - row.reduce((a, x) => a + x, 0))) : null;
  const max = Math.max(...p.flat(), ...(sinkWeights ?? []));
  const rects: string[] = [];
  p.forEach((row, i) => row.forEach((w, j) => {
    const fill = w === 0 ? 'url(#masked)' : `rgba(31, 78, 153, ${(0.06 + 0.94 * w / max).toFixed(3)})`;
    rects.push(`<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}"><title>query ${i}, key ${j}: ${w === 0 ? '0 (masked)' : w.toFixed(4)}</title></rect>`);
  }));
  sinkWeights?.forEach((w, i) => rects.push(
      `<rect x="${left + (sk + 0.5) * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="rgba(170, 80, 20, ${(0.06 + 0.94 * w / max).toFixed(3)})"><title>query ${i}, the sink: ${w.toFixed(4)} (1 − Σ of the row)</title></rect>`));
  const w = left + (sk + (sinkWeights ? 1.5 : 0)) * cell + 4, h = top + sq * cell + 18;
  return `<figure class="heatmap"><svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${m.title}">` +
         `<defs><pattern id="masked" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="4" height="4" fill="#eee"/><line x1="0" y1="0" x2="0" y2="4" stroke="#ccc" stroke-width="2"/></pattern></defs>` +
         `<text x="${left}" y="14" class="map-title">${m.title}${m.alibiSlope ? ` (slope ${m.alibiSlope})` : ''}${m.sink != null ? ` (logit ${m.sink})` : ''}</text>${rects.join('')}` +
         `<text x="${left}" y="${h - 4}" class="tick">keys j → · queries i ↓${sinkWeights ? ' · last column: the sink' : ''}</text></svg></figure>`;
}
