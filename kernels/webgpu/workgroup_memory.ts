/**
 * A kernel's workgroup memory as one list of variables that both declares them (WGSL) and counts their bytes
 * (the launch plan's fit test), so the two cannot drift apart. Each variable's element count is written in
 * the shader's own constants for the declaration and evaluated from the tile shape for the count.
 */

export interface WorkgroupVariable {
  name: string;
  /** WGSL type of one element, and its bytes. */
  element: string;
  elementBytes: number;
  /** Element count: as WGSL constants, and its value. */
  count: string;
  value: number;
  /** One array per tile group (array<array<element, count>, GROUPS>; matrix tiles only). */
  perGroup?: boolean;
}

export function workgroupVariable(
    name: string, element: string, elementBytes: number, count: string, value: number, perGroup = false): WorkgroupVariable {
  return {name, element, elementBytes, count, value, perGroup};
}

export function workgroupDeclarations(list: WorkgroupVariable[]): string {
  return list.map(v => v.perGroup ?
      `var<workgroup> ${v.name} : array<array<${v.element}, ${v.count}>, GROUPS>;` :
      `var<workgroup> ${v.name} : array<${v.element}, ${v.count}>;`).join('\n');
}

/** Bytes of the variables, each rounded up to 16 as WGSL's workgroup storage limit counts them. */
export function workgroupBytesOf(list: WorkgroupVariable[], groups = 1): number {
  const roundUp16 = (bytes: number) => Math.ceil(bytes / 16) * 16;
  return list.reduce((sum, v) => sum + roundUp16(v.value * v.elementBytes * (v.perGroup ? groups : 1)), 0);
}
