/**
 * The sweep chart, hand-drawn SVG: time per call against sequence length, log–log, one line per contender.
 * Where the composition could not run, a cross sits on the chart's top edge, and a dashed line marks the first
 * such length ("composition fails here"), while the flash attention line goes on.
 */
import {isFailure} from './compare';
import type {SweepPoint} from './sweep';

const W = 640, H = 300, L = 58, R = 16, T = 24, B = 40;
const FAIL_WORDS: Record<string, string> = {failed: 'composition fails', limit: 'composition cannot fit', cap: 'composition over the memory cap'};
const esc = (s: string) => s.replace(/[&<>"]/g, ch => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[ch]!));
const fmtMs = (v: number) => (v >= 1000 ? `${v / 1000} s` : v >= 1 ? `${v} ms` : `${v * 1000} µs`);

export function chartSvg(points: SweepPoint[], xLabel: string): string {
  if (points.length === 0) return '<p class="muted">Run a sweep to draw time against sequence length.</p>';
  const times = points.flatMap(p => [p.flash, p.composition]).filter(t => !isFailure(t)).map(t => (t as {ms: number}).ms);
  const sMin = points[0].s, sMax = Math.max(points[points.length - 1].s, sMin * 2);
  const yLo = Math.pow(10, Math.floor(Math.log10(Math.min(...times, 1)))), yHi = Math.pow(10, Math.ceil(Math.log10(Math.max(...times, 10))));
  const x = (s: number) => L + ((Math.log2(s) - Math.log2(sMin)) / (Math.log2(sMax) - Math.log2(sMin))) * (W - L - R);
  const y = (ms: number) => T + (1 - (Math.log10(ms) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * (H - T - B);
  const parts: string[] = [];
  for (let v = yLo; v <= yHi * 1.0001; v *= 10) {
    parts.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}"/><text class="tick" x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${fmtMs(v)}</text>`);
  }
  for (const p of points) parts.push(`<text class="tick" x="${x(p.s)}" y="${H - B + 16}" text-anchor="middle">${p.s}</text>`);
  parts.push(`<text class="axis" x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)} (log scale)</text>`);
  parts.push(`<text class="axis" x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle">time per call</text>`);
  const series = (key: 'flash'|'composition', cls: string) => {
    const ok = points.filter(p => !isFailure(p[key]));
    if (ok.length > 1) parts.push(`<polyline class="${cls}" points="${ok.map(p => `${x(p.s)},${y((p[key] as {ms: number}).ms)}`).join(' ')}"/>`);
    for (const p of ok) {
      const t = p[key] as {ms: number, tflops: number};
      parts.push(`<circle class="${cls}" cx="${x(p.s)}" cy="${y(t.ms)}" r="3.5"><title>${key} S=${p.s}: ${t.ms.toFixed(2)} ms, ${(t.tflops * 1000).toFixed(2)} GFLOP/s</title></circle>`);
    }
    for (const p of points.filter(q => isFailure(q[key]))) {
      const cx = x(p.s), cy = T + 8, f = p[key] as {error: string};
      parts.push(`<g class="${cls} fail"><path d="M${cx - 5},${cy - 5}L${cx + 5},${cy + 5}M${cx - 5},${cy + 5}L${cx + 5},${cy - 5}"/><title>${key} S=${p.s}: ${esc(f.error)}</title></g>`);
    }
  };
  const firstFail = points.find(p => isFailure(p.composition) && (p.composition as {kind: string}).kind !== 'skipped');
  if (firstFail) {
    const fx = x(firstFail.s);
    parts.push(`<line class="oom" x1="${fx}" x2="${fx}" y1="${T}" y2="${H - B}"/><text class="oom-label" x="${fx > W / 2 ? fx - 6 : fx + 6}" y="${T + 26}" text-anchor="${fx > W / 2 ? 'end' : 'start'}">${FAIL_WORDS[(firstFail.composition as {kind: string}).kind]} from S = ${firstFail.s}${fx > W / 2 ? '' : ' →'}</text>`);
  }
  series('composition', 'comp');
  series('flash', 'flash');
  parts.push(`<g class="legend"><line class="flash" x1="${L + 8}" x2="${L + 28}" y1="${T - 10}" y2="${T - 10}"/><text x="${L + 32}" y="${T - 6}">flashAttention</text>` +
             `<line class="comp" x1="${L + 150}" x2="${L + 170}" y1="${T - 10}" y2="${T - 10}"/><text x="${L + 174}" y="${T - 6}">matMul → softmax → matMul</text>` +
             `<text x="${L + 380}" y="${T - 6}">✕ could not run (hover for why)</text></g>`);
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="time per call against sequence length">${parts.join('')}</svg>`;
}

/** Round tick values 0 … ≥ max, about five of them (steps of 1, 2 or 5 × 10^k). */
function linearTicks(max: number): number[] {
  const raw = max / 5, unit = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(m => m * unit).find(s => s >= raw)!;
  return Array.from({length: Math.ceil(max / step - 1e-9) + 1}, (_, i) => i * step);
}

/** The training panel's chart: loss per step, linear axes from 0, drawn while training runs. */
export function lossChartSvg(losses: number[], steps: number): string {
  if (losses.length === 0) return '<p class="muted">Press “Train” to draw the loss per step.</p>';
  const ticks = linearTicks(Math.max(...losses.filter(Number.isFinite), 1e-3)), yHi = ticks[ticks.length - 1];
  const xMax = Math.max(steps, 2);
  const x = (step: number) => L + ((step - 1) / (xMax - 1)) * (W - L - R);
  const y = (loss: number) => T + (1 - Math.min(loss, yHi) / yHi) * (H - T - B);
  const parts: string[] = [];
  for (const v of ticks) {
    parts.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}"/><text class="tick" x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${+v.toPrecision(3)}</text>`);
  }
  for (const s of linearTicks(xMax).filter(s => s >= 1 && s <= xMax)) {
    parts.push(`<text class="tick" x="${x(s)}" y="${H - B + 16}" text-anchor="middle">${s}</text>`);
  }
  parts.push(`<text class="axis" x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">training step</text>`);
  parts.push(`<text class="axis" x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle">cross-entropy loss</text>`);
  parts.push(`<polyline class="flash loss" points="${losses.map((l, i) => `${x(i + 1)},${y(l)}`).join(' ')}"/>`);
  const last = losses.length;
  parts.push(`<circle class="flash" cx="${x(last)}" cy="${y(losses[last - 1])}" r="3.5"><title>step ${last}: loss ${losses[last - 1].toFixed(4)}</title></circle>`);
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="training loss per step">${parts.join('')}</svg>`;
}
