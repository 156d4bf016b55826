/**
 * FlashAttention-2 forward on matrix tiles (`precision: 'float16'`): S = Q Kᵀ and O += P V run as 16×16×16
 * f16 matrix products with f32 accumulation (matrix_tiles.ts: the GPU's matrix units, or their portable
 * twin); the online softmax between them runs in f32 in plain WGSL. SPEC.md's rounding points: q, k, v are
 * rounded to half when staged, P = exp2(S − m) is rounded to half for P·V, while l sums the f32 P.
 *
 * Algorithm (one workgroup per (split, row block, KV head, batch), as the float32 kernel; matrix_plan.ts
 * gives the block shape). Tile group g owns 16·RT packed rows; each lane owns one row (or half of one) for
 * the softmax:
 *   load Q (rounded to half) into qTile; its left fragments stay in registers when they fit
 *   stage K(0) into kTile; issue the device reads of V(0) and K(1) into registers
 *   for each key block n that some row can see (causal blocks above the diagonal and other splits' keys
 *   are never loaded):
 *     -- compute qk --      S = Q K(n)ᵀ on the matrix tiles → sTile (f32)
 *     -- online softmax --  per row: the score modifier (bias, ALiBi, causal / sequence-end mask), the
 *                           row max, P = exp2(S·scale − m) → pTile (halves), l += Σ P (f32)
 *     -- store staged --    the registers → vTile (V(n); a non-finite value flags the block) and kTile
 *                           (K(n + 1)), then issue the reads of V(n + 1) and K(n + 2): every device
 *                           read has a whole block of work to arrive in
 *     -- acc += P V --      on the matrix tiles
 *   Three barriers a block: after S is stored, and the two of the workgroupUniformLoad of the block's
 *   flags, which also make P, V(n) and K(n + 1) visible.
 *   epilogue: acc through sTile to the lane that owns the row; O = acc / l, LSE = (m + log2 l)·ln 2
 *   (split-KV: the unnormalized partial record, merged by SplitMergeProgram).
 * The accumulators are opaque matrices, so they are not rescaled every block: m only moves when a row's
 * max grows by more than RESCALE_LOG2 (FlashAttention-4's conditional rescaling), keeping P ≤ 2^8
 * (exact algebra: O and l share the stale m). When some row moves, the workgroup rescales acc through
 * sTile. A block whose V holds a NaN or ±Inf takes the same route for P·V with P = 0 keys skipped, so a
 * masked key takes no part, not even as 0·NaN (SPEC.md); matrix units would multiply it.
 * Limits: as the float32 kernel; full FP8 mode keeps its own arithmetic (the float32 kernel).
 * Compile-time: kernelKey(spec) + matrixPlanKey(plan) + the tiles' kind; the rest is uniforms (the float32
 * kernel's list, flash_attention_uniforms.ts).
 */
import type {FlashAttentionSpec} from '../../../src/spec';
import {kernelKey} from '../../../src/spec';
import {spreadDispatch} from '../dispatch';
import {FlatProgram} from '../flat_program';
import {flashAttentionUniforms} from '../flash_attention_uniforms';
import {absorbSink, BLOCK_PROLOGUE, codecs, describeBlock, descale, dropoutSnippet, keyRange, rowLoader, scoreModifier, visibleKeys} from '../forward_snippets';
import type {LaunchPlan} from '../launch_plan';
import {NAN_WGSL} from '../nan_wgsl';
import {unrollLoops} from '../unroll';
import {flashAttentionComponents, flashAttentionInputNames} from '../flash_attention_program';
import {matrixPlanKey, MatrixShape} from './matrix_plan';
import {Fragment, GROUP_SIZE, MatrixTiles, TILE} from './matrix_tiles';
import {workgroupDeclarations} from '../workgroup_memory';
import {matrixWorkgroupVariables} from './matrix_workgroup';

/** acc and l are rescaled only when a row max grows past the current m by more than this (log2 units). */
const RESCALE_LOG2 = 8;
/**
 * The portable twin unrolls only the softmax's key loop: SwiftShader's compile time grows steeply with
 * unrolled staging loops (D = 96: 37 s unrolled vs 2.6 s rolled), and its speed is not what it is for.
 */
const PORTABLE_UNROLL = ['c'];

/** Generates the tile-level loops in TypeScript: every offset is a constant, as the matrix loads need. */
class TileCode {
  constructor(private readonly tiles: MatrixTiles, private readonly s: MatrixShape) {}
  get dTiles() { return this.s.dPad / TILE; }

  private range(n: number) { return Array.from({length: n}, (_, i) => i); }

  /**
   * acc → this group's sTile. A subgroup-matrix store needs a uniform pointer: `sg` is a constant with one
   * group, else the subgroup_id builtin (usesSubgroupId); from local_invocation_index Tint refuses it.
   */
  storeToGroup(acc: string, offset: number): string {
    return this.tiles.storeAcc(acc, 'sTile[sg]', offset, this.s.blockN);
  }

  /** The left fragments of this group's Q rows: `qf_r_d`. */
  qFragments(): {code: string, frags: Fragment[][]} {
    const code: string[] = [];
    const frags = this.range(this.s.rowTiles).map(rt => this.range(this.dTiles).map(dt => {
      const f = this.tiles.fragment(`qf_${rt}_${dt}`, 'left', {
        array: 'qTile[sg]', offset: rt * TILE * this.s.rowStride + dt * TILE, stride: this.s.rowStride, colMajor: false});
      code.push(f.code);
      return f.fragment;
    }));
    return {code: code.join('\n  '), frags};
  }

  declareAcc(): string {
    return this.range(this.s.rowTiles).flatMap(rt => this.range(this.dTiles).map(dt => this.tiles.declareAcc(`acc_${rt}_${dt}`))).join('\n  ');
  }

  /** S = Q Kᵀ for this group's rows, stored to sTile[sg] (row-major, stride BLOCK_N). */
  scores(qInRegisters: boolean): string {
    const {rowTiles, keyTiles, rowStride, blockN} = this.s;
    const out: string[] = [];
    for (let rt = 0; rt < rowTiles; rt++) for (let kt = 0; kt < keyTiles; kt++) out.push(this.tiles.declareAcc(`s_${rt}_${kt}`));
    for (let kt = 0; kt < keyTiles; kt++) {
      for (let dt = 0; dt < this.dTiles; dt++) {
        // K is staged transposed (kTile[d · KS + key]), so Kᵀ is a row-major right operand.
        const k = this.tiles.fragment(`kf_${kt}_${dt}`, 'right', {
          array: 'kTile', offset: dt * TILE * this.s.keyStride + kt * TILE, stride: this.s.keyStride, colMajor: false});
        out.push(`{ ${k.code}`);
        for (let rt = 0; rt < rowTiles; rt++) {
          let q: Fragment;
          if (qInRegisters) {
            q = {name: `qf_${rt}_${dt}`, role: 'left', array: 'qTile[sg]', offset: rt * TILE * rowStride + dt * TILE, stride: rowStride, colMajor: false};
          } else {
            const f = this.tiles.fragment(`qr_${rt}`, 'left', {
              array: 'qTile[sg]', offset: rt * TILE * rowStride + dt * TILE, stride: rowStride, colMajor: false});
            out.push(`{ ${f.code}`);
            q = f.fragment;
          }
          out.push(this.tiles.mma(`s_${rt}_${kt}`, q, k.fragment) + (qInRegisters ? '' : ' }'));
        }
        out.push('}');
      }
    }
    for (let rt = 0; rt < rowTiles; rt++) for (let kt = 0; kt < keyTiles; kt++) {
      out.push(this.storeToGroup(`s_${rt}_${kt}`, rt * TILE * blockN + kt * TILE));
    }
    return out.join('\n    ');
  }

  /** acc += P V: P from pTile[sg] (left), V from vTile (right, row-major). */
  pv(): string {
    const {rowTiles, keyTiles, rowStride, blockN} = this.s;
    const out: string[] = [];
    const p = this.range(rowTiles).map(rt => this.range(keyTiles).map(kt => {
      const f = this.tiles.fragment(`pf_${rt}_${kt}`, 'left', {array: 'pTile[sg]', offset: rt * TILE * blockN + kt * TILE, stride: blockN, colMajor: false});
      out.push(f.code);
      return f.fragment;
    }));
    for (let dt = 0; dt < this.dTiles; dt++) {
      for (let kt = 0; kt < keyTiles; kt++) {
        const v = this.tiles.fragment(`vf_${kt}_${dt}`, 'right', {array: 'vTile', offset: kt * TILE * rowStride + dt * TILE, stride: rowStride, colMajor: false});
        out.push(`{ ${v.code}`);
        for (let rt = 0; rt < rowTiles; rt++) out.push(this.tiles.mma(`acc_${rt}_${dt}`, p[rt][kt], v.fragment));
        out.push('}');
      }
    }
    return out.join('\n      ');
  }

  /**
   * The accumulators pass through sTile[sg] in chunks of BLOCK_N columns (KT d-tiles) so that the lane
   * owning a row sees its elements: `body` runs per chunk between two barriers with `chunk` in scope
   * (columns chunk·BLOCK_N + col of acc are sTile[sg][rowInGroup · BLOCK_N + col]); `reload` writes the
   * chunk back into the matrices.
   */
  accChunks(body: string, reload: boolean): string {
    const {rowTiles, keyTiles, blockN} = this.s;
    const chunks = Math.ceil(this.dTiles / keyTiles);
    // One runtime loop with a switch per chunk (the matrices need constant names and offsets): a fixed
    // two barriers in the code, however many chunks (software GPUs pay per barrier site when compiling).
    const perChunk = (op: (acc: string, offset: number) => string) => {
      const cases = this.range(chunks).map(c => {
        const dts = this.range(keyTiles).map(i => c * keyTiles + i).filter(dt => dt < this.dTiles);
        const ops = this.range(rowTiles).flatMap(rt => dts.map(dt => op(`acc_${rt}_${dt}`, rt * TILE * blockN + (dt - c * keyTiles) * TILE)));
        return `case ${c}: { ${ops.join('\n          ')} }`;
      });
      return `switch (chunk) {\n        ${cases.join('\n        ')}\n        default: {}\n      }`;
    };
    return `for (var chunk = 0; chunk < ${chunks}; chunk++) {
      ${perChunk((acc, offset) => this.storeToGroup(acc, offset))}
      workgroupBarrier();${body}
      workgroupBarrier();${reload ? `
      ${perChunk((acc, offset) => this.tiles.loadAcc(acc, 'sTile[sg]', offset, blockN))}` : ''}
    }`;
  }
}


/** Q rows, K and V blocks into their tiles as halves (decoded and descaled first for FP8 KV). */
function storeHalves(tile: string, rowBase: string, value: string, flagNonFinite: boolean, tiles: MatrixTiles): string {
  return `for (var e = 0; e < 4; e++) {
        let h = ${tiles.toTile(`${value}[e]`)};
        ${tile}[${rowBase} + e] = h;${flagNonFinite ? `
        if (isNonFinite(f32(h))) { blockFlags[1] = n0 + 1; }` : ''}
      }`;
}

/**
 * K's device reads: invocation element idx covers keys 2·pair and 2·pair + 1 (pair = idx % PAIRS) at vec4
 * column idx / PAIRS, so that it alone writes both halves of each 32-bit word of the transposed tile (f16
 * stores to workgroup memory may be read-modify-writes of the word: two invocations sharing one would race).
 * Pairs vary fastest: neighbouring invocations write neighbouring words of one Kᵀ row (with the column
 * fastest, each store was a 16-way bank conflict), and each row's vec4 reads stay whole 32-byte sectors.
 */
function stageKeyPairs(first: string): string {
  const load = (k: number) =>
      `loadRaw_k(kBase + min(${first} + 2 * pair + ${k}, lastK) * uniforms.kStrideS, min(idx / PAIRS, D4 - 1) * 4)`;
  return `
    for (var u = 0; u < K_LOADS; u++) {
      let idx = tid + u * THREADS;
      let pair = idx % PAIRS;
      var x0 = Raw_k();
      var x1 = Raw_k();
      // Branch-free (clamped rows, then select): the subgroup must stay converged for the matrix ops.
      let inBlock = idx < PAIRS * D4;
      x0 = select(x0, ${load(0)}, inBlock && ${first} + 2 * pair < lenK);
      x1 = select(x1, ${load(1)}, inBlock && ${first} + 2 * pair + 1 < lenK);
      stagedK0[u] = x0;
      stagedK1[u] = x1;
    }`;
}

/** V's device reads, branch-free as stageKeyPairs. */
function stageValues(first: string): string {
  return `
    for (var u = 0; u < KV_LOADS; u++) {
      let idx = tid + u * THREADS;
      let row = min(idx / D4, BLOCK_N - 1);
      stagedV[u] = select(Raw_v(), loadRaw_v(vBase + min(${first} + row, lastK) * uniforms.vStrideS, (idx % D4) * 4),
                          idx < BLOCK_N * D4 && ${first} + idx / D4 < lenK);
    }`;
}

/**
 * K goes in transposed (element (key, d) at d · KS + key), V as rows (key · QS + d). `n` is the V block's
 * first key, for its non-finite flag.
 */
function storeStagedHalves(name: 'k'|'v', tiles: MatrixTiles): string {
  if (name === 'k') {
    return `
    for (var u = 0; u < K_LOADS; u++) {
      let idx = tid + u * THREADS;
      if (idx < PAIRS * D4) {
        let key = 2 * (idx % PAIRS);
        let a = decodeRaw_k(stagedK0[u]) * kLoadScale;
        let c = decodeRaw_k(stagedK1[u]) * kLoadScale;
        for (var e = 0; e < 4; e++) {
          let at = (4 * (idx / PAIRS) + e) * KS + key;
          kTile[at] = ${tiles.toTile('a[e]')};
          kTile[at + 1] = ${tiles.toTile('c[e]')};
        }
      }
    }`;
  }
  return `
    for (var u = 0; u < KV_LOADS; u++) {
      let idx = tid + u * THREADS;
      if (idx < BLOCK_N * D4) {
        let x = decodeRaw_v(stagedV[u]) * vLoadScale;
        ${storeHalves('vTile', '(idx / D4) * QS + 4 * (idx % D4)', 'x', true, tiles)}
      }
    }`;
}

/** The epilogue's per-column write for one row, `a` = acc at column d (see the float32 kernel's epilogue). */
function writeColumn(split: boolean): string {
  return split ? `result[record + d] = a * keysWeight;` :
                 `result[oBase + d] = select(select(a * keysWeight / l * uniforms.oScaleInv, 0.0, l == 0.0), uniforms.NAN, nanRow);`;
}

function rowStats(spec: FlashAttentionSpec, split: boolean): string {
  if (split) {
    return `result[record + uniforms.headDim] = m_i;
      result[record + uniforms.headDim + 1] = select(l, uniforms.NAN, nanRow);`;
  }
  return spec.returnLse ? `result[uniforms.lseOffset + (startQ + rowI) * uniforms.lseStrideS + b * uniforms.lseStrideB + rowH * uniforms.lseStrideH] =
          select(select((m_i + log2(l)) * LN2, -uniforms.INFINITY, l == 0.0), uniforms.NAN, nanRow);` : '';
}

/**
 * On subgroup matrices each group stores to `&sTile[sg]`, which must be a uniform pointer, so the group
 * index comes from the subgroup_id builtin (uniform within a subgroup), and the lane from
 * subgroup_invocation_id (which the shuffles address), both passed to main.
 */
export function usesSubgroupId(tiles: MatrixTiles): boolean {
  return tiles.kind === 'subgroup-matrix';
}

export function matrixAttentionShader(spec: FlashAttentionSpec, plan: LaunchPlan<MatrixShape>, tiles: MatrixTiles): string {
  const s = plan.tiles, split = plan.numSplits > 1;
  const code = new TileCode(tiles, s);
  const workgroup = matrixWorkgroupVariables(s, tiles);
  const dTiles = s.dPad / TILE;
  const rowsPerGroup = TILE * s.rowTiles;
  const lanesPerRow = GROUP_SIZE / rowsPerGroup;
  const colsPerLane = s.blockN / lanesPerRow;
  const kvLoads = Math.ceil(s.blockN * s.dPad / 4 / s.threads);
  const kLoads = Math.ceil(s.blockN / 2 * s.dPad / 4 / s.threads);
  // Q's fragments in registers (loaded once) while they are few; else re-read from qTile every block.
  const qInRegisters = s.rowTiles * dTiles <= 8;
  const q = qInRegisters ? code.qFragments() : {code: ''};
  const kvOnly = spec.fp8Mode === 'kv';
  // The tile group (a constant when alone: uniform). Subgroup-matrix stores need a (subgroup-)uniform
  // pointer, which the index of a subgroup is only when it comes from the subgroup itself.
  const groupIndex = s.groups === 1 ? '0' : usesSubgroupId(tiles) ? 'i32(subgroupId)' : 'tid / GROUP';
  // Two lanes share a row (lanes l and l ^ RS): their partial max and sum meet through a subgroup shuffle,
  // or through workgroup memory and a barrier.
  const partner = (x: string) => tiles.shuffleXor ? tiles.shuffleXor(x, rowsPerGroup) : `rowShare[sg * GROUP + (tileLane ^ RS)]`;
  const share = (x: string) => tiles.shuffleXor ? '' : `
    rowShare[sg * GROUP + tileLane] = ${x};
    workgroupBarrier();`;
  const shareMax = lanesPerRow === 2 ? `${share('mx')}
    mx = max(mx, ${partner('mx')});` : '';
  const shareSum = lanesPerRow === 2 ? `${share('l')}
  l += ${partner('l')};` : '';
  // The rescale of one chunk of acc columns, and in a guarded block its P·V with P = 0 keys skipped.
  const rescaleAndGuardedPv = `
        for (var j = 0; j < CPL; j++) {
          let col = share * CPL + j;
          let d = chunk * BLOCK_N + col;
          var sum = sTile[sg][rowInGroup * BLOCK_N + col] * alpha;
          if (guarded && d < D_PAD) {
            for (var key = 0; key < BLOCK_N; key++) {
              // P = 0 takes no part (a masked key, not even as 0·NaN). Known gap: a visible key whose P
              // underflows half is skipped too, where the cpu reference multiplies it (NaN for a NaN / Inf v).
              // Marking masked P as -0 does not work: WGSL may drop the sign of a zero.
              let pk = f32(pTile[sg][rowInGroup * BLOCK_N + key]);
              if (pk != 0.0) { sum += pk * f32(vTile[key * QS + d]); }
            }
          }
          sTile[sg][rowInGroup * BLOCK_N + col] = sum;
        }`;
  const epilogueBody = `
        if (row < rows) {
          for (var j = 0; j < CPL; j++) {
            let col = share * CPL + j;
            let d = chunk * BLOCK_N + col;
            let a = sTile[sg][rowInGroup * BLOCK_N + col];
            if (d < uniforms.headDim) { ${writeColumn(split)} }
          }
        }`;

  const body = unrollLoops(`${NAN_WGSL}
const GROUP : i32 = ${GROUP_SIZE};
const GROUPS : i32 = ${s.groups};
const RS : i32 = ${rowsPerGroup};              // rows per tile group
const CPL : i32 = ${colsPerLane};              // keys (and acc columns per chunk) per lane
const D_PAD : i32 = ${s.dPad};
const D4 : i32 = ${s.dPad / 4};
const QS : i32 = ${s.rowStride};               // row stride of qTile and vTile
const KS : i32 = ${s.keyStride};               // row stride of Kᵀ in kTile
const BLOCK_M : i32 = ${s.blockM};
const BLOCK_N : i32 = ${s.blockN};
const PAIRS : i32 = ${s.blockN / 2};          // key pairs of a K block
const THREADS : i32 = ${s.threads};
const KV_LOADS : i32 = ${kvLoads};             // vec4 of a V block per invocation
const K_LOADS : i32 = ${kLoads};               // vec4 pairs of a K block per invocation
const CAUSAL : bool = ${spec.causal};
const RESCALE_LOG2 : f32 = ${RESCALE_LOG2}.0;
const LN2 : f32 = 0.6931471805599453;
const LOG2E : f32 = 1.4426950408889634;

// The small workgroup variables come first and the matrix tiles last (matrix_workgroup.ts says why).
${workgroupDeclarations(workgroup.small)}
${codecs(spec)}
${workgroupDeclarations(workgroup.tiles)}
${rowLoader('q', spec.qFormat, plan.vec4Rows, spec.qStorage)}
${rowLoader('k', spec.kFormat, plan.vec4Rows, spec.kStorage)}
${rowLoader('v', spec.vFormat, plan.vec4Rows, spec.vStorage)}
${descale('k', spec)}
${descale('v', spec)}
${visibleKeys(spec)}
${scoreModifier(spec)}
${dropoutSnippet(spec)}
${describeBlock(spec)}

fn main(index : i32${usesSubgroupId(tiles) ? ', subgroupId : u32, subgroupLane : u32' : ''}) {
  let tid = i32(localIndex);
  let sg = ${groupIndex};
  // The lane within the tile group: with subgroup_id, the subgroup's own invocation id (Vulkan does not tie
  // subgroups to local_invocation_index).
  let tileLane = ${usesSubgroupId(tiles) ? 'i32(subgroupLane)' : 'tid % GROUP'};
  let rowInGroup = tileLane % RS;        // the row this lane owns in the softmax and the epilogue
  let share = tileLane / RS;             // which half of the row's keys, when two lanes share it
  let row = sg * RS + rowInGroup;
  // Every invocation writes the same values (no branch: the subgroup stays converged for the matrix ops).
  blockInfo = describeBlock();
  blockFlags = array<i32, 2>(0, 0);${BLOCK_PROLOGUE}

  let kLoadScale = ${kvOnly ? 'descale_k(hk)' : '1.0'};
  let vLoadScale = ${kvOnly ? 'descale_v(hk)' : '1.0'};
  let kBase = startK * uniforms.kStrideS + b * uniforms.kStrideB + hk * uniforms.kStrideH;
  let vBase = startK * uniforms.vStrideS + b * uniforms.vStrideB + hk * uniforms.vStrideH;
  let rows = min(BLOCK_M, packedRows - m0);
  let lastK = max(lenK - 1, 0);          // staged reads clamp to it (then zero what is past lenK)
  let diagonal = lenK - lenQ;

  // GQA packing: packed row p is query row p / G of query head hk·G + p % G.
  let p = m0 + row;
  let rowI = p / G;
  let rowH = hk * G + p % G;
  var ctx = ScoreContext(diagonal, lenQ, lenK, 0.0, 0);
  ${spec.alibi !== 'none' ? 'ctx.slope = LOG2E * bitcast<f32>(sideInputs[uniforms.alibiSlopesOffset + b * uniforms.alibiBatchStride + rowH]);' : ''}
  ${spec.bias === 'matrix' ? 'ctx.biasBase = b * uniforms.biasStrideB + rowH * uniforms.biasStrideH;' : ''}
  // -- load Q -- (rounded to half)
  for (var idx = tid; idx < BLOCK_M * D4; idx += THREADS) {
    let r = idx / D4;
    let d4 = idx % D4;
    let pr = m0 + min(r, rows - 1);
    let value = select(vec4<f32>(0.0),
        loadRow_q((startQ + pr / G) * uniforms.qStrideS + b * uniforms.qStrideB + (hk * G + pr % G) * uniforms.qStrideH, d4 * 4), r < rows);
    ${storeHalves('qTile[r / RS]', '(r % RS) * QS + 4 * d4', 'value', false, tiles)}
  }
  workgroupBarrier();
  ${q.code}

  var m_i = -uniforms.INFINITY;
  var l_i = 0.0;                         // this lane's share of the row sum
  var scoreBits = 0u;                    // the largest |s| as bits: above 0x7f800000 iff a score was NaN
  ${code.declareAcc()}

  let iFirst = m0 / G;
  let iLast = (m0 + rows - 1) / G;${keyRange(split)}
  var stagedK0 = array<Raw_k, K_LOADS>();
  var stagedK1 = array<Raw_k, K_LOADS>();
  var stagedV = array<Raw_v, KV_LOADS>();
  // The pipeline's prologue: K(0) into kTile, the reads of V(0) and K(1) in flight. Reads past kEnd are
  // clamped and zeroed, not skipped (the subgroup stays converged); an empty range runs no block.
  ${stageKeyPairs('kBegin')}
  ${storeStagedHalves('k', tiles)}
  ${stageValues('kBegin')}
  ${stageKeyPairs('kBegin + BLOCK_N')}
  workgroupBarrier();
  for (var n0 = kBegin; n0 < kEnd; n0 += BLOCK_N) {
    let masked = n0 + BLOCK_N > lenK || m0 + BLOCK_M > packedRows || blockCrossesBounds(iFirst, iLast, n0, BLOCK_N, diagonal, lenK);

    // -- compute qk -- (kTile holds K(n0), made visible by the previous block's uniform load)
    ${code.scores(qInRegisters)}
    workgroupBarrier();

    // -- online softmax -- (lanes visit the row's keys rotated by their row: no bank conflicts)
    var sv : array<f32, CPL>;
    var mx = -uniforms.INFINITY;
    for (var c = 0; c < CPL; c++) {
      let col = share * CPL + (c + rowInGroup) % CPL;
      let sc = scoreModifier(sTile[sg][rowInGroup * BLOCK_N + col] * uniforms.qkScaleLog2, rowI, n0 + col, ctx, masked);
      sv[c] = sc;
      mx = max(mx, sc);
      scoreBits = max(scoreBits, magnitudeBits(sc));
    }${shareMax}
    let mNew = max(m_i, mx);
    var alpha = 1.0;
    if (mNew > m_i + RESCALE_LOG2) {
      // acc is still exactly 0 while m = -inf: only a finite m needs the rescale pass.
      if (m_i != -uniforms.INFINITY) { blockFlags[0] = n0 + 1; }
      alpha = exp2(m_i - mNew);
      l_i *= alpha;
      m_i = mNew;
    }
    // A row that has seen only masked keys keeps m = -inf: shift by 0 so exp2 gives 0, not NaN.
    let shift = select(m_i, 0.0, m_i == -uniforms.INFINITY);
    for (var c = 0; c < CPL; c++) {
      let col = share * CPL + (c + rowInGroup) % CPL;
      let pc = exp2(sv[c] - shift);
      l_i += pc;
      pTile[sg][rowInGroup * BLOCK_N + col] = ${tiles.toTile(spec.dropoutRate > 0 ? 'pc * dropoutScale(b, rowH, rowI, n0 + col)' : 'pc')};
    }

    // -- store staged -- V(n0) and K(n0 + BLOCK_N) (kTile's reads ended at the barrier above, vTile's
    // with the previous block), then the reads of the next V and the K after it
    ${storeStagedHalves('v', tiles)}
    ${storeStagedHalves('k', tiles)}
    ${stageValues('n0 + BLOCK_N')}
    ${stageKeyPairs('n0 + 2 * BLOCK_N')}
    // P, V and K visible to the matrix loads, and the subgroups reconverged for them
    let flags = workgroupUniformLoad(&blockFlags);

    // -- acc += P V --
    let guarded = flags[1] == n0 + 1;
    if (guarded || flags[0] == n0 + 1) {
      ${code.accChunks(rescaleAndGuardedPv, true)}
    }
    if (!guarded) {
      ${code.pv()}
    }
  }

  // -- epilogue: the row's l over its lanes, then O = acc / l (or the split partial) --
  workgroupBarrier();
  let poisoned = scoreBits > 0x7f800000u || m_i == uniforms.INFINITY;
  var l = select(l_i, uniforms.NAN, poisoned);${shareSum}
  let nanRow = isNonFinite(l);
  let oBase = (startQ + rowI) * uniforms.oStrideS + b * uniforms.oStrideB + rowH * uniforms.oStrideH;
  let record = (((split * uniforms.batch + b) * uniforms.numHeadsQ + rowH) * uniforms.seqlenQ + rowI) * uniforms.recordSize;
  ${absorbSink(spec, 'm_i', 'l', 'rowH', split ? 'split == 0' : 'true')}
  ${code.accChunks(epilogueBody, false)}
  if (row < rows && share == 0) {
    ${rowStats(spec, split)}
  }
}
`, tiles.kind === 'portable' ? PORTABLE_UNROLL : ['c', 'e', 'u'], {CPL: colsPerLane, KV_LOADS: kvLoads, K_LOADS: kLoads});
  return tiles.helpers + body;  // after the body: the portable tiles emit only the helpers it used
}

export class MatrixAttentionProgram extends FlatProgram {
  readonly enables: string;
  readonly subgroupId: boolean;
  constructor(
      private readonly spec: FlashAttentionSpec, private readonly plan: LaunchPlan<MatrixShape>,
      private readonly tiles: MatrixTiles, outputSize: number, maxWorkgroupsPerDimension: number) {
    super({
      variableNames: flashAttentionInputNames(spec), variableComponents: flashAttentionComponents(spec, plan),
      outputSize, shaderKey: `flashAttentionMatrix|${tiles.kind}|${kernelKey(spec)}|${matrixPlanKey(plan)}`,
      dispatch: spreadDispatch(plan.workgroups, maxWorkgroupsPerDimension, 'flashAttention'),
      workgroupSize: plan.tiles.threads, uniforms: flashAttentionUniforms(spec, plan, 0, {}),
    });
    this.enables = tiles.enables;
    this.subgroupId = usesSubgroupId(tiles);
  }

  getUserCode(): string {
    return matrixAttentionShader(this.spec, this.plan, this.tiles);
  }
}
