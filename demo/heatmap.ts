/**
 * Attention heat-maps of a small case, read out of flashAttention itself on the active backend: with D = Sk
 * and v = the Sk×Sk identity, output row i is exactly query i's softmax weights over the keys. q and k are
 * seeded random normal; one head, B = 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import {flashAttention} from '../src/index';
import {normalArray} from './rng';

export interface MapCase {
  title: string;
  causal: boolean;
  alibiSlope: number;
}
export const MAP_CASES: MapCase[] = [
  {title: 'causal', causal: true, alibiSlope: 0},
  {title: 'ALiBi, not causal', causal: false, alibiSlope: 0.5},
  {title: 'causal + ALiBi', causal: true, alibiSlope: 0.5},
];

/** Weights P[i][j] of one head for Sq queries over Sk keys (Sk ≤ 256, the op's largest head size). */
export async function attentionWeights(sq: number, sk: number, m: MapCase): Promise<number[][]> {
  const out = tf.tidy(() => {
    const q = tf.tensor4d(normalArray(sq * sk, 11, 0.8), [1, sq, 1, sk]);
    const k = tf.tensor4d(normalArray(sk * sk, 12, 0.8), [1, sk, 1, sk]);
    const v = tf.reshape(tf.eye(sk), [1, sk, 1, sk]);
    const alibiSlopes = m.alibiSlope ? tf.tensor1d([m.alibiSlope]) : undefined;
    return flashAttention(q, k, v, {causal: m.causal, alibiSlopes}) as tf.Tensor;
  });
  const data = await out.data();
  out.dispose();
  return Array.from({length: sq}, (_, i) => Array.from(data.subarray(i * sk, (i + 1) * sk)));
}

export function heatmapSvg(p: number[][], m: MapCase): string {
  const sq = p.length, sk = p[0].length, cell = Math.max(8, Math.min(18, Math.floor(300 / sk))), top = 22, left = 4;
  const max = Math.max(...p.flat());
  const rects: string[] = [];
  p.forEach((row, i) => row.forEach((w, j) => {
    const fill = w === 0 ? 'url(#masked)' : `rgba(31, 78, 153, ${(0.06 + 0.94 * w / max).toFixed(3)})`;
    rects.push(`<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}"><title>query ${i}, key ${j}: ${w === 0 ? '0 (masked)' : w.toFixed(4)}</title></rect>`);
  }));
  const w = left + sk * cell + 4, h = top + sq * cell + 18;
  return `<figure class="heatmap"><svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${m.title}">` +
         `<defs><pattern id="masked" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="4" height="4" fill="#eee"/><line x1="0" y1="0" x2="0" y2="4" stroke="#ccc" stroke-width="2"/></pattern></defs>` +
         `<text x="${left}" y="14" class="map-title">${m.title}${m.alibiSlope ? ` (slope ${m.alibiSlope})` : ''}</text>${rects.join('')}` +
         `<text x="${left}" y="${h - 4}" class="tick">keys j → · queries i ↓</text></svg></figure>`;
}
