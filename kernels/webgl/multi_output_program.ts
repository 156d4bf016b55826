/**
 * Runs a ProgramDef whose fragments write several textures at once (WebGL2 multiple render targets,
 * gl.drawBuffers): tfjs's runWebGLProgram binds one output texture, and its shader header declares
 * the single `outputColor`, so these programs are compiled and drawn here, through tfjs's own
 * GPGPUContext (its vertex shader, quad, framebuffer and texture units) and with outputs allocated
 * exactly as runWebGLProgram allocates a packed output. The compiled program lives in the backend's
 * binary cache (deleted with the backend).
 *
 * Why: a fragment that owns a 4×4 tile instead of a 2×2 texel fetches half as many texels per
 * multiply-add in the QKᵀ and P·V loops, and on a software rasterizer (SwiftShader) texel fetches,
 * not multiply-adds, are the cost (flash_attention_webgl.ts has the figures).
 *
 * The body reads its inputs with texelFetch (this folder's texel-addressed textures), declares
 * nothing itself, and ends with `setOutputs(o0, ..., oN-1)`. The NAN uniform is set as tfjs sets it.
 */
import type {GPGPUContext, MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';
import type {TensorInfo} from '@tensorflow/tfjs-core';
import {printIfDebug, ProgramDef, Uniform} from './webgl_program';

interface Binary {
  /** The name tfjs's backend dispose() deletes by. */
  webGLProgram: WebGLProgram&{vao: WebGLVertexArrayObject};
  samplers: (WebGLUniformLocation|null)[];
  uniforms: (WebGLUniformLocation|null)[];
  nan: WebGLUniformLocation|null;
}

function source(def: ProgramDef, outputs: number): string {
  const outs = Array.from({length: outputs}, (_, i) => i);
  return `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;
uniform float NAN;
${def.inputs.map(name => `uniform sampler2D ${name};`).join('\n')}
${def.uniforms.map(u => `uniform ${u.type} ${u.name};`).join('\n')}
${outs.map(i => `layout(location = ${i}) out vec4 faOutput${i};`).join('\n')}
void setOutputs(${outs.map(i => `vec4 o${i}`).join(', ')}) {
  ${outs.map(i => `faOutput${i} = o${i};`).join(' ')}
}
${def.body}`;
}

function compile(gpgpu: GPGPUContext, def: ProgramDef, outputs: number): Binary {
  const gl = gpgpu.gl as WebGL2RenderingContext;
  const text = source(def, outputs);
  const shader = gl.createShader(gl.FRAGMENT_SHADER)!;
  gl.shaderSource(shader, text);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
    const log = gl.getShaderInfoLog(shader);
    gl.deleteShader(shader);
    throw new Error(`flashAttention (webgl): the ${def.name} shader did not compile: ${log}`);
  }
  const webGLProgram = gpgpu.createProgram(shader) as Binary['webGLProgram'];
  gpgpu.buildVao(webGLProgram);
  const at = (name: string) => gl.getUniformLocation(webGLProgram, name);
  return {
    webGLProgram, nan: at('NAN'),
    samplers: def.inputs.map(at), uniforms: def.uniforms.map(u => at(u.name)),
  };
}

function setUniform(gl: WebGL2RenderingContext, at: WebGLUniformLocation|null, u: Uniform): void {
  if (at == null) return;  // optimized out
  const v = Array.isArray(u.value) ? u.value : [u.value];
  const ints = u.type.startsWith('i');
  switch (v.length) {
    case 1: ints ? gl.uniform1iv(at, v) : gl.uniform1fv(at, v); break;
    case 2: ints ? gl.uniform2iv(at, v) : gl.uniform2fv(at, v); break;
    case 3: ints ? gl.uniform3iv(at, v) : gl.uniform3fv(at, v); break;
    default: ints ? gl.uniform4iv(at, v) : gl.uniform4fv(at, v);
  }
}

/** Runs `def` writing `def.outputs` packed float32 textures of `def.outputShape`; returns them in order. */
export function runMultiOutputProgram(backend: MathBackendWebGL, def: ProgramDef, inputs: TensorInfo[]): TensorInfo[] {
  const outputs = def.outputs ?? 1;
  const fullKey = `${def.name}|${def.key}`;
  printIfDebug(fullKey, def.body);
  const gpgpu = backend.gpgpu, gl = gpgpu.gl as WebGL2RenderingContext;
  const cache = (backend as unknown as {binaryCache: Record<string, Binary>}).binaryCache;
  // Named like runProgram's userCode (first line: '// flash-attention webgl: <key>'), so tests see these too.
  const cacheKey = `// flash-attention webgl: ${fullKey} (${outputs} targets)\n${def.body}`;
  const binary = cache[cacheKey] ??= compile(gpgpu, def, outputs);

  const results = Array.from({length: outputs}, () => {
    const info = backend.makeTensorInfo(def.outputShape, 'float32');
    backend.texData.get(info.dataId).isPacked = true;
    backend.uploadToGPU(info.dataId);  // allocates the texture (no values to upload)
    return info;
  });
  const textures = results.map(r => backend.texData.get(r.dataId));
  const [rows, columns] = textures[0].texShape!;
  gpgpu.setOutputPackedMatrixTexture(textures[0].texture!.texture, rows, columns);
  for (let i = 1; i < outputs; i++) {
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + i, gl.TEXTURE_2D, textures[i].texture!.texture, 0);
  }
  gl.drawBuffers(results.map((_, i) => gl.COLOR_ATTACHMENT0 + i));
  try {
    gpgpu.setProgram(binary.webGLProgram);
    gpgpu.bindVertexArray(binary.webGLProgram.vao);
    if (binary.nan != null) gl.uniform1f(binary.nan, NaN);
    inputs.forEach((input, i) => {
      backend.uploadToGPU(input.dataId);
      gpgpu.setInputMatrixTexture(backend.texData.get(input.dataId).texture!.texture, binary.samplers[i]!, i);
    });
    def.uniforms.forEach((u, i) => setUniform(gl, binary.uniforms[i], u));
    gpgpu.executeProgram();
  } finally {
    // Leave the framebuffer as tfjs expects it: one color attachment, one draw buffer.
    for (let i = 1; i < outputs; i++) {
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + i, gl.TEXTURE_2D, null, 0);
    }
    gl.drawBuffers([gl.COLOR_ATTACHMENT0]);
  }
  return results;
}
