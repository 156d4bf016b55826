/**
 * Packs the FlashAttention program's small side inputs (ALiBi slopes, sinks, cuSeqlens or cacheSeqlens, per-head descales)
 * into one int32 buffer (floats as their bits), so the main program binds at most q, k, v, bias, this
 * buffer and its output: 6 storage buffers, within WebGPU's default maxStorageBuffersPerShaderStage
 * of 8 (which tfjs does not raise) even when every feature is on.
 * Geometry: flat, 64 invocations per workgroup, one per packed word.
 */
import type {DataType} from '@tensorflow/tfjs-core';
import {FlatProgram, perElementDispatch} from './flat_program';
import {UniformField} from './uniforms';

/** Side inputs in packing order. */
export const SIDE_INPUTS = ['alibiSlopes', 'sinks', 'cuSeqlensQ', 'cuSeqlensK', 'cacheSeqlens', 'qDescale', 'kDescale', 'vDescale'] as const;
export type SideInput = typeof SIDE_INPUTS[number];

const WORKGROUP = 64;

/** `<name>Offset` of every side input in the packed buffer (0 for absent ones), in SIDE_INPUTS order. */
export function sideOffsetUniforms(offsets: Partial<Record<SideInput, number>>): UniformField[] {
  return SIDE_INPUTS.map(name => ({name: `${name}Offset`, type: 'i32' as const, value: offsets[name] ?? 0}));
}

export class SideInputsProgram extends FlatProgram {
  constructor(private readonly present: Array<{name: SideInput, dtype: DataType}>, total: number) {
    super({
      variableNames: present.map(p => p.name), outputSize: total,
      shaderKey: `flashAttentionSideInputs_${present.map(p => `${p.name}:${p.dtype}`).join(',')}`,
      dispatch: perElementDispatch(total, WORKGROUP), workgroupSize: WORKGROUP, uniforms: sideOffsetUniforms({}), size: true,
    });
  }

  getUserCode(): string {
    // Segments are stored in SIDE_INPUTS order, so the last segment starting at or before `index` holds it.
    const picks = [...this.present].reverse().map(({name, dtype}) => {
      const value = dtype === 'int32' ? `${name}[i]` : `bitcast<i32>(${name}[i])`;
      return `if (index >= uniforms.${name}Offset) { let i = index - uniforms.${name}Offset; result[index] = ${value}; return; }`;
    });
    return `
fn main(index : i32) {
  if (index >= uniforms.size) { return; }
  ${picks.join('\n  ')}
}
`;
  }
}
