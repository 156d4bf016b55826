/**
 * Weight initializers as tfjs-layers' own layers take them: a name ('glorotUniform', 'zeros', …), an
 * Initializer object, or its serialized form {className, config} (what getConfig writes and a saved model
 * holds). Only tfjs-layers' public API is used: the `initializers` namespace and the serialization registry.
 */
import {serialization} from '@tensorflow/tfjs-core';
import {initializers} from '@tensorflow/tfjs-layers';
import {closestName} from '../closest_name';

export type Initializer = ReturnType<typeof initializers.zeros>;
export interface SerializedInitializer {
  className: string;
  config: serialization.ConfigDict;
}
export type InitializerLike = string|Initializer|SerializedInitializer;

type Factory = (args?: object) => Initializer;
const NAMED = initializers as unknown as Record<string, Factory>;
const NAMES = Object.keys(NAMED).filter(name => typeof NAMED[name] === 'function');

export function resolveInitializer(argument: string, id: InitializerLike): Initializer {
  if (typeof id === 'string') {
    if (!NAMES.includes(id)) {
      throw new Error(`MultiHeadAttention: ${argument} '${id}' is not an initializer (did you mean ` +
                      `'${closestName(id, NAMES)}'?); known: ${NAMES.join(', ')}`);
    }
    return NAMED[id]({});
  }
  if (id != null && typeof (id as Initializer).apply === 'function' && typeof (id as Initializer).getClassName === 'function') {
    return id as Initializer;
  }
  const serialized = id as SerializedInitializer;
  const entry = serialized && typeof serialized.className === 'string' ?
      serialization.SerializationMap.getMap().classNameMap[serialized.className] : undefined;
  if (entry == null) {
    throw new Error(`MultiHeadAttention: ${argument} must be an initializer name, a tf.initializers object or ` +
                    `{className, config}, got ${JSON.stringify(id)}`);
  }
  const [cls, fromConfig] = entry;
  return fromConfig(cls, serialized.config ?? {}) as unknown as Initializer;
}

export function serializeInitializer(init: Initializer): SerializedInitializer {
  return {className: init.getClassName(), config: init.getConfig()};
}
