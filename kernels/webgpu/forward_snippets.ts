/**
 * WGSL snippets shared by the two FlashAttention forward generators: the float32 register-tile kernel
 * (flash_attention_program.ts) and the matrix-tile kernel (tiles/matrix_attention_program.ts): how rows
 * are read and decoded, descales, the one score modifier, FP8 codecs and decode tables, the staged K/V
 * reads and the workgroup's block description.
 */
import {FlashAttentionSpec, Fp8Format} from '../../src/spec';
import {fp8CodecSnippet} from './fp8_wgsl';
import {inputFormats} from './launch_plan';
import {stageBlock} from './staging';


/**
 * Reading elements d..d+3 of the row at \`base\` of tensor X, 0 past D, in two steps so that a block's
 * device reads can all be in flight before any of them is used (stageRows):
 *   loadRaw_X(base, d) -> Raw_X     the device read: a vec4 (float32; one load when X is bound as
 *                                   array<vec4<f32>>, D % 4 == 0) or one FP8 word of 4 codes, bytes past
 *                                   D zeroed (code 0 is +0 in both formats)
 *   decodeRaw_X(raw) -> vec4<f32>   the values (FP8 codes decoded)
 *   loadRow_X(base, d)              both at once
 */
export function rowLoader(name: string, format: Fp8Format|null, vec4Rows: boolean): string {
  const raw = format == null && vec4Rows ? `
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
  const type = format == null ? 'vec4<f32>' : 'u32';
  const decode = format == null ? 'raw' : `fp8DecodeWordLut_${format}(raw)`;
  return `
alias Raw_${name} = ${type};
fn loadRaw_${name}(base : i32, d : i32) -> Raw_${name} {${raw}
}
fn decodeRaw_${name}(raw : Raw_${name}) -> vec4<f32> { return ${decode}; }
fn loadRow_${name}(base : i32, d : i32) -> vec4<f32> { return decodeRaw_${name}(loadRaw_${name}(base, d)); }`;
}

/** descale_X(head): per-head tensor, else the scalar uniform (1 when X is float32). */
export function descale(name: 'q'|'k'|'v', spec: FlashAttentionSpec): string {
  const perHead = spec[`${name}DescaleKind`] === 'perHead';
  const read = perHead ? `bitcast<f32>(sideInputs[uniforms.${name}DescaleOffset + head])` : `uniforms.${name}Descale`;
  return `fn descale_${name}(head : i32) -> f32 { return ${read}; }`;
}

/** The one place where causal, sequence bounds, ALiBi and bias modify a score (log2 units). */
export function scoreModifier(spec: FlashAttentionSpec): string {
  const bias = spec.bias === 'matrix' ?
      `s = s + LOG2E * bias[ctx.biasBase + i * uniforms.biasStrideI + j * uniforms.biasStrideJ];` : '';
  // ctx.slope is the ALiBi slope times log2(e).
  const alibi = spec.alibi !== 'none' ? `s = s - ctx.slope * f32(abs(i + ctx.diagonal - j));` : '';
  return `
struct ScoreContext { diagonal : i32, lenQ : i32, lenK : i32, slope : f32, biasBase : i32, }

fn scoreModifier(score : f32, i : i32, j : i32, ctx : ScoreContext, masked : bool) -> f32 {
  if (masked && (j >= ctx.lenK || i >= ctx.lenQ || (CAUSAL && j > i + ctx.diagonal))) {
    return -uniforms.INFINITY;
  }
  var s = score;
  ${bias}
  ${alibi}
  return s;
}`;
}

/** P as P·V sees it: through the FP8 grid (vLLM's quant_fp8(p, p_scale)) in full mode with pScale. */
export function pQuantizer(spec: FlashAttentionSpec): string {
  const body = spec.pScale > 0 ? `return fp8Decode_${spec.pFormat}(fp8Encode_${spec.pFormat}(p * uniforms.pScale));` : 'return p;';
  return `fn quantizeP(p : f32) -> f32 { ${body} }`;
}

export function codecs(spec: FlashAttentionSpec): string {
  const formats = new Set([spec.qFormat, spec.kFormat, spec.vFormat, spec.pScale > 0 ? spec.pFormat : null]);
  return [...formats].filter((f): f is Fp8Format => f != null).map(fp8CodecSnippet).join('\n');
}

/**
 * FP8 inputs are decoded through a 256-entry table per format in workgroup memory, filled once per
 * workgroup from fp8Decode (bit-exact by construction): per code a byte extract and one read instead of
 * ~10 ALU operations, in the K/V load of every key block (decode is bound by that load's instructions).
 */
export function decodeTables(spec: FlashAttentionSpec): string {
  return inputFormats(spec).map(f => `
var<workgroup> fp8Lut_${f} : array<f32, 256>;
fn fp8DecodeWordLut_${f}(word : u32) -> vec4<f32> {
  return vec4<f32>(fp8Lut_${f}[word & 0xffu], fp8Lut_${f}[(word >> 8u) & 0xffu],
                   fp8Lut_${f}[(word >> 16u) & 0xffu], fp8Lut_${f}[word >> 24u]);
}`).join('\n');
}

export function fillDecodeTables(spec: FlashAttentionSpec): string {
  const formats = inputFormats(spec);
  if (formats.length === 0) return '';
  return `
  // -- FP8 decode tables --
  for (var c = tid; c < 256; c += THREADS) {${formats.map(f => ` fp8Lut_${f}[c] = fp8Decode_${f}(u32(c));`).join('')} }
  workgroupBarrier();`;
}

/** Device reads of one K or V block (keys from 'first', raw FP8 words undecoded) into registers (staging.ts). */
export function stageRows(name: 'k'|'v', first: string): string {
  return stageBlock('KV_LOADS', 'BLOCK_N', `${first} + row < lenK`, [{
    staged: `staged${name.toUpperCase()}`, zero: `Raw_${name}()`,
    load: `loadRaw_${name}(${name}Base + (${first} + row) * uniforms.${name}StrideS, (idx % D4) * 4)`,
  }]);
}

/**
 * WGSL fn describeBlock(): (b, hk, m0, startQ, lenQ, startK, lenK, valid, split) of this workgroup, read
 * once by invocation 0. m0 is the first packed row. Splits vary fastest, so the key ranges of one block run
 * side by side; then the query block (last first, so long causal rows start early), the KV head, the batch.
 * Needs BLOCK_M and the main pass's uniforms.
 */
export function describeBlock(spec: FlashAttentionSpec): string {
  const seqBounds = spec.varlen ? `
    startQ = sideInputs[uniforms.cuSeqlensQOffset + b]; lenQ = sideInputs[uniforms.cuSeqlensQOffset + b + 1] - startQ;
    startK = sideInputs[uniforms.cuSeqlensKOffset + b]; lenK = sideInputs[uniforms.cuSeqlensKOffset + b + 1] - startK;` : '';
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
