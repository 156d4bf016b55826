/**
 * Uniforms declared once. A program lists its fields (name, WGSL type, value) in one array; the WGSL
 * struct members and the data array tfjs uploads are both generated from that list, so the two can
 * never drift apart. Values are read per call, so a new shape reuses the compiled pipeline.
 */
export type WgslScalar = 'i32'|'u32'|'f32';

export interface UniformField {
  readonly name: string;
  readonly type: WgslScalar;
  readonly value: number;
}

const tfjsType: Record<WgslScalar, string> = {i32: 'int32', u32: 'uint32', f32: 'float32'};

/** Members appended to tfjs's `struct Uniforms { ... }` (program.uniforms); read as uniforms.<name>. */
export function uniformDeclaration(fields: readonly UniformField[]): string {
  return fields.map(f => `${f.name} : ${f.type},`).join(' ');
}

/** The matching data, in the same order (the programDefinedUniform of runWebGPUProgram). */
export function uniformData(fields: readonly UniformField[]): Array<{type: string, data: number[]}> {
  return fields.map(f => ({type: tfjsType[f.type], data: [f.value]}));
}
