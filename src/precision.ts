/**
 * The precision option: its allowed values, and the tfjs env flag that gives the process-wide default
 * when a call does not pass `precision` (`tf.env().set('FLASH_ATTENTION_PRECISION', 'float16')`).
 */
import {env} from '@tensorflow/tfjs-core';
import type {Precision} from './spec';

export const PRECISION_FLAG = 'FLASH_ATTENTION_PRECISION';
export const PRECISIONS: readonly Precision[] = ['float32', 'float16'];
env().registerFlag(PRECISION_FLAG, () => 'float32');

const allowed = PRECISIONS.map(p => `'${p}'`).join(' or ');

/**
 * The precision of one call: the option when given, else the env flag. Anything else throws an Error
 * naming `precision` (or the flag) and the allowed values.
 */
export function resolvePrecision(option: unknown): Precision {
  if (option != null) {
    if (!PRECISIONS.includes(option as Precision)) {
      throw new Error(`flashAttention: precision must be ${allowed}, got ${describe(option)}`);
    }
    return option as Precision;
  }
  const flag = env().get(PRECISION_FLAG);
  if (!PRECISIONS.includes(flag as Precision)) {
    throw new Error(`flashAttention: the env flag ${PRECISION_FLAG} (the default precision) must be ${allowed}, got ${describe(flag)}`);
  }
  return flag as Precision;
}

function describe(x: unknown): string {
  return typeof x === 'string' ? `'${x}'` : String(x);
}
