/**
 * Which arithmetic a `precision: 'float16'` call takes on webgpu (a tfjs env flag, for tests and benchmarks):
 *   'auto'             subgroup matrices (the GPU's matrix units) when the device has them, else the float32
 *                      kernel (SPEC.md allows float32 for float16 calls where there are no matrix units);
 *   'portable'         the portable twin of the matrix tiles (plain WGSL, same tile semantics and rounding
 *                      points): what CI runs on software GPUs, which have no matrix units;
 *   'subgroup-matrix'  the matrix units or an error saying the device lacks them;
 *   'float32'          the float32 kernel.
 */
import {env} from '@tensorflow/tfjs-core';

export const WEBGPU_MATRIX_FLAG = 'FLASH_ATTENTION_WEBGPU_MATRIX';
export type MatrixChoice = 'auto'|'portable'|'subgroup-matrix'|'float32';
const CHOICES: readonly MatrixChoice[] = ['auto', 'portable', 'subgroup-matrix', 'float32'];
env().registerFlag(WEBGPU_MATRIX_FLAG, () => 'auto');

export function matrixChoice(): MatrixChoice {
  const value = env().getString(WEBGPU_MATRIX_FLAG) as MatrixChoice;
  if (!CHOICES.includes(value)) {
    throw new Error(`flashAttention: the env flag ${WEBGPU_MATRIX_FLAG} must be one of ${CHOICES.join(', ')}, got '${value}'`);
  }
  return value;
}
