/**
 * Runs a FlatProgram whose WGSL must begin with `enable` directives (f16, subgroup matrices), which tfjs's
 * program runner cannot emit: its generated source starts with its own declarations. This compiles the
 * module itself, with the same bindings and uniform layout tfjs's makeShader gives a flat program
 * (binding 0 the output, then the inputs, then `uniforms`: NAN, INFINITY, a shape and a stride per flat
 * tensor, then the program's fields), and records the dispatch through the backend's own recordAndSubmit,
 * so command batching, buffer lifetimes and tf.time / tf.profile GPU timestamps behave as for any tfjs
 * program. Pipelines are cached per device and key. `WEBGPU_PRINT_SHADER` prints them like tfjs's.
 */
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';
import {env, TensorInfo, util} from '@tensorflow/tfjs-core';
import type {FlatProgram} from './flat_program';

export interface EnabledProgram extends FlatProgram {
  readonly enables: string;
  /** main takes the subgroup_id and subgroup_invocation_id builtins as its second and third arguments. */
  readonly subgroupId?: boolean;
}

/** The parts of WebGPUBackend this runner uses that its typings keep private. */
interface BackendInternals {
  tensorMap: {get(id: object): {dtype: string, values?: unknown}};
  recordAndSubmit(program: unknown, output: TensorInfo, inputs: TensorInfo[], uniforms: unknown): void;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function wgslType(dtype: string, components: number): string {
  const scalar = dtype === 'int32' ? 'i32' : dtype === 'bool' ? 'i32' : 'f32';
  return components === 4 ? `vec4<${scalar}>` : scalar;
}

/** The whole module: directives, tfjs's uniform struct and bindings for flat tensors, the program, `_start`. */
export function enabledSource(program: EnabledProgram, inputDtypes: string[]): string {
  const names = program.variableNames;
  const shapeFields = [...names, 'out'].map(n => `${n}Shape : i32, ${n}ShapeStrides : i32,`).join(' ');
  const bindings = names.map((n, i) =>
      `@group(0) @binding(${i + 1}) var<storage, read> ${n} : array<${wgslType(inputDtypes[i], program.variableComponents?.[i] ?? 1)}>;`);
  return `${program.enables}
struct Uniforms { NAN : f32, INFINITY : f32, ${shapeFields} ${program.uniforms} };
@group(0) @binding(0) var<storage, read_write> result : array<f32>;
${bindings.join('\n')}
@group(0) @binding(${names.length + 1}) var<uniform> uniforms : Uniforms;
var<private> localIndex : u32;
var<private> workgroupId : vec3<u32>;
var<private> numWorkgroups : vec3<u32>;
${program.getUserCode()}
@compute @workgroup_size(${program.workgroupSize[0]})
fn _start(@builtin(local_invocation_index) li : u32, @builtin(workgroup_id) wid : vec3<u32>,
          @builtin(num_workgroups) nwg : vec3<u32>${program.subgroupId ? ', @builtin(subgroup_id) sgid : u32, @builtin(subgroup_invocation_id) sgl : u32' : ''}) {
  localIndex = li;
  workgroupId = wid;
  numWorkgroups = nwg;
  main(0${program.subgroupId ? ', sgid, sgl' : ''});
}
`;
}

function pipelineFor(device: GPUDevice, program: EnabledProgram, inputDtypes: string[]): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (cache == null) pipelines.set(device, cache = new Map());
  const key = `${program.shaderKey}|${inputDtypes.join(',')}`;
  let pipeline = cache.get(key);
  if (pipeline == null) {
    const code = enabledSource(program, inputDtypes);
    const print = String(env().get('WEBGPU_PRINT_SHADER')).toLowerCase();
    if (print !== '' && (print === 'all' || print.split(',').some(item => key.toLowerCase().includes(item)))) {
      console.group(key);
      console.debug(code);
      console.groupEnd();
    }
    const module = device.createShaderModule({code, label: program.constructor.name});
    pipeline = device.createComputePipeline({layout: 'auto', compute: {module, entryPoint: '_start'}, label: program.constructor.name});
    cache.set(key, pipeline);
  }
  return pipeline;
}

/** As backend.runWebGPUProgram(program, inputs, 'float32', uniforms), for a program with directives. */
export function runEnabledProgram(
    backend: WebGPUBackend, program: EnabledProgram, inputs: TensorInfo[],
    uniforms: Array<{type: string, data: number[]}>): TensorInfo {
  const output = backend.makeTensorInfo(program.outputShape, 'float32');
  const internals = backend as unknown as BackendInternals;
  if (util.sizeFromShape(output.shape) === 0) {
    // As runWebGPUProgram: an empty result has (empty) values and no buffer.
    internals.tensorMap.get(output.dataId).values = new Float32Array(0);
    return output;
  }
  backend.uploadToGPU(output.dataId);
  inputs.forEach(t => backend.uploadToGPU(t.dataId));
  const dtypes = inputs.map(t => internals.tensorMap.get(t.dataId).dtype);
  (program as unknown as {pipeline: GPUComputePipeline}).pipeline = pipelineFor(backend.device, program, dtypes);
  internals.recordAndSubmit(program, output, inputs, uniforms);
  return output;
}
