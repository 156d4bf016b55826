/**
 * WebGPU benchmark (issue 7): flashAttention on the webgpu backend vs the tfjs composition
 * (bench/composition.ts) vs the device's own ceilings (WGSL FMA peak and streaming-read bandwidth),
 * all measured in one run, on one device, on the same inputs. Node + Dawn (npm `webgpu`).
 *
 *   npm run bench                          small shapes (SwiftShader here; a newcomer's try)
 *   npm run -s bench -- --json             JSON on stdout (-s: without npm's banner), or --out FILE
 *   npm run bench:pack                     .gpu/ for the H100; there: bash .gpu/run.sh --preset h100 --out F
 * Options: --preset small|h100, --json, --out FILE (JSON to a file, table still on stdout), --runs N (≥ 10),
 *   --warmup N, --warmup-ms MS (warm-up lasts at least this long: clocks ramp up), --batch-ms MS (work per sample, default 3), --only SUBSTRING (repeatable), --no-composition, --timeout SECONDS, --dawn FLAG (webgpu_setup.ts),
 *   --tiles TMxTNxRMxRN and --splits N (tuning: force the WebGPU kernel's tile shape / split-KV count,
 *   kernels/webgpu/launch_plan.ts), --no-roofline (tuning runs that only compare kernel versions).
 *
 * Timing: each contender, after warm-up, is timed N times, interleaved with the other contender. Each run
 * gives two samples: `wall`, performance.now() from the call until queue.onSubmittedWorkDone() after a forced
 * submit (the queue idle before), and `gpu`, the sum of the GPU timestamps of every program the call
 * dispatched (tf.time().kernelMs: tfjs puts each program in its own compute pass with timestampWrites).
 * The reported ms is the median gpu sample when the device has timestamp-query, else the median wall sample.
 * A sample is N calls queued back to back, divided by N (N so that it holds ≥ --batch-ms of work): short calls
 * separated by host syncs would otherwise run partly at the GPU's idle clock.
 */
import './webgpu_setup';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {execFileSync} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {compositionAttention} from './composition';
import {roundTileToHalf} from '../src/half';
import {attentionRowF64, fp8Codes, normals} from './reference';
import {median, Roofline, RooflineResult} from './roofline';
import {dawnFlags} from './webgpu_setup';
import {BenchCase, presets} from './webgpu_shapes';

declare const BENCH_BUILD: {gitDescribe: string; gitHead: string; dirty: string[]; sourceHash: string; builtAt: string} | undefined;
const build = typeof BENCH_BUILD === 'undefined' ? null : BENCH_BUILD;

// ---------------------------------------------------------------- arguments
const argv = process.argv.slice(2);
function opt(name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}
const presetName = opt('--preset') ?? 'small';
const preset = presets[presetName];
if (preset == null) {
  console.error(`unknown --preset ${presetName}; one of: ${Object.keys(presets).join(', ')}`);
  process.exit(2);
}
const json = argv.includes('--json');
const outFile = opt('--out');
const RUNS = Math.max(10, Number(opt('--runs') ?? 10));
/** Each timed sample queues calls back to back until it holds at least this much work (at most MAX_REPS). */
const BATCH_MS = Number(opt('--batch-ms') ?? 3);
const MAX_REPS = 64;
const WARMUP = Math.max(1, Number(opt('--warmup') ?? 2));
// GPUs lower their clocks when idle (the H100 idles at 345 MHz, boosts to 1980 MHz) and take a while under
// load to raise them: warm-up lasts at least this long, so samples are taken at the sustained clock.
const WARMUP_MS = Number(opt('--warmup-ms') ?? 1000);
const TIMEOUT_MS = 1000 * Number(opt('--timeout') ?? 120);
const only = argv.flatMap((a, i) => a === '--only' ? [argv[i + 1]] : []);
const noComposition = argv.includes('--no-composition');
const noRoofline = argv.includes('--no-roofline');
const tiles = opt('--tiles'), splits = opt('--splits');
const log = (s: string) => process.stderr.write(s + '\n');

// ---------------------------------------------------------------- the library (a broken kernel is an error row)
type FlashModule = typeof import('../src/index');
let lib: FlashModule | null = null;
let libError: string | null = null;
try {
  lib = await import('../src/index');
} catch (e) {
  libError = `importing the library failed: ${message(e)}`;
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n').slice(0, 6).join(' | ');
}

class Timeout extends Error {}
async function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`${what} did not finish in ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- device
tf.env().set('WEBGPU_CPU_FORWARD', false);
if (lib != null && tiles != null) tf.env().set(lib.WEBGPU_TILES_FLAG, tiles);
if (lib != null && splits != null) tf.env().set(lib.WEBGPU_SPLITS_FLAG, Number(splits));
// A device with shader-f16 / subgroups / subgroup matrices where the adapter offers them (issue 12).
lib?.registerWebGPUBackend();
await tf.setBackend('webgpu');
await tf.ready();
const backend = tf.backend() as WebGPUBackend;
const device: GPUDevice = backend.device;
const hasTimestamps = device.features.has('timestamp-query');
const uncaptured: string[] = [];
device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => uncaptured.push(ev.error.message.split('\n')[0]);

async function adapterLine() {
  const info = (device as unknown as {adapterInfo?: GPUAdapterInfo}).adapterInfo ??
      (await navigator.gpu.requestAdapter({powerPreference: 'high-performance'}))?.info;
  const a = {vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', device: info?.device ?? '',
    description: info?.description ?? ''};
  let nvidiaSmi: string | undefined;
  try {
    nvidiaSmi = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,clocks.max.sm,memory.total', '--format=csv,noheader'],
                             {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10000}).trim();
  } catch { /* not an NVIDIA machine */ }
  const limits = device.limits;
  return {
    adapter: a, nvidiaSmi,
    capabilities: lib?.flashAttentionCapabilities(),
    features: [...device.features].sort(),
    limits: {maxBufferSize: limits.maxBufferSize, maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup},
  };
}

// ---------------------------------------------------------------- timing
type Outputs = tf.Tensor | tf.Tensor[];
interface Contender {
  name: 'flash' | 'composition';
  run: () => Outputs;
}
export interface ContenderResult {
  status: 'ok' | 'error' | 'skipped';
  reason?: string;
  /** Reported time: median of gpu samples (timestamps) or, without timestamp-query, of wall samples. */
  ms?: number;
  method?: 'gpu-timestamps' | 'wall';
  gpuMs?: number;
  wallMs?: number;
  gpuSamples?: number[];
  /** Median GPU ms of each program the call dispatched, by program class (tf.time's per-program timestamps). */
  programs?: Record<string, number>;
  wallSamples?: number[];
  tflops?: number;
  pctFmaPeak?: number;
  /** float16 rows: % of the in-run f16 subgroup-matrix matmul (roofline.ts), where the device has one. */
  pctMatrixPeak?: number;
  gbs?: number;
  pctReadBw?: number;
}

const disposeAll = (o: Outputs | undefined) => o && tf.dispose(o);

/** Ends tfjs's open compute pass, submits its command encoder and waits until the GPU is idle. */
async function settle(): Promise<void> {
  const b = backend as unknown as {commandEncoder: unknown; endComputePassEncoder(): void; submitQueue(): void};
  if (b.commandEncoder != null) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
  await withTimeout(device.queue.onSubmittedWorkDone(), 'GPU work');
}

/** The first call of a contender, inside error scopes: a JS throw or a GPU error becomes its error. */
async function firstCall(c: Contender): Promise<string | null> {
  const before = uncaptured.length;
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('internal');
  let thrown: string | null = null;
  let out: Outputs | undefined;
  try {
    out = c.run();
    await settle();
  } catch (e) {
    if (e instanceof Timeout) throw e;
    thrown = message(e);
  }
  const scoped = [await device.popErrorScope(), await device.popErrorScope(), await device.popErrorScope()]
                     .filter(x => x != null).map(x => x!.message.split('\n')[0]);
  disposeAll(out);
  const errors = [...(thrown ? [thrown] : []), ...scoped, ...uncaptured.slice(before)];
  return errors.length ? errors.join(' | ') : null;
}

async function timeContenders(contenders: Contender[], results: Record<string, ContenderResult>): Promise<void> {
  const alive: Contender[] = [];
  for (const c of contenders) {
    const err = await firstCall(c);
    if (err) results[c.name] = {status: 'error', reason: err};
    else alive.push(c);
  }
  const wall: Record<string, number[]> = {}, gpu: Record<string, number[]> = {};
  const programs: Record<string, Record<string, number[]>> = {};
  alive.forEach(c => (programs[c.name] = {}));
  alive.forEach(c => (wall[c.name] = [], gpu[c.name] = []));
  const warmStart = performance.now();
  for (let n = 1; n < WARMUP || performance.now() - warmStart < WARMUP_MS; n++) {
    for (const c of [...alive]) {
      try {
        disposeAll(c.run());
        await settle();
      } catch (e) {
        if (e instanceof Timeout) throw e;
        results[c.name] = {status: 'error', reason: `warm-up: ${message(e)}`};
        alive.splice(alive.indexOf(c), 1);
      }
    }
  }
  // A sample is `reps` calls queued back to back (at least BATCH_MS of work), reported per call: the
  // H200's clock falls within milliseconds of idling, so single short calls separated by host syncs run
  // partly at idle clocks (a 0.2 ms decode measured up to 4× slow when no other contender kept it busy).
  const reps: Record<string, number> = {};
  for (const c of alive) {
    await settle();
    const t0 = performance.now();
    disposeAll(c.run());
    await settle();
    reps[c.name] = Math.max(1, Math.min(MAX_REPS, Math.ceil(BATCH_MS / Math.max(performance.now() - t0, 1e-3))));
  }
  for (let r = WARMUP; r < WARMUP + RUNS; r++) {
    for (const c of [...alive]) {
      try {
        const n = reps[c.name];
        await settle();
        const t0 = performance.now();
        for (let i = 0; i < n; i++) disposeAll(c.run());
        await settle();
        const ms = (performance.now() - t0) / n;
        if (r >= WARMUP) wall[c.name].push(ms);
        if (hasTimestamps) {
          const info = await withTimeout(tf.time(() => {
            for (let i = 0; i < n; i++) disposeAll(c.run());
          }), 'tf.time');
          if (typeof info.kernelMs === 'number' && r >= WARMUP) {
            gpu[c.name].push(info.kernelMs / n);
            // tfjs-backend-webgpu 4.22 formats it as "Name: ms, Name: ms".
            const perProgram = (info as {getExtraProfileInfo?: () => string}).getExtraProfileInfo?.() ?? '';
            const sums: Record<string, number> = {};
            for (const [, name, ms] of perProgram.matchAll(/(\w+): ([\d.eE+-]+)/g)) sums[name] = (sums[name] ?? 0) + Number(ms) / n;
            for (const [name, ms] of Object.entries(sums)) (programs[c.name][name] ??= []).push(ms);
          }
        }
      } catch (e) {
        if (e instanceof Timeout) throw e;
        results[c.name] = {status: 'error', reason: `run ${r}: ${message(e)}`};
        alive.splice(alive.indexOf(c), 1);
      }
    }
  }
  for (const c of alive) {
    const g = gpu[c.name], w = wall[c.name];
    const useGpu = g.length === w.length && g.length > 0;
    results[c.name] = {
      status: 'ok', ms: useGpu ? median(g) : median(w), method: useGpu ? 'gpu-timestamps' : 'wall',
      gpuMs: g.length ? median(g) : undefined, wallMs: median(w), gpuSamples: g, wallSamples: w,
      programs: Object.fromEntries(Object.entries(programs[c.name]).map(([name, ms]) => [name, median(ms)])),
    };
  }
}

/** Destroys the buffers tfjs keeps pooled for reuse, so that shapes do not pile up device memory. */
function trimBufferPool(): void {
  const bm = (backend as unknown as {bufferManager: {freeBuffers: Map<string, GPUBuffer[]>; numFreeBuffers: number; numBytesAllocated: number}}).bufferManager;
  for (const [key, list] of bm.freeBuffers) {
    for (const buf of list) {
      bm.numBytesAllocated -= buf.size;
      buf.destroy();
    }
    bm.freeBuffers.set(key, []);
  }
  bm.numFreeBuffers = 0;
}

// ---------------------------------------------------------------- one shape
interface Row {
  name: string;
  kind: BenchCase['kind'];
  shape: Omit<BenchCase, 'name' | 'kind'>;
  flops: number;
  /** decode: bytes of K and V read (the roofline of Sq = 1). */
  kvBytes?: number;
  scoreMatrixBytes: number;
  flash: ContenderResult;
  composition: ContenderResult;
  /** composition ms / flash ms. */
  speedup?: number;
  check: {maxAbsDiffVsComposition?: number; maxAbsErrVsF64?: number; f64RowsChecked: number; ok?: boolean; note?: string};
  uncapturedErrors?: string[];
}

const TOL = 2e-3;
/**
 * float16 rows: q, k, v and P are rounded to half (2^-11 relative each), against a float64 reference (and the
 * float32 composition) on the unrounded inputs: outputs (|o| < ~4) move by up to ~1e-2.
 */
const TOL_F16 = 2e-2;

/** The first key dense row i sees: the window's start (0 without a window; the bench's windows are causal). */
function firstKey(c: BenchCase, i: number): number {
  return c.window ? Math.max(0, i + c.sk - c.sq - (c.window - 1)) : 0;
}

function flopsOf(c: BenchCase): number {
  if (c.window) {
    // Counted on visible pairs: row i sees keys firstKey(i) .. i + Sk − Sq.
    let visible = 0;
    for (let i = 0; i < c.sq; i++) visible += Math.max(0, Math.min(c.sk - 1, i + c.sk - c.sq) - firstKey(c, i) + 1);
    return 4 * c.b * c.hq * visible * c.d;
  }
  const pairs = c.kind === 'varlen' ? c.seqlens!.reduce((a, l) => a + l * l, 0) :
      c.cacheSeqlens ? c.sq * c.cacheSeqlens.reduce((a, l) => a + l, 0) : c.b * c.sq * c.sk;
  const causalFactor = c.causal && (c.kind === 'varlen' || c.sq === c.sk) ? 0.5 : 1;
  return 4 * c.hq * pairs * c.d * causalFactor;
}

function scoreBytesOf(c: BenchCase): number {
  if (c.kind === 'varlen') return 4 * c.hq * Math.max(...c.seqlens!.map(l => l * l));
  return 4 * c.b * c.hq * c.sq * c.sk;
}

/** Rows to check against float64: first and last of the first and last (b, h), plus a few seeded picks. */
function sampleRows(c: BenchCase): Array<[number, number, number]> {
  const rows: Array<[number, number, number]> = [];
  const seqLen = (b: number) => c.kind === 'varlen' ? c.seqlens![b] : c.sq;
  const add = (b: number, h: number, i: number) => {
    if (seqLen(b) > 0) rows.push([b, h, Math.min(i, seqLen(b) - 1)]);
  };
  add(0, 0, 0);
  add(c.b - 1, c.hq - 1, seqLen(c.b - 1) - 1);
  let s = 12345;
  const rnd = (n: number) => (s = (s * 1103515245 + 12345) >>> 0) % n;
  for (let k = 0; k < 6; k++) {
    const b = rnd(c.b);
    add(b, rnd(c.hq), rnd(seqLen(b)));
  }
  return rows;
}

async function runCase(c: BenchCase, seed: number, roof: RooflineResult | null): Promise<Row> {
  const {b, hq, hk, sq, sk, d, causal} = c;
  const g = hq / hk;
  const scale = 1 / Math.sqrt(d);
  const flops = flopsOf(c);
  const scoreBytes = scoreBytesOf(c);
  const row: Row = {
    name: c.name, kind: c.kind, shape: {b, hq, hk, sq, sk, d, causal, fp8: c.fp8, half: c.half, seqlens: c.seqlens, flashOnly: c.flashOnly, window: c.window, cacheSeqlens: c.cacheSeqlens},
    flops, scoreMatrixBytes: scoreBytes, flash: {status: 'skipped'}, composition: {status: 'skipped'}, check: {f64RowsChecked: 0},
  };
  // K and V bytes a decode must read: the valid keys of a padded cache, else all of Sk.
  const validKeys = c.cacheSeqlens ? c.cacheSeqlens.reduce((a, l) => a + l, 0) : b * sk;
  if (c.kind === 'decode') row.kvBytes = 2 * hk * validKeys * d * (c.fp8 ? 1 : c.half ? 2 : 4);
  const before = uncaptured.length;

  // Host inputs. varlen: 'thd' [T, H, D]; otherwise 'bhsd' [B, H, S, D] (no transposes charged to anyone).
  const varlen = c.kind === 'varlen';
  const qShape = varlen ? [sq, hq, d] : [b, hq, sq, d];
  const kShape = varlen ? [sk, hk, d] : [b, hk, sk, d];
  const size = (s: number[]) => s.reduce((a, x) => a * x, 1);
  const qHost = normals(size(qShape), seed);
  const fp8Descale = 1 / 4;
  let kHost: Float32Array, vHost: Float32Array, kWords: Int32Array | undefined, vWords: Int32Array | undefined;
  if (c.fp8) {
    const kq = fp8Codes(size(kShape), d, seed + 1, fp8Descale), vq = fp8Codes(size(kShape), d, seed + 2, fp8Descale);
    kHost = kq.values; vHost = vq.values; kWords = kq.words; vWords = vq.words;
  } else {
    kHost = normals(size(kShape), seed + 1);
    vHost = normals(size(kShape), seed + 2);
    // float16 K/V: values that are halves already, so every contender and the check see what flash reads.
    if (c.half) [kHost, vHost].forEach(x => roundTileToHalf(x, x.length));
  }
  const cu = varlen ? Int32Array.from([0, ...c.seqlens!.map((_, i) => c.seqlens!.slice(0, i + 1).reduce((a, x) => a + x, 0))]) : null;

  const q = tf.tensor(qHost, qShape, 'float32');
  const k = tf.tensor(kHost, kShape, 'float32');
  const v = tf.tensor(vHost, kShape, 'float32');
  const owned: tf.Tensor[] = [q, k, v];
  // A decode loop keeps its cache lengths on the device: one int32 tensor, made here, not per call.
  const cacheSeqlens = c.cacheSeqlens ? tf.tensor1d(c.cacheSeqlens, 'int32') : undefined;
  if (cacheSeqlens) owned.push(cacheSeqlens);

  // flashAttention
  const contenders: Contender[] = [];
  let flashRun: (() => tf.Tensor) | null = null;
  if (lib == null) {
    row.flash = {status: 'error', reason: libError ?? 'library missing'};
  } else {
    try {
      // The Fp8Tensors own nothing beyond their word tensors, which `owned` disposes.
      type Input = Parameters<FlashModule['flashAttention']>[1];
      let kIn: Input = k, vIn: Input = v;
      if (c.fp8) {
        const wordsShape = [...kShape.slice(0, -1), d / 4];
        const kw = tf.tensor(kWords!, wordsShape, 'int32'), vw = tf.tensor(vWords!, wordsShape, 'int32');
        owned.push(kw, vw);
        kIn = new lib.Fp8Tensor(kw, kShape, 'e4m3fn', fp8Descale);
        vIn = new lib.Fp8Tensor(vw, kShape, 'e4m3fn', fp8Descale);
      } else if (c.half) {
        const [kh, vh] = [lib.toFloat16(k), lib.toFloat16(v)];
        owned.push(kh.words, vh.words);
        [kIn, vIn] = [kh, vh];
      }
      const precision: 'float32' | 'float16' = c.precision ?? 'float32';
      const windowSize: [number, number]|undefined = c.window ? [c.window - 1, -1] : undefined;
      const options = varlen ? {layout: 'thd' as const, causal, cuSeqlensQ: cu!, cuSeqlensK: cu!, precision} :
                               {layout: 'bhsd' as const, causal, precision, windowSize, cacheSeqlens};
      const fa = lib.flashAttention;
      flashRun = () => fa(q, kIn, vIn, options) as tf.Tensor;
      contenders.push({name: 'flash', run: flashRun});
    } catch (e) {
      row.flash = {status: 'error', reason: message(e)};
    }
  }

  // The composition, on float32 K/V (FP8 rows: the dequantized values), heads expanded for GQA beforehand.
  let compRun: (() => tf.Tensor[]) | null = null;
  const compLimit = Math.min(preset.compositionLimitBytes, device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  if (noComposition) {
    row.composition = {status: 'skipped', reason: '--no-composition'};
  } else if (c.flashOnly) {
    row.composition = {status: 'skipped', reason: c.flashOnly};
  } else if (scoreBytes > compLimit) {
    row.composition = {status: 'skipped', reason: `OOM: score matrix ${(scoreBytes / 2 ** 30).toFixed(1)} GiB > ` +
        `${(compLimit / 2 ** 30).toFixed(1)} GiB (min of the preset's limit and the device's binding/buffer limits)`};
  } else {
    try {
      let kc = k, vc = v;
      if (g > 1) {
        const idx = tf.tensor1d(Array.from({length: hq}, (_, h) => Math.floor(h / g)), 'int32');
        kc = tf.gather(k, idx, varlen ? 1 : 1);
        vc = tf.gather(v, idx, varlen ? 1 : 1);
        owned.push(idx, kc, vc);
      }
      if (varlen) {
        // Per sequence: [L, H, D] slices → [1, H, L, D], prepared outside the timed region.
        const parts = c.seqlens!.map((l, i) => [q, kc, vc].map(x => {
          const sl = tf.slice(x, [cu![i], 0, 0], [l, hq, d]);
          const t = tf.expandDims(tf.transpose(sl, [1, 0, 2]), 0) as tf.Tensor4D;
          sl.dispose();
          owned.push(t);
          return t;
        }));
        compRun = () => parts.map(([qi, ki, vi]) => compositionAttention(qi, ki, vi, causal));
      } else {
        compRun = () => [compositionAttention(q as tf.Tensor4D, kc as tf.Tensor4D, vc as tf.Tensor4D, causal)];
      }
      contenders.push({name: 'composition', run: compRun});
    } catch (e) {
      row.composition = {status: 'error', reason: message(e)};
    }
  }

  try {
    await settle();
    await timeContenders(contenders, row as unknown as Record<string, ContenderResult>);

    // Correctness, same inputs: flash vs the composition (all elements) and vs float64 (sampled rows).
    let flashOut: Float32Array | null = null;
    if (row.flash.status === 'ok' && flashRun) {
      const o = flashRun();
      flashOut = await withTimeout(o.data() as Promise<Float32Array>, 'reading the flash output');
      o.dispose();
    }
    if (flashOut && row.composition.status === 'ok' && compRun) {
      const outs = compRun();
      const parts = await withTimeout(Promise.all(outs.map(o => o.data() as Promise<Float32Array>)), 'reading the composition output');
      tf.dispose(outs);
      let maxDiff = 0;
      const diff = (a: number, x: number) => {
        const dd = Math.abs(a - x);
        maxDiff = Math.max(maxDiff, Number.isNaN(dd) ? Infinity : dd);
      };
      if (varlen) {
        c.seqlens!.forEach((l, si) => {
          const p = parts[si]; // [1, H, L, D]
          for (let h = 0; h < hq; h++) for (let i = 0; i < l; i++) for (let x = 0; x < d; x++) {
            diff(flashOut![((cu![si] + i) * hq + h) * d + x], p[(h * l + i) * d + x]);
          }
        });
      } else {
        for (let i = 0; i < flashOut.length; i++) diff(flashOut[i], parts[0][i]);
      }
      row.check.maxAbsDiffVsComposition = maxDiff;
    }
    if (flashOut) {
      let maxErr = 0;
      for (const [bb, h, i] of sampleRows(c)) {
        const kvh = Math.floor(h / g);
        let ref: Float64Array, got: number;
        if (varlen) {
          const start = cu![bb], l = c.seqlens![bb];
          const visible = causal ? i + 1 : l;
          const off = (j: number) => ((start + j) * hk + kvh) * d;
          ref = attentionRowF64(qHost, ((start + i) * hq + h) * d, kHost, vHost, off, off, visible, d, scale);
          got = ((start + i) * hq + h) * d;
        } else {
          const first = firstKey(c, i);
          const skb = c.cacheSeqlens ? c.cacheSeqlens[bb] : sk;
          const visible = (causal ? Math.min(skb, i + skb - sq + 1) : skb) - first;
          const off = (j: number) => ((bb * hk + kvh) * sk + first + j) * d;
          ref = attentionRowF64(qHost, ((bb * hq + h) * sq + i) * d, kHost, vHost, off, off, visible, d, scale);
          got = ((bb * hq + h) * sq + i) * d;
        }
        for (let x = 0; x < d; x++) {
          const e = Math.abs(flashOut[got + x] - ref[x]);
          maxErr = Math.max(maxErr, Number.isNaN(e) ? Infinity : e);
        }
        row.check.f64RowsChecked++;
      }
      row.check.maxAbsErrVsF64 = maxErr;
      const tol = c.precision === 'float16' ? TOL_F16 : TOL;
      row.check.ok = maxErr <= tol && (row.check.maxAbsDiffVsComposition ?? 0) <= tol;
      if (!row.check.ok) row.check.note = `max error above ${tol}`;
    }
  } finally {
    tf.dispose(owned);
    await settle().catch(() => undefined);
    trimBufferPool();
  }

  for (const name of ['flash', 'composition'] as const) {
    const r = row[name];
    if (r.status !== 'ok') continue;
    r.tflops = flops / r.ms! / 1e9;
    if (roof) r.pctFmaPeak = 100 * r.tflops / roof.fmaTflops;
    if (roof?.matrixTflops != null && c.precision === 'float16' && name === 'flash') r.pctMatrixPeak = 100 * r.tflops / roof.matrixTflops;
    if (row.kvBytes != null && name === 'flash') {
      r.gbs = row.kvBytes / r.ms! / 1e6;
      if (roof) r.pctReadBw = 100 * r.gbs / roof.readGBs;
    }
  }
  if (row.flash.status === 'ok' && row.composition.status === 'ok') row.speedup = row.composition.ms! / row.flash.ms!;
  if (uncaptured.length > before) row.uncapturedErrors = uncaptured.slice(before);
  return row;
}

// ---------------------------------------------------------------- main
const started = new Date();
const deviceInfo = await adapterLine();
const deviceLine = [deviceInfo.nvidiaSmi ?? '', `${deviceInfo.adapter.vendor} ${deviceInfo.adapter.architecture} ${deviceInfo.adapter.device} ${deviceInfo.adapter.description}`.trim()]
                       .filter(Boolean).join(' / ');
log(`device: ${deviceLine}; timestamp-query ${hasTimestamps ? 'on' : 'off'}; preset ${presetName}; ` +
    `${WARMUP} warm-up (≥ ${WARMUP_MS} ms) + ${RUNS} timed runs per contender`);
if (build) log(`kernel version: ${build.gitDescribe} (source hash ${build.sourceHash}, built ${build.builtAt})`);

const rows: Row[] = [];
let roof: RooflineResult | null = null;
let rooflineError: string | undefined;
let aborted: string | undefined;
if (!noRoofline) try {
  log('roofline: WGSL FMA peak and streaming read ...');
  roof = await new Roofline(device, TIMEOUT_MS).run(preset.roofline, WARMUP, RUNS);
  log(`roofline: FMA ${roof.fmaTflops.toFixed(2)} TFLOP/s, read ${roof.readGBs.toFixed(1)} GB/s` +
      `${roof.matrixTflops != null ? `, f16 subgroup-matrix matmul ${roof.matrixTflops.toFixed(2)} TFLOP/s` : ''} (${roof.fma.method})`);
} catch (e) {
  rooflineError = message(e);
  log(`roofline: ERROR ${rooflineError}`);
}

const cases = preset.cases.filter(c => only.length === 0 || only.some(s => c.name.includes(s)));
for (const [i, c] of cases.entries()) {
  const t0 = performance.now();
  try {
    const row = await runCase(c, 1000 + 17 * i, roof);
    rows.push(row);
    const f = row.flash, m = row.composition;
    const perProgram = Object.entries(f.programs ?? {}).map(([name, ms]) => `${name} ${ms.toFixed(3)}`).join(', ');
    const fs = f.status === 'ok' ? `flash ${f.ms!.toFixed(3)} ms ${f.tflops!.toFixed(2)} TFLOP/s` +
        (f.gbs != null ? ` ${f.gbs.toFixed(0)} GB/s` : '') + (perProgram ? ` [${perProgram}]` : '') :
        `flash ${f.status.toUpperCase()}: ${f.reason}`;
    const ms = m.status === 'ok' ? `composition ${m.ms!.toFixed(3)} ms` : `composition ${m.status}${m.reason ? ': ' + m.reason : ''}`;
    const chk = row.check.maxAbsErrVsF64 != null ? `, err ${row.check.maxAbsErrVsF64.toExponential(1)}${row.check.ok ? '' : ' BAD'}` : '';
    log(`[${i + 1}/${cases.length}] ${c.name}: ${fs}; ${ms}${chk} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    aborted = `${c.name}: ${message(e)}`;
    log(`[${i + 1}/${cases.length}] ${c.name}: ABORTED ${aborted}`);
    rows.push({name: c.name, kind: c.kind, shape: {...c}, flops: flopsOf(c), scoreMatrixBytes: scoreBytesOf(c),
      flash: {status: 'error', reason: aborted}, composition: {status: 'error', reason: aborted}, check: {f64RowsChecked: 0}});
    if (e instanceof Timeout) break; // the GPU is stuck: later work would queue behind it
  }
}

const report = {
  benchmark: 'tfjs-flash-attention webgpu (issue 7)',
  date: started.toISOString(),
  preset: presetName,
  kernelVersion: build,
  device: {line: deviceLine, ...deviceInfo},
  runtime: {node: process.version, tfjs: tf.version_core, dawnFlags},
  method: {
    warmup: WARMUP, warmupMs: WARMUP_MS, runs: RUNS,
    reported: (hasTimestamps ? 'median of per-call GPU kernel time (sum of timestamp-query durations of each program, tf.time().kernelMs)'
                             : 'median of per-call wall time (calls → queue.onSubmittedWorkDone())') +
        `; each sample is N calls queued back to back (N so that it holds ≥ ${BATCH_MS} ms, at most ${MAX_REPS}), divided by N`,
    flops: '4·B·Hq·Sq·Sk·D (varlen: Σ 4·H·L²·D), halved for causal with Sq = Sk; window rows: 4·B·Hq·D per visible pair',
    decodeBytes: 'K and V bytes read: 2·B·Hk·Sk·D·(4 float32 | 2 float16 | 1 fp8)',
    tolerance: TOL,
  },
  roofline: roof ?? {error: rooflineError},
  rows,
  aborted,
};

function table(): string {
  const f = (x: number | undefined, p = 2) => x == null ? '' : x.toFixed(p);
  const e = (x: number | undefined) => x == null ? '' : x.toExponential(1);
  const lines = [
    `device: ${deviceLine}`,
    roof ? `roofline (same run): FMA peak ${roof.fmaTflops.toFixed(2)} TFLOP/s, streaming read ${roof.readGBs.toFixed(1)} GB/s` +
        (roof.matrixTflops != null ? `, f16 subgroup-matrix matmul ${roof.matrixTflops.toFixed(2)} TFLOP/s (float16 rows: % of it in the notes)` : '') :
        `roofline: ERROR ${rooflineError}`,
    `timing: ${report.method.reported}; ${WARMUP} warm-up (≥ ${WARMUP_MS} ms) + ${RUNS} timed runs` + (build ? `; kernel ${build.gitDescribe} (${build.sourceHash})` : ''),
    '',
    '| shape | flash ms | TFLOP/s | % FMA peak | % MMA peak | GB/s (K+V) | % read BW | composition ms | comp. TFLOP/s | speedup | max \\|diff\\| vs comp. | max err vs f64 |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const fl = r.flash, co = r.composition;
    const flashMs = fl.status === 'ok' ? f(fl.ms, 3) : `${fl.status.toUpperCase()}: ${(fl.reason ?? '').slice(0, 120)}`;
    const compMs = co.status === 'ok' ? f(co.ms, 3) : co.status === 'skipped' ? (co.reason?.startsWith('OOM') ? 'OOM (skipped)' : 'skipped') : `ERROR: ${(co.reason ?? '').slice(0, 80)}`;
    lines.push(`| ${r.name} | ${flashMs} | ${f(fl.tflops)} | ${f(fl.pctFmaPeak, 1)} | ${f(fl.pctMatrixPeak, 1)} | ${f(fl.gbs, 0)} | ${f(fl.pctReadBw, 1)} | ${compMs} | ` +
               `${f(co.tflops)} | ${r.speedup ? r.speedup.toFixed(2) + '×' : ''} | ${e(r.check.maxAbsDiffVsComposition)} | ` +
               `${e(r.check.maxAbsErrVsF64)}${r.check.ok === false ? ' BAD' : ''} |`);
  }
  if (aborted) lines.push('', `ABORTED: ${aborted}`);
  return lines.join('\n');
}

if (outFile) writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');
if (json) console.log(JSON.stringify(report, null, 2));
else console.log(table());
// Dawn keeps Node alive while navigator.gpu is referenced.
process.exit(aborted ? 3 : 0);
