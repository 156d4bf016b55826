/**
 * Prep pass of the backward: one texel per row pair, (lse_r, lse_r+1, D_r, D_r+1) with
 *   lse in log2 units (lse · log2 e, as the block passes' scores), -inf past the sequence's end;
 *   D_i = rowsum(dO_i ∘ O_i) − dLse_i  (the softmax backward's row term; dLse only when given).
 * Reads the caller's O, dO, LSE and dLse through flat views (any layout, varlen through cuSeqlensQ).
 */
import {rowOriginGlsl, rowOriginUniforms} from '../pack_rows_program';
import type {FlashAttentionSpec} from '../../../src/spec';
import {layoutShape, outGeoUniform, OUTPUT_TEXEL_GLSL, TexelLayout} from '../texel_layout';
import type {ProgramDef} from '../webgl_program';

export function rowGradProgram(spec: FlashAttentionSpec, layout: TexelLayout, seqQPadded: number, hasDLse: boolean): ProgramDef {
  const inputs = ['o', 'dout', 'lse'];
  if (hasDLse) inputs.push('dLse');
  if (spec.varlen) inputs.push('cu');
  return {
    name: 'GradRowStats',
    key: `${spec.varlen ? 'varlen' : 'dense'}|dLse=${hasDLse}`,
    inputs, packedInputs: false, packedOutput: true, outputShape: layoutShape(layout),
    uniforms: [
      outGeoUniform(layout), ...rowOriginUniforms(seqQPadded, spec.numHeadsQ, spec.seqlenQ),
      {name: 'headDim', type: 'int', value: spec.headDim},
      {name: 'oStrides', type: 'ivec3', value: spec.oStrides},
      {name: 'lseStrides', type: 'ivec3', value: spec.lseStrides},
    ],
    body: `
${OUTPUT_TEXEL_GLSL}
${rowOriginGlsl(spec.varlen)}
void main() {
  ivec2 o = outputTexel();
  if (o.x < 0) { setOutput(vec4(0.0)); return; }
  RowOrigin origin = rowOrigin(2 * o.x);
  int b = origin.b, h = origin.h, i0 = origin.i, start = origin.start, len = origin.len;
  vec4 result = vec4(-FA_INF, -FA_INF, 0.0, 0.0);
  for (int c = 0; c < 2; c++) {
    int i = i0 + c;
    if (i >= len) continue;
    int at = (start + i) * lseStrides.y + b * lseStrides.x + h * lseStrides.z;
    int base = (start + i) * oStrides.y + b * oStrides.x + h * oStrides.z;
    float rowD = 0.0;
    for (int d = 0; d < headDim; d++) rowD += getDout(base + d) * getO(base + d);
    result[c] = getLse(at) * 1.4426950408889634;
    result[2 + c] = rowD${hasDLse ? ' - getDLse(at)' : ''};
  }
  setOutput(result);
}
`,
  };
}
