/**
 * The WebGPU launch plan (kernels/webgpu/launch_plan.ts) as a pure function of the spec and the device's
 * workgroup-memory limit: which tiles, how many key splits, how many workgroups. The case table checks the
 * results under every plan; these tests pin the decisions that make the plan fast and safe.
 */
import * as tf from '@tensorflow/tfjs-core';
import {expect} from 'chai';
import {planLaunch, SPLITS_FLAG} from '../kernels/webgpu/launch_plan';
import {workgroupBytes} from '../kernels/webgpu/tile_config';
import {MATRIX_TILES_FLAG, planMatrixLaunch} from '../kernels/webgpu/tiles/matrix_plan';
import {matrixWorkgroupBytes} from '../kernels/webgpu/tiles/matrix_workgroup';
import {GRAD_TILES_FLAG} from '../kernels/webgpu/backward/grad_tiles';
import {chooseMatrixGradShape, matrixGradBytes} from '../kernels/webgpu/backward/matrix_grad_shape';
import {createPortableTiles} from '../kernels/webgpu/tiles/portable_tiles';
import {subgroupMatrixTiles} from '../kernels/webgpu/tiles/subgroup_matrix_tiles';
import {Float16Tensor, toFloat16} from '../src/float16';
import {Fp8Tensor} from '../src/fp8';
import {FlashAttentionOptions, normalizeSpec} from '../src/normalize_spec';

const H100_BYTES = 49152;

/** The spec of a call with [B, S, H, D] inputs (bshd), without running it. */
function specOf(b: number, sq: number, sk: number, hq: number, hk: number, d: number, options: FlashAttentionOptions = {}) {
  const [q, k, v] = [tf.zeros([b, sq, hq, d]), tf.zeros([b, sk, hk, d]), tf.zeros([b, sk, hk, d])];
  try {
    return normalizeSpec(q, k, v, options).spec;
  } finally {
    tf.dispose([q, k, v]);
  }
}

export function defineLaunchPlanTests(): void {
  describe('webgpu launch plan', () => {
    afterEach(() => tf.env().set(SPLITS_FLAG, 0));

    it('decode packs a GQA group into one narrow block and splits the keys', () => {
      const plan = planLaunch(specOf(8, 1, 8192, 32, 8, 128), {maxComputeWorkgroupStorageSize: H100_BYTES});
      expect(plan.tiles.blockM, 'rows per block = the 4 query heads of a KV head').to.equal(4);
      expect(plan.numSplits).to.be.greaterThan(1);
      expect(plan.workgroups).to.equal(8 * 8 * plan.numSplits);
    });

    it('a long prefill whose grid fills the GPU is not split', () => {
      const plan = planLaunch(specOf(1, 16384, 16384, 8, 8, 64), {maxComputeWorkgroupStorageSize: H100_BYTES});
      expect(plan.numSplits).to.equal(1);
      expect(plan.tiles.blockM).to.equal(64);
    });

    it('never splits with pScale, even when forced (P is quantized against the running max)', () => {
      tf.env().set(SPLITS_FLAG, 4);
      const fp8 = (s: number) => new Fp8Tensor(tf.zeros([1, s, 4, 16], 'int32'), [1, s, 4, 64], 'e4m3fn', 1);
      const [q, k, v] = [fp8(1), fp8(4096), fp8(4096)];
      const spec = normalizeSpec(q, k, v, {pScale: 200}).spec;
      [q, k, v].forEach(t => t.dispose());
      expect(spec.pScale).to.equal(200);
      expect(planLaunch(spec, {maxComputeWorkgroupStorageSize: H100_BYTES}).numSplits).to.equal(1);
    });

    it('a forced split count is capped by the key blocks there are', () => {
      tf.env().set(SPLITS_FLAG, 64);
      const plan = planLaunch(specOf(1, 1, 70, 2, 2, 32), {maxComputeWorkgroupStorageSize: H100_BYTES});
      expect(plan.numSplits).to.equal(Math.ceil(70 / plan.tiles.blockN));
    });

    it('tiles fit the device limit given (decode falls back to smaller tiles), or the error names it', () => {
      for (const limit of [16384, 32768, H100_BYTES]) {
        for (const d of [8, 60, 64, 80, 128, 256]) {
          for (const sq of [1, 512]) {
            let plan;
            try {
              plan = planLaunch(specOf(1, sq, 512, 2, 2, d), {maxComputeWorkgroupStorageSize: limit});
            } catch (e) {
              expect((e as Error).message).to.include('maxComputeWorkgroupStorageSize');
              expect(d, 'only D = 256 may not fit the smallest device').to.equal(256);
              continue;
            }
            expect(workgroupBytes(plan.tiles), `D=${d} Sq=${sq} at ${limit} bytes`).to.be.at.most(limit);
          }
        }
      }
    });

    it('FP8 and float16 K/V take 16-byte reads where D allows; mixed storages and odd D take word reads', () => {
      const fp8 = (d: number) => new Fp8Tensor(tf.zeros([1, 64, 2, Math.ceil(d / 4)], 'int32'), [1, 64, 2, d], 'e4m3fn', 1);
      const unitOf = (k: tf.Tensor|Fp8Tensor|Float16Tensor, v: tf.Tensor|Fp8Tensor|Float16Tensor, d: number) => {
        const q = tf.zeros([1, 1, 2, d]);
        const spec = normalizeSpec(q, k, v).spec;
        [q, k, v].forEach(t => t.dispose());
        return planLaunch(spec, {maxComputeWorkgroupStorageSize: H100_BYTES}).kvUnit;
      };
      const half = (d: number) => toFloat16(tf.zeros([1, 64, 2, d]));
      expect(unitOf(fp8(128), fp8(128), 128), 'FP8 D128').to.equal(4);
      expect(unitOf(fp8(80), fp8(80), 80), 'FP8 D80').to.equal(4);
      expect(unitOf(fp8(60), fp8(60), 60), 'FP8 D60: 60 is no multiple of 16').to.equal(1);
      expect(unitOf(half(128), half(128), 128), 'float16 D128').to.equal(2);
      expect(unitOf(half(36), half(36), 36), 'float16 D36: no multiple of 8').to.equal(1);
      expect(unitOf(half(64), tf.zeros([1, 64, 2, 64]), 64), 'float16 k, float32 v').to.equal(1);
      expect(unitOf(tf.zeros([1, 64, 2, 64]), tf.zeros([1, 64, 2, 64]), 64), 'float32').to.equal(1);
    });
    describe('matrix tiles (the float16 forward)', () => {
      afterEach(() => tf.env().set(MATRIX_TILES_FLAG, ''));
      const limits = {maxComputeWorkgroupStorageSize: H100_BYTES};

      it('B1 H8 S4096 D64 takes 128-row blocks of four tile groups, unsplit (the H200 sweep\'s best)', () => {
        const plan = planMatrixLaunch(specOf(1, 4096, 4096, 8, 8, 64), limits, subgroupMatrixTiles)!;
        expect([plan.tiles.groups, plan.tiles.rowTiles, plan.tiles.keyTiles]).to.deep.equal([4, 2, 1]);
        expect(plan.numSplits).to.equal(1);
        expect(plan.workgroups).to.equal(32 * 8);
      });

      it('a causal call splits its keys at least two ways; a small grid takes smaller blocks first', () => {
        expect(planMatrixLaunch(specOf(1, 4096, 4096, 8, 8, 64, {causal: true}), limits, subgroupMatrixTiles)!.numSplits).to.equal(2);
        const small = planMatrixLaunch(specOf(1, 1024, 1024, 8, 8, 64), limits, subgroupMatrixTiles)!;
        expect(small.tiles.blockM, 'rows per block').to.be.lessThan(128);
        expect(small.numSplits).to.be.greaterThan(1);
      });

      it('every head size gets a shape within the limit on f16 tiles; the portable f32 tiles fit or decline', () => {
        for (const tiles of [subgroupMatrixTiles, createPortableTiles()]) {
          for (const d of [1, 16, 48, 64, 80, 96, 128, 160, 256]) {
            const plan = planMatrixLaunch(specOf(1, 300, 300, 4, 2, d), limits, tiles);
            if (tiles === subgroupMatrixTiles) expect(plan, `D${d} on f16 tiles`).to.not.equal(null);
            if (plan != null) expect(matrixWorkgroupBytes(plan.tiles, tiles), `D${d} ${tiles.kind}`).to.be.at.most(H100_BYTES);
          }
        }
      });

      it('a malformed forced shape throws naming the flag\'s format', () => {
        tf.env().set(MATRIX_TILES_FLAG, '4x3x1');
        expect(() => planMatrixLaunch(specOf(1, 64, 64, 1, 1, 64), limits, subgroupMatrixTiles)).to.throw(/GxRxK/);
      });
    });

    describe('matrix tiles (the float16 backward)', () => {
      afterEach(() => tf.env().set(GRAD_TILES_FLAG, ''));
      const SWIFTSHADER_BYTES = 32768;

      it('D64 on subgroup matrices: 128 resident rows, a 16-row streamed block, fragments in registers (the H200 sweep\'s best)', () => {
        for (const pass of ['dkdv', 'dq'] as const) {
          const s = chooseMatrixGradShape(pass, 64, H100_BYTES, subgroupMatrixTiles)!;
          expect([s.groups, s.streamTiles, s.residentInRegisters, s.readsAhead], pass).to.deep.equal([8, 1, true, true]);
        }
        // D128: the resident tiles in workgroup memory, and reads ahead would take 128 registers
        expect(chooseMatrixGradShape('dkdv', 128, H100_BYTES, subgroupMatrixTiles)!.readsAhead).to.equal(false);
      });

      it('every head size fits the limit or declines; fragments stay in registers only where they hold values and D <= 64', () => {
        for (const [tiles, limit] of [[subgroupMatrixTiles, H100_BYTES], [createPortableTiles(), SWIFTSHADER_BYTES]] as const) {
          for (const d of [1, 16, 48, 64, 80, 96, 128, 160, 256]) {
            for (const pass of ['dkdv', 'dq'] as const) {
              const s = chooseMatrixGradShape(pass, d, limit, tiles);
              if (tiles === subgroupMatrixTiles) expect(s, `D${d} ${pass} on f16 tiles`).to.not.equal(null);
              if (s == null) continue;
              expect(matrixGradBytes(s, tiles), `D${d} ${pass} ${tiles.kind}`).to.be.at.most(limit);
              expect(s.residentInRegisters, `D${d} ${pass} ${tiles.kind}`).to.equal(tiles.fragmentsHoldValues && d <= 64);
            }
          }
        }
      });

      it('the grad-tiles flag forces a shape that fits (per pass), and is passed over where it does not; the invocation limit holds', () => {
        tf.env().set(GRAD_TILES_FLAG, '64x32,32x16');
        const dkdv = chooseMatrixGradShape('dkdv', 64, H100_BYTES, subgroupMatrixTiles)!;
        const dq = chooseMatrixGradShape('dq', 64, H100_BYTES, subgroupMatrixTiles)!;
        expect([dkdv.groups, dkdv.streamTiles]).to.deep.equal([4, 2]);
        expect([dq.groups, dq.streamTiles]).to.deep.equal([2, 1]);
        tf.env().set(GRAD_TILES_FLAG, '512x512');
        expect(chooseMatrixGradShape('dq', 64, H100_BYTES, subgroupMatrixTiles)!.groups).to.equal(8);
        // 192x16u (384 invocations) fits 48 KiB at D16, so it is taken where 1024 invocations are allowed, not at 256
        tf.env().set(GRAD_TILES_FLAG, '192x16u');
        expect(chooseMatrixGradShape('dq', 16, H100_BYTES, subgroupMatrixTiles, 1024)!.threads).to.equal(384);
        expect(chooseMatrixGradShape('dq', 16, H100_BYTES, subgroupMatrixTiles, 256)!.threads).to.equal(256);
        tf.env().set(GRAD_TILES_FLAG, '');
        expect(chooseMatrixGradShape('dkdv', 64, H100_BYTES, subgroupMatrixTiles, 128)!.groups).to.equal(4);
      });
    });
  });
}
