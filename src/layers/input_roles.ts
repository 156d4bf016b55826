/**
 * Which input of a call is the query, the value, the key and the attention mask. A user passes
 * [query, value] or [query, value, key] (plus attentionMask as a call option); in a model's graph the layer
 * takes each distinct symbolic tensor once, with the mask as one more input, and remembers the roles.
 *
 * Why once: tfjs-layers' executor (model.predict, evaluate) counts a tensor's consumers per layer but releases
 * it per input slot, so a self-attention apply([x, x]) whose x also feeds a residual Add disposes x before the
 * Add runs ("Tensor is disposed"). Passing x once avoids that.
 */

/** Index of each role's tensor among a call's inputs; mask -1 when there is none. */
export interface InputRoles {
  query: number;
  value: number;
  key: number;
  mask: number;
}

/** The roles of inputs as a user writes them: [query, value], [query, value, key]. */
export function standardRoles(count: number): InputRoles {
  if (count !== 2 && count !== 3) {
    throw new Error(`MultiHeadAttention: inputs must be [query, value] or [query, value, key], got ${count} tensor(s)`);
  }
  return {query: 0, value: 1, key: count === 3 ? 2 : 1, mask: -1};
}

/** The distinct tensors of [query, value, key?, mask?] and their roles. */
export function dedupeInputs<T>(query: T, value: T, key: T|undefined, mask: T|undefined): {inputs: T[], roles: InputRoles} {
  const inputs: T[] = [];
  const place = (t: T) => {
    const at = inputs.indexOf(t);
    return at >= 0 ? at : inputs.push(t) - 1;
  };
  const roles = {query: place(query), value: place(value), key: place(key ?? value), mask: mask == null ? -1 : place(mask)};
  return {inputs, roles};
}

export const rolesToArray = (r: InputRoles): number[] => [r.query, r.value, r.key, r.mask];

export function rolesFromArray(a: unknown): InputRoles {
  if (!Array.isArray(a) || a.length !== 4 || !a.every(Number.isInteger)) {
    throw new Error(`MultiHeadAttention: inputRoles must be 4 integers [query, value, key, mask], got ${JSON.stringify(a)}`);
  }
  return {query: a[0], value: a[1], key: a[2], mask: a[3]};
}

export const inputCount = (r: InputRoles): number => Math.max(r.query, r.value, r.key, r.mask) + 1;
