/**
 * MultiHeadAttention: a tfjs-layers Layer (Keras 3's keras.layers.MultiHeadAttention, with GQA from
 * GroupedQueryAttention) whose attention is flashAttention, so no [B, H, Sq, Sk] score matrix is made.
 *
 * Inputs: [query, value] or [query, value, key], each [batch, seq, features] (key defaults to value);
 * in a model's graph each distinct tensor once, plus the mask (input_roles.ts says why).
 * Call options (layer.apply(inputs, {...})): useCausalMask, attentionMask (see attention_mask.ts).
 * Weights (Keras's shapes): query/kernel [Fq, Hq, keyDim], key/kernel [Fk, Hk, keyDim],
 * value/kernel [Fv, Hk, valueDim], attention_output/kernel [Hq, valueDim, ...out], each with a bias.
 */
import {serialization, Tensor, tidy} from '@tensorflow/tfjs-core';
import {layers, LayerVariable, SymbolicTensor} from '@tensorflow/tfjs-layers';
import {MultiHeadAttentionArgs, ResolvedArgs, resolveArgs} from './args';
import {attend} from './attend';
import {maskToBias} from './attention_mask';
import {rejectUnknownKeys} from '../closest_name';
import {dedupeInputs, inputCount, InputRoles, rolesFromArray, rolesToArray, standardRoles} from './input_roles';
import {serializeInitializer} from './initializer';
import {projectFromHeads, projectToHeads} from './projection';

type Shape = Array<number|null>;
type Kwargs = Record<string, unknown>;

/** Options a call takes; `training` and `mask` are what tfjs-layers itself passes. */
export interface MultiHeadAttentionCallOptions {
  /** Query i attends to keys j <= i (Keras's top-left alignment). Default false. */
  useCausalMask?: boolean;
  /** bool/int32 (true = attend) or float32 additive, [B, Sq, Sk], [Sq, Sk] or [B, Hq, Sq, Sk]. */
  attentionMask?: Tensor|SymbolicTensor;
  training?: boolean;
}
/** inputRoles is internal: a model's JSON records it with each application, and loading replays it. */
const CALL_OPTIONS = ['useCausalMask', 'attentionMask', 'training', 'mask', 'inputRoles'];

let unnamedLayers = 0;

interface Projection {
  kernel: LayerVariable;
  bias: LayerVariable|null;
}
interface GraphUse {
  roles: InputRoles;
  useCausalMask: boolean;
}

export class MultiHeadAttention extends layers.Layer {
  /** Serialized under its own name, so it never stands in for another library's MultiHeadAttention. */
  static className = 'FlashMultiHeadAttention';
  private readonly resolved: ResolvedArgs;
  private projections: Record<'query'|'key'|'value'|'attention_output', Projection>|null = null;
  /**
   * How the layer was applied to symbolic tensors. tfjs-layers' executor (model.predict, model.fit) calls a
   * layer with its distinct inputs only and without the options given to apply(), so both are kept here.
   */
  private graphUse: GraphUse|null = null;
  /** The roles of the inputs of the apply() in progress (build and computeOutputShape need them). */
  private currentRoles: InputRoles|null = null;
  /** Training calls so far (each takes fresh dropout seeds), and the base seed when none was given. */
  private dropoutCalls = 0;
  private readonly randomSeed = Math.floor(Math.random() * 2 ** 31);

  constructor(args: MultiHeadAttentionArgs) {
    const resolved = resolveArgs(args);
    super({...args, name: args.name ?? `multi_head_attention_${++unnamedLayers}`});
    this.resolved = resolved;
  }

  get numHeads(): number { return this.resolved.numHeads; }
  get numKeyValueHeads(): number { return this.resolved.numKeyValueHeads; }
  get keyDim(): number { return this.resolved.keyDim; }
  get valueDim(): number { return this.resolved.valueDim; }

  override apply(inputs: Tensor|Tensor[]|SymbolicTensor|SymbolicTensor[], kwargs: Kwargs = {}):
      Tensor|Tensor[]|SymbolicTensor|SymbolicTensor[] {
    rejectUnknownKeys(`${this.name}.apply options`, kwargs, CALL_OPTIONS);
    const list = (Array.isArray(inputs) ? inputs : [inputs]) as Array<Tensor|SymbolicTensor>;
    const {attentionMask, inputRoles, ...rest} = kwargs;
    if (!(list[0] instanceof SymbolicTensor)) {
      // An eager call, or the executor running a model: the latter passes the graph's inputs and no options.
      const explicit = 'useCausalMask' in kwargs || attentionMask != null;
      const fromGraph = inputRoles == null && !explicit && this.graphUse != null && list.length === inputCount(this.graphUse.roles);
      const roles = inputRoles != null ? rolesFromArray(inputRoles) : fromGraph ? this.graphUse!.roles : standardRoles(list.length);
      const useCausalMask = fromGraph ? this.graphUse!.useCausalMask : rest.useCausalMask === true;
      this.currentRoles = roles;
      return super.apply(inputs as Tensor[], {...rest, attentionMask, useCausalMask, inputRoles: rolesToArray(roles)});
    }
    let distinct: SymbolicTensor[], roles: InputRoles;
    if (inputRoles != null) {   // a saved model being loaded: its inputs are already distinct
      [distinct, roles] = [list as SymbolicTensor[], rolesFromArray(inputRoles)];
    } else {
      standardRoles(list.length);
      if (attentionMask != null && !(attentionMask instanceof SymbolicTensor)) {
        throw new Error(`${this.name}: with symbolic inputs, attentionMask must be symbolic too (a tf.input or ` +
                        `another layer's output), got ${attentionMask instanceof Tensor ? 'a Tensor' : typeof attentionMask}`);
      }
      const [query, value, key] = list as SymbolicTensor[];
      ({inputs: distinct, roles} = dedupeInputs(query, value, key, attentionMask as SymbolicTensor|undefined));
    }
    const use = {roles, useCausalMask: rest.useCausalMask === true};
    if (this.graphUse != null && JSON.stringify(this.graphUse) !== JSON.stringify(use)) {
      throw new Error(`${this.name}: applied to symbolic tensors as ${JSON.stringify(this.graphUse)} before and ` +
                      `${JSON.stringify(use)} now; tfjs-layers runs a model's layers without their apply() options, ` +
                      'so one layer keeps one form (inputs, mask, useCausalMask): use a second layer');
    }
    this.graphUse = use;
    this.currentRoles = roles;
    return super.apply(distinct, {...rest, useCausalMask: use.useCausalMask, inputRoles: rolesToArray(roles)});
  }

  /** query, value, key (and the mask, or undefined) of a call's inputs or their shapes. */
  private byRole<T>(items: T|T[], isList: boolean): [T, T, T, T|undefined] {
    const list = (isList ? items : [items]) as T[];
    const r = this.currentRoles ?? standardRoles(list.length);
    if (list.length !== inputCount(r)) {
      throw new Error(`${this.name}: expected ${inputCount(r)} input(s) for roles ${JSON.stringify(r)}, got ${list.length}`);
    }
    return [list[r.query], list[r.value], list[r.key], r.mask >= 0 ? list[r.mask] : undefined];
  }

  override build(inputShape: Shape|Shape[]): void {
    const [query, value, key] = this.byRole(inputShape as Shape[], Array.isArray(inputShape[0]));
    this.checkRanks(query, value, key);
    const {numHeads, numKeyValueHeads, keyDim, valueDim, useBias, kernelInitializer, biasInitializer} = this.resolved;
    const out = this.resolved.outputShape ?? [query[2]!];
    const make = (name: string, kernel: number[]): Projection => ({
      kernel: this.addWeight(`${name}/kernel`, kernel, 'float32', kernelInitializer),
      bias: useBias ? this.addWeight(`${name}/bias`, name === 'attention_output' ? out : kernel.slice(1), 'float32', biasInitializer) : null,
    });
    this.projections = {
      query: make('query', [query[2]!, numHeads, keyDim]),
      key: make('key', [key[2]!, numKeyValueHeads, keyDim]),
      value: make('value', [value[2]!, numKeyValueHeads, valueDim]),
      attention_output: make('attention_output', [numHeads, valueDim, ...out]),
    };
    this.built = true;
  }

  private checkRanks(query: Shape, value: Shape, key: Shape): void {
    for (const [name, shape] of [['query', query], ['value', value], ['key', key]] as const) {
      if (shape.length !== 3 || shape[2] == null) {
        throw new Error(`${this.name}: ${name} must be [batch, seq, features] with known features, got [${shape}]`);
      }
    }
  }

  override computeOutputShape(inputShape: Shape|Shape[]): Shape {
    const [query, value, key] = this.byRole(inputShape as Shape[], Array.isArray(inputShape[0]));
    if (value[1] != null && key[1] != null && value[1] !== key[1]) {
      throw new Error(`${this.name}: key and value must have the same sequence length, got ${key[1]} and ${value[1]}`);
    }
    return [...query.slice(0, -1), ...(this.resolved.outputShape ?? [query[query.length - 1]])];
  }

  override call(inputs: Tensor|Tensor[], kwargs: Kwargs): Tensor {
    return tidy(() => {
      this.currentRoles = rolesFromArray(kwargs.inputRoles);
      const [query, value, key, maskInput] = this.byRole(inputs, Array.isArray(inputs));
      const [qShape, vShape, kShape] = [query.shape, value.shape, key.shape] as number[][];
      this.checkRanks(qShape, vShape, kShape);
      const p = this.projections!;
      if (qShape[0] !== vShape[0] || kShape[0] !== vShape[0] || kShape[1] !== vShape[1]) {
        throw new Error(`${this.name}: query [${qShape}], value [${vShape}] and key [${kShape}] must share ` +
                        'the batch size, and key and value the sequence length');
      }
      const read = (v: LayerVariable|null) => (v == null ? null : v.read());
      const q = projectToHeads(query, p.query.kernel.read(), read(p.query.bias));
      const k = projectToHeads(key, p.key.kernel.read(), read(p.key.bias));
      const v = projectToHeads(value, p.value.kernel.read(), read(p.value.bias));
      const mask = maskInput ?? (kwargs.attentionMask as Tensor|undefined);
      const bias = mask == null ? null :
          maskToBias(mask, {batch: qShape[0], heads: this.numHeads, sq: qShape[1], sk: kShape[1]});
      const dropout = kwargs.training === true && this.resolved.dropout > 0 ?
          {rate: this.resolved.dropout, seed: this.nextDropoutSeed()} : null;
      const attended = attend(q, k, v, {causal: kwargs.useCausalMask === true, bias, precision: this.resolved.precision, dropout});
      return projectFromHeads(attended, p.attention_output.kernel.read(), read(p.attention_output.bias));
    });
  }

  /** Seeds seed, seed + 2, …: one per training call (attend may use seed + 1 too), wrapping in 31 bits. */
  private nextDropoutSeed(): number {
    this.dropoutCalls += 1;
    return ((this.resolved.seed ?? this.randomSeed) + 2 * (this.dropoutCalls - 1)) % 2 ** 31;
  }

  /** tfjs-layers adds `customObjects` to a saved layer's config when it loads it: not an argument of ours. */
  static override fromConfig<T extends serialization.Serializable>(
      cls: serialization.SerializableConstructor<T>, config: serialization.ConfigDict): T {
    const {customObjects: _, ...args} = config;
    return new cls(args);
  }

  override getConfig(): serialization.ConfigDict {
    const r = this.resolved;
    return {
      numHeads: r.numHeads, keyDim: r.keyDim, valueDim: r.valueDim, numKeyValueHeads: r.numKeyValueHeads,
      useBias: r.useBias, outputShape: r.outputShape, dropout: r.dropout, seed: r.seed, precision: r.precision ?? null,
      kernelInitializer: serializeInitializer(r.kernelInitializer) as unknown as serialization.ConfigDict,
      biasInitializer: serializeInitializer(r.biasInitializer) as unknown as serialization.ConfigDict,
      ...super.getConfig(),
    };
  }
}

serialization.registerClass(MultiHeadAttention);
