/**
 * Unrolls the register-tile loops of a generated WGSL function. The shader is written with ordinary
 * loops over a thread's rows, keys and vec4 columns (`for (var r = 0; r < RM; r++) { ... }`); this
 * expands every such loop whose variable is listed and whose bound is a known constant into one scoped
 * copy of its body per iteration, the variable replaced by its value. Every index into the per-thread
 * arrays (scores, acc, m_i, l_i) is then a constant, so the compiler keeps them in registers instead of
 * addressable local memory, whatever its own unrolling heuristics.
 */
const LOOP = /for \(var (\w+) = 0; \1 < (\w+); \1\+\+\) \{/g;

/** Index just past the brace that closes the one opening at `open`. */
function matchingBrace(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === '{') depth++;
    else if (code[i] === '}' && --depth === 0) return i + 1;
  }
  throw new Error(`unroll: unbalanced braces after offset ${open}`);
}

export function unrollLoops(code: string, variables: readonly string[], bounds: Record<string, number>): string {
  for (;;) {
    const match = [...code.matchAll(LOOP)].find(m => variables.includes(m[1]) && (m[2] in bounds || /^\d+$/.test(m[2])));
    if (match == null) return code;
    const [header, name, boundName] = match;
    const bound = boundName in bounds ? bounds[boundName] : Number(boundName);
    const open = match.index! + header.length - 1;
    const close = matchingBrace(code, open);
    const body = code.slice(open + 1, close - 1);
    const word = new RegExp(`\\b${name}\\b`, 'g');
    const copies = Array.from({length: bound}, (_, i) => `{${body.replace(word, String(i))}}`).join('\n');
    code = code.slice(0, match.index) + copies + code.slice(close);
  }
}
