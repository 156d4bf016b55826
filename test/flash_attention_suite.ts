/**
 * The whole suite for one backend: the case table against the oracle, the property test, precision
 * float16 (precision_suite.ts), the FP8 codecs, the API and every error. Entry points (test/node,
 * test/browser) call defineBackendSuite per backend; a backend that cannot run here is reported as
 * skipped with the reason.
 */
import * as tf from '@tensorflow/tfjs-core';
import {activateBackend} from './backends';
import {AttentionCase, CASES} from './cases';
import {defineApiTests} from './api_suite';
import {defineDropoutTests} from './dropout_suite';
import {defineWindowSkipTests} from './window_skip_suite';
import {defineErrorTests} from './errors_suite';
import {defineFloat16Tests} from './float16_suite';
import {defineFp8Tests} from './fp8_suite';
import {defineGradTests} from './grad_suite';
import {runCase} from './harness';
import {definePrecisionTests} from './precision_suite';
import {randomCase} from './property';
import {makeRng, runSeed} from './rng';

const PROPERTY_CASES = 24;

export function defineBackendSuite(backend: string, options: {otherBackend: string|null, extraCases?: AttentionCase[], extraTests?: (seed: string) => void}): void {
  describe(`flashAttention on ${backend}`, function() {
    this.timeout(120000);
    const seed = runSeed();
    let passed = 0, failed = 0;
    before(async function() {
      const reason = await activateBackend(backend);
      if (reason != null) {
        console.log(`    SKIPPED backend ${backend}: ${reason}`);
        this.skip();
      }
      console.log(`    backend ${backend}, seed ${seed} (FA_SEED=${seed} replays it)`);
    });
    beforeEach(async () => {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
    });
    afterEach(function() {
      if (this.currentTest?.state === 'passed') passed++;
      else if (this.currentTest?.state === 'failed') failed++;
    });
    after(() => {
      if (passed + failed > 0) console.log(`    ${backend}: ${passed} passed, ${failed} failed`);
    });

    describe('case table vs the float64 oracle', () => {
      for (const c of [...CASES, ...(options.extraCases ?? [])]) it(c.name, async () => void await runCase(c, seed));
    });
    describe(`property: ${PROPERTY_CASES} random valid configurations`, () => {
      const rng = makeRng(`${seed}:property`);
      for (let i = 0; i < PROPERTY_CASES; i++) {
        const c = randomCase(rng, i);
        it(`${c.name}: ${JSON.stringify(c)}`, async () => void await runCase(c, seed));
      }
    });
    definePrecisionTests(backend, seed);
    defineFp8Tests(seed);
    defineFloat16Tests(seed);
    defineDropoutTests(seed);
    if (backend === 'cpu') defineWindowSkipTests();
    if (tf.getKernel('FlashAttentionGrad', backend) != null) defineGradTests(seed);
    else describe('gradients', () => it(`skipped: no FlashAttentionGrad kernel for ${backend} yet`, function() { this.skip(); }));
    defineApiTests();
    options.extraTests?.(seed);
    defineErrorTests(options.otherBackend);
  });
}
