/**
 * WGSL snippets shared by the two FlashAttention forward generators: the float32 register-tile kernel
 * (flash_attention_program.ts) and the matrix-tile kernel (tiles/matrix_attention_program.ts): how rows
 * are read and decoded, descales, the one score modifier, FP8 and half decoders, the staged K/V
 * reads and the workgroup's block description.
 */
import {FlashAttentionSpec, Fp8Format, hasWindow, Storage} from '../../src/spec';
import {fp8CodecSnippet, fp8WordDecoder} from './fp8_wgsl';
import {HALF_DECODE_WGSL} from './half_wgsl';
import {ReadLayout, stageBlock} from './staging';
import type {UniformField} from './uniforms';


/**
 * Reading the row at \`base\` of tensor X from element d on, 0 past D, in two steps so that a block's device
 * reads can all be in flight before any of them is used (stageRows). One read carries \`unit\` vec4 of values:
 *   unit 1   a vec4 (float32; one load when X is bound as array<vec4<f32>>, D % 4 == 0), two words of 4
 *            halves (float16; base and d / 2 in words) or one FP8 word of 4 codes; halves or bytes past D
 *            zeroed (+0 in every format)
 *   unit 2/4 16 bytes: a vec4<u32> of 8 halves or 16 FP8 codes, X bound as array<vec4<i32>> (kvUnit in
 *            launch_plan.ts: D a multiple of 4·unit, so a read never straddles D and rows start 16-byte
 *            aligned); the read a K/V block takes 4× (FP8) or 2× (halves) fewer load instructions with
 *   loadRaw_X(base, d) -> Raw_X             the device read (base in elements of X's binding words)
 *   decodeRaw_X(raw) -> array<vec4<f32>, unit>, or vec4<f32> at unit 1: the values
 *   loadRow_X(base, d) -> vec4<f32>         both at once (unit 1 only)
 */
export function rowLoader(name: string, format: Fp8Format|null, vec4Rows: boolean, storage: Storage = format ? 'fp8' : 'float32', unit = 1): string {
  if (unit > 1) return wideRowLoader(name, format, storage, unit);
  const raw = storage === 'float16' ? halfRowRead(name) : format == null && vec4Rows ? `
  if (d >= uniforms.headDim) { return vec4<f32>(0.0); }
  return ${name}[(base + d) / 4];` : format == null ? `
  var r = vec4<f32>(0.0);
  for (var e = 0; e < 4; e++) {
    if (d + e < uniforms.headDim) { r[e] = ${name}[base + d + e]; }
  }
  return r;` : `
  if (d >= uniforms.headDim) { return 0u; }
  let word = bitcast<u32>(${name}[base + d / 4]);
  let valid = uniforms.headDim - d;
  return select(word & ((1u << (8u * u32(valid))) - 1u), word, valid >= 4);`;
  const type = storage === 'float16' ? 'vec2<u32>' : format == null ? 'vec4<f32>' : 'u32';
  const decode = storage === 'float16' ? 'vec4<f32>(halfDecode2(raw.x), halfDecode2(raw.y))' :
      format == null ? 'raw' : `fp8DecodeWord_${format}(raw)`;
  return `
alias Raw_${name} = ${type};
fn loadRaw_${name}(base : i32, d : i32) -> Raw_${name} {${raw}
}
fn decodeRaw_${name}(raw : Raw_${name}) -> vec4<f32> { return ${decode}; }
fn loadRow_${name}(base : i32, d : i32) -> vec4<f32> { return decodeRaw_${name}(loadRaw_${name}(base, d)); }`;
}

/** The 16-byte reads of rowLoader (unit 2: halves, 4: FP8 codes); \`base\` is in words, a multiple of 4. */
function wideRowLoader(name: string, format: Fp8Format|null, storage: Storage, unit: number): string {
  const valuesPerWord = storage === 'float16' ? 2 : 4;
  const parts = Array.from({length: unit}, (_, i) => storage === 'float16' ?
      `vec4<f32>(halfDecode2(raw[${2 * i}]), halfDecode2(raw[${2 * i + 1}]))` : `fp8DecodeWord_${format}(raw[${i}])`);
  return `
alias Raw_${name} = vec4<u32>;
fn loadRaw_${name}(base : i32, d : i32) -> Raw_${name} {
  if (d >= uniforms.headDim) { return vec4<u32>(0u); }
  return bitcast<vec4<u32>>(${name}[(base + d / ${valuesPerWord}) / 4]);
}
fn decodeRaw_${name}(raw : Raw_${name}) -> array<vec4<f32>, ${unit}> {
  return array<vec4<f32>, ${unit}>(${parts.join(', ')});
}`;
}

/** The float16 read of elements d..d+3: words (base + d / 2) and the next, halves past D masked to +0. */
function halfRowRead(name: string): string {
  return `
  var r = vec2<u32>(0u);
  let valid = uniforms.headDim - d;
  if (valid <= 0) { return r; }
  let w = base + d / 2;
  r.x = bitcast<u32>(${name}[w]);
  if (valid == 1) { r.x = r.x & 0xffffu; }
  if (valid > 2) { r.y = bitcast<u32>(${name}[w + 1]); }
  if (valid == 3) { r.y = r.y & 0xffffu; }
  return r;`;
}

/** descale_X(head): per-head tensor, else the scalar uniform (1 when X is float32). */
export function descale(name: 'q'|'k'|'v', spec: FlashAttentionSpec): string {
  const perHead = spec[`${name}DescaleKind`] === 'perHead';
  const read = perHead ? `bitcast<f32>(sideInputs[uniforms.${name}DescaleOffset + head])` : `uniforms.${name}Descale`;
  return `fn descale_${name}(head : i32) -> f32 { return ${read}; }`;
}

/**
 * The one place where causal, the sliding window, sequence bounds, the soft-cap, ALiBi and bias modify a
 * score (log2 units). The soft-cap comes first, on the scaled dot product: in log2 units
 * c·tanh(x / c) is c₂·tanh(x₂ / c₂) with c₂ = c·log2(e) (uniforms.softcapLog2).
 */
export function scoreModifier(spec: FlashAttentionSpec): string {
  const bias = spec.bias === 'matrix' ?
      `s = s + LOG2E * bias[ctx.biasBase + i * uniforms.biasStrideI + j * uniforms.biasStrideJ];` : '';
  // ctx.slope is the ALiBi slope times log2(e).
  const alibi = spec.alibi !== 'none' ? `s = s - ctx.slope * f32(abs(i + ctx.diagonal - j));` : '';
  const softcap = spec.softcap > 0 ? `s = uniforms.softcapLog2 * tanhOf(s / uniforms.softcapLog2);` : '';
  const window = hasWindow(spec) ? ' || j < firstVisibleKey(i, ctx.diagonal) || j >= visibleKeyEnd(i, ctx.diagonal, ctx.lenK)' : '';
  return `
struct ScoreContext { diagonal : i32, lenQ : i32, lenK : i32, slope : f32, biasBase : i32, }
${spec.softcap > 0 ? TANH_WGSL : ''}
fn scoreModifier(score : f32, i : i32, j : i32, ctx : ScoreContext, masked : bool) -> f32 {
  if (masked && (j >= ctx.lenK || i >= ctx.lenQ || (CAUSAL && j > i + ctx.diagonal)${window})) {
    return -uniforms.INFINITY;
  }
  var s = score;
  ${softcap}
  ${bias}
  ${alibi}
  return s;
}`;
}

/**
 * tanh from one exp2 of −2|x|, so it never overflows (a tanh built from exp(x) gives inf / inf = NaN past
 * |x| ≈ 44 on some drivers); NaN stays NaN. Absolute error a few 1e-8, far below the score's rounding.
 */
export const TANH_WGSL = `
fn tanhOf(x : f32) -> f32 {
  let t = exp2(-2.0 * LOG2E * abs(x));
  return sign(x) * (1.0 - t) / (1.0 + t);
}`;

/**
 * Keys query row i sees (SPEC.md): lo(i) = i + diagonal − windowLeft .. hi(i) = i + diagonal (causal) or
 * i + diagonal + windowRight, as [firstVisibleKey, visibleKeyEnd) clamped to [0, lenK); −1 = unbounded.
 * Needs CAUSAL. Both bounds rise with i, so a row block sees keys firstVisibleKey(first row) ..
 * visibleKeyEnd(last row), and a key block needs the mask only where it crosses one of them.
 */
export function visibleKeys(spec: FlashAttentionSpec): string {
  const window = hasWindow(spec);
  const first = window ? 'select(0, max(0, i + diagonal - uniforms.windowLeft), uniforms.windowLeft >= 0)' : '0';
  const right = window ? `select(lenK, clamp(i + diagonal + uniforms.windowRight + 1, 0, lenK), uniforms.windowRight >= 0)` : 'lenK';
  return `
fn firstVisibleKey(i : i32, diagonal : i32) -> i32 { return ${first}; }
fn visibleKeyEnd(i : i32, diagonal : i32, lenK : i32) -> i32 {
  if (CAUSAL) { return clamp(i + diagonal + 1, 0, lenK); }
  return ${right};
}
/** The first query row whose keys reach key j (hi(i) >= j), 0 when the right side is unbounded. */
fn firstRowReaching(j : i32, diagonal : i32) -> i32 {
  if (CAUSAL) { return max(0, j - diagonal); }
  return ${window ? 'select(0, max(0, j - diagonal - uniforms.windowRight), uniforms.windowRight >= 0)' : '0'};
}
/** One past the last query row whose keys start at or before key j (lo(i) <= j), within lenQ. */
fn rowEndReaching(j : i32, diagonal : i32, lenQ : i32) -> i32 {
  return ${window ? 'select(lenQ, clamp(j - diagonal + uniforms.windowLeft + 1, 0, lenQ), uniforms.windowLeft >= 0)' : 'lenQ'};
}
/** Whether key block n0 .. n0 + BLOCK_N - 1 holds a key that some row of iFirst .. iLast must not see. */
fn blockCrossesBounds(iFirst : i32, iLast : i32, n0 : i32, blockN : i32, diagonal : i32, lenK : i32) -> bool {
  return n0 < firstVisibleKey(iLast, diagonal) || n0 + blockN > visibleKeyEnd(iFirst, diagonal, lenK);
}`;
}

/**
 * WGSL statements: this workgroup's key range [kBegin, kEnd) for query rows iFirst .. iLast: the keys any
 * of them sees, from a BLOCK_N-aligned first block; split-KV: this split's share of those blocks
 * (a contiguous, possibly empty, run of whole key blocks).
 */
export function keyRange(split: boolean): string {
  return `
  var kEnd = visibleKeyEnd(iLast, diagonal, lenK);
  var kBegin = (firstVisibleKey(iFirst, diagonal) / BLOCK_N) * BLOCK_N;
  ${split ? `let perSplit = (max(0, kEnd - kBegin + BLOCK_N - 1) / BLOCK_N + uniforms.numSplits - 1) / uniforms.numSplits;
  kBegin = kBegin + split * perSplit * BLOCK_N;
  kEnd = min(kEnd, kBegin + perSplit * BLOCK_N);` : ''}`;
}

/**
 * The sink joins a finished row as one more key of score sink_h (log2 units) and no value: with
 * M = max(m, sink), the keys' acc and l are weighted by 2^(m − M) and l gains 2^(sink − M). WGSL statements
 * for the epilogue: declare keysWeight (1 without sinks) and update m and l in place. Split-KV: only split 0
 * takes the sink into its partial (\`onlyIf\`), so the merge sees it once, as a key of that split.
 */
export function absorbSink(spec: FlashAttentionSpec, m: string, l: string, h: string, onlyIf = 'true'): string {
  if (!spec.sinks) return 'let keysWeight = 1.0;';
  return `let sinkLog2 = select(-uniforms.INFINITY, LOG2E * bitcast<f32>(sideInputs[uniforms.sinksOffset + ${h}]), ${onlyIf});
    let mWithSink = max(${m}, sinkLog2);
    let sinkShift = select(mWithSink, 0.0, mWithSink == -uniforms.INFINITY);
    let keysWeight = exp2(${m} - sinkShift);
    ${l} = ${l} * keysWeight + exp2(sinkLog2 - sinkShift);
    ${m} = mWithSink;`;
}

/**
 * dropoutScale(b, h, i, j): Z_ij = keep / (1 − rate) of attention dropout, keep from the counter-based hash
 * of src/dropout.ts in the same u32 arithmetic (so cpu and every GPU kernel agree bit for bit); 1 without
 * dropout. Shared by both forwards and the backward passes (uniforms dropoutSeed, dropoutThreshold,
 * dropoutKeptScale).
 */
export function dropoutSnippet(spec: FlashAttentionSpec): string {
  if (spec.dropoutRate <= 0) return 'fn dropoutScale(b : i32, h : i32, i : i32, j : i32) -> f32 { return 1.0; }';
  return `
fn lowbias32(v : u32) -> u32 {
  var x = v;
  x ^= x >> 16u; x *= 0x7feb352du; x ^= x >> 15u; x *= 0x846ca68bu; x ^= x >> 16u;
  return x;
}
fn dropoutScale(b : i32, h : i32, i : i32, j : i32) -> f32 {
  let x = lowbias32(lowbias32(lowbias32(lowbias32(uniforms.dropoutSeed ^ u32(b)) ^ u32(h)) ^ u32(i)) ^ u32(j));
  return select(0.0, uniforms.dropoutKeptScale, x >= uniforms.dropoutThreshold);
}`;
}

/** The dropout uniforms (see dropoutSnippet), for every program that includes it. */
export function dropoutUniforms(spec: FlashAttentionSpec): UniformField[] {
  return [
    {name: 'dropoutSeed', type: 'u32', value: spec.dropoutSeed},
    {name: 'dropoutThreshold', type: 'u32', value: spec.dropoutThreshold},
    {name: 'dropoutKeptScale', type: 'f32', value: 1 / (1 - spec.dropoutRate)},
  ];
}

/** P as P·V sees it: through the FP8 grid (vLLM's quant_fp8(p, p_scale)) in full mode with pScale. */
export function pQuantizer(spec: FlashAttentionSpec): string {
  const body = spec.pScale > 0 ? `return fp8Decode_${spec.pFormat}(fp8Encode_${spec.pFormat}(p * uniforms.pScale));` : 'return p;';
  return `fn quantizeP(p : f32) -> f32 { ${body} }`;
}

/** The distinct FP8 formats of q, k and v. */
function inputFormats(spec: FlashAttentionSpec): Fp8Format[] {
  return [...new Set([spec.qFormat, spec.kFormat, spec.vFormat])].filter((f): f is Fp8Format => f != null);
}

/**
 * The decoders of the call's inputs (FP8 words per format, halves when any of q, k, v is a float16 tensor),
 * and full FP8's exact codec for P's grid (pQuantizer).
 */
export function codecs(spec: FlashAttentionSpec): string {
  const words = inputFormats(spec).map(fp8WordDecoder);
  const pGrid = spec.pScale > 0 && spec.pFormat != null ? [fp8CodecSnippet(spec.pFormat)] : [];
  const half = [spec.qStorage, spec.kStorage, spec.vStorage].includes('float16') ? [HALF_DECODE_WGSL] : [];
  return [...pGrid, ...words, ...half].join('\n');
}

/**
 * The K/V block's read layout in the float32 kernel: ROW_READS reads of KV_UNIT vec4 per key row (WGSL
 * constants of flash_attention_program.ts; plan.kvUnit).
 */
export function kvReadLayout(unit: number): ReadLayout {
  return {perRow: 'ROW_READS', unit};
}

/** Device reads of one K or V block (keys from 'first', raw FP8 words undecoded) into registers (staging.ts). */
export function stageRows(name: 'k'|'v', first: string, unit: number): string {
  return stageBlock('KV_LOADS', 'BLOCK_N', `${first} + row < lenK`, [{
    staged: `staged${name.toUpperCase()}`, zero: `Raw_${name}()`,
    load: `loadRaw_${name}(${name}Base + (${first} + row) * uniforms.${name}StrideS, (idx % ROW_READS) * ${4 * unit})`,
  }], kvReadLayout(unit));
}

/**
 * A padded KV cache: WGSL for sequence b's valid key count from the expression that reads cacheSeqlens[b]
 * (its own binding or the packed side inputs), clamped to the capacity Sk: a GPU-resident lengths tensor is
 * never read back, so never validated, and an out-of-range length must not read past the cache.
 */
export function cacheLength(read: string): string {
  return `clamp(${read}, 0, uniforms.seqlenK)`;
}

/**
 * Both forwards' main() after blockInfo holds describeBlock(): the block's batch, KV head, first packed row
 * and sequence bounds, the packed row count (GQA: G query heads per KV head are rows of one block, so K and
 * V are read once for all of them), and the return of a workgroup with no rows (rows past maxSeqlenQ are
 * never computed: they have no partial record and no row block).
 */
export const BLOCK_PROLOGUE = `
  let info = workgroupUniformLoad(&blockInfo);
  let b = info[0]; let hk = info[1]; let m0 = info[2];
  let startQ = info[3]; let lenQ = info[4]; let startK = info[5]; let lenK = info[6]; let split = info[8];
  let G = uniforms.groupSize;
  let packedRows = min(lenQ, uniforms.seqlenQ) * G;
  if (info[7] == 0 || m0 >= packedRows) { return; }`;

/**
 * WGSL fn describeBlock(): (b, hk, m0, startQ, lenQ, startK, lenK, valid, split) of this workgroup, read
 * once by invocation 0. m0 is the first packed row. Splits vary fastest, so the key ranges of one block run
 * side by side; then the query block (last first, so long causal rows start early), the KV head, the batch.
 * Needs BLOCK_M and the main pass's uniforms.
 */
export function describeBlock(spec: FlashAttentionSpec): string {
  const seqBounds = spec.varlen ? `
    startQ = sideInputs[uniforms.cuSeqlensQOffset + b]; lenQ = sideInputs[uniforms.cuSeqlensQOffset + b + 1] - startQ;
    startK = sideInputs[uniforms.cuSeqlensKOffset + b]; lenK = sideInputs[uniforms.cuSeqlensKOffset + b + 1] - startK;` :
      spec.cacheSeqlens ? `
    lenK = ${cacheLength('sideInputs[uniforms.cacheSeqlensOffset + b]')};` : '';
  return `
fn describeBlock() -> array<i32, 9> {
  let flat = i32(workgroupId.x + numWorkgroups.x * (workgroupId.y + numWorkgroups.y * workgroupId.z));
  // The grid counts KV heads (GQA packing); spreadDispatch may launch a few more workgroups than it.
  let total = uniforms.queryBlocks * (uniforms.numHeadsQ / uniforms.groupSize) * uniforms.batch * uniforms.numSplits;
  if (flat >= total) { return array<i32, 9>(0, 0, 0, 0, 0, 0, 0, 0, 0); }
  let split = flat % uniforms.numSplits;
  var rest = flat / uniforms.numSplits;
  let mb = uniforms.queryBlocks - 1 - rest % uniforms.queryBlocks;
  rest = rest / uniforms.queryBlocks;
  let numHeadsK = uniforms.numHeadsQ / uniforms.groupSize;
  let hk = rest % numHeadsK;
  let b = rest / numHeadsK;
  var startQ = 0; var lenQ = uniforms.seqlenQ;
  var startK = 0; var lenK = uniforms.seqlenK;${seqBounds}
  return array<i32, 9>(b, hk, mb * BLOCK_M, startQ, lenQ, startK, lenK, 1, split);
}
`;
}
