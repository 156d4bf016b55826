/**
 * The known name closest to a misspelt one (Levenshtein distance), for "did you mean …?" in errors: the op's
 * options (normalize_spec.ts) and the layer's arguments (layers/) share it.
 */
export function closestName(name: string, known: readonly string[]): string {
  let best = known[0], bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}

/** Throws naming the first key of `given` that is not in `known`, and the known key closest to it. */
export function rejectUnknownKeys(what: string, given: object, known: readonly string[], noun = 'argument'): void {
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) {
      throw new Error(`${what}: unknown ${noun} '${key}' (did you mean '${closestName(key, known)}'?); ` +
                      `known ${noun}s: ${known.join(', ')}`);
    }
  }
}
