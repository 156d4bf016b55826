/**
 * The ceilings every attention figure is compared against, measured on the benchmark's own device in the
 * same run: the fp32 FMA peak of a WGSL kernel (independent FMA chains, no memory traffic), the
 * streaming-read bandwidth of a WGSL kernel (every thread sums vec4 loads of a buffer far larger than L2) and,
 * where the device has f16 subgroup matrices, the matrix-unit rate of an f16→f32 subgroup-matrix matmul
 * (the workgroup-staged kernel of ENVIRONMENT.md's probe, 82 TFLOP/s on the H200 there).
 * Each is timed with the device's timestamp queries (one compute pass per sample, beginning and end of
 * pass) when the device has them, else with wall time around queue.onSubmittedWorkDone().
 */

export interface RooflineConfig {
  /** FMA kernel: workgroups of 256 threads, and loop iterations (256 FLOPs each per thread). */
  fmaWorkgroups: number;
  fmaIters: number;
  /** Read kernel: bytes read (capped by the device's binding limits) and grid sizes to try (best wins). */
  readBytes: number;
  readWorkgroups: number[];
  /** Size N of the f16 subgroup-matrix matmul (a multiple of 128), where the device has subgroup matrices. */
  matrixN?: number;
}

export interface Measured {
  /** Median ms of the timed samples, and all samples. */
  ms: number;
  samples: number[];
  method: 'timestamp' | 'wall';
}

export interface RooflineResult {
  fmaTflops: number;
  /** f16 subgroup-matrix matmul (f32 accumulation), when the device has subgroup matrices. */
  matrixTflops?: number;
  matrix?: Measured & {flops: number; n: number};
  fma: Measured & {flops: number};
  readGBs: number;
  read: Measured & {bytes: number; workgroups: number};
  readTried: Array<{workgroups: number; ms: number; gbs: number}>;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const FMA_WGSL = /* wgsl */ `
struct Params { m: f32, c: f32, iters: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> o: array<vec4f>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) n: vec3u) {
  let m = vec4f(p.m);
  let c = vec4f(p.c);
  let s = f32(g.x + g.y * n.x * 256u) * 1e-7;
  var a0 = vec4f(s, s + 0.1, s + 0.2, s + 0.3);
  var a1 = a0 + 0.01; var a2 = a0 + 0.02; var a3 = a0 + 0.03;
  var a4 = a0 + 0.04; var a5 = a0 + 0.05; var a6 = a0 + 0.06; var a7 = a0 + 0.07;
  for (var i = 0u; i < p.iters; i++) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  o[g.x + g.y * n.x * 256u] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}`;
/** FLOPs per thread per loop iteration: 4 rounds × 8 vec4 chains × 4 lanes × 2. */
const FMA_FLOPS_PER_ITER = 4 * 8 * 4 * 2;

/**
 * C = A·B, N×N f16 → f32: 4 subgroups (2×2) per workgroup of 128, each a 64×64 tile of 16×16 results;
 * A [128×32] and B [32×128] staged in workgroup memory per K step of 32. Needs 32-wide subgroups.
 */
function compileErrors(message: string): string {
  const lines = message.split('\n');
  const at = lines.findIndex(l => / error: /.test(l));
  return at < 0 ? message.slice(0, 2000) : [lines[0], ...lines.slice(at, at + 6)].join(' | ');
}

function matmulWgsl(n: number): string {
  const acc: string[] = [], inner: string[] = [], store: string[] = [];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    acc.push(`var c${i}${j} = subgroup_matrix_result<f32, 16, 16>();`);
    store.push(`subgroupMatrixStore(&C, (row0 + ${i * 16}u) * ${n}u + col0 + ${j * 16}u, c${i}${j}, false, ${n}u);`);
  }
  for (let kk = 0; kk < 32; kk += 16) {
    for (let i = 0; i < 4; i++) inner.push(`let a${i}_${kk} = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&As, (sr + ${i * 16}u) * 32u + ${kk}u, false, 32u);`);
    for (let j = 0; j < 4; j++) inner.push(`let b${j}_${kk} = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&Bs, ${kk}u * 128u + sc + ${j * 16}u, false, 128u);`);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) inner.push(`c${i}${j} = subgroupMatrixMultiplyAccumulate(a${i}_${kk}, b${j}_${kk}, c${i}${j});`);
  }
  // The subgroup's quadrant comes from the subgroup_id builtin: offsets derived from local_invocation_index
  // are not subgroup-uniform, and Tint (Dawn, 2026-12) refuses them to subgroup-matrix loads and stores.
  return `enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> A: array<vec4<f16>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f16>>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
var<workgroup> As: array<f16, 4096>;
var<workgroup> Bs: array<f16, 4096>;
@compute @workgroup_size(128) fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32,
                                     @builtin(subgroup_id) sg: u32) {
  let wr = wg.y * 128u; let wc = wg.x * 128u;
  let sr = (sg / 2u) * 64u; let sc = (sg % 2u) * 64u;
  let row0 = wr + sr; let col0 = wc + sc;
  ${acc.join('\n  ')}
  for (var k = 0u; k < ${n}u; k += 32u) {
    for (var e = 0u; e < 8u; e++) {            // 1024 vec4 of A (128 rows × 8) and of B (32 rows × 32), 8 per thread
      let idx = t + e * 128u;
      let ar = idx / 8u; let ac = (idx % 8u) * 4u;
      let av = A[((wr + ar) * ${n}u + k + ac) / 4u];
      As[ar * 32u + ac] = av.x; As[ar * 32u + ac + 1u] = av.y; As[ar * 32u + ac + 2u] = av.z; As[ar * 32u + ac + 3u] = av.w;
      let br = idx / 32u; let bc = (idx % 32u) * 4u;
      let bv = B[((k + br) * ${n}u + wc + bc) / 4u];
      Bs[br * 128u + bc] = bv.x; Bs[br * 128u + bc + 1u] = bv.y; Bs[br * 128u + bc + 2u] = bv.z; Bs[br * 128u + bc + 3u] = bv.w;
    }
    workgroupBarrier();
    ${inner.join('\n    ')}
    workgroupBarrier();
  }
  ${store.join('\n  ')}
}`;
}

const READ_WGSL = /* wgsl */ `
struct Params { n: u32, stride: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> o: array<vec4f>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let s = p.stride;
  var a0 = vec4f(0.0); var a1 = vec4f(0.0); var a2 = vec4f(0.0); var a3 = vec4f(0.0);
  var i = g.x;
  loop {
    if (i + 3u * s >= p.n) { break; }
    a0 += src[i]; a1 += src[i + s]; a2 += src[i + 2u * s]; a3 += src[i + 3u * s];
    i += 4u * s;
  }
  for (; i < p.n; i += s) { a0 += src[i]; }
  o[g.x] = (a0 + a1) + (a2 + a3);
}`;

const FILL_WGSL = /* wgsl */ `
struct Params { n: u32, stride: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u) {
  for (var i = g.x; i < p.n; i += p.stride) {
    let x = f32(i % 1021u) * 0.001 + 0.5;
    dst[i] = vec4f(x, -x, x * 0.5, 1.0 - x);
  }
}`;

export class Roofline {
  private readonly hasTimestamps: boolean;
  private querySet?: GPUQuerySet;
  private resolveBuf?: GPUBuffer;
  private readBuf?: GPUBuffer;

  constructor(private readonly device: GPUDevice, private readonly timeoutMs: number) {
    this.hasTimestamps = device.features.has('timestamp-query');
    if (this.hasTimestamps) {
      this.querySet = device.createQuerySet({type: 'timestamp', count: 2});
      this.resolveBuf = device.createBuffer({size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC});
      this.readBuf = device.createBuffer({size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST});
    }
  }

  private pipeline(code: string): GPUComputePipeline {
    return this.device.createComputePipeline({layout: 'auto', compute: {module: this.device.createShaderModule({code}), entryPoint: 'main'}});
  }

  private uniform(words: number[], float = false): GPUBuffer {
    const buf = this.device.createBuffer({size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST});
    const data = new ArrayBuffer(16);
    words.forEach((w, i) => float && i < 2 ? new Float32Array(data, i * 4, 1)[0] = w : new Uint32Array(data, i * 4, 1)[0] = w);
    this.device.queue.writeBuffer(buf, 0, data);
    return buf;
  }

  private async done(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`roofline: GPU work did not finish in ${this.timeoutMs / 1000} s`)), this.timeoutMs);
    });
    try {
      await Promise.race([this.device.queue.onSubmittedWorkDone(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One sample: one compute pass with one dispatch; ms from timestamps (or wall time). */
  private async sample(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, workgroups: number): Promise<number> {
    await this.done();
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass(this.hasTimestamps ?
        {timestampWrites: {querySet: this.querySet!, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1}} : {});
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.min(workgroups, 65535), Math.ceil(workgroups / 65535));
    pass.end();
    if (this.hasTimestamps) {
      enc.resolveQuerySet(this.querySet!, 0, 2, this.resolveBuf!, 0);
      enc.copyBufferToBuffer(this.resolveBuf!, 0, this.readBuf!, 0, 16);
    }
    const t0 = performance.now();
    this.device.queue.submit([enc.finish()]);
    await this.done();
    const wall = performance.now() - t0;
    if (!this.hasTimestamps) return wall;
    await this.readBuf!.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(this.readBuf!.getMappedRange().slice(0));
    this.readBuf!.unmap();
    return Number(t[1] - t[0]) / 1e6;
  }

  private async measure(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, workgroups: number,
                        warmup: number, runs: number): Promise<Measured> {
    const samples: number[] = [];
    for (let r = 0; r < warmup + runs; r++) {
      const ms = await this.sample(pipeline, bindGroup, workgroups);
      if (r >= warmup) samples.push(ms);
    }
    return {ms: median(samples), samples, method: this.hasTimestamps ? 'timestamp' : 'wall'};
  }

  /** The f16 subgroup-matrix matmul rate, or undefined where the device lacks f16 subgroup matrices. */
  private async matrixRate(n: number, warmup: number, runs: number): Promise<RooflineResult['matrix']> {
    const dev = this.device;
    if (!['chromium-experimental-subgroup-matrix', 'shader-f16', 'subgroups'].every(f => dev.features.has(f))) return undefined;
    const pipe = this.pipeline(matmulWgsl(n));
    const a = dev.createBuffer({size: n * n * 2, usage: GPUBufferUsage.STORAGE});
    const b = dev.createBuffer({size: n * n * 2, usage: GPUBufferUsage.STORAGE});
    const c = dev.createBuffer({size: n * n * 4, usage: GPUBufferUsage.STORAGE});
    const bind = dev.createBindGroup({layout: pipe.getBindGroupLayout(0), entries: [a, b, c].map((buffer, i) => ({binding: i, resource: {buffer}}))});
    const tiles = n / 128;
    // sample() dispatches (x, ceil(x / 65535)): a square grid needs its own pass.
    const samples: number[] = [];
    for (let r = 0; r < warmup + runs; r++) {
      await this.done();
      const enc = dev.createCommandEncoder();
      const pass = enc.beginComputePass(this.hasTimestamps ?
          {timestampWrites: {querySet: this.querySet!, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1}} : {});
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(tiles, tiles);
      pass.end();
      if (this.hasTimestamps) {
        enc.resolveQuerySet(this.querySet!, 0, 2, this.resolveBuf!, 0);
        enc.copyBufferToBuffer(this.resolveBuf!, 0, this.readBuf!, 0, 16);
      }
      const t0 = performance.now();
      dev.queue.submit([enc.finish()]);
      await this.done();
      let ms = performance.now() - t0;
      if (this.hasTimestamps) {
        await this.readBuf!.mapAsync(GPUMapMode.READ);
        const t = new BigUint64Array(this.readBuf!.getMappedRange().slice(0));
        this.readBuf!.unmap();
        ms = Number(t[1] - t[0]) / 1e6;
      }
      if (r >= warmup) samples.push(ms);
    }
    [a, b, c].forEach(x => x.destroy());
    return {ms: median(samples), samples, method: this.hasTimestamps ? 'timestamp' : 'wall', flops: 2 * n ** 3, n};
  }

  async run(cfg: RooflineConfig, warmup: number, runs: number): Promise<RooflineResult> {
    const dev = this.device;
    dev.pushErrorScope('validation');
    dev.pushErrorScope('out-of-memory');

    // FMA peak. Grid rows of at most 65535 workgroups (x) keep any size dispatchable.
    const fmaPipe = this.pipeline(FMA_WGSL);
    const wgX = Math.min(cfg.fmaWorkgroups, 65535);
    const fmaWorkgroups = wgX * Math.ceil(cfg.fmaWorkgroups / wgX);
    const fmaOut = dev.createBuffer({size: fmaWorkgroups * 256 * 16, usage: GPUBufferUsage.STORAGE});
    const fmaParams = this.uniform([0.999, 1e-4, cfg.fmaIters, 0], true);
    const fmaBind = dev.createBindGroup({layout: fmaPipe.getBindGroupLayout(0), entries: [
      {binding: 0, resource: {buffer: fmaParams}}, {binding: 1, resource: {buffer: fmaOut}}]});
    const fma = await this.measure(fmaPipe, fmaBind, fmaWorkgroups, warmup, runs);
    const flops = fmaWorkgroups * 256 * cfg.fmaIters * FMA_FLOPS_PER_ITER;
    fmaOut.destroy();

    // Streaming read: fill the buffer with non-zero values first, then read it with several grid sizes.
    const limit = Math.min(dev.limits.maxStorageBufferBindingSize, dev.limits.maxBufferSize);
    const bytes = Math.floor(Math.min(cfg.readBytes, limit) / 256) * 256;
    const n = bytes / 16;
    const src = dev.createBuffer({size: bytes, usage: GPUBufferUsage.STORAGE});
    const fillPipe = this.pipeline(FILL_WGSL);
    const fillParams = this.uniform([n, 4096 * 256, 0, 0]);
    const fillBind = dev.createBindGroup({layout: fillPipe.getBindGroupLayout(0), entries: [
      {binding: 0, resource: {buffer: fillParams}}, {binding: 1, resource: {buffer: src}}]});
    await this.sample(fillPipe, fillBind, 4096);

    const readPipe = this.pipeline(READ_WGSL);
    const tried: RooflineResult['readTried'] = [];
    let best: (Measured & {bytes: number; workgroups: number}) | undefined;
    for (const wg of cfg.readWorkgroups) {
      const stride = wg * 256;
      const out = dev.createBuffer({size: stride * 16, usage: GPUBufferUsage.STORAGE});
      const params = this.uniform([n, stride, 0, 0]);
      const bind = dev.createBindGroup({layout: readPipe.getBindGroupLayout(0), entries: [
        {binding: 0, resource: {buffer: params}}, {binding: 1, resource: {buffer: src}}, {binding: 2, resource: {buffer: out}}]});
      const m = await this.measure(readPipe, bind, wg, warmup, runs);
      tried.push({workgroups: wg, ms: m.ms, gbs: bytes / m.ms / 1e6});
      if (best == null || m.ms < best.ms) best = {...m, bytes, workgroups: wg};
      out.destroy();
    }
    src.destroy();
    const matrix = cfg.matrixN ? await this.matrixRate(cfg.matrixN, warmup, runs) : undefined;
    const oom = await dev.popErrorScope();
    const invalid = await dev.popErrorScope();
    const err = oom ?? invalid;
    // Dawn lists a module's warnings before its errors: keep the errors and the lines that follow them.
    if (err) throw new Error(`roofline kernels failed: ${compileErrors(err.message)}`);
    return {
      fmaTflops: flops / fma.ms / 1e9, fma: {...fma, flops},
      ...(matrix ? {matrixTflops: matrix.flops / matrix.ms / 1e9, matrix} : {}),
      readGBs: best!.bytes / best!.ms / 1e6, read: best!, readTried: tried,
    };
  }
}
