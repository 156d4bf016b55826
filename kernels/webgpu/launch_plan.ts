/**
 * How one FlashAttention call is laid out on the device, derived from the spec and the device limits:
 * the tile shape, whether rows are read as vec4, and how many key splits (FlashDecoding) the call uses.
 * Everything here is compile-time for the WGSL except numSplits, which is a uniform; planKey() is the
 * part of the shader key that the plan contributes.
 *
 * Split-KV: when the grid of (query block, head, batch) workgroups is too small to fill the GPU (decode,
 * Sq = 1; short prefill), each workgroup's keys are cut into numSplits contiguous ranges of whole key
 * blocks. Each range runs the same online-softmax loop and writes an unnormalized partial (acc, m, l);
 * SplitMergeProgram combines them with the LSE rule  O = Σ_s 2^(m_s − M) acc_s / Σ_s 2^(m_s − M) l_s.
 */
import {env} from '@tensorflow/tfjs-core';
import type {FlashAttentionSpec} from '../../src/spec';
import {chooseTileConfig, halfHeight, TileConfig, tileKey} from './tile_config';

/** What the grid and the split count depend on, whichever arithmetic the tiles use. */
export interface BlockShape {
  blockM: number;
  blockN: number;
  threads: number;
  dPad: number;
}

export interface LaunchPlan<T extends BlockShape = TileConfig> {
  tiles: T;
  /** float32 rows are read as vec4 (headDim % 4 == 0, so every row starts on a vec4 boundary). */
  vec4Rows: boolean;
  /**
   * vec4 of K/V values one device read carries (the float32 kernel; rowLoader): 4 for FP8 K and V read as
   * 16 codes, 2 for float16 K and V as 8 halves, 1 otherwise (float32 vec4, or word reads where D is no
   * multiple of 4·unit). A packed K/V block then takes as few load instructions per byte as float32.
   */
  kvUnit: number;
  /** Key ranges per (query block, head, batch); 1 = no split, no merge pass. */
  numSplits: number;
  /** Workgroups of the main pass: row blocks × KV heads × batch × splits. */
  workgroups: number;
}

/** Workgroups that keep a large GPU busy (an H100 holds ~4 of ours on each of its 132 SMs). */
const TARGET_WORKGROUPS = 1024;
/** A split shorter than this many key blocks costs more in its merge record than it saves. */
const MIN_KEY_BLOCKS_PER_SPLIT = 4;
const MAX_SPLITS = 64;

/** Tuning overrides for benchmarks: 0 / '' = automatic. */
export const SPLITS_FLAG = 'FLASH_ATTENTION_WEBGPU_SPLITS';
export const TILES_FLAG = 'FLASH_ATTENTION_WEBGPU_TILES';
env().registerFlag(SPLITS_FLAG, () => 0);
env().registerFlag(TILES_FLAG, () => '');

/**
 * GQA packing: a block's rows are (query row, query head) pairs of one KV head, G = Hq / Hk heads per
 * query row, so each K/V block is read once per group instead of once per query head.
 */
export function packedRows(spec: FlashAttentionSpec): number {
  return spec.seqlenQ * spec.groupSize;
}

/** Row blocks per (batch, KV head): the launch grid's row extent (maxSeqlenQ for varlen). */
export function queryBlocks(spec: FlashAttentionSpec, tiles: BlockShape): number {
  return Math.ceil(packedRows(spec) / tiles.blockM);
}

/**
 * targetWorkgroups: the grid size that fills the GPU for this kernel (TARGET_WORKGROUPS by default);
 * minSplits: a floor the kernel asks for where the key range allows it.
 */
export function chooseSplits(
    spec: FlashAttentionSpec, tiles: BlockShape, gridWorkgroups: number, targetWorkgroups = TARGET_WORKGROUPS,
    minSplits = 1): number {
  // Full FP8 with pScale quantizes P relative to the running max of the keys seen so far (vLLM): a split
  // starting fresh would quantize its P against another max, so those calls never split.
  if (spec.pScale > 0) return 1;
  const forced = env().getNumber(SPLITS_FLAG);
  const keyBlocks = Math.ceil(spec.seqlenK / tiles.blockN);
  if (forced > 0) return Math.max(1, Math.min(forced, keyBlocks, MAX_SPLITS));
  if (gridWorkgroups === 0) return 1;
  const wanted = Math.max(Math.ceil(targetWorkgroups / gridWorkgroups), minSplits);
  const affordable = Math.floor(keyBlocks / MIN_KEY_BLOCKS_PER_SPLIT);
  return Math.max(1, Math.min(wanted, affordable, MAX_SPLITS));
}

export function planLaunch(spec: FlashAttentionSpec, limits: {maxComputeWorkgroupStorageSize: number}): LaunchPlan {
  const gridOf = (t: TileConfig) => gridWorkgroups(spec, t);
  const tileBytes = limits.maxComputeWorkgroupStorageSize;
  const forcedTiles = env().getString(TILES_FLAG);
  let tiles = chooseTileConfig(spec.headDim, packedRows(spec), tileBytes, forcedTiles);
  // A grid far too small to fill the GPU takes half-height row blocks before it takes key splits: on
  // the H100, S1024 H8 D64 runs 0.180 ms with 32-row blocks vs 0.220 ms with 64-row blocks split 8 ways.
  // Near the target, splits win overall (64-row blocks split 2 ways vs 32-row blocks, H8 S4096): causal
  // 1.21 vs 1.36 ms, D80 3.23 vs 4.62 ms, D96 3.08 vs 4.33 ms; only D64 non-causal loses (2.28 vs 2.21 ms).
  if (forcedTiles === '' && gridOf(tiles) < TARGET_WORKGROUPS / 2 && tiles.rm > 1) {
    tiles = halfHeight(tiles);
  }
  const grid = gridOf(tiles);
  const numSplits = chooseSplits(spec, tiles, grid);
  return {tiles, vec4Rows: spec.headDim % 4 === 0, kvUnit: kvReadUnit(spec, tiles), numSplits, workgroups: grid * numSplits};
}

/** plan.kvUnit: 16-byte reads where K and V share a packed storage and D (and the padded row) allow. */
export function kvReadUnit(spec: FlashAttentionSpec, tiles: BlockShape): number {
  if (spec.kStorage !== spec.vStorage) return 1;
  const unit = spec.kStorage === 'fp8' ? 4 : spec.kStorage === 'float16' ? 2 : 1;
  return spec.headDim % (4 * unit) === 0 && (tiles.dPad / 4) % unit === 0 ? unit : 1;
}

/** Workgroups of the main pass before splitting: row blocks × KV heads × batch. */
export function gridWorkgroups(spec: FlashAttentionSpec, tiles: BlockShape): number {
  return queryBlocks(spec, tiles) * (spec.numHeadsQ / spec.groupSize) * spec.batch;
}

export function planKey(plan: LaunchPlan): string {
  return `${tileKey(plan.tiles)}_${plan.vec4Rows ? 'v4' : 'v1'}_u${plan.kvUnit}_${plan.numSplits > 1 ? 'split' : 'whole'}`;
}
