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

/** What a float16 call takes on a device with these features (before asking whether its tiles fit). */
export function float16Path(features: DeviceFeatures): Float16Path {
  const choice = matrixChoice();
  if (choice === 'subgroup-matrix' && !features.matrixUnits) {
    throw new Error(`flashAttention (webgpu): ${WEBGPU_MATRIX_FLAG} is 'subgroup-matrix' but this device has no ` +
        `f16 subgroup matrices with 32-wide subgroups (see flashAttentionCapabilities(); registerWebGPUBackend asks for them)`);
  }
  if (choice !== 'auto') return choice;
  return features.matrixUnits ? 'subgroup-matrix' : 'float32';
}

/** The matrix tiles a call runs on, or null for the float32 kernel. Full FP8 keeps its own arithmetic. */
export function matrixTilesFor(spec: FlashAttentionSpec, features: DeviceFeatures): MatrixTiles|null {
  if ((spec as {precision?: string}).precision !== 'float16' || spec.fp8Mode === 'full') return null;
  const path = float16Path(features);
  return path === 'subgroup-matrix' ? subgroupMatrixTiles : path === 'portable' ? createPortableTiles() : null;
}
