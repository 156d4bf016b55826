/**
 * The layer's constructor arguments (Keras 3's keras.layers.MultiHeadAttention names in camelCase, plus
 * numKeyValueHeads from keras.layers.GroupedQueryAttention), their defaults and their checks. Unknown names
 * throw, naming the closest known one: a misspelt `numHead` must not silently become a default.
 */
import type {layers} from '@tensorflow/tfjs-layers';
import type {FlashAttentionOptions} from '../index';
import {rejectUnknownKeys} from '../closest_name';
import {Initializer, InitializerLike, resolveInitializer} from './initializer';

/** tfjs-layers' own layer arguments (name, trainable, inputShape, dtype, …). */
export type BaseLayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;
const BASE_KEYS = ['name', 'trainable', 'inputShape', 'batchInputShape', 'batchSize', 'dtype', 'weights', 'inputDType'];

export interface MultiHeadAttentionArgs extends BaseLayerArgs {
  /** Number of query heads. */
  numHeads: number;
  /** Size of each query and key head (1..256). */
  keyDim: number;
  /** Size of each value head; default keyDim. */
  valueDim?: number|null;
  /** Number of key/value heads (GQA; 1 is MQA); must divide numHeads. Default numHeads. */
  numKeyValueHeads?: number|null;
  /** Biases on the four projections; default true. */
  useBias?: boolean;
  /** The last dimension(s) of the output; default the query's last dimension. */
  outputShape?: number|number[]|null;
  /** Default 'glorotUniform'. */
  kernelInitializer?: InitializerLike;
  /** Default 'zeros'. */
  biasInitializer?: InitializerLike;
  /**
   * Attention-probability dropout rate in [0, 1) (Keras's `dropout`): in training calls the layer passes
   * flashAttention's `dropout: {rate, seed}`, with a fresh seed each call; inference calls drop nothing.
   */
  dropout?: number;
  /** Integer seed of the dropout masks (Keras's `seed`): call n of the layer uses seed + 2n (and + 1). Default: random. */
  seed?: number|null;
  /** flashAttention's `precision` ('float32' | 'float16' products); default: the op's default (its env flag). */
  precision?: FlashAttentionOptions['precision']|null;
}

const OWN_KEYS = ['numHeads', 'keyDim', 'valueDim', 'numKeyValueHeads', 'useBias', 'outputShape', 'kernelInitializer',
                  'biasInitializer', 'dropout', 'seed', 'precision'];
export const KNOWN_ARGS = [...OWN_KEYS, ...BASE_KEYS];

export interface ResolvedArgs {
  numHeads: number;
  keyDim: number;
  valueDim: number;
  numKeyValueHeads: number;
  useBias: boolean;
  /** null: the query's last dimension. */
  outputShape: number[]|null;
  kernelInitializer: Initializer;
  biasInitializer: Initializer;
  dropout: number;
  /** The dropout masks' base seed; null: drawn at random when the layer is made. */
  seed: number|null;
  /** null: the op's default. */
  precision: FlashAttentionOptions['precision']|null;
}

const isPositiveInt = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1;

function fail(message: string): never {
  throw new Error(`MultiHeadAttention: ${message}`);
}

export function resolveArgs(args: MultiHeadAttentionArgs): ResolvedArgs {
  if (args == null || typeof args !== 'object') fail('expects an arguments object such as {numHeads: 4, keyDim: 16}');
  rejectUnknownKeys('MultiHeadAttention', args, KNOWN_ARGS);
  const {numHeads, keyDim} = args;
  if (!isPositiveInt(numHeads)) fail(`numHeads must be a positive integer, got ${numHeads}`);
  if (!isPositiveInt(keyDim) || keyDim > 256) fail(`keyDim must be an integer in 1..256 (flashAttention's head sizes), got ${keyDim}`);
  const valueDim = args.valueDim ?? keyDim;
  if (!isPositiveInt(valueDim) || valueDim > 256) fail(`valueDim must be an integer in 1..256, got ${valueDim}`);
  const numKeyValueHeads = args.numKeyValueHeads ?? numHeads;
  if (!isPositiveInt(numKeyValueHeads) || numHeads % numKeyValueHeads !== 0) {
    fail(`numKeyValueHeads must be a positive integer dividing numHeads = ${numHeads}, got ${numKeyValueHeads}`);
  }
  const useBias = args.useBias ?? true;
  if (typeof useBias !== 'boolean') fail(`useBias must be a boolean, got ${JSON.stringify(useBias)}`);
  const outputShape = args.outputShape == null ? null : Array.isArray(args.outputShape) ? args.outputShape : [args.outputShape];
  if (outputShape != null && (outputShape.length === 0 || !outputShape.every(isPositiveInt))) {
    fail(`outputShape must be a positive integer or an array of them, got ${JSON.stringify(args.outputShape)}`);
  }
  const dropout = args.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) fail(`dropout must be a rate in [0, 1), got ${dropout}`);
  const seed = args.seed ?? null;
  if (seed != null && !Number.isSafeInteger(seed)) fail(`seed must be an integer, got ${JSON.stringify(seed)}`);
  const precision = args.precision ?? null;
  if (precision != null && precision !== 'float32' && precision !== 'float16') {
    fail(`precision must be 'float32' or 'float16' (flashAttention's option), got ${JSON.stringify(precision)}`);
  }
  return {
    numHeads, keyDim, valueDim, numKeyValueHeads, useBias, outputShape, dropout, seed, precision,
    kernelInitializer: resolveInitializer('kernelInitializer', args.kernelInitializer ?? 'glorotUniform'),
    biasInitializer: resolveInitializer('biasInitializer', args.biasInitializer ?? 'zeros'),
  };
}
