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
 *   dK/dV pass ('dkdv'), one workgroup per (b, kv head g, block of BLOCK_R keys): the left fragments of the
 *     group's K and V rows (made once: registers, or the resident tiles kTile[sg], vTile[sg]); for each
 *     (query head of the GQA group, query block that can see a key of the block) in one sequence (causal,
 *     window: as the float32 pass):
 *       Q_i, dO_i → qTile, dOTile; lse_i, D_i → lseRow, deltaRow; the next pair's reads issued
 *       Sᵀ = K Qᵀ, dPᵀ = V dOᵀ → sTile[sg], dpTile[sg] (f32);  per element: P∘Z → pTile, dS·capSlope → dsTile
 *       dV += (P∘Z)ᵀ dO;  dK += dSᵀ Q
 *     dK·scale, dV → [0, |k|) and [extraOffset, …) of the one output (a padded cache's keys past lenK get 0).
 *   dQ pass ('dq'), one workgroup per (b, query head h, block of BLOCK_R rows), the last block first: the
 *     left fragments of Q, dO; for each key block the rows can see: K_j, V_j → kTile, vTile (the next
 *     block's reads issued); S = Q Kᵀ, dP = dO Vᵀ; per element dS (ALiBi: slopeAcc) → dsTile; dQ += dS K.
 *     dQ·scale → output; with ALiBi the block's partial sum at extraOffset + (b·Hq + h)·blocks + block, as
 *     the float32 pass.
 *   The streamed rows are read one block ahead into registers (where they take few: shape.readsAhead), so a
 *   block's device reads arrive while the previous block computes. Four barriers a streamed block: the
 *   previous products are done, the staging's (the flag's uniform load), S/dP stored, P/dS stored. The
 *   epilogue passes the accumulators through sTile[sg] / dpTile[sg] one 16-column d-tile at a time.
 * A P (dS) of exactly 0 contributes nothing, not even 0·NaN, as in the float32 passes: a matrix product
 * would multiply it, so a streamed block whose staged right operand of an accumulation (Q and dO for dK/dV,
 * K for dQ) holds a NaN or ±Inf takes a guarded route for its products (through sTile, zero weights
 * skipped), as the forward does for V. The weights are the rounded halves, so a P or dS that underflows
 * half is skipped there too, where the cpu reference multiplies it.
 * D_i comes from the stats pass, of the rounded dO (DeltaProgram's halfDO).
 * Speed (H200, B1 H8 S4096 D64, 128 × 16 blocks): dK/dV 1.31 ms, dQ 0.98 ms (BENCHMARKS.md, fifth session).
 * Launch geometry: G·32 invocations; workgroups numbered flat, spread over x, y, z.
 * Limits: both passes' shapes must fit maxComputeWorkgroupStorageSize (else the float32 passes run both: D ≥
 * 128 on the portable tiles' 4-byte elements in SwiftShader's 32 KiB); otherwise as the float32 passes.
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
import {stageBlock} from '../staging';
import {dqBlockPrologue, dsForProducts, gradBlockInfo, gradInputNames, gradRowLoader, gradScoreSnippet, headSideInputs, rowStatsLoader, slopePartialStore, stageRowStats, storeRowStats} from './grad_program';
import {gradUniforms} from './grad_uniforms';
import {blockM, blockN, matrixGradKey, MatrixGradShape, matrixGradVariables, residentPair, residentRows, streamedPair, streamedRows, streamLoads} from './matrix_grad_shape';

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
   * The resident block's left fragments `${name}f_${dt}` of each tile in `names` (`rows` valid rows from
   * `bases[k]`, zeros past them and past D), each with the WGSL that makes it where it is used. Where the
   * shape keeps them in registers, they are made once per workgroup: each d-tile's 16 columns of every
   * group's rows pass through pTile[g] / dsTile[g] (stride 16) between two barriers (that WGSL is `code`,
   * and no resident tile is declared). Else the rows are staged into the resident tiles and each product
   * makes its fragment there (as many registers as one product needs, not 2·D/16 fragments).
   */
  residentFragments(names: string[], bases: string[], rows: string): {code: string, frags: Array<Array<{code: string, fragment: Fragment}>>} {
    const {rowStride} = this.s;
    const tensors = names.map(name => OPERANDS[name]);
    if (!this.s.residentInRegisters) {
      const code = names.map((name, k) => stageRows({
        tile: `${name}Tile`, tileStride: 'RS', columns4: 'D4', firstColumn: '0', tensor: tensors[k].tensor,
        strideS: tensors[k].strideS, base: bases[k], rowCount: 'BLOCK_R', rows}, this.tiles)).join('');
      const frags = names.map(name => this.range(this.dTiles).map(dt => this.tiles.fragment(`${name}f_${dt}`, 'left',
          {array: `${name}Tile[sg]`, offset: dt * TILE, stride: rowStride, colMajor: false})));
      return {code: `${code}\n  workgroupBarrier();`, frags};
    }
    const scratch = ['pTile', 'dsTile'];
    const code: string[] = [];
    const frags = names.map(() => [] as Array<{code: string, fragment: Fragment}>);
    for (let dt = 0; dt < this.dTiles; dt++) {
      code.push(...names.map((_, k) => stageRows({
        tile: scratch[k], tileStride: `${TILE}`, columns4: `${TILE / 4}`, firstColumn: `${dt * TILE}`, tensor: tensors[k].tensor,
        strideS: tensors[k].strideS, base: bases[k], rowCount: 'BLOCK_R', rows}, this.tiles)));
      code.push('workgroupBarrier();');
      names.forEach((name, k) => {
        const f = this.tiles.fragment(`${name}f_${dt}`, 'left', {array: `${scratch[k]}[sg]`, offset: 0, stride: TILE, colMajor: false});
        code.push(f.code);
        frags[k].push({code: '', fragment: f.fragment});
      });
      code.push('workgroupBarrier();');
    }
    return {code: code.join('\n  '), frags};
  }

  /**
   * The group's 16 × BLOCK_S grid of dots between its own rows (the resident fragments `own`) and the
   * streamed rows (`streamed`, read transposed) → `out[sg]` (f32, stride SS).
   */
  dots(own: Array<{code: string, fragment: Fragment}>, streamed: string, out: string): string {
    const {rowStride, streamTiles} = this.s;
    const code: string[] = [];
    for (let st = 0; st < streamTiles; st++) {
      const acc = `${out}_${st}`;
      code.push(`{ ${this.tiles.declareAcc(acc)}`);
      for (let dt = 0; dt < this.dTiles; dt++) {
        const b = this.tiles.fragment(`b_${dt}`, 'right', {array: streamed, offset: st * TILE * rowStride + dt * TILE, stride: rowStride, colMajor: true});
        code.push(`{ ${own[dt].code} ${b.code}`, this.tiles.mma(acc, own[dt].fragment, b.fragment), '}');
      }
      code.push(this.tiles.storeAcc(acc, `${out}[sg]`, st * TILE, this.s.scoreStride), '}');
    }
    return code.join('\n      ');
  }

  /** acc_d += left[sg] (16 × BLOCK_S, halves, stride PS) · right (BLOCK_S × D_PAD, row-major). */
  accumulate(acc: string, left: string, right: string): string {
    const {rowStride, streamTiles} = this.s;
    const code: string[] = [];
    const lefts: Fragment[] = this.range(streamTiles).map(st => {
      const f = this.tiles.fragment(`l_${st}`, 'left', {array: `${left}[sg]`, offset: st * TILE, stride: this.s.halfScoreStride, colMajor: false});
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
          let w = f32(${left}[sg][r * PS + y]);
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

/** The operand tensors by tile name: tensor binding, row stride uniform, and head of the row-0 base. */
const OPERANDS: Record<string, {tensor: string, strideS: string, tensorPrefix: string}> = {
  q: {tensor: 'q', strideS: 'qStrideS', tensorPrefix: 'q'},
  dO: {tensor: 'dOutput', strideS: 'oStrideS', tensorPrefix: 'o'},
  k: {tensor: 'k', strideS: 'kStrideS', tensorPrefix: 'k'},
  v: {tensor: 'v', strideS: 'vStrideS', tensorPrefix: 'v'},
};

/** Row 0 of operand `name` of head `head`, rows from `first` of the sequence starting at `start`. */
function rowBase(name: string, start: string, first: string, head: string): string {
  const o = OPERANDS[name];
  return `(${start} + ${first}) * uniforms.${o.strideS} + b * uniforms.${o.tensorPrefix}StrideB + ${head} * uniforms.${o.tensorPrefix}StrideH`;
}

/** Rows [0, rowCount) × vec4 columns [firstColumn/4, +columns4) of a tensor → the per-group tile rows. */
interface ResidentStaging {
  tile: string; tileStride: string; columns4: string; firstColumn: string;
  tensor: string; strideS: string; base: string; rowCount: string; rows: string;
}

/**
 * The resident rows of a tensor (first row at `base`, `rows` valid, zeros past them and past D) → the
 * per-group tile `tile[r / 16]`, as halves, in one go (the pass's prologue).
 */
function stageRows(t: ResidentStaging, tiles: MatrixTiles): string {
  // Each invocation writes 4 consecutive halves (two whole 32-bit words: f16 stores may be read-modify-writes).
  return `
  for (var idx = tid; idx < ${t.rowCount} * ${t.columns4}; idx += THREADS) {
    let r = idx / ${t.columns4};
    let c4 = idx % ${t.columns4};
    var x = vec4<f32>(0.0);
    if (r < ${t.rows}) { x = loadRow_${t.tensor}(${t.base} + r * uniforms.${t.strideS}, ${t.firstColumn} + 4 * c4); }
    for (var e = 0; e < 4; e++) {
      ${t.tile}[r / ${TILE}][(r % ${TILE}) * ${t.tileStride} + 4 * c4 + e] = ${tiles.toTile('x[e]')};
    }
  }`;
}

/**
 * The streamed block in two steps, one block ahead (as the float32 passes, ../staging.ts): `fetch` issues
 * the device reads of a block into this thread's registers (pf_<name>[u]: vec4 tid + u·THREADS of the
 * block), `store` writes them to the streamed tiles as halves; a non-finite half in a tile of `flagged`
 * (the right operands of the accumulations) sets blockFlags to the block's id (its products go guarded).
 */
function fetchStreamed(names: string[], start: string, first: string, head: string, rows: string): string {
  return stageBlock('STREAM_LOADS', 'BLOCK_S', `row < ${rows}`, names.map(name => ({
    staged: `pf_${name}`, zero: 'vec4<f32>(0.0)',
    load: `loadRow_${OPERANDS[name].tensor}(${rowBase(name, start, first, head)} + row * uniforms.${OPERANDS[name].strideS}, (idx % D4) * 4)`,
  })));
}

function storeStreamed(names: string[], flagged: string[], block: string, tiles: MatrixTiles): string {
  return `
    for (var u = 0; u < STREAM_LOADS; u++) {
      let idx = tid + u * THREADS;
      if (idx < BLOCK_S * D4) {
        let at = (idx / D4) * RS + 4 * (idx % D4);
        for (var e = 0; e < 4; e++) {${names.map(name => `
          let t_${name} = ${tiles.toTile(`pf_${name}[u][e]`)};
          ${name}Tile[at + e] = t_${name};${flagged.includes(name) ? `
          if (isNonFinite(f32(t_${name}))) { blockFlags[0] = ${block}; }` : ''}`).join('')}
        }
      }
    }`;
}

function declareStreamed(names: string[]): string {
  return names.map(name => `var pf_${name} = array<vec4<f32>, STREAM_LOADS>();`).join('\n  ');
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
          let local = at / BLOCK_S;
          let other = at % BLOCK_S;
          let own = sg * ${TILE} + local;
          let sAt = local * SS + other;
          let pAt = local * PS + other;
          let i = m0 + ${dkdv ? 'other' : 'own'};
          let j = n0 + ${dkdv ? 'own' : 'other'};
          let statsRow = ${dkdv ? 'other' : 'own'};
          let dotQK = sTile[sg][sAt];
          let pd = gradElement(dotQK, dpTile[sg][sAt], i, j, lseRow[statsRow], deltaRow[statsRow], lenK, b, h);
          ${dkdv ? `pTile[sg][pAt] = ${tiles.toTile('pd.x')};` : ''}
          var ds = pd.y;
          ${dsForProducts(spec, 'ds', !dkdv)}
          dsTile[sg][pAt] = ${tiles.toTile('ds')};
        }
      }`;
}

/**
 * One streamed block (id `block`, > 0): its staged registers into the streamed tiles (`store`), the next
 * block's device reads issued (`fetchNext`), the group's grid of S and dP (dK/dV: Sᵀ = K Qᵀ, dPᵀ = V dOᵀ;
 * dQ: S = Q Kᵀ, dP = dO Vᵀ), then its P and dS, then `products`; `guarded` says whether the staging
 * flagged a non-finite value. Four barriers: the previous block's products have read the streamed tiles,
 * pTile and dsTile; stored (the uniform load of the flag); S and dP stored; P and dS stored.
 */
function streamedBlock(spec: FlashAttentionSpec, s: MatrixGradShape, tiles: MatrixTiles, code: GradTileCode, own: Array<Array<{code: string, fragment: Fragment}>>,
                       step: {store: string, fetchNext: string, block: string, products: string}): string {
  const [otherS, otherDP] = streamedPair(s);
  return `workgroupBarrier();
      ${step.store}
      ${step.fetchNext}
      let flags = workgroupUniformLoad(&blockFlags);
      let guarded = flags[0] == ${step.block};
      ${code.dots(own[0], `${otherS}Tile`, 'sTile')}
      ${code.dots(own[1], `${otherDP}Tile`, 'dpTile')}
      workgroupBarrier();
      ${recomputeElements(spec, s, tiles)}
      workgroupBarrier();
      ${step.products}`;
}

function dkdvBody(spec: FlashAttentionSpec, s: MatrixGradShape, tiles: MatrixTiles, code: GradTileCode): string {
  const kBase = '(startK + n0 + key) * uniforms.kStrideS + b * uniforms.kStrideB + g * uniforms.kStrideH';
  const streamed = streamedPair(s);
  const resident = code.residentFragments(residentPair(s), residentPair(s).map(name => rowBase(name, 'startK', 'n0', 'g')), 'rowsK');
  // The (head of the GQA group, query block) pairs in one sequence, so that the reads run one ahead across heads.
  const fetch = (it: string) => `{
      let fetchH = g * uniforms.groupSize + (${it}) / blocksPerHead;
      let fetchM = mStart + ((${it}) % blocksPerHead) * BLOCK_M;
      ${fetchStreamed(streamed, 'startQ', 'fetchM', 'fetchH', 'min(BLOCK_M, lenQ - fetchM)')}
      ${stageRowStats('fetchH', 'fetchM')}
    }`;
  return `
  // -- dK/dV pass: (b, g, key block) --
${gradBlockInfo(spec, 'dkdv')}
  // A padded KV cache's keys past the valid length still get their dK = dV = 0 written (no query sees
  // them); elsewhere a block past lenK belongs to no sequence.
  if (info[7] == 0 || (n0 >= lenK && ${!spec.cacheSeqlens})) { return; }
  diagonal = lenK - lenQ;
  let rowsK = max(0, min(BLOCK_N, lenK - n0));
  let rowsStored = ${spec.cacheSeqlens ? 'min(BLOCK_N, uniforms.seqlenK - n0)' : 'rowsK'};
  ${resident.code}
  ${code.declareAcc('dk')}
  ${code.declareAcc('dv')}
  // Causal / window: only rows firstRowReaching(n0) .. rowEndReaching(last key) see some key of the block.
  let mStart = (firstRowReaching(n0, lenK - lenQ) / BLOCK_M) * BLOCK_M;
  let mEnd = select(rowEndReaching(min(n0 + BLOCK_N, lenK) - 1, lenK - lenQ, lenQ), mStart, n0 >= lenK);
  let blocksPerHead = max(0, (mEnd - mStart + BLOCK_M - 1) / BLOCK_M);
  let steps = uniforms.groupSize * blocksPerHead;
  ${declareStreamed(streamed)}
  var stagedLse = array<f32, STATS_LOADS>();
  var stagedDelta = array<f32, STATS_LOADS>();
  ${s.readsAhead ? `if (steps > 0) ${fetch('0')}` : ''}
  for (var it = 0; it < steps; it++) {
    let hh = it / blocksPerHead;
    let m0 = mStart + (it % blocksPerHead) * BLOCK_M;
    let h = g * uniforms.groupSize + hh;
    ${headSideInputs(spec)}
    ${streamedBlock(spec, s, tiles, code, resident.frags, {
      store: (s.readsAhead ? '' : fetch('it')) + storeStreamed(streamed, streamed, '(hh * uniforms.seqlenQ + m0 + 1)', tiles) + storeRowStats(),
      fetchNext: s.readsAhead ? `if (it + 1 < steps) ${fetch('it + 1')}` : '',
      // one id per (head, query block), m0 < seqlenQ
      block: '(hh * uniforms.seqlenQ + m0 + 1)',
      products: `// -- dV += (P∘Z)ᵀ dO, dK += dSᵀ Q --
      ${code.accumulateGuarded('dv', 'pTile', 'dOTile')}
      ${code.accumulateGuarded('dk', 'dsTile', 'qTile')}`,
    })}
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
  const streamed = streamedPair(s);
  const resident = code.residentFragments(residentPair(s), residentPair(s).map(name => rowBase(name, 'startQ', 'm0', 'h')), 'rowsQ');
  const fetch = (n: string) => fetchStreamed(streamed, 'startK', n, 'hk', `min(BLOCK_N, lenK - (${n}))`);
  return `
  // -- dQ pass: (b, h, query block), the last block first --
${gradBlockInfo(spec, 'dq')}${dqBlockPrologue(spec)}
  let rowsQ = min(BLOCK_M, lenQ - m0);
  ${resident.code}
  loadRowStats(tid, b, h, m0, startQ, lenQ);
  ${code.declareAcc('dq')}
  // Keys outside what the block's rows see (causal diagonal, window) are never loaded.
  let kEnd = visibleKeyEnd(m0 + rowsQ - 1, lenK - lenQ, lenK);
  let kBegin = (firstVisibleKey(m0, lenK - lenQ) / BLOCK_N) * BLOCK_N;
  ${declareStreamed(streamed)}
  ${s.readsAhead ? `if (kBegin < kEnd) { ${fetch('kBegin')} }` : ''}
  for (var n0 = kBegin; n0 < kEnd; n0 += BLOCK_N) {
    ${streamedBlock(spec, s, tiles, code, resident.frags, {
      store: (s.readsAhead ? '' : `{ ${fetch('n0')} }`) + storeStreamed(streamed, ['k'], 'n0 + 1', tiles),
      fetchNext: s.readsAhead ? `if (n0 + BLOCK_N < kEnd) { ${fetch('n0 + BLOCK_N')} }` : '',
      block: 'n0 + 1',
      products: `// -- dQ += dS K --
    ${code.accumulateGuarded('dq', 'dsTile', 'kTile')}`,
    })}
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
  const loads = streamLoads(s);
  const statsLoads = Math.ceil(streamedRows(s) / s.threads);
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
const BLOCK_R : i32 = ${residentRows(s)};      // rows of the resident block
const SS : i32 = ${s.scoreStride};             // row stride of sTile, dpTile (f32)
const PS : i32 = ${s.halfScoreStride};         // row stride of pTile, dsTile (halves)
const THREADS : i32 = ${s.threads};
const STREAM_LOADS : i32 = ${loads};      // vec4 of each streamed tensor per thread
const STATS_LOADS : i32 = ${statsLoads};        // rows of lse_i / D_i per thread (dK/dV pass)
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
  if (tid == 0) { blockFlags[0] = 0; }  // published by gradBlockInfo's uniform load
  ${body}
}
`, tiles.kind === 'portable' ? [] : ['e', 'u'], {PAIRS_PER_LANE: pairsPerLane, STREAM_LOADS: loads, STATS_LOADS: statsLoads});
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
