/**
 * How every program of this folder is declared and run. A program is one GLSL body plus the list of
 * its uniforms: each uniform is declared once as {name, type, value}, and both the GLSL declaration
 * (through tfjs's customUniforms) and the value array handed to runWebGLProgram come from that list.
 *
 * The body is a pure function of the program's compile-time key (the part of kernelKey(spec) that
 * the program reads, plus its own switches); its first line names the key. tfjs caches compiled
 * binaries by userCode, and `enableShapeUniforms` keeps concrete shapes out of that cache key, so
 * a call with new sizes reuses every compiled program.
 *
 * Debug switch: `tf.env().set('FLASH_ATTENTION_WEBGL_DEBUG', true)` prints each generated shader
 * body once per key.
 */
import type {GPGPUProgram, MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';
import {DataType, env, TensorInfo} from '@tensorflow/tfjs-core';

export type UniformType = 'int'|'float'|'ivec2'|'ivec3'|'ivec4'|'vec2'|'vec3'|'vec4';

export interface Uniform {
  name: string;
  type: UniformType;
  value: number|number[];
}

export interface ProgramDef {
  /** Program name (first word of the cache key). */
  name: string;
  /** Compile-time switches the body depends on (the rest of the cache key). */
  key: string;
  /** Sampler names, in the order of the inputs passed to runProgram. */
  inputs: string[];
  /** true: inputs are this folder's texel-addressed textures (read with texelFetch); false: tfjs tensors. */
  packedInputs: boolean;
  /** true: the output is a texel-addressed texture of this folder (4 floats per fragment). */
  packedOutput: boolean;
  /**
   * Render targets (default 1). Above 1 the program runs through runMultiOutputProgram: every input is
   * a texel-addressed texture, every output one too, all of outputShape, written by setOutputs(...).
   */
  outputs?: number;
  outputShape: number[];
  uniforms: Uniform[];
  /** GLSL: helper functions and `void main()`. */
  body: string;
}

export const DEBUG_FLAG = 'FLASH_ATTENTION_WEBGL_DEBUG';
const printed = new Set<string>();

/** Registers the debug flag (once) so that `env().set(DEBUG_FLAG, true)` works before the first call. */
export function registerDebugFlag(): void {
  const registered = (env() as unknown as {flagRegistry: Record<string, unknown>}).flagRegistry;
  if (registered[DEBUG_FLAG] == null) env().registerFlag(DEBUG_FLAG, () => false);
}

function debugEnabled(): boolean {
  registerDebugFlag();
  return env().getBool(DEBUG_FLAG);
}

/** Prints a generated shader body once per key when the debug flag is on. */
export function printIfDebug(fullKey: string, body: string): void {
  if (debugEnabled() && !printed.has(fullKey)) {
    printed.add(fullKey);
    console.log(`[${DEBUG_FLAG}] ${fullKey}\n${body}`);
  }
}

export function runProgram(
    backend: MathBackendWebGL, def: ProgramDef, inputs: TensorInfo[],
    dtype: DataType = 'float32'): TensorInfo {
  const fullKey = `${def.name}|${def.key}`;
  const userCode = `// flash-attention webgl: ${fullKey}\n${def.body}`;
  printIfDebug(fullKey, userCode);
  const program: GPGPUProgram = {
    variableNames: def.inputs,
    outputShape: def.outputShape,
    userCode,
    enableShapeUniforms: true,
    packedInputs: def.packedInputs,
    packedOutput: def.packedOutput,
    customUniforms: def.uniforms.map(({name, type}) => ({name, type})),
  };
  const values = def.uniforms.map(u => Array.isArray(u.value) ? u.value : [u.value]);
  return backend.runWebGLProgram(program, inputs, dtype, values, /* preventEagerUnpackingOfOutput */ true);
}

/**
 * What every program of this folder needs, checked before any draw: WebGL 2 (texelFetch, integer
 * arithmetic, multiple render targets) and float32 render textures (float16 ones would round sequence
 * lengths, indices stored as floats past 2048, and the unnormalized sums). Throws a clear error naming `op`.
 */
export function requireWebGL2Float32(op: string): void {
  if (env().getNumber('WEBGL_VERSION') < 2) {
    throw new Error(`${op}: needs WebGL 2 (texelFetch, integer arithmetic and multiple render targets ` +
                    `in shaders); this device runs tfjs on WebGL 1. Use the cpu or webgpu backend here.`);
  }
  if (!env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')) {
    throw new Error(`${op}: needs float32 render textures (WEBGL_RENDER_FLOAT32_ENABLED is false on this ` +
                    `device); float16 textures cannot hold the row statistics, indices and sums exactly. ` +
                    `Use the cpu or webgpu backend here.`);
  }
}
