/**
 * FlashAttention-2 backward on matrix tiles (`precision: 'float16'`): the two main passes of grad_program.ts
 * with their five products (S = Q Kᵀ, dP = dO Vᵀ, dV += Pᵀ dO, dK += dSᵀ Q, dQ += dS K) as 16×16×16 f16
 * matrix products accumulated in f32 (../tiles/matrix_tiles.ts: the GPU's matrix units, or their portable
 * twin). The rounding points are the cpu reference's (kernels/cpu/attention_backward_loop.ts): q, k, v and
 * dO are rounded to half when staged; P∘Z is rounded to half for dV; dS·capSlope is rounded to half for dQ
 * and dK, and the softmax scale is applied at the end. The per-element recompute between the products
 * (gradElement: P = exp2(S·scale − lse), dS = P∘(Z∘dP − D_i); ALiBi's partial from the unrounded dS) is
 * the float32 passes' own, in f32.
 *
 * Each pass has a "resident" block of 16 rows per tile group (G groups: BLOCK_R = 16·G) and a "streamed"
 * block of BLOCK_S rows shared by the groups (matrix_grad_shape.ts); group sg computes the 16 × BLOCK_S grid
 * of its own rows against the streamed ones, so one code serves both passes:
 *   dK/dV pass ('dkdv'), one workgroup per (b, kv head g, block of BLOCK_R keys): K, V of the group's keys
 *     → kTile[sg], vTile[sg]; for each query head of the GQA group and each query block that can see a key
 *     of the block (causal, window: as the float32 pass):
 *       Q_i, dO_i → qTile, dOTile; lse_i, D_i → lseRow, deltaRow
 *       Sᵀ = K Qᵀ, dPᵀ = V dOᵀ → sTile[sg], dpTile[sg] (f32);  per element: P∘Z → pTile, dS·capSlope → dsTile
 *       dV += (P∘Z)ᵀ dO;  dK += dSᵀ Q
 *     dK·scale, dV → [0, |k|) and [extraOffset, …) of the one output (a padded cache's keys past lenK get 0).
 *   dQ pass ('dq'), one workgroup per (b, query head h, block of BLOCK_R rows), the last block first: Q, dO
 *     → qTile[sg], dOTile[sg]; for each key block the rows can see: K_j, V_j → kTile, vTile; S = Q Kᵀ,
 *     dP = dO Vᵀ; per element dS (ALiBi: slopeAcc) → dsTile; dQ += dS K. dQ·scale → output; with ALiBi the
 *     block's partial sum at extraOffset + (b·Hq + h)·blocks + block, as the float32 pass.
 *   Four barriers a streamed block: before the staging, after it (the flag's uniform load), S/dP stored,
 *   P/dS stored. The epilogue passes the accumulators through sTile[sg] / dpTile[sg] one 16-column d-tile
 *   at a time.
 * A P (dS) of exactly 0 contributes nothing, not even 0·NaN, as in the float32 passes: a matrix product
 * would multiply it, so a streamed block whose staged right operand of an accumulation (Q and dO for dK/dV,
 * K for dQ) holds a NaN or ±Inf takes a guarded route for its products (through sTile, zero weights
 * skipped), as the forward does for V. The weights are the rounded halves, so a P or dS that underflows
 * half is skipped there too, where the cpu reference multiplies it.
 * D_i comes from the stats pass, of the rounded dO (DeltaProgram's halfDO). Not yet tuned: the streamed
 * block is read between barriers (no register prefetch as in the float32 passes), untimed on the H200.
 * Launch geometry: G·32 invocations; workgroups numbered flat, spread over x, y, z.
 * Limits: the shape must fit maxComputeWorkgroupStorageSize (else the float32 passes run it: D ≥ 128 on the
 * portable tiles' 4-byte elements in SwiftShader's 32 KiB); otherwise as the float32 passes.
 * Compile-time: kernelKey(spec) + the tiles' kind + matrixGradKey(shape); the rest is gradUniforms.
 */
import {FlashAttentionSpec, kernelKey} from '../../../src/spec';
import {spreadDispatch} from '../dispatch';
import {FlatProgram} from '../flat_program';
import {usesSubgroupId} from '../tiles/matrix_attention_program';
import {Fragment, GROUP_SIZE, MatrixTiles, TILE} from '../tiles/matrix_tiles';
import {NAN_WGSL} from '../nan_wgsl';
import {unrollLoops} from '../unroll';
import {workgroupDeclarations} from '../workgroup_memory';
import {dqBlockPrologue, dsForProducts, gradBlockInfo, gradInputNames, gradRowLoader, gradScoreSnippet, headSideInputs, rowStatsLoader, slopePartialStore} from './grad_program';
import {gradUniforms} from './grad_uniforms';
import {blockM, blockN, matrixGradKey, MatrixGradShape, matrixGradVariables, residentPair, streamedPair, streamedRows} from './matrix_grad_shape';

/** Generates the tile-level code in TypeScript: every offset is a constant, as the matrix loads need. */
class GradTileCode {
  private readonly dTiles: number;
  constructor(private readonly tiles: MatrixTiles, private readonly s: MatrixGradShape) {
    this.dTiles = s.dPad / TILE;
  }

  private range(n: number) { return Array.from({length: n}, (_, i) => i); }

  declareAcc(name: string): string {
    return this.range(this.dTiles).map(dt => this.tiles.declareAcc(`${name}_${dt}`)).join('\n  ');
  }

  /**
   * The group's 16 × BLOCK_S grid of dots between its own rows (`own`, per group) and the streamed rows
   * (`streamed`, read transposed) → `out[sg]` (f32, stride BLOCK_S).
   */
  dots(own: string, streamed: string, out: string): string {
    const {rowStride, streamTiles} = this.s;
    const code: string[] = [];
    for (let st = 0; st < streamTiles; st++) {
      const acc = `${out}_${st}`;
      code.push(`{ ${this.tiles.declareAcc(acc)}`);
      for (let dt = 0; dt < this.dTiles; dt++) {
        const a = this.tiles.fragment(`a_${dt}`, 'left', {array: `${own}[sg]`, offset: dt * TILE, stride: rowStride, colMajor: false});
        const b = this.tiles.fragment(`b_${dt}`, 'right', {array: streamed, offset: st * TILE * rowStride + dt * TILE, stride: rowStride, colMajor: true});
        code.push(`{ ${a.code} ${b.code}`, this.tiles.mma(acc, a.fragment, b.fragment), '}');
      }
      code.push(this.tiles.storeAcc(acc, `${out}[sg]`, st * TILE, streamedRows(this.s)), '}');
    }
    return code.join('\n      ');
  }

  /** acc_d += left[sg] (16 × BLOCK_S, halves) · right (BLOCK_S × D_PAD, row-major). */
  accumulate(acc: string, left: string, right: string): string {
    const {rowStride, streamTiles} = this.s;
    const code: string[] = [];
    const lefts: Fragment[] = this.range(streamTiles).map(st => {
      const f = this.tiles.fragment(`l_${st}`, 'left', {array: `${left}[sg]`, offset: st * TILE, stride: streamedRows(this.s), colMajor: false});
      code.push(f.code);
      return f.fragment;
    });
    for (let dt = 0; dt < this.dTiles; dt++) {
      for (let st = 0; st < streamTiles; st++) {
        const r = this.tiles.fragment(`r_${st}_${dt}`, 'right', {array: right, offset: st * TILE * rowStride + dt * TILE, stride: rowStride, colMajor: false});
        code.push(`{ ${r.code}`, this.tiles.mma(`${acc}_${dt}`, lefts[st], r.fragment), '}');
      }
    }
    return `{\n      ${code.join('\n      ')}\n      }`;
  }

  /**
   * acc_d += left[sg] · right on the matrix tiles, or, in a guarded block (a non-finite value in `right`),
   * through the scratch sTile[sg] with the zero weights skipped: a P or dS of 0 (a masked pair) takes no
   * part, not even as 0·NaN, as in the float32 passes (a matrix product would multiply it).
   */
  accumulateGuarded(acc: string, left: string, right: string): string {
    return `if (guarded) {
        ${this.throughScratch([acc], ['sTile'], `var sum = x0;
        for (var y = 0; y < BLOCK_S; y++) {
          let w = f32(${left}[sg][r * BLOCK_S + y]);
          if (w != 0.0) { sum += w * f32(${right}[y * RS + d]); }
        }
        sTile[sg][at] = sum;`, true)}
      } else ${this.accumulate(acc, left, right)}`;
  }

  /**
   * The accumulators (`accs[k]_dt`) pass through the group's f32 scratch `scratch[k][sg]` one d-tile at a
   * time, so that the lanes see their elements: `body` runs between two barriers with `dt`, `at` (the
   * element's place in the scratch), `r` (the group's row) and `d` in scope, `x${k}` the element of
   * accumulator k; `reload` reads the scratch back into the matrices. One runtime loop with a switch (the
   * matrices need constant names), as the forward's accChunks.
   */
  throughScratch(accs: string[], scratch: string[], body: string, reload: boolean): string {
    const perTile = (op: (acc: string, array: string) => string) => `switch (dt) {
      ${this.range(this.dTiles).map(dt => `case ${dt}: { ${accs.map((acc, k) => op(`${acc}_${dt}`, `${scratch[k]}[sg]`)).join(' ')} }`).join('\n      ')}
      default: {}
    }`;
    return `for (var dt = 0; dt < ${this.dTiles}; dt++) {
    ${perTile((acc, array) => this.tiles.storeAcc(acc, array, 0, TILE))}
    workgroupBarrier();
    for (var e = 0; e < ${TILE * TILE / GROUP_SIZE}; e++) {
      let at = tileLane + GROUP * e;
      let r = at / ${TILE};
      let d = dt * ${TILE} + at % ${TILE};
      ${accs.map((_, k) => `let x${k} = ${scratch[k]}[sg][at];`).join(' ')}
      ${body}
    }
    workgroupBarrier();${reload ? `
    ${perTile((acc, array) => this.tiles.loadAcc(acc, array, 0, TILE))}` : ''}
  }`;
  }
}

/**
 * Rows [0, ROWS) of a tensor (first row at `base`, `rows` valid, zeros past them and past D) → its tile, as
 * halves; `block`: a non-finite half sets blockFlags to this block's id (the guarded products).
 */
function stageRows(tile: string, perGroup: boolean, tensor: string, strideS: string, base: string, rowCount: string, rows: string,
                   block: string|null, tiles: MatrixTiles): string {
  // Each invocation writes 4 consecutive halves (two whole 32-bit words: f16 stores may be read-modify-writes).
  const at = perGroup ? `${tile}[r / ${TILE}][(r % ${TILE}) * RS + 4 * d4 + e]` : `${tile}[r * RS + 4 * d4 + e]`;
  return `
  for (var idx = tid; idx < ${rowCount} * D4; idx += THREADS) {
    let r = idx / D4;
    let d4 = idx % D4;
    var x = vec4<f32>(0.0);
    if (r < ${rows}) { x = loadRow_${tensor}(${base} + r * uniforms.${strideS}, 4 * d4); }
    for (var e = 0; e < 4; e++) {
      let t = ${tiles.toTile('x[e]')};
      ${at} = t;${block != null ? `
      if (isNonFinite(f32(t))) { blockFlags[0] = ${block}; }` : ''}
    }
  }`;
}

/** The operand tensors by tile name: tensor binding, row stride uniform, and head of the row-0 base. */
const OPERANDS: Record<string, {tensor: string, strideS: string, tensorPrefix: string}> = {
  q: {tensor: 'q', strideS: 'qStrideS', tensorPrefix: 'q'},
  dO: {tensor: 'dOutput', strideS: 'oStrideS', tensorPrefix: 'o'},
  k: {tensor: 'k', strideS: 'kStrideS', tensorPrefix: 'k'},
  v: {tensor: 'v', strideS: 'vStrideS', tensorPrefix: 'v'},
};

/**
 * A pair of operand tiles from rows `first` (in the sequence starting at `start`) of head `head`; those in
 * `flagged` (right operands of the accumulations) flag a non-finite value for block id `block`.
 */
function stagePair(names: string[], perGroup: boolean, start: string, first: string, head: string, rowCount: string, rows: string,
                   tiles: MatrixTiles, flagged: string[] = [], block = ''): string {
  return names.map(name => {
    const o = OPERANDS[name];
    const base = `(${start} + ${first}) * uniforms.${o.strideS} + b * uniforms.${o.tensorPrefix}StrideB + ${head} * uniforms.${o.tensorPrefix}StrideH`;
    return stageRows(`${name}Tile`, perGroup, o.tensor, o.strideS, base, rowCount, rows, flagged.includes(name) ? block : null, tiles);
  }).join('');
}

/**
 * Per element of the group's grid (lanes own pairs of neighbouring elements: whole 32-bit words of the
 * half tiles): gradElement from S and dP, P∘Z → pTile (dK/dV pass), dS·capSlope → dsTile.
 */
function recomputeElements(spec: FlashAttentionSpec, s: MatrixGradShape, tiles: MatrixTiles): string {
  const dkdv = s.pass === 'dkdv';
  return `
      for (var e = 0; e < PAIRS_PER_LANE; e++) {
        for (var u = 0; u < 2; u++) {
          let at = 2 * (tileLane + GROUP * e) + u;
          let own = sg * ${TILE} + at / BLOCK_S;
          let other = at % BLOCK_S;
          let i = m0 + ${dkdv ? 'other' : 'own'};
          let j = n0 + ${dkdv ? 'own' : 'other'};
          let statsRow = ${dkdv ? 'other' : 'own'};
          let dotQK = sTile[sg][at];
          let pd = gradElement(dotQK, dpTile[sg][at], i, j, lseRow[statsRow], deltaRow[statsRow], lenK, b, h);
          ${dkdv ? `pTile[sg][at] = ${tiles.toTile('pd.x')};` : ''}
          var ds = pd.y;
          ${dsForProducts(spec, 'ds', !dkdv)}
          dsTile[sg][at] = ${tiles.toTile('ds')};
        }
      }`;
}

/**
 * One streamed block (id `block`, > 0) up to its products: staged (`stage`), the group's grid of S and dP
 * (dK/dV: Sᵀ = K Qᵀ, dPᵀ = V dOᵀ; dQ: S = Q Kᵀ, dP = dO Vᵀ), then its P and dS; `guarded` says whether the
 * staging flagged a non-finite value. Four barriers: the previous block's products have read the streamed
 * tiles, pTile and dsTile; staged (the uniform load of the flag); S and dP stored; P and dS stored.
 */
function streamedBlock(spec: FlashAttentionSpec, s: MatrixGradShape, tiles: MatrixTiles, code: GradTileCode, stage: string, block: string): string {
  const [ownS, ownDP] = residentPair(s), [otherS, otherDP] = streamedPair(s);
  return `workgroupBarrier();
      ${stage}
      let flags = workgroupUniformLoad(&blockFlags);
      let guarded = flags[0] == ${block};
      ${code.dots(`${ownS}Tile`, `${otherS}Tile`, 'sTile')}
      ${code.dots(`${ownDP}Tile`, `${otherDP}Tile`, 'dpTile')}
      workgroupBarrier();
      ${recomputeElements(spec, s, tiles)}
      workgroupBarrier();`;
}

function dkdvBody(spec: FlashAttentionSpec, s: MatrixGradShape, tiles: MatrixTiles, code: GradTileCode): string {
  const kBase = '(startK + n0 + key) * uniforms.kStrideS + b * uniforms.kStrideB + g * uniforms.kStrideH';
  const block = '(hh * uniforms.seqlenQ + m0 + 1)';  // one id per (head, query block), m0 < seqlenQ
  return `
  // -- dK/dV pass: (b, g, key block) --
${gradBlockInfo(spec, 'dkdv')}
  // A padded KV cache's keys past the valid length still get their dK = dV = 0 written (no query sees
  // them); elsewhere a block past lenK belongs to no sequence.
  if (info[7] == 0 || (n0 >= lenK && ${!spec.cacheSeqlens})) { return; }
  diagonal = lenK - lenQ;
  let rowsK = max(0, min(BLOCK_N, lenK - n0));
  let rowsStored = ${spec.cacheSeqlens ? 'min(BLOCK_N, uniforms.seqlenK - n0)' : 'rowsK'};
  ${stagePair(['k', 'v'], true, 'startK', 'n0', 'g', 'BLOCK_N', 'rowsK', tiles)}
  ${code.declareAcc('dk')}
  ${code.declareAcc('dv')}
  // Causal / window: only rows firstRowReaching(n0) .. rowEndReaching(last key) see some key of the block.
  let mStart = (firstRowReaching(n0, lenK - lenQ) / BLOCK_M) * BLOCK_M;
  let mEnd = select(rowEndReaching(min(n0 + BLOCK_N, lenK) - 1, lenK - lenQ, lenQ), mStart, n0 >= lenK);
  for (var hh = 0; hh < uniforms.groupSize; hh++) {
    let h = g * uniforms.groupSize + hh;
    ${headSideInputs(spec)}
    for (var m0 = mStart; m0 < mEnd; m0 += BLOCK_M) {
      ${streamedBlock(spec, s, tiles, code, `${stagePair(['q', 'dO'], false, 'startQ', 'm0', 'h', 'BLOCK_M', 'min(BLOCK_M, lenQ - m0)', tiles, ['q', 'dO'], block)}
      loadRowStats(tid, b, h, m0, startQ, lenQ);`, block)}
      // -- dV += (P∘Z)ᵀ dO, dK += dSᵀ Q --
      ${code.accumulateGuarded('dv', 'pTile', 'dOTile')}
      ${code.accumulateGuarded('dk', 'dsTile', 'qTile')}
    }
  }
  // -- store dK·scale, dV --
  workgroupBarrier();
  ${code.throughScratch(['dk', 'dv'], ['sTile', 'dpTile'], `let key = sg * ${TILE} + r;
      if (key < rowsStored && d < uniforms.headDim) {
        let out = ${kBase} + d;
        result[out] = x0 * uniforms.softmaxScale;
        result[uniforms.extraOffset + out] = x1;
      }`, false)}`;
}

function dqBody(spec: FlashAttentionSpec, s: MatrixGradShape, tiles: MatrixTiles, code: GradTileCode): string {
  const qBase = '(startQ + m0 + row) * uniforms.qStrideS + b * uniforms.qStrideB + h * uniforms.qStrideH';
  return `
  // -- dQ pass: (b, h, query block), the last block first --
${gradBlockInfo(spec, 'dq')}${dqBlockPrologue(spec)}
  let rowsQ = min(BLOCK_M, lenQ - m0);
  ${stagePair(['q', 'dO'], true, 'startQ', 'm0', 'h', 'BLOCK_M', 'rowsQ', tiles)}
  loadRowStats(tid, b, h, m0, startQ, lenQ);
  ${code.declareAcc('dq')}
  // Keys outside what the block's rows see (causal diagonal, window) are never loaded.
  let kEnd = visibleKeyEnd(m0 + rowsQ - 1, lenK - lenQ, lenK);
  let kBegin = (firstVisibleKey(m0, lenK - lenQ) / BLOCK_N) * BLOCK_N;
  for (var n0 = kBegin; n0 < kEnd; n0 += BLOCK_N) {
    ${streamedBlock(spec, s, tiles, code, stagePair(['k', 'v'], false, 'startK', 'n0', 'hk', 'BLOCK_N', 'min(BLOCK_N, lenK - n0)', tiles, ['k'], 'n0 + 1'), 'n0 + 1')}
    // -- dQ += dS K --
    ${code.accumulateGuarded('dq', 'dsTile', 'kTile')}
  }
  // -- store dQ·scale (rows with no visible key get 0) --
  workgroupBarrier();
  ${code.throughScratch(['dq'], ['sTile'], `let row = sg * ${TILE} + r;
      if (row < rowsQ && d < uniforms.headDim) { result[${qBase} + d] = x0 * uniforms.softmaxScale; }`, false)}
  ${slopePartialStore(spec)}`;
}

export function matrixGradShader(spec: FlashAttentionSpec, s: MatrixGradShape, tiles: MatrixTiles): string {
  const code = new GradTileCode(tiles, s);
  const workgroup = matrixGradVariables(s, tiles);
  const pairsPerLane = TILE * streamedRows(s) / 2 / GROUP_SIZE;
  // The tile group: a constant when alone, else the subgroup_id builtin on subgroup matrices (their
  // stores need a uniform pointer, ../tiles/matrix_attention_program.ts), else from the invocation index.
  const groupIndex = s.groups === 1 ? '0' : usesSubgroupId(tiles) ? 'i32(subgroupId)' : 'tid / GROUP';
  const body = s.pass === 'dkdv' ? dkdvBody(spec, s, tiles, code) : dqBody(spec, s, tiles, code);
  const shader = unrollLoops(`
const GROUP : i32 = ${GROUP_SIZE};
const GROUPS : i32 = ${s.groups};
const D4 : i32 = ${s.dPad / 4};
const RS : i32 = ${s.rowStride};               // row stride of the operand tiles
const BLOCK_M : i32 = ${blockM(s)};
const BLOCK_N : i32 = ${blockN(s)};
const BLOCK_S : i32 = ${streamedRows(s)};      // rows of the streamed block
const THREADS : i32 = ${s.threads};
const PAIRS_PER_LANE : i32 = ${pairsPerLane};  // element pairs of a group's 16 × BLOCK_S grid per lane
const LOG2E : f32 = 1.4426950408889634;
${NAN_WGSL}

// The small workgroup variables come first and the matrix tiles last (../tiles/matrix_workgroup.ts).
${workgroupDeclarations(workgroup.small)}
${workgroupDeclarations(workgroup.tiles)}

${gradRowLoader('q')}
${gradRowLoader('k')}
${gradRowLoader('v')}
${gradRowLoader('dOutput')}
${gradScoreSnippet(spec)}
${rowStatsLoader()}

fn main(index : i32${usesSubgroupId(tiles) ? ', subgroupId : u32, subgroupLane : u32' : ''}) {
  let tid = i32(localIndex);
  let sg = ${groupIndex};
  let tileLane = ${usesSubgroupId(tiles) ? 'i32(subgroupLane)' : 'tid % GROUP'};
  ${body}
}
`, tiles.kind === 'portable' ? [] : ['e', 'u'], {PAIRS_PER_LANE: pairsPerLane});
  return tiles.helpers + shader;  // after the body: the portable tiles emit only the helpers it used
}

export class MatrixGradProgram extends FlatProgram {
  readonly enables: string;
  readonly subgroupId: boolean;
  constructor(
      private readonly spec: FlashAttentionSpec, private readonly shape: MatrixGradShape, private readonly tiles: MatrixTiles,
      outputSize: number, workgroups: number, maxWorkgroupsPerDimension: number) {
    super({
      variableNames: gradInputNames(spec), outputSize,
      shaderKey: `flashAttentionGradMatrix|${tiles.kind}|${kernelKey(spec)}|${matrixGradKey(shape)}`,
      dispatch: spreadDispatch(workgroups, maxWorkgroupsPerDimension, 'FlashAttentionGrad'),
      workgroupSize: shape.threads, uniforms: gradUniforms(spec, 0, 0),
    });
    this.enables = tiles.enables;
    this.subgroupId = usesSubgroupId(tiles);
  }

  getUserCode(): string {
    return matrixGradShader(this.spec, this.shape, this.tiles);
  }
}
