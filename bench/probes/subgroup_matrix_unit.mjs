// Standalone check of the subgroup-matrix operations the matrix-tile forward uses (no tfjs): a 16×16×16 f16
// product loaded from workgroup memory (flat and nested arrays, row strides 16 and 24, column-major B, small
// workgroup variables before, between or after the tiles) and stored back, against the exact integer result.
// On the H200 (2026-12-01) small variables between or after the tiles give wrong results (BENCHMARKS.md).
// Run: bash scripts/gpu/pack.sh bench/probes/subgroup_matrix_unit.mjs; bash .gpu/run.sh
import {create, globals} from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']);
globalThis.navigator = {gpu};
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice({requiredFeatures: ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix']});
const out = (o) => console.log(JSON.stringify(o));
// A: 16x16 (row i, col k) = (i*16+k)%7 - 3 ; B (k, j) = (k*3 + j)%5 - 2. C = A B.
const A = [], B = [];
for (let i = 0; i < 16; i++) for (let k = 0; k < 16; k++) A.push(((i * 16 + k) % 7) - 3);
for (let k = 0; k < 16; k++) for (let j = 0; j < 16; j++) B.push(((k * 3 + j) % 5) - 2);
const C = []; for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) { let s = 0; for (let k = 0; k < 16; k++) s += A[i * 16 + k] * B[k * 16 + j]; C.push(s); }
const flat = 'var<workgroup> a : array<f16, 512>; var<workgroup> b : array<f16, 512>; var<workgroup> s : array<f32, 512>;';
const variants = {
  flat: {decl: flat, A: 'a', B: 'b', S: 's', sa: 16, sb: 16, colB: false},
  nested: {decl: 'var<workgroup> a : array<array<f16, 512>, 1>; var<workgroup> b : array<f16, 512>; var<workgroup> s : array<array<f32, 512>, 1>;', A: 'a[g]', B: 'b', S: 's[g]', sa: 16, sb: 16, colB: false},
  stride24: {decl: flat, A: 'a', B: 'b', S: 's', sa: 24, sb: 24, colB: false},
  colB: {decl: flat, A: 'a', B: 'b', S: 's', sa: 16, sb: 16, colB: true},
  // the matrix-tile kernel's layout: small workgroup variables before and between the tiles
  smallFirst: {decl: 'var<workgroup> info : array<i32, 9>; var<workgroup> flags : array<i32, 2>; ' + flat, A: 'a', B: 'b', S: 's', sa: 16, sb: 16, colB: false, touch: true},
  smallBetween: {decl: 'var<workgroup> a : array<f16, 512>; var<workgroup> info : array<i32, 9>; var<workgroup> b : array<f16, 512>; var<workgroup> flags : array<i32, 2>; var<workgroup> s : array<f32, 512>;', A: 'a', B: 'b', S: 's', sa: 16, sb: 16, colB: false, touch: true},
  oddSizes: {decl: 'var<workgroup> a : array<f16, 768>; var<workgroup> b : array<f16, 384>; var<workgroup> p : array<f16, 512>; var<workgroup> s : array<f32, 512>; var<workgroup> share : array<f32, 32>;', A: 'a', B: 'b', S: 's', sa: 24, sb: 24, colB: false, touchP: true},
  kernelLikeSmallFirst: {decl: 'var<workgroup> info : array<i32, 9>; var<workgroup> flags : array<i32, 2>; var<workgroup> share : array<f32, 32>; var<workgroup> a : array<array<f16, 768>, 1>; var<workgroup> b : array<f16, 384>; var<workgroup> p : array<array<f16, 512>, 1>; var<workgroup> s : array<array<f32, 512>, 1>;', A: 'a[g]', B: 'b', S: 's[g]', sa: 24, sb: 24, colB: false, touch: true, touchP: true},
  kernelLike: {decl: 'var<workgroup> a : array<array<f16, 768>, 1>; var<workgroup> b : array<f16, 384>; var<workgroup> p : array<array<f16, 512>, 1>; var<workgroup> s : array<array<f32, 512>, 1>; var<workgroup> share : array<f32, 32>; var<workgroup> flags : array<i32, 2>; var<workgroup> info : array<i32, 9>;', A: 'a[g]', B: 'b', S: 's[g]', sa: 24, sb: 24, colB: false, touch: true, touchP: true},
};
for (const [name, v] of Object.entries(variants)) {
  const bIndex = v.colB ? '(e % 16) * SB + e / 16' : '(e / 16) * SB + e % 16';
  const aPlace = v.A.replace('[g]', '[0]'), sPlace = v.S.replace('[g]', '[0]');
  const code = `enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> inp : array<f32>;
@group(0) @binding(1) var<storage, read_write> res : array<f32>;
${v.decl}
const SA : u32 = ${v.sa}u; const SB : u32 = ${v.sb}u;
@compute @workgroup_size(32) fn main(@builtin(local_invocation_index) t : u32) {
  let g = 0;
  ${v.touch ? 'info[t % 9u] = i32(t); flags[t % 2u] = 0;' : ''}
  ${v.touchP ? `${v.A.includes('[g]') ? 'p[0]' : 'p'}[t] = f16(0.0);` : ''}
  for (var e = t; e < 256u; e += 32u) {
    ${aPlace}[(e / 16u) * SA + e % 16u] = f16(inp[e]);
    ${v.B}[${bIndex.replace(/(\d+)/g, '$1u')}] = f16(inp[256u + e]);
  }
  workgroupBarrier();
  var acc = subgroup_matrix_result<f32, 16, 16>();
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&${v.A}, 0u, false, SA);
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&${v.B}, 0u, ${v.colB}, SB);
  acc = subgroupMatrixMultiplyAccumulate(l, r, acc);
  subgroupMatrixStore(&${v.S}, 0u, acc, false, 16u);
  workgroupBarrier();
  for (var e = t; e < 256u; e += 32u) { res[e] = ${sPlace}[e]${v.touch ? ' + f32(info[0] - info[0]) + f32(flags[1])' : ''}; }
}`;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({code});
  const pipe = device.createComputePipeline({layout: 'auto', compute: {module, entryPoint: 'main'}});
  const inB = device.createBuffer({size: 512 * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST});
  device.queue.writeBuffer(inB, 0, new Float32Array([...A, ...B]));
  const resB = device.createBuffer({size: 256 * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC});
  const rb = device.createBuffer({size: 256 * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST});
  const bg = device.createBindGroup({layout: pipe.getBindGroupLayout(0), entries: [{binding: 0, resource: {buffer: inB}}, {binding: 1, resource: {buffer: resB}}]});
  const enc = device.createCommandEncoder(); const p = enc.beginComputePass(); p.setPipeline(pipe); p.setBindGroup(0, bg); p.dispatchWorkgroups(1); p.end();
  enc.copyBufferToBuffer(resB, 0, rb, 0, 1024); device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  await rb.mapAsync(GPUMapMode.READ); const got = new Float32Array(rb.getMappedRange().slice(0)); rb.unmap();
  let bad = 0; for (let i = 0; i < 256; i++) if (got[i] !== C[i]) bad++;
  // transposed?
  let badT = 0; for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) if (got[i * 16 + j] !== C[j * 16 + i]) badT++;
  out({name, err: err?.message?.slice(0, 300), bad, badT, got: Array.from(got.slice(0, 8)), want: C.slice(0, 8)});
}
process.exit(0);
