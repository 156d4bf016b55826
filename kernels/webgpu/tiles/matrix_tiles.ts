/**
 * The matrix-tile interface of the float16 FlashAttention forward: the only place where the kernel meets
 * the GPU's matrix units. A "tile group" of 32 invocations (one subgroup on the devices that take the
 * matrix path) cooperatively owns 16×16 tiles:
 *   fragment(name, role, operand)  a 16×16 f16 operand read from workgroup memory (left: A, right: B);
 *                                  operand.colMajor reads it transposed (Kᵀ from a row-major K tile);
 *   mma(acc, left, right)          acc += A·B, f16 products accumulated in f32;
 *   storeAcc / loadAcc             the f32 accumulator to / from workgroup memory (row-major);
 *   toTile(x)                      an f32 value as the tile element (rounded to half).
 * Offsets and strides are compile-time constants (in elements); the tile arrays are indexed per group
 * (`sTile[sg]`), since subgroup-matrix loads need workgroup-uniform offsets.
 *
 * Two implementations with the same semantics: subgroup_matrix_tiles.ts (Dawn's
 * chromium_experimental_subgroup_matrix: the tensor cores) and portable_tiles.ts (plain WGSL, f32 tiles
 * holding half-rounded values), which runs where there are no matrix units so that CI tests the kernel.
 */
export type MatrixTilesKind = 'subgroup-matrix'|'portable';

/** A 16×16 operand in workgroup memory: `array` is a WGSL place expression (e.g. `kTile`, `pTile[sg]`). */
export interface Operand {
  readonly array: string;
  readonly offset: number;
  readonly stride: number;
  readonly colMajor: boolean;
}

export interface Fragment extends Operand {
  readonly name: string;
  readonly role: 'left'|'right';
}

export interface MatrixTiles {
  readonly kind: MatrixTilesKind;
  /** Directives the module must begin with. */
  readonly enables: string;
  /** WGSL element type of the tile arrays. */
  readonly tileType: 'f16'|'f32';
  /** Bytes of one tile element in workgroup memory. */
  readonly tileBytes: number;
  /**
   * Whether a fragment holds its values once made (registers: its workgroup memory may then be reused),
   * or reads its operand at each product (the portable twin: the operand must stay in place).
   */
  readonly fragmentsHoldValues: boolean;
  /** Helper functions the implementation needs (module scope). */
  readonly helpers: string;
  toTile(x: string): string;
  declareAcc(name: string): string;
  /** WGSL that makes the fragment available (may be empty), and the fragment to pass to mma. */
  fragment(name: string, role: 'left'|'right', operand: Operand): {code: string, fragment: Fragment};
  mma(acc: string, left: Fragment, right: Fragment): string;
  /**
   * WGSL for the value `x` of the tile-group lane `lane ^ mask` (a subgroup shuffle; the kernel's lane is
   * then the subgroup's invocation id), or null: the kernel exchanges through workgroup memory instead.
   */
  readonly shuffleXor: ((x: string, mask: number) => string)|null;
  storeAcc(acc: string, array: string, offset: number, stride: number): string;
  loadAcc(acc: string, array: string, offset: number, stride: number): string;
}

/** Invocations of a tile group, and the side of a tile. */
export const GROUP_SIZE = 32;
export const TILE = 16;
