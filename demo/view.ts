/** Small DOM helpers and the result table. */
import {Comparison, Failure, isFailure, Timing} from './compare';
import {bytes, diff, ms, tflops} from './format';

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
export const esc = (s: string) => s.replace(/[&<>"]/g, ch => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[ch]!));

const FAILURE_WORDS: Record<Failure['kind'], string> = {
  failed: 'failed', limit: 'cannot run', cap: 'not run', skipped: 'not run',
};

function row(name: string, cls: string, t: Timing|Failure): string {
  if (isFailure(t)) return `<tr><td class="${cls}">${name}</td><td class="fail" colspan="3">${FAILURE_WORDS[t.kind]}: ${esc(t.error)}</td></tr>`;
  return `<tr><td class="${cls}">${name}</td><td>${ms(t.ms)}</td><td>${tflops(t.tflops)}</td><td>${bytes(t.peakBytes)}</td></tr>`;
}

/** The side-by-side table, the speed-up, and both accuracy checks. */
export function resultHtml(r: Comparison, runs: number, cpuCheck: string): string {
  const f = r.flash, c = r.composition;
  let verdict = '';
  if (!isFailure(f) && !isFailure(c)) {
    const speed = c.ms >= f.ms ? `is <b>${(c.ms / f.ms).toFixed(2)}×</b> faster` : `takes <b>${(f.ms / c.ms).toFixed(2)}×</b> the time`;
    verdict = `Here flashAttention ${speed} and needs <b>${(c.peakBytes / Math.max(f.peakBytes, 1)).toFixed(1)}×</b> less ` +
              'peak tensor memory than the composition.';
  }
  return `<table><thead><tr><th></th><th>time per call (median of ${runs})</th><th>throughput</th><th>peak tensor memory</th></tr></thead><tbody>` +
         row('flashAttention', 'flash-name', f) + row('matMul → softmax → matMul', 'comp-name', c) + '</tbody></table>' +
         `<p class="verdict">${verdict}</p>` +
         `<p class="verdict">max |flash − composition| = <b data-testid="max-diff">${r.maxDiff == null ? '—' : diff(r.maxDiff)}</b>; ${cpuCheck}</p>`;
}
