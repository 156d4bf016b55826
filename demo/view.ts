/** Small DOM helpers and the result table. */
import {Comparison, Failure, isFailure, Timing} from './compare';
import {bytes, diff, gbs, ms, tflops} from './format';
import type {Config} from './presets';

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
export const esc = (s: string) => s.replace(/[&<>"]/g, ch => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[ch]!));

const FAILURE_WORDS: Record<Failure['kind'], string> = {
  failed: 'failed', limit: 'cannot run', cap: 'not run', skipped: 'not run',
};

/** `kvNote`: the KV format flash attention reads, for its K+V GB/s (the composition reads float32 copies). */
function row(name: string, cls: string, t: Timing|Failure, kvNote: string|null): string {
  if (isFailure(t)) return `<tr><td class="${cls}">${name}</td><td class="fail" colspan="3">${FAILURE_WORDS[t.kind]}: ${esc(t.error)}</td></tr>`;
  const kv = kvNote != null ? ` · <span data-testid="kv-gbs">${gbs(t.kvGBs)}</span> of ${kvNote} K+V` : '';
  return `<tr><td class="${cls}">${name}</td><td>${ms(t.ms)}</td><td>${tflops(t.tflops)}${kv}</td><td>${bytes(t.peakBytes)}</td></tr>`;
}

/** The side-by-side table, the speed-up, and both accuracy checks. */
export function resultHtml(r: Comparison, config: Config, runs: number, cpuCheck: string): string {
  // Decode is bound by the bytes of K and V: their GB/s beside the TFLOP/s.
  const kvNote = config.preset === 'decode' ? config.kv : null;
  const f = r.flash, c = r.composition;
  let verdict = '';
  if (!isFailure(f) && !isFailure(c)) {
    const speed = c.ms >= f.ms ? `is <b>${(c.ms / f.ms).toFixed(2)}×</b> faster` : `takes <b>${(f.ms / c.ms).toFixed(2)}×</b> the time`;
    verdict = `Here flashAttention ${speed} and needs <b>${(c.peakBytes / Math.max(f.peakBytes, 1)).toFixed(1)}×</b> less ` +
              'peak tensor memory than the composition.';
  }
  return `<table><thead><tr><th></th><th>time per call (median of ${runs})</th><th>throughput</th><th>peak tensor memory</th></tr></thead><tbody>` +
         row('flashAttention', 'flash-name', f, kvNote) + row('matMul → softmax → matMul', 'comp-name', c, null) + '</tbody></table>' +
         `<p class="verdict">${verdict}</p>` +
         `<p class="verdict">max |flash − composition| = <b data-testid="max-diff">${r.maxDiff == null ? '—' : diff(r.maxDiff)}</b>; ${cpuCheck}</p>`;
}
