/**
 * Which arithmetic runs a FlashAttention call on webgpu: the float32 register-tile kernel, or the
 * matrix-tile kernel on subgroup matrices or on their portable twin. Derived from the spec (precision,
 * FP8 mode), the device's features and the FLASH_ATTENTION_WEBGPU_MATRIX flag.
 */
import type {FlashAttentionSpec} from '../../../src/spec';
import type {DeviceFeatures} from '../device_features';
import {matrixChoice, WEBGPU_MATRIX_FLAG} from './matrix_flag';
import {MatrixTiles} from './matrix_tiles';
import {createPortableTiles} from './portable_tiles';
import {subgroupMatrixTiles} from './subgroup_matrix_tiles';

export type Float16Path = 'subgroup-matrix'|'portable'|'float32';

let warnedExperimental = false;

/**
 * What a float16 call takes on a device with these features (before asking whether its tiles fit).
 * 'auto' never takes the subgroup-matrix tiles: on the H200 (Dawn/Vulkan, 2026-12-01) their S = QKᵀ comes
 * out wrong inside the kernel although the same operations are exact in isolation (BENCHMARKS.md), so
 * they run only when forced, with a warning, until that is found.
 */
export function float16Path(features: DeviceFeatures): Float16Path {
  const choice = matrixChoice();
  if (choice === 'subgroup-matrix') {
    if (!features.matrixUnits) {
      throw new Error(`flashAttention (webgpu): ${WEBGPU_MATRIX_FLAG} is 'subgroup-matrix' but this device has no ` +
          `f16 subgroup matrices with 32-wide subgroups (see flashAttentionCapabilities(); registerWebGPUBackend asks for them)`);
    }
    if (!warnedExperimental) {
      warnedExperimental = true;
      console.warn(`flashAttention (webgpu): ${WEBGPU_MATRIX_FLAG}='subgroup-matrix' is experimental: its results ` +
          'were wrong on the H200 when last measured; use it to debug the tiles, not for results');
    }
    return choice;
  }
  return choice === 'portable' ? 'portable' : 'float32';
}

/** The matrix tiles a call runs on, or null for the float32 kernel. Full FP8 keeps its own arithmetic. */
export function matrixTilesFor(spec: FlashAttentionSpec, features: DeviceFeatures): MatrixTiles|null {
  if ((spec as {precision?: string}).precision !== 'float16' || spec.fp8Mode === 'full') return null;
  const path = float16Path(features);
  return path === 'subgroup-matrix' ? subgroupMatrixTiles : path === 'portable' ? createPortableTiles() : null;
}
