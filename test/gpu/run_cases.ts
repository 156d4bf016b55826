/**
 * The case table, the property test and the gradient cases on webgpu without mocha: the bundle that
 * runs on the real GPU (see scripts/pack_gpu_tests.sh). Prints one line per case, then
 * "webgpu: N passed, M failed" with the adapter's description; exits non-zero on any failure.
 */
import './setup_gpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import * as tf from '@tensorflow/tfjs-core';
import {activateBackend} from '../backends';
import {CASES} from '../cases';
import {checkFp8CodesThroughAttention, checkHalvesThroughAttention} from '../decoder_checks';
import {runGradCase, GRAD_CASES, SHARED_GRAD_CASES} from '../grad_suite';
import {runCase} from '../harness';
import {FORCED_SPLITS, WEBGPU_CASES, WEBGPU_LARGE_CASES} from '../webgpu_cases';
import {flashAttentionCapabilities, registerWebGPUBackend, WEBGPU_MATRIX_FLAG, WEBGPU_SPLITS_FLAG} from '../../src/index';
import {FLOAT16_CASES, FLOAT16_GRAD_BOUND, FLOAT16_GRAD_CASES_FULL} from '../precision_suite';
import {randomCase} from '../property';
import {makeRng, runSeed} from '../rng';

const seed = runSeed();
// A device with the features this package can use (shader-f16, subgroups, subgroup matrices where offered).
registerWebGPUBackend();
const reason = await activateBackend('webgpu');
if (reason != null) {
  console.log(`webgpu unavailable: ${reason}`);
  process.exit(1);
}
const adapter = await (navigator as unknown as {gpu: GPU}).gpu.requestAdapter();
const info = adapter?.info;
console.log(`adapter: ${info?.vendor} ${info?.architecture} ${info?.device} ${info?.description}; seed ${seed}`);
console.log(`capabilities: ${JSON.stringify(flashAttentionCapabilities())}`);
const rng = makeRng(`${seed}:property`);
const table = [...CASES, ...WEBGPU_CASES, ...WEBGPU_LARGE_CASES, ...Array.from({length: 24}, (_, i) => randomCase(rng, i))];
let passed = 0, failed = 0;

/**
 * A table twice, with the automatic launch plan and with split-KV forced on every case; `label` names the
 * arithmetic in each line's tag.
 */
/** FA_GPU_GREP=text runs only the cases whose names contain it (a re-check after a fix; the record runs all). */
const only = process.env.FA_GPU_GREP ?? '';
const picked = <T extends {name: string}>(cases: T[]) => cases.filter(c => c.name.includes(only));

async function runTable(all: typeof table, label: string): Promise<void> {
  const cases = picked(all);
  for (const splits of [0, FORCED_SPLITS]) {
    tf.env().set(WEBGPU_SPLITS_FLAG, splits);
    const parts = [label, splits > 0 ? `split-KV ${splits}` : ''].filter(x => x !== '');
    const tag = parts.length > 0 ? ` [${parts.join(', ')}]` : '';
    for (const c of cases) {
      try {
        const r = await runCase(c, seed);
        passed++;
        console.log(`  ok   ${c.name}${tag} (${r.checked} values, max |err| ${r.maxAbsErr.toExponential(1)})`);
      } catch (e) {
        failed++;
        console.log(`  FAIL${tag} ${(e as Error).message}`);
      }
    }
  }
  tf.env().set(WEBGPU_SPLITS_FLAG, 0);
}

/** The float16 gradient table (the backward on matrix tiles) against the oracle with its rounding points. */
async function runFloat16GradTable(label: string): Promise<void> {
  if (tf.getKernel('FlashAttentionGrad', 'webgpu') == null) return;
  for (const c of picked(FLOAT16_GRAD_CASES_FULL)) {
    try {
      await runGradCase(c, seed, FLOAT16_GRAD_BOUND);
      passed++;
      console.log(`  ok   ${c.name} [${label}]`);
    } catch (e) {
      failed++;
      console.log(`  FAIL [${label}] ${(e as Error).message}`);
    }
  }
}

// FA_GPU_PARTS=matrix runs only the subgroup-matrix part, FA_GPU_PARTS=float16-grad only the float16
// gradient table on both matrix paths (short device sessions).
const onlyMatrix = process.env.FA_GPU_PARTS === 'matrix' || process.env.FA_GPU_PARTS === 'float16-grad';
const forwardTables = process.env.FA_GPU_PARTS !== 'float16-grad';
if (!onlyMatrix) {
  await runTable(table, '');
  // precision 'float16' on the portable matrix tiles (the kernel logic of the matrix path on a real, parallel
  // GPU), under SPEC.md's float16 tolerance.
  tf.env().set(WEBGPU_MATRIX_FLAG, 'portable');
  await runTable(FLOAT16_CASES, 'portable tiles');
}
if (!onlyMatrix || !forwardTables) {
  tf.env().set(WEBGPU_MATRIX_FLAG, 'portable');
  await runFloat16GradTable('portable tiles');
}
// The float16 table on the subgroup-matrix tiles (the tensor cores), where the device has them, counted like the rest.
if (flashAttentionCapabilities().matrixUnits) {
  tf.env().set(WEBGPU_MATRIX_FLAG, 'subgroup-matrix');
  if (forwardTables) await runTable(FLOAT16_CASES, 'subgroup matrices');
  await runFloat16GradTable('subgroup matrices');
}
tf.env().set(WEBGPU_MATRIX_FLAG, 'auto');
if (!onlyMatrix && tf.getKernel('FlashAttentionGrad', 'webgpu') != null) {
  for (const c of picked([...GRAD_CASES, ...SHARED_GRAD_CASES])) {
    try {
      await runGradCase(c, seed);
      passed++;
      console.log(`  ok   ${c.name.startsWith('grad:') ? c.name : `grad: ${c.name}`}`);
    } catch (e) {
      failed++;
      console.log(`  FAIL ${(e as Error).message}`);
    }
  }
}
// The kernels' own FP8 and half decoders, every code through O (decoder_checks.ts: unpack2x16float's subnormals).
if (!onlyMatrix) {
  const checks: Array<[string, () => Promise<void>]> = [
    ...(['e4m3fn', 'e4m3fnuz'] as const).flatMap(f => [[4, 256], [29, 36]].map(([heads, d]) =>
        [`decoder: every FP8 ${f} code through O, ${heads} × D ${d}`, () => checkFp8CodesThroughAttention(f, heads, d)] as [string, () => Promise<void>])),
    ['decoder: every half through O, 256 × D 256', checkHalvesThroughAttention],
  ];
  for (const [name, check] of checks.filter(([name]) => name.includes(only))) {
    try {
      await check();
      passed++;
      console.log(`  ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`  FAIL ${name}: ${(e as Error).message}`);
    }
  }
}
console.log(`webgpu: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
