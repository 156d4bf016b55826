/**
 * Which keys a query row sees (SPEC.md: causal and the sliding window, ANDed), as the cpu loops use it:
 * row i of a sequence with diagonal δ = Sk − Sq sees keys lo(i) <= j <= hi(i), where
 *   lo(i) = i + δ − windowLeft      (0 when windowLeft = −1)
 *   hi(i) = i + δ                   causal
 *         = i + δ + windowRight     otherwise (lenK − 1 when windowRight = −1)
 * Both bounds rise with i, so a block of rows m0..m1 sees keys lo(m0) .. hi(m1): keys outside are never
 * loaded, and a key block needs the per-element mask only where it crosses lo(m1) or hi(m0).
 */
import type {FlashAttentionSpec} from '../../src/spec';

export class VisibleKeys {
  private readonly left: number;
  private readonly right: number;

  constructor(spec: FlashAttentionSpec, private readonly diagonal: number, private readonly lenK: number) {
    this.left = spec.windowLeft;
    this.right = spec.causal ? 0 : spec.windowRight;
  }

  /** lo(i), clamped to 0. */
  first(i: number): number {
    return this.left < 0 ? 0 : Math.max(0, i + this.diagonal - this.left);
  }

  /** hi(i) + 1, clamped to [0, lenK]. */
  end(i: number): number {
    return this.right < 0 ? this.lenK : Math.max(0, Math.min(this.lenK, i + this.diagonal + this.right + 1));
  }

  visible(i: number, j: number): boolean {
    return j >= this.first(i) && j < this.end(i);
  }

  /** The first row that sees key j or a later one (hi(i) >= j); 0 when the right side is unbounded. */
  firstRowReaching(j: number): number {
    return this.right < 0 ? 0 : Math.max(0, j - this.diagonal - this.right);
  }

  /** One past the last row that sees key j or an earlier one (lo(i) <= j), clamped to [0, lenQ]. */
  rowEndReaching(j: number, lenQ: number): number {
    return this.left < 0 ? lenQ : Math.min(lenQ, Math.max(0, j - this.diagonal + this.left + 1));
  }

  /** Whether some key of n0..n1 is invisible to some row of m0..m1 (both inclusive). */
  blockNeedsMask(m0: number, m1: number, n0: number, n1: number): boolean {
    return n0 < this.first(m1) || n1 >= this.end(m0);
  }
}
